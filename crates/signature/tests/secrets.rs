//! Secrets and keys: `Debug` never shows key material, rotation keeps an old secret valid
//! exactly until its deadline, and generated secrets have each family's text format.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns; a failed unwrap is a test failure

use base64::Engine as _;
use hookwire_signature::standard::{StandardSigner, StandardVerifier};
use hookwire_signature::{
    BodyHex, Error, KeyEncoding, RotatingSecret, Scheme, Secret, Signer, Timestamped, Verifier,
    active_secrets, generic, zerotier,
};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

// Spec vectors (zerotier.md 1.3 and its derived two-secret header).
const ZT_PSK: &str = "778c6dab5feca625c7831644d18c4d0e4b3a337bff8a1e1c8f938f9cc20e6536";
const ZT_PSK2: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const ZT_BODY: &str = r#"{"hook_id":"ae76d4c0-c94e-4025-a648-2c504eb90e3c","org_id":"1bb4dc96-f311-4c4a-ac93-551cbc0fa3da","hook_type":"NETWORK_JOIN","network_id":"19d9808567a17ccf","member_id":"a02505e545"}"#;
const ZT_T: i64 = 1_694_033_429;
const ZT_SIG: &str =
    "t=1694033429,v1=04d87956d1953f28ac04d441f139fc655109e9b5c64396fb55dbdf567c735f86";
const ZT_SIG2: &str =
    "t=1694033429,v1=ad494f2e4d5e3cfd1f3fd099e5d2d59abea4b432251951dd457d6fb4cdda846f";
const ZT_BOTH: &str = "t=1694033429,v1=04d87956d1953f28ac04d441f139fc655109e9b5c64396fb55dbdf567c735f86,v1=ad494f2e4d5e3cfd1f3fd099e5d2d59abea4b432251951dd457d6fb4cdda846f";

fn texts(secrets: &[Secret]) -> Vec<&str> {
    secrets.iter().map(Secret::expose_secret).collect()
}

