//! What the vendor-shaped routers share: resource scoping under a tenant, the tenant lookup,
//! JSON bodies read into a flavour's own error shape, id and time formats.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use hookwire_dispatch::{DispatchError, ValidationError};
use http::StatusCode;
use http::request::Parts;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::state::ApiState;
use crate::tenant::Rejection;

/// The dispatcher tenant holding a flavour's resources of one scope (a ZTA site, a Hub
/// Message channel, a ZITADEL instance) of one API tenant. The tenant's length is part of the
/// key, so no choice of tenant and scope ids can reach another tenant's key.
pub(crate) fn scoped(kind: &str, tenant: &str, scope: &str) -> String {
    format!("{}{scope}", scope_prefix(kind, tenant))
}

/// The common prefix of every [`scoped`] key of `kind` and `tenant`.
pub(crate) fn scope_prefix(kind: &str, tenant: &str) -> String {
    format!("{kind}:{}:{tenant}:", tenant.len())
}

/// The scope of a dispatcher tenant key when it belongs to `kind` and `tenant`.
pub(crate) fn scope_of<'a>(key: &'a str, kind: &str, tenant: &str) -> Option<&'a str> {
    key.strip_prefix(&scope_prefix(kind, tenant))
}

/// Whether a client-chosen scope id (site id, channel id) is usable: 1 to 128 printable
/// ASCII characters other than space.
pub(crate) fn valid_scope_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic())
}

/// The tenant the API's resolver maps this request to.
pub(crate) async fn tenant_of(state: &ApiState, parts: &Parts) -> Result<String, Rejection> {
    match state.tenants().tenant(parts).await {
        Ok(t) if !t.is_empty() => Ok(t),
        Ok(_) => Err(Rejection::Forbidden),
        Err(e) => Err(e),
    }
}

/// Why a JSON body could not be read.
#[derive(Debug)]
pub(crate) struct BodyError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

/// Parses a JSON request body, reporting the field path that failed.
pub(crate) fn json_body<T: DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T, BodyError> {
    let bytes = body.map_err(|e| BodyError {
        status: e.status(),
        message: if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            "Request body too large".to_owned()
        } else {
            "Request body could not be read".to_owned()
        },
    })?;
    let text = std::str::from_utf8(&bytes).map_err(|_| BodyError {
        status: StatusCode::BAD_REQUEST,
        message: "Request body is not UTF-8".to_owned(),
    })?;
    let mut de = serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = if path.is_empty() || path == "." {
            format!("Invalid JSON body: {inner}")
        } else {
            format!("Invalid field `{path}`: {inner}")
        };
        BodyError {
            status: StatusCode::BAD_REQUEST,
            message,
        }
    })?;
    de.end().map_err(|e| BodyError {
        status: StatusCode::BAD_REQUEST,
        message: format!("Invalid JSON body: {e}"),
    })?;
    Ok(value)
}

/// A 200 JSON response (the crate's JSON reply), usable with a status in a tuple.
pub(crate) struct JsonOk<T>(T);

pub(crate) fn json_ok<T: Serialize>(body: T) -> JsonOk<T> {
    JsonOk(body)
}

impl<T: Serialize> IntoResponse for JsonOk<T> {
    fn into_response(self) -> Response {
        crate::json::reply(StatusCode::OK, &self.0)
    }
}

/// The query parameters of a request (the last of repeated names wins).
pub(crate) fn query(parts: &Parts) -> HashMap<String, String> {
    url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// The validation refusal inside a dispatcher error, if it is one.
pub(crate) fn validation(e: &DispatchError) -> Option<&ValidationError> {
    e.validation()
}

/// Whether a dispatcher error says the record does not exist.
pub(crate) fn is_not_found(e: &DispatchError) -> bool {
    e.is_not_found()
}

/// The hex part of a dispatcher endpoint id (`ep_<32 hex>`).
pub(crate) fn endpoint_hex(id: &str) -> Option<&str> {
    id.strip_prefix("ep_")
        .filter(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The dispatcher endpoint id for a 32-hex-digit id in either case.
pub(crate) fn endpoint_id_from_hex(hex: &str) -> Option<String> {
    (hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("ep_{}", hex.to_ascii_lowercase()))
}

/// The current time in Unix milliseconds.
pub(crate) fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// UTC calendar fields of a Unix-milliseconds time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Utc {
    pub(crate) year: i64,
    pub(crate) month: u32,
    pub(crate) day: u32,
    pub(crate) hour: u32,
    pub(crate) minute: u32,
    pub(crate) second: u32,
    pub(crate) millis: u32,
}

impl Utc {
    pub(crate) fn from_millis(ms: i64) -> Self {
        let secs = ms.div_euclid(1000);
        let millis = ms.rem_euclid(1000) as u32;
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400) as u32;
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Self {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem / 60 % 60,
            second: rem % 60,
            millis,
        }
    }

    /// `2024-12-01T10:00:00.000` (no zone).
    fn local(self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.millis
        )
    }
}

/// `2024-12-01T10:00:00.000Z`: JavaScript's `toISOString`, protojson timestamps.
pub(crate) fn iso_z(ms: i64) -> String {
    format!("{}Z", Utc::from_millis(ms).local())
}

/// `2025-01-15T10:30:00.000+0000`: Java's default offset form (no colon).
pub(crate) fn iso_offset(ms: i64) -> String {
    format!("{}+0000", Utc::from_millis(ms).local())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_never_collide_across_tenants() {
        // "a:1" + "x" and "a" + "1:x" would collide without the length.
        assert_ne!(scoped("zta", "a:1", "x"), scoped("zta", "a", "1:x"));
        let key = scoped("zta", "acme", "site_1");
        assert_eq!(scope_of(&key, "zta", "acme"), Some("site_1"));
        assert_eq!(scope_of(&key, "zta", "acm"), None);
        assert_eq!(scope_of(&key, "hub", "acme"), None);
    }

    #[test]
    fn times_format_like_the_vendors() {
        assert_eq!(iso_z(1_733_047_200_000), "2024-12-01T10:00:00.000Z");
        assert_eq!(
            iso_offset(1_736_937_000_000),
            "2025-01-15T10:30:00.000+0000"
        );
        assert_eq!(iso_z(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_z(951_782_400_123), "2000-02-29T00:00:00.123Z");
    }

    #[test]
    fn ids_round_trip() {
        let id = "ep_a1b2c3d4e5f6789012345678901234ab";
        let hex = endpoint_hex(id).expect("hex");
        assert_eq!(
            endpoint_id_from_hex(&hex.to_ascii_uppercase()).as_deref(),
            Some(id)
        );
        assert_eq!(endpoint_id_from_hex("xyz"), None);
        assert_eq!(endpoint_hex("ep_short"), None);
    }
}
