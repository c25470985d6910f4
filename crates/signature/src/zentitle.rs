//! Zentitle2 (Nalpeiron): `N-Signature`, standard base64 RSASSA-PKCS1-v1_5 / SHA-256 over the
//! raw body.
//!
//! Verifying keys are accepted in the vendor's form (the account's base64url "RSA Modulus",
//! exponent `AQAB`), as SPKI or PKCS#1 PEM, or as base64 of SPKI/PKCS#1 DER
//! ([`PublicKey::from_der`] takes raw DER). Signing keys are PKCS#8 or PKCS#1, PEM
//! ([`PrivateKey::from_pem`]) or DER ([`PrivateKey::from_der`]).
//!
//! # Which code does what
//! Signing and verification run on [`ring`](https://docs.rs/ring): constant-time modular
//! arithmetic in assembly, and blinded private-key operations. The `rsa` crate only reads and
//! writes the public-key formats ring does not read (SPKI and PKCS#1 public keys, PEM, the
//! vendor's bare modulus), wraps a PKCS#1 private key into PKCS#8, and generates new keys
//! ([`PrivateKey::generate`]). No private-key arithmetic of `rsa` runs when signing, so its
//! Marvin timing side channel (RUSTSEC-2023-0071) does not reach signatures.
//!
//! Keys are parsed once (when a [`Signer`](crate::Signer) or [`Verifier`](crate::Verifier) is
//! built, or by the constructors here) and reused for every call.

use std::sync::Arc;

use base64::Engine as _;
use http::{HeaderName, HeaderValue};
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair};
use rsa::pkcs1::{DecodeRsaPublicKey, EncodeRsaPublicKey};
use rsa::pkcs8::der::pem;
use rsa::pkcs8::{DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPublicKey};
use zeroize::Zeroizing;

use crate::Verified;
use crate::error::{Error, Result};
use crate::headers::Headers;
use crate::secret::Secret;

/// `N-Signature`.
pub const HEADER: HeaderName = HeaderName::from_static("n-signature");

/// Smallest modulus accepted, in bits (Zentitle uses 2048).
pub const MIN_BITS: usize = 2048;

const TOO_SHORT: Error = Error::BadKey("RSA modulus shorter than 2048 bits");

/// An RSA public key for verifying `N-Signature`.
///
/// Holds the modulus and exponent as big-endian bytes, checked once; [`verify`](Self::verify)
/// hands them to ring without parsing anything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    n: Box<[u8]>,
    e: Box<[u8]>,
}

impl PublicKey {
    fn from_rsa(key: &RsaPublicKey) -> Result<Self> {
        if key.n().bits() < MIN_BITS {
            return Err(TOO_SHORT);
        }
        // ring takes exponents from 3 up, odd; `rsa` would also take an even one.
        let e = key.e().to_bytes_be();
        if e.last().is_none_or(|b| b & 1 == 0) || e == [1] {
            return Err(Error::BadKey(
                "RSA public exponent must be odd and at least 3",
            ));
        }
        Ok(Self {
            n: key.n().to_bytes_be().into_boxed_slice(),
            e: e.into_boxed_slice(),
        })
    }

    fn to_rsa(&self) -> Result<RsaPublicKey> {
        RsaPublicKey::new(
            BigUint::from_bytes_be(&self.n),
            BigUint::from_bytes_be(&self.e),
        )
        .map_err(|_| Error::Crypto)
    }

    /// From the vendor's base64url modulus (padding optional) with exponent 65537.
    ///
    /// # Errors
    /// [`Error::BadKey`].
    pub fn from_modulus(modulus_b64url: &str) -> Result<Self> {
        let n = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(modulus_b64url.trim().trim_end_matches('='))
            .map_err(|_| Error::BadKey("modulus is not base64url"))?;
        let key = RsaPublicKey::new(BigUint::from_bytes_be(&n), BigUint::from(65_537u32))
            .map_err(|_| Error::BadKey("invalid RSA public key"))?;
        Self::from_rsa(&key)
    }

