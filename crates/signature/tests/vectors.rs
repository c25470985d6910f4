//! Every vector in `tests/data/specs/`, pinned verbatim, with the negative cases listed there.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns; a failed unwrap is a test failure

use hookwire_signature::{
    BodyHexFormat, Error, HubKeyEncoding, KeyEncoding, Scheme, Secret, SignatureKeys, Signer,
    TimestampedFormat, Tolerance, Verifier,
};
use http::{HeaderMap, HeaderValue};

fn secrets(list: &[&str]) -> Vec<Secret> {
    list.iter().map(|s| Secret::new(*s)).collect()
}

fn verifier(scheme: &Scheme, list: &[&str]) -> Verifier {
    Verifier::new(scheme, &secrets(list)).unwrap()
}

fn signed_value(scheme: &Scheme, list: &[&str], id: &str, t: i64, body: &[u8]) -> String {
    let headers = Signer::new(scheme, &secrets(list))
        .unwrap()
        .sign(id, t, body)
        .unwrap();
    assert_eq!(headers.len(), 1);
    headers[0].1.to_str().unwrap().to_owned()
}

// ---------------------------------------------------------------- ZeroTier (zerotier.md 1.3)

const ZT_PSK: &str = "778c6dab5feca625c7831644d18c4d0e4b3a337bff8a1e1c8f938f9cc20e6536";
const ZT_PSK2: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const ZT_SIG: &str =
    "t=1694033429,v1=04d87956d1953f28ac04d441f139fc655109e9b5c64396fb55dbdf567c735f86";
const ZT_BODY: &str = r#"{"hook_id":"ae76d4c0-c94e-4025-a648-2c504eb90e3c","org_id":"1bb4dc96-f311-4c4a-ac93-551cbc0fa3da","hook_type":"NETWORK_JOIN","network_id":"19d9808567a17ccf","member_id":"a02505e545"}"#;
const ZT_T: i64 = 1_694_033_429;

fn zt_verify(list: &[&str], header: &str) -> Result<hookwire_signature::Verified, Error> {
    verifier(&Scheme::ZeroTier, list)
        .verify_pairs_ignoring_time(ZT_BODY.as_bytes(), &[("X-ZTC-Signature", header)])
}

#[test]
fn zerotier_upstream_vector_verifies_and_signs() {
    let ok = zt_verify(&[ZT_PSK], ZT_SIG).unwrap();
    assert_eq!((ok.timestamp, ok.key_index, ok.id), (Some(ZT_T), 0, None));
    assert_eq!(
        signed_value(&Scheme::ZeroTier, &[ZT_PSK], "", ZT_T, ZT_BODY.as_bytes()),
        ZT_SIG
    );
    // Within the default tolerance at a fixed clock, and via HeaderMap (case-insensitive).
    let mut map = HeaderMap::new();
    map.insert("x-ztc-signature", HeaderValue::from_static(ZT_SIG));
    let v = verifier(&Scheme::ZeroTier, &[ZT_PSK]);
    assert!(v.verify_at(ZT_BODY.as_bytes(), &map, ZT_T + 300).is_ok());
}

#[test]
fn zerotier_upstream_negative_cases() {
    // TS: first `9` replaced by `0` (lands in the timestamp, so the MAC no longer matches).
    let ts_case = ZT_SIG.replacen('9', "0", 1);
    assert_eq!(
        zt_verify(&[ZT_PSK], &ts_case),
        Err(Error::SignatureMismatch)
    );
    // Python: `4` replaced by `0` everywhere.
    let py_case = ZT_SIG.replace('4', "0");
    assert_eq!(
        zt_verify(&[ZT_PSK], &py_case),
        Err(Error::SignatureMismatch)
    );
    // TS: ttl = 1 s is expired.
    let v = verifier(&Scheme::ZeroTier, &[ZT_PSK])
        .with_tolerance(Tolerance::symmetric(std::time::Duration::from_secs(1)));
    assert_eq!(
        v.verify_pairs_at(ZT_BODY.as_bytes(), &[("X-ZTC-Signature", ZT_SIG)], ZT_T + 2),
        Err(Error::TimestampTooOld)
    );
}

#[test]
fn zerotier_derived_negatives_and_multi_secret() {
    let dot = "t=1694033429,v1=d31a72feb39abb983060a26d7df9f2f295297a73ae4093046ba26200913e8a3d";
    assert_eq!(zt_verify(&[ZT_PSK], dot), Err(Error::SignatureMismatch));
    let ascii = "t=1694033429,v1=5f5ac7ed08d32e7e2a2e13911406e15b8accf6ed1e934383729784ff2e321959";
    assert_eq!(zt_verify(&[ZT_PSK], ascii), Err(Error::SignatureMismatch));
    let both = "t=1694033429,v1=04d87956d1953f28ac04d441f139fc655109e9b5c64396fb55dbdf567c735f86,v1=ad494f2e4d5e3cfd1f3fd099e5d2d59abea4b432251951dd457d6fb4cdda846f";
    assert_eq!(zt_verify(&[ZT_PSK], both).unwrap().key_index, 0);
    assert_eq!(zt_verify(&[ZT_PSK2], both).unwrap().key_index, 0);
    assert_eq!(zt_verify(&[ZT_PSK2, ZT_PSK], ZT_SIG).unwrap().key_index, 1);
    assert_eq!(
        signed_value(
            &Scheme::ZeroTier,
            &[ZT_PSK, ZT_PSK2],
            "",
            ZT_T,
            ZT_BODY.as_bytes()
        ),
        both
    );
}

#[test]
fn zerotier_parser_edge_cases() {
    // Leading zeros in t: the MAC is over the re-formatted integer (ztchooks).
    let padded = ZT_SIG.replace("t=1694033429", "t=0001694033429");
    assert!(zt_verify(&[ZT_PSK], &padded).is_ok());
    // Non-hex signature values are skipped; order does not matter.
    let mixed = format!("v1=zz,{}", ZT_SIG);
    assert!(zt_verify(&[ZT_PSK], &mixed).is_ok());
    for (bad, why) in [
        ("", "empty value"),
        ("t=1694033429,v1", "pair without `=`"),
        ("t=abc,v1=04", "`t` is not an integer"),
        (
            "v1=04d87956d1953f28ac04d441f139fc655109e9b5c64396fb55dbdf567c735f86",
            "no `t`",
        ),
        ("t=1694033429", "no signature"),
    ] {
        assert_eq!(
            zt_verify(&[ZT_PSK], bad),
            Err(Error::MalformedHeader("x-ztc-signature".into(), why)),
            "{bad}"
        );
    }
    assert_eq!(
        verifier(&Scheme::ZeroTier, &[ZT_PSK]).verify_pairs_ignoring_time(ZT_BODY.as_bytes(), &[]),
        Err(Error::MissingHeader("x-ztc-signature".into()))
    );
    assert!(matches!(
        Verifier::new(&Scheme::ZeroTier, &secrets(&["not hex"])),
        Err(Error::BadKey(_))
    ));
}

