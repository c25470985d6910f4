//! Hub Message (hubmessage.io): the webhook resource, its 10 event names, the DEFAULT
//! envelope (`message` + `messageEventType`) and, in [`zapi`], the Z-API callbacks sent in
//! the `Z_API` payload format.
//!
//! [`parse`] tells the two formats apart: an object with a string `type` is a Z-API callback,
//! an object with a `message` object is a DEFAULT envelope.

pub mod zapi;

use hookwire_events_derive::Lossless;
use serde::Serialize;
use serde_json::Value;

use crate::de::{self, Object, deserialize_via_value, string_enum};
use crate::error::ParseError;

string_enum! {
    /// The events a Hub Message webhook subscribes to.
    #[non_exhaustive]
    pub enum WebhookEvent {
        /// A message was received (Z-API `ReceivedCallback`).
        MessageReceived = "MESSAGE_RECEIVED",
        /// A message was delivered (Z-API `DeliveryCallback`).
        MessageDelivery = "MESSAGE_DELIVERY",
        /// A message's status changed (Z-API `MessageStatusCallback`).
        MessageStatus = "MESSAGE_STATUS",
        /// Received status.
        ReceivedStatus = "RECEIVED_STATUS",
        /// Received and "sent by me" messages.
        ReceivedAndDelivery = "RECEIVED_AND_DELIVERY",
        /// The channel connected (Z-API `ConnectedCallback`).
        Connected = "CONNECTED",
        /// The channel disconnected (Z-API `DisconnectedCallback`).
        Disconnected = "DISCONNECTED",
        /// Chat presence (Z-API `PresenceChatCallback`).
        PresenceChat = "PRESENCE_CHAT",
        /// Initial data.
        InitialData = "INITIAL_DATA",
        /// Block.
        Block = "BLOCK",
    }
}

/// The 10 subscription event names.
pub const EVENT_TYPES: &[&str] = WebhookEvent::KNOWN;

string_enum! {
    /// `status` of a webhook.
    #[non_exhaustive]
    pub enum WebhookStatus {
        /// Enabled.
        Enabled = "ENABLED",
        /// Disabled.
        Disabled = "DISABLED",
    }
}

string_enum! {
    /// `auth.type`: how the dispatcher authenticates to the endpoint.
    #[non_exhaustive]
    pub enum AuthType {
        /// No auth.
        None = "NONE",
        /// `Authorization: Bearer <token>`.
        Bearer = "BEARER",
        /// An API key header.
        ApiKey = "API_KEY",
        /// HTTP basic.
        Basic = "BASIC",
        /// A header name and value of your choice.
        CustomHeader = "CUSTOM_HEADER",
    }
}

string_enum! {
    /// `payloadFormat`.
    #[non_exhaustive]
    pub enum PayloadFormat {
        /// The DEFAULT envelope (`message` + `messageEventType`).
        Default = "DEFAULT",
        /// Z-API compatible callbacks.
        ZApi = "Z_API",
    }
}

/// `auth` as returned by the API (credentials are never returned).
#[derive(Debug, Clone, PartialEq, Serialize, Lossless)]
pub struct WebhookAuth {
    /// `type`.
    #[serde(rename = "type")]
    pub kind: AuthType,
    /// `configured`.
    pub configured: bool,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Object,
}

/// The webhook resource returned by `POST/GET/PATCH /v1/channels/{channelId}/webhooks`.
///
/// `createdAt`/`updatedAt` are kept as sent (`2025-01-15T10:30:00.000+0000`: the offset has
/// no colon, so it is not strict RFC 3339). `secret` appears only in create/update responses
/// and is redacted from `Debug`.
#[derive(Clone, PartialEq, Serialize, Lossless)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    /// `id` (32 upper-case hex).
    pub id: String,
    /// `instanceId` (the channel id).
    pub instance_id: String,
    /// `url`.
    pub url: String,
    /// `description` (string or null).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::double_option"
    )]
    pub description: Option<Option<String>>,
    /// `events`.
    pub events: Vec<WebhookEvent>,
    /// `status`.
    pub status: WebhookStatus,
    /// `signing`.
    pub signing: bool,
    /// `secret` (64 lower-case hex), only right after signing was (re)enabled.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub secret: Option<String>,
    /// `auth`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub auth: Option<WebhookAuth>,
    /// `payloadFormat`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub payload_format: Option<PayloadFormat>,
    /// `customAttributes`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub custom_attributes: Option<Object>,
    /// `createdAt`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub created_at: Option<String>,
    /// `updatedAt`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub updated_at: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Object,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("id", &self.id)
            .field("instance_id", &self.instance_id)
            .field("url", &self.url)
            .field("description", &self.description)
            .field("events", &self.events)
            .field("status", &self.status)
            .field("signing", &self.signing)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("auth", &self.auth)
            .field("payload_format", &self.payload_format)
            .field("custom_attributes", &self.custom_attributes)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .field("extra", &self.extra)
            .finish()
    }
}

impl Webhook {
    /// Parses the resource from JSON bytes (duplicate keys: the last wins).
    pub fn from_json(bytes: &[u8]) -> Result<Self, ParseError> {
        de::parse_typed(bytes)
    }
}

/// `message.metadata` of a DEFAULT payload.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
pub struct MessageMetadata {
    /// `forwarded`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub forwarded: Option<bool>,
    /// `from_api`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub from_api: Option<bool>,
    /// `from_me`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub from_me: Option<bool>,
    /// `middleware` (e.g. `META_WHATSAPP`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub middleware: Option<String>,
    /// `moment` (epoch milliseconds).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub moment: Option<i64>,
    /// Unknown fields (including `@class`).
    #[serde(flatten)]
    pub extra: Object,
}

