//! Zero Trust Analytics (ztas.io): the `{event, timestamp, data}` envelope.
//!
//! Typed `data` for the documented `pageview`, `event`, `goal` and `alert` events and for the
//! `test` event the real code sends (which carries `site_id` at the top level); every other
//! event (`session_end`, `daily_summary`, `traffic_spike`, `goal_completed`, unknown ones)
//! keeps `data` as a JSON object.

use hookwire_events_derive::Lossless;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Number, Value};

use crate::de::{self, Object, deserialize_via_value, string_enum};
use crate::error::ParseError;

string_enum! {
    /// The `event` names: the documented five, the ones the code defines, and `test`.
    #[non_exhaustive]
    pub enum EventKind {
        /// A page view.
        Pageview = "pageview",
        /// A custom event.
        Event = "event",
        /// A goal conversion.
        Goal = "goal",
        /// An alert fired.
        Alert = "alert",
        /// A session ended (documented, no example published).
        SessionEnd = "session_end",
        /// Daily summary (code only).
        DailySummary = "daily_summary",
        /// Traffic spike (code only).
        TrafficSpike = "traffic_spike",
        /// Goal completed (code only).
        GoalCompleted = "goal_completed",
        /// The test webhook.
        Test = "test",
    }
}

/// The known event names.
pub const EVENT_TYPES: &[&str] = EventKind::KNOWN;

/// `data` of a `pageview`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
#[serde(rename_all = "camelCase")]
pub struct PageviewData {
    /// `siteId`.
    pub site_id: String,
    /// `path`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub path: Option<String>,
    /// `referrer`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::double_option"
    )]
    pub referrer: Option<Option<String>>,
    /// `country`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub country: Option<String>,
    /// `device`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub device: Option<String>,
    /// `browser`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub browser: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Object,
}

/// `data` of a custom `event`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
#[serde(rename_all = "camelCase")]
pub struct CustomEventData {
    /// `siteId`.
    pub site_id: String,
    /// `action`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub action: Option<String>,
    /// `category`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub category: Option<String>,
    /// `label`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub label: Option<String>,
    /// `value` (kept as the exact JSON number).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub value: Option<Number>,
    /// `path`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub path: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Object,
}

/// `data` of a `goal`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
#[serde(rename_all = "camelCase")]
pub struct GoalData {
    /// `siteId`.
    pub site_id: String,
    /// `goalId`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub goal_id: Option<String>,
    /// `goalName`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub goal_name: Option<String>,
    /// `path`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub path: Option<String>,
    /// `value`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub value: Option<Number>,
    /// Unknown fields (e.g. `visitorId`).
    #[serde(flatten)]
    pub extra: Object,
}

/// `data` of an `alert`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
#[serde(rename_all = "camelCase")]
pub struct AlertData {
    /// `siteId`.
    pub site_id: String,
    /// `alertId`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub alert_id: Option<String>,
    /// `alertName`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub alert_name: Option<String>,
    /// `condition`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub condition: Option<String>,
    /// `currentValue`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub current_value: Option<Number>,
    /// `threshold`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub threshold: Option<Number>,
    /// Unknown fields (e.g. `metric`, `operator`).
    #[serde(flatten)]
    pub extra: Object,
}

/// `data` of the `test` event the real code sends.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
pub struct TestData {
    /// `message`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub message: Option<String>,
    /// `webhook_id`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub webhook_id: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Object,
}

/// The typed `data` of an event, chosen by its `event` name.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Data {
    /// `pageview`.
    Pageview(PageviewData),
    /// `event`.
    Event(CustomEventData),
    /// `goal`.
    Goal(GoalData),
    /// `alert`.
    Alert(AlertData),
    /// `test`.
    Test(TestData),
    /// Any other event: `data` kept as a JSON value (usually an object).
    Other(Value),
}

/// One Zero Trust Analytics webhook delivery.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// `event` as sent.
    pub event: String,
    /// `timestamp` (ISO-8601 string).
    pub timestamp: String,
    /// `data`, typed by `event`.
    pub data: Data,
    /// Unknown top-level fields (e.g. the test event's `site_id`).
    #[serde(flatten)]
    pub extra: Object,
}

/// The envelope, with `data` as a `Value` (reference path) or raw text (direct path).
#[derive(Deserialize)]
struct RawEvent<D> {
    event: String,
    timestamp: String,
    data: D,
    #[serde(flatten)]
    extra: Object,
}

impl Event {
    /// Builds an event.
    pub fn new(kind: EventKind, timestamp: impl Into<String>, data: Data) -> Self {
        Self {
            event: kind.as_str().to_owned(),
            timestamp: timestamp.into(),
            data,
            extra: Object::new(),
        }
    }

    /// Builds the `test` event exactly as the real code sends it.
    pub fn test(
        timestamp: impl Into<String>,
        site_id: impl Into<String>,
        webhook_id: impl Into<String>,
    ) -> Self {
        let mut e = Self::new(
            EventKind::Test,
            timestamp,
            Data::Test(TestData {
                message: Some("This is a test webhook from Zero Trust Analytics".into()),
                webhook_id: Some(webhook_id.into()),
                extra: Object::new(),
            }),
        );
        e.extra
            .insert("site_id".into(), Value::String(site_id.into()));
        e
    }

    /// Converts a parsed JSON value.
    pub fn from_value(value: Value) -> Result<Self, ParseError> {
        Self::from_parts(de::from_value::<RawEvent<Value>>(value, "")?)
    }

    pub(crate) fn from_raw(object: de::RawObject<'_>) -> Option<Self> {
        Self::from_parts(object.into_typed::<RawEvent<&RawValue>>()?).ok()
    }

    /// The event from its envelope, `data` read by the event name (either path).
    fn from_parts<D: de::Fragment>(raw: RawEvent<D>) -> Result<Self, D::Error> {
        let data = match EventKind::from_wire(&raw.event) {
            EventKind::Pageview => Data::Pageview(raw.data.typed("data")?),
            EventKind::Event => Data::Event(raw.data.typed("data")?),
            EventKind::Goal => Data::Goal(raw.data.typed("data")?),
            EventKind::Alert => Data::Alert(raw.data.typed("data")?),
            EventKind::Test => Data::Test(raw.data.typed("data")?),
            _ => Data::Other(raw.data.value()?),
        };
        Ok(Self {
            event: raw.event,
            timestamp: raw.timestamp,
            data,
            extra: raw.extra,
        })
    }

    /// The typed event name.
    pub fn kind(&self) -> EventKind {
        EventKind::from_wire(&self.event)
    }

    /// `event` as sent.
    pub fn event_type(&self) -> &str {
        &self.event
    }

    /// The site id: `data.siteId`, or the test event's top-level `site_id`.
    pub fn site_id(&self) -> Option<&str> {
        match &self.data {
            Data::Pageview(d) => Some(&d.site_id),
            Data::Event(d) => Some(&d.site_id),
            Data::Goal(d) => Some(&d.site_id),
            Data::Alert(d) => Some(&d.site_id),
            Data::Test(_) | Data::Other(_) => {
                de::str_field(&self.extra, "site_id").or_else(|| self.data_other_str("siteId"))
            }
        }
    }

    fn data_other_str(&self, key: &str) -> Option<&str> {
        match &self.data {
            Data::Other(v) => v.get(key).and_then(Value::as_str),
            _ => None,
        }
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

/// Parses a Zero Trust Analytics webhook body.
pub fn parse(bytes: &[u8]) -> Result<Event, ParseError> {
    de::parse_with(bytes, Event::from_raw, Event::from_value)
}
