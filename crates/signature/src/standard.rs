//! Standard Webhooks (and Svix): `webhook-id`, `webhook-timestamp`, `webhook-signature`.
//!
//! Signed bytes are `"{id}.{timestamp}." + body`. `webhook-signature` is a space-separated list
//! of `v1,<base64 HMAC-SHA256>` (secrets `whsec_<base64>`, padding optional) and `v1a,<base64
//! Ed25519>` (secret keys `whsk_<base64 sk‖pk>`, public keys `whpk_<base64 pk>`, feature
//! `ed25519`) tokens; unknown versions are ignored. Verification reads the `svix-*` names
//! first and falls back to `webhook-*`, as the Svix libraries do.

use base64::Engine as _;
use http::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};

use crate::Verified;
use crate::error::{Error, Result};
use crate::headers::{self, Headers};
use crate::mac::{self, HmacKey, decode_prefixed_b64};
use crate::secret::Secret;
use crate::tolerance::Tolerance;

/// `webhook-id`.
pub const WEBHOOK_ID: HeaderName = HeaderName::from_static("webhook-id");
/// `webhook-timestamp`.
pub const WEBHOOK_TIMESTAMP: HeaderName = HeaderName::from_static("webhook-timestamp");
/// `webhook-signature`.
pub const WEBHOOK_SIGNATURE: HeaderName = HeaderName::from_static("webhook-signature");
/// `svix-id`.
pub const SVIX_ID: HeaderName = HeaderName::from_static("svix-id");
/// `svix-timestamp`.
pub const SVIX_TIMESTAMP: HeaderName = HeaderName::from_static("svix-timestamp");
/// `svix-signature`.
pub const SVIX_SIGNATURE: HeaderName = HeaderName::from_static("svix-signature");

/// Which header names a signer writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum HeaderNames {
    /// `webhook-id`, `webhook-timestamp`, `webhook-signature`.
    #[default]
    Webhook,
    /// `svix-id`, `svix-timestamp`, `svix-signature`.
    Svix,
}

impl HeaderNames {
    /// The (id, timestamp, signature) names.
    pub fn names(self) -> [HeaderName; 3] {
        match self {
            HeaderNames::Webhook => [WEBHOOK_ID, WEBHOOK_TIMESTAMP, WEBHOOK_SIGNATURE],
            HeaderNames::Svix => [SVIX_ID, SVIX_TIMESTAMP, SVIX_SIGNATURE],
        }
    }
}

/// Which kind of secret [`Scheme::generate_secret`](crate::Scheme::generate_secret) makes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum KeyKind {
    /// `whsec_` + base64 of 32 random bytes (`v1`, HMAC-SHA256).
    #[default]
    Symmetric,
    /// `whsk_` + base64 of an Ed25519 secret key and its public key (`v1a`).
    Ed25519,
}

/// One parsed `webhook-signature` token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// The version before the comma (`v1`, `v1a`, or anything else).
    pub version: String,
    /// The base64-decoded signature.
    pub signature: Vec<u8>,
}

/// Parses a `webhook-signature` value leniently: tokens split on spaces, each at its first
/// comma; tokens without a comma or with invalid base64 are skipped.
pub fn parse_signatures(value: &str) -> Vec<Token> {
    tokens(value)
        .filter_map(|(version, b64)| {
            Some(Token {
                version: version.to_owned(),
                signature: mac::B64_LENIENT.decode(b64).ok()?,
            })
        })
        .collect()
}

/// Formats tokens as a `webhook-signature` value (padded standard base64).
pub fn format_signatures(tokens: &[Token]) -> String {
    let parts: Vec<String> = tokens
        .iter()
        .map(|t| {
            format!(
                "{},{}",
                t.version,
                base64::engine::general_purpose::STANDARD.encode(&t.signature)
            )
        })
        .collect();
    parts.join(" ")
}

fn tokens(value: &str) -> impl Iterator<Item = (&str, &str)> {
    value
        .split(' ')
        .filter(|t| !t.is_empty())
        .filter_map(|t| t.split_once(','))
}

