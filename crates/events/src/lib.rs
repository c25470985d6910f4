//! Typed, lossless, forward-compatible webhook payloads for every hookwire family.
//!
//! ```
//! use hookwire_events::{AnyEvent, Family, parse};
//! use hookwire_events::zerotier::Hook;
//!
//! let body = br#"{"hook_id":"ae76d4c0-c94e-4025-a648-2c504eb90e3c","org_id":"1bb4dc96-f311-4c4a-ac93-551cbc0fa3da","hook_type":"NETWORK_JOIN","network_id":"19d9808567a17ccf","member_id":"a02505e545"}"#;
//! let event = parse(Family::ZeroTier, body)?;
//! assert_eq!(event.event_type(), "NETWORK_JOIN");
//! match event {
//!     AnyEvent::ZeroTier(Hook::NetworkJoin(join)) => {
//!         assert_eq!(join.network_id, "19d9808567a17ccf");
//!         assert_eq!(join.member_id, "a02505e545");
//!     }
//!     AnyEvent::ZeroTier(Hook::Unknown(other)) => println!("new hook type {}", other.hook_type),
//!     other => println!("something else: {}", other.event_type()),
//! }
//! # Ok::<(), hookwire_events::ParseError>(())
//! ```
//!
//! Every family module ([`zerotier`], [`zta`], [`hub_message`] (with the Z-API callbacks in
//! [`hub_message::zapi`]), [`zitadel`], [`zentitle`], [`standard`]) has its own `parse(bytes)`,
//! an `EVENT_TYPES` list and constructors for senders. The rules every type follows:
//!
//! - **Straight from the bytes**: `parse` reads the top-level object once without decoding
//!   its values, takes the discriminator from it and deserializes each field straight into
//!   its type (no `serde_json::Value` in between). Any error, and the rare inputs that path
//!   does not read the same way, go through a `Value` first (the reference path), so errors
//!   and results are the same either way.
//! - **Duplicate keys**: the last of repeated keys wins, at every depth (vendor examples
//!   repeat `instanceId` and `thumbnailUrl`).
//! - **Forward compatible**: an unknown event type parses into an `Unknown`/`Other` variant
//!   that keeps the type name and the whole JSON; it is never an error.
//! - **Lossless**: unknown fields are kept in each type's flattened `extra` map, and
//!   `null` stays distinct from absent, so serializing a parsed event gives back a JSON value
//!   equal to the input.
//! - **Numbers**: every float is read correctly rounded (the nearest double, as Rust's
//!   `str::parse::<f64>` reads it; serde_json's `float_roundtrip`) and written back in the
//!   shortest form that reads as the same double, so parse → serialize → parse is stable.
//!   Integers are kept exactly when they fit `i64` or `u64`; an integer beyond 64 bits is read
//!   as the nearest `f64` and written back in float notation (`18446744073709551616` becomes
//!   `1.8446744073709552e19`): its value is kept to 17 significant digits, not exactly.
//!   serde_json's `arbitrary_precision` would keep it exactly, but Cargo turns it on for
//!   every crate of a build, it keeps every number as a string, and serde's buffered
//!   (`untagged`) enums then refuse float fields, so this crate does not enable it.
//! - **Typed errors**: [`ParseError`] names the field path that failed; no input panics.
//!
//! No I/O and no async: this crate only turns bytes into types and back.

mod de;
mod error;

pub mod hub_message;
pub mod standard;
pub mod zentitle;
pub mod zerotier;
pub mod zitadel;
pub mod zta;

pub use de::Object;
pub use error::ParseError;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A webhook family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Family {
    /// ZeroTier Central (`zerotier`).
    #[serde(rename = "zerotier")]
    ZeroTier,
    /// Zero Trust Analytics (`zta`).
    #[serde(rename = "zta")]
    Zta,
    /// Hub Message, DEFAULT and Z-API formats (`hub-message`).
    #[serde(rename = "hub-message")]
    HubMessage,
    /// ZITADEL Actions v2 (`zitadel`).
    #[serde(rename = "zitadel")]
    Zitadel,
    /// Zentitle2 (`zentitle`).
    #[serde(rename = "zentitle")]
    Zentitle,
    /// Standard Webhooks envelope (`standard`).
    #[serde(rename = "standard")]
    StandardWebhooks,
}

impl Family {
    /// Every family.
    pub const ALL: [Family; 6] = [
        Family::ZeroTier,
        Family::Zta,
        Family::HubMessage,
        Family::Zitadel,
        Family::Zentitle,
        Family::StandardWebhooks,
    ];

