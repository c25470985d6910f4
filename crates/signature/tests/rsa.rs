//! Zentitle RSA on ring: OpenSSL-made signatures verify and are reproduced for every key form
//! (`tests/data/openssl`, made once by its `generate.sh`), and ring agrees with the `rsa`
//! crate's PKCS#1 v1.5 on random keys and bodies.
#![cfg(feature = "rsa")]
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns; a failed unwrap is a test failure

use std::sync::OnceLock;

use base64::Engine as _;
use hookwire_signature::zentitle::{PrivateKey, PublicKey};
use hookwire_signature::{Error, Scheme, Secret, Signer, Verifier};
use proptest::prelude::*;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/openssl/");
const SIZES: [&str; 2] = ["rsa2048", "rsa4096"];
const BODIES: [&str; 2] = ["body.json", "empty.txt"];

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(format!("{DATA}{name}")).unwrap()
}

fn text(name: &str) -> String {
    String::from_utf8(bytes(name)).unwrap()
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// The OpenSSL signature over `body` with key `k`, base64 as on the wire.
fn openssl_sig(k: &str, body: &str) -> String {
    text(&format!("{k}.{body}.sig.b64")).trim().to_owned()
}

/// Every public form of key `k`, each parsed by the typed API.
fn public_forms(k: &str) -> Vec<(&'static str, PublicKey)> {
    let der_b64 = |name: &str| b64().encode(bytes(name));
    vec![
        (
            "spki pem",
            PublicKey::from_text(&text(&format!("{k}.spki.pem"))).unwrap(),
        ),
        (
            "pkcs1 pem",
            PublicKey::from_text(&text(&format!("{k}.pub.pkcs1.pem"))).unwrap(),
        ),
        (
            "spki der",
            PublicKey::from_der(&bytes(&format!("{k}.spki.der"))).unwrap(),
        ),
        (
            "pkcs1 der",
            PublicKey::from_der(&bytes(&format!("{k}.pub.pkcs1.der"))).unwrap(),
        ),
        (
            "spki der base64",
            PublicKey::from_text(&der_b64(&format!("{k}.spki.der"))).unwrap(),
        ),
        (
            "pkcs1 der base64",
            PublicKey::from_text(&der_b64(&format!("{k}.pub.pkcs1.der"))).unwrap(),
        ),
        (
            "vendor modulus",
            PublicKey::from_modulus(&text(&format!("{k}.modulus.b64url"))).unwrap(),
        ),
    ]
}

/// Every private form of key `k`.
fn private_forms(k: &str) -> Vec<(&'static str, PrivateKey)> {
    vec![
        (
            "pkcs8 pem",
            PrivateKey::from_pem(&text(&format!("{k}.pkcs8.pem"))).unwrap(),
        ),
        (
            "pkcs1 pem",
            PrivateKey::from_pem(&text(&format!("{k}.pkcs1.pem"))).unwrap(),
        ),
        (
            "pkcs8 der",
            PrivateKey::from_der(&bytes(&format!("{k}.pkcs8.der"))).unwrap(),
        ),
        (
            "pkcs1 der",
            PrivateKey::from_der(&bytes(&format!("{k}.pkcs1.der"))).unwrap(),
        ),
    ]
}

#[test]
fn every_public_form_verifies_openssl_signatures() {
    for k in SIZES {
        let forms = public_forms(k);
        // All forms are the same key.
        for (name, key) in &forms {
            assert_eq!(key, &forms[0].1, "{k} {name}");
        }
        for body in BODIES {
            let sig = b64().decode(openssl_sig(k, body)).unwrap();
            let data = bytes(body);
            for (name, key) in &forms {
                assert_eq!(key.verify(&data, &sig), Ok(()), "{k} {name} {body}");
                let mut tampered = data.clone();
                tampered.push(b' ');
                assert_eq!(
                    key.verify(&tampered, &sig),
                    Err(Error::SignatureMismatch),
                    "{k} {name} {body}"
                );
                let mut bad_sig = sig.clone();
                bad_sig[sig.len() / 2] ^= 0x10;
                assert_eq!(key.verify(&data, &bad_sig), Err(Error::SignatureMismatch));
                assert_eq!(
                    key.verify(&data, &sig[..sig.len() - 1]),
                    Err(Error::SignatureMismatch)
                );
            }
        }
    }
}

#[test]
fn verifier_takes_every_text_form() {
    for k in SIZES {
        let forms = [
            text(&format!("{k}.spki.pem")),
            text(&format!("{k}.pub.pkcs1.pem")),
            b64().encode(bytes(&format!("{k}.spki.der"))),
            b64().encode(bytes(&format!("{k}.pub.pkcs1.der"))),
            text(&format!("{k}.modulus.b64url")),
        ];
        let body = bytes("body.json");
        let sig = openssl_sig(k, "body.json");
        for form in forms {
            let v = Verifier::new(&Scheme::Zentitle, &[Secret::new(form)]).unwrap();
            let ok = v
                .verify_pairs_at(&body, &[("N-Signature", &sig)], 0)
                .unwrap();
            assert_eq!(ok.key_index, 0);
            assert_eq!(
                v.verify_pairs_at(b"{}", &[("N-Signature", &sig)], 0),
                Err(Error::SignatureMismatch)
            );
        }
    }
}

#[test]
fn every_private_form_reproduces_openssl_signatures() {
    for k in SIZES {
        let spki = PublicKey::from_text(&text(&format!("{k}.spki.pem"))).unwrap();
        for (name, key) in private_forms(k) {
            assert_eq!(key.public_key(), spki, "{k} {name}");
            for body in BODIES {
                // PKCS#1 v1.5 is deterministic: ring's blinded signature is OpenSSL's.
                let sig = key.sign(&bytes(body)).unwrap();
                assert_eq!(
                    b64().encode(&sig),
                    openssl_sig(k, body),
                    "{k} {name} {body}"
                );
                assert_eq!(
                    key.sign_header(&bytes(body)).unwrap(),
                    openssl_sig(k, body).as_str()
                );
            }
            // The PKCS#8 export reads back as the same key.
            let again = PrivateKey::from_pem(key.to_pkcs8_pem().unwrap().expose_secret()).unwrap();
            assert_eq!(again.public_key(), spki);
            assert_eq!(
                again.to_pkcs8_pem().unwrap().expose_secret(),
                text(&format!("{k}.pkcs8.pem"))
            );
        }
        // Through the Signer, with the PEM forms as secrets.
        for pem in [format!("{k}.pkcs8.pem"), format!("{k}.pkcs1.pem")] {
            let signer = Signer::new(&Scheme::Zentitle, &[Secret::new(text(&pem))]).unwrap();
            let headers = signer.sign("", 0, &bytes("body.json")).unwrap();
            assert_eq!(headers.len(), 1);
            assert_eq!(headers[0].0.as_str(), "n-signature");
            assert!(headers[0].1.is_sensitive());
            assert_eq!(headers[0].1, openssl_sig(k, "body.json").as_str());
        }
    }
}

#[test]
fn wrong_forms_are_bad_keys() {
    let k = "rsa2048";
    // Public keys are not private keys, and the other way round.
    assert!(matches!(
        PrivateKey::from_der(&bytes(&format!("{k}.spki.der"))),
        Err(Error::BadKey(_))
    ));
    assert!(matches!(
        PrivateKey::from_pem(&text(&format!("{k}.spki.pem"))),
        Err(Error::BadKey(_))
    ));
    assert!(matches!(
        PublicKey::from_der(&bytes(&format!("{k}.pkcs8.der"))),
        Err(Error::BadKey(_))
    ));
    assert!(matches!(
        PublicKey::from_text(&text(&format!("{k}.pkcs1.pem"))),
        Err(Error::BadKey(_))
    ));
    // Truncated and garbage DER, a PEM with a damaged body.
    let der = bytes(&format!("{k}.pkcs8.der"));
    assert!(matches!(
        PrivateKey::from_der(&der[..der.len() - 1]),
        Err(Error::BadKey(_))
    ));
    assert!(matches!(
        PrivateKey::from_der(b"\x30\x00"),
        Err(Error::BadKey(_))
    ));
    let pem = text(&format!("{k}.pkcs1.pem")).replacen("MII", "MIJ", 1);
    assert!(matches!(PrivateKey::from_pem(&pem), Err(Error::BadKey(_))));
    // A modulus below 2048 bits (the first 1024 bits of the 2048-bit one, made odd).
    let n = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text(&format!("{k}.modulus.b64url")))
        .unwrap();
    let mut short = n[..128].to_vec();
    short[127] |= 1;
    let short = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(short);
    assert_eq!(
        PublicKey::from_modulus(&short),
        Err(Error::BadKey("RSA modulus shorter than 2048 bits"))
    );
}

