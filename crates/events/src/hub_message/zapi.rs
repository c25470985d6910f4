//! Z-API callbacks (the Hub Message `Z_API` payload format).
//!
//! The discriminator is `type`, matched case-insensitively (the docs' table writes
//! `ReceivedCallBack`, every example `ReceivedCallback`); the value is kept as sent. The
//! timestamp is spelled `momment` (epoch ms) almost everywhere, `moment` in the poll
//! examples and seconds in `DisconnectedCallback`; [`Moment`] accepts a number or a string.

use hookwire_events_derive::Lossless;
use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

use super::WebhookEvent;
use crate::de::{self, Object, string_enum};
use crate::error::ParseError;

/// The known Z-API callback types.
pub const CALLBACK_TYPES: &[&str] = &[
    "ReceivedCallback",
    "DeliveryCallback",
    "MessageStatusCallback",
    "ConnectedCallback",
    "DisconnectedCallback",
    "PresenceChatCallback",
];

/// A timestamp or count that arrives as a JSON number or as a string; kept as sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Moment {
    /// A JSON number (kept exactly).
    Number(Number),
    /// A string.
    Text(String),
}

impl Moment {
    /// The value as an integer, parsing a numeric string.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Number(n) => n.as_i64(),
            Self::Text(s) => s.trim().parse().ok(),
        }
    }
}

impl From<i64> for Moment {
    fn from(v: i64) -> Self {
        Self::Number(v.into())
    }
}

string_enum! {
    /// `status` of a received message.
    #[non_exhaustive]
    pub enum ReceivedStatus {
        /// Pending.
        Pending = "PENDING",
        /// Sent.
        Sent = "SENT",
        /// Received.
        Received = "RECEIVED",
        /// Read.
        Read = "READ",
        /// Played.
        Played = "PLAYED",
    }
}

string_enum! {
    /// `status` of a `MessageStatusCallback`.
    #[non_exhaustive]
    pub enum MessageStatus {
        /// Sent.
        Sent = "SENT",
        /// Received.
        Received = "RECEIVED",
        /// Read.
        Read = "READ",
        /// Read by me (adds `phoneDevice` and `isGroup`).
        ReadByMe = "READ_BY_ME",
        /// Played.
        Played = "PLAYED",
    }
}

string_enum! {
    /// `status` of a `PresenceChatCallback`.
    #[non_exhaustive]
    pub enum PresenceStatus {
        /// Unavailable.
        Unavailable = "UNAVAILABLE",
        /// Available.
        Available = "AVAILABLE",
        /// Typing.
        Composing = "COMPOSING",
        /// Stopped typing (multi-device beta).
        Paused = "PAUSED",
        /// Recording audio (multi-device beta).
        Recording = "RECORDING",
    }
}

/// Content objects a `ReceivedCallback` may carry that are kept as JSON
/// ([`Content::Other`]), in the order they are looked for.
pub const OTHER_CONTENT_KEYS: &[&str] = &[
    "hydratedTemplate",
    "buttonsMessage",
    "buttonsResponseMessage",
    "listResponseMessage",
    "listMessage",
    "carouselMessage",
    "pixKeyMessage",
    "requestPayment",
    "sendPayment",
    "reviewAndPay",
    "reviewOrder",
    "product",
    "order",
    "poll",
    "pollVote",
    "event",
    "eventResponse",
    "pinMessage",
    "newsletterAdminInvite",
    "statusImage",
];

/// The content of a `ReceivedCallback`: exactly one content object per message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub enum Content {
    /// `text`.
    #[serde(rename = "text")]
    Text(TextContent),
    /// `image`.
    #[serde(rename = "image")]
    Image(ImageContent),
    /// `audio`.
    #[serde(rename = "audio")]
    Audio(AudioContent),
    /// `video`.
    #[serde(rename = "video")]
    Video(VideoContent),
    /// `document`.
    #[serde(rename = "document")]
    Document(DocumentContent),
    /// `contact`.
    #[serde(rename = "contact")]
    Contact(ContactContent),
    /// `location`.
    #[serde(rename = "location")]
    Location(LocationContent),
    /// `sticker`.
    #[serde(rename = "sticker")]
    Sticker(StickerContent),
    /// `reaction`.
    #[serde(rename = "reaction")]
    Reaction(ReactionContent),
    /// Another content object (see [`OTHER_CONTENT_KEYS`]), kept as JSON.
    #[serde(untagged)]
    Other(OtherContent),
}

