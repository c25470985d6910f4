//! Parsing plumbing shared by every family.
//!
//! Two paths give the same result. The **direct path** ([`parse_with`], [`RawObject`]) reads
//! the top-level object once without decoding its values (keys and each value's raw text,
//! sorted, the last of repeated keys kept), picks the type from the discriminator and
//! deserializes every field straight from its bytes into its final type. The **reference
//! path** reads the bytes into a `serde_json::Value` (where the last of repeated keys wins at
//! every depth) and converts it, naming the failing field's path in errors.
//!
//! The direct path gives up (and the reference path runs) on anything it does not handle the
//! same way: any error at all (so every error, message and path comes from the reference
//! path), a repeated key below the top level inside a typed struct (serde's derive refuses it
//! as a duplicate field, where the reference path keeps the last), and documents nested deep
//! enough to reach serde_json's recursion limit (the direct path reads values with a fresh
//! limit). Unknown fields, `Value`/[`Object`] fields and `null` are read the same way by both.

use std::borrow::Cow;

use serde::de::value::{BorrowedStrDeserializer, StringDeserializer};
use serde::de::{DeserializeOwned, DeserializeSeed, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::error::{ParseError, join_path};

/// A JSON object, the representation of every unknown or free-form part of a payload.
pub type Object = Map<String, Value>;

pub(crate) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Parses `bytes` on the direct path with `fast`, or, when it gives up (`None`), on the
/// reference path with `slow` (see the module docs).
pub(crate) fn parse_with<'a, T>(
    bytes: &'a [u8],
    fast: impl FnOnce(RawObject<'a>) -> Option<T>,
    slow: impl FnOnce(Value) -> Result<T, ParseError>,
) -> Result<T, ParseError> {
    if !may_reach_depth_limit(bytes)
        && let Some(object) = RawObject::parse(bytes)
        && let Some(parsed) = fast(object)
    {
        return Ok(parsed);
    }
    slow(parse_value(bytes)?)
}

/// Parses bytes holding one object of type `T` (direct path, then reference path).
pub(crate) fn parse_typed<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ParseError> {
    parse_with(bytes, RawObject::into_typed, |v| from_value(v, ""))
}

/// serde_json refuses documents nested 128 deep; the direct path reads each top-level value
/// with a fresh limit, so it stands aside for any document that could be that deep (at least
/// 128 opening brackets). Counting is one vectorized pass: `b | 0x20 == b'{'` holds exactly
/// for `[` and `{`, and each chunk of 255 bytes is counted in byte-wide lanes (a count per
/// chunk fits a `u8`), which keeps the pass at a fraction of an instruction per byte.
fn may_reach_depth_limit(bytes: &[u8]) -> bool {
    if bytes.len() < 256 {
        return false;
    }
    let mut openers = 0usize;
    for chunk in bytes.chunks(255) {
        let n = chunk
            .iter()
            .fold(0u8, |n, &b| n.wrapping_add(u8::from(b | 0x20 == b'{')));
        openers += usize::from(n);
        if openers >= 127 {
            return true;
        }
    }
    false
}

/// A top-level JSON object read without decoding its values: each key (borrowed unless it has
/// escapes) with its value's raw text, sorted by key, the last of repeated keys kept.
pub(crate) struct RawObject<'a> {
    entries: Vec<(Cow<'a, str>, &'a RawValue)>,
}

impl<'a> RawObject<'a> {
    /// `None` unless `bytes` are exactly one valid JSON object.
    pub(crate) fn parse(bytes: &'a [u8]) -> Option<Self> {
        let RawEntries(mut entries) = serde_json::from_slice(bytes).ok()?;
        // Stable: among equal keys the document order stays, and the last one is kept.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut unique: Vec<(Cow<'a, str>, &'a RawValue)> = Vec::with_capacity(entries.len());
        for entry in entries {
            match unique.last_mut() {
                Some(last) if last.0 == entry.0 => *last = entry,
                _ => unique.push(entry),
            }
        }
        Some(Self { entries: unique })
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.entries
            .binary_search_by(|(k, _)| k.as_ref().cmp(key))
            .ok()
    }

