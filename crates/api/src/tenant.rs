//! Who is asking: the [`Tenants`] resolver, the [`Tenant`] extractor and the ready
//! [`BearerTokens`] implementation.

use std::fmt;

use async_trait::async_trait;
use axum::extract::{FromRef, FromRequestParts};
use http::request::Parts;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::problem::Problem;
use crate::state::ApiState;

/// Why a request was not mapped to a tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// No credentials, or credentials nobody issued: 401 with `WWW-Authenticate: Bearer`.
    Unauthorized,
    /// Known caller, but not allowed to use this API: 403.
    Forbidden,
}

/// Maps a request to the tenant it acts for. The host's own authentication decides: a
/// session cookie, an API key, mTLS, a JWT. Every route of this crate asks it first, and
/// sees only that tenant's records.
///
/// [`BearerTokens`] is a ready implementation; [`TenantFn`] wraps a plain closure.
#[async_trait]
pub trait Tenants: Send + Sync + 'static {
    /// The tenant id for this request (non-empty), or why there is none.
    async fn tenant(&self, parts: &Parts) -> Result<String, Rejection>;
}

#[async_trait]
impl<T: Tenants + ?Sized> Tenants for std::sync::Arc<T> {
    async fn tenant(&self, parts: &Parts) -> Result<String, Rejection> {
        (**self).tenant(parts).await
    }
}

/// A synchronous closure as a [`Tenants`] resolver.
///
/// ```
/// use hookwire_api::{Rejection, TenantFn};
///
/// let tenants = TenantFn(|parts: &http::request::Parts| {
///     match parts.headers.get("x-org").and_then(|v| v.to_str().ok()) {
///         Some(org) => Ok(org.to_owned()),
///         None => Err(Rejection::Unauthorized),
///     }
/// });
/// # let _ = tenants;
/// ```
#[derive(Clone, Copy)]
pub struct TenantFn<F>(pub F);

impl<F> fmt::Debug for TenantFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TenantFn(..)")
    }
}

#[async_trait]
impl<F> Tenants for TenantFn<F>
where
    F: Fn(&Parts) -> Result<String, Rejection> + Send + Sync + 'static,
{
    async fn tenant(&self, parts: &Parts) -> Result<String, Rejection> {
        (self.0)(parts)
    }
}

/// The tenant a request acts for, as an axum extractor (rejections become [`Problem`]s).
/// Usable by any router whose state gives an [`ApiState`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tenant(String);

impl Tenant {
    /// The tenant id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The tenant id, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl<S> FromRequestParts<S> for Tenant
where
    ApiState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = ApiState::from_ref(state);
        match state.tenants().tenant(parts).await {
            Ok(t) if !t.is_empty() => Ok(Self(t)),
            Ok(_) | Err(Rejection::Forbidden) => Err(Problem::forbidden()),
            Err(Rejection::Unauthorized) => Err(Problem::unauthorized()),
        }
    }
}

/// Errors of [`BearerTokens`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The OS random generator failed.
    #[error("no randomness available for a token")]
    Entropy,
    /// A line of a tokens file is not `<token> <tenant>`.
    #[error("tokens file line {line}: {reason}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Bearer tokens mapped to tenants (`Authorization: Bearer <token>`). Only SHA-256 hashes of
/// the tokens are kept, and a presented token is compared with every one in constant time.
#[derive(Clone, Default)]
pub struct BearerTokens {
    entries: Vec<([u8; 32], String)>,
}

impl fmt::Debug for BearerTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerTokens")
            .field("tokens", &self.entries.len())
            .finish()
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl BearerTokens {
    /// No tokens: every request is refused with 401.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lets `token` act for `tenant` (replacing an earlier tenant of the same token).
    pub fn insert(&mut self, token: &str, tenant: impl Into<String>) {
        let hash = digest(token);
        let tenant = tenant.into();
        match self.entries.iter_mut().find(|(h, _)| *h == hash) {
            Some(entry) => entry.1 = tenant,
            None => self.entries.push((hash, tenant)),
        }
    }

    /// A fresh token for `tenant` (`hwk_` and 64 hex digits, 256 bits from the OS CSPRNG),
    /// inserted and returned: the only time it is seen.
    ///
    /// # Errors
    /// [`TokenError::Entropy`] when the OS has no random source.
    pub fn generate(&mut self, tenant: impl Into<String>) -> Result<String, TokenError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|_| TokenError::Entropy)?;
        let token = format!("hwk_{}", hex::encode(bytes));
        self.insert(&token, tenant);
        Ok(token)
    }

    /// Parses a tokens file: one `<token> <tenant>` per line, blank lines and lines starting
    /// with `#` ignored.
    ///
    /// # Errors
    /// [`TokenError::Line`] for a line with fewer or more than two fields, or a token given
    /// twice.
    pub fn parse(text: &str) -> Result<Self, TokenError> {
        let mut out = Self::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut fields = line.split_whitespace();
            let (Some(token), Some(tenant), None) = (fields.next(), fields.next(), fields.next())
            else {
                return Err(TokenError::Line {
                    line: i + 1,
                    reason: "expected `<token> <tenant>`",
                });
            };
            if out.lookup(token).is_some() {
                return Err(TokenError::Line {
                    line: i + 1,
                    reason: "token given twice",
                });
            }
            out.insert(token, tenant);
        }
        Ok(out)
    }

    /// How many tokens are known.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no token is known.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The tenant of `token`, comparing its hash with every stored hash in constant time.
    pub fn lookup(&self, token: &str) -> Option<&str> {
        let hash = digest(token);
        let mut found = None;
        for (stored, tenant) in &self.entries {
            if bool::from(stored.ct_eq(&hash)) {
                found = Some(tenant.as_str());
            }
        }
        found
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
pub(crate) fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts
        .headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[async_trait]
impl Tenants for BearerTokens {
    async fn tenant(&self, parts: &Parts) -> Result<String, Rejection> {
        bearer(parts)
            .and_then(|t| self.lookup(t))
            .map(str::to_owned)
            .ok_or(Rejection::Unauthorized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_file_lines_comments_and_errors() {
        let t = BearerTokens::parse("# ops\n\n tok-a  acme \ntok-b globex\n").expect("parses");
        assert_eq!(t.len(), 2);
        assert_eq!(t.lookup("tok-a"), Some("acme"));
        assert_eq!(t.lookup("tok-b"), Some("globex"));
        assert_eq!(t.lookup("tok-c"), None);
        assert!(matches!(
            BearerTokens::parse("a b c"),
            Err(TokenError::Line { line: 1, .. })
        ));
        assert!(matches!(
            BearerTokens::parse("# x\nonly"),
            Err(TokenError::Line { line: 2, .. })
        ));
        assert!(matches!(
            BearerTokens::parse("a x\na y"),
            Err(TokenError::Line { line: 2, .. })
        ));
    }

    #[test]
    fn generated_tokens_are_distinct_and_hidden_from_debug() {
        let mut t = BearerTokens::new();
        let a = t.generate("acme").expect("random");
        let b = t.generate("acme").expect("random");
        assert_ne!(a, b);
        assert_eq!(a.len(), 68);
        assert!(!format!("{t:?}").contains(&a[4..]));
        assert_eq!(t.lookup(&a), Some("acme"));
    }
}
