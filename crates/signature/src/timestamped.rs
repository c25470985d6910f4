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
    fn matches(self, key: &[u8]) -> bool {
        match self {
            SignatureKeys::V1 => key == b"v1",
            SignatureKeys::ContainsV => key.contains(&b'v'),
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

/// The `t` of a header: its value and, when the header spells it exactly as `i64`'s `Display`
/// does (no `+`, no leading zeros, not `-0`), those digits, which are then the signed bytes.
#[derive(Clone, Copy)]
struct Timestamp<'a> {
    value: i64,
    canonical: Option<&'a [u8]>,
}

/// Parses decimal text exactly as `str::parse::<i64>` does: an optional `+` or `-`, then one or
/// more ASCII digits, within range.
fn parse_i64(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() {
        return None;
    }
    let mut n: i64 = 0;
    for &d in digits {
        let digit = d.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        n = n.checked_mul(10)?;
        n = if negative {
            n.checked_sub(i64::from(digit))?
        } else {
            n.checked_add(i64::from(digit))?
        };
    }
    Some(n)
}

/// Whether `text` (already parsed as an integer) is what `Display` would print for it.
fn is_canonical(text: &[u8]) -> bool {
    matches!(text, [b'0'] | [b'-', b'1'..=b'9', ..] | [b'1'..=b'9', ..])
}

/// Position of the first `,` in `bytes`, or `bytes.len()`. Eight bytes per step.
fn find_comma(bytes: &[u8]) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const COMMAS: u64 = LO * b',' as u64;
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ COMMAS;
        // Lowest set bit marks the first zero byte of `x` (later bits may be false positives).
        let zero = x.wrapping_sub(LO) & !x & HI;
        if zero != 0 {
            return offset + (zero.trailing_zeros() / 8) as usize;
        }
        offset += 8;
    }
    let rest = chunks.remainder();
    offset + rest.iter().position(|&b| b == b',').unwrap_or(rest.len())
}

/// Walks the pairs of a header value in one pass over its bytes, checking its structure and
/// calling `on_signature` with every signature value (hex or not). Returns the timestamp.
///
/// Same rules as splitting the text on `,` and each pair at its first `=`; works on bytes
/// because every delimiter is ASCII (no `&str` pattern machinery on the hot path).
fn scan<'a>(
    value: &'a [u8],
    keys: SignatureKeys,
    mut on_signature: impl FnMut(&'a [u8]),
) -> std::result::Result<Timestamp<'a>, &'static str> {
    if value.is_empty() {
        return Err("empty value");
    }
    let mut timestamp = None;
    let mut rest = value;
    loop {
        let (pair, tail) = rest.split_at(find_comma(rest));
        let eq = pair
            .iter()
            .position(|&b| b == b'=')
            .ok_or("pair without `=`")?;
        let (k, v) = pair.split_at(eq);
        let v = v.get(1..).unwrap_or_default();
        if let [b't'] = k {
            if timestamp.is_some() {
                return Err("repeated `t`");
            }
            let parsed = parse_i64(v).ok_or("`t` is not an integer")?;
            timestamp = Some(Timestamp {
                value: parsed,
                canonical: is_canonical(v).then_some(v),
            });
        } else if keys.matches(k) {
            on_signature(v);
        }
        match tail.split_first() {
            Some((_comma, next)) => rest = next,
            None => break,
        }
    }
    timestamp.ok_or("no `t`")
}

/// How many decoded signatures [`Timestamped::verify_value`] keeps on the stack; a header with
/// more hex signatures than this is compared on a second pass (no allocation either way).
const INLINE_SIGNATURES: usize = 4;

impl SignatureHeader {
    /// Parses a header value.
    ///
    /// # Errors
    /// A reason string when the value is malformed (see the type docs).
    pub fn parse(value: &str, keys: SignatureKeys) -> std::result::Result<Self, &'static str> {
        let mut signatures = Vec::new();
        let timestamp = scan(value.as_bytes(), keys, |v| {
            if let Ok(bytes) = hex::decode(v) {
                signatures.push(bytes);
            }
        })?
        .value;
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
        let mut out = String::with_capacity(header_len(&self.signatures));
        write_header(&mut out, self.timestamp, &self.signatures);
        out
    }
}

/// The length of `t=<i64>` plus `,v1=<hex>` per signature, at most.
fn header_len<S: AsRef<[u8]>>(signatures: &[S]) -> usize {
    2 + 20
        + signatures
            .iter()
            .map(|s| 4 + 2 * s.as_ref().len())
            .sum::<usize>()
}