fn pairs(headers: &[(http::HeaderName, http::HeaderValue)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect()
}

fn verify_at(
    v: &Verifier,
    body: &[u8],
    pairs: &[(String, String)],
    now: i64,
) -> Result<usize, Error> {
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    v.verify_pairs_at(body, &refs, now).map(|ok| ok.key_index)
}

// ------------------------------------------------------------------------------ Debug

/// Every text form of a secret's material that must never appear in a `Debug` string: the
/// text, the text without its family prefix, and the decoded key bytes as hex and base64.
fn material(text: &str) -> Vec<String> {
    let mut out = vec![text.to_owned()];
    let body = ["whsec_", "whsk_", "whpk_"]
        .iter()
        .find_map(|p| text.strip_prefix(p))
        .unwrap_or(text);
    out.push(body.to_owned());
    let mut decoded = Vec::new();
    if let Ok(bytes) = hex::decode(body) {
        decoded.push(bytes);
    }
    if let Ok(bytes) = B64.decode(body) {
        decoded.push(bytes);
    }
    decoded.push(text.as_bytes().to_vec());
    for bytes in decoded {
        out.push(hex::encode(&bytes));
        out.push(hex::encode_upper(&bytes));
        out.push(B64.encode(&bytes));
        out.push(format!("{bytes:?}"));
    }
    // Any 12-character window of the text (a partial leak is still a leak).
    let chars: Vec<char> = body.chars().collect();
    for w in chars.windows(12) {
        out.push(w.iter().collect());
    }
    out
}

fn assert_redacted(debug: &str, secret_text: &str) {
    assert!(debug.contains("REDACTED"), "{debug}");
    for leak in material(secret_text) {
        assert!(!debug.contains(&leak), "{debug} contains {leak:?}");
    }
}

#[test]
fn secret_debug_is_redacted() {
    for text in [
        ZT_PSK,
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "testSigningKey",
    ] {
        let s = Secret::new(text);
        assert_eq!(format!("{s:?}"), "Secret([REDACTED])");
        assert_eq!(format!("{s:#?}"), "Secret([REDACTED])");
        assert_eq!(
            format!("{:?}", Secret::from(text.to_owned())),
            "Secret([REDACTED])"
        );
        // The text itself is still there for the code that needs it.
        assert_eq!(s.expose_secret(), text);
    }
    let rotating = RotatingSecret {
        secret: Secret::new(ZT_PSK),
        expires_at: Some(ZT_T),
    };
    assert_eq!(
        format!("{rotating:?}"),
        "RotatingSecret { secret: Secret([REDACTED]), expires_at: Some(1694033429) }"
    );
    assert_redacted(&format!("{:?}", vec![rotating.clone()]), ZT_PSK);
    assert_redacted(&format!("{:#?}", active_secrets(&[rotating], 0)), ZT_PSK);
}

#[test]
fn hmac_signers_and_verifiers_debug_is_redacted() {
    let mut schemes = vec![
        Scheme::ZeroTier,
        Scheme::Zitadel,
        Scheme::Stripe,
        Scheme::GitHub,
        Scheme::Zta { bare_hex: false },
        Scheme::from_name("hub-message").unwrap(),
        Scheme::from_name("standard").unwrap(),
        Scheme::from_name("svix").unwrap(),
    ];
    if cfg!(feature = "ed25519") {
        schemes.push(Scheme::from_name("standard-v1a").unwrap());
    }
    for scheme in schemes {
        let secret = scheme.generate_secret().unwrap();
        let text = secret.expose_secret().to_owned();
        let list = [secret];
        for debug in [
            format!("{:?}", Signer::new(&scheme, &list).unwrap()),
            format!("{:#?}", Signer::new(&scheme, &list).unwrap()),
            format!("{:?}", Verifier::new(&scheme, &list).unwrap()),
        ] {
            assert_redacted(&debug, &text);
        }
    }
}

#[test]
fn building_blocks_debug_is_redacted() {
    let secrets = [Secret::new(ZT_PSK), Secret::new(ZT_PSK2)];
    let t = Timestamped::new(&zerotier::format(), &secrets).unwrap();
    let debug = format!("{t:?}");
    assert!(debug.contains("[2 REDACTED]"), "{debug}");
    assert_redacted(&debug, ZT_PSK);
    assert_redacted(&debug, ZT_PSK2);

    let b = BodyHex::new(&generic::github(), &secrets).unwrap();
    let debug = format!("{b:?}");
    assert!(debug.contains("[2 REDACTED]"), "{debug}");
    assert_redacted(&debug, ZT_PSK);

    let whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let s = StandardSigner::new(Default::default(), &[Secret::new(whsec)]).unwrap();
    assert_redacted(&format!("{s:?}"), whsec);
    let v = StandardVerifier::new(&[Secret::new(whsec)]).unwrap();
    assert_redacted(&format!("{v:?}"), whsec);
}

#[cfg(feature = "ed25519")]
#[test]
fn ed25519_keys_debug_is_redacted() {
    let sk = "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg==";
    let scheme = Scheme::from_name("standard-v1a").unwrap();
    let signer = Signer::new(&scheme, &[Secret::new(sk)]).unwrap();
    assert_redacted(&format!("{signer:?}"), sk);
    // The 32-byte seed (first half of the whsk_ key) on its own.
    let seed = &B64.decode(&sk[5..]).unwrap()[..32];
    let debug = format!("{signer:?}");
    assert!(!debug.contains(&hex::encode(seed)), "{debug}");
    assert!(!debug.contains(&format!("{seed:?}")[1..40]), "{debug}");
}

#[cfg(feature = "rsa")]
#[test]
fn rsa_private_key_debug_is_redacted() {
    use hookwire_signature::zentitle::PrivateKey;
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/specs/vectors/"
    );
    let pem = std::fs::read_to_string(format!("{dir}zentitle_test_private_key.pem")).unwrap();
    let key = PrivateKey::from_pem(&pem).unwrap();
    assert_eq!(format!("{key:?}"), "PrivateKey([REDACTED])");
    assert_eq!(format!("{key:#?}"), "PrivateKey([REDACTED])");
    let signer = Signer::new(&Scheme::Zentitle, &[Secret::new(pem.as_str())]).unwrap();
    let debug = format!("{signer:?}");
    assert!(debug.contains("PrivateKey([REDACTED])"), "{debug}");
    // No line of the PEM body, and nothing the size of a printed RSA key.
    for line in pem.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!debug.contains(line), "{debug}");
    }
    assert!(debug.len() < 200, "{debug}");
    assert_eq!(
        format!("{:?}", key.to_pkcs8_pem().unwrap()),
        "Secret([REDACTED])"
    );
}

