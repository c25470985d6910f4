//! Zentitle2 (Nalpeiron) webhooks: the envelope (`eventId`, `eventDate`, `eventCode`,
//! `resourceId`, `callAttempt`, `payload`), the 20 event codes, and typed views of the
//! customer, entitlement and seat payloads. The test event has an empty payload and
//! `resourceId` = the listener id.

use hookwire_events_derive::Lossless;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Number, Value};

use crate::de::{self, Object, deserialize_via_value, string_enum};
use crate::error::ParseError;

string_enum! {
    /// `eventCode` values (n8n `events.ts`, generated from the OpenAPI `x-webhooks`).
    #[non_exhaustive]
    pub enum EventCode {
        /// customer.created
        CustomerCreated = "customer.created",
        /// customer.updated
        CustomerUpdated = "customer.updated",
        /// entitlement.activated
        EntitlementActivated = "entitlement.activated",
        /// entitlement.created
        EntitlementCreated = "entitlement.created",
        /// entitlement.updated
        EntitlementUpdated = "entitlement.updated",
        /// entitlement.renewed
        EntitlementRenewed = "entitlement.renewed",
        /// entitlement.provision
        EntitlementProvision = "entitlement.provision",
        /// entitlement.expired
        EntitlementExpired = "entitlement.expired",
        /// entitlement.expires1day
        EntitlementExpires1Day = "entitlement.expires1day",
        /// entitlement.expires7days
        EntitlementExpires7Days = "entitlement.expires7days",
        /// entitlement.expires30days
        EntitlementExpires30Days = "entitlement.expires30days",
        /// entitlement.group.created
        EntitlementGroupCreated = "entitlement.group.created",
        /// entitlement.group.updated
        EntitlementGroupUpdated = "entitlement.group.updated",
        /// entitlement.maintenance.expired
        MaintenanceExpired = "entitlement.maintenance.expired",
        /// entitlement.maintenance.expires1day
        MaintenanceExpires1Day = "entitlement.maintenance.expires1day",
        /// entitlement.maintenance.expires7days
        MaintenanceExpires7Days = "entitlement.maintenance.expires7days",
        /// entitlement.maintenance.expires30days
        MaintenanceExpires30Days = "entitlement.maintenance.expires30days",
        /// entitlement.seat.activated
        SeatActivated = "entitlement.seat.activated",
        /// entitlement.seat.deactivated
        SeatDeactivated = "entitlement.seat.deactivated",
        /// entitlement.usage.summary
        UsageSummary = "entitlement.usage.summary",
    }
}

/// The 20 event codes.
pub const EVENT_TYPES: &[&str] = EventCode::KNOWN;

/// Customer payload (`customer.*`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
#[serde(rename_all = "camelCase")]
pub struct CustomerPayload {
    /// `customerId`.
    pub customer_id: String,
    /// `name`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub name: Option<String>,
    /// `disabled`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::present"
    )]
    pub disabled: Option<bool>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Object,
}

/// Entitlement payload (`entitlement.*` except seats, groups and usage).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
#[serde(rename_all = "camelCase")]
pub struct EntitlementPayload {
    /// `entitlementId`.
    pub entitlement_id: String,
    /// `activatedAt`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::double_option"
    )]
    pub activated_at: Option<Option<String>>,
    /// `expiresAt`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::double_option"
    )]
    pub expires_at: Option<Option<String>>,
    /// `daysToExpire`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::double_option"
    )]
    pub days_to_expire: Option<Option<Number>>,
    /// `maintenanceExpiresAt`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::double_option"
    )]
    pub maintenance_expires_at: Option<Option<String>>,
    /// `maintenanceExpiredAt`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::double_option"
    )]
    pub maintenance_expired_at: Option<Option<String>>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Object,
}

/// Seat payload (`entitlement.seat.*`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Lossless)]
#[serde(rename_all = "camelCase")]
pub struct SeatPayload {
    /// `entitlementId`.
    pub entitlement_id: String,
    /// `activationId`.
    pub activation_id: String,
    /// `seatId`.
    pub seat_id: String,
    /// `seatName`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::double_option"
    )]
    pub seat_name: Option<Option<String>>,
    /// `seatsUsed`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::double_option"
    )]
    pub seats_used: Option<Option<Number>>,
    /// `isOverdraftSeat`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::double_option"
    )]
    pub is_overdraft_seat: Option<Option<bool>>,
    /// `activatedAt`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::double_option"
    )]
    pub activated_at: Option<Option<String>>,
    /// `deactivatedAt`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::double_option"
    )]
    pub deactivated_at: Option<Option<String>>,
    /// `leaseExpiry`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::double_option"
    )]
    pub lease_expiry: Option<Option<String>>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Object,
}

/// The payload, typed by `eventCode`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Payload {
    /// `customer.*`.
    Customer(CustomerPayload),
    /// `entitlement.*` (not seat, group or usage).
    Entitlement(EntitlementPayload),
    /// `entitlement.seat.*`.
    Seat(SeatPayload),
    /// An empty object (the test event).
    Empty(Object),
    /// Any other payload (groups, usage summary, unknown codes), kept as JSON.
    Other(Value),
}