/// A content object kept as JSON: `{key: value}`.
#[derive(Debug, Clone, PartialEq)]
pub struct OtherContent {
    /// The content key (`hydratedTemplate`, `poll`, ...).
    pub key: String,
    /// Its value.
    pub value: Value,
}

impl Serialize for OtherContent {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(&self.key, &self.value)?;
        m.end()
    }
}

impl Content {
    /// The content key (`text`, `image`, ..., or the other key).
    pub fn key(&self) -> &str {
        match self {
            Self::Text(_) => "text",
            Self::Image(_) => "image",
            Self::Audio(_) => "audio",
            Self::Video(_) => "video",
            Self::Document(_) => "document",
            Self::Contact(_) => "contact",
            Self::Location(_) => "location",
            Self::Sticker(_) => "sticker",
            Self::Reaction(_) => "reaction",
            Self::Other(o) => &o.key,
        }
    }

    /// The content keys with a type of their own, in the order they are looked for.
    const TYPED: &'static [&'static str] = &[
        "text", "image", "audio", "video", "document", "contact", "location", "sticker", "reaction",
    ];
}

impl de::Keyed for Content {
    fn rank(key: &str) -> Option<usize> {
        Self::TYPED
            .iter()
            .chain(OTHER_CONTENT_KEYS)
            .position(|k| *k == key)
    }

    fn deserialize_keyed<'de, D: serde::Deserializer<'de>>(
        key: &str,
        d: D,
    ) -> Result<Self, D::Error> {
        Ok(match key {
            "text" => Self::Text(Deserialize::deserialize(d)?),
            "image" => Self::Image(Deserialize::deserialize(d)?),
            "audio" => Self::Audio(Deserialize::deserialize(d)?),
            "video" => Self::Video(Deserialize::deserialize(d)?),
            "document" => Self::Document(Deserialize::deserialize(d)?),
            "contact" => Self::Contact(Deserialize::deserialize(d)?),
            "location" => Self::Location(Deserialize::deserialize(d)?),
            "sticker" => Self::Sticker(Deserialize::deserialize(d)?),
            "reaction" => Self::Reaction(Deserialize::deserialize(d)?),
            other => Self::Other(OtherContent {
                key: other.to_owned(),
                value: Value::deserialize(d)?,
            }),
        })
    }

    fn into_entry(self) -> (String, Value) {
        let key = self.key().to_owned();
        let value = match self {
            Self::Text(c) => de::to_json(&c),
            Self::Image(c) => de::to_json(&c),
            Self::Audio(c) => de::to_json(&c),
            Self::Video(c) => de::to_json(&c),
            Self::Document(c) => de::to_json(&c),
            Self::Contact(c) => de::to_json(&c),
            Self::Location(c) => de::to_json(&c),
            Self::Sticker(c) => de::to_json(&c),
            Self::Reaction(c) => de::to_json(&c),
            Self::Other(o) => o.value,
        };
        (key, value)
    }
}

/// `text` content.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
pub struct TextContent {
    /// `message`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub message: Option<String>,
    /// `description`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub description: Option<String>,
    /// `title`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub title: Option<String>,
    /// `url`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub url: Option<String>,
    /// `thumbnailUrl`.
    #[serde(
        rename = "thumbnailUrl",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub thumbnail_url: Option<String>,
    /// Unknown fields, kept for a lossless round trip.
    #[serde(flatten)]
    pub extra: Object,
}

