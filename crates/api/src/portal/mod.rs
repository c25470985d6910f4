//! The tenant portal: server-rendered pages where a tenant manages its endpoints and looks at
//! its deliveries, served by the same router as the API (nest it at `/portal`).
//!
//! A tenant lists and creates endpoints, edits their event types, disables and enables them,
//! rotates the signing secret (shown once, on the page that issued it), sends a test event,
//! sees deliveries with their attempt log, redelivers one and recovers an endpoint's failures.
//! No JavaScript; the stylesheet is compiled into the binary.
//!
//! # Signing in
//! A request is the tenant the API's [`Tenants`](crate::Tenants) resolver says it is, so a
//! host whose own authentication is a cookie needs nothing more. For bearer tokens (which a
//! browser does not send by itself), `GET /login` shows a form taking the token once;
//! `POST /login` asks the same resolver about it and, when it accepts, sets the `hw_session`
//! cookie: the tenant and an expiry under an HMAC-SHA256 of the portal's key, `HttpOnly`,
//! `SameSite=Strict`, `Secure` unless turned off for plain-HTTP development. The token itself
//! is never stored. `POST /logout` clears the cookie (sessions are stateless: one stays valid
//! until it expires, 12 hours by default, or the key changes).
//!
//! # CSRF
//! Every state-changing form carries a token that is an HMAC of the tenant and a random
//! nonce held in the `hw_csrf` cookie (double submit); a POST whose token does not match, or
//! that a browser labels `Sec-Fetch-Site: cross-site`, is refused with 403 before anything is
//! read or written. Pages are sent with a strict Content-Security-Policy (no scripts, no
//! framing), `Cache-Control: no-store` and `Referrer-Policy: no-referrer`.

// Handlers and their helpers return a finished `Response` as the error: it ends the request
// at once, so boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

mod html;
mod pages;
mod session;

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::OriginalUri;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};

use crate::state::ApiState;

use self::session::Key;

/// The largest form body accepted (64 KiB).
const FORM_LIMIT: usize = 64 * 1024;

/// Why a [`PortalConfig`] could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PortalError {
    /// The OS random generator failed.
    #[error("no randomness available for the portal key")]
    Entropy,
}

/// Portal settings: the session key, cookie security, session lifetime.
#[derive(Clone)]
pub struct PortalConfig {
    key: Key,
    secure_cookies: bool,
    session_ttl: Duration,
}

impl fmt::Debug for PortalConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PortalConfig")
            .field("secure_cookies", &self.secure_cookies)
            .field("session_ttl", &self.session_ttl)
            .finish_non_exhaustive()
    }
}

impl PortalConfig {
    /// A fresh random session key (sessions end when the process restarts), `Secure`
    /// cookies, 12-hour sessions.
    ///
    /// # Errors
    /// [`PortalError::Entropy`] when the OS has no random source.
    pub fn new() -> Result<Self, PortalError> {
        Ok(Self::from_key(Key::random().ok_or(PortalError::Entropy)?))
    }

    /// A configuration with the host's own 32-byte session key (sessions survive restarts
    /// and work across several processes sharing it).
    pub fn with_key(key: [u8; 32]) -> Self {
        Self::from_key(Key::new(key))
    }

    fn from_key(key: Key) -> Self {
        Self {
            key,
            secure_cookies: true,
            session_ttl: Duration::from_secs(12 * 3600),
        }
    }

    /// Marks cookies `Secure` (default on). Turn it off only for plain-HTTP development on
    /// loopback.
    #[must_use]
    pub fn secure_cookies(mut self, secure: bool) -> Self {
        self.secure_cookies = secure;
        self
    }

    /// How long a session lasts (default 12 hours).
    #[must_use]
    pub fn session_ttl(mut self, ttl: Duration) -> Self {
        self.session_ttl = ttl;
        self
    }
}

#[derive(Clone)]
pub(crate) struct Portal {
    pub(crate) api: ApiState,
    pub(crate) config: PortalConfig,
}

/// The portal's pages (mount with `nest("/portal", …)`).
pub fn router(state: ApiState, config: PortalConfig) -> Router {
    Router::new()
        .route("/", get(pages::endpoints))
        .route("/assets/portal.css", get(css))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/endpoints", post(pages::create_endpoint))
        .route("/endpoints/{id}", get(pages::endpoint))
        .route("/endpoints/{id}/{action}", post(pages::act))
        .route("/deliveries/{id}", get(pages::delivery))
        .route("/deliveries/{id}/redeliver", post(pages::redeliver))
        .layer(axum::extract::DefaultBodyLimit::max(FORM_LIMIT))
        .with_state(Portal { api: state, config })
}

async fn css() -> Response {
    let mut res = html::CSS.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    res
}