// ----------------------------------------------------- ring against the `rsa` crate

/// A few random 2048-bit keys from the `rsa` crate (made once per test run), plus OpenSSL's.
fn keys() -> &'static [rsa::RsaPrivateKey] {
    static KEYS: OnceLock<Vec<rsa::RsaPrivateKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        use rsa::pkcs8::DecodePrivateKey as _;
        let mut keys: Vec<_> = (0..3)
            .map(|_| rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap())
            .collect();
        keys.push(rsa::RsaPrivateKey::from_pkcs8_pem(&text("rsa2048.pkcs8.pem")).unwrap());
        keys
    })
}

fn ours(key: &rsa::RsaPrivateKey) -> (PrivateKey, PublicKey) {
    use rsa::pkcs1::EncodeRsaPrivateKey as _;
    use rsa::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _, LineEnding};
    let pkcs8 = key.to_pkcs8_pem(LineEnding::LF).unwrap();
    let pkcs1 = key.to_pkcs1_der().unwrap();
    let private = PrivateKey::from_pem(&pkcs8).unwrap();
    assert_eq!(
        PrivateKey::from_der(pkcs1.as_bytes()).unwrap().public_key(),
        private.public_key()
    );
    let spki = key
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    (private, PublicKey::from_text(&spki).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// The same signature from ring and from `rsa` (PKCS#1 v1.5 is deterministic), and each
    /// side accepts the other's; one flipped bit is refused by both.
    #[test]
    fn ring_and_rsa_crate_agree(
        which in 0usize..4,
        body in proptest::collection::vec(any::<u8>(), 0..2048),
        bit in 0usize..2048,
    ) {
        use rsa::signature::{SignatureEncoding as _, Signer as _, Verifier as _};
        let key = &keys()[which];
        let (private, public) = ours(key);
        let theirs = rsa::pkcs1v15::SigningKey::<rsa::sha2::Sha256>::new(key.clone());
        let their_sig = theirs.sign(&body).to_vec();
        let our_sig = private.sign(&body).unwrap();
        prop_assert_eq!(&our_sig, &their_sig);
        prop_assert_eq!(public.verify(&body, &their_sig), Ok(()));
        let their_verifier = rsa::pkcs1v15::VerifyingKey::<rsa::sha2::Sha256>::new(key.to_public_key());
        let parsed = rsa::pkcs1v15::Signature::try_from(our_sig.as_slice()).unwrap();
        prop_assert!(their_verifier.verify(&body, &parsed).is_ok());

        let mut flipped = our_sig.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        prop_assert_eq!(public.verify(&body, &flipped), Err(Error::SignatureMismatch));
        let refused = rsa::pkcs1v15::Signature::try_from(flipped.as_slice())
            .map(|s| their_verifier.verify(&body, &s).is_err())
            .unwrap_or(true);
        prop_assert!(refused);
    }
}