/// `message.sender` / `message.recipient`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
pub struct Party {
    /// `identifier`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub identifier: Option<String>,
    /// `name`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::double_option"
    )]
    pub name: Option<Option<String>>,
    /// Unknown fields (including `@class`).
    #[serde(flatten)]
    pub extra: Object,
}

/// One `contents[]` or `attachments[]` item: `@class` + `type` typed, the rest kept.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
pub struct ContentItem {
    /// `@class` (e.g. `.TextContent`).
    #[serde(
        rename = "@class",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub class: Option<String>,
    /// `type` (e.g. `TEXT`, `IMAGE`).
    #[serde(
        rename = "type",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub kind: Option<String>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Object,
}

impl ContentItem {
    /// `message` (text of a text content).
    pub fn message(&self) -> Option<&str> {
        de::str_field(&self.extra, "message")
    }
}

/// `message` of a DEFAULT payload.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
pub struct Message {
    /// `_id` (32 upper-case hex).
    #[serde(rename = "_id")]
    pub id: String,
    /// `tenant`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub tenant: Option<String>,
    /// `tenant_owner`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub tenant_owner: Option<String>,
    /// `channel_id`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub channel_id: Option<String>,
    /// `created_by`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub created_by: Option<String>,
    /// `created` (epoch milliseconds).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub created: Option<i64>,
    /// `metadata`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub metadata: Option<MessageMetadata>,
    /// `sender`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub sender: Option<Party>,
    /// `recipient`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub recipient: Option<Party>,
    /// `contents`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub contents: Option<Vec<ContentItem>>,
    /// `attachments`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub attachments: Option<Vec<ContentItem>>,
    /// `webhook_processed` (older docs) .
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub webhook_processed: Option<bool>,
    /// `media_webhook_processed` (newer docs).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub media_webhook_processed: Option<bool>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Object,
}

impl Message {
    /// The first text content's `message`.
    pub fn text(&self) -> Option<&str> {
        self.contents
            .as_deref()
            .unwrap_or_default()
            .iter()
            .find_map(ContentItem::message)
    }
}

/// The DEFAULT payload: `{"message": {...}, "messageEventType": "NEW_MESSAGE"}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
#[serde(rename_all = "camelCase")]
pub struct DefaultEnvelope {
    /// `message`.
    pub message: Message,
    /// `messageEventType` (`NEW_MESSAGE`; absent in the Instagram example).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub message_event_type: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Object,
}

impl DefaultEnvelope {
    /// Wraps a message as a `NEW_MESSAGE` event.
    pub fn new_message(message: Message) -> Self {
        Self {
            message,
            message_event_type: Some("NEW_MESSAGE".into()),
            extra: Object::new(),
        }
    }
}

/// One Hub Message webhook delivery, in either payload format.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Event {
    /// The DEFAULT format.
    Default(Box<DefaultEnvelope>),
    /// The Z_API format.
    ZApi(zapi::Callback),
}

impl Event {
    /// Converts a parsed JSON value.
    pub fn from_value(value: Value) -> Result<Self, ParseError> {
        let map = de::into_object(value)?;
        if map.get("type").is_some_and(Value::is_string) {
            return Ok(Self::ZApi(zapi::Callback::from_object(map)?));
        }
        if map.contains_key("message") || map.contains_key("messageEventType") {
            return Ok(Self::Default(Box::new(de::from_object(map, "")?)));
        }
        if map.contains_key("type") {
            // present but not a string: report it on the discriminator
            return Err(de::required_str(&map, "type")
                .err()
                .unwrap_or(ParseError::MissingField {
                    path: "type".into(),
                }));
        }
        Err(ParseError::MissingField {
            path: "type".into(),
        })
    }

    /// The direct path of [`parse`] (one pass over the bytes): `None` to leave the input to
    /// [`from_value`](Self::from_value).
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let zapi = |ty: &str| zapi::Callback::from_bytes(bytes, ty);
        if let Some(callback) = de::read_by_first(bytes, "type", zapi, zapi::Callback::event_type) {
            return Some(Self::ZApi(callback));
        }
        let [ty, message, event_type] =
            de::scan_top(bytes, ["type", "message", "messageEventType"])?;
        if let Some(ty) = ty.as_str() {
            return zapi(ty).map(Self::ZApi);
        }
        if message != de::Seen::Absent || event_type != de::Seen::Absent {
            return Some(Self::Default(Box::new(de::from_bytes(bytes)?)));
        }
        None
    }

    /// The type carried by the payload: `messageEventType` (`NEW_MESSAGE` when absent) or
    /// the Z-API `type` as sent.
    pub fn event_type(&self) -> &str {
        match self {
            Self::Default(e) => e.message_event_type.as_deref().unwrap_or("NEW_MESSAGE"),
            Self::ZApi(c) => c.event_type(),
        }
    }

    /// The subscription event this delivery belongs to (inferred mapping from the spec:
    /// DEFAULT message events and `ReceivedCallback` → `MESSAGE_RECEIVED`, ...); `None` for
    /// unknown Z-API types.
    pub fn webhook_event(&self) -> Option<WebhookEvent> {
        match self {
            Self::Default(_) => Some(WebhookEvent::MessageReceived),
            Self::ZApi(c) => c.webhook_event(),
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

/// Parses a Hub Message webhook body (DEFAULT or Z_API format).
pub fn parse(bytes: &[u8]) -> Result<Event, ParseError> {
    de::parse_direct(bytes, Event::from_bytes, Event::from_value)
}