    /// The family's name (as in serde).
    pub fn name(self) -> &'static str {
        match self {
            Family::ZeroTier => "zerotier",
            Family::Zta => "zta",
            Family::HubMessage => "hub-message",
            Family::Zitadel => "zitadel",
            Family::Zentitle => "zentitle",
            Family::StandardWebhooks => "standard",
        }
    }

    /// The family with this name.
    pub fn from_name(s: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.name() == s)
    }

    /// The event type names subscriptions are validated against: ZeroTier's 14 hook
    /// types, ZTA's event names, Hub Message's 10 webhook events, ZITADEL's execution
    /// kinds and function names, Zentitle's 20 event codes; empty for Standard Webhooks
    /// (free-form types).
    pub fn known_event_types(self) -> &'static [&'static str] {
        match self {
            Family::ZeroTier => zerotier::EVENT_TYPES,
            Family::Zta => zta::EVENT_TYPES,
            Family::HubMessage => hub_message::EVENT_TYPES,
            Family::Zitadel => zitadel::EVENT_TYPES,
            Family::Zentitle => zentitle::EVENT_TYPES,
            Family::StandardWebhooks => standard::EVENT_TYPES,
        }
    }

    /// Whether `t` is a valid subscription type for this family: one of
    /// [`known_event_types`](Self::known_event_types); for ZITADEL also any well-formed
    /// event type, group (`user.human.*`) or gRPC method; for Standard Webhooks any
    /// non-empty type without whitespace.
    pub fn is_known_event_type(self, t: &str) -> bool {
        match self {
            Family::Zitadel => zitadel::is_valid_event_type(t),
            Family::StandardWebhooks => !t.is_empty() && !t.chars().any(char::is_whitespace),
            other => other.known_event_types().contains(&t),
        }
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// An event of any family.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum AnyEvent {
    /// ZeroTier Central.
    ZeroTier(zerotier::Hook),
    /// Zero Trust Analytics.
    Zta(zta::Event),
    /// Hub Message (DEFAULT or Z-API).
    HubMessage(hub_message::Event),
    /// ZITADEL Actions v2.
    Zitadel(zitadel::Payload),
    /// Zentitle2.
    Zentitle(zentitle::Event),
    /// Standard Webhooks.
    Standard(standard::Event),
}

impl AnyEvent {
    /// The family.
    pub fn family(&self) -> Family {
        match self {
            AnyEvent::ZeroTier(_) => Family::ZeroTier,
            AnyEvent::Zta(_) => Family::Zta,
            AnyEvent::HubMessage(_) => Family::HubMessage,
            AnyEvent::Zitadel(_) => Family::Zitadel,
            AnyEvent::Zentitle(_) => Family::Zentitle,
            AnyEvent::Standard(_) => Family::StandardWebhooks,
        }
    }

    /// The type carried by the payload (`hook_type`, `event`, `messageEventType` or Z-API
    /// `type`, ZITADEL `event_type`/`fullMethod`/`function`, `eventCode`, `type`).
    pub fn event_type(&self) -> &str {
        match self {
            AnyEvent::ZeroTier(e) => e.event_type(),
            AnyEvent::Zta(e) => e.event_type(),
            AnyEvent::HubMessage(e) => e.event_type(),
            AnyEvent::Zitadel(e) => e.event_type(),
            AnyEvent::Zentitle(e) => e.event_type(),
            AnyEvent::Standard(e) => e.event_type(),
        }
    }

    /// The type in the family's subscription vocabulary: the same as
    /// [`event_type`](Self::event_type) except for Hub Message, where it is the webhook
    /// event (`MESSAGE_RECEIVED` for a `ReceivedCallback`, ...) when one is known.
    pub fn subscription_type(&self) -> &str {
        match self {
            AnyEvent::HubMessage(e) => match e.webhook_event() {
                Some(w) => match hub_message::WebhookEvent::KNOWN
                    .iter()
                    .find(|k| **k == w.as_str())
                {
                    Some(k) => k,
                    None => e.event_type(),
                },
                None => e.event_type(),
            },
            other => other.event_type(),
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

/// Parses a body of `family` into its typed event.
pub fn parse(family: Family, bytes: &[u8]) -> Result<AnyEvent, ParseError> {
    Ok(match family {
        Family::ZeroTier => AnyEvent::ZeroTier(zerotier::parse(bytes)?),
        Family::Zta => AnyEvent::Zta(zta::parse(bytes)?),
        Family::HubMessage => AnyEvent::HubMessage(hub_message::parse(bytes)?),
        Family::Zitadel => AnyEvent::Zitadel(zitadel::parse(bytes)?),
        Family::Zentitle => AnyEvent::Zentitle(zentitle::parse(bytes)?),
        Family::StandardWebhooks => AnyEvent::Standard(standard::parse(bytes)?),
    })
}

/// Parses an already-decoded JSON value of `family`.
pub fn from_value(family: Family, value: Value) -> Result<AnyEvent, ParseError> {
    Ok(match family {
        Family::ZeroTier => AnyEvent::ZeroTier(zerotier::Hook::from_value(value)?),
        Family::Zta => AnyEvent::Zta(zta::Event::from_value(value)?),
        Family::HubMessage => AnyEvent::HubMessage(hub_message::Event::from_value(value)?),
        Family::Zitadel => AnyEvent::Zitadel(zitadel::Payload::from_value(value)?),
        Family::Zentitle => AnyEvent::Zentitle(zentitle::Event::from_value(value)?),
        Family::StandardWebhooks => AnyEvent::Standard(standard::Event::from_value(value)?),
    })
}
