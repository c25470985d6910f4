//! hookwire-retry (work in progress).