    /// From SPKI or PKCS#1 DER.
    ///
    /// # Errors
    /// [`Error::BadKey`].
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let key = RsaPublicKey::from_public_key_der(der)
            .or_else(|_| RsaPublicKey::from_pkcs1_der(der))
            .map_err(|_| Error::BadKey("not an RSA public key in SPKI or PKCS#1 DER"))?;
        Self::from_rsa(&key)
    }

    /// From any accepted text form: PEM (`PUBLIC KEY` or `RSA PUBLIC KEY`), base64 DER, or the
    /// vendor's base64url modulus.
    ///
    /// # Errors
    /// [`Error::BadKey`] (also for a private key: verifiers take the public key).
    pub fn from_text(text: &str) -> Result<Self> {
        let text = text.trim();
        if text.starts_with("-----BEGIN") {
            if text.contains("PRIVATE KEY") {
                return Err(Error::BadKey(
                    "a private key was given to a verifier; pass the public key",
                ));
            }
            let key = RsaPublicKey::from_public_key_pem(text)
                .or_else(|_| RsaPublicKey::from_pkcs1_pem(text))
                .map_err(|_| Error::BadKey("not an RSA public key PEM"))?;
            return Self::from_rsa(&key);
        }
        // Base64 DER starts with `MII` (a DER SEQUENCE); a modulus almost never encodes so.
        if text.starts_with("MI")
            && let Ok(der) = crate::mac::B64_LENIENT.decode(text)
            && let Ok(key) = Self::from_der(&der)
        {
            return Ok(key);
        }
        Self::from_modulus(text)
    }

    /// The key as SPKI PEM.
    ///
    /// # Errors
    /// [`Error::Crypto`] if encoding fails.
    pub fn to_pem(&self) -> Result<String> {
        self.to_rsa()?
            .to_public_key_pem(LineEnding::LF)
            .map_err(|_| Error::Crypto)
    }

    /// The key as PKCS#1 `RSAPublicKey` DER (the form ring and OpenSSL's `-RSAPublicKey_out`
    /// use).
    ///
    /// # Errors
    /// [`Error::Crypto`] if encoding fails.
    pub fn to_pkcs1_der(&self) -> Result<Vec<u8>> {
        Ok(self
            .to_rsa()?
            .to_pkcs1_der()
            .map_err(|_| Error::Crypto)?
            .into_vec())
    }

    /// The modulus, big-endian, without leading zeros.
    pub fn modulus(&self) -> &[u8] {
        &self.n
    }

    /// Checks a raw (decoded) signature over `body`.
    ///
    /// # Errors
    /// [`Error::SignatureMismatch`].
    pub fn verify(&self, body: &[u8], signature: &[u8]) -> Result<()> {
        ring::signature::RsaPublicKeyComponents {
            n: &*self.n,
            e: &*self.e,
        }
        .verify(&RSA_PKCS1_2048_8192_SHA256, body, signature)
        .map_err(|_| Error::SignatureMismatch)
    }
}

/// An RSA private key for signing, on ring (constant-time, blinded).
///
/// Cloning is cheap (the parsed key is shared). `Debug` prints `PrivateKey([REDACTED])`.
#[derive(Clone)]
pub struct PrivateKey {
    pair: Arc<RsaKeyPair>,
    /// The key as PKCS#8 DER, for [`to_pkcs8_pem`](Self::to_pkcs8_pem); zeroized on drop.
    pkcs8: Arc<Zeroizing<Vec<u8>>>,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey([REDACTED])")
    }
}

const NOT_A_PRIVATE_KEY: Error = Error::BadKey("not an RSA private key in PKCS#8 or PKCS#1");

impl PrivateKey {
    fn from_pkcs8(pkcs8: Zeroizing<Vec<u8>>) -> Result<Self> {
        let pair = RsaKeyPair::from_pkcs8(&pkcs8).map_err(|_| NOT_A_PRIVATE_KEY)?;
        if pair.public().modulus_len() * 8 < MIN_BITS {
            return Err(TOO_SHORT);
        }
        Ok(Self {
            pair: Arc::new(pair),
            pkcs8: Arc::new(pkcs8),
        })
    }

    /// PKCS#1 `RSAPrivateKey` DER, wrapped into PKCS#8 (no key arithmetic, only DER framing).
    fn from_pkcs1(pkcs1: &[u8]) -> Result<Self> {
        let info = rsa::pkcs8::PrivateKeyInfo::new(rsa::pkcs1::ALGORITHM_ID, pkcs1);
        let doc = rsa::pkcs8::SecretDocument::try_from(info).map_err(|_| NOT_A_PRIVATE_KEY)?;
        Self::from_pkcs8(Zeroizing::new(doc.as_bytes().to_vec()))
    }

    /// From PKCS#8 (`PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`) PEM.
    ///
    /// # Errors
    /// [`Error::BadKey`].
    pub fn from_pem(pem_text: &str) -> Result<Self> {
        let (label, der) = pem::decode_vec(pem_text.trim().as_bytes())
            .map_err(|_| Error::BadKey("not an RSA private key in PKCS#8 or PKCS#1 PEM"))?;
        let der = Zeroizing::new(der);
        match label {
            "PRIVATE KEY" => Self::from_pkcs8(der),
            "RSA PRIVATE KEY" => Self::from_pkcs1(&der),
            _ => Err(Error::BadKey(
                "not an RSA private key in PKCS#8 or PKCS#1 PEM",
            )),
        }
    }

