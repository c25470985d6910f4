//! [`VerifyLayer`]: verify every request of a router, before any handler runs.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::receiver::{Receiver, Verification};

/// The verified bytes, handed from the layer to a [`Verified`](crate::Verified) extractor.
/// Private: only this crate can insert it, so a request cannot claim to be verified.
#[derive(Clone, Debug)]
pub(crate) struct LayerVerified {
    pub(crate) bytes: Bytes,
    pub(crate) verification: Verification,
}

/// A tower layer that verifies every request with a [`Receiver`] before the inner service
/// sees it.
///
/// A request that verifies reaches the inner service with its body intact (the same bytes)
/// and a [`Verification`] request extension (read it with
/// `Extension<Verification>`); a refused one gets the [`Rejection`](crate::Rejection)
/// response and never reaches a handler. With a replay guard, a message whose handler answers
/// anything but 2xx is forgotten again, so the sender's retry is processed.
///
/// ```
/// use axum::{Extension, Router, routing::post};
/// use hookwire_axum::{Receiver, Verification, VerifyLayer};
/// use hookwire_signature::{Scheme, Secret};
///
/// async fn hook(Extension(v): Extension<Verification>, body: String) -> &'static str {
///     println!("message {:?} signed at {:?}: {body}", v.id, v.timestamp);
///     "ok"
/// }
///
/// # fn main() -> Result<(), hookwire_signature::Error> {
/// let receiver = Receiver::new(&Scheme::Zitadel, &[Secret::new("signing-key")])?
///     .with_memory_replay_guard(10_000);
/// let app: Router = Router::new()
///     .route("/hooks", post(hook))
///     .layer(VerifyLayer::new(receiver));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct VerifyLayer {
    receiver: Receiver,
}

impl VerifyLayer {
    /// A layer verifying with `receiver`.
    pub fn new(receiver: Receiver) -> Self {
        Self { receiver }
    }
}

impl<S> Layer<S> for VerifyLayer {
    type Service = VerifyService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        VerifyService {
            inner,
            receiver: self.receiver.clone(),
        }
    }
}

/// The service [`VerifyLayer`] wraps around an inner service.
#[derive(Clone, Debug)]
pub struct VerifyService<S> {
    inner: S,
    receiver: Receiver,
}

impl<S> Service<Request> for VerifyService<S>
where
    S: Service<Request, Error = Infallible> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The clone that was driven ready stays with this call; `self` keeps a fresh one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let receiver = self.receiver.clone();
        Box::pin(async move {
            Ok(run(&receiver, request, |req| async move {
                match inner.call(req).await {
                    Ok(response) => response.into_response(),
                    Err(never) => match never {},
                }
            })
            .await)
        })
    }
}

/// The same as [`VerifyLayer`], as a function for
/// [`axum::middleware::from_fn_with_state`].
///
/// ```
/// use axum::{Router, middleware, routing::post};
/// use hookwire_axum::{Receiver, verify_middleware};
/// use hookwire_signature::{Scheme, Secret};
///
/// # fn main() -> Result<(), hookwire_signature::Error> {
/// let receiver = Receiver::new(&Scheme::Zitadel, &[Secret::new("signing-key")])?;
/// let app: Router = Router::new()
///     .route("/hooks", post(|body: String| async move { body.len().to_string() }))
///     .layer(middleware::from_fn_with_state(receiver, verify_middleware));
/// # Ok(()) }
/// ```
pub async fn verify_middleware(
    State(receiver): State<Receiver>,
    request: Request,
    next: Next,
) -> Response {
    run(&receiver, request, |req| next.run(req)).await
}

async fn run<F, Fut>(receiver: &Receiver, request: Request, next: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let (mut parts, body) = request.into_parts();
    let accepted = match receiver.check(&parts.headers, body).await {
        Ok(accepted) => accepted,
        Err(rejection) => return rejection.into_response(),
    };
    parts.extensions.insert(accepted.verification.clone());
    parts.extensions.insert(LayerVerified {
        bytes: accepted.bytes.clone(),
        verification: accepted.verification,
    });
    let response = next(Request::from_parts(parts, Body::from(accepted.bytes))).await;
    if !response.status().is_success()
        && let Some(ticket) = accepted.ticket
    {
        // Best effort: if the store is down the message stays recorded, which is the
        // conservative outcome (no double processing).
        let _ = ticket.release().await;
    }
    response
}
