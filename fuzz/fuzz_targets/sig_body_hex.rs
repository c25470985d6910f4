//! Body-hex headers (Zero Trust Analytics, Hub Message, GitHub): the verifier never panics on
//! any value or body, and a value it accepts is the real MAC.
#![no_main]

use hookwire_signature::{Scheme, Secret, Signer, Verifier};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (value, body) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(value) = std::str::from_utf8(value) else {
        return;
    };
    for scheme in ["zta", "hub-message", "github"] {
        let scheme = Scheme::from_name(scheme).expect("known");
        let secret = [Secret::new("whsec_xyz789")];
        let v = Verifier::new(&scheme, &secret).expect("valid secret");
        let name = scheme.signature_header_names()[0].as_str().to_owned();
        if v.verify_pairs_at(body, &[(name.as_str(), value)], 0).is_ok() {
            let signed = Signer::new(&scheme, &secret).expect("valid").sign("", 0, body).expect("signs");
            let want = signed[0].1.to_str().expect("ascii");
            let hex = want.trim_start_matches("sha256=");
            assert!(value.to_ascii_lowercase().ends_with(hex));
        }
    }
});
