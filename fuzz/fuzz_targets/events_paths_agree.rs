#![no_main]
//! Fuzzes every family's `parse` against the reference path (bytes → `serde_json::Value` →
//! `from_value`): the same event or the same error for any input, so the direct paths (the
//! one-pass read, the raw-object read, the top-level discriminator scan) never answer
//! differently from the plain reading. The first byte picks the family.

use hookwire_events::{Family, from_value, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let family = Family::ALL[usize::from(pick) % Family::ALL.len()];
    let direct = parse(family, body);
    let reference = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(value) => from_value(family, value),
        // A syntax error: the direct path must refuse too (its message comes from the same
        // reference parse).
        Err(_) => {
            assert!(direct.is_err(), "direct path accepted invalid JSON");
            return;
        }
    };
    assert_eq!(direct, reference);
});