#[derive(Clone)]
enum SignKey {
    Hmac(HmacKey),
    #[cfg(feature = "ed25519")]
    Ed25519(Box<ed25519_dalek::SigningKey>),
}

#[derive(Clone)]
enum VerifyKey {
    Hmac(HmacKey),
    #[cfg(feature = "ed25519")]
    Ed25519(ed25519_dalek::VerifyingKey),
}

/// Parses a secret for signing: `whsk_` → Ed25519, anything else → `whsec_` HMAC.
fn sign_key(secret: &Secret) -> Result<SignKey> {
    let text = secret.expose_secret().trim();
    if text.starts_with("whsk_") {
        #[cfg(feature = "ed25519")]
        {
            return Ok(SignKey::Ed25519(Box::new(ed25519_signing_key(text)?)));
        }
        #[cfg(not(feature = "ed25519"))]
        return Err(Error::FeatureDisabled("ed25519"));
    }
    if text.starts_with("whpk_") {
        return Err(Error::BadKey("a public key (whpk_) cannot sign"));
    }
    Ok(SignKey::Hmac(HmacKey::from_bytes(&decode_prefixed_b64(
        text, "whsec_",
    )?)?))
}

/// Parses a secret for verifying: `whpk_`/`whsk_` → Ed25519, anything else → `whsec_` HMAC.
fn verify_key(secret: &Secret) -> Result<VerifyKey> {
    let text = secret.expose_secret().trim();
    if text.starts_with("whpk_") || text.starts_with("whsk_") {
        #[cfg(feature = "ed25519")]
        {
            return Ok(VerifyKey::Ed25519(ed25519_verifying_key(text)?));
        }
        #[cfg(not(feature = "ed25519"))]
        return Err(Error::FeatureDisabled("ed25519"));
    }
    Ok(VerifyKey::Hmac(HmacKey::from_bytes(&decode_prefixed_b64(
        text, "whsec_",
    )?)?))
}

#[cfg(feature = "ed25519")]
fn ed25519_signing_key(text: &str) -> Result<ed25519_dalek::SigningKey> {
    let bytes = decode_prefixed_b64(text, "whsk_")?;
    let pair: &[u8; 64] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| Error::BadKey("whsk_ key must be 64 bytes (secret key and public key)"))?;
    ed25519_dalek::SigningKey::from_keypair_bytes(pair)
        .map_err(|_| Error::BadKey("whsk_ public half does not match its secret half"))
}

#[cfg(feature = "ed25519")]
fn ed25519_verifying_key(text: &str) -> Result<ed25519_dalek::VerifyingKey> {
    if text.starts_with("whsk_") {
        return Ok(ed25519_signing_key(text)?.verifying_key());
    }
    let bytes = decode_prefixed_b64(text, "whpk_")?;
    let pk: &[u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| Error::BadKey("whpk_ key must be 32 bytes"))?;
    ed25519_dalek::VerifyingKey::from_bytes(pk)
        .map_err(|_| Error::BadKey("whpk_ key is not a valid Ed25519 point"))
}

/// A fresh secret of `kind`.
pub(crate) fn generate(kind: KeyKind) -> Result<Secret> {
    match kind {
        KeyKind::Symmetric => crate::mac::KeyEncoding::WhsecBase64.generate(),
        #[cfg(feature = "ed25519")]
        KeyKind::Ed25519 => {
            let mut seed = zeroize::Zeroizing::new([0u8; 32]);
            crate::secret::random_bytes(&mut *seed)?;
            let key = ed25519_dalek::SigningKey::from_bytes(&seed);
            let pair = zeroize::Zeroizing::new(key.to_keypair_bytes());
            Ok(Secret::new(format!(
                "whsk_{}",
                base64::engine::general_purpose::STANDARD.encode(*pair)
            )))
        }
        #[cfg(not(feature = "ed25519"))]
        KeyKind::Ed25519 => Err(Error::FeatureDisabled("ed25519")),
    }
}

