//! hookwire-events (work in progress).