/// One Zentitle2 webhook delivery.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// `eventId` (`event_…`).
    pub event_id: String,
    /// `eventDate` (ISO-8601, µs precision, `Z`).
    pub event_date: String,
    /// `eventCode` as sent.
    pub event_code: String,
    /// `resourceId` (the listener id for the test event).
    pub resource_id: String,
    /// `callAttempt` (1-based).
    pub call_attempt: u64,
    /// `payload`.
    pub payload: Payload,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Object,
}

/// The envelope, with `payload` as a `Value` (reference path) or raw text (direct path).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEvent<P> {
    event_id: String,
    event_date: String,
    event_code: String,
    resource_id: String,
    call_attempt: u64,
    payload: P,
    #[serde(flatten)]
    extra: Object,
}

impl Event {
    /// Builds an event (first attempt).
    pub fn new(
        code: EventCode,
        event_id: impl Into<String>,
        event_date: impl Into<String>,
        resource_id: impl Into<String>,
        payload: Payload,
    ) -> Self {
        Self {
            event_id: event_id.into(),
            event_date: event_date.into(),
            event_code: code.as_str().to_owned(),
            resource_id: resource_id.into(),
            call_attempt: 1,
            payload,
            extra: Object::new(),
        }
    }

    /// `entitlement.activated` for an entitlement (resourceId = the entitlement id).
    pub fn entitlement_activated(
        event_id: impl Into<String>,
        event_date: impl Into<String>,
        payload: EntitlementPayload,
    ) -> Self {
        let rid = payload.entitlement_id.clone();
        Self::new(
            EventCode::EntitlementActivated,
            event_id,
            event_date,
            rid,
            Payload::Entitlement(payload),
        )
    }

    /// `customer.created` (resourceId = the customer id).
    pub fn customer_created(
        event_id: impl Into<String>,
        event_date: impl Into<String>,
        payload: CustomerPayload,
    ) -> Self {
        let rid = payload.customer_id.clone();
        Self::new(
            EventCode::CustomerCreated,
            event_id,
            event_date,
            rid,
            Payload::Customer(payload),
        )
    }

    /// The test event: empty payload, resourceId = the listener id. Its `eventCode` is not
    /// published, so the caller supplies it.
    pub fn test(
        event_code: impl Into<String>,
        event_id: impl Into<String>,
        event_date: impl Into<String>,
        listener_id: impl Into<String>,
    ) -> Self {
        Self {
            event_id: event_id.into(),
            event_date: event_date.into(),
            event_code: event_code.into(),
            resource_id: listener_id.into(),
            call_attempt: 1,
            payload: Payload::Empty(Object::new()),
            extra: Object::new(),
        }
    }

    /// Converts a parsed JSON value.
    pub fn from_value(value: Value) -> Result<Self, ParseError> {
        Self::from_parts(de::from_value::<RawEvent<Value>>(value, "")?)
    }

    pub(crate) fn from_raw(object: de::RawObject<'_>) -> Option<Self> {
        Self::from_parts(object.into_typed::<RawEvent<&RawValue>>()?).ok()
    }

    /// The event from its envelope, the payload read by its code (either path).
    fn from_parts<P: de::Fragment>(raw: RawEvent<P>) -> Result<Self, P::Error> {
        let code = EventCode::from_wire(&raw.event_code);
        let payload = if raw.payload.is_empty_object() {
            Payload::Empty(Object::new())
        } else {
            match code {
                EventCode::CustomerCreated | EventCode::CustomerUpdated => {
                    Payload::Customer(raw.payload.typed("payload")?)
                }
                EventCode::SeatActivated | EventCode::SeatDeactivated => {
                    Payload::Seat(raw.payload.typed("payload")?)
                }
                EventCode::EntitlementGroupCreated
                | EventCode::EntitlementGroupUpdated
                | EventCode::UsageSummary
                | EventCode::Other(_) => Payload::Other(raw.payload.value()?),
                _ => Payload::Entitlement(raw.payload.typed("payload")?),
            }
        };
        Ok(Self {
            event_id: raw.event_id,
            event_date: raw.event_date,
            event_code: raw.event_code,
            resource_id: raw.resource_id,
            call_attempt: raw.call_attempt,
            payload,
            extra: raw.extra,
        })
    }

    /// The typed event code.
    pub fn code(&self) -> EventCode {
        EventCode::from_wire(&self.event_code)
    }

    /// `eventCode` as sent.
    pub fn event_type(&self) -> &str {
        &self.event_code
    }

    /// `true` for a test event (empty payload).
    pub fn is_test(&self) -> bool {
        matches!(&self.payload, Payload::Empty(_))
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

/// Parses a Zentitle2 webhook body.
pub fn parse(bytes: &[u8]) -> Result<Event, ParseError> {
    de::parse_with(bytes, Event::from_raw, Event::from_value)
}