// ----------------------------------------------------- Zero Trust Analytics (zero-trust-analytics.md 2.4)

const ZTA_SECRET: &str = "whsec_xyz789";
const ZTA_BODY: &str = r#"{"event":"test","timestamp":"2024-12-12T16:30:00.000Z","site_id":"site_abc123","data":{"message":"This is a test webhook from Zero Trust Analytics","webhook_id":"wh_abc123"}}"#;
const ZTA_HEX: &str = "6a77af3ba9e8a6d2aa89791f8f28734a86d36b4fc2026eb9439a9c0b79fdbd75";
const ZTA_BODY2: &str = r#"{"event":"pageview","timestamp":"2024-12-12T16:30:00.000Z","data":{"siteId":"site_abc123","path":"/blog/my-article","referrer":"https://google.com","country":"US","device":"desktop","browser":"Chrome"}}"#;
const ZTA_HEX2: &str = "401aae18d3d06892f1946dd19a9725e4f59bd1467ab5cca35b23fdeddef0023a";

#[test]
fn zta_vectors_both_forms() {
    let scheme = Scheme::Zta { bare_hex: false };
    let v = verifier(&scheme, &[ZTA_SECRET]);
    for value in [
        ZTA_HEX.to_owned(),
        format!("sha256={ZTA_HEX}"),
        ZTA_HEX.to_uppercase(),
    ] {
        let ok = v
            .verify_pairs_at(ZTA_BODY.as_bytes(), &[("X-ZTA-Signature", &value)], 0)
            .unwrap();
        assert_eq!(ok.timestamp, None);
    }
    assert!(
        v.verify_pairs_at(ZTA_BODY2.as_bytes(), &[("x-zta-signature", ZTA_HEX2)], 0)
            .is_ok()
    );
    assert_eq!(
        signed_value(&scheme, &[ZTA_SECRET], "", 0, ZTA_BODY.as_bytes()),
        format!("sha256={ZTA_HEX}")
    );
    assert_eq!(
        signed_value(
            &Scheme::Zta { bare_hex: true },
            &[ZTA_SECRET],
            "",
            0,
            ZTA_BODY.as_bytes()
        ),
        ZTA_HEX
    );
    // Negative: other body, base64-decoded key would differ, truncated hex is malformed.
    assert_eq!(
        v.verify_pairs_at(ZTA_BODY2.as_bytes(), &[("X-ZTA-Signature", ZTA_HEX)], 0),
        Err(Error::SignatureMismatch)
    );
    assert_eq!(
        verifier(&scheme, &["xyz789"]).verify_pairs_at(
            ZTA_BODY.as_bytes(),
            &[("X-ZTA-Signature", ZTA_HEX)],
            0
        ),
        Err(Error::SignatureMismatch)
    );
    assert!(matches!(
        v.verify_pairs_at(
            ZTA_BODY.as_bytes(),
            &[("X-ZTA-Signature", &ZTA_HEX[..60])],
            0
        ),
        Err(Error::MalformedHeader(..))
    ));
}

// ------------------------------------------------------------- Hub Message (hub-message.md 3.2)

const HUB_SECRET: &str = "a3f1c2d4e5b6789012345678901234abcdef0123456789abcdef0123456789ab";
const HUB_BODY: &str = r#"{"message":{"_id":"019E6F1A93FE78DCB54332F9FF0CCAE7","channel_id":"019E4C54B1B375A28970B605CA9B03C3"},"messageEventType":"NEW_MESSAGE"}"#;
const HUB_ASCII_HEX: &str = "c1d71a3d448c03f645493aeef57e4b0a2c95088a192ea706ca282e3a4c423fd3";
const HUB_DECODED_HEX: &str = "7544847383c546b66b45ef0c5ab4543dc91bac1c2a320a0891279131fa0e74e7";

#[test]
fn hub_message_both_key_interpretations() {
    let ascii = Scheme::HubMessage {
        header: "X-Hub-Test-Signature".into(),
        key: HubKeyEncoding::Ascii,
    };
    let hexkey = Scheme::HubMessage {
        header: "X-Hub-Test-Signature".into(),
        key: HubKeyEncoding::Hex,
    };
    let check = |scheme: &Scheme, value: &str| {
        verifier(scheme, &[HUB_SECRET]).verify_pairs_at(
            HUB_BODY.as_bytes(),
            &[("x-hub-test-signature", value)],
            0,
        )
    };
    assert!(check(&ascii, HUB_ASCII_HEX).is_ok());
    assert!(check(&ascii, &format!("sha256={HUB_ASCII_HEX}")).is_ok());
    assert!(check(&hexkey, HUB_DECODED_HEX).is_ok());
    assert_eq!(
        check(&ascii, HUB_DECODED_HEX),
        Err(Error::SignatureMismatch)
    );
    assert_eq!(check(&hexkey, HUB_ASCII_HEX), Err(Error::SignatureMismatch));
    // The base64 form of the same MAC is not what the scheme reads.
    assert!(matches!(
        check(&ascii, "wdcaPUSMA/ZFSTru9X5LCiyVCIoZLqcGyiguOkxCP9M="),
        Err(Error::MalformedHeader(..))
    ));
    assert_eq!(
        signed_value(&ascii, &[HUB_SECRET], "", 0, HUB_BODY.as_bytes()),
        HUB_ASCII_HEX
    );
    assert_eq!(
        signed_value(&hexkey, &[HUB_SECRET], "", 0, HUB_BODY.as_bytes()),
        HUB_DECODED_HEX
    );
    // The documented default header name from `from_name`.
    let default = Scheme::from_name("hub-message").unwrap();
    assert_eq!(
        default.signature_header_names(),
        vec![http::HeaderName::from_static("x-hubmessage-signature")]
    );
}

// --------------------------------------------------------------------- ZITADEL (zitadel.md 4.1)

const ZITADEL_EVENT: &str = r#"{"aggregateID":"336494809936035843","aggregateType":"user","resourceOwner":"336392597046099971","instanceID":"336392597046034435","version":"v2","sequence":1,"event_type":"user.human.added","created_at":"2025-09-05T08:55:36.156333Z","userID":"336392597046755331","event_payload":{"email":"mini@mouse.com","userName":"mini@mouse.com"}}"#;

