//! The Standard Webhooks payload envelope: `{"type", "timestamp", "data"}`.

use hookwire_events_derive::Lossless;
use serde::Serialize;
use serde_json::Value;

use crate::de::{self, Object, deserialize_via_value};
use crate::error::ParseError;

/// Standard Webhooks has no fixed list of types; any non-empty type is valid.
pub const EVENT_TYPES: &[&str] = &[];

/// One Standard Webhooks event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// `type` (full-stop delimited, e.g. `user.created`).
    #[serde(rename = "type")]
    pub kind: String,
    /// `timestamp` (ISO-8601).
    pub timestamp: String,
    /// `data`.
    pub data: Value,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Object,
}

#[derive(Lossless)]
struct Raw {
    #[serde(rename = "type")]
    kind: String,
    timestamp: String,
    data: Value,
    #[serde(flatten)]
    extra: Object,
}

impl Event {
    /// Builds an event.
    pub fn new(kind: impl Into<String>, timestamp: impl Into<String>, data: Value) -> Self {
        Self {
            kind: kind.into(),
            timestamp: timestamp.into(),
            data,
            extra: Object::new(),
        }
    }

    /// Converts a parsed JSON value.
    pub fn from_value(value: Value) -> Result<Self, ParseError> {
        let raw: Raw = de::from_value(value, "")?;
        Ok(Self {
            kind: raw.kind,
            timestamp: raw.timestamp,
            data: raw.data,
            extra: raw.extra,
        })
    }

    /// The direct path of [`parse`] (one pass over the bytes).
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let raw: Raw = de::from_bytes(bytes)?;
        Some(Self {
            kind: raw.kind,
            timestamp: raw.timestamp,
            data: raw.data,
            extra: raw.extra,
        })
    }

    /// `type`.
    pub fn event_type(&self) -> &str {
        &self.kind
    }

    /// The event as a JSON value.
    pub fn to_json(&self) -> Value {
        de::to_json(self)
    }

    /// The event as compact JSON bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        de::to_vec(self)
    }
}

deserialize_via_value!(Event);

/// Parses a Standard Webhooks payload.
pub fn parse(bytes: &[u8]) -> Result<Event, ParseError> {
    de::parse_direct(bytes, Event::from_bytes, Event::from_value)
}
