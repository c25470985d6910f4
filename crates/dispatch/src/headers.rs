//! The headers every request carries, and the names custom headers may not use.
//!
//! Every request has `Content-Type: application/json`, `User-Agent`, and hookwire's own
//! headers with the stable message id (the same on every retry, so receivers can drop
//! duplicates), the event type, the attempt's Unix timestamp and the attempt number. Families
//! add their own: Zero Trust Analytics `X-ZTA-Event` (what the vendor sends), Standard
//! Webhooks `webhook-id` / `webhook-timestamp` (written by the signer when signing). Then come
//! the endpoint's auth header and the signature headers of its scheme.

use base64::Engine as _;
use hookwire_events::Family;
use hookwire_signature::Scheme;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};

use crate::error::ValidationError;
use crate::model::{Auth, SecretHeader};

/// `X-Hookwire-Message-Id`: the message id, stable across retries.
pub const MESSAGE_ID: HeaderName = HeaderName::from_static("x-hookwire-message-id");
/// `X-Hookwire-Event-Type`: the event type.
pub const EVENT_TYPE: HeaderName = HeaderName::from_static("x-hookwire-event-type");
/// `X-Hookwire-Timestamp`: Unix seconds when this attempt was signed.
pub const TIMESTAMP: HeaderName = HeaderName::from_static("x-hookwire-timestamp");
/// `X-Hookwire-Attempt`: 1-based attempt number.
pub const ATTEMPT: HeaderName = HeaderName::from_static("x-hookwire-attempt");
/// `X-ZTA-Event`: Zero Trust Analytics' event header.
pub const ZTA_EVENT: HeaderName = HeaderName::from_static("x-zta-event");
/// `webhook-id` (Standard Webhooks).
pub const WEBHOOK_ID: HeaderName = HeaderName::from_static("webhook-id");
/// `webhook-timestamp` (Standard Webhooks).
pub const WEBHOOK_TIMESTAMP: HeaderName = HeaderName::from_static("webhook-timestamp");

const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

const ALWAYS_RESERVED: &[&str] = &[
    "host",
    "content-length",
    "content-type",
    "content-encoding",
    "user-agent",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "svix-id",
    "svix-timestamp",
    "svix-signature",
    "x-zta-event",
];

/// Whether `name` (any case) is reserved for a request made with `scheme`: hop-by-hop headers,
/// `Host`, `Content-Length`, `Content-Type`, `User-Agent`, hookwire's `X-Hookwire-*`, the
/// families' id/timestamp/event headers and the scheme's signature headers.
pub fn is_reserved(name: &str, scheme: Option<&Scheme>) -> bool {
    let lower = name.trim().to_ascii_lowercase();
    if HOP_BY_HOP.contains(&lower.as_str())
        || ALWAYS_RESERVED.contains(&lower.as_str())
        || lower.starts_with("x-hookwire-")
    {
        return true;
    }
    scheme.is_some_and(|s| {
        s.signature_header_names()
            .iter()
            .any(|h| h.as_str() == lower)
    })
}

/// Validates an endpoint's custom headers (plain and secret) and auth against the deny-list;
/// `max` counts both kinds.
pub(crate) fn validate(
    headers: &[(String, String)],
    secret: &[SecretHeader],
    auth: &Auth,
    scheme: Option<&Scheme>,
    max: usize,
) -> Result<(), ValidationError> {
    let got = headers.len() + secret.len();
    if got > max {
        return Err(ValidationError::TooManyHeaders { got, max });
    }
    let auth_header = auth_header_name(auth)?;
    let all = headers
        .iter()
        .map(|(n, v)| (n, v.as_str()))
        .chain(secret.iter().map(|h| (&h.name, h.value.expose_secret())));
    for (name, value) in all {
        let parsed = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| ValidationError::InvalidHeader(name.clone()))?;
        HeaderValue::from_str(value).map_err(|_| ValidationError::InvalidHeader(name.clone()))?;
        if is_reserved(name, scheme) || auth_header.as_ref() == Some(&parsed) {
            return Err(ValidationError::ReservedHeader(name.clone()));
        }
    }
    if let Some(h) = &auth_header
        && !matches!(auth, Auth::Bearer { .. } | Auth::Basic { .. })
        && is_reserved(h.as_str(), scheme)
    {
        return Err(ValidationError::ReservedHeader(h.as_str().to_owned()));
    }
    match auth {
        Auth::None => {}
        Auth::Bearer { token } if token.expose_secret().is_empty() => {
            return Err(ValidationError::InvalidAuth("empty bearer token"));
        }
        Auth::ApiKey { key: v, .. } | Auth::CustomHeader { value: v, .. }
            if v.expose_secret().is_empty() =>
        {
            return Err(ValidationError::InvalidAuth("empty header value"));
        }
        Auth::Basic { username, .. } if username.contains(':') => {
            return Err(ValidationError::InvalidAuth(
                "user name must not contain ':'",
            ));
        }
        _ => {}
    }
    if auth_value(auth).is_err() {
        return Err(ValidationError::InvalidAuth(
            "value is not a valid header value",
        ));
    }
    Ok(())
}

