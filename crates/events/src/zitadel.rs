//! ZITADEL Actions v2: the payloads ZITADEL sends to targets (request, response, event and
//! function executions), the replies targets send back (function replies and the restCall
//! error reply), and the Target and Execution resources.
//!
//! [`parse`] classifies a body by its keys: `forwardedStatusCode`/`forwardedErrorMessage` →
//! [`Payload::ErrorReply`], `function` → [`Payload::Function`], `event_type`/`aggregateID`/
//! `event_payload` → [`Payload::Event`], `fullMethod`/`request` → [`Payload::Response`] (with
//! `response`) or [`Payload::Request`], function reply keys → [`Payload::FunctionReply`];
//! anything else (a bare protojson message such as a manipulated restCall reply) is
//! [`Payload::Other`].

mod resources;

pub use resources::*;

use base64::Engine as _;
use hookwire_events_derive::Lossless;
use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

use crate::de::{self, Object, deserialize_via_value};
use crate::error::ParseError;

/// The function names of function executions (`function/<name>` on the wire).
pub const FUNCTION_NAMES: &[&str] = &[
    "preuserinfo",
    "preaccesstoken",
    "presamlresponse",
    "preotpsmscode",
    "preotpemailcode",
];

/// The payload kinds (used as event types for subscriptions and routing): the execution
/// kinds and the `function/<name>` values. Event executions report their `event_type`
/// (e.g. `user.human.added`), request/response executions their `fullMethod`.
pub const EVENT_TYPES: &[&str] = &[
    "request",
    "response",
    "event",
    "function",
    "function/preuserinfo",
    "function/preaccesstoken",
    "function/presamlresponse",
    "function/preotpsmscode",
    "function/preotpemailcode",
];

/// `sequence`: a number in real payloads, a string in the docs' field descriptions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Sequence {
    /// A JSON number.
    Number(Number),
    /// A string.
    Text(String),
}

impl Sequence {
    /// The sequence as `u64`, parsing a numeric string.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Self::Number(n) => n.as_u64(),
            Self::Text(s) => s.trim().parse().ok(),
        }
    }
}

/// `event_payload`: an embedded JSON object (current) or a base64 string (older versions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EventPayload {
    /// The embedded object (`json.RawMessage` era).
    Object(Object),
    /// The legacy base64 string (Go `[]byte` era).
    Base64(String),
    /// Any other JSON value, kept as sent.
    Other(Value),
}

impl EventPayload {
    /// The payload as a JSON object: the object itself, or the base64 string decoded
    /// (whitespace ignored) and parsed.
    pub fn decode(&self) -> Result<Object, ParseError> {
        match self {
            Self::Object(o) => Ok(o.clone()),
            Self::Base64(s) => {
                let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(compact.as_bytes())
                    .map_err(|e| {
                        ParseError::invalid("event_payload", format!("invalid base64: {e}"))
                    })?;
                de::parse_object(&bytes).map_err(|e| match e {
                    ParseError::Syntax { message, .. } => {
                        ParseError::invalid("event_payload", format!("decoded payload: {message}"))
                    }
                    other => other.under("event_payload"),
                })
            }
            Self::Other(v) => Err(ParseError::invalid(
                "event_payload",
                format!(
                    "expected an object or a base64 string, found {}",
                    de::kind_of(v)
                ),
            )),
        }
    }
}

