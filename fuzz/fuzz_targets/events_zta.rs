#![no_main]
//! Fuzzes the zta top-level parser: never panics; whatever parses round-trips.

use hookwire_events::{Family, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(event) = parse(Family::Zta, data) {
        let again = parse(Family::Zta, &event.to_vec()).expect("serialized event re-parses");
        assert_eq!(again.to_json(), event.to_json());
    }
});