/// The verifying form of a signing secret: `whsk_` gives its `whpk_`, `whsec_` itself.
pub(crate) fn public_secret(secret: &Secret) -> Result<Secret> {
    match verify_key(secret)? {
        VerifyKey::Hmac(_) => Ok(secret.clone()),
        #[cfg(feature = "ed25519")]
        VerifyKey::Ed25519(pk) => Ok(Secret::new(format!(
            "whpk_{}",
            base64::engine::general_purpose::STANDARD.encode(pk.to_bytes())
        ))),
    }
}

#[cfg(feature = "ed25519")]
fn prefix_bytes(id: &str, ts: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(id.len() + ts.len() + 2);
    out.extend_from_slice(id.as_bytes());
    out.push(b'.');
    out.extend_from_slice(ts);
    out.push(b'.');
    out
}

/// A Standard Webhooks signer: one token per secret.
#[derive(Clone)]
pub struct StandardSigner {
    names: HeaderNames,
    keys: Vec<SignKey>,
}

impl std::fmt::Debug for StandardSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandardSigner")
            .field("names", &self.names)
            .field("keys", &format_args!("[{} REDACTED]", self.keys.len()))
            .finish()
    }
}

impl StandardSigner {
    /// Builds from `whsec_` and/or `whsk_` secrets.
    ///
    /// # Errors
    /// [`Error::NoSecrets`], [`Error::BadKey`], [`Error::FeatureDisabled`].
    pub fn new(names: HeaderNames, secrets: &[Secret]) -> Result<Self> {
        if secrets.is_empty() {
            return Err(Error::NoSecrets);
        }
        Ok(Self {
            names,
            keys: secrets.iter().map(sign_key).collect::<Result<_>>()?,
        })
    }

    /// The `webhook-signature` value (space-separated tokens) for `id`, `timestamp`, `body`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a negative timestamp.
    pub fn signature(&self, id: &str, timestamp: i64, body: &[u8]) -> Result<String> {
        if timestamp < 0 {
            return Err(Error::InvalidInput("negative timestamp"));
        }
        let mut buf = [0u8; 20];
        let ts = mac::fmt_i64(timestamp, &mut buf);
        let mut tokens = Vec::with_capacity(self.keys.len());
        for key in &self.keys {
            tokens.push(match key {
                SignKey::Hmac(k) => Token {
                    version: "v1".to_owned(),
                    signature: k.tag(&[id.as_bytes(), b".", ts, b".", body]).to_vec(),
                },
                #[cfg(feature = "ed25519")]
                SignKey::Ed25519(k) => {
                    use ed25519_dalek::Signer as _;
                    let mut msg = prefix_bytes(id, ts);
                    msg.extend_from_slice(body);
                    Token {
                        version: "v1a".to_owned(),
                        signature: k.sign(&msg).to_bytes().to_vec(),
                    }
                }
            });
        }
        Ok(format_signatures(&tokens))
    }

    /// The three headers (id, timestamp, signature).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a negative timestamp or an id that is not a valid header
    /// value.
    pub fn sign(
        &self,
        id: &str,
        timestamp: i64,
        body: &[u8],
    ) -> Result<Vec<(HeaderName, HeaderValue)>> {
        let signature = self.signature(id, timestamp, body)?;
        let [id_name, ts_name, sig_name] = self.names.names();
        let id_value = HeaderValue::from_str(id)
            .map_err(|_| Error::InvalidInput("message id is not a valid header value"))?;
        let mut sig_value = HeaderValue::try_from(signature)
            .map_err(|_| Error::InvalidInput("unencodable header"))?;
        sig_value.set_sensitive(true);
        Ok(vec![
            (id_name, id_value),
            (ts_name, HeaderValue::from(timestamp)),
            (sig_name, sig_value),
        ])
    }
}

/// A Standard Webhooks verifier over `whsec_`, `whpk_` (and `whsk_`) secrets.
#[derive(Clone)]
pub struct StandardVerifier {
    keys: Vec<VerifyKey>,
}