    /// From PKCS#8 or PKCS#1 DER.
    ///
    /// # Errors
    /// [`Error::BadKey`].
    pub fn from_der(der: &[u8]) -> Result<Self> {
        match Self::from_pkcs8(Zeroizing::new(der.to_vec())) {
            Err(e) if e == NOT_A_PRIVATE_KEY => Self::from_pkcs1(der),
            other => other,
        }
    }

    /// A new 2048-bit key from the OS CSPRNG (generated by the `rsa` crate, then loaded into
    /// ring; key generation runs once, locally, and is not exposed to the network).
    ///
    /// # Errors
    /// [`Error::Crypto`].
    pub fn generate() -> Result<Self> {
        let key =
            rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).map_err(|_| Error::Crypto)?;
        let doc = key.to_pkcs8_der().map_err(|_| Error::Crypto)?;
        Self::from_pkcs8(Zeroizing::new(doc.as_bytes().to_vec()))
    }

    /// The key as PKCS#8 PEM.
    ///
    /// # Errors
    /// [`Error::Crypto`].
    pub fn to_pkcs8_pem(&self) -> Result<Secret> {
        let pem = pem::encode_string("PRIVATE KEY", pem::LineEnding::LF, &self.pkcs8)
            .map_err(|_| Error::Crypto)?;
        Ok(Secret::new(pem))
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        let c: ring::rsa::PublicKeyComponents<Vec<u8>> = self.pair.public().into();
        PublicKey {
            n: c.n.into_boxed_slice(),
            e: c.e.into_boxed_slice(),
        }
    }

    /// The raw signature over `body` (ring: constant-time, blinded with fresh randomness from
    /// the OS for every signature).
    ///
    /// # Errors
    /// [`Error::Crypto`].
    pub fn sign(&self, body: &[u8]) -> Result<Vec<u8>> {
        let mut sig = vec![0u8; self.pair.public().modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), body, &mut sig)
            .map_err(|_| Error::Crypto)?;
        Ok(sig)
    }

    /// The `N-Signature` value: standard base64 of [`sign`](Self::sign).
    ///
    /// # Errors
    /// [`Error::Crypto`].
    pub fn sign_header(&self, body: &[u8]) -> Result<HeaderValue> {
        let b64 = base64::engine::general_purpose::STANDARD.encode(self.sign(body)?);
        let mut v = HeaderValue::try_from(b64).map_err(|_| Error::Crypto)?;
        v.set_sensitive(true);
        Ok(v)
    }
}

/// Verifies every `N-Signature` value against every key.
pub(crate) fn verify_headers(
    keys: &[PublicKey],
    body: &[u8],
    headers: Headers<'_>,
) -> Result<Verified> {
    let mut sigs = Vec::new();
    let mut seen = false;
    headers.find_map(&HEADER, |v| {
        seen = true;
        if let Ok(sig) = base64::engine::general_purpose::STANDARD
            .decode(v)
            .or_else(|_| crate::mac::B64_LENIENT.decode(v))
        {
            sigs.push(sig);
        }
        None::<()>
    });
    if !seen {
        return Err(Error::MissingHeader(HEADER.as_str().to_owned()));
    }
    if sigs.is_empty() {
        return Err(Error::MalformedHeader(
            HEADER.as_str().to_owned(),
            "not base64",
        ));
    }
    for (index, key) in keys.iter().enumerate() {
        if sigs.iter().any(|s| key.verify(body, s).is_ok()) {
            return Ok(Verified {
                id: None,
                timestamp: None,
                key_index: index,
            });
        }
    }
    Err(Error::SignatureMismatch)
}

/// A fresh PKCS#8 PEM private key.
pub(crate) fn generate() -> Result<Secret> {
    PrivateKey::generate()?.to_pkcs8_pem()
}

/// SPKI PEM of the public half of a private-key secret; a public key is returned as is.
pub(crate) fn public_secret(secret: &Secret) -> Result<Secret> {
    if secret.expose_secret().contains("PRIVATE KEY") {
        Ok(Secret::new(
            PrivateKey::from_pem(secret.expose_secret())?
                .public_key()
                .to_pem()?,
        ))
    } else {
        PublicKey::from_text(secret.expose_secret())?;
        Ok(secret.clone())
    }
}