/// `image` content.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
pub struct ImageContent {
    /// `mimeType`.
    #[serde(
        rename = "mimeType",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub mime_type: Option<String>,
    /// `imageUrl`.
    #[serde(
        rename = "imageUrl",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub image_url: Option<String>,
    /// `thumbnailUrl`.
    #[serde(
        rename = "thumbnailUrl",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub thumbnail_url: Option<String>,
    /// `downloadError`.
    #[serde(
        rename = "downloadError",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::double_option"
    )]
    pub download_error: Option<Option<String>>,
    /// `caption`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub caption: Option<String>,
    /// `width`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub width: Option<u64>,
    /// `height`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub height: Option<u64>,
    /// `viewOnce`.
    #[serde(
        rename = "viewOnce",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub view_once: Option<bool>,
    /// Unknown fields, kept for a lossless round trip.
    #[serde(flatten)]
    pub extra: Object,
}

/// `audio` content.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
pub struct AudioContent {
    /// `ptt`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub ptt: Option<bool>,
    /// `seconds`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub seconds: Option<u64>,
    /// `audioUrl`.
    #[serde(
        rename = "audioUrl",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub audio_url: Option<String>,
    /// `mimeType`.
    #[serde(
        rename = "mimeType",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub mime_type: Option<String>,
    /// `viewOnce`.
    #[serde(
        rename = "viewOnce",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub view_once: Option<bool>,
    /// Unknown fields, kept for a lossless round trip.
    #[serde(flatten)]
    pub extra: Object,
}

/// `video` content.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
pub struct VideoContent {
    /// `videoUrl`.
    #[serde(
        rename = "videoUrl",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub video_url: Option<String>,
    /// `caption`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub caption: Option<String>,
    /// `mimeType`.
    #[serde(
        rename = "mimeType",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub mime_type: Option<String>,
    /// `seconds`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub seconds: Option<u64>,
    /// `viewOnce`.
    #[serde(
        rename = "viewOnce",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub view_once: Option<bool>,
    /// Unknown fields, kept for a lossless round trip.
    #[serde(flatten)]
    pub extra: Object,
}

/// `document` content.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
pub struct DocumentContent {
    /// `documentUrl`.
    #[serde(
        rename = "documentUrl",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub document_url: Option<String>,
    /// `mimeType`.
    #[serde(
        rename = "mimeType",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub mime_type: Option<String>,
    /// `title`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub title: Option<String>,
    /// `pageCount`.
    #[serde(
        rename = "pageCount",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub page_count: Option<Moment>,
    /// `fileName`.
    #[serde(
        rename = "fileName",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub file_name: Option<String>,
    /// `thumbnailUrl`.
    #[serde(
        rename = "thumbnailUrl",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub thumbnail_url: Option<String>,
    /// Unknown fields, kept for a lossless round trip.
    #[serde(flatten)]
    pub extra: Object,
}

/// `contact` content.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
pub struct ContactContent {
    /// `displayName`.
    #[serde(
        rename = "displayName",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub display_name: Option<String>,
    /// `vCard`.
    #[serde(
        rename = "vCard",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub v_card: Option<String>,
    /// `phones`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub phones: Option<Vec<String>>,
    /// Unknown fields, kept for a lossless round trip.
    #[serde(flatten)]
    pub extra: Object,
}

/// `location` content (coordinates kept as the exact JSON numbers).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
pub struct LocationContent {
    /// `longitude`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub longitude: Option<Number>,
    /// `latitude`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub latitude: Option<Number>,
    /// `address`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub address: Option<String>,
    /// `url`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub url: Option<String>,
    /// `name`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub name: Option<String>,
    /// `thumbnailUrl`.
    #[serde(
        rename = "thumbnailUrl",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub thumbnail_url: Option<String>,
    /// Unknown fields, kept for a lossless round trip.
    #[serde(flatten)]
    pub extra: Object,
}

/// `sticker` content.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
pub struct StickerContent {
    /// `stickerUrl`.
    #[serde(
        rename = "stickerUrl",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub sticker_url: Option<String>,
    /// `mimeType`.
    #[serde(
        rename = "mimeType",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub mime_type: Option<String>,
    /// Unknown fields, kept for a lossless round trip.
    #[serde(flatten)]
    pub extra: Object,
}

