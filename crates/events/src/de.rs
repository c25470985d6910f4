//! Parsing plumbing shared by every family: bytes → `serde_json::Value` (duplicate keys:
//! the last one wins) → typed structs, with field paths in errors.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
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
