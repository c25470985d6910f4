//! Target and Execution resources (`zitadel.action.v2`, protojson camelCase).

use std::time::Duration;

use hookwire_events_derive::Lossless;
use serde::{Deserialize, Serialize};

use crate::de::{self, Object, string_enum};
use crate::error::ParseError;

string_enum! {
    /// `payloadType` of a target.
    #[non_exhaustive]
    pub enum PayloadType {
        /// Unspecified (treated as JSON).
        Unspecified = "PAYLOAD_TYPE_UNSPECIFIED",
        /// JSON body.
        Json = "PAYLOAD_TYPE_JSON",
        /// Compact JWS body.
        Jwt = "PAYLOAD_TYPE_JWT",
        /// Compact JWE body.
        Jwe = "PAYLOAD_TYPE_JWE",
    }
}

/// `restWebhook`/`restCall` options.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestOptions {
    /// `interruptOnError`: stop the chain when this target fails.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupt_on_error: bool,
}

/// The target type oneof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TargetType {
    /// `restWebhook`: the status code matters, the body is ignored.
    #[serde(rename = "restWebhook")]
    RestWebhook(RestOptions),
    /// `restCall`: status and body matter (the body replaces the request/response).
    #[serde(rename = "restCall")]
    RestCall(RestOptions),
    /// `restAsync`: fire and forget.
    #[serde(rename = "restAsync")]
    RestAsync(Object),
}

impl TargetType {
    /// `interruptOnError` (always `false` for `restAsync`).
    pub fn interrupt_on_error(&self) -> bool {
        match self {
            Self::RestWebhook(o) | Self::RestCall(o) => o.interrupt_on_error,
            Self::RestAsync(_) => false,
        }
    }
}

/// A target (`zitadel.action.v2.Target`). `signingKey` is redacted from `Debug`.
#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// `id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `creationDate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_date: Option<String>,
    /// `changeDate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_date: Option<String>,
    /// `name`.
    #[serde(default)]
    pub name: String,
    /// `endpoint`.
    #[serde(default)]
    pub endpoint: String,
    /// `timeout`: a protobuf Duration string such as `"10s"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// `signingKey` (returned once on creation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<String>,
    /// `payloadType`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_type: Option<PayloadType>,
    /// The target type (`restWebhook`, `restCall` or `restAsync` key).
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub target_type: Option<TargetType>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Object,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("endpoint", &self.endpoint)
            .field("timeout", &self.timeout)
            .field(
                "signing_key",
                &self.signing_key.as_ref().map(|_| "<redacted>"),
            )
            .field("payload_type", &self.payload_type)
            .field("target_type", &self.target_type)
            .field("extra", &self.extra)
            .finish_non_exhaustive()
    }
}

impl Target {
    fn with_type(
        name: impl Into<String>,
        endpoint: impl Into<String>,
        timeout: Duration,
        t: TargetType,
    ) -> Self {
        Self {
            name: name.into(),
            endpoint: endpoint.into(),
            timeout: Some(format_duration(timeout)),
            target_type: Some(t),
            payload_type: Some(PayloadType::Json),
            ..Self::default()
        }
    }

    /// A `restWebhook` target.
    pub fn rest_webhook(
        name: impl Into<String>,
        endpoint: impl Into<String>,
        timeout: Duration,
        interrupt_on_error: bool,
    ) -> Self {
        Self::with_type(
            name,
            endpoint,
            timeout,
            TargetType::RestWebhook(RestOptions { interrupt_on_error }),
        )
    }

    /// A `restCall` target.
    pub fn rest_call(
        name: impl Into<String>,
        endpoint: impl Into<String>,
        timeout: Duration,
        interrupt_on_error: bool,
    ) -> Self {
        Self::with_type(
            name,
            endpoint,
            timeout,
            TargetType::RestCall(RestOptions { interrupt_on_error }),
        )
    }

    /// A `restAsync` target.
    pub fn rest_async(
        name: impl Into<String>,
        endpoint: impl Into<String>,
        timeout: Duration,
    ) -> Self {
        Self::with_type(
            name,
            endpoint,
            timeout,
            TargetType::RestAsync(Object::new()),
        )
    }

    /// `timeout` as a [`Duration`].
    pub fn timeout_duration(&self) -> Result<Option<Duration>, ParseError> {
        self.timeout.as_deref().map(parse_duration).transpose()
    }