fn auth_header_name(auth: &Auth) -> Result<Option<HeaderName>, ValidationError> {
    Ok(match auth {
        Auth::None => None,
        Auth::Bearer { .. } | Auth::Basic { .. } => Some(header::AUTHORIZATION),
        Auth::ApiKey { header, .. } | Auth::CustomHeader { header, .. } => Some(
            HeaderName::from_bytes(header.trim().as_bytes())
                .map_err(|_| ValidationError::InvalidAuth("invalid header name"))?,
        ),
    })
}

fn auth_value(auth: &Auth) -> Result<Option<HeaderValue>, http::header::InvalidHeaderValue> {
    let mut value = match auth {
        Auth::None => return Ok(None),
        Auth::Bearer { token } => {
            HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))?
        }
        Auth::ApiKey { key, .. } => HeaderValue::from_str(key.expose_secret())?,
        Auth::Basic { username, password } => {
            let raw = format!("{username}:{}", password.expose_secret());
            let encoded = base64::engine::general_purpose::STANDARD.encode(raw.as_bytes());
            HeaderValue::from_str(&format!("Basic {encoded}"))?
        }
        Auth::CustomHeader { value, .. } => HeaderValue::from_str(value.expose_secret())?,
    };
    value.set_sensitive(true);
    Ok(Some(value))
}

/// What one attempt's headers are made of.
#[derive(Debug)]
pub(crate) struct RequestMeta<'a> {
    pub(crate) family: Family,
    pub(crate) message_id: &'a str,
    pub(crate) event_type: &'a str,
    pub(crate) timestamp: i64,
    pub(crate) attempt: u32,
}

/// The headers every attempt to an endpoint starts from: its custom headers (plain, then
/// secret, marked sensitive), then `Content-Type` and `User-Agent` (which replace same-named
/// custom ones).
pub(crate) fn base(
    custom: &[(String, String)],
    secret: &[SecretHeader],
    user_agent: &HeaderValue,
) -> HeaderMap {
    let mut map = HeaderMap::with_capacity(custom.len() + secret.len() + 10);
    let all = custom.iter().map(|(n, v)| (n, v.as_str(), false)).chain(
        secret
            .iter()
            .map(|h| (&h.name, h.value.expose_secret(), true)),
    );
    for (name, value, sensitive) in all {
        // Validated at registration; anything unusable is skipped rather than sent broken.
        if let (Ok(n), Ok(mut v)) = (
            HeaderName::from_bytes(name.trim().as_bytes()),
            HeaderValue::from_str(value),
        ) {
            v.set_sensitive(sensitive);
            map.append(n, v);
        }
    }
    map.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    map.insert(header::USER_AGENT, user_agent.clone());
    map
}

/// The auth header (marked sensitive), when the endpoint has usable auth.
pub(crate) fn auth_pair(auth: &Auth) -> Option<(HeaderName, HeaderValue)> {
    match (auth_header_name(auth), auth_value(auth)) {
        (Ok(Some(name)), Ok(Some(value))) => Some((name, value)),
        _ => None,
    }
}

