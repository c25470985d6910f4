//! The generic `t=<unix>,v1=<hex>[,v1=<hex>…]` shape: HMAC-SHA256 over `"{t}" + sep + body`.
//!
//! ZeroTier (separator `,`, hex-decoded key), ZITADEL and Stripe (separator `.`, raw key) are
//! presets of [`TimestampedFormat`]; Convoy's "advanced" mode is another instance.

use http::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};

use crate::Verified;
use crate::error::{Error, Result};
use crate::headers::{self, Headers};
use crate::mac::{self, HmacKey, KeyEncoding};
use crate::secret::Secret;
use crate::tolerance::Tolerance;

/// Which `key=value` pairs of the header carry signatures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SignatureKeys {
    /// Exactly `v1` (ZITADEL, Stripe; Stripe's test-mode `v0` is ignored).
    V1,
    /// Any key containing `v`, as ZeroTier's `ztchooks` parser does.
    ContainsV,
}

impl SignatureKeys {
    fn matches(self, key: &str) -> bool {
        match self {
            SignatureKeys::V1 => key == "v1",
            SignatureKeys::ContainsV => key.contains('v'),
        }
    }
}

/// Parameters of a `t=,v1=` scheme.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimestampedFormat {
    /// Header carrying the value (case-insensitive).
    pub header: String,
    /// Byte between the decimal timestamp and the body in the signed bytes: `,` or `.`.
    pub separator: char,
    /// How the secret's text becomes the HMAC key.
    pub key: KeyEncoding,
    /// Which pairs count as signatures.
    pub signature_keys: SignatureKeys,
}

/// One parsed `t=,v1=` header value.
///
/// Parsing follows the vendors' parsers: pairs split on `,`, each at its first `=`; a pair
/// without `=` or a `t` that is not a base-10 `i64` is malformed; signature values that are not
/// hex are skipped; other keys are ignored. At least one hex signature must remain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureHeader {
    /// The signed unix timestamp.
    pub timestamp: i64,
    /// The hex-decoded signatures, in header order.
    pub signatures: Vec<Vec<u8>>,
}

/// Walks the pairs of a header value, checking its structure. Returns the timestamp and the
/// number of signature pairs (hex or not).
fn scan<'a>(
    value: &'a str,
    keys: SignatureKeys,
    mut on_signature: impl FnMut(&'a str),
) -> std::result::Result<i64, &'static str> {
    if value.is_empty() {
        return Err("empty value");
    }
    let mut timestamp = None;
    for pair in value.split(',') {
        let (k, v) = pair.split_once('=').ok_or("pair without `=`")?;
        if k == "t" {
            if timestamp.is_some() {
                return Err("repeated `t`");
            }
            timestamp = Some(v.parse::<i64>().map_err(|_| "`t` is not an integer")?);
        } else if keys.matches(k) {
            on_signature(v);
        }
    }
    timestamp.ok_or("no `t`")
}

impl SignatureHeader {
    /// Parses a header value.
    ///
    /// # Errors
    /// A reason string when the value is malformed (see the type docs).
    pub fn parse(value: &str, keys: SignatureKeys) -> std::result::Result<Self, &'static str> {
        let mut signatures = Vec::new();
        let timestamp = scan(value, keys, |v| {
            if let Ok(bytes) = hex::decode(v) {
                signatures.push(bytes);
            }
        })?;
        if signatures.is_empty() {
            return Err("no hex signature");
        }
        Ok(Self {
            timestamp,
            signatures,
        })
    }

    /// Formats as `t=<timestamp>,v1=<hex>,…` (lowercase hex).
    pub fn to_header_string(&self) -> String {
        let mut out = format!("t={}", self.timestamp);
        for sig in &self.signatures {
            out.push_str(",v1=");
            out.push_str(&hex::encode(sig));
        }
        out
    }
}

/// A `t=,v1=` signer and verifier with one pre-keyed HMAC per secret.
#[derive(Clone)]
pub struct Timestamped {
    header: HeaderName,
    separator: [u8; 1],
    signature_keys: SignatureKeys,
    keys: Vec<HmacKey>,
}

impl std::fmt::Debug for Timestamped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timestamped")
            .field("header", &self.header)
            .field("keys", &format_args!("[{} REDACTED]", self.keys.len()))
            .finish_non_exhaustive()
    }
}

impl Timestamped {
    /// Builds from a format and one or more secrets.
    ///
    /// # Errors
    /// [`Error::NoSecrets`], [`Error::BadKey`], or [`Error::InvalidParameter`] for a bad header
    /// name or a separator other than `,`/`.`.
    pub fn new(format: &TimestampedFormat, secrets: &[Secret]) -> Result<Self> {
        let separator = match format.separator {
            ',' => b',',
            '.' => b'.',
            _ => return Err(Error::InvalidParameter("separator must be `,` or `.`")),
        };
        if secrets.is_empty() {
            return Err(Error::NoSecrets);
        }
        Ok(Self {
            header: headers::header_name(&format.header)?,
            separator: [separator],
            signature_keys: format.signature_keys,
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

    fn tag(&self, key: &HmacKey, timestamp: i64, body: &[u8]) -> [u8; 32] {
        let mut buf = [0u8; 20];
        let t = mac::fmt_i64(timestamp, &mut buf);
        key.tag(&[t, &self.separator, body])
    }

    /// The header value: `t=<timestamp>,v1=<hex>` with one `v1` per secret.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a negative timestamp.
    pub fn sign(&self, timestamp: i64, body: &[u8]) -> Result<HeaderValue> {
        if timestamp < 0 {
            return Err(Error::InvalidInput("negative timestamp"));
        }
        let header = SignatureHeader {
            timestamp,
            signatures: self
                .keys
                .iter()
                .map(|k| self.tag(k, timestamp, body).to_vec())
                .collect(),
        };
        let mut value = HeaderValue::try_from(header.to_header_string())
            .map_err(|_| Error::InvalidInput("unencodable header"))?;
        value.set_sensitive(true);
        Ok(value)
    }

    /// Verifies one header value against `body`; `now` `None` skips the time check.
    ///
    /// # Errors
    /// [`Error::MalformedHeader`], [`Error::TimestampTooOld`], [`Error::TimestampTooNew`],
    /// [`Error::SignatureMismatch`].
    pub fn verify_value(
        &self,
        value: &str,
        body: &[u8],
        now: Option<i64>,
        tolerance: Tolerance,
    ) -> Result<Verified> {
        let mut any_signature = false;
        let timestamp = scan(value, self.signature_keys, |_| any_signature = true)
            .map_err(|r| headers::malformed(&self.header, r))?;
        if !any_signature {
            return Err(headers::malformed(&self.header, "no signature"));
        }
        if let Some(now) = now {
            tolerance.check(timestamp, now)?;
        }
        for (index, key) in self.keys.iter().enumerate() {
            let expected = self.tag(key, timestamp, body);
            let mut matched = false;
            // Every candidate is compared (no early exit inside one key's pass).
            let _ = scan(value, self.signature_keys, |v| {
                if let Some(sig) = mac::hex32(v.as_bytes()) {
                    matched |= mac::ct_eq(&expected, &sig);
                }
            });
            if matched {
                return Ok(Verified {
                    id: None,
                    timestamp: Some(timestamp),
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
        let value = headers.single(&self.header)?;
        self.verify_value(value, body, now, tolerance)
    }
}
