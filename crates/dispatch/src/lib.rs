//! hookwire-dispatch (work in progress).
