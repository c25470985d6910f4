//! Zentitle: public- and private-key parsing (every form) and `N-Signature` verification never
//! panic, and no signature verifies any body but the one the spec vector signs.
#![no_main]

use hookwire_signature::zentitle::{PrivateKey, PublicKey};
use hookwire_signature::{Error, Scheme, Secret, Verifier};
use libfuzzer_sys::fuzz_target;

const MODULUS: &str = "wmjl_JnxzSnMQKO1O7qQdZtD1njvw41ux5v0jv5jqi1e5bYbmnvtKPJ48s72eqhq7OQCf4HQG3LysnTiTubh5aKHUKMGD6_h3pLElj0eHAFLopx3ZQDSHUnyWUkKRtgxX3wxOFHyegJNAw8C8PTS9E_4zY89544cfDfbdiizwlTa1_vHz2ouRvYLuGhT91Yhss6AijxDjl2xdVIkNcyzj_q5lp6YmTOY-DWohi9Eq9viDzXAHsRhRapKbdgO7wXnukcM7US7dQoS2fjDEH4uVcbp2FrViF2QGvHA421oBacYuXzZnHt_TR9c77nXQKtva_sEwAi6YyItK2wbGgW1bw";

/// The body of `tests/data/specs/vectors/zentitle_vector.json`, signed by the key of `MODULUS`.
const VECTOR_BODY: &str = r#"{"eventId":"event_NsqUHwSXC0S4f4vuNkegSg","eventDate":"2025-06-06T11:39:22.739326Z","eventCode":"customer.created","resourceId":"cust_ILLqMyx3UUy_n5cZqui7NQ","callAttempt":1,"payload":{"customerId":"cust_ILLqMyx3UUy_n5cZqui7NQ","name":"Acme"}}"#;

fuzz_target!(|data: &[u8]| {
    let _ = PrivateKey::from_der(data);
    let (value, body) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(value) = std::str::from_utf8(value) else {
        return;
    };
    let _ = PublicKey::from_text(value);
    let _ = PublicKey::from_der(value.as_bytes());
    let _ = PrivateKey::from_pem(value);
    let v = Verifier::new(&Scheme::Zentitle, &[Secret::new(MODULUS)]).expect("vendor key");
    match v.verify_pairs_at(body, &[("N-Signature", value)], 0) {
        // Only the spec's own signed body can verify: anything else would be a forgery.
        Ok(ok) => {
            assert_eq!(body, VECTOR_BODY.as_bytes(), "forged N-Signature accepted");
            assert_eq!((ok.id, ok.timestamp, ok.key_index), (None, None, 0));
        }
        // The header is always present, so every refusal is about its value.
        Err(e) => assert!(
            matches!(e, Error::MalformedHeader(..) | Error::SignatureMismatch),
            "unexpected refusal {e:?}"
        ),
    }
});
