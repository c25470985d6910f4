//! Zentitle2 (Nalpeiron): `N-Signature`, standard base64 RSASSA-PKCS1-v1_5 / SHA-256 over the
//! raw body.
//!
//! Verifying keys are accepted in the vendor's form (the account's base64url "RSA Modulus",
//! exponent `AQAB`), as SPKI or PKCS#1 PEM, or as base64 of SPKI/PKCS#1 DER
//! ([`PublicKey::from_der`] takes raw DER). Signing keys are PKCS#8 or PKCS#1 PEM.
//!
//! # Security: RUSTSEC-2023-0071
//! The `rsa` crate's private-key operations are exposed to the "Marvin" timing side channel
//! (RUSTSEC-2023-0071; no fixed release exists). **Verification is not affected**: it uses only
//! the public key, so receivers are safe. Signing ([`Signer`](crate::Signer) with
//! [`Scheme::Zentitle`](crate::Scheme::Zentitle)) is a private-key operation; it uses blinding
//! (a random blinding factor per signature), and is meant for senders and tests. Do not sign on
//! a machine where an attacker can measure the timing of many signatures made with a valuable
//! key.

use base64::Engine as _;
use http::{HeaderName, HeaderValue};
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs1v15;
use rsa::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use rsa::sha2::Sha256;
use rsa::signature::{RandomizedSigner, SignatureEncoding, Verifier as _};
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPrivateKey, RsaPublicKey};

use crate::Verified;
use crate::error::{Error, Result};
use crate::headers::Headers;
use crate::secret::Secret;

/// `N-Signature`.
pub const HEADER: HeaderName = HeaderName::from_static("n-signature");

/// Smallest modulus accepted, in bits (Zentitle uses 2048).
pub const MIN_BITS: usize = 2048;

/// An RSA public key for verifying `N-Signature`.
#[derive(Clone, Debug)]
pub struct PublicKey(pkcs1v15::VerifyingKey<Sha256>);

fn checked(key: RsaPublicKey) -> Result<PublicKey> {
    if key.n().bits() < MIN_BITS {
        return Err(Error::BadKey("RSA modulus shorter than 2048 bits"));
    }
    Ok(PublicKey(pkcs1v15::VerifyingKey::new(key)))
}

impl PublicKey {
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
        checked(key)
    }

    /// From SPKI or PKCS#1 DER.
    ///
    /// # Errors
    /// [`Error::BadKey`].
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let key = RsaPublicKey::from_public_key_der(der)
            .or_else(|_| RsaPublicKey::from_pkcs1_der(der))
            .map_err(|_| Error::BadKey("not an RSA public key in SPKI or PKCS#1 DER"))?;
        checked(key)
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
            return checked(key);
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
        self.0
            .as_ref()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|_| Error::Crypto)
    }

    /// Checks a raw (decoded) signature over `body`.
    ///
    /// # Errors
    /// [`Error::SignatureMismatch`].
    pub fn verify(&self, body: &[u8], signature: &[u8]) -> Result<()> {
        let sig = pkcs1v15::Signature::try_from(signature).map_err(|_| Error::SignatureMismatch)?;
        self.0
            .verify(body, &sig)
            .map_err(|_| Error::SignatureMismatch)
    }
}

/// An RSA private key for signing (blinded; see the module's security note).
#[derive(Clone)]
pub struct PrivateKey(pkcs1v15::SigningKey<Sha256>);

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey([REDACTED])")
    }
}

impl PrivateKey {
    /// From PKCS#8 (`PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`) PEM.
    ///
    /// # Errors
    /// [`Error::BadKey`].
    pub fn from_pem(pem: &str) -> Result<Self> {
        let pem = pem.trim();
        let key = RsaPrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
            .map_err(|_| Error::BadKey("not an RSA private key in PKCS#8 or PKCS#1 PEM"))?;
        if key.n().bits() < MIN_BITS {
            return Err(Error::BadKey("RSA modulus shorter than 2048 bits"));
        }
        Ok(Self(pkcs1v15::SigningKey::new(key)))
    }

    /// A new 2048-bit key from the OS CSPRNG.
    ///
    /// # Errors
    /// [`Error::Crypto`].
    pub fn generate() -> Result<Self> {
        let key =
            RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).map_err(|_| Error::Crypto)?;
        Ok(Self(pkcs1v15::SigningKey::new(key)))
    }

    /// The key as PKCS#8 PEM.
    ///
    /// # Errors
    /// [`Error::Crypto`].
    pub fn to_pkcs8_pem(&self) -> Result<Secret> {
        let pem = self
            .0
            .as_ref()
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|_| Error::Crypto)?;
        Ok(Secret::new(pem.as_str()))
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(pkcs1v15::VerifyingKey::new(self.0.as_ref().to_public_key()))
    }

    /// The raw signature over `body` (blinded, random blinding factor from the OS).
    ///
    /// # Errors
    /// [`Error::Crypto`].
    pub fn sign(&self, body: &[u8]) -> Result<Vec<u8>> {
        self.0
            .try_sign_with_rng(&mut rsa::rand_core::OsRng, body)
            .map(|s| s.to_vec())
            .map_err(|_| Error::Crypto)
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