// --------------------------------------------------------------------------- Rotation

/// The old ZeroTier secret expires at `DEADLINE`; the new one never does.
const DEADLINE: i64 = ZT_T + 3_600;

fn rotation() -> [RotatingSecret; 2] {
    [
        RotatingSecret {
            secret: Secret::new(ZT_PSK),
            expires_at: Some(DEADLINE),
        },
        RotatingSecret {
            secret: Secret::new(ZT_PSK2),
            expires_at: None,
        },
    ]
}

#[test]
fn rotating_secret_is_active_through_its_deadline_inclusive() {
    let [old, new] = rotation();
    assert!(old.is_active_at(i64::MIN));
    assert!(old.is_active_at(DEADLINE - 1));
    assert!(old.is_active_at(DEADLINE));
    assert!(!old.is_active_at(DEADLINE + 1));
    assert!(!old.is_active_at(i64::MAX));
    assert!(new.is_active_at(i64::MIN));
    assert!(new.is_active_at(i64::MAX));
}

#[test]
fn active_secrets_drops_expired_entries_and_keeps_order() {
    let entries = rotation();
    assert_eq!(texts(&active_secrets(&entries, ZT_T)), [ZT_PSK, ZT_PSK2]);
    assert_eq!(
        texts(&active_secrets(&entries, DEADLINE)),
        [ZT_PSK, ZT_PSK2]
    );
    assert_eq!(texts(&active_secrets(&entries, DEADLINE + 1)), [ZT_PSK2]);
    // Order is the entries' order, not "newest first".
    let [old, new] = rotation();
    assert_eq!(
        texts(&active_secrets(&[new, old], DEADLINE)),
        [ZT_PSK2, ZT_PSK]
    );
    assert!(active_secrets(&[], 0).is_empty());
    // All expired: nothing to sign with, and building a signer says so.
    let [old, _] = rotation();
    let none = active_secrets(&[old], DEADLINE + 1);
    assert!(none.is_empty());
    assert!(matches!(
        Signer::new(&Scheme::ZeroTier, &none),
        Err(Error::NoSecrets)
    ));
    assert!(matches!(
        Verifier::new(&Scheme::ZeroTier, &none),
        Err(Error::NoSecrets)
    ));
}

