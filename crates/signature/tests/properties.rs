//! Property tests: sign -> verify for any body and secret set; any bit flip in body, timestamp
//! or signature fails; header parse -> format -> parse is the identity; nothing panics.
#![allow(clippy::unwrap_used)] // proptest closures and helpers; a failed unwrap fails the test

use hookwire_signature::standard::{Token, format_signatures, parse_signatures};
use hookwire_signature::{
    Error, Scheme, Secret, SignatureHeader, SignatureKeys, Signer, Tolerance, Verifier,
};
use proptest::prelude::*;

/// The HMAC schemes, each with a strategy-independent way to turn random bytes into a secret.
/// Turns random bytes into a secret's text for one scheme.
type MakeSecret = fn(&[u8]) -> String;

fn hmac_schemes() -> Vec<(Scheme, MakeSecret)> {
    fn hexs(b: &[u8]) -> String {
        hex::encode(b)
    }
    fn whsec(b: &[u8]) -> String {
        use base64::Engine as _;
        format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(b)
        )
    }
    fn text(b: &[u8]) -> String {
        format!("k{}", hex::encode(b))
    }
    vec![
        (Scheme::ZeroTier, hexs),
        (Scheme::Zitadel, text),
        (Scheme::Stripe, text),
        (Scheme::GitHub, text),
        (Scheme::Zta { bare_hex: false }, text),
        (Scheme::Zta { bare_hex: true }, text),
        (Scheme::from_name("hub-message").unwrap(), hexs),
        (
            Scheme::HubMessage {
                header: "x-h".into(),
                key: hookwire_signature::HubKeyEncoding::Hex,
            },
            hexs,
        ),
        (Scheme::from_name("standard").unwrap(), whsec),
        (Scheme::from_name("svix").unwrap(), whsec),
    ]
}