    /// The effective payload type (`Unspecified` counts as JSON).
    pub fn effective_payload_type(&self) -> PayloadType {
        match &self.payload_type {
            None | Some(PayloadType::Unspecified) => PayloadType::Json,
            Some(p) => p.clone(),
        }
    }

    /// Parses a target from JSON bytes (duplicate keys: the last wins).
    pub fn from_json(bytes: &[u8]) -> Result<Self, ParseError> {
        de::parse_typed(bytes)
    }
}

/// Formats a duration as a protobuf JSON Duration (`"10s"`, `"1.5s"`).
pub fn format_duration(d: Duration) -> String {
    let nanos = d.subsec_nanos();
    if nanos == 0 {
        format!("{}s", d.as_secs())
    } else {
        let frac = format!("{nanos:09}");
        format!("{}.{}s", d.as_secs(), frac.trim_end_matches('0'))
    }
}

/// Parses a protobuf JSON Duration (`"10s"`, `"0.5s"`, up to 9 fractional digits).
pub fn parse_duration(s: &str) -> Result<Duration, ParseError> {
    let bad = || ParseError::invalid("timeout", format!("not a duration like \"10s\": {s:?}"));
    let body = s.strip_suffix('s').ok_or_else(bad)?;
    let (secs, frac) = match body.split_once('.') {
        Some((a, b)) => (a, b),
        None => (body, ""),
    };
    if secs.is_empty()
        || !secs.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 9
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let secs: u64 = secs.parse().map_err(|_| bad())?;
    let nanos: u32 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().map_err(|_| bad())?
    };
    Ok(Duration::new(secs, nanos))
}

/// `request`/`response` condition: one method, one service, or all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum MethodCondition {
    /// `method`, e.g. `/zitadel.user.v2.UserService/AddHumanUser`.
    Method(String),
    /// `service`, e.g. `zitadel.user.v2.UserService`.
    Service(String),
    /// `all: true`.
    All(bool),
}

impl MethodCondition {
    /// Whether a gRPC full method matches.
    pub fn matches(&self, full_method: &str) -> bool {
        match self {
            Self::Method(m) => m == full_method,
            Self::Service(s) => full_method
                .strip_prefix('/')
                .and_then(|r| r.split_once('/'))
                .is_some_and(|(svc, _)| svc == s),
            Self::All(all) => *all,
        }
    }
}

/// `function` condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionCondition {
    /// `name` (`preuserinfo`, `preaccesstoken`, ...).
    pub name: String,
}

/// `event` condition: one event type, a group, or all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum EventCondition {
    /// `event`, e.g. `user.human.added`.
    Event(String),
    /// `group`, e.g. `user.human.*` (or `user.human`).
    Group(String),
    /// `all: true`.
    All(bool),
}

impl EventCondition {
    /// Whether an event type matches (groups match every type below them).
    pub fn matches(&self, event_type: &str) -> bool {
        match self {
            Self::Event(e) => e == event_type,
            Self::Group(g) => {
                let prefix = g.strip_suffix(".*").unwrap_or(g);
                event_type
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('.'))
            }
            Self::All(all) => *all,
        }
    }
}

/// An execution's condition (the proto `Condition` oneof).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum Condition {
    /// `request`.
    Request(MethodCondition),
    /// `response`.
    Response(MethodCondition),
    /// `function`.
    Function(FunctionCondition),
    /// `event`.
    Event(EventCondition),
}

/// A target reference in an execution: an id, or the older v2beta `{"target": id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TargetRef {
    /// A target id.
    Id(String),
    /// `{"target": id}` (v2beta).
    Object {
        /// `target`.
        target: String,
    },
}

impl TargetRef {
    /// The target id.
    pub fn id(&self) -> &str {
        match self {
            Self::Id(s) | Self::Object { target: s } => s,
        }
    }
}

/// An execution: a condition and the targets it calls, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Lossless)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    /// `condition`.
    pub condition: Condition,
    /// `targets`.
    #[serde(default)]
    pub targets: Vec<TargetRef>,
    /// `creationDate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_date: Option<String>,
    /// `changeDate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_date: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Object,
}

impl Execution {
    /// An execution calling `targets` in order.
    pub fn new(condition: Condition, targets: impl IntoIterator<Item = String>) -> Self {
        Self {
            condition,
            targets: targets.into_iter().map(TargetRef::Id).collect(),
            creation_date: None,
            change_date: None,
            extra: Object::new(),
        }
    }

    /// Parses an execution from JSON bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ParseError> {
        de::parse_typed(bytes)
    }
}