    /// The raw value at `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.position(key).map(|i| self.entries[i].1)
    }

    /// Whether `key` is present (with any value, `null` included).
    pub(crate) fn has(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Takes `key` out of the object.
    pub(crate) fn remove(&mut self, key: &str) -> Option<&'a RawValue> {
        self.position(key).map(|i| self.entries.remove(i).1)
    }

    /// The string at `key`, if it is a string.
    pub(crate) fn str(&self, key: &str) -> Option<Cow<'a, str>> {
        raw_str(self.get(key)?)
    }

    /// Deserializes the whole object into `T`; `None` on any error.
    pub(crate) fn into_typed<T: Deserialize<'a>>(self) -> Option<T> {
        T::deserialize(RawObjectDe {
            entries: self.entries.into_iter(),
            value: None,
        })
        .ok()
    }
}

/// A raw JSON string's text; `None` if the value is not a string.
pub(crate) fn raw_str(raw: &RawValue) -> Option<Cow<'_, str>> {
    let text = raw.get();
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    if inner.contains('\\') {
        serde_json::from_str::<String>(text).ok().map(Cow::Owned)
    } else {
        // serde_json checked it: no control characters, valid UTF-8, no escapes to decode.
        Some(Cow::Borrowed(inner))
    }
}

/// Deserializes one raw value into `T`; `None` on any error.
pub(crate) fn from_raw<'a, T: Deserialize<'a>>(raw: &'a RawValue) -> Option<T> {
    serde_json::from_str(raw.get()).ok()
}

/// [`from_raw`] for a typed object one level down (a content object, a payload): when serde
/// refuses it (a repeated key is a duplicate field to serde's derive), it is read once more as
/// a [`RawObject`], which keeps the last of repeated keys, as the reference path does.
pub(crate) fn from_raw_object<'a, T: Deserialize<'a>>(raw: &'a RawValue) -> Option<T> {
    from_raw(raw).or_else(|| RawObject::parse(raw.get().as_bytes())?.into_typed())
}

/// Whether a raw value is `{}` (JSON whitespace allowed inside).
fn raw_is_empty_object(raw: &RawValue) -> bool {
    raw.get()
        .strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .is_some_and(|inside| inside.trim().is_empty())
}

/// A value still to be read into its final type: a `Value` on the reference path, raw text on
/// the direct path. Lets one function serve both paths where a family reads a nested part by
/// a discriminator (a Zentitle payload by `eventCode`, ZTA `data` by `event`).
pub(crate) trait Fragment: Sized {
    /// `ParseError` on the reference path, `()` on the direct path (which only gives up).
    type Error;
    /// Whether the fragment is `{}`.
    fn is_empty_object(&self) -> bool;
    /// The fragment as a typed object; `path` names it in errors.
    fn typed<T: DeserializeOwned>(self, path: &str) -> Result<T, Self::Error>;
    /// The fragment as a JSON value.
    fn value(self) -> Result<Value, Self::Error>;
}

impl Fragment for Value {
    type Error = ParseError;

    fn is_empty_object(&self) -> bool {
        self.as_object().is_some_and(Map::is_empty)
    }

    fn typed<T: DeserializeOwned>(self, path: &str) -> Result<T, ParseError> {
        from_value(self, path)
    }

    fn value(self) -> Result<Value, ParseError> {
        Ok(self)
    }
}

impl Fragment for &RawValue {
    type Error = ();

    fn is_empty_object(&self) -> bool {
        raw_is_empty_object(self)
    }

    fn typed<T: DeserializeOwned>(self, _: &str) -> Result<T, ()> {
        from_raw_object(self).ok_or(())
    }

    fn value(self) -> Result<Value, ()> {
        from_raw(self).ok_or(())
    }
}

struct RawEntries<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for RawEntries<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(EntriesVisitor)
    }
}

struct EntriesVisitor;

impl<'de> Visitor<'de> for EntriesVisitor {
    type Value = RawEntries<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(16));
        while let Some(key) = map.next_key_seed(KeySeed)? {
            entries.push((key, map.next_value::<&'de RawValue>()?));
        }
        Ok(RawEntries(entries))
    }
}

/// A key, borrowed from the input when it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(KeySeed)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// A [`RawObject`] as a serde map: keys as given, each value read by serde_json from its raw
/// text straight into the type the visitor asks for.
struct RawObjectDe<'a> {
    entries: std::vec::IntoIter<(Cow<'a, str>, &'a RawValue)>,
    value: Option<&'a RawValue>,
}

impl<'de> Deserializer<'de> for RawObjectDe<'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_map(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de> MapAccess<'de> for RawObjectDe<'de> {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        match key {
            Cow::Borrowed(k) => seed.deserialize(BorrowedStrDeserializer::new(k)),
            Cow::Owned(k) => seed.deserialize(StringDeserializer::new(k)),
        }
        .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        let raw = self
            .value
            .take()
            .ok_or_else(|| <Self::Error as serde::de::Error>::custom("value without a key"))?;
        let mut de = serde_json::Deserializer::from_str(raw.get());
        let value = seed.deserialize(&mut de)?;
        de.end()?;
        Ok(value)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// Parses bytes as one JSON value.