fn to_pairs(headers: &[(http::HeaderName, http::HeaderValue)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect()
}

fn verify(v: &Verifier, body: &[u8], pairs: &[(String, String)]) -> Result<usize, Error> {
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    v.verify_pairs_ignoring_time(body, &refs)
        .map(|ok| ok.key_index)
}

/// Flips bit `bit` of the first signature in a signed header set, in decoded form.
fn flip_signature(scheme: &Scheme, pairs: &mut [(String, String)], bit: usize) {
    let sig_name = scheme
        .signature_header_names()
        .last()
        .unwrap()
        .as_str()
        .to_owned();
    let entry = pairs.iter_mut().find(|(k, _)| *k == sig_name).unwrap();
    let value = &mut entry.1;
    if let Ok(mut h) = SignatureHeader::parse(value, SignatureKeys::V1) {
        let s = &mut h.signatures[0];
        let i = bit % (s.len() * 8);
        s[i / 8] ^= 1 << (i % 8);
        *value = h.to_header_string();
    } else if value.starts_with("v1") {
        let mut tokens = parse_signatures(value);
        let s = &mut tokens[0].signature;
        let i = bit % (s.len() * 8);
        s[i / 8] ^= 1 << (i % 8);
        *value = format_signatures(&tokens);
    } else {
        let (prefix, hex_part) = value.split_at(value.len() - 64);
        let mut s = hex::decode(hex_part).unwrap();
        let i = bit % 256;
        s[i / 8] ^= 1 << (i % 8);
        *value = format!("{prefix}{}", hex::encode(s));
    }
}

/// Whether a verification result is one of the refusals a verifier gives for a bad message.
fn is_refusal(r: &Result<hookwire_signature::Verified, Error>) -> bool {
    matches!(
        r,
        Err(Error::MissingHeader(_)
            | Error::MalformedHeader(..)
            | Error::TimestampTooOld
            | Error::TimestampTooNew
            | Error::SignatureMismatch)
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn sign_then_verify_holds_for_any_body_and_secret_set(
        body in proptest::collection::vec(any::<u8>(), 0..2048),
        keys in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..48), 1..4),
        t in 0i64..4_000_000_000,
        id in "[a-zA-Z0-9_]{1,32}",
        pick in any::<proptest::sample::Index>(),
    ) {
        for (scheme, make) in hmac_schemes() {
            let secrets: Vec<Secret> = keys.iter().map(|k| Secret::new(make(k))).collect();
            let signed = Signer::new(&scheme, &secrets).unwrap().sign(&id, t, &body).unwrap();
            let pairs = to_pairs(&signed);
            // All secrets verify; any single one of them does too.
            prop_assert!(verify(&Verifier::new(&scheme, &secrets).unwrap(), &body, &pairs).is_ok());
            let one = pick.get(&secrets).clone();
            prop_assert!(verify(&Verifier::new(&scheme, &[one]).unwrap(), &body, &pairs).is_ok());
            // And the clocked path at the signing time.
            let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let ok = Verifier::new(&scheme, &secrets).unwrap().verify_pairs_at(&body, &refs, t).unwrap();
            prop_assert!(ok.key_index < secrets.len());
        }
    }

    #[test]
    fn any_bit_flip_fails(
        body in proptest::collection::vec(any::<u8>(), 1..1024),
        key in proptest::collection::vec(any::<u8>(), 16..40),
        t in 1i64..4_000_000_000,
        bit in any::<usize>(),
    ) {
        for (scheme, make) in hmac_schemes() {
            let secrets = [Secret::new(make(&key))];
            let v = Verifier::new(&scheme, &secrets).unwrap();
            let pairs = to_pairs(&Signer::new(&scheme, &secrets).unwrap().sign("msg_1", t, &body).unwrap());
            // Body.
            let mut flipped = body.clone();
            let i = bit % (body.len() * 8);
            flipped[i / 8] ^= 1 << (i % 8);
            prop_assert_eq!(verify(&v, &flipped, &pairs), Err(Error::SignatureMismatch));
            // Signature.
            let mut bad = pairs.clone();
            flip_signature(&scheme, &mut bad, bit);
            prop_assert_eq!(verify(&v, &body, &bad), Err(Error::SignatureMismatch));
            // Timestamp (schemes that sign one).
            let ft = t ^ (1i64 << (bit % 31));
            let mut bad = pairs.clone();
            let mut changed = false;
            for (_, value) in &mut bad {
                if let Ok(mut h) = SignatureHeader::parse(value, SignatureKeys::V1) {
                    h.timestamp = ft;
                    *value = h.to_header_string();
                    changed = true;
                }
            }
            for (k, value) in &mut bad {
                if k.ends_with("-timestamp") {
                    *value = ft.to_string();
                    changed = true;
                }
            }
            if changed {
                prop_assert_eq!(verify(&v, &body, &bad), Err(Error::SignatureMismatch));
            }
        }
    }

    #[test]
    fn timestamped_header_parse_format_parse_is_identity(value in "[tv10-9a-fA-F=,x ]{0,120}") {
        for keys in [SignatureKeys::V1, SignatureKeys::ContainsV] {
            if let Ok(h) = SignatureHeader::parse(&value, keys) {
                let again = SignatureHeader::parse(&h.to_header_string(), keys).unwrap();
                prop_assert_eq!(&h, &again);
                prop_assert_eq!(h.to_header_string(), again.to_header_string());
            }
        }
    }

    #[test]
    fn generated_headers_round_trip(
        t in any::<i64>(),
        sigs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..4),
    ) {
        let h = SignatureHeader { timestamp: t, signatures: sigs };
        prop_assert_eq!(SignatureHeader::parse(&h.to_header_string(), SignatureKeys::V1).unwrap(), h);
    }

    #[test]
    fn standard_signature_list_round_trips(
        tokens in proptest::collection::vec(
            ("v1a?|v[0-9]{1,2}", proptest::collection::vec(any::<u8>(), 0..70)),
            0..5,
        ),
    ) {
        let tokens: Vec<Token> = tokens
            .into_iter()
            .map(|(version, signature)| Token { version, signature })
            .collect();
        let text = format_signatures(&tokens);
        let parsed = parse_signatures(&text);
        prop_assert_eq!(&parsed, &tokens);
        prop_assert_eq!(format_signatures(&parsed), text);
    }

    #[test]
    fn parsers_and_verifiers_never_panic(
        value in any::<String>(),
        ascii in "[ -~]{0,200}",
        body in proptest::collection::vec(any::<u8>(), 0..256),
        now in any::<i64>(),
    ) {
        let _ = SignatureHeader::parse(&value, SignatureKeys::ContainsV);
        let _ = parse_signatures(&value);
        #[cfg(feature = "rsa")]
        {
            let _ = hookwire_signature::zentitle::PublicKey::from_text(&value);
            let _ = hookwire_signature::zentitle::PublicKey::from_der(value.as_bytes());
        }
        for (scheme, make) in hmac_schemes() {
            let v = Verifier::new(&scheme, &[Secret::new(make(b"0123456789abcdef"))]).unwrap()
                .with_tolerance(Tolerance::default());
            for name in scheme.signature_header_names() {
                for text in [value.as_str(), ascii.as_str()] {
                    let pairs = [
                        (name.as_str(), text),
                        ("webhook-id", text),
                        ("webhook-timestamp", text),
                        ("webhook-signature", text),
                    ];
                    // Random text is never a valid signature (forging an HMAC): every call
                    // ends in a verification refusal, never a key or parameter error.
                    let r = v.verify_pairs_at(&body, &pairs, now);
                    prop_assert!(is_refusal(&r), "{:?} for {:?}", r, text);
                    let r = v.verify_pairs_ignoring_time(&body, &pairs);
                    prop_assert!(is_refusal(&r), "{:?} for {:?}", r, text);
                    prop_assert!(!matches!(r, Err(Error::TimestampTooOld | Error::TimestampTooNew)));
                    let mut map = http::HeaderMap::new();
                    if let Ok(hv) = http::HeaderValue::from_bytes(text.as_bytes()) {
                        map.insert(name.clone(), hv);
                        let r = v.verify_at(&body, &map, now);
                        prop_assert!(is_refusal(&r), "{:?} for {:?}", r, text);
                    }
                }
            }
            // Arbitrary secret text never panics either.
            let _ = Verifier::new(&scheme, &[Secret::new(value.clone())]);
            let _ = Signer::new(&scheme, &[Secret::new(value.clone())]);
        }
    }

    #[test]
    fn tolerance_bounds_are_exact(past in 0u64..10_000, future in 0u64..10_000, t in -1_000_000i64..1_000_000, d in -20_000i64..20_000) {
        let tol = Tolerance {
            past: std::time::Duration::from_secs(past),
            future: std::time::Duration::from_secs(future),
        };
        let now = t + d;
        let expected = if d > past as i64 {
            Err(Error::TimestampTooOld)
        } else if -d > future as i64 {
            Err(Error::TimestampTooNew)
        } else {
            Ok(())
        };
        prop_assert_eq!(tol.check(t, now), expected);
        prop_assert!(Tolerance::ignore().check(t, now).is_ok());
        prop_assert!(Tolerance::ignore().check(i64::MIN, i64::MAX).is_ok());
    }
}