#[test]
fn signing_during_grace_emits_one_signature_per_active_secret() {
    let entries = rotation();
    let body = ZT_BODY.as_bytes();
    // ZeroTier: one `v1=` per secret, exactly the spec's two-secret header.
    let grace = Signer::new(&Scheme::ZeroTier, &active_secrets(&entries, DEADLINE)).unwrap();
    let headers = grace.sign("", ZT_T, body).unwrap();
    assert_eq!(
        pairs(&headers),
        [("x-ztc-signature".to_owned(), ZT_BOTH.to_owned())]
    );
    let after = Signer::new(&Scheme::ZeroTier, &active_secrets(&entries, DEADLINE + 1)).unwrap();
    let value = after.sign("", ZT_T, body).unwrap()[0]
        .1
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(value, ZT_SIG2);

    // GitHub-style body hex: one header value per secret.
    let gh = Signer::new(&Scheme::GitHub, &active_secrets(&entries, DEADLINE)).unwrap();
    let values = pairs(&gh.sign("", 0, body).unwrap());
    assert_eq!(values.len(), 2);
    assert!(values.iter().all(|(k, _)| k == "x-hub-signature-256"));
    assert_ne!(values[0].1, values[1].1);

    // Standard Webhooks: one space-separated token per secret.
    let sw = Scheme::from_name("standard").unwrap();
    let whsec = [
        RotatingSecret {
            secret: Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            expires_at: Some(DEADLINE),
        },
        RotatingSecret {
            secret: Secret::new("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"),
            expires_at: None,
        },
    ];
    let sig = |now: i64| {
        let headers = Signer::new(&sw, &active_secrets(&whsec, now))
            .unwrap()
            .sign(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                br#"{"test": 2432232314}"#,
            )
            .unwrap();
        headers[2].1.to_str().unwrap().to_owned()
    };
    let during = sig(DEADLINE);
    let tokens: Vec<&str> = during.split(' ').collect();
    assert_eq!(tokens.len(), 2);
    // The old secret's token is the spec's canonical vector (other-schemes.md C1).
    assert_eq!(tokens[0], "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    assert_eq!(sig(DEADLINE + 1), tokens[1]);
}

#[test]
fn verify_accepts_either_secret_during_grace_and_only_the_new_one_after() {
    let entries = rotation();
    let body = ZT_BODY.as_bytes();
    let signed_by = |secret: &str| {
        pairs(
            &Signer::new(&Scheme::ZeroTier, &[Secret::new(secret)])
                .unwrap()
                .sign("", ZT_T, body)
                .unwrap(),
        )
    };
    let by_old = signed_by(ZT_PSK);
    let by_new = signed_by(ZT_PSK2);
    assert_eq!(by_old[0].1, ZT_SIG);
    assert_eq!(by_new[0].1, ZT_SIG2);
    let by_both = vec![("X-ZTC-Signature".to_owned(), ZT_BOTH.to_owned())];

    // The verifier is rebuilt from the active set at each clock reading, as a receiver does.
    let verifier_at = |now: i64| {
        let v = Verifier::new(&Scheme::ZeroTier, &active_secrets(&entries, now)).unwrap();
        v.with_tolerance(hookwire_signature::Tolerance::ignore())
    };
    let grace = verifier_at(DEADLINE);
    assert_eq!(verify_at(&grace, body, &by_old, DEADLINE), Ok(0));
    assert_eq!(verify_at(&grace, body, &by_new, DEADLINE), Ok(1));
    assert_eq!(verify_at(&grace, body, &by_both, DEADLINE), Ok(0));

    let after = verifier_at(DEADLINE + 1);
    assert_eq!(
        verify_at(&after, body, &by_old, DEADLINE + 1),
        Err(Error::SignatureMismatch)
    );
    assert_eq!(verify_at(&after, body, &by_new, DEADLINE + 1), Ok(0));
    // A header signed with both still verifies after the deadline, through the new secret.
    assert_eq!(verify_at(&after, body, &by_both, DEADLINE + 1), Ok(0));
}

// ------------------------------------------------------------------------- Generation

fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Generates a secret and checks that a signer and verifier built from it agree.
fn generate_and_use(scheme: &Scheme) -> Secret {
    let secret = scheme.generate_secret().unwrap();
    let public = scheme.verification_secret(&secret).unwrap();
    let body = br#"{"generated":true}"#;
    let signed = pairs(
        &Signer::new(scheme, std::slice::from_ref(&secret))
            .unwrap()
            .sign("msg_1", 1_700_000_000, body)
            .unwrap(),
    );
    let v = Verifier::new(scheme, &[public]).unwrap();
    assert_eq!(verify_at(&v, body, &signed, 1_700_000_000), Ok(0));
    assert_eq!(
        verify_at(&v, b"{}", &signed, 1_700_000_000),
        Err(Error::SignatureMismatch)
    );
    secret
}

#[test]
fn zerotier_hub_message_and_github_secrets_are_64_hex() {
    for scheme in [
        Scheme::ZeroTier,
        Scheme::from_name("hub-message").unwrap(),
        Scheme::HubMessage {
            header: "x-sig".into(),
            key: hookwire_signature::HubKeyEncoding::Hex,
        },
        Scheme::GitHub,
    ] {
        let s = generate_and_use(&scheme);
        assert!(is_lower_hex(s.expose_secret(), 64), "{}", scheme.name());
    }
}

#[test]
fn zta_secret_is_whsec_and_32_hex() {
    let s = generate_and_use(&Scheme::Zta { bare_hex: false });
    let hex_part = s.expose_secret().strip_prefix("whsec_").unwrap();
    assert!(is_lower_hex(hex_part, 32), "{hex_part}");
}

#[test]
fn zitadel_and_stripe_secrets_are_32_alphanumerics() {
    let alnum = |s: &str| s.len() == 32 && s.bytes().all(|b| b.is_ascii_alphanumeric());
    let z = generate_and_use(&Scheme::Zitadel);
    assert!(alnum(z.expose_secret()), "{}", z.expose_secret());
    let s = generate_and_use(&Scheme::Stripe);
    assert!(alnum(s.expose_secret().strip_prefix("whsec_").unwrap()));
}

#[test]
fn standard_webhooks_secret_is_whsec_base64_of_24_to_64_bytes() {
    for name in ["standard", "svix"] {
        let s = generate_and_use(&Scheme::from_name(name).unwrap());
        let b64 = s.expose_secret().strip_prefix("whsec_").unwrap();
        let key = B64.decode(b64).unwrap();
        assert!((24..=64).contains(&key.len()), "{} bytes", key.len());
        assert_eq!(key.len(), 32, "documented size");
        // Strict, padded standard base64: re-encoding gives the same text.
        assert_eq!(B64.encode(&key), b64);
    }
    // A generic scheme with the Standard Webhooks key encoding generates the same form.
    let generic = Scheme::Timestamped(hookwire_signature::TimestampedFormat {
        header: "x-sig".into(),
        separator: '.',
        key: KeyEncoding::WhsecBase64,
        signature_keys: hookwire_signature::SignatureKeys::V1,
    });
    let s = generate_and_use(&generic);
    let key = B64
        .decode(s.expose_secret().strip_prefix("whsec_").unwrap())
        .unwrap();
    assert_eq!(key.len(), 32);
}

#[cfg(feature = "ed25519")]
#[test]
fn ed25519_keys_parse_back_and_sign_verify() {
    let scheme = Scheme::from_name("standard-v1a").unwrap();
    let sk = generate_and_use(&scheme);
    let pair = B64
        .decode(sk.expose_secret().strip_prefix("whsk_").unwrap())
        .unwrap();
    assert_eq!(pair.len(), 64, "secret key then public key");
    let pk = scheme.verification_secret(&sk).unwrap();
    let public = B64
        .decode(pk.expose_secret().strip_prefix("whpk_").unwrap())
        .unwrap();
    assert_eq!(public, pair[32..]);
    // The public key verifies, cannot sign; the signature is a v1a token of 64 bytes.
    let body = b"ed25519 body";
    let signed = pairs(
        &Signer::new(&scheme, std::slice::from_ref(&sk))
            .unwrap()
            .sign("msg_2", 1_700_000_000, body)
            .unwrap(),
    );
    let token = signed[2].1.strip_prefix("v1a,").unwrap();
    assert_eq!(B64.decode(token).unwrap().len(), 64);
    for key in [&pk, &sk] {
        let v = Verifier::new(&scheme, std::slice::from_ref(key)).unwrap();
        assert_eq!(verify_at(&v, body, &signed, 1_700_000_000), Ok(0));
    }
    assert!(matches!(Signer::new(&scheme, &[pk]), Err(Error::BadKey(_))));
    // A whsk_ key whose public half was swapped for another key's is refused.
    let other = scheme.generate_secret().unwrap();
    let other_pair = B64
        .decode(other.expose_secret().strip_prefix("whsk_").unwrap())
        .unwrap();
    let mut mixed = pair[..32].to_vec();
    mixed.extend_from_slice(&other_pair[32..]);
    assert!(matches!(
        Signer::new(
            &scheme,
            &[Secret::new(format!("whsk_{}", B64.encode(mixed)))]
        ),
        Err(Error::BadKey(_))
    ));
}

#[cfg(feature = "rsa")]
#[test]
fn zentitle_generates_a_pkcs8_key_whose_public_half_verifies() {
    let sk = generate_and_use(&Scheme::Zentitle);
    assert!(
        sk.expose_secret()
            .starts_with("-----BEGIN PRIVATE KEY-----\n")
    );
    let pk = Scheme::Zentitle.verification_secret(&sk).unwrap();
    assert!(
        pk.expose_secret()
            .starts_with("-----BEGIN PUBLIC KEY-----\n")
    );
    assert!(!pk.expose_secret().contains("PRIVATE"));
}

#[test]
fn two_generated_secrets_differ() {
    let mut schemes = vec![
        Scheme::ZeroTier,
        Scheme::Zta { bare_hex: false },
        Scheme::from_name("hub-message").unwrap(),
        Scheme::Zitadel,
        Scheme::Stripe,
        Scheme::GitHub,
        Scheme::from_name("standard").unwrap(),
    ];
    if cfg!(feature = "ed25519") {
        schemes.push(Scheme::from_name("standard-v1a").unwrap());
    }
    for scheme in schemes {
        let a = scheme.generate_secret().unwrap();
        let b = scheme.generate_secret().unwrap();
        assert_ne!(a.expose_secret(), b.expose_secret(), "{}", scheme.name());
        assert_eq!(a.expose_secret().len(), b.expose_secret().len());
    }
}
