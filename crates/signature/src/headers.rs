//! Header lookup over an `http::HeaderMap` or plain `(name, value)` pairs, case-insensitive.

use http::{HeaderMap, HeaderName};

use crate::error::{Error, Result};

/// Where a verifier reads headers from.
#[derive(Clone, Copy)]
pub(crate) enum Headers<'a> {
    Map(&'a HeaderMap),
    Pairs(&'a [(&'a str, &'a str)]),
}

impl<'a> Headers<'a> {
    /// Calls `f` with every value of `name`, in order, until it returns `Some`.
    pub(crate) fn find_map<T>(
        &self,
        name: &HeaderName,
        mut f: impl FnMut(&'a [u8]) -> Option<T>,
    ) -> Option<T> {
        match *self {
            Headers::Map(map) => map.get_all(name).iter().find_map(|v| f(v.as_bytes())),
            Headers::Pairs(pairs) => pairs
                .iter()
                .filter(|(k, _)| k.trim().eq_ignore_ascii_case(name.as_str()))
                .find_map(|(_, v)| f(v.trim().as_bytes())),
        }
    }

    /// Whether `name` is present at all.
    pub(crate) fn contains(&self, name: &HeaderName) -> bool {
        self.find_map(name, |_| Some(())).is_some()
    }

    /// The single value of `name` as text.
    ///
    /// Missing gives `MissingHeader`; a repeated header or a value that is not visible ASCII
    /// gives `MalformedHeader`.
    pub(crate) fn single(&self, name: &HeaderName) -> Result<&'a str> {
        let value = self.single_raw(name)?;
        ascii(name, value)
    }

    /// As [`single`](Self::single), as bytes (checked to be visible ASCII, so also UTF-8).
    pub(crate) fn single_bytes(&self, name: &HeaderName) -> Result<&'a [u8]> {
        let value = self.single_raw(name)?;
        if is_visible_ascii(value) {
            Ok(value)
        } else {
            Err(malformed(name, "not ASCII"))
        }
    }

    /// The one value of `name`, unchecked: `MissingHeader` or `MalformedHeader` if repeated.
    fn single_raw(&self, name: &HeaderName) -> Result<&'a [u8]> {
        let (first, repeated) = match *self {
            Headers::Map(map) => {
                let mut values = map.get_all(name).iter();
                (values.next().map(|v| v.as_bytes()), values.next().is_some())
            }
            Headers::Pairs(_) => {
                let mut first = None;
                let mut count = 0usize;
                self.find_map(name, |v| {
                    count += 1;
                    if first.is_none() {
                        first = Some(v);
                    }
                    None::<()>
                });
                (first, count > 1)
            }
        };
        let value = first.ok_or_else(|| Error::MissingHeader(name.as_str().to_owned()))?;
        if repeated {
            return Err(malformed(name, "header repeated"));
        }
        Ok(value)
    }
}

/// Whether every byte is a tab or visible ASCII (`0x20..0x7f`). No early exit, so the loop
/// vectorizes; header values are short and the answer is not secret.
fn is_visible_ascii(value: &[u8]) -> bool {
    value.iter().fold(true, |ok, &b| {
        ok & ((b == b'\t') | (b.wrapping_sub(0x20) < 0x5f))
    })
}

/// The value as `&str` if it is visible ASCII (header values on the wire are).
pub(crate) fn ascii<'a>(name: &HeaderName, value: &'a [u8]) -> Result<&'a str> {
    if is_visible_ascii(value) {
        std::str::from_utf8(value).map_err(|_| malformed(name, "not ASCII"))
    } else {
        Err(malformed(name, "not ASCII"))
    }
}

pub(crate) fn malformed(name: &HeaderName, reason: &'static str) -> Error {
    Error::MalformedHeader(name.as_str().to_owned(), reason)
}

/// Parses a header name given as text.
pub(crate) fn header_name(name: &str) -> Result<HeaderName> {
    HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| Error::InvalidParameter("not a valid HTTP header name"))
}