impl std::fmt::Debug for StandardVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandardVerifier")
            .field("keys", &format_args!("[{} REDACTED]", self.keys.len()))
            .finish()
    }
}

impl StandardVerifier {
    /// Builds from secrets.
    ///
    /// # Errors
    /// [`Error::NoSecrets`], [`Error::BadKey`], [`Error::FeatureDisabled`].
    pub fn new(secrets: &[Secret]) -> Result<Self> {
        if secrets.is_empty() {
            return Err(Error::NoSecrets);
        }
        Ok(Self {
            keys: secrets.iter().map(verify_key).collect::<Result<_>>()?,
        })
    }

    /// Verifies already-extracted header values.
    ///
    /// # Errors
    /// [`Error::MalformedHeader`] (timestamp not an integer), [`Error::TimestampTooOld`],
    /// [`Error::TimestampTooNew`], [`Error::SignatureMismatch`].
    pub fn verify_values(
        &self,
        id: &str,
        timestamp: &str,
        signature: &str,
        body: &[u8],
        now: Option<i64>,
        tolerance: Tolerance,
    ) -> Result<Verified> {
        let ts: i64 = timestamp
            .parse()
            .map_err(|_| headers::malformed(&WEBHOOK_TIMESTAMP, "not an integer"))?;
        if let Some(now) = now {
            tolerance.check(ts, now)?;
        }
        let mut buf = [0u8; 20];
        let ts_bytes = mac::fmt_i64(ts, &mut buf);
        for (index, key) in self.keys.iter().enumerate() {
            let matched = match key {
                VerifyKey::Hmac(k) => {
                    let expected = k.tag(&[id.as_bytes(), b".", ts_bytes, b".", body]);
                    let mut decoded = [0u8; 33];
                    tokens(signature)
                        .filter(|(v, _)| *v == "v1")
                        .fold(false, |acc, (_, b64)| {
                            let ok =
                                matches!(mac::B64_LENIENT.decode_slice(b64, &mut decoded), Ok(32))
                                    && mac::ct_eq(&expected, &decoded[..32]);
                            acc | ok
                        })
                }
                #[cfg(feature = "ed25519")]
                VerifyKey::Ed25519(pk) => {
                    let mut msg = prefix_bytes(id, ts_bytes);
                    msg.extend_from_slice(body);
                    tokens(signature)
                        .filter(|(v, _)| *v == "v1a")
                        .filter_map(|(_, b64)| {
                            let mut sig = [0u8; 65];
                            match mac::B64_LENIENT.decode_slice(b64, &mut sig) {
                                Ok(64) => {
                                    let mut s = [0u8; 64];
                                    s.copy_from_slice(&sig[..64]);
                                    Some(ed25519_dalek::Signature::from_bytes(&s))
                                }
                                _ => None,
                            }
                        })
                        .any(|sig| pk.verify_strict(&msg, &sig).is_ok())
                }
            };
            if matched {
                return Ok(Verified {
                    id: Some(id.to_owned()),
                    timestamp: Some(ts),
                    key_index: index,
                });
            }
        }
        Err(Error::SignatureMismatch)
    }

    pub(crate) fn verify_headers(
        &self,
        body: &[u8],
        headers: Headers<'_>,
        now: Option<i64>,
        tolerance: Tolerance,
    ) -> Result<Verified> {
        let names = if headers.contains(&SVIX_SIGNATURE) || headers.contains(&SVIX_ID) {
            HeaderNames::Svix.names()
        } else {
            HeaderNames::Webhook.names()
        };
        let [id_name, ts_name, sig_name] = names;
        let id = headers.single(&id_name)?;
        let ts = headers.single(&ts_name)?;
        let sig = headers.single(&sig_name)?;
        self.verify_values(id, ts, sig, body, now, tolerance)
            .map_err(|e| match e {
                // The only malformed value `verify_values` reports is the timestamp; name the
                // header actually read (`svix-timestamp` or `webhook-timestamp`).
                Error::MalformedHeader(_, reason) => headers::malformed(&ts_name, reason),
                other => other,
            })
    }
}
