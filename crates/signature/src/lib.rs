//! hookwire-signature (work in progress).