/// `reaction.referencedMessage`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
pub struct ReferencedMessage {
    /// `messageId`.
    #[serde(
        rename = "messageId",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub message_id: Option<String>,
    /// `fromMe`.
    #[serde(
        rename = "fromMe",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub from_me: Option<bool>,
    /// `phone`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub phone: Option<String>,
    /// `participant`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::double_option"
    )]
    pub participant: Option<Option<String>>,
    /// Unknown fields, kept for a lossless round trip.
    #[serde(flatten)]
    pub extra: Object,
}

/// `reaction` content.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
pub struct ReactionContent {
    /// `value`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub value: Option<String>,
    /// `time`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub time: Option<Moment>,
    /// `reactionBy`.
    #[serde(
        rename = "reactionBy",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub reaction_by: Option<String>,
    /// `referencedMessage`.
    #[serde(
        rename = "referencedMessage",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub referenced_message: Option<ReferencedMessage>,
    /// Unknown fields, kept for a lossless round trip.
    #[serde(flatten)]
    pub extra: Object,
}

/// `ReceivedCallback`: a message was received (or sent by me, with `fromMe`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
pub struct ReceivedCallback {
    /// `type`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `isStatusReply`.
    #[serde(
        rename = "isStatusReply",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub is_status_reply: Option<bool>,
    /// `senderLid`.
    #[serde(
        rename = "senderLid",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub sender_lid: Option<String>,
    /// `chatLid`.
    #[serde(
        rename = "chatLid",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::double_option"
    )]
    pub chat_lid: Option<Option<String>>,
    /// `connectedPhone`.
    #[serde(
        rename = "connectedPhone",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub connected_phone: Option<String>,
    /// `waitingMessage`.
    #[serde(
        rename = "waitingMessage",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub waiting_message: Option<bool>,
    /// `isEdit`.
    #[serde(
        rename = "isEdit",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub is_edit: Option<bool>,
    /// `isGroup`.
    #[serde(
        rename = "isGroup",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub is_group: Option<bool>,
    /// `isNewsletter`.
    #[serde(
        rename = "isNewsletter",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub is_newsletter: Option<bool>,
    /// `instanceId`.
    #[serde(
        rename = "instanceId",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub instance_id: Option<String>,
    /// `messageId`.
    #[serde(
        rename = "messageId",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub message_id: Option<String>,
    /// `phone`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub phone: Option<String>,
    /// `fromMe`.
    #[serde(
        rename = "fromMe",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub from_me: Option<bool>,
    /// `fromApi`.
    #[serde(
        rename = "fromApi",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub from_api: Option<bool>,
    /// `forwarded`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub forwarded: Option<bool>,
    /// `momment`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub momment: Option<Moment>,
    /// `moment`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub moment: Option<Moment>,
    /// `status`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub status: Option<ReceivedStatus>,
    /// `chatName`.
    #[serde(
        rename = "chatName",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::double_option"
    )]
    pub chat_name: Option<Option<String>>,
    /// `senderPhoto`.
    #[serde(
        rename = "senderPhoto",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::double_option"
    )]
    pub sender_photo: Option<Option<String>>,
    /// `senderName`.
    #[serde(
        rename = "senderName",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::double_option"
    )]
    pub sender_name: Option<Option<String>>,
    /// `participantPhone`.
    #[serde(
        rename = "participantPhone",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::double_option"
    )]
    pub participant_phone: Option<Option<String>>,
    /// `participantLid`.
    #[serde(
        rename = "participantLid",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::double_option"
    )]
    pub participant_lid: Option<Option<String>>,
    /// `photo`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::double_option"
    )]
    pub photo: Option<Option<String>>,
    /// `broadcast`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub broadcast: Option<bool>,
    /// `referenceMessageId`.
    #[serde(
        rename = "referenceMessageId",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::double_option"
    )]
    pub reference_message_id: Option<Option<String>>,
    /// `messageExpirationSeconds`.
    #[serde(
        rename = "messageExpirationSeconds",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub message_expiration_seconds: Option<i64>,
    /// `requestMethod`.
    #[serde(
        rename = "requestMethod",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub request_method: Option<String>,
    /// The content object (`text`, `image`, ...), if the message has one.
    #[lossless(keyed)]
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    /// Unknown fields, kept for a lossless round trip.
    #[serde(flatten)]
    pub extra: Object,
}