/// Who is asking, where the portal is mounted, and the CSRF material of this request.
pub(crate) struct Ctx {
    pub(crate) base: String,
    pub(crate) tenant: Option<String>,
    nonce: String,
    fresh_nonce: bool,
    from_session: bool,
}

impl Ctx {
    pub(crate) async fn new(p: &Portal, parts: &Parts) -> Result<Self, Response> {
        let base = base_of(parts);
        let now = unix_now();
        let from_session = session::cookie(&parts.headers, session::SESSION_COOKIE)
            .and_then(|v| p.config.key.open_session(v, now));
        let (tenant, from_session) = match from_session {
            Some(t) => (Some(t), true),
            None => (crate::flavour::tenant_of(&p.api, parts).await.ok(), false),
        };
        let (nonce, fresh_nonce) = match session::cookie(&parts.headers, session::CSRF_COOKIE) {
            Some(n) if n.len() == 32 && n.bytes().all(|b| b.is_ascii_hexdigit()) => {
                (n.to_owned(), false)
            }
            _ => match session::nonce() {
                Some(n) => (n, true),
                None => return Err(plain(StatusCode::SERVICE_UNAVAILABLE, "no randomness")),
            },
        };
        Ok(Self {
            base,
            tenant,
            nonce,
            fresh_nonce,
            from_session,
        })
    }

    /// The CSRF token for forms on this page.
    pub(crate) fn csrf(&self, p: &Portal) -> String {
        p.config
            .key
            .csrf(self.tenant.as_deref().unwrap_or(""), &self.nonce)
    }

    /// Whether a POST is genuine: same-site and carrying the right token.
    pub(crate) fn check_post(&self, p: &Portal, parts: &Parts, form: &Form) -> bool {
        let cross = parts
            .headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("cross-site"));
        !cross
            && !self.fresh_nonce
            && p.config.key.check_csrf(
                self.tenant.as_deref().unwrap_or(""),
                &self.nonce,
                form.get("csrf"),
            )
    }

    /// The portal's home page (the endpoints).
    pub(crate) fn home(&self) -> String {
        if self.base.is_empty() {
            "/".to_owned()
        } else {
            self.base.clone()
        }
    }

    fn cookie_path(&self) -> &str {
        if self.base.is_empty() {
            "/"
        } else {
            &self.base
        }
    }

    /// Adds the cookies this request needs (a new CSRF nonce).
    pub(crate) fn finish(&self, p: &Portal, mut res: Response) -> Response {
        if self.fresh_nonce {
            let c = session::set_cookie(
                session::CSRF_COOKIE,
                &self.nonce,
                self.cookie_path(),
                p.config.secure_cookies,
                None,
            );
            if let Ok(v) = HeaderValue::from_str(&c) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        res
    }

    /// The session cookie for `tenant` (sign-in), or its removal (`None`).
    pub(crate) fn session_cookie(&self, p: &Portal, tenant: Option<&str>) -> Option<HeaderValue> {
        let (value, age) = match tenant {
            Some(t) => {
                let ttl = i64::try_from(p.config.session_ttl.as_secs()).unwrap_or(i64::MAX / 2);
                (
                    p.config.key.session(t, unix_now().saturating_add(ttl)),
                    Some(ttl),
                )
            }
            None => (String::new(), Some(0)),
        };
        let c = session::set_cookie(
            session::SESSION_COOKIE,
            &value,
            self.cookie_path(),
            p.config.secure_cookies,
            age,
        );
        HeaderValue::from_str(&c).ok()
    }

    /// Whether the tenant came from the portal's own session (sign-out makes sense).
    pub(crate) fn has_session(&self) -> bool {
        self.from_session
    }
}

/// Where the portal is mounted: the original path minus the path this router saw.
fn base_of(parts: &Parts) -> String {
    let inner = parts.uri.path();
    let original = parts
        .extensions
        .get::<OriginalUri>()
        .map_or(inner, |o| o.0.path());
    let base = if inner == "/" {
        original.trim_end_matches('/')
    } else {
        original.strip_suffix(inner).unwrap_or("")
    };
    base.to_owned()
}

pub(crate) fn unix_now() -> i64 {
    crate::flavour::now_millis() / 1000
}

/// A parsed `application/x-www-form-urlencoded` body.
pub(crate) struct Form(HashMap<String, String>);

impl Form {
    pub(crate) fn parse(body: Result<Bytes, BytesRejection>) -> Result<Self, Response> {
        let bytes = body.map_err(|e| plain(e.status(), "the form could not be read"))?;
        Ok(Self(
            url::form_urlencoded::parse(&bytes).into_owned().collect(),
        ))
    }

    pub(crate) fn get(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }
}

/// A short plain-text answer (errors before a page can be drawn).
pub(crate) fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut res = (status, text).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}

/// An HTML page with the portal's security headers.
pub(crate) fn html_response(status: StatusCode, body: String) -> Response {
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

/// A 303 to `location`.
pub(crate) fn see_other(location: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}