/// One attempt's headers: `base` (see [`base`]), then ours and the family's, then `auth`,
/// then `signature` (the signer's output, which replaces any same-named header).
pub(crate) fn build(
    base: &HeaderMap,
    meta: &RequestMeta<'_>,
    auth: Option<&(HeaderName, HeaderValue)>,
    signature: Vec<(HeaderName, HeaderValue)>,
) -> HeaderMap {
    let mut map = base.clone();
    let text = |s: &str| HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""));
    let message_id = text(meta.message_id);
    let event_type = text(meta.event_type);
    map.insert(MESSAGE_ID, message_id.clone());
    map.insert(EVENT_TYPE, event_type.clone());
    map.insert(TIMESTAMP, HeaderValue::from(meta.timestamp));
    map.insert(ATTEMPT, HeaderValue::from(meta.attempt));
    match meta.family {
        Family::Zta => {
            map.insert(ZTA_EVENT, event_type);
        }
        Family::StandardWebhooks => {
            map.insert(WEBHOOK_ID, message_id);
            map.insert(WEBHOOK_TIMESTAMP, HeaderValue::from(meta.timestamp));
        }
        _ => {}
    }
    if let Some((name, value)) = auth {
        map.insert(name.clone(), value.clone());
    }
    let mut replaced: Vec<HeaderName> = Vec::new();
    for (name, value) in signature {
        if !replaced.contains(&name) {
            map.remove(&name);
            replaced.push(name.clone());
        }
        map.append(name, value);
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookwire_signature::Secret;

    #[test]
    fn deny_list() {
        let zt = Scheme::ZeroTier;
        for name in [
            "Connection",
            "transfer-encoding",
            "Host",
            "content-length",
            "X-Hookwire-Message-Id",
            "x-hookwire-anything",
            "webhook-signature",
            "X-ZTC-Signature",
        ] {
            assert!(is_reserved(name, Some(&zt)), "{name}");
        }
        assert!(!is_reserved("X-ZTC-Signature", None));
        assert!(!is_reserved("X-Tenant", Some(&zt)));
        let bad = validate(
            &[("X-ZTC-Signature".into(), "x".into())],
            &[],
            &Auth::None,
            Some(&zt),
            20,
        );
        assert!(matches!(bad, Err(ValidationError::ReservedHeader(_))));
        let clash = validate(
            &[],
            &[SecretHeader::new("X-Api-Key", "x")],
            &Auth::ApiKey {
                header: "x-api-key".into(),
                key: Secret::new("k"),
            },
            None,
            20,
        );
        assert!(matches!(clash, Err(ValidationError::ReservedHeader(_))));
        assert!(validate(&[("X-Ok".into(), "1".into())], &[], &Auth::None, None, 20).is_ok());
        assert!(matches!(
            validate(
                &[("bad name".into(), "1".into())],
                &[],
                &Auth::None,
                None,
                20
            ),
            Err(ValidationError::InvalidHeader(_))
        ));
    }

    #[test]
    fn auth_headers() {
        let ua = HeaderValue::from_static("ua");
        let meta = RequestMeta {
            family: Family::Zta,
            message_id: "msg_1",
            event_type: "pageview",
            timestamp: 1_700_000_000,
            attempt: 2,
        };
        let base = base(&[("X-Custom".into(), "c".into())], &[], &ua);
        let build = |meta: &RequestMeta<'_>, auth: &Auth| {
            super::build(&base, meta, auth_pair(auth).as_ref(), vec![])
        };
        let basic = Auth::Basic {
            username: "user".into(),
            password: Secret::new("pass"),
        };
        let h = build(&meta, &basic);
        assert_eq!(h["authorization"], "Basic dXNlcjpwYXNz");
        assert!(h["authorization"].is_sensitive());
        assert_eq!(h["x-zta-event"], "pageview");
        assert_eq!(h["x-hookwire-message-id"], "msg_1");
        assert_eq!(h["x-hookwire-attempt"], "2");
        assert_eq!(h["x-custom"], "c");
        assert_eq!(h["user-agent"], "ua");
        let bearer = Auth::Bearer {
            token: Secret::new("tok"),
        };
        assert_eq!(build(&meta, &bearer)["authorization"], "Bearer tok");
        let key = Auth::ApiKey {
            header: "X-Api-Key".into(),
            key: Secret::new("k1"),
        };
        assert_eq!(build(&meta, &key)["x-api-key"], "k1");
    }
}