/// `DeliveryCallback`: a message I sent was delivered to WhatsApp.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
pub struct DeliveryCallback {
    /// `type`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `phone`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub phone: Option<String>,
    /// `zaapId`.
    #[serde(
        rename = "zaapId",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub zaap_id: Option<String>,
    /// `messageId`.
    #[serde(
        rename = "messageId",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub message_id: Option<String>,
    /// `instanceId`.
    #[serde(
        rename = "instanceId",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub instance_id: Option<String>,
    /// Unknown fields, kept for a lossless round trip.
    #[serde(flatten)]
    pub extra: Object,
}

/// `MessageStatusCallback`: the status of messages changed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
pub struct MessageStatusCallback {
    /// `type`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `status`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub status: Option<MessageStatus>,
    /// `ids`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub ids: Option<Vec<String>>,
    /// `momment`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub momment: Option<Moment>,
    /// `phone`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub phone: Option<String>,
    /// `instanceId`.
    #[serde(
        rename = "instanceId",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub instance_id: Option<String>,
    /// `phoneDevice`.
    #[serde(
        rename = "phoneDevice",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub phone_device: Option<i64>,
    /// `isGroup`.
    #[serde(
        rename = "isGroup",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub is_group: Option<bool>,
    /// Unknown fields, kept for a lossless round trip.
    #[serde(flatten)]
    pub extra: Object,
}

/// `ConnectedCallback`: the instance connected.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
pub struct ConnectedCallback {
    /// `type`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `connected`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub connected: Option<bool>,
    /// `momment`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub momment: Option<Moment>,
    /// `phone`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub phone: Option<String>,
    /// `instanceId`.
    #[serde(
        rename = "instanceId",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub instance_id: Option<String>,
    /// Unknown fields, kept for a lossless round trip.
    #[serde(flatten)]
    pub extra: Object,
}

/// `DisconnectedCallback`: the instance disconnected (`momment` is in SECONDS here).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
pub struct DisconnectedCallback {
    /// `type`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `momment`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub momment: Option<Moment>,
    /// `error`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub error: Option<String>,
    /// `disconnected`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub disconnected: Option<bool>,
    /// `instanceId`.
    #[serde(
        rename = "instanceId",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub instance_id: Option<String>,
    /// Unknown fields, kept for a lossless round trip.
    #[serde(flatten)]
    pub extra: Object,
}

/// `PresenceChatCallback`: chat presence changed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
pub struct PresenceChatCallback {
    /// `type`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `phone`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub phone: Option<String>,
    /// `status`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub status: Option<PresenceStatus>,
    /// `lastSeen`.
    #[serde(
        rename = "lastSeen",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::double_option"
    )]
    pub last_seen: Option<Option<Moment>>,
    /// `instanceId`.
    #[serde(
        rename = "instanceId",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub instance_id: Option<String>,
    /// Unknown fields, kept for a lossless round trip.
    #[serde(flatten)]
    pub extra: Object,
}

/// A callback whose `type` this version does not know, kept whole.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
pub struct UnknownCallback {
    /// `type`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Unknown fields, kept for a lossless round trip.
    #[serde(flatten)]
    pub extra: Object,
}

