//! Strict request parsing: JSON bodies (media type, size limit, unknown fields, the failing
//! field named), query strings (unknown or repeated parameters refused) and path ids.

use axum::extract::{FromRef, FromRequest, FromRequestParts, Path, Request};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::problem::Problem;
use crate::state::ApiState;

/// A JSON request body of type `T`, parsed strictly.
#[derive(Debug)]
pub(crate) struct JsonBody<T>(pub(crate) T);

fn is_json(content_type: Option<&HeaderValue>) -> bool {
    let Some(ct) = content_type.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = ct.split(';').next().unwrap_or("").trim();
    let Some((ty, sub)) = essence.split_once('/') else {
        return false;
    };
    ty.eq_ignore_ascii_case("application")
        && (sub.eq_ignore_ascii_case("json") || sub.to_ascii_lowercase().ends_with("+json"))
}

/// Parses `bytes` as `T`, naming the failing field in the problem.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let field = if path == "." || path.is_empty() {
            "body".to_owned()
        } else {
            path
        };
        Problem::invalid(field, inner.to_string())
    })?;
    de.end()
        .map_err(|e| Problem::invalid("body", e.to_string()))?;
    Ok(value)
}

impl<S, T> FromRequest<S> for JsonBody<T>
where
    ApiState: FromRef<S>,
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let limit = ApiState::from_ref(state).max_body();
        if !is_json(req.headers().get(header::CONTENT_TYPE)) {
            return Err(Problem::unsupported_media_type());
        }
        let bytes = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|_| Problem::too_large("body", format!("the body limit is {limit} bytes")))?;
        parse_json(&bytes).map(Self)
    }
}

/// A JSON response with a status.
pub(crate) fn reply<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let mut res = (status, bytes).into_response();
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "hookwire-api: response not serializable");
            Problem::internal().into_response()
        }
    }
}

/// A query string's parameters, taken one by one; what is left over is refused.
#[derive(Debug)]
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// The parameters of `query` (the part after `?`).
    pub(crate) fn parse(query: Option<&str>) -> Result<Self, Problem> {
        let pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
        for (i, (k, _)) in pairs.iter().enumerate() {
            if pairs[..i].iter().any(|(p, _)| p == k) {
                return Err(Problem::invalid(k.clone(), "parameter given twice"));
            }
        }
        Ok(Self { pairs })
    }

    /// Takes the parameter `name`.
    pub(crate) fn take(&mut self, name: &str) -> Option<String> {
        let i = self.pairs.iter().position(|(k, _)| k == name)?;
        Some(self.pairs.remove(i).1)
    }

    /// Takes and parses the parameter `name` with `parse`, naming it on failure.
    pub(crate) fn take_with<T>(
        &mut self,
        name: &str,
        what: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<Option<T>, Problem> {
        match self.take(name) {
            None => Ok(None),
            Some(v) => parse(&v)
                .map(Some)
                .ok_or_else(|| Problem::invalid(name, format!("expected {what}"))),
        }
    }

    /// Refuses any parameter not taken.
    pub(crate) fn finish(self) -> Result<(), Problem> {
        match self.pairs.into_iter().next() {
            None => Ok(()),
            Some((k, _)) => Err(Problem::invalid(k, "unknown parameter")),
        }
    }
}

/// Checks that `id` has the form of an id with `prefix` (`ep`, `msg`, `dlv`): the prefix, `_`
/// and 32 lowercase hex digits. Ids of another form are refused with 400 before any lookup.
pub(crate) fn check_id(id: &str, prefix: &str) -> Result<(), Problem> {
    let ok = id
        .strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('_'))
        .is_some_and(|hex| {
            hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        });
    if ok {
        Ok(())
    } else {
        Err(Problem::invalid(
            "id",
            format!("expected an id of the form {prefix}_ and 32 hex digits"),
        ))
    }
}

/// The `{id}` (or `{family}`) segment of a route; a malformed one is a 400 problem.
#[derive(Debug)]
pub(crate) struct IdPath(pub(crate) String);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(id)| Self(id))
            .map_err(|e| Problem::invalid("id", e.body_text()))
    }
}
