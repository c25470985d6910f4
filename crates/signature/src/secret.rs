//! Secrets and keys in their text form, and their generation from the OS CSPRNG.

use std::fmt;

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// A secret or key in the text form its family uses (`whsec_…`, 64 hex digits, a PEM key, …).
///
/// `Debug` prints `Secret([REDACTED])`; there is no `Display` and no `Serialize`; the text is
/// zeroized on drop. Which text a scheme expects is listed on [`Scheme`](crate::Scheme).
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a secret's text form. The text is not validated here; signers and verifiers
    /// reject unusable keys with [`Error::BadKey`].
    pub fn new(text: impl Into<String>) -> Self {
        Self(Zeroizing::new(text.into()))
    }

    /// The secret's text. Handle with care: never log it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self::new(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

/// A secret that stays valid until an optional deadline (unix seconds), for rotation.
///
/// When a secret is rotated the old one is kept, with `expires_at` set to the end of the grace
/// period; [`active_secrets`] picks the ones still valid at a given time, and the result is what
/// [`Signer::new`](crate::Signer::new) and [`Verifier::new`](crate::Verifier::new) take. A
/// signer then emits one signature per active secret, and a verifier accepts any of them.
#[derive(Clone, Debug)]
pub struct RotatingSecret {
    /// The secret itself.
    pub secret: Secret,
    /// Last unix second at which the secret is still valid; `None` means no deadline.
    pub expires_at: Option<i64>,
}

impl RotatingSecret {
    /// Whether the secret is valid at `now` (unix seconds); valid through `expires_at` inclusive.
    pub fn is_active_at(&self, now: i64) -> bool {
        self.expires_at.is_none_or(|deadline| now <= deadline)
    }
}

/// The secrets of `entries` that are still valid at `now` (unix seconds), in order.
pub fn active_secrets(entries: &[RotatingSecret], now: i64) -> Vec<Secret> {
    entries
        .iter()
        .filter(|e| e.is_active_at(now))
        .map(|e| e.secret.clone())
        .collect()
}

/// Fills `buf` from the operating system's CSPRNG.
pub(crate) fn random_bytes(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|_| Error::Random)
}

/// `2 * n` lowercase hex digits from `n` random bytes.
pub(crate) fn random_hex(n: usize) -> Result<String> {
    let mut bytes = Zeroizing::new(vec![0u8; n]);
    random_bytes(&mut bytes)?;
    Ok(hex::encode(&*bytes))
}

/// `len` random characters from `[A-Za-z0-9]`, without modulo bias.
pub(crate) fn random_alphanumeric(len: usize) -> Result<String> {
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(len);
    let mut buf = Zeroizing::new([0u8; 64]);
    while out.len() < len {
        random_bytes(&mut *buf)?;
        for &b in buf.iter() {
            // 248 = 4 * 62: values at or above it would bias the result.
            if b < 248 && out.len() < len {
                out.push(char::from(ALPHABET[usize::from(b % 62)]));
            }
        }
    }
    Ok(out)
}
