//! Parsing plumbing shared by every family.
//!
//! Two paths give the same result. The **reference path** reads the bytes into a
//! `serde_json::Value` (where the last of repeated keys wins at every depth) and converts it,
//! naming the failing field's path in errors. The **direct path** reads the bytes straight
//! into the final types, in one of two ways:
//!
//! - **One pass** ([`parse_direct`]; ZeroTier, Hub Message and Z-API, Standard Webhooks):
//!   [`scan_top`] finds the discriminator at the top level without reading anything else, and
//!   serde_json then reads the whole document once into the type it names. The structs derive
//!   `Deserialize` with [`Lossless`](hookwire_events_derive::Lossless), which keeps the last of
//!   repeated keys and every unknown field, at every depth.
//! - **Raw object** ([`parse_with`], [`RawObject`]; ZTA, ZITADEL, Zentitle2, whose nested
//!   parts are chosen by a discriminator or by which keys are present): the top-level object is
//!   read once without decoding its values (keys and each value's raw text, sorted, the last of
//!   repeated keys kept), and every field is then read from its raw text into its final type.
//!
//! The direct path gives up (and the reference path runs) on any error at all, so every
//! error, message and path comes from the reference path. The raw-object path also stands
//! aside for documents nested deep enough to reach serde_json's recursion limit (it reads
//! values with a fresh limit); the one-pass path has the reference path's own limit.
//! Unknown fields, `Value`/[`Object`] fields and `null` are read the same way by every path.

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

    /// Whether `key` is present (with any value, `null` included).
    pub(crate) fn has(&self, key: &str) -> bool {
        self.position(key).is_some()
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
pub(crate) struct KeySeed;

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

/// Parses `bytes` on the one-pass direct path with `fast`, or, when it gives up (`None`), on
/// the reference path with `slow`. `fast` reads the whole document with serde_json, so the
/// recursion limit is the reference path's own and no depth guard is needed.
pub(crate) fn parse_direct<'a, T>(
    bytes: &'a [u8],
    fast: impl FnOnce(&'a [u8]) -> Option<T>,
    slow: impl FnOnce(Value) -> Result<T, ParseError>,
) -> Result<T, ParseError> {
    if let Some(parsed) = fast(bytes) {
        return Ok(parsed);
    }
    slow(parse_value(bytes)?)
}

/// Deserializes a whole document into `T` in one pass; `None` on any error.
pub(crate) fn from_bytes<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Option<T> {
    serde_json::from_slice(bytes).ok()
}

/// What [`scan_top`] saw at a top-level key (the last occurrence).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seen<'a> {
    /// The key is not there.
    Absent,
    /// A string (escapes decoded).
    Str(Cow<'a, str>),
    /// Any other value, `null` included.
    Other,
}

impl Seen<'_> {
    /// The string, if the value is one.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Seen::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Finds `keys` at the top level of a JSON object without reading the rest: the discriminator
/// of a one-pass parse, the last occurrence of each key kept. `None` when the input is not an
/// object this scan can walk. The scan does not validate: the parse that follows reads every
/// byte, and a document it refuses goes to the reference path, so the scan only has to be
/// right on valid JSON. For valid JSON it is: strings end at the first quote not escaped by a
/// backslash, and brackets inside strings are skipped with them.
pub(crate) fn scan_top<'a, const N: usize>(
    bytes: &'a [u8],
    keys: [&str; N],
) -> Option<[Seen<'a>; N]> {
    let mut seen = [const { Seen::Absent }; N];
    let mut entries = TopEntries::new(bytes)?;
    while let Some(entry) = entries.next_entry()? {
        if let Some(slot) = keys.iter().position(|k| entry.key_is(k)) {
            seen[slot] = entry.seen()?;
        }
    }
    Some(seen)
}