#[test]
fn zitadel_vectors() {
    let t = 1_700_000_000;
    let test_sig =
        "t=1700000000,v1=4d2cdd3630cfdb0f43c5842d65b7e89b3c3c3617a9380884ce676f3b63ca517e";
    let event_sig =
        "t=1700000000,v1=3a170cc15a7c453a637f8545c7a145ca43a846ba7e835a8156845a465307a18a";
    let two = "t=1700000000,v1=3a170cc15a7c453a637f8545c7a145ca43a846ba7e835a8156845a465307a18a,v1=2d76d7914d42d761d87e8b4384ab27c731ef8c67be3e28b9d89971862e62b4b3";
    assert_eq!(
        signed_value(&Scheme::Zitadel, &["testSigningKey"], "", t, b"test"),
        test_sig
    );
    assert_eq!(
        signed_value(
            &Scheme::Zitadel,
            &["testSigningKey"],
            "",
            t,
            ZITADEL_EVENT.as_bytes()
        ),
        event_sig
    );
    assert_eq!(
        signed_value(
            &Scheme::Zitadel,
            &["testSigningKey", "secondKey"],
            "",
            t,
            ZITADEL_EVENT.as_bytes()
        ),
        two
    );
    let v = verifier(&Scheme::Zitadel, &["testSigningKey"]);
    let pairs = |s: &'static str| [("Zitadel-Signature", s)];
    assert!(v.verify_pairs_at(b"test", &pairs(test_sig), t + 10).is_ok());
    assert_eq!(
        verifier(&Scheme::Zitadel, &["secondKey"])
            .verify_pairs_at(ZITADEL_EVENT.as_bytes(), &pairs(two), t)
            .unwrap()
            .key_index,
        0
    );
    // Upstream negative cases (signing_test.go).
    assert!(matches!(
        v.verify_pairs_at(b"test", &pairs("invalidHeader"), t),
        Err(Error::MalformedHeader(..))
    ));
    assert!(matches!(
        v.verify_pairs_at(b"test", &pairs("t=abc,v1=456"), t),
        Err(Error::MalformedHeader(..))
    ));
    assert_eq!(
        v.verify_pairs_at(b"test", &pairs("t=12345,v1="), 12_345),
        Err(Error::SignatureMismatch)
    );
    assert_eq!(
        v.verify_pairs_at(b"test", &pairs(test_sig), t + 301),
        Err(Error::TimestampTooOld)
    );
    assert_eq!(
        v.verify_pairs_at(b"test", &pairs(test_sig), t - 301),
        Err(Error::TimestampTooNew)
    );
    assert_eq!(
        verifier(&Scheme::Zitadel, &["wrongKey"]).verify_pairs_at(b"test", &pairs(test_sig), t),
        Err(Error::SignatureMismatch)
    );
    // The seed's format never verifies.
    assert!(
        v.verify_pairs_at(b"test", &[("X-Zitadel-Signature", "sha256=4d2c")], t)
            .is_err()
    );
    // Vendor-equivalent tolerance: past only.
    let vendor = verifier(&Scheme::Zitadel, &["testSigningKey"]).with_tolerance(Tolerance {
        past: std::time::Duration::from_secs(300),
        future: std::time::Duration::MAX,
    });
    assert!(vendor.verify_pairs_at(b"test", &pairs(test_sig), 0).is_ok());
}

// ---------------------------------------------------------------- Zentitle (zentitle.md 5.1)

#[cfg(feature = "rsa")]
mod zentitle {
    use super::*;

