//! The generic "hex HMAC over the body" shape, with an optional `sha256=` prefix.
//!
//! Zero Trust Analytics, Hub Message and GitHub are presets of [`BodyHexFormat`]; Convoy's
//! "simple" mode is another instance.

use http::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};

use crate::Verified;
use crate::error::{Error, Result};
use crate::headers::{self, Headers};
use crate::mac::{self, HmacKey, KeyEncoding};
use crate::secret::Secret;

/// Parameters of a body-hex scheme.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BodyHexFormat {
    /// Header carrying the value (case-insensitive).
    pub header: String,
    /// Prefix before the hex digits, for example `sha256=`; empty for none.
    pub prefix: String,
    /// Whether a received value must carry the prefix (otherwise it is optional).
    pub prefix_required: bool,
    /// Whether signing writes the prefix.
    pub emit_prefix: bool,
    /// How the secret's text becomes the HMAC key.
    pub key: KeyEncoding,
}

/// A body-hex signer and verifier with one pre-keyed HMAC per secret.
///
/// With several secrets, signing emits the header once per secret and verification accepts
/// any value of the header matching any secret.
#[derive(Clone)]
pub struct BodyHex {
    header: HeaderName,
    prefix: String,
    prefix_required: bool,
    emit_prefix: bool,
    keys: Vec<HmacKey>,
}

impl std::fmt::Debug for BodyHex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyHex")
            .field("header", &self.header)
            .field("keys", &format_args!("[{} REDACTED]", self.keys.len()))
            .finish_non_exhaustive()
    }
}

impl BodyHex {
    /// Builds from a format and one or more secrets.
    ///
    /// # Errors
    /// [`Error::NoSecrets`], [`Error::BadKey`], [`Error::InvalidParameter`] (header name).
    pub fn new(format: &BodyHexFormat, secrets: &[Secret]) -> Result<Self> {
        if secrets.is_empty() {
            return Err(Error::NoSecrets);
        }
        if !format.prefix.is_ascii() || format.prefix.chars().any(|c| c.is_ascii_control()) {
            return Err(Error::InvalidParameter("prefix must be printable ASCII"));
        }
        Ok(Self {
            header: headers::header_name(&format.header)?,
            prefix: format.prefix.clone(),
            prefix_required: format.prefix_required && !format.prefix.is_empty(),
            emit_prefix: format.emit_prefix,
            keys: secrets
                .iter()
                .map(|s| HmacKey::new(s, format.key))
                .collect::<Result<_>>()?,
        })
    }

    /// The header this scheme reads and writes.
    pub fn header(&self) -> &HeaderName {
        &self.header
    }

    /// One header value per secret.
    pub fn sign(&self, body: &[u8]) -> Vec<HeaderValue> {
        self.keys
            .iter()
            .filter_map(|k| {
                let hex = hex::encode(k.tag(&[body]));
                let text = if self.emit_prefix {
                    format!("{}{hex}", self.prefix)
                } else {
                    hex
                };
                // Printable ASCII prefix plus hex: always a valid header value.
                let mut v = HeaderValue::try_from(text).ok()?;
                v.set_sensitive(true);
                Some(v)
            })
            .collect()
    }

    /// The 32 signature bytes of one value, or why it is malformed.
    fn decode(&self, value: &[u8]) -> std::result::Result<[u8; 32], &'static str> {
        let hex = match value.strip_prefix(self.prefix.as_bytes()) {
            Some(rest) if !self.prefix.is_empty() => rest,
            _ if self.prefix_required => return Err("missing prefix"),
            _ => value,
        };
        mac::hex32(hex).ok_or("expected 64 hex digits")
    }

    /// Verifies one header value (prefix included) against `body`.
    ///
    /// # Errors
    /// [`Error::MalformedHeader`] or [`Error::SignatureMismatch`].
    pub fn verify_value(&self, value: &[u8], body: &[u8]) -> Result<Verified> {
        let sig = self
            .decode(value)
            .map_err(|r| headers::malformed(&self.header, r))?;
        self.match_keys(body, |expected| mac::ct_eq(expected, &sig))
    }

    fn match_keys(
        &self,
        body: &[u8],
        mut check: impl FnMut(&[u8; 32]) -> bool,
    ) -> Result<Verified> {
        for (index, key) in self.keys.iter().enumerate() {
            if check(&key.tag(&[body])) {
                return Ok(Verified {
                    id: None,
                    timestamp: None,
                    key_index: index,
                });
            }
        }
        Err(Error::SignatureMismatch)
    }

    pub(crate) fn verify_headers(&self, body: &[u8], headers: Headers<'_>) -> Result<Verified> {
        // Decode every value of the header first: malformed only if none is usable.
        let mut sigs: Vec<[u8; 32]> = Vec::new();
        let mut reason = None;
        headers.find_map(&self.header, |v| {
            match self.decode(v) {
                Ok(s) => sigs.push(s),
                Err(r) => reason = Some(r),
            }
            None::<()>
        });
        if sigs.is_empty() {
            return Err(match reason {
                Some(r) => headers::malformed(&self.header, r),
                None => Error::MissingHeader(self.header.as_str().to_owned()),
            });
        }
        self.match_keys(body, |expected| {
            sigs.iter()
                .fold(false, |acc, s| acc | mac::ct_eq(expected, s))
        })
    }
}