/// Appends `t=<timestamp>` and `,v1=<lowercase hex>` per signature to `out`, hex-encoding
/// through a stack buffer (no allocation beyond `out`'s own).
fn write_header<S: AsRef<[u8]>>(out: &mut String, timestamp: i64, signatures: &[S]) {
    let mut digits = [0u8; 20];
    out.push_str("t=");
    push_ascii(out, mac::fmt_i64(timestamp, &mut digits));
    for sig in signatures {
        out.push_str(",v1=");
        for chunk in sig.as_ref().chunks(64) {
            let mut buf = [0u8; 128];
            let hex = &mut buf[..2 * chunk.len()];
            // `hex` is exactly twice as long as `chunk`: encoding cannot fail.
            if hex::encode_to_slice(chunk, hex).is_ok() {
                push_ascii(out, hex);
            }
        }
    }
}

/// Appends bytes known to be ASCII (digits, hex) to `out`.
fn push_ascii(out: &mut String, ascii: &[u8]) {
    if let Ok(text) = std::str::from_utf8(ascii) {
        out.push_str(text);
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

    /// As [`tag`](Self::tag) for a parsed header timestamp: its own digits when canonical.
    fn tag_parsed(&self, key: &HmacKey, timestamp: Timestamp<'_>, body: &[u8]) -> [u8; 32] {
        match timestamp.canonical {
            Some(digits) => key.tag(&[digits, &self.separator, body]),
            None => self.tag(key, timestamp.value, body),
        }
    }

    /// The header value: `t=<timestamp>,v1=<hex>` with one `v1` per secret.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a negative timestamp.
    pub fn sign(&self, timestamp: i64, body: &[u8]) -> Result<HeaderValue> {
        if timestamp < 0 {
            return Err(Error::InvalidInput("negative timestamp"));
        }
        let tags: Vec<[u8; 32]> = self
            .keys
            .iter()
            .map(|k| self.tag(k, timestamp, body))
            .collect();
        let mut text = String::with_capacity(header_len(&tags));
        write_header(&mut text, timestamp, &tags);
        let mut value =
            HeaderValue::try_from(text).map_err(|_| Error::InvalidInput("unencodable header"))?;
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
        self.verify_bytes(value.as_bytes(), body, now, tolerance)
    }

    /// [`verify_value`](Self::verify_value) on the raw (already ASCII-checked) value.
    ///
    /// One pass parses the header and hex-decodes up to [`INLINE_SIGNATURES`] signatures into
    /// stack arrays; each secret's tag is then compared in constant time with every one of
    /// them (no early exit). Headers with more signatures are compared on a second pass.
    fn verify_bytes(
        &self,
        value: &[u8],
        body: &[u8],
        now: Option<i64>,
        tolerance: Tolerance,
    ) -> Result<Verified> {
        let mut any_signature = false;
        let mut decoded = [[0u8; 32]; INLINE_SIGNATURES];
        let mut n_decoded = 0usize;
        let mut overflow = false;
        let timestamp = scan(value, self.signature_keys, |v| {
            any_signature = true;
            match decoded.get_mut(n_decoded) {
                Some(slot) => {
                    if mac::decode_hex32(v, slot) {
                        n_decoded += 1;
                    }
                }
                None => overflow |= mac::hex32(v).is_some(),
            }
        })
        .map_err(|r| headers::malformed(&self.header, r))?;
        if !any_signature {
            return Err(headers::malformed(&self.header, "no signature"));
        }
        if let Some(now) = now {
            tolerance.check(timestamp.value, now)?;
        }
        let candidates = decoded.get(..n_decoded).unwrap_or_default();
        for (index, key) in self.keys.iter().enumerate() {
            let expected = self.tag_parsed(key, timestamp, body);
            // Every candidate is compared (no early exit inside one key's pass).
            let mut matched = candidates
                .iter()
                .fold(false, |acc, sig| acc | mac::ct_eq(&expected, sig));
            if overflow {
                let _ = scan(value, self.signature_keys, |v| {
                    if let Some(sig) = mac::hex32(v) {
                        matched |= mac::ct_eq(&expected, &sig);
                    }
                });
            }
            if matched {
                return Ok(Verified {
                    id: None,
                    timestamp: Some(timestamp.value),
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
        let value = headers.single_bytes(&self.header)?;
        self.verify_bytes(value, body, now, tolerance)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The `&str` scan this module used before the byte-level one, kept as the reference.
    fn reference_scan(
        value: &str,
        keys: SignatureKeys,
    ) -> std::result::Result<(i64, Vec<Vec<u8>>), &'static str> {
        if value.is_empty() {
            return Err("empty value");
        }
        let mut timestamp = None;
        let mut sigs = Vec::new();
        for pair in value.split(',') {
            let (k, v) = pair.split_once('=').ok_or("pair without `=`")?;
            if k == "t" {
                if timestamp.is_some() {
                    return Err("repeated `t`");
                }
                timestamp = Some(v.parse::<i64>().map_err(|_| "`t` is not an integer")?);
            } else if keys.matches(k.as_bytes()) {
                sigs.push(v.as_bytes().to_vec());
            }
        }
        timestamp.ok_or("no `t`").map(|t| (t, sigs))
    }

    fn byte_scan(
        value: &str,
        keys: SignatureKeys,
    ) -> std::result::Result<(i64, Vec<Vec<u8>>), &'static str> {
        let mut sigs = Vec::new();
        let t = scan(value.as_bytes(), keys, |v| sigs.push(v.to_vec()))?;
        if let Some(digits) = t.canonical {
            assert_eq!(digits, t.value.to_string().as_bytes());
        }
        Ok((t.value, sigs))
    }

    #[test]
    fn parse_i64_matches_std() {
        for text in [
            "0",
            "-0",
            "+0",
            "007",
            "+12",
            "-12",
            "",
            "+",
            "-",
            "+-1",
            "1 ",
            " 1",
            "1_000",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "99999999999999999999999",
            "١٢",
        ] {
            assert_eq!(
                parse_i64(text.as_bytes()),
                text.parse::<i64>().ok(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn canonical_only_when_display_agrees() {
        for (text, canonical) in [
            ("0", true),
            ("1694033429", true),
            ("-5", true),
            ("-0", false),
            ("+5", false),
            ("05", false),
            ("-05", false),
        ] {
            assert_eq!(is_canonical(text.as_bytes()), canonical, "{text:?}");
        }
    }

    #[test]
    fn find_comma_every_position() {
        for len in 0..40 {
            let mut bytes = vec![b'a'; len];
            assert_eq!(find_comma(&bytes), len);
            for at in 0..len {
                bytes.fill(b'a');
                bytes[at] = b',';
                if at + 3 < len {
                    bytes[at + 3] = b',';
                }
                assert_eq!(find_comma(&bytes), at, "len {len} at {at}");
            }
        }
        // Bytes next to `,` (0x2c) in value must not be mistaken for it.
        assert_eq!(find_comma(&[0x2b, 0x2d, 0xac, 0x2c]), 3);
    }

    #[test]
    fn more_signatures_than_kept_inline_are_all_compared() {
        let format = crate::presets::zerotier::format();
        let key = "778c6dab5feca625c7831644d18c4d0e4b3a337bff8a1e1c8f938f9cc20e6536";
        let signer = Timestamped::new(&format, &[Secret::new(key)]).unwrap();
        let good = signer.sign(1_700_000_000, b"body").unwrap();
        let good = good.to_str().unwrap();
        let good_sig = good.split_once(",v1=").unwrap().1;
        let wrong = "ab".repeat(32);
        for position in 0..=INLINE_SIGNATURES + 2 {
            let mut sigs = vec![wrong.as_str(); INLINE_SIGNATURES + 2];
            sigs.insert(position, good_sig);
            let value = format!("t=1700000000,v1={}", sigs.join(",v1="));
            assert!(
                signer
                    .verify_value(&value, b"body", None, Tolerance::default())
                    .is_ok(),
                "good signature at {position}"
            );
            let value = value.replace(good_sig, &wrong);
            assert_eq!(
                signer.verify_value(&value, b"body", None, Tolerance::default()),
                Err(Error::SignatureMismatch)
            );
        }
    }

    proptest! {
        /// The header text is what `format!` and `hex::encode` wrote before, for any
        /// timestamp and any signature lengths (the hex goes through 64-byte chunks).
        #[test]
        fn header_text_matches_the_formatted_one(
            timestamp in any::<i64>(),
            signatures in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..150), 0..4),
        ) {
            let mut want = format!("t={timestamp}");
            for sig in &signatures {
                want.push_str(",v1=");
                want.push_str(&hex::encode(sig));
            }
            let header = SignatureHeader { timestamp, signatures };
            let got = header.to_header_string();
            prop_assert!(got.len() <= header_len(&header.signatures));
            prop_assert_eq!(got, want);
        }

        #[test]
        fn byte_scan_matches_str_scan(
            value in "([tv1x=,0-9a-f+-]|é){0,40}",
            contains_v in any::<bool>(),
        ) {
            let keys = if contains_v { SignatureKeys::ContainsV } else { SignatureKeys::V1 };
            prop_assert_eq!(byte_scan(&value, keys), reference_scan(&value, keys));
        }

        #[test]
        fn parse_i64_matches_std_on_any_text(text in "[+-]?[0-9]{0,21}|\\PC{0,6}") {
            prop_assert_eq!(parse_i64(text.as_bytes()), text.parse::<i64>().ok());
        }
    }
}