    const SPECS: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/specs/vectors/"
    );

    fn read(name: &str) -> String {
        std::fs::read_to_string(format!("{SPECS}{name}")).unwrap()
    }

    struct Vector {
        modulus: String,
        body: String,
        sig: String,
    }

    fn vector() -> Vector {
        let json: serde_json::Value = serde_json::from_str(&read("zentitle_vector.json")).unwrap();
        assert_eq!(json["exponent_b64url"], "AQAB");
        Vector {
            modulus: json["modulus_b64url"].as_str().unwrap().to_owned(),
            body: json["body"].as_str().unwrap().to_owned(),
            sig: json["n_signature_b64"].as_str().unwrap().to_owned(),
        }
    }

    #[test]
    fn vendor_modulus_and_pem_forms_verify_the_vector() {
        let v = vector();
        // The same values as printed in zentitle.md, verbatim.
        assert!(v.modulus.starts_with("wmjl_JnxzSnMQKO1O7qQdZtD1njvw41ux5v0jv5jqi1e5bYbmnvtKPJ48s72eqhq7OQCf4HQG3LysnTiTubh5aKHUKMGD6_h3pLElj0eHAFLopx3ZQDSHUnyWUkKRtgxX3wxOFHyegJNAw8C8PTS9E_4zY89544cfDfbdiizwlTa1_vHz2ouRvYLuGhT91Yhss6AijxDjl2xdVIkNcyzj_q5lp6YmTOY-DWohi9Eq9viDzXAHsRhRapKbdgO7wXnukcM7US7dQoS2fjDEH4uVcbp2FrViF2QGvHA421oBacYuXzZnHt_TR9c77nXQKtva_sEwAi6YyItK2wbGgW1bw"));
        assert!(v.sig.starts_with("oI/KyIRVn5IoQDnGbQzLC54OCZw/Df9WYkDEzNDRoTXLxJFCUfQ5Bu/sha3dUjoV49pkaANnb3O3wCwPBC9nnQCFsz5dWkyn9SpSRynAvLf8T4a1cSxO0Ax2CoMF+2CzKeFMJd0yF9GaKivyqAcccdfZCPJ8BP3g4Pk446uSQhCHhoIZtBkcKh6Lns+ShMWfCgmxhrKWT+c8hT9vAcm6p5fQxB4SSxOBwfah5k9oW9yMHyOC6Scp95fB3kCCbg/AGR4pPtQbeAFQGQesQ3f1EnfiYHHIR5gWyosqTzAg0ojerN1F0/QhXS/aOK6zeQKjhFMRhxD+xp4//wZXPWVMzA=="));
        let spki_pem = read("zentitle_test_public_key.pem");
        let spki_b64: String = spki_pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let padded = format!("{}=", v.modulus);
        for key in [
            v.modulus.as_str(),
            padded.as_str(),
            spki_pem.as_str(),
            spki_b64.as_str(),
        ] {
            let ok = verifier(&Scheme::Zentitle, &[key])
                .verify_pairs_at(v.body.as_bytes(), &[("N-Signature", &v.sig)], 0)
                .unwrap();
            assert_eq!(
                ok,
                hookwire_signature::Verified {
                    id: None,
                    timestamp: None,
                    key_index: 0
                }
            );
        }
        // The typed API on the same SPKI PEM, without going through a Verifier.
        let pk = hookwire_signature::zentitle::PublicKey::from_text(&spki_pem).unwrap();
        assert!(pk.verify(v.body.as_bytes(), &base64_decode(&v.sig)).is_ok());
    }

    /// The spec's public key, decoded by the `rsa` crate itself (not by the code under test).
    fn spec_public_key() -> rsa::RsaPublicKey {
        use rsa::pkcs8::DecodePublicKey as _;
        rsa::RsaPublicKey::from_public_key_pem(&read("zentitle_test_public_key.pem")).unwrap()
    }

    fn spec_private_key() -> rsa::RsaPrivateKey {
        use rsa::pkcs8::DecodePrivateKey as _;
        rsa::RsaPrivateKey::from_pkcs8_pem(&read("zentitle_test_private_key.pem")).unwrap()
    }

    fn b64(bytes: &[u8]) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    fn verify_with_secret(key: &str, body: &str, sig: &str) -> Result<(), Error> {
        Verifier::new(&Scheme::Zentitle, &secrets(&[key]))?
            .verify_pairs_at(body.as_bytes(), &[("N-Signature", sig)], 0)
            .map(|ok| assert_eq!(ok.key_index, 0))
    }

    #[test]
    fn spec_pem_and_modulus_are_the_same_key() {
        use rsa::traits::PublicKeyParts as _;
        let key = spec_public_key();
        let n = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            key.n().to_bytes_be(),
        );
        assert_eq!(n, vector().modulus);
        assert_eq!(key.e().to_bytes_be(), vec![1, 0, 1]);
        assert_eq!(key.n().bits(), 2048);
    }

    #[test]
    fn pkcs1_public_pem_verifies_the_vector() {
        use rsa::pkcs1::EncodeRsaPublicKey as _;
        let v = vector();
        let pem = spec_public_key()
            .to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
            .unwrap();
        assert!(pem.starts_with("-----BEGIN RSA PUBLIC KEY-----\n"));
        verify_with_secret(&pem, &v.body, &v.sig).unwrap();
        // CRLF line endings and surrounding whitespace are accepted too.
        let crlf = spec_public_key()
            .to_pkcs1_pem(rsa::pkcs8::LineEnding::CRLF)
            .unwrap();
        verify_with_secret(&format!("\n{crlf}\n"), &v.body, &v.sig).unwrap();
        // The PEM parses to a key that refuses a tampered body.
        assert_eq!(
            verify_with_secret(&pem, &v.body.replace("Acme", "Acmf"), &v.sig),
            Err(Error::SignatureMismatch)
        );
        // The typed API: PKCS#1 PEM through from_text, re-encoded as the spec's SPKI PEM.
        let pk = hookwire_signature::zentitle::PublicKey::from_text(&pem).unwrap();
        assert!(pk.verify(v.body.as_bytes(), &base64_decode(&v.sig)).is_ok());
        assert_eq!(
            pk.to_pem().unwrap().trim(),
            read("zentitle_test_public_key.pem").trim()
        );
    }

    #[test]
    fn pkcs1_and_spki_der_verify_the_vector() {
        use hookwire_signature::zentitle::PublicKey;
        use rsa::pkcs1::EncodeRsaPublicKey as _;
        use rsa::pkcs8::EncodePublicKey as _;
        let v = vector();
        let sig = base64_decode(&v.sig);
        let key = spec_public_key();
        let pkcs1 = key.to_pkcs1_der().unwrap();
        let spki = key.to_public_key_der().unwrap();
        // The SPKI DER is exactly the body of the spec's PEM.
        let spec_pem = read("zentitle_test_public_key.pem");
        let spec_b64: String = spec_pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        assert_eq!(b64(spki.as_bytes()), spec_b64);
        assert_ne!(pkcs1.as_bytes(), spki.as_bytes());
        for der in [pkcs1.as_bytes(), spki.as_bytes()] {
            // Raw DER through the typed API.
            let pk = PublicKey::from_der(der).unwrap();
            assert!(pk.verify(v.body.as_bytes(), &sig).is_ok());
            assert_eq!(pk.verify(b"{}", &sig), Err(Error::SignatureMismatch));
            assert_eq!(pk.to_pem().unwrap().trim(), spec_pem.trim());
            // Base64 DER through the Verifier's text form.
            verify_with_secret(&b64(der), &v.body, &v.sig).unwrap();
            // Truncated DER is refused as a bad key.
            assert!(matches!(
                PublicKey::from_der(&der[..der.len() - 1]),
                Err(Error::BadKey(_))
            ));
        }
    }

    #[test]
    fn pkcs1_private_pem_signs_the_vector() {
        use rsa::pkcs1::EncodeRsaPrivateKey as _;
        let v = vector();
        let pem = spec_private_key()
            .to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
            .unwrap();
        assert!(pem.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
        let private = Secret::new(pem.as_str());
        // PKCS#1 v1.5 is deterministic: the PKCS#1 form of the spec key gives the spec signature.
        assert_eq!(
            signed_value(&Scheme::Zentitle, &[pem.as_str()], "", 0, v.body.as_bytes()),
            v.sig
        );
        // Its public half is the spec's SPKI PEM, and a fresh body round-trips through it.
        let public = Scheme::Zentitle.verification_secret(&private).unwrap();
        assert_eq!(
            public.expose_secret().trim(),
            read("zentitle_test_public_key.pem").trim()
        );
        let body = r#"{"eventCode":"webhook.test"}"#;
        let sig = signed_value(&Scheme::Zentitle, &[pem.as_str()], "", 0, body.as_bytes());
        verify_with_secret(&v.modulus, body, &sig).unwrap();
        verify_with_secret(public.expose_secret(), body, &sig).unwrap();
        assert_eq!(
            verify_with_secret(&v.modulus, &v.body, &sig),
            Err(Error::SignatureMismatch)
        );
        // The typed API on the PKCS#1 private PEM.
        let key = hookwire_signature::zentitle::PrivateKey::from_pem(&pem).unwrap();
        assert_eq!(b64(&key.sign(v.body.as_bytes()).unwrap()), v.sig);
        assert_eq!(key.sign_header(v.body.as_bytes()).unwrap(), v.sig.as_str());
        // A verifier refuses the PKCS#1 private key as it refuses the PKCS#8 one.
        assert!(matches!(
            Verifier::new(&Scheme::Zentitle, &[private]),
            Err(Error::BadKey(_))
        ));
    }

    fn base64_decode(s: &str) -> Vec<u8> {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.decode(s).unwrap()
    }

    #[test]
    fn negative_cases() {
        let v = vector();
        let ver = verifier(&Scheme::Zentitle, &[&v.modulus]);
        // Body changed by one byte.
        let body = v.body.replace("Acme", "Acmf");
        assert_eq!(
            ver.verify_pairs_at(body.as_bytes(), &[("N-Signature", &v.sig)], 0),
            Err(Error::SignatureMismatch)
        );
        // Signature changed in one character.
        let sig = v.sig.replacen('o', "p", 1);
        assert_eq!(
            ver.verify_pairs_at(v.body.as_bytes(), &[("N-Signature", &sig)], 0),
            Err(Error::SignatureMismatch)
        );
        assert!(matches!(
            ver.verify_pairs_at(v.body.as_bytes(), &[("N-Signature", "***")], 0),
            Err(Error::MalformedHeader(..))
        ));
        assert_eq!(
            ver.verify_pairs_at(v.body.as_bytes(), &[], 0),
            Err(Error::MissingHeader("n-signature".into()))
        );
        // A private key is refused by the verifier, garbage is a bad key.
        assert!(matches!(
            Verifier::new(
                &Scheme::Zentitle,
                &[Secret::new(read("zentitle_test_private_key.pem"))]
            ),
            Err(Error::BadKey(_))
        ));
        assert!(matches!(
            Verifier::new(&Scheme::Zentitle, &secrets(&["AQAB"])),
            Err(Error::BadKey(_))
        ));
    }

    #[test]
    fn private_key_signs_what_the_vendor_key_verifies() {
        let v = vector();
        let private = Secret::new(read("zentitle_test_private_key.pem"));
        let headers = Signer::new(&Scheme::Zentitle, std::slice::from_ref(&private))
            .unwrap()
            .sign("", 0, v.body.as_bytes())
            .unwrap();
        // PKCS#1 v1.5 is deterministic: blinding does not change the signature.
        assert_eq!(headers[0].0.as_str(), "n-signature");
        assert_eq!(headers[0].1.to_str().unwrap(), v.sig);
        let public = Scheme::Zentitle.verification_secret(&private).unwrap();
        assert!(
            public
                .expose_secret()
                .starts_with("-----BEGIN PUBLIC KEY-----")
        );
        let mut map = HeaderMap::new();
        for (k, val) in headers {
            map.append(k, val);
        }
        assert!(
            Verifier::new(&Scheme::Zentitle, &[public])
                .unwrap()
                .verify_ignoring_time(v.body.as_bytes(), &map)
                .is_ok()
        );
    }
}

