//! Browser sessions and CSRF tokens, both HMAC-SHA256 under the portal's key.
//!
//! - **Session** (`hw_session` cookie, `HttpOnly; SameSite=Strict`): `v1.<tenant, base64url>.
//!   <expiry, unix seconds>.<mac, base64url>`; the MAC covers tenant and expiry, so the
//!   browser can neither change the tenant nor extend the session.
//! - **CSRF** (double submit): the `hw_csrf` cookie holds a random nonce; every form carries
//!   `HMAC(key, "csrf" ‖ tenant ‖ nonce)`. A POST is accepted only when its form token matches
//!   the token computed from its own cookie and tenant (constant-time comparison), so a
//!   page on another origin, which can neither read the cookie nor the token, cannot forge one.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use http::HeaderMap;
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub(crate) const SESSION_COOKIE: &str = "hw_session";
pub(crate) const CSRF_COOKIE: &str = "hw_csrf";

/// The portal's MAC key (32 random bytes unless the host gives one).
#[derive(Clone)]
pub(crate) struct Key([u8; 32]);

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key([REDACTED])")
    }
}

impl Key {
    pub(crate) fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub(crate) fn random() -> Option<Self> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).ok()?;
        Some(Self(bytes))
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        // HMAC accepts keys of any length; 32 bytes cannot fail.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        for p in parts {
            // Length-prefixed, so no two part lists give the same input.
            mac.update(&(p.len() as u64).to_be_bytes());
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }

    /// A session cookie value for `tenant`, valid until `expires` (unix seconds).
    pub(crate) fn session(&self, tenant: &str, expires: i64) -> String {
        let t = URL_SAFE_NO_PAD.encode(tenant);
        let e = expires.to_string();
        let mac = self.mac(&[b"session", t.as_bytes(), e.as_bytes()]);
        format!("v1.{t}.{e}.{}", URL_SAFE_NO_PAD.encode(mac))
    }

    /// The tenant of a session cookie value, if its MAC holds and it has not expired.
    pub(crate) fn open_session(&self, value: &str, now: i64) -> Option<String> {
        let mut it = value.split('.');
        let (Some("v1"), Some(t), Some(e), Some(m), None) =
            (it.next(), it.next(), it.next(), it.next(), it.next())
        else {
            return None;
        };
        let given = URL_SAFE_NO_PAD.decode(m).ok()?;
        let want = self.mac(&[b"session", t.as_bytes(), e.as_bytes()]);
        if !bool::from(want.as_slice().ct_eq(&given)) {
            return None;
        }
        let expires: i64 = e.parse().ok()?;
        if expires <= now {
            return None;
        }
        let tenant = String::from_utf8(URL_SAFE_NO_PAD.decode(t).ok()?).ok()?;
        (!tenant.is_empty()).then_some(tenant)
    }

    /// The CSRF token of `tenant` (empty before sign-in) and a cookie nonce.
    pub(crate) fn csrf(&self, tenant: &str, nonce: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(&[b"csrf", tenant.as_bytes(), nonce.as_bytes()]))
    }

    /// Whether `token` is the CSRF token of `tenant` and `nonce`.
    pub(crate) fn check_csrf(&self, tenant: &str, nonce: &str, token: &str) -> bool {
        if nonce.is_empty() {
            return false;
        }
        let want = self.csrf(tenant, nonce);
        bool::from(want.as_bytes().ct_eq(token.as_bytes()))
    }
}

/// A fresh CSRF nonce (128 random bits, hex).
pub(crate) fn nonce() -> Option<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).ok()?;
    Some(hex::encode(bytes))
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// A `Set-Cookie` value: `HttpOnly; SameSite=Strict; Path=<path>`, `Secure` when asked,
/// `Max-Age` when given (0 deletes).
pub(crate) fn set_cookie(
    name: &str,
    value: &str,
    path: &str,
    secure: bool,
    max_age: Option<i64>,
) -> String {
    let mut c = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> Key {
        Key::new([b; 32])
    }

    #[test]
    fn sessions_open_only_untampered_and_unexpired() {
        let k = key(1);
        let s = k.session("acme", 2000);
        assert_eq!(k.open_session(&s, 1000).as_deref(), Some("acme"));
        assert_eq!(k.open_session(&s, 2000), None, "expired");
        assert_eq!(key(2).open_session(&s, 1000), None, "other key");
        let globex = URL_SAFE_NO_PAD.encode("globex");
        let forged = s.replacen(&URL_SAFE_NO_PAD.encode("acme"), &globex, 1);
        assert_eq!(k.open_session(&forged, 1000), None, "tenant swapped");
        let extended = s.replacen(".2000.", ".9999.", 1);
        assert_eq!(k.open_session(&extended, 1000), None, "expiry extended");
        assert_eq!(k.open_session("garbage", 1000), None);
        assert_eq!(k.open_session("v1.a.b.c.d", 1000), None);
    }

    #[test]
    fn csrf_tokens_bind_tenant_and_nonce() {
        let k = key(3);
        let t = k.csrf("acme", "n1");
        assert!(k.check_csrf("acme", "n1", &t));
        assert!(!k.check_csrf("globex", "n1", &t));
        assert!(!k.check_csrf("acme", "n2", &t));
        assert!(!k.check_csrf("acme", "", &k.csrf("acme", "")));
        assert!(!key(4).check_csrf("acme", "n1", &t));
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::COOKIE,
            "a=1; hw_csrf=abc ; b=2".parse().expect("value"),
        );
        assert_eq!(cookie(&h, "hw_csrf"), Some("abc"));
        assert_eq!(cookie(&h, "hw_session"), None);
        let c = set_cookie("hw_session", "v", "/portal", true, Some(60));
        assert_eq!(
            c,
            "hw_session=v; Path=/portal; HttpOnly; SameSite=Strict; Max-Age=60; Secure"
        );
    }
}