/// The first occurrence of `key` at the top level, the scan stopping there (see
/// [`scan_top`]). A one-pass parse reads with the type it names and then checks that the
/// discriminator it read (the last occurrence, as every field) is the same.
pub(crate) fn scan_first<'a>(bytes: &'a [u8], key: &str) -> Option<Seen<'a>> {
    let mut entries = TopEntries::new(bytes)?;
    while let Some(entry) = entries.next_entry()? {
        if entry.key_is(key) {
            return entry.seen();
        }
    }
    Some(Seen::Absent)
}

/// A one-pass parse by a string discriminator at `key`, without scanning the whole top level
/// first: `read` reads the document as the type the first occurrence names, and the result is
/// kept if the discriminator it holds (`kept`: the last occurrence, as for every field) is the
/// same string. `None` when the first occurrence is not a string, the read fails or the
/// discriminator was repeated with another value: the caller then scans for the last one.
pub(crate) fn read_by_first<T>(
    bytes: &[u8],
    key: &str,
    read: impl FnOnce(&str) -> Option<T>,
    kept: impl FnOnce(&T) -> &str,
) -> Option<T> {
    let Seen::Str(first) = scan_first(bytes, key)? else {
        return None;
    };
    read(&first).filter(|parsed| kept(parsed) == first)
}

/// One top-level entry: the key's raw text between its quotes, and the value's raw text.
struct TopEntry<'a> {
    key: &'a [u8],
    value: &'a [u8],
}

impl<'a> TopEntry<'a> {
    fn key_is(&self, want: &str) -> bool {
        if memchr::memchr(b'\\', self.key).is_none() {
            self.key == want.as_bytes()
        } else {
            decode_string(self.key).is_some_and(|k| k == want)
        }
    }

    fn seen(&self) -> Option<Seen<'a>> {
        Some(match self.value.strip_prefix(b"\"") {
            Some(rest) => Seen::Str(decode_string(rest.strip_suffix(b"\"")?)?),
            None => Seen::Other,
        })
    }
}

/// A JSON string's text between its quotes, escapes decoded.
fn decode_string(inner: &[u8]) -> Option<Cow<'_, str>> {
    if memchr::memchr(b'\\', inner).is_none() {
        std::str::from_utf8(inner).ok().map(Cow::Borrowed)
    } else {
        let mut quoted = Vec::with_capacity(inner.len() + 2);
        quoted.push(b'"');
        quoted.extend_from_slice(inner);
        quoted.push(b'"');
        serde_json::from_slice::<String>(&quoted)
            .ok()
            .map(Cow::Owned)
    }
}

/// Walks the entries of a top-level object.
struct TopEntries<'a> {
    b: &'a [u8],
    i: usize,
    first: bool,
}

impl<'a> TopEntries<'a> {
    fn new(b: &'a [u8]) -> Option<Self> {
        let mut s = Self {
            b,
            i: 0,
            first: true,
        };
        s.ws();
        s.eat(b'{')?;
        Some(s)
    }

    /// The next entry, `Ok(None)`-like `Some(None)` at the closing brace, `None` on input this
    /// walk cannot read.
    fn next_entry(&mut self) -> Option<Option<TopEntry<'a>>> {
        self.ws();
        match self.peek()? {
            b'}' => return Some(None),
            b',' if !self.first => {
                self.i += 1;
                self.ws();
            }
            _ if self.first => {}
            _ => return None,
        }
        self.first = false;
        if self.peek()? != b'"' {
            return None;
        }
        let key_start = self.i + 1;
        self.skip_string()?;
        let key = self.b.get(key_start..self.i - 1)?;
        self.ws();
        self.eat(b':')?;
        self.ws();
        let value_start = self.i;
        self.value()?;
        Some(Some(TopEntry {
            key,
            value: self.b.get(value_start..self.i)?,
        }))
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// Past a string's closing quote (`self.i` is at its opening quote).
    fn skip_string(&mut self) -> Option<()> {
        self.i += 1;
        loop {
            let at = self.i + memchr::memchr2(b'"', b'\\', self.b.get(self.i..)?)?;
            if self.b.get(at) == Some(&b'"') {
                self.i = at + 1;
                return Some(());
            }
            self.i = at + 2;
        }
    }

