//! What an attempt needs from its endpoint that does not change between attempts: the
//! signer over the active secrets, the parsed URL and the fixed headers. Built once per
//! endpoint version and shared by every attempt until the endpoint changes or a secret
//! expires. The endpoint arrives as stored (its secrets sealed when the dispatcher has an
//! encryption key); a cache miss decrypts a copy and builds from that, so the hot path
//! neither decrypts nor builds a signer.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use hookwire_signature::Signer;
use http::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use crate::at_rest::AtRest;
use crate::headers;
use crate::model::{Endpoint, UnixMillis};

/// One endpoint's attempt-invariant parts, or why a request to it cannot be built.
pub(crate) struct Prepared {
    /// The parsed destination.
    pub(crate) url: Result<Url, String>,
    /// The signer over the secrets active when it was built (`None`: unsigned).
    pub(crate) signer: Result<Option<Signer>, String>,
    /// Custom headers (plain and secret), `Content-Type` and `User-Agent`.
    pub(crate) base_headers: HeaderMap,
    /// The auth header, set after the per-attempt headers.
    pub(crate) auth: Option<(HeaderName, HeaderValue)>,
}

impl fmt::Debug for Prepared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prepared")
            .field("url", &self.url.as_ref().map(Url::as_str))
            .finish_non_exhaustive()
    }
}

impl Prepared {
    /// Built from a decrypted copy of `stored`; when its secrets cannot be decrypted, every
    /// attempt fails with the reason (no request is sent without its credentials).
    fn build(
        at_rest: &AtRest,
        stored: &Endpoint,
        user_agent: &HeaderValue,
        now: UnixMillis,
    ) -> Self {
        let mut endpoint = stored.clone();
        if let Err(e) = at_rest.open(&mut endpoint) {
            return Self {
                url: Err(format!("endpoint secrets unreadable: {e}")),
                signer: Ok(None),
                base_headers: HeaderMap::new(),
                auth: None,
            };
        }
        let endpoint = &endpoint;
        let url = Url::parse(&endpoint.url).map_err(|e| format!("invalid endpoint URL: {e}"));
        let signer = match &endpoint.scheme {
            None => Ok(None),
            Some(scheme) => Signer::new(scheme, &endpoint.active_secrets(now))
                .map(Some)
                .map_err(|e| format!("signing failed: {e}")),
        };
        Self {
            url,
            signer,
            base_headers: headers::base(&endpoint.headers, &endpoint.secret_headers, user_agent),
            auth: headers::auth_pair(&endpoint.auth),
        }
    }
}

/// Which version of an endpoint a [`Prepared`] was built from: its last change and how many
/// of its secrets were active (a secret expiring changes the signer).
type Version = (UnixMillis, usize);

/// [`Prepared`] per endpoint id.
#[derive(Default)]
pub(crate) struct PreparedCache {
    map: Mutex<HashMap<String, (Version, Arc<Prepared>)>>,
}

impl fmt::Debug for PreparedCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PreparedCache { .. }")
    }
}

impl PreparedCache {
    /// The prepared parts of `endpoint` (as stored) as it is now, built from its decrypted
    /// copy if the cached ones are stale.
    pub(crate) fn get(
        &self,
        at_rest: &AtRest,
        endpoint: &Endpoint,
        user_agent: &HeaderValue,
        now: UnixMillis,
    ) -> Arc<Prepared> {
        let active = endpoint
            .secrets
            .iter()
            .filter(|s| s.expires_at.is_none_or(|exp| exp > now))
            .count();
        let version = (endpoint.updated_at, active);
        {
            let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((v, p)) = map.get(&endpoint.id)
                && *v == version
            {
                return Arc::clone(p);
            }
        }
        let prepared = Arc::new(Prepared::build(at_rest, endpoint, user_agent, now));
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(endpoint.id.clone(), (version, Arc::clone(&prepared)));
        prepared
    }

    /// Forgets an endpoint (deleted).
    pub(crate) fn forget(&self, endpoint_id: &str) {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(endpoint_id);
    }
}