impl ReceivedCallback {
    /// A received text message (`type` = `ReceivedCallback`).
    pub fn text(
        instance_id: impl Into<String>,
        message_id: impl Into<String>,
        phone: impl Into<String>,
        momment_ms: i64,
        text: impl Into<String>,
    ) -> Self {
        Self {
            kind: "ReceivedCallback".into(),
            instance_id: Some(instance_id.into()),
            message_id: Some(message_id.into()),
            phone: Some(phone.into()),
            momment: Some(momment_ms.into()),
            from_me: Some(false),
            is_group: Some(false),
            status: Some(ReceivedStatus::Received),
            content: Some(Content::Text(TextContent {
                message: Some(text.into()),
                ..TextContent::default()
            })),
            ..Self::default()
        }
    }

    /// The timestamp: `momment`, or `moment` (poll examples).
    pub fn timestamp(&self) -> Option<&Moment> {
        self.momment.as_ref().or(self.moment.as_ref())
    }

    /// `notification` (group/call/profile notifications carry it instead of content).
    pub fn notification(&self) -> Option<&str> {
        de::str_field(&self.extra, "notification")
    }

    /// What the message is: the content key, `notification:<NAME>`, `waitingMessage`, or `""`.
    pub fn content_kind(&self) -> String {
        match (&self.content, self.notification()) {
            (Some(c), _) => c.key().to_owned(),
            (None, Some(n)) => format!("notification:{n}"),
            (None, None) if self.waiting_message == Some(true) => "waitingMessage".to_owned(),
            (None, None) => String::new(),
        }
    }
}

impl MessageStatusCallback {
    /// A status change for message ids.
    pub fn new(
        instance_id: impl Into<String>,
        phone: impl Into<String>,
        status: MessageStatus,
        ids: Vec<String>,
        momment_ms: i64,
    ) -> Self {
        Self {
            kind: "MessageStatusCallback".into(),
            status: Some(status),
            ids: Some(ids),
            momment: Some(momment_ms.into()),
            phone: Some(phone.into()),
            instance_id: Some(instance_id.into()),
            ..Self::default()
        }
    }
}

impl DeliveryCallback {
    /// A delivery notice.
    pub fn new(
        instance_id: impl Into<String>,
        phone: impl Into<String>,
        zaap_id: impl Into<String>,
        message_id: impl Into<String>,
    ) -> Self {
        Self {
            kind: "DeliveryCallback".into(),
            phone: Some(phone.into()),
            zaap_id: Some(zaap_id.into()),
            message_id: Some(message_id.into()),
            instance_id: Some(instance_id.into()),
            extra: Object::new(),
        }
    }
}

/// One Z-API callback.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Callback {
    /// `ReceivedCallback`.
    Received(Box<ReceivedCallback>),
    /// `DeliveryCallback`.
    Delivery(DeliveryCallback),
    /// `MessageStatusCallback`.
    MessageStatus(MessageStatusCallback),
    /// `ConnectedCallback`.
    Connected(ConnectedCallback),
    /// `DisconnectedCallback`.
    Disconnected(DisconnectedCallback),
    /// `PresenceChatCallback`.
    PresenceChat(PresenceChatCallback),
    /// An unknown `type`, kept whole.
    Unknown(UnknownCallback),
}

/// The callback a `type` names (compared without regard to ASCII case, as Z-API's own
/// spelling varies), shared by both parse paths.
#[derive(Clone, Copy)]
enum Kind {
    Received,
    Delivery,
    MessageStatus,
    Connected,
    Disconnected,
    PresenceChat,
    Unknown,
}

impl Kind {
    fn of(ty: &str) -> Self {
        const NAMES: [(&str, Kind); 6] = [
            ("ReceivedCallback", Kind::Received),
            ("DeliveryCallback", Kind::Delivery),
            ("MessageStatusCallback", Kind::MessageStatus),
            ("ConnectedCallback", Kind::Connected),
            ("DisconnectedCallback", Kind::Disconnected),
            ("PresenceChatCallback", Kind::PresenceChat),
        ];
        NAMES
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(ty))
            .map_or(Kind::Unknown, |(_, kind)| *kind)
    }
}