    /// Past one value.
    fn value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.skip_string(),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        b'"' => self.skip_string()?,
                        b'{' | b'[' => {
                            depth += 1;
                            self.i += 1;
                        }
                        b'}' | b']' => {
                            depth = depth.checked_sub(1)?;
                            self.i += 1;
                            if depth == 0 {
                                return Some(());
                            }
                        }
                        _ => self.i += 1,
                    }
                }
            }
            _ => {
                let start = self.i;
                while !matches!(
                    self.peek(),
                    None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                ) {
                    self.i += 1;
                }
                (self.i > start).then_some(())
            }
        }
    }
}

/// The value of a field missing from the input and not `default`: `None` for an `Option`
/// (as serde's derive reads it), a missing-field error for anything else.
pub(crate) fn missing_field<'de, T: Deserialize<'de>, E: serde::de::Error>(
    field: &'static str,
) -> Result<T, E> {
    T::deserialize(MissingField {
        field,
        error: std::marker::PhantomData,
    })
}

struct MissingField<E> {
    field: &'static str,
    error: std::marker::PhantomData<E>,
}

impl<'de, E: serde::de::Error> Deserializer<'de> for MissingField<E> {
    type Error = E;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, E> {
        Err(E::missing_field(self.field))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        visitor.visit_none()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

/// A part of a struct chosen by its key among several (a message's content object: `text`,
/// `image`, ...), for a `#[lossless(keyed)]` field. When several of its keys are present the
/// lowest rank wins and the others stay in the struct's catch-all object, as JSON values.
pub(crate) trait Keyed: Sized + serde::Serialize {
    /// The rank of `key` among the keys this part is read from; `None` if it is not one.
    fn rank(key: &str) -> Option<usize>;
    /// Reads the part at `key`.
    fn deserialize_keyed<'de, D: Deserializer<'de>>(key: &str, d: D) -> Result<Self, D::Error>;
    /// The key and JSON value the part was read from.
    fn into_entry(self) -> (String, Value);
}

/// The part chosen so far for a `#[lossless(keyed)]` field.
pub(crate) struct KeyedSlot<T> {
    best: Option<(usize, T)>,
}

impl<T> Default for KeyedSlot<T> {
    fn default() -> Self {
        Self { best: None }
    }
}

impl<T: Keyed> KeyedSlot<T> {
    /// Whether a part of `rank` would be chosen (a repeat of the chosen key replaces it).
    pub(crate) fn takes(&self, rank: usize) -> bool {
        self.best.as_ref().is_none_or(|(best, _)| rank <= *best)
    }

    /// Chooses `part`; a part of a higher rank it displaces goes to `extra`.
    pub(crate) fn put(&mut self, rank: usize, part: T, extra: &mut Object) {
        if let Some((old_rank, old)) = self.best.replace((rank, part))
            && old_rank != rank
        {
            let (key, value) = old.into_entry();
            extra.insert(key, value);
        }
    }

    /// The chosen part.
    pub(crate) fn into_option(self) -> Option<T> {
        self.best.map(|(_, part)| part)
    }
}

/// Reads a [`Keyed`] part at its key.
pub(crate) struct KeyedSeed<'k, T> {
    key: &'k str,
    part: std::marker::PhantomData<T>,
}

impl<'k, T> KeyedSeed<'k, T> {
    pub(crate) fn new(key: &'k str) -> Self {
        Self {
            key,
            part: std::marker::PhantomData,
        }
    }
}

impl<'de, T: Keyed> DeserializeSeed<'de> for KeyedSeed<'_, T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        T::deserialize_keyed(self.key, d)
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
