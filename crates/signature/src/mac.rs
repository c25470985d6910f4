//! HMAC-SHA256 keys: how a secret's text becomes key bytes, and a pre-keyed MAC state.

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::secret::Secret;

/// How the text of an HMAC secret becomes key bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum KeyEncoding {
    /// The UTF-8 bytes of the whole text, prefix included (ZITADEL, Stripe, GitHub, Zero Trust
    /// Analytics, Hub Message by default).
    Utf8,
    /// The text hex-decoded (ZeroTier; Hub Message as an option).
    Hex,
    /// Standard Webhooks: an optional `whsec_` prefix, then standard base64 (padding optional).
    WhsecBase64,
}

/// Lenient standard base64: padding optional, non-zero trailing bits tolerated (as Python's
/// `b64decode`, which the Standard Webhooks reference library uses).
pub(crate) const B64_LENIENT: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Decodes a `whsec_`-style secret: strip `prefix` if present, then lenient base64.
pub(crate) fn decode_prefixed_b64(text: &str, prefix: &str) -> Result<Zeroizing<Vec<u8>>> {
    let body = text.trim();
    let body = body.strip_prefix(prefix).unwrap_or(body);
    if body.is_empty() {
        return Err(Error::BadKey("empty secret"));
    }
    let bytes = B64_LENIENT
        .decode(body)
        .map_err(|_| Error::BadKey("secret is not valid base64"))?;
    Ok(Zeroizing::new(bytes))
}

impl KeyEncoding {
    /// The key bytes of `secret` under this encoding.
    pub(crate) fn key_bytes(self, secret: &Secret) -> Result<Zeroizing<Vec<u8>>> {
        let text = secret.expose_secret();
        let bytes = match self {
            KeyEncoding::Utf8 => Zeroizing::new(text.as_bytes().to_vec()),
            KeyEncoding::Hex => Zeroizing::new(
                hex::decode(text.trim()).map_err(|_| Error::BadKey("secret is not valid hex"))?,
            ),
            KeyEncoding::WhsecBase64 => decode_prefixed_b64(text, "whsec_")?,
        };
        if bytes.is_empty() {
            return Err(Error::BadKey("empty secret"));
        }
        Ok(bytes)
    }

    /// A fresh random secret in the text form this encoding reads.
    pub(crate) fn generate(self) -> Result<Secret> {
        match self {
            KeyEncoding::Utf8 | KeyEncoding::Hex => Ok(Secret::new(crate::secret::random_hex(32)?)),
            KeyEncoding::WhsecBase64 => {
                let mut key = Zeroizing::new([0u8; 32]);
                crate::secret::random_bytes(&mut *key)?;
                Ok(Secret::new(format!(
                    "whsec_{}",
                    base64::engine::general_purpose::STANDARD.encode(*key)
                )))
            }
        }
    }
}

/// An HMAC-SHA256 state already keyed with one secret; cloning it skips re-keying.
/// The state is zeroized on drop (hmac's `zeroize` feature).
#[derive(Clone)]
pub(crate) struct HmacKey(Hmac<Sha256>);

impl HmacKey {
    pub(crate) fn new(secret: &Secret, encoding: KeyEncoding) -> Result<Self> {
        let bytes = encoding.key_bytes(secret)?;
        Self::from_bytes(&bytes)
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Hmac::<Sha256>::new_from_slice(bytes)
            .map(Self)
            .map_err(|_| Error::BadKey("unusable HMAC key"))
    }

