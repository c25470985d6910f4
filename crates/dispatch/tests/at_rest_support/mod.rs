//! Endpoints with every kind of secret, and searching raw bytes for their values.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hookwire_dispatch::model::Auth;
use hookwire_dispatch::{CreatedEndpoint, Dispatcher, EncryptionKey, NewEndpoint};
use hookwire_events::Family;
use hookwire_signature::{Scheme, Secret};

/// A key with this id and bytes derived from `seed` (tests only: fixed, so reruns agree).
pub(crate) fn key(id: &str, seed: u8) -> EncryptionKey {
    EncryptionKey::from_bytes(id, [seed; 32]).unwrap()
}

/// The endpoints of `tenant` with every kind of secret: HMAC (ZeroTier) + bearer + secret
/// headers, RSA private key (Zentitle) + basic password, Ed25519 private key (Standard
/// Webhooks v1a) + API key, ZITADEL + custom auth header. `url` is the receiver base.
pub(crate) fn every_kind(tenant: &str, url: &str, tag: &str) -> Vec<NewEndpoint> {
    vec![
        NewEndpoint::new(tenant, Family::ZeroTier, format!("{url}/zt"))
            .auth(Auth::Bearer {
                token: Secret::new(format!("bearer-token-{tag}-7f3a9c")),
            })
            .header("X-Plain", "not-secret")
            .secret_header("X-Secret-One", format!("secret-header-one-{tag}-0b1c"))
            .secret_header("X-Secret-Two", format!("secret-header-two-{tag}-9e8d")),
        NewEndpoint::new(tenant, Family::Zentitle, format!("{url}/zen")).auth(Auth::Basic {
            username: "svc".to_owned(),
            password: Secret::new(format!("basic-password-{tag}-44aa")),
        }),
        NewEndpoint::new(tenant, Family::StandardWebhooks, format!("{url}/std"))
            .scheme(Some(Scheme::from_name("standard-v1a").unwrap()))
            .auth(Auth::ApiKey {
                header: "X-Api-Key".to_owned(),
                key: Secret::new(format!("api-key-{tag}-5d6e")),
            }),
        NewEndpoint::new(tenant, Family::Zitadel, format!("{url}/zitadel")).auth(
            Auth::CustomHeader {
                header: "X-Shared".to_owned(),
                value: Secret::new(format!("custom-auth-{tag}-3c2b")),
            },
        ),
    ]
}

/// Every secret value an endpoint holds, as text.
pub(crate) fn values(new: &NewEndpoint, created: &CreatedEndpoint) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(s) = &created.secret {
        out.push(s.signing.expose_secret().to_owned());
    }
    match &new.auth {
        Auth::Bearer { token } => out.push(token.expose_secret().to_owned()),
        Auth::ApiKey { key, .. } => out.push(key.expose_secret().to_owned()),
        Auth::Basic { password, .. } => out.push(password.expose_secret().to_owned()),
        Auth::CustomHeader { value, .. } => out.push(value.expose_secret().to_owned()),
        _ => {}
    }
    for h in &new.secret_headers {
        out.push(h.value.expose_secret().to_owned());
    }
    out
}

/// Creates [`every_kind`] and returns every secret value.
pub(crate) async fn create_every_kind(
    d: &Dispatcher,
    tenant: &str,
    url: &str,
    tag: &str,
) -> Vec<String> {
    let mut secrets = Vec::new();
    for new in every_kind(tenant, url, tag) {
        let created = d.create_endpoint(new.clone()).await.unwrap();
        secrets.extend(values(&new, &created));
    }
    secrets
}

/// What to look for in raw bytes for one secret: the whole value, and for multi-line keys
/// (PEM) every line of 16 characters or more (JSON would escape the newlines).
pub(crate) fn needles(secret: &str) -> Vec<String> {
    let mut out = vec![secret.to_owned()];
    if secret.contains('\n') {
        out.extend(
            secret
                .lines()
                .filter(|l| l.len() >= 16 && !l.starts_with("-----"))
                .map(str::to_owned),
        );
    }
    out
}

/// The secrets (of `secrets`) some needle of which occurs in `haystack`.
pub(crate) fn found_in(haystack: &[u8], secrets: &[String]) -> Vec<String> {
    secrets
        .iter()
        .filter(|s| {
            needles(s)
                .iter()
                .any(|n| haystack.windows(n.len()).any(|w| w == n.as_bytes()))
        })
        .cloned()
        .collect()
}
