//! Numbers survive the round trip: every float is read as a correctly rounding parser reads it
//! (Rust's `str::parse::<f64>` is the reference) and written back so that it reads the same
//! again; integers beyond 64 bits are read as the nearest float (documented in the crate docs).
#![allow(clippy::unwrap_used, clippy::panic)] // test helpers: a panic is a test failure

use hookwire_events::hub_message::{self, zapi};
use hookwire_events::{Family, parse};
use proptest::prelude::*;
use serde_json::Value;

/// A Z-API location callback (as in `tests/data/corpus/zapi/017-location.json`) with
/// `longitude` and `latitude` spelled exactly as given.
fn location(longitude: &str, latitude: &str) -> Vec<u8> {
    format!(
        r#"{{"instanceId":"A20DA9C0183A2D35A260F53F5D2B9244","messageId":"A20DA9C0183A2D35A260F53F5D2B9244","phone":"5544999999999","fromMe":false,"momment":1632228970000,"type":"ReceivedCallback","location":{{"longitude":{longitude},"latitude":{latitude},"address":"","url":""}},"instanceId":"instance.id"}}"#
    )
    .into_bytes()
}

/// The typed longitude and latitude of a parsed location callback.
fn coordinates(bytes: &[u8]) -> (f64, f64) {
    let hub_message::Event::ZApi(zapi::Callback::Received(cb)) = hub_message::parse(bytes).unwrap()
    else {
        panic!("not a received callback");
    };
    let Some(zapi::Content::Location(loc)) = &cb.content else {
        panic!("no location content");
    };
    (
        loc.longitude.as_ref().unwrap().as_f64().unwrap(),
        loc.latitude.as_ref().unwrap().as_f64().unwrap(),
    )
}

/// Reads `text` as a longitude, checks it against `str::parse`, writes the event back and
/// checks the written number reads back as the same float (and the event as the same value).
fn check(text: &str) {
    let reference: f64 = text.parse().unwrap();
    let bytes = location(text, "0.5");
    let (longitude, _) = coordinates(&bytes);
    assert_eq!(
        longitude.to_bits(),
        reference.to_bits(),
        "{text}: read {longitude:e}, a correctly rounding reader gives {reference:e}"
    );
    let event = parse(Family::HubMessage, &bytes).unwrap();
    let written = event.to_vec();
    let (again, _) = coordinates(&written);
    assert_eq!(again.to_bits(), reference.to_bits(), "{text} written back");
    let again_event = parse(Family::HubMessage, &written).unwrap();
    assert_eq!(again_event, event);
    assert_eq!(
        again_event.to_vec(),
        written,
        "{text}: second write differs"
    );
    // The untyped view agrees too.
    let value: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        value["location"]["longitude"].as_f64().unwrap().to_bits(),
        reference.to_bits()
    );
}

#[test]
fn known_failing_coordinates_read_correctly() {
    // From the `events_hub_message` fuzz run of issue 20 (one ulp off with the fast reader).
    check("-99.000001533619666");
    // A coordinate as a 17-digit serializer prints it.
    check("-46.633309000000001");
    check("-46.633309");
    // The corpus file's own (more digits than a double holds).
    check("-99.999999999999999");
    check("-99.9999999999999999");
}

#[test]
fn extremes_read_correctly() {
    for text in [
        "5e-324",                  // smallest subnormal
        "4.9406564584124654e-324", // the same, 17 digits
        "2.4703282292062328e-324", // just above half of it: rounds up to the smallest
        "2.2250738585072014e-308", // smallest normal
        "2.2250738585072011e-308", // largest subnormal
        "1.7976931348623157e308",  // largest finite
        "-1.7976931348623157e308",
        "1.7976931348623158e308", // still rounds down to the largest finite
        "0.1",
        "-0.0",
        "9007199254740993.0", // 2^53 + 1: ties to even
        "1e22",
        "1e23",
        "123456789012345678901234567890.5",
    ] {
        check(text);
    }
}

#[test]
fn integers_beyond_64_bits_become_the_nearest_float() {
    // u64::MAX + 1 and i64::MIN - 1 do not fit a 64-bit integer: they are read as the nearest
    // f64 (correctly rounded) and written back in float notation, which then reads the same.
    for (text, float) in [
        ("18446744073709551616", 18_446_744_073_709_551_616f64),
        ("-9223372036854775809", -9_223_372_036_854_775_808f64),
        ("123456789012345678901234567890", 1.2345678901234568e29),
    ] {
        let bytes = location(text, "0");
        let (longitude, _) = coordinates(&bytes);
        assert_eq!(longitude.to_bits(), float.to_bits(), "{text}");
        let written = parse(Family::HubMessage, &bytes).unwrap().to_vec();
        let again = parse(Family::HubMessage, &written).unwrap();
        assert_eq!(again.to_vec(), written);
    }
    // In range, integers stay integers, exactly.
    for text in ["18446744073709551615", "-9223372036854775808", "0", "-0"] {
        let bytes = location(text, "0");
        let written = parse(Family::HubMessage, &bytes).unwrap().to_vec();
        let value: Value = serde_json::from_slice(&written).unwrap();
        let expected: Value = serde_json::from_str(text).unwrap();
        assert_eq!(value["location"]["longitude"], expected, "{text}");
    }
}

/// `x` printed with `digits` significant digits in scientific or plain notation.
fn spell(x: f64, digits: usize, plain: bool) -> String {
    if plain && x.abs() < 1e21 && x.abs() > 1e-7 {
        // Plain decimal with enough fraction digits for `digits` significant ones.
        let magnitude = x.abs().log10().floor() as i64;
        let decimals = (digits as i64 - 1 - magnitude).clamp(0, 340) as usize;
        format!("{x:.decimals$}")
    } else {
        format!("{x:.prec$e}", prec = digits - 1)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Any finite double, spelled with 15, 16 or 17 significant digits (the spellings a
    /// serializer of another language emits), reads as `str::parse` reads it and survives
    /// parse → write → parse.
    #[test]
    fn floats_of_15_to_17_digits_read_correctly(
        bits in any::<u64>(),
        digits in 15usize..=17,
        plain in any::<bool>(),
    ) {
        let x = f64::from_bits(bits);
        prop_assume!(x.is_finite());
        check(&spell(x, digits, plain));
    }

    /// Coordinates: the range where the fuzz finding lives, with many decimals.
    #[test]
    fn coordinates_read_correctly(
        degrees in -180i32..180,
        fraction in 0u64..1_000_000_000_000_000,
        decimals in 6usize..=18,
    ) {
        let fraction = format!("{fraction:018}");
        let text = format!("{degrees}.{}", &fraction[..decimals]);
        check(&text);
    }

    /// Subnormals and values near the top of the range.
    #[test]
    fn extreme_ranges_read_correctly(mantissa in 1u64..(1 << 52), digits in 15usize..=17) {
        check(&spell(f64::from_bits(mantissa), digits, false));
        check(&spell(f64::from_bits(0x7fe0_0000_0000_0000 | mantissa), digits, false));
    }
}
