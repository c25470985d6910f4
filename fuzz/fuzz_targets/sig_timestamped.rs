//! `t=,v1=` header parser: never panics; parse -> format -> parse is the identity; the
//! ZeroTier/ZITADEL/Stripe verifiers never panic on the value.
#![no_main]

use hookwire_signature::{Scheme, Secret, SignatureHeader, SignatureKeys, Verifier};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (value, body) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(value) = std::str::from_utf8(value) else {
        return;
    };
    for keys in [SignatureKeys::V1, SignatureKeys::ContainsV] {
        if let Ok(h) = SignatureHeader::parse(value, keys) {
            let again = SignatureHeader::parse(&h.to_header_string(), keys)
                .expect("formatted header parses");
            assert_eq!(h, again);
        }
    }
    for (scheme, secret) in [
        (Scheme::ZeroTier, "778c6dab5feca625c7831644d18c4d0e4b3a337bff8a1e1c8f938f9cc20e6536"),
        (Scheme::Zitadel, "testSigningKey"),
        (Scheme::Stripe, "whsec_test_secret"),
    ] {
        let v = Verifier::new(&scheme, &[Secret::new(secret)]).expect("valid secret");
        let name = scheme.signature_header_names()[0].as_str().to_owned();
        let _ = v.verify_pairs_at(body, &[(name.as_str(), value)], 1_700_000_000);
        let _ = v.verify_pairs_ignoring_time(body, &[(name.as_str(), value)]);
    }
});