// ---------------------------------------------------- Standard Webhooks / Svix (other-schemes.md C1-C3)

const SW_KEY: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SW_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const SW_T: i64 = 1_614_265_330;
const SW_BODY: &str = r#"{"test": 2432232314}"#;
const SW_SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

fn standard() -> Scheme {
    Scheme::from_name("standard").unwrap()
}

fn sw_pairs<'a>(id: &'a str, t: &'a str, sig: &'a str) -> [(&'a str, &'a str); 3] {
    [
        ("webhook-id", id),
        ("webhook-timestamp", t),
        ("webhook-signature", sig),
    ]
}

#[test]
fn standard_canonical_vector() {
    let headers = Signer::new(&standard(), &secrets(&[SW_KEY]))
        .unwrap()
        .sign(SW_ID, SW_T, SW_BODY.as_bytes())
        .unwrap();
    let got: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("webhook-id".into(), SW_ID.into()),
            ("webhook-timestamp".into(), SW_T.to_string()),
            ("webhook-signature".into(), SW_SIG.into()),
        ]
    );
    let v = verifier(&standard(), &[SW_KEY]);
    let ok = v
        .verify_pairs_at(
            SW_BODY.as_bytes(),
            &sw_pairs(SW_ID, "1614265330", SW_SIG),
            SW_T,
        )
        .unwrap();
    assert_eq!(ok.id.as_deref(), Some(SW_ID));
    assert_eq!(ok.timestamp, Some(SW_T));
    // Last character changed (Python test_invalid_signature_raises_error).
    assert_eq!(
        v.verify_pairs_at(
            SW_BODY.as_bytes(),
            &sw_pairs(
                SW_ID,
                "1614265330",
                "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="
            ),
            SW_T
        ),
        Err(Error::SignatureMismatch)
    );
    // Among decoys (Go/JS/PHP/C#/Ruby, Python v2 decoy).
    let decoys = format!(
        "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= {SW_SIG}"
    );
    assert!(
        v.verify_pairs_at(
            SW_BODY.as_bytes(),
            &sw_pairs(SW_ID, "1614265330", &decoys),
            SW_T
        )
        .is_ok()
    );
    // Go: "v1," alone fails.
    assert_eq!(
        v.verify_pairs_at(
            SW_BODY.as_bytes(),
            &sw_pairs(SW_ID, "1614265330", "v1,"),
            SW_T
        ),
        Err(Error::SignatureMismatch)
    );
    // Timestamps: ±(300 + 1) s fail, ignoring time passes, a year-2000 timestamp never matches.
    let p = sw_pairs(SW_ID, "1614265330", SW_SIG);
    assert_eq!(
        v.verify_pairs_at(SW_BODY.as_bytes(), &p, SW_T + 301),
        Err(Error::TimestampTooOld)
    );
    assert_eq!(
        v.verify_pairs_at(SW_BODY.as_bytes(), &p, SW_T - 301),
        Err(Error::TimestampTooNew)
    );
    assert!(
        v.verify_pairs_at(SW_BODY.as_bytes(), &p, SW_T + 300)
            .is_ok()
    );
    assert!(v.verify_pairs_ignoring_time(SW_BODY.as_bytes(), &p).is_ok());
    assert_eq!(
        v.verify_pairs_ignoring_time(SW_BODY.as_bytes(), &sw_pairs(SW_ID, "946684800", SW_SIG)),
        Err(Error::SignatureMismatch)
    );
}

#[test]
fn standard_unpadded_secrets_and_bad_timestamps() {
    for key in [
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwBr",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwBr",
    ] {
        let padded = if key.ends_with("LaS") {
            format!("{key}=")
        } else {
            format!("{key}==")
        };
        let sig = Signer::new(&standard(), &secrets(&[&padded]))
            .unwrap()
            .sign(SW_ID, SW_T, SW_BODY.as_bytes())
            .unwrap()[2]
            .1
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            verifier(&standard(), &[key])
                .verify_pairs_at(
                    SW_BODY.as_bytes(),
                    &sw_pairs(SW_ID, "1614265330", &sig),
                    SW_T
                )
                .is_ok()
        );
    }
    let v = verifier(&standard(), &[SW_KEY]);
    for t in ["161426533.0", "invalid timestamp", ""] {
        assert!(matches!(
            v.verify_pairs_at(SW_BODY.as_bytes(), &sw_pairs(SW_ID, t, SW_SIG), SW_T),
            Err(Error::MalformedHeader(..))
        ));
    }
    let signer = Signer::new(&standard(), &secrets(&[SW_KEY])).unwrap();
    assert!(matches!(
        signer.sign(SW_ID, -161_426_533, SW_BODY.as_bytes()),
        Err(Error::InvalidInput(_))
    ));
    for empty in ["", "whsec_"] {
        assert!(matches!(
            Verifier::new(&standard(), &secrets(&[empty])),
            Err(Error::BadKey(_))
        ));
    }
}

const SVIX_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const SVIX_ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
const SVIX_T: i64 = 1_649_367_553;
const SVIX_BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
const SVIX_SIG: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