impl Callback {
    /// Converts a parsed JSON object.
    pub fn from_object(map: Object) -> Result<Self, ParseError> {
        Ok(match Kind::of(de::required_str(&map, "type")?) {
            Kind::Received => Self::Received(Box::new(de::from_object(map, "")?)),
            Kind::Delivery => Self::Delivery(de::from_object(map, "")?),
            Kind::MessageStatus => Self::MessageStatus(de::from_object(map, "")?),
            Kind::Connected => Self::Connected(de::from_object(map, "")?),
            Kind::Disconnected => Self::Disconnected(de::from_object(map, "")?),
            Kind::PresenceChat => Self::PresenceChat(de::from_object(map, "")?),
            Kind::Unknown => Self::Unknown(de::from_object(map, "")?),
        })
    }

    /// Converts a parsed JSON value.
    pub fn from_value(value: Value) -> Result<Self, ParseError> {
        Self::from_object(de::into_object(value)?)
    }

    /// The direct path of [`parse`] (one pass over the bytes), given the `type` at the top
    /// level: `None` to leave the input to [`from_value`](Self::from_value).
    pub(crate) fn from_bytes(bytes: &[u8], ty: &str) -> Option<Self> {
        Some(match Kind::of(ty) {
            Kind::Received => Self::Received(Box::new(de::from_bytes(bytes)?)),
            Kind::Delivery => Self::Delivery(de::from_bytes(bytes)?),
            Kind::MessageStatus => Self::MessageStatus(de::from_bytes(bytes)?),
            Kind::Connected => Self::Connected(de::from_bytes(bytes)?),
            Kind::Disconnected => Self::Disconnected(de::from_bytes(bytes)?),
            Kind::PresenceChat => Self::PresenceChat(de::from_bytes(bytes)?),
            Kind::Unknown => Self::Unknown(de::from_bytes(bytes)?),
        })
    }

    /// `type` as sent.
    pub fn event_type(&self) -> &str {
        match self {
            Self::Received(c) => &c.kind,
            Self::Delivery(c) => &c.kind,
            Self::MessageStatus(c) => &c.kind,
            Self::Connected(c) => &c.kind,
            Self::Disconnected(c) => &c.kind,
            Self::PresenceChat(c) => &c.kind,
            Self::Unknown(c) => &c.kind,
        }
    }

    /// The Hub Message subscription event this callback belongs to.
    pub fn webhook_event(&self) -> Option<WebhookEvent> {
        Some(match self {
            Self::Received(_) => WebhookEvent::MessageReceived,
            Self::Delivery(_) => WebhookEvent::MessageDelivery,
            Self::MessageStatus(_) => WebhookEvent::MessageStatus,
            Self::Connected(_) => WebhookEvent::Connected,
            Self::Disconnected(_) => WebhookEvent::Disconnected,
            Self::PresenceChat(_) => WebhookEvent::PresenceChat,
            Self::Unknown(_) => return None,
        })
    }

    /// `instanceId` (the last one, when the payload repeats it).
    pub fn instance_id(&self) -> Option<&str> {
        match self {
            Self::Received(c) => c.instance_id.as_deref(),
            Self::Delivery(c) => c.instance_id.as_deref(),
            Self::MessageStatus(c) => c.instance_id.as_deref(),
            Self::Connected(c) => c.instance_id.as_deref(),
            Self::Disconnected(c) => c.instance_id.as_deref(),
            Self::PresenceChat(c) => c.instance_id.as_deref(),
            Self::Unknown(c) => de::str_field(&c.extra, "instanceId"),
        }
    }
}

crate::de::deserialize_via_value!(Callback);

/// Parses a Z-API callback body.
pub fn parse(bytes: &[u8]) -> Result<Callback, ParseError> {
    de::parse_direct(
        bytes,
        |b| {
            de::read_by_first(
                b,
                "type",
                |ty| Callback::from_bytes(b, ty),
                Callback::event_type,
            )
            .or_else(|| {
                let [ty] = de::scan_top(b, ["type"])?;
                Callback::from_bytes(b, ty.as_str()?)
            })
        },
        Callback::from_value,
    )
}