macro_rules! opt_fields {
    ($(#[$smeta:meta])* pub struct $name:ident { $( $(#[$fmeta:meta])* $field:ident : $ty:ty = $wire:literal, )* }) => {
        $(#[$smeta])*
        #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
        pub struct $name {
            $(
                #[doc = concat!("`", $wire, "`.")]
                $(#[$fmeta])*
                #[serde(rename = $wire, default, skip_serializing_if = "Option::is_none", deserialize_with = "de::present")]
                pub $field: Option<$ty>,
            )*
            /// Unknown fields, kept for a lossless round trip.
            #[serde(flatten)]
            pub extra: Object,
        }
    };
}

opt_fields! {
    /// An event execution (`ContextInfoEvent`; every field is `omitempty`).
    pub struct EventExecution {
        aggregate_id: String = "aggregateID",
        aggregate_type: String = "aggregateType",
        resource_owner: String = "resourceOwner",
        instance_id: String = "instanceID",
        version: String = "version",
        sequence: Sequence = "sequence",
        event_type: String = "event_type",
        created_at: String = "created_at",
        user_id: String = "userID",
        event_payload: EventPayload = "event_payload",
        /// Only in an intermediate version.
        position: Number = "position",
    }
}

opt_fields! {
    /// A request execution (`ContextInfoRequest`).
    pub struct RequestExecution {
        full_method: String = "fullMethod",
        instance_id: String = "instanceID",
        org_id: String = "orgID",
        project_id: String = "projectID",
        user_id: String = "userID",
        /// The protojson of the gRPC request (a string in the 2024 docs' description).
        request: Value = "request",
        /// Go `http.Header`: name → values (newer versions only).
        headers: std::collections::BTreeMap<String, Vec<String>> = "headers",
    }
}

opt_fields! {
    /// A response execution (`ContextInfoResponse`).
    pub struct ResponseExecution {
        full_method: String = "fullMethod",
        instance_id: String = "instanceID",
        org_id: String = "orgID",
        project_id: String = "projectID",
        user_id: String = "userID",
        /// The protojson of the gRPC request.
        request: Value = "request",
        /// The protojson of the gRPC response.
        response: Value = "response",
        /// Go `http.Header`.
        headers: std::collections::BTreeMap<String, Vec<String>> = "headers",
    }
}

opt_fields! {
    /// `user_metadata[]` of a function execution.
    pub struct UserMetadata {
        creation_date: String = "creation_date",
        change_date: String = "change_date",
        resource_owner: String = "resource_owner",
        sequence: Sequence = "sequence",
        key: String = "key",
        /// Base64 value.
        value: String = "value",
    }
}

opt_fields! {
    /// `org` of a function execution.
    pub struct Org {
        id: String = "id",
        name: String = "name",
        primary_domain: String = "primary_domain",
    }
}

opt_fields! {
    /// `user_grants[]` of a function execution.
    pub struct UserGrant {
        id: String = "id",
        project_grant_id: String = "projectGrantId",
        state: Value = "state",
        creation_date: String = "creationDate",
        change_date: String = "changeDate",
        sequence: Sequence = "sequence",
        user_id: String = "userId",
        roles: Vec<String> = "roles",
        user_resource_owner: String = "userResourceOwner",
        user_grant_resource_owner: String = "userGrantResourceOwner",
        user_grant_resource_owner_name: String = "userGrantResourceOwnerName",
        project_id: String = "projectId",
        project_name: String = "projectName",
    }
}

/// A function execution (`function/preuserinfo`, `function/preaccesstoken`, ...).
/// `userinfo` and `user` have non-uniform casing, so they stay JSON with accessors.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
pub struct FunctionExecution {
    /// `function` (`function/<name>`).
    pub function: String,
    /// `userinfo` (OIDC claims).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub userinfo: Option<Object>,
    /// `user`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub user: Option<Value>,
    /// `user_metadata`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::double_option"
    )]
    pub user_metadata: Option<Option<Vec<UserMetadata>>>,
    /// `org`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::double_option"
    )]
    pub org: Option<Option<Org>>,
    /// `user_grants`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::double_option"
    )]
    pub user_grants: Option<Option<Vec<UserGrant>>>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Object,
}

impl FunctionExecution {
    /// The function name without the `function/` prefix.
    pub fn name(&self) -> &str {
        self.function
            .strip_prefix("function/")
            .unwrap_or(&self.function)
    }

    /// `userinfo.sub`.
    pub fn subject(&self) -> Option<&str> {
        self.userinfo.as_ref().and_then(|u| de::str_field(u, "sub"))
    }

    /// `user.id`.
    pub fn user_id(&self) -> Option<&str> {
        self.user.as_ref()?.get("id")?.as_str()
    }
}