#[test]
fn svix_rust_vector() {
    let svix = Scheme::from_name("svix").unwrap();
    let headers = Signer::new(&svix, &secrets(&[SVIX_SECRET]))
        .unwrap()
        .sign(SVIX_ID, SVIX_T, SVIX_BODY)
        .unwrap();
    assert_eq!(headers[2].0.as_str(), "svix-signature");
    assert_eq!(headers[2].1.to_str().unwrap(), SVIX_SIG);
    let v = verifier(&standard(), &[SVIX_SECRET]);
    let svix_pairs = |sig: &'static str| {
        [
            ("Svix-Id", SVIX_ID),
            ("Svix-Timestamp", "1649367553"),
            ("Svix-Signature", sig),
        ]
    };
    assert!(
        v.verify_pairs_at(SVIX_BODY, &svix_pairs(SVIX_SIG), SVIX_T)
            .is_ok()
    );
    assert_eq!(
        v.verify_pairs_at(
            SVIX_BODY,
            &svix_pairs("v1,R3PTzyfHASBKHH98a7yexTwaJ4yNIcGhFQc1yuN+BPU="),
            SVIX_T
        ),
        Err(Error::SignatureMismatch)
    );
    let decoys = "v1,tFtCZ5RDCPxzWQRWXWPgrCgE2frDBe9gjpbWQxnVfsQ= v1,Mm7xgUVICxZfQ3bgf0h0Dof65L/IFx+PnZvnDWPCX6Q= v1,9DfC1c3eeOrXB6w/5dIDydLNQaEyww5KalE5jLBZucE=";
    assert_eq!(
        v.verify_pairs_at(SVIX_BODY, &svix_pairs(decoys), SVIX_T),
        Err(Error::SignatureMismatch)
    );
    let with_real = format!("{decoys} {SVIX_SIG}");
    assert!(
        v.verify_pairs_at(
            SVIX_BODY,
            &[
                ("svix-id", SVIX_ID),
                ("svix-timestamp", "1649367553"),
                ("svix-signature", &with_real)
            ],
            SVIX_T
        )
        .is_ok()
    );
    // Partial signatures.
    for partial in ["v1,", &SVIX_SIG[..8]] {
        assert_eq!(
            v.verify_pairs_at(
                SVIX_BODY,
                &[
                    ("svix-id", SVIX_ID),
                    ("svix-timestamp", "1649367553"),
                    ("svix-signature", partial)
                ],
                SVIX_T
            ),
            Err(Error::SignatureMismatch)
        );
    }
}

#[test]
fn svix_negative_timestamp_fails_verify_but_passes_ignoring_time() {
    use base64::Engine as _;
    use hmac::{KeyInit, Mac};
    let key = base64::engine::general_purpose::STANDARD
        .decode("C2FVsBQIhrscChlQIMV+b5sSYspob7oD")
        .unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{SVIX_ID}.-1.").as_bytes());
    mac.update(SVIX_BODY);
    let sig = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    let v = verifier(&standard(), &[SVIX_SECRET]);
    let p = [
        ("webhook-id", SVIX_ID),
        ("webhook-timestamp", "-1"),
        ("webhook-signature", sig.as_str()),
    ];
    assert_eq!(
        v.verify_pairs_at(SVIX_BODY, &p, SVIX_T),
        Err(Error::TimestampTooOld)
    );
    assert_eq!(
        v.verify_pairs_ignoring_time(SVIX_BODY, &p)
            .unwrap()
            .timestamp,
        Some(-1)
    );
}

#[cfg(feature = "ed25519")]
#[test]
fn standard_v1a_ed25519_vector() {
    let sk = "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg==";
    let pk = "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=";
    let expected = "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==";
    let scheme = Scheme::from_name("standard-v1a").unwrap();
    let headers = Signer::new(&scheme, &secrets(&[sk]))
        .unwrap()
        .sign(SW_ID, SW_T, SW_BODY.as_bytes())
        .unwrap();
    assert_eq!(headers[2].1.to_str().unwrap(), expected);
    assert_eq!(
        scheme
            .verification_secret(&Secret::new(sk))
            .unwrap()
            .expose_secret(),
        pk
    );
    for key in [pk, sk] {
        let ok = verifier(&scheme, &[SW_KEY, key])
            .verify_pairs_at(
                SW_BODY.as_bytes(),
                &sw_pairs(SW_ID, "1614265330", expected),
                SW_T,
            )
            .unwrap();
        assert_eq!(ok.key_index, 1);
    }
    // Mixed v1 + v1a signing emits both tokens; a v1a token never satisfies an HMAC key.
    let both = Signer::new(&scheme, &secrets(&[SW_KEY, sk]))
        .unwrap()
        .sign(SW_ID, SW_T, SW_BODY.as_bytes())
        .unwrap();
    assert_eq!(both[2].1.to_str().unwrap(), format!("{SW_SIG} {expected}"));
    assert_eq!(
        verifier(&scheme, &[SW_KEY]).verify_pairs_at(
            SW_BODY.as_bytes(),
            &sw_pairs(SW_ID, "1614265330", expected),
            SW_T
        ),
        Err(Error::SignatureMismatch)
    );
    // Tampered body.
    assert_eq!(
        verifier(&scheme, &[pk]).verify_pairs_at(
            br#"{"test": 2432232315}"#,
            &sw_pairs(SW_ID, "1614265330", expected),
            SW_T
        ),
        Err(Error::SignatureMismatch)
    );
    assert!(matches!(
        Signer::new(&scheme, &secrets(&[pk])),
        Err(Error::BadKey(_))
    ));
}

// ------------------------------------------------------------ Stripe and GitHub (C6, C7)

#[test]
fn stripe_vector() {
    let body = br#"{"id":"evt_test","object":"event"}"#;
    let expected =
        "t=1700000000,v1=8042376f6ca064adbe037642a718227dfd59047137eb49497a54c49eb0cfb724";
    assert_eq!(
        signed_value(
            &Scheme::Stripe,
            &["whsec_test_secret"],
            "",
            1_700_000_000,
            body
        ),
        expected
    );
    let v = verifier(&Scheme::Stripe, &["whsec_test_secret"]);
    let with_v0 = format!("{expected},v0=00");
    assert!(
        v.verify_pairs_at(body, &[("Stripe-Signature", &with_v0)], 1_700_000_000)
            .is_ok()
    );
    // v0 alone is not a signature for Stripe.
    assert!(matches!(
        v.verify_pairs_at(
            body,
            &[(
                "Stripe-Signature",
                "t=1700000000,v0=8042376f6ca064adbe037642a718227dfd59047137eb49497a54c49eb0cfb724"
            )],
            1_700_000_000
        ),
        Err(Error::MalformedHeader(..))
    ));
    // The base64-decoded key (Standard Webhooks style) does not verify.
    assert_eq!(
        verifier(&Scheme::Stripe, &["test_secret"]).verify_pairs_at(
            body,
            &[("Stripe-Signature", expected)],
            1_700_000_000
        ),
        Err(Error::SignatureMismatch)
    );
}

