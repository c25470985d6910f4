//! [`Checked`]: every request's body with its verification outcome, for receivers that must
//! also see what they refuse.

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, Request};

use crate::receiver::{Receiver, Verification};
use crate::rejection::Rejection;
use crate::replay::{ReplayStoreError, ReplayTicket};

/// The body as received and whether it verified.
///
/// Unlike [`Verified`](crate::Verified), a request that fails verification (or is a replay)
/// still reaches the handler, with its bytes and the [`Rejection`] it would have got; the
/// handler decides what to answer. This is for debugging receivers and audit logs that must
/// record refused requests too (`hookwire listen` is one). A handler that acts on the body
/// must look at [`outcome`](Self::outcome) first.
///
/// Only a body that cannot be read is refused before the handler: longer than the
/// receiver's limit (413) or cut off (400).
///
/// ```
/// use axum::{Router, http::StatusCode, routing::post};
/// use hookwire_axum::{Checked, Receiver};
/// use hookwire_signature::{Scheme, Secret};
///
/// async fn record(checked: Checked) -> StatusCode {
///     match &checked.outcome {
///         Ok(v) => println!("verified, signed at {:?}: {} bytes", v.timestamp, checked.body.len()),
///         Err(refused) => println!("refused ({refused}): {:?}", checked.body),
///     }
///     if checked.outcome.is_ok() { StatusCode::NO_CONTENT } else { StatusCode::UNAUTHORIZED }
/// }
///
/// # fn main() -> Result<(), hookwire_signature::Error> {
/// let receiver = Receiver::new(&Scheme::Zitadel, &[Secret::new("signing-key")])?;
/// let app: Router = Router::new().route("/hooks", post(record)).with_state(receiver);
/// # let _ = app;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct Checked {
    /// The body, exactly as received.
    pub body: Bytes,
    /// What verification found, or why it refused the request.
    pub outcome: Result<Verification, Rejection>,
    ticket: Option<ReplayTicket>,
}

impl Checked {
    /// Whether the request verified (and is not a replay).
    pub fn is_verified(&self) -> bool {
        self.outcome.is_ok()
    }

    /// Forgets this message in the replay guard, as
    /// [`Verified::release_replay`](crate::Verified::release_replay) does.
    ///
    /// # Errors
    /// The replay store could not be reached.
    pub async fn release_replay(&self) -> Result<(), ReplayStoreError> {
        ReplayTicket::release_if_any(self.ticket.as_ref()).await
    }
}

impl<S> FromRequest<S> for Checked
where
    S: Send + Sync,
    Receiver: FromRef<S>,
{
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let receiver = Receiver::from_ref(state);
        let (mut parts, body) = req.into_parts();
        if let Some(done) = parts.extensions.remove::<crate::layer::LayerVerified>() {
            // Under a VerifyLayer only verified requests get this far.
            return Ok(Self {
                body: done.bytes,
                outcome: Ok(done.verification),
                ticket: None,
            });
        }
        let body = receiver.read_body(&parts.headers, body).await?;
        let (outcome, ticket) = match receiver.accept(&parts.headers, body.clone()).await {
            Ok(accepted) => (Ok(accepted.verification), accepted.ticket),
            Err(rejection) => (Err(rejection), None),
        };
        Ok(Self {
            body,
            outcome,
            ticket,
        })
    }
}