/// `set_user_metadata[]` of a function reply.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
pub struct SetUserMetadata {
    /// `key`.
    pub key: String,
    /// `value` (base64).
    pub value: String,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Object,
}

impl SetUserMetadata {
    /// Metadata with the value base64-encoded for you.
    pub fn new(key: impl Into<String>, value: &[u8]) -> Self {
        Self {
            key: key.into(),
            value: base64::engine::general_purpose::STANDARD.encode(value),
            extra: Object::new(),
        }
    }
}

/// `append_claims[]` of a function reply.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
pub struct AppendClaim {
    /// `key`.
    pub key: String,
    /// `value` (any JSON).
    pub value: Value,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Object,
}

/// `value` of an `append_attribute[]` entry: a list of strings (code) or one string (docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttributeValue {
    /// A list of strings.
    List(Vec<String>),
    /// One string.
    One(String),
}

/// `append_attribute[]` of a SAML function reply.
#[derive(Debug, Clone, PartialEq, Serialize, Lossless)]
pub struct AppendAttribute {
    /// `name`.
    pub name: String,
    /// `name_format`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub name_format: Option<String>,
    /// `value`.
    pub value: AttributeValue,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Object,
}

/// What a target answers to a function execution.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
pub struct FunctionReply {
    /// `set_user_metadata`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub set_user_metadata: Option<Vec<SetUserMetadata>>,
    /// `append_claims`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub append_claims: Option<Vec<AppendClaim>>,
    /// `append_log_claims`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub append_log_claims: Option<Vec<String>>,
    /// `append_attribute` (SAML).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub append_attribute: Option<Vec<AppendAttribute>>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Object,
}

impl FunctionReply {
    /// Adds a claim.
    pub fn claim(mut self, key: impl Into<String>, value: Value) -> Self {
        self.append_claims
            .get_or_insert_with(Vec::new)
            .push(AppendClaim {
                key: key.into(),
                value,
                extra: Object::new(),
            });
        self
    }

    /// Adds a metadata entry (value base64-encoded).
    pub fn metadata(mut self, key: impl Into<String>, value: &[u8]) -> Self {
        self.set_user_metadata
            .get_or_insert_with(Vec::new)
            .push(SetUserMetadata::new(key, value));
        self
    }

    /// Adds a log claim.
    pub fn log(mut self, line: impl Into<String>) -> Self {
        self.append_log_claims
            .get_or_insert_with(Vec::new)
            .push(line.into());
        self
    }
}

/// The restCall error reply: ZITADEL forwards 4xx codes as the matching error.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
#[serde(rename_all = "camelCase")]
pub struct ErrorReply {
    /// `forwardedStatusCode`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub forwarded_status_code: Option<i64>,
    /// `forwardedErrorMessage`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub forwarded_error_message: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Object,
}

impl ErrorReply {
    /// An error reply.
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            forwarded_status_code: Some(i64::from(status)),
            forwarded_error_message: Some(message.into()),
            extra: Object::new(),
        }
    }

    /// `true` when ZITADEL forwards the code as is (400..=499); other codes become
    /// PreconditionFailed.
    pub fn is_forwarded(&self) -> bool {
        matches!(self.forwarded_status_code, Some(400..=499))
    }
}

/// A body exchanged with a ZITADEL target.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Payload {
    /// An event execution.
    Event(EventExecution),
    /// A request execution.
    Request(RequestExecution),
    /// A response execution.
    Response(ResponseExecution),
    /// A function execution.
    Function(FunctionExecution),
    /// A function reply.
    FunctionReply(FunctionReply),
    /// A restCall error reply.
    ErrorReply(ErrorReply),
    /// Any other object (a bare protojson message, a decoded event payload), kept whole.
    Other(Object),
}