#[test]
fn github_vector() {
    let secret = "It's a Secret to Everybody";
    let value = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    assert_eq!(
        signed_value(&Scheme::GitHub, &[secret], "", 0, b"Hello, World!"),
        value
    );
    let v = verifier(&Scheme::GitHub, &[secret]);
    assert!(
        v.verify_pairs_at(b"Hello, World!", &[("X-Hub-Signature-256", value)], 0)
            .is_ok()
    );
    assert_eq!(
        v.verify_pairs_at(b"Hello, World?", &[("X-Hub-Signature-256", value)], 0),
        Err(Error::SignatureMismatch)
    );
    // GitHub requires the prefix.
    assert!(matches!(
        v.verify_pairs_at(b"Hello, World!", &[("X-Hub-Signature-256", &value[7..])], 0),
        Err(Error::MalformedHeader(..))
    ));
}

// ------------------------------------------------------ Convoy through the generic shapes (C4)

const CONVOY_SECRET: &str = "convoy-webhook-secret";
const CONVOY_BODY: &[u8] = br#"{"event":"charge.success","amount":1000,"currency":"NGN"}"#;

fn convoy_advanced() -> Scheme {
    Scheme::Timestamped(TimestampedFormat {
        header: "X-Convoy-Signature".into(),
        separator: ',',
        key: KeyEncoding::Utf8,
        signature_keys: SignatureKeys::V1,
    })
}

fn convoy_simple() -> Scheme {
    Scheme::BodyHex(BodyHexFormat {
        header: "X-Convoy-Signature".into(),
        prefix: String::new(),
        prefix_required: false,
        emit_prefix: false,
        key: KeyEncoding::Utf8,
    })
}

#[test]
fn convoy_vectors_through_generic_schemes() {
    let simple = convoy_simple();
    let good = "244449b7f48cbc2709060c9dcdc2b3aa47a78f540430579015c579fb12defbb4";
    assert_eq!(
        signed_value(&simple, &[CONVOY_SECRET], "", 0, CONVOY_BODY),
        good
    );
    let tamper = "244449b7f48cbc2709060c9dcdc2b3aa47a78f540430579015c579fb12defbb0";
    assert_eq!(
        verifier(&simple, &[CONVOY_SECRET]).verify_pairs_at(
            CONVOY_BODY,
            &[("x-convoy-signature", tamper)],
            0
        ),
        Err(Error::SignatureMismatch)
    );

    let adv = verifier(&convoy_advanced(), &[CONVOY_SECRET]).with_tolerance(Tolerance::symmetric(
        std::time::Duration::from_secs(3_153_600_000),
    ));
    let now = 1_800_000_000;
    let check =
        |v: &Verifier, h: &str| v.verify_pairs_at(CONVOY_BODY, &[("X-Convoy-Signature", h)], now);
    let valid = "t=1700000000,v1=77b8b9269f25a199846a55a2bd25b3fba151c70fdae60bb1dcd87fbbc943c55c";
    assert!(check(&adv, valid).is_ok());
    assert!(
        check(
            &adv,
            "v1=77b8b9269f25a199846a55a2bd25b3fba151c70fdae60bb1dcd87fbbc943c55c,t=1700000000"
        )
        .is_ok()
    );
    assert!(check(&adv, "t=1700000000,v1=449623e4897bbde05e35358293f97b8c2f697367ffa3e7466e98178dfba44d19,v1=77b8b9269f25a199846a55a2bd25b3fba151c70fdae60bb1dcd87fbbc943c55c").is_ok());
    assert!(
        check(
            &adv,
            "t=Infinity,v1=77b8b9269f25a199846a55a2bd25b3fba151c70fdae60bb1dcd87fbbc943c55c"
        )
        .is_err()
    );
    assert!(check(&adv, "t=1700000000,v1=1234567890").is_err());
    assert!(check(&adv, "v1=77b8b9269f25a199846a55a2bd25b3fba151c70fdae60bb1dcd87fbbc943c55c,v2=77b8b9269f25a199846a55a2bd25b3fba151c70fdae60bb1dcd87fbbc943c55c").is_err());
    // Expired with the default 300 s.
    let strict = verifier(&convoy_advanced(), &[CONVOY_SECRET]);
    assert_eq!(check(&strict, valid), Err(Error::TimestampTooOld));
    assert_eq!(
        signed_value(
            &convoy_advanced(),
            &[CONVOY_SECRET],
            "",
            1_700_000_000,
            CONVOY_BODY
        ),
        valid
    );
}

#[test]
fn convoy_base64_and_sha512_vectors_are_not_expressible() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let simple = convoy_simple();
    // simple_sha256_base64_valid: the same MAC as the hex vector, base64-encoded. The crate
    // signs and reads hex only, so the value it emits decodes to the vector's bytes...
    let hex_value = signed_value(&simple, &[CONVOY_SECRET], "", 0, CONVOY_BODY);
    let simple_b64 = "JERJt/SMvCcJBgydzcKzqkenj1QEMFeQFcV5+xLe+7Q=";
    assert_eq!(
        b64.decode(simple_b64).unwrap(),
        hex::decode(&hex_value).unwrap()
    );
    // ...but the base64 header itself is refused as malformed, never accepted.
    assert_eq!(
        verifier(&simple, &[CONVOY_SECRET]).verify_pairs_at(
            CONVOY_BODY,
            &[("X-Convoy-Signature", simple_b64)],
            0
        ),
        Err(Error::MalformedHeader(
            "x-convoy-signature".into(),
            "expected 64 hex digits"
        ))
    );
    // advanced_sha256_base64_valid: likewise the advanced hex MAC in base64.
    let adv_value = signed_value(
        &convoy_advanced(),
        &[CONVOY_SECRET],
        "",
        1_700_000_000,
        CONVOY_BODY,
    );
    let adv_hex = adv_value.strip_prefix("t=1700000000,v1=").unwrap();
    let adv_b64 = "t=1700000000,v1=d7i5Jp8loZmEalWivSWz+6FRxw/a5gux3Nh/u8lDxVw=";
    assert_eq!(
        b64.decode(adv_b64.strip_prefix("t=1700000000,v1=").unwrap())
            .unwrap(),
        hex::decode(adv_hex).unwrap()
    );
    assert_eq!(
        verifier(&convoy_advanced(), &[CONVOY_SECRET])
            .verify_pairs_ignoring_time(CONVOY_BODY, &[("X-Convoy-Signature", adv_b64)]),
        Err(Error::SignatureMismatch)
    );
    // simple_sha512_hex_valid: HMAC-SHA512 (128 hex digits) is not a supported MAC.
    let sha512 = "6cc772dc81942ae1b5ffa91c3a6a07b0d37edc8dc6bd83e3518a219f1f19ff71ae1b76d6b320940d414c236a1aad7f7930b63e0f1928951955d31219545e1b66";
    assert_eq!(
        verifier(&simple, &[CONVOY_SECRET]).verify_pairs_at(
            CONVOY_BODY,
            &[("X-Convoy-Signature", sha512)],
            0
        ),
        Err(Error::MalformedHeader(
            "x-convoy-signature".into(),
            "expected 64 hex digits"
        ))
    );
}