pub(crate) fn parse_value(bytes: &[u8]) -> Result<Value, ParseError> {
    serde_json::from_slice::<Value>(bytes).map_err(|e| ParseError::Syntax {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })
}

/// Parses bytes as one JSON object.
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Object, ParseError> {
    into_object(parse_value(bytes)?)
}

pub(crate) fn into_object(value: Value) -> Result<Object, ParseError> {
    match value {
        Value::Object(m) => Ok(m),
        other => Err(ParseError::NotAnObject {
            found: kind_of(&other),
        }),
    }
}

/// Converts a value into `T`, reporting the failing field's path under `prefix`.
pub(crate) fn from_value<T: DeserializeOwned>(value: Value, prefix: &str) -> Result<T, ParseError> {
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        let message = e.into_inner().to_string();
        let full = join_path(prefix, &path);
        if let Some(rest) = message.strip_prefix("missing field `") {
            let name = rest.trim_end_matches('`');
            ParseError::MissingField {
                path: join_path(&full, name),
            }
        } else {
            ParseError::InvalidField {
                path: full,
                message,
            }
        }
    })
}

/// Converts an object into `T` (see [`from_value`]).
pub(crate) fn from_object<T: DeserializeOwned>(map: Object, prefix: &str) -> Result<T, ParseError> {
    from_value(Value::Object(map), prefix)
}

/// Returns the string at `key`, if it is one.
pub(crate) fn str_field<'a>(map: &'a Object, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}

/// A required string discriminator.
pub(crate) fn required_str<'a>(map: &'a Object, key: &str) -> Result<&'a str, ParseError> {
    match map.get(key) {
        None => Err(ParseError::MissingField { path: key.into() }),
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(ParseError::invalid(
            key,
            format!("invalid type: {}, expected a string", kind_of(other)),
        )),
    }
}

/// `deserialize_with` for a field that must be present but may be `null`
/// (`Option<T>` without `default`: absent is an error, `null` is `None` and serializes back
/// as `null`).
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d)
}

/// `deserialize_with` for an optional field that may also be `null`: absent is `None`,
/// `null` is `Some(None)`, so both survive a round trip. Use with
/// `#[serde(default, skip_serializing_if = "Option::is_none")]`.
pub(crate) fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// `deserialize_with` for an optional field that must not be `null` when present (a `null`
/// is refused with the field's path rather than silently dropped, which would lose it).
pub(crate) fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// Declares a string-backed enum that keeps unknown values verbatim in `Other`.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this version does not know, kept verbatim.
            Other(String),
        }

        impl $name {
            /// Every value this version knows, in wire spelling.
            pub const KNOWN: &'static [&'static str] = &[$($text),*];

            /// The wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $text, )*
                    Self::Other(s) => s,
                }
            }

            /// Maps a wire string to its variant (unknown strings become `Other`).
            pub fn from_wire(s: &str) -> Self {
                match s {
                    $( $text => Self::$variant, )*
                    other => Self::Other(other.to_owned()),
                }
            }

            /// `false` for `Other`.
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Other(_))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::convert::From<&str> for $name {
            fn from(s: &str) -> Self {
                Self::from_wire(s)
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str>>::deserialize(d)?;
                Ok(Self::from_wire(&s))
            }
        }
    };
}
pub(crate) use string_enum;

/// Implements `Deserialize` for a type whose parser works on a `serde_json::Value`
/// (`fn from_value(Value) -> Result<Self, ParseError>`), so it also copes with whatever
/// shape-dependent dispatch the family needs.
macro_rules! deserialize_via_value {
    ($ty:ty) => {
        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = ::serde_json::Value::deserialize(d)?;
                <$ty>::from_value(v).map_err(<D::Error as ::serde::de::Error>::custom)
            }
        }
    };
}
pub(crate) use deserialize_via_value;

/// Serializes a value to a `serde_json::Value`; serializing these types cannot fail
/// (string keys, no non-finite floats can be produced by the parsers), so a failure is
/// mapped to `Value::Null` rather than a panic.
pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Serializes a value to compact JSON bytes.
pub(crate) fn to_vec<T: serde::Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

#[cfg(test)]
mod tests;