impl Payload {
    /// Converts a parsed JSON value.
    pub fn from_value(value: Value) -> Result<Self, ParseError> {
        let map = de::into_object(value)?;
        Ok(match Shape::of(|k| map.contains_key(k)) {
            Shape::ErrorReply => Self::ErrorReply(de::from_object(map, "")?),
            Shape::Function => Self::Function(de::from_object(map, "")?),
            Shape::Event => Self::Event(de::from_object(map, "")?),
            Shape::Response => Self::Response(de::from_object(map, "")?),
            Shape::Request => Self::Request(de::from_object(map, "")?),
            Shape::FunctionReply => Self::FunctionReply(de::from_object(map, "")?),
            Shape::Other => Self::Other(map),
        })
    }

    pub(crate) fn from_raw(object: de::RawObject<'_>) -> Option<Self> {
        Some(match Shape::of(|k| object.has(k)) {
            Shape::ErrorReply => Self::ErrorReply(object.into_typed()?),
            Shape::Function => Self::Function(object.into_typed()?),
            Shape::Event => Self::Event(object.into_typed()?),
            Shape::Response => Self::Response(object.into_typed()?),
            Shape::Request => Self::Request(object.into_typed()?),
            Shape::FunctionReply => Self::FunctionReply(object.into_typed()?),
            Shape::Other => Self::Other(object.into_typed()?),
        })
    }

    /// The type: `event_type` of an event, `fullMethod` of a request/response (or
    /// `request`/`response` without one), `function` of a function execution,
    /// `function-reply`, `error-reply` or `other`.
    pub fn event_type(&self) -> &str {
        match self {
            Self::Event(e) => e.event_type.as_deref().unwrap_or("event"),
            Self::Request(r) => r.full_method.as_deref().unwrap_or("request"),
            Self::Response(r) => r.full_method.as_deref().unwrap_or("response"),
            Self::Function(f) => &f.function,
            Self::FunctionReply(_) => "function-reply",
            Self::ErrorReply(_) => "error-reply",
            Self::Other(_) => "other",
        }
    }

    /// The payload as a JSON value.
    pub fn to_json(&self) -> Value {
        de::to_json(self)
    }

    /// The payload as compact JSON bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        de::to_vec(self)
    }
}

/// Which [`Payload`] an object is, from the keys it has.
#[derive(Clone, Copy)]
enum Shape {
    ErrorReply,
    Function,
    Event,
    Response,
    Request,
    FunctionReply,
    Other,
}

impl Shape {
    fn of(has: impl Fn(&str) -> bool) -> Self {
        if has("forwardedStatusCode") || has("forwardedErrorMessage") {
            Self::ErrorReply
        } else if has("function") {
            Self::Function
        } else if has("event_type") || has("aggregateID") || has("event_payload") {
            Self::Event
        } else if has("fullMethod") || (has("request") && has("instanceID")) {
            if has("response") {
                Self::Response
            } else {
                Self::Request
            }
        } else if has("set_user_metadata")
            || has("append_claims")
            || has("append_log_claims")
            || has("append_attribute")
        {
            Self::FunctionReply
        } else {
            Self::Other
        }
    }
}

deserialize_via_value!(Payload);

/// Parses a body sent to or by a ZITADEL target.
pub fn parse(bytes: &[u8]) -> Result<Payload, ParseError> {
    de::parse_with(bytes, Payload::from_raw, Payload::from_value)
}

/// `true` if `t` is a well-formed ZITADEL subscription type: a known kind, a function
/// name, a gRPC full method (`/pkg.Service/Method`), a service (`pkg.Service`), an event
/// type (`user.human.added`) or an event group (`user.human.*`).
pub fn is_valid_event_type(t: &str) -> bool {
    if EVENT_TYPES.contains(&t) {
        return true;
    }
    let seg_ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    if let Some(rest) = t.strip_prefix('/') {
        let mut parts = rest.split('/');
        return matches!((parts.next(), parts.next(), parts.next()),
            (Some(svc), Some(m), None) if svc.split('.').all(seg_ok) && seg_ok(m));
    }
    let body = t.strip_suffix(".*").unwrap_or(t);
    body.split('.').all(seg_ok)
}