// ------------------------------------------------------- Hook0 v0 through the generic shape (C5)

/// Hook0 `v0`: `t=<unix>,v0=<hex>` over `"{t}." + body`, raw secret. `v0` is read by the
/// `ContainsV` rule; a signer writes the same MAC as `v1=`.
fn hook0_v0() -> Scheme {
    Scheme::Timestamped(TimestampedFormat {
        header: "X-Hook0-Signature".into(),
        separator: '.',
        key: KeyEncoding::Utf8,
        signature_keys: SignatureKeys::ContainsV,
    })
}

#[test]
fn hook0_work_rs_v0_vector() {
    let t = 1_636_936_200;
    let header = "t=1636936200,v0=1b3d69df55f1e52f05224ba94a5162abeb17ef52cd7f4948c390f810d6a87e98";
    let v = verifier(&hook0_v0(), &["secret"]);
    let ok = v
        .verify_pairs_at(b"hello !", &[("X-Hook0-Signature", header)], t)
        .unwrap();
    assert_eq!((ok.timestamp, ok.key_index), (Some(t), 0));
    assert_eq!(
        signed_value(&hook0_v0(), &["secret"], "", t, b"hello !"),
        header.replace("v0=", "v1=")
    );
    assert_eq!(
        v.verify_pairs_at(b"hello!", &[("X-Hook0-Signature", header)], t),
        Err(Error::SignatureMismatch)
    );
    assert_eq!(
        verifier(&hook0_v0(), &["Secret"]).verify_pairs_at(
            b"hello !",
            &[("X-Hook0-Signature", header)],
            t
        ),
        Err(Error::SignatureMismatch)
    );
}

#[test]
fn hook0_conformance_v0_vectors() {
    const SECRET: &str = "a-subscription-secret";
    const BODY: &[u8] = br#"{"event":"user.created"}"#;
    const NOW: i64 = 1_800_000_000;
    const ACCEPTED: &str =
        "t=1800000000,v0=d17d66b66fca89390c5b967c45e8928fc732db07a0aabe8167b1e98213081ffe";
    let v = verifier(&hook0_v0(), &[SECRET]);
    let check = |h: &str| v.verify_pairs_at(BODY, &[("x-hook0-signature", h)], NOW);
    assert_eq!(check(ACCEPTED).unwrap().timestamp, Some(NOW));
    // Edge inclusive: exactly 300 s old.
    assert_eq!(
        check("t=1799999700,v0=f9689580483e051113d28de23c1658c509da2b00e7bc15a5aaa83b8bdf83ff81")
            .unwrap()
            .timestamp,
        Some(1_799_999_700)
    );
    // outside_tolerance, both directions (the MACs are valid: ignoring time accepts them).
    let old = "t=1799999699,v0=4168cc6c683357e103055b48584715f12e2baa4e679b8e076254247f11edf34d";
    let new = "t=1800000301,v0=ba4b79e449ae52edb505b6baa07380be2baa6e0c4c6fec3b9a01c85d47a4935f";
    assert_eq!(check(old), Err(Error::TimestampTooOld));
    assert_eq!(check(new), Err(Error::TimestampTooNew));
    for h in [old, new] {
        assert!(
            v.verify_pairs_ignoring_time(BODY, &[("x-hook0-signature", h)])
                .is_ok()
        );
    }
    // code_not_hexadecimal: last digit made non-hex, or dropped (odd length).
    for bad in [
        ACCEPTED.replace("81ffe", "81ffz"),
        ACCEPTED[..ACCEPTED.len() - 1].to_owned(),
    ] {
        assert_eq!(check(&bad), Err(Error::SignatureMismatch), "{bad}");
    }
    assert_eq!(
        signed_value(&hook0_v0(), &[SECRET], "", NOW, BODY),
        ACCEPTED.replace("v0=", "v1=")
    );
}

/// Every scheme has a constructor equal to its name's scheme, and what a signer writes feeds
/// the verifier directly.
#[test]
fn constructors_and_sign_header_map_feed_verify() {
    let cases = [
        ("zerotier", Scheme::zerotier(), "ab".repeat(32)),
        ("zta", Scheme::zta(), "whsec_zta".to_owned()),
        (
            "hub-message",
            Scheme::hub_message(hookwire_signature::hub_message::DEFAULT_HEADER),
            "cd".repeat(32),
        ),
        ("zitadel", Scheme::zitadel(), "signing-key".to_owned()),
        (
            "standard",
            Scheme::standard(),
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned(),
        ),
        (
            "svix",
            Scheme::svix(),
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned(),
        ),
        ("stripe", Scheme::stripe(), "whsec_stripe".to_owned()),
        ("github", Scheme::github(), "gh-secret".to_owned()),
    ];
    let body = br#"{"hello":"world"}"#;
    for (name, scheme, secret) in cases {
        assert_eq!(Scheme::from_name(name).unwrap(), scheme, "{name}");
        let secrets = [Secret::new(secret)];
        let headers = Signer::new(&scheme, &secrets)
            .unwrap()
            .sign_header_map("msg_1", 1_700_000_000, body)
            .unwrap();
        let verifier = Verifier::new(&scheme, &secrets).unwrap();
        verifier
            .verify_at(body, &headers, 1_700_000_000)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            verifier
                .verify_at(b"{\"hello\":\"world!\"}", &headers, 1_700_000_000)
                .is_err(),
            "{name}: a changed body must fail"
        );
    }
    assert_eq!(Scheme::from_name("zentitle").unwrap(), Scheme::zentitle());
    assert_eq!(
        Scheme::from_name("standard-v1a").unwrap(),
        Scheme::standard_ed25519()
    );
}

/// Signing with two secrets (rotation): every signature survives in the map, so a verifier
/// holding only the second secret accepts it, whether the scheme puts both in one header
/// value (ZeroTier) or writes one header per secret (GitHub).
#[test]
fn sign_header_map_keeps_every_signature() {
    for scheme in [Scheme::zerotier(), Scheme::github()] {
        let (a, b) = (Secret::new("ab".repeat(32)), Secret::new("cd".repeat(32)));
        let map = Signer::new(&scheme, &[a, b.clone()])
            .unwrap()
            .sign_header_map("", 1_700_000_000, b"x")
            .unwrap();
        let verifier = Verifier::new(&scheme, &[b]).unwrap();
        assert!(
            verifier.verify_at(b"x", &map, 1_700_000_000).is_ok(),
            "{scheme:?}: {map:?}"
        );
    }
}
