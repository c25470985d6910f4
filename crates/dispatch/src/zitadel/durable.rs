//! Event executions through the durable dispatcher.

use std::collections::HashMap;

use hookwire_events::Family;
use hookwire_events::zitadel::{Condition, EventCondition, EventExecution, Execution, Target};
use hookwire_signature::{Scheme, Secret};

use super::call::CallTarget;
use super::error::ConfigError;
use super::router::{Router, Trigger};
use crate::dispatcher::Dispatcher;
use crate::error::DispatchError;
use crate::model::EnqueueResult;
use crate::registry::NewEndpoint;

/// Why [`DurableEvents::register`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DurableError {
    /// A target or execution is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The dispatcher refused an endpoint or the store failed.
    #[error(transparent)]
    Dispatch(#[from] DispatchError),
}

/// Event executions delivered by the durable [`Dispatcher`] instead of awaited in line:
/// stored before [`enqueue`](Self::enqueue) returns, retried by the endpoint's policy,
/// recorded in the attempt log.
///
/// [`register`](Self::register) creates one dispatcher endpoint per target named by an
/// event execution (family ZITADEL: `ZITADEL-Signature` with the target's signing key, the
/// target's timeout; unsigned without a key). [`enqueue`](Self::enqueue) routes an event
/// like [`Executor::execute_event`](super::Executor::execute_event) (event beats group beats
/// all) and stores one message per target, addressed to that target's endpoint only, whose
/// body is the event's `ContextInfoEvent` JSON.
///
/// Differences from ZITADEL, which queues event executions and never retries a target:
/// deliveries are retried per [`default_retry`](crate::registry::default_retry) for ZITADEL,
/// the target kinds (`restWebhook`, `restCall`, `restAsync`) and `interruptOnError` make no
/// difference (an event is already stored; there is nothing to interrupt), and the endpoints
/// must pass the dispatcher's URL rules (HTTPS unless loopback HTTP is allowed).
///
/// The endpoints are subscribed to their condition strings (`user.human.added`,
/// `user.human.*`, `*`); use a tenant reserved for ZITADEL targets so that plain
/// [`Dispatcher::send`] calls for other events do not reach them.
#[derive(Debug, Clone)]
pub struct DurableEvents {
    dispatcher: Dispatcher,
    tenant: String,
    router: Router,
    endpoints: HashMap<String, String>,
}

fn condition_string(c: &Condition) -> Option<String> {
    match c {
        Condition::Event(EventCondition::Event(e)) => Some(e.clone()),
        Condition::Event(EventCondition::Group(g)) => Some(if g.ends_with(".*") {
            g.clone()
        } else {
            format!("{g}.*")
        }),
        Condition::Event(EventCondition::All(_)) => Some("*".to_owned()),
        _ => None,
    }
}

impl DurableEvents {
    /// Validates the targets and the event executions (other conditions are ignored) and
    /// registers one endpoint per target they name under `tenant`.
    ///
    /// # Errors
    /// [`DurableError::Config`] (as [`Executor::new`](super::Executor::new)),
    /// [`DurableError::Dispatch`] when the dispatcher refuses an endpoint.
    pub async fn register(
        dispatcher: &Dispatcher,
        tenant: &str,
        targets: impl IntoIterator<Item = Target>,
        executions: impl IntoIterator<Item = Execution>,
    ) -> Result<Self, DurableError> {
        let mut resources = HashMap::new();
        for target in targets {
            let checked = CallTarget::from_resource(&target)?;
            let id = checked.id().to_owned();
            if resources.insert(id.clone(), (target, checked)).is_some() {
                return Err(ConfigError::DuplicateTarget(id).into());
            }
        }
        let events: Vec<Execution> = executions
            .into_iter()
            .filter(|e| matches!(e.condition, Condition::Event(_)))
            .collect();
        let router = Router::new(events.iter().cloned())?;
        // Each target's subscriptions: the conditions naming it.
        let mut subscriptions: Vec<(String, Vec<String>)> = Vec::new();
        for execution in &events {
            let Some(cond) = condition_string(&execution.condition) else {
                continue;
            };
            for t in &execution.targets {
                let id = t.id();
                if !resources.contains_key(id) {
                    return Err(ConfigError::UnknownTarget(id.to_owned()).into());
                }
                match subscriptions.iter_mut().find(|(tid, _)| tid == id) {
                    Some((_, subs)) if !subs.contains(&cond) => subs.push(cond.clone()),
                    Some(_) => {}
                    None => subscriptions.push((id.to_owned(), vec![cond.clone()])),
                }
            }
        }
        let mut endpoints = HashMap::new();
        for (id, subs) in subscriptions {
            let Some((target, checked)) = resources.get(&id) else {
                continue;
            };
            let mut new = NewEndpoint::new(tenant, Family::Zitadel, target.endpoint.clone())
                .event_types(subs)
                .timeout(checked.timeout());
            new.description = format!("ZITADEL target {id} ({})", checked.name());
            new = match target.signing_key.as_deref() {
                Some(key) if !key.is_empty() => {
                    new.scheme(Some(Scheme::Zitadel)).secret(Secret::new(key))
                }
                _ => new.scheme(None),
            };
            let created = dispatcher.create_endpoint(new).await?;
            endpoints.insert(id, created.id().to_owned());
        }
        Ok(Self {
            dispatcher: dispatcher.clone(),
            tenant: tenant.to_owned(),
            router,
            endpoints,
        })
    }

    /// The dispatcher endpoint id registered for a target id.
    pub fn endpoint_id(&self, target_id: &str) -> Option<&str> {
        self.endpoints.get(target_id).map(String::as_str)
    }

    /// Stores one message per target of the best matching event execution (in target
    /// order); returns what the store did for each. No match stores nothing.
    ///
    /// # Errors
    /// [`ErrorKind::Validation`](crate::ErrorKind::Validation) (missing `event_type`, payload too large),
    /// [`ErrorKind::Store`](crate::ErrorKind::Store), [`ErrorKind::ShuttingDown`](crate::ErrorKind::ShuttingDown).
    pub async fn enqueue(
        &self,
        event: &EventExecution,
    ) -> Result<Vec<EnqueueResult>, DispatchError> {
        let event_type = event.event_type.as_deref().unwrap_or_default();
        if event_type.is_empty() {
            return Err(crate::error::ValidationError::EmptyEventType.into());
        }
        let body = serde_json::to_vec(event).unwrap_or_default();
        let mut results = Vec::new();
        for target in self.router.targets(Trigger::Event(event_type)) {
            let Some(endpoint) = self.endpoints.get(target) else {
                continue;
            };
            results.push(
                self.dispatcher
                    .enqueue(&self.tenant, event_type, body.clone(), None, Some(endpoint))
                    .await?,
            );
        }
        Ok(results)
    }
}