    /// HMAC over the concatenation of `parts`.
    pub(crate) fn tag(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.0.clone();
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

/// Constant-time equality of a computed tag and a received one (lengths may differ; the
/// length is not secret). Branch-free XOR fold over all 32 bytes, then `subtle` on the result.
pub(crate) fn ct_eq(expected: &[u8; 32], received: &[u8]) -> bool {
    let Ok(received) = <&[u8; 32]>::try_from(received) else {
        return false;
    };
    let diff = expected
        .iter()
        .zip(received)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    bool::from(std::hint::black_box(diff).ct_eq(&0u8))
}

/// Decodes exactly 64 hex digits (either case) into 32 bytes; anything else gives `None`.
pub(crate) fn hex32(text: &[u8]) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    decode_hex32(text, &mut out).then_some(out)
}

/// Decodes exactly 64 hex digits (either case) into `out`, eight digits per step with
/// word-wide arithmetic (no table, no data-dependent branch); `false` for anything else (then
/// `out` holds garbage).
pub(crate) fn decode_hex32(text: &[u8], out: &mut [u8; 32]) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    /// Per byte lane: 0x80 where the byte (below 0x80) is at least `k` (`k` at most 0x80).
    const fn at_least(x: u64, k: u64) -> u64 {
        ((x | HI).wrapping_sub(LO * k)) & HI
    }
    if text.len() != 64 {
        return false;
    }
    let mut bad = 0u64;
    for (dst, src) in out.chunks_exact_mut(4).zip(text.chunks_exact(8)) {
        let mut word = [0u8; 8];
        word.copy_from_slice(src);
        let x = u64::from_le_bytes(word);
        let digit = at_least(x, 0x30) & !at_least(x, 0x3a);
        // `| 0x20` maps `A-F` onto `a-f` and nothing else onto `a-f`.
        let folded = x | (LO * 0x20);
        let letter = at_least(folded, 0x61) & !at_least(folded, 0x67);
        // Bytes at or above 0x80 fail; so does any lane neither a digit nor a letter.
        bad |= (x & HI) | ((digit | letter) ^ HI);
        // Nibble: low four bits, plus 9 for letters ('a' = 0x61 -> 1 + 9).
        let nibbles = (x & (LO * 0x0f)) + (letter >> 7) * 9;
        // Lane pairs (high, low) -> one byte in the low half of each 16-bit lane.
        let pairs =
            ((nibbles & 0x00ff_00ff_00ff_00ff) << 4) | ((nibbles >> 8) & 0x00ff_00ff_00ff_00ff);
        let pairs = (pairs | (pairs >> 8)) & 0x0000_ffff_0000_ffff;
        let packed = (pairs | (pairs >> 16)) as u32;
        dst.copy_from_slice(&packed.to_le_bytes());
    }
    bad == 0
}

/// Formats `n` in decimal into `buf` without allocating.
pub(crate) fn fmt_i64(n: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut pos = buf.len();
    let negative = n < 0;
    let mut v = n.unsigned_abs();
    loop {
        pos -= 1;
        buf[pos] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if negative {
        pos -= 1;
        buf[pos] = b'-';
    }
    &buf[pos..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex32_every_byte_at_every_position() {
        let good = b"04d87956d1953f28ac04d441f139fc655109e9b5c64396fb55dbdf567c735f86";
        for position in 0..64 {
            for byte in 0..=255u8 {
                let mut text = *good;
                text[position] = byte;
                let want = hex::decode(text)
                    .ok()
                    .map(|v| <[u8; 32]>::try_from(v).unwrap());
                assert_eq!(hex32(&text), want, "byte {byte:#04x} at {position}");
            }
        }
        for len in [0, 1, 62, 63, 65, 128] {
            assert_eq!(hex32(&vec![b'0'; len]), None);
        }
    }

    #[test]
    fn hex32_matches_hex_crate() {
        let good = "04d87956d1953f28ac04d441f139fc655109e9b5c64396fb55dbdf567c735f86";
        let want: [u8; 32] = hex::decode(good).unwrap().try_into().unwrap();
        assert_eq!(hex32(good.as_bytes()), Some(want));
        assert_eq!(hex32(good.to_uppercase().as_bytes()), Some(want));
        assert_eq!(hex32(&good.as_bytes()[..62]), None);
        for bad in ["g", "G", " ", "\u{ff}", ":", "/", "@", "`"] {
            let text = format!("{bad}{}", &good[bad.len()..]);
            assert_eq!(hex32(text.as_bytes()), None, "{bad:?}");
        }
        assert!(ct_eq(&want, &want));
        let mut other = want;
        other[31] ^= 1;
        assert!(!ct_eq(&want, &other));
        assert!(!ct_eq(&want, &want[..31]));
    }

    #[test]
    fn fmt_i64_matches_display() {
        for n in [0, 1, -1, 9, 10, 1_694_033_429, i64::MAX, i64::MIN] {
            let mut buf = [0u8; 20];
            assert_eq!(fmt_i64(n, &mut buf), n.to_string().as_bytes());
        }
    }
}