#[cfg(feature = "ed25519")]
proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn ed25519_sign_verify_and_flip(body in proptest::collection::vec(any::<u8>(), 0..512), bit in any::<usize>()) {
        let scheme = Scheme::from_name("standard-v1a").unwrap();
        let sk = scheme.generate_secret().unwrap();
        let pk = scheme.verification_secret(&sk).unwrap();
        let pairs = to_pairs(&Signer::new(&scheme, &[sk]).unwrap().sign("msg_x", 1_700_000_000, &body).unwrap());
        let v = Verifier::new(&scheme, &[pk]).unwrap();
        prop_assert_eq!(verify(&v, &body, &pairs), Ok(0));
        let mut bad = pairs.clone();
        flip_signature(&scheme, &mut bad, bit);
        prop_assert_eq!(verify(&v, &body, &bad), Err(Error::SignatureMismatch));
    }
}

#[cfg(feature = "rsa")]
proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn zentitle_signature_bit_flips_fail(bit in 0usize..2048) {
        use base64::Engine as _;
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/specs/vectors/");
        let json: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(format!("{dir}zentitle_vector.json")).unwrap(),
        ).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut sig = b64.decode(json["n_signature_b64"].as_str().unwrap()).unwrap();
        sig[bit / 8] ^= 1 << (bit % 8);
        let v = Verifier::new(&Scheme::Zentitle, &[Secret::new(json["modulus_b64url"].as_str().unwrap())]).unwrap();
        let body = json["body"].as_str().unwrap().as_bytes();
        prop_assert_eq!(
            v.verify_pairs_at(body, &[("N-Signature", &b64.encode(&sig))], 0),
            Err(Error::SignatureMismatch)
        );
    }
}
