//! Zentitle: public-key text parsing and `N-Signature` verification never panic.
#![no_main]

use hookwire_signature::zentitle::PublicKey;
use hookwire_signature::{Scheme, Secret, Verifier};
use libfuzzer_sys::fuzz_target;

const MODULUS: &str = "wmjl_JnxzSnMQKO1O7qQdZtD1njvw41ux5v0jv5jqi1e5bYbmnvtKPJ48s72eqhq7OQCf4HQG3LysnTiTubh5aKHUKMGD6_h3pLElj0eHAFLopx3ZQDSHUnyWUkKRtgxX3wxOFHyegJNAw8C8PTS9E_4zY89544cfDfbdiizwlTa1_vHz2ouRvYLuGhT91Yhss6AijxDjl2xdVIkNcyzj_q5lp6YmTOY-DWohi9Eq9viDzXAHsRhRapKbdgO7wXnukcM7US7dQoS2fjDEH4uVcbp2FrViF2QGvHA421oBacYuXzZnHt_TR9c77nXQKtva_sEwAi6YyItK2wbGgW1bw";

fuzz_target!(|data: &[u8]| {
    let (value, body) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(value) = std::str::from_utf8(value) else {
        return;
    };
    let _ = PublicKey::from_text(value);
    let _ = PublicKey::from_der(value.as_bytes());
    let v = Verifier::new(&Scheme::Zentitle, &[Secret::new(MODULUS)]).expect("vendor key");
    assert!(v.verify_pairs_at(body, &[("N-Signature", value)], 0).is_err() || !body.is_empty());
});
