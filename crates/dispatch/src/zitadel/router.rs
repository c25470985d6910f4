//! Which targets an execution point calls: conditions to ordered target lists, best match
//! first.
//!
//! ZITADEL runs only the **best matching** execution: for requests and responses a method
//! condition beats a service condition beats `all`; for events an exact event type beats a
//! group (the most specific group first: `user.human.*` beats `user.*`) beats `all`;
//! functions match by name. [`Router::route`] returns that one execution's targets;
//! [`Router::candidates`] lists every matching execution, best first.
//!
//! Setting an execution for a condition that already has one replaces it (ZITADEL's
//! `SetExecution` is a PUT).

use std::collections::HashMap;

use hookwire_events::zitadel::{
    Condition, EventCondition, Execution, FUNCTION_NAMES, FunctionCondition, MethodCondition,
};

use super::error::ConfigError;

/// An execution point: what ZITADEL is about to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Trigger<'a> {
    /// Before a gRPC/REST call runs: its full method, e.g.
    /// `/zitadel.user.v2.UserService/AddHumanUser`.
    Request(&'a str),
    /// After a call ran, before its response is returned: the full method.
    Response(&'a str),
    /// A function: its name (`preaccesstoken`; a `function/` prefix is accepted).
    Function(&'a str),
    /// An event was stored: its type, e.g. `user.human.added`.
    Event(&'a str),
}

/// How specifically an execution matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Specificity {
    /// An exact method, function name or event type.
    Exact,
    /// A service (of a method).
    Service,
    /// An event group; the number is its depth (`user.human.*` is 2, `user.*` is 1).
    Group(usize),
    /// `all: true`.
    All,
}

/// One matching execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route<'a> {
    /// The condition that matched, as configured.
    pub condition: &'a Condition,
    /// How it matched.
    pub specificity: Specificity,
    /// The target ids to call, in order.
    pub targets: &'a [String],
}

#[derive(Debug, Clone)]
struct Entry {
    condition: Condition,
    targets: Vec<String>,
}

#[derive(Debug, Clone, Default)]
struct MethodTable {
    method: HashMap<String, Entry>,
    service: HashMap<String, Entry>,
    all: Option<Entry>,
}

#[derive(Debug, Clone, Default)]
struct EventTable {
    event: HashMap<String, Entry>,
    /// Keyed by the group without `.*`.
    group: HashMap<String, Entry>,
    all: Option<Entry>,
}

/// Conditions to targets. Build it once from the executions; lookups do not allocate except
/// for [`candidates`](Self::candidates).
#[derive(Debug, Clone, Default)]
pub struct Router {
    request: MethodTable,
    response: MethodTable,
    function: HashMap<String, Entry>,
    event: EventTable,
}

/// The service of a full method: `/pkg.Service/Method` gives `pkg.Service`.
pub fn service_of(full_method: &str) -> Option<&str> {
    let rest = full_method.strip_prefix('/')?;
    let (service, method) = rest.split_once('/')?;
    (!service.is_empty() && !method.is_empty() && !method.contains('/')).then_some(service)
}

/// The groups of an event type, most specific first: `user.human.added` gives
/// `["user.human", "user"]` (written `user.human.*`, `user.*` in conditions).
pub fn groups_of(event_type: &str) -> impl Iterator<Item = &str> {
    let mut end = event_type.len();
    std::iter::from_fn(move || {
        let head = &event_type[..end];
        let dot = head.rfind('.')?;
        end = dot;
        let group = &event_type[..dot];
        (!group.is_empty()).then_some(group)
    })
}

/// The normalized function name (`function/preuserinfo` → `preuserinfo`), if known.
pub fn function_name(name: &str) -> Option<&'static str> {
    let bare = name.strip_prefix("function/").unwrap_or(name);
    FUNCTION_NAMES.iter().copied().find(|f| *f == bare)
}

fn non_empty(kind: &str, s: &str) -> Result<String, ConfigError> {
    let t = s.trim();
    if t.is_empty() {
        Err(ConfigError::InvalidCondition(format!("empty {kind}")))
    } else {
        Ok(t.to_owned())
    }
}

fn insert_method(
    table: &mut MethodTable,
    cond: &MethodCondition,
    entry: Entry,
) -> Result<(), ConfigError> {
    match cond {
        MethodCondition::Method(m) => {
            let m = non_empty("method", m)?;
            if service_of(&m).is_none() {
                return Err(ConfigError::InvalidCondition(format!(
                    "method `{m}` is not of the form /package.Service/Method"
                )));
            }
            table.method.insert(m, entry);
        }
        MethodCondition::Service(s) => {
            let s = non_empty("service", s)?;
            table.service.insert(s, entry);
        }
        MethodCondition::All(true) => table.all = Some(entry),
        MethodCondition::All(false) => {
            return Err(ConfigError::InvalidCondition("`all: false`".to_owned()));
        }
        _ => return Err(ConfigError::UnsupportedCondition),
    }
    Ok(())
}

impl Router {
    /// Builds the router; later executions with the same condition replace earlier ones.
    ///
    /// # Errors
    /// [`ConfigError::InvalidCondition`], [`ConfigError::UnknownFunction`],
    /// [`ConfigError::UnsupportedCondition`].
    pub fn new(executions: impl IntoIterator<Item = Execution>) -> Result<Self, ConfigError> {
        let mut router = Self::default();
        for execution in executions {
            router.insert(execution)?;
        }
        Ok(router)
    }

    /// Adds (or replaces) one execution.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn insert(&mut self, execution: Execution) -> Result<(), ConfigError> {
        let entry = Entry {
            targets: execution
                .targets
                .iter()
                .map(|t| t.id().to_owned())
                .collect(),
            condition: execution.condition.clone(),
        };
        match &execution.condition {
            Condition::Request(c) => insert_method(&mut self.request, c, entry)?,
            Condition::Response(c) => insert_method(&mut self.response, c, entry)?,
            Condition::Function(FunctionCondition { name }) => {
                let known = function_name(name.trim())
                    .ok_or_else(|| ConfigError::UnknownFunction(name.clone()))?;
                self.function.insert(known.to_owned(), entry);
            }
            Condition::Event(c) => match c {
                EventCondition::Event(e) => {
                    let e = non_empty("event", e)?;
                    self.event.event.insert(e, entry);
                }
                EventCondition::Group(g) => {
                    let g = non_empty("group", g)?;
                    let key = g.strip_suffix(".*").unwrap_or(&g);
                    if key.is_empty() || key == "*" || key.ends_with('.') {
                        return Err(ConfigError::InvalidCondition(format!(
                            "group `{g}` (expected e.g. `user.human.*`)"
                        )));
                    }
                    self.event.group.insert(key.to_owned(), entry);
                }
                EventCondition::All(true) => self.event.all = Some(entry),
                EventCondition::All(false) => {
                    return Err(ConfigError::InvalidCondition("`all: false`".to_owned()));
                }
                _ => return Err(ConfigError::UnsupportedCondition),
            },
            _ => return Err(ConfigError::UnsupportedCondition),
        }
        Ok(())
    }

    /// Every target id named by any execution (with repeats).
    pub fn target_ids(&self) -> impl Iterator<Item = &str> {
        let tables = [&self.request, &self.response];
        tables
            .into_iter()
            .flat_map(|t| t.method.values().chain(t.service.values()).chain(&t.all))
            .chain(self.function.values())
            .chain(self.event.event.values())
            .chain(self.event.group.values())
            .chain(&self.event.all)
            .flat_map(|e| e.targets.iter().map(String::as_str))
    }

    /// The best matching execution for `trigger`, if any.
    pub fn route(&self, trigger: Trigger<'_>) -> Option<Route<'_>> {
        self.walk(trigger, true).into_iter().next()
    }

    /// The targets of the best matching execution (empty when nothing matches).
    pub fn targets(&self, trigger: Trigger<'_>) -> &[String] {
        self.route(trigger).map_or(&[], |r| r.targets)
    }

    /// Every matching execution, best first.
    pub fn candidates(&self, trigger: Trigger<'_>) -> Vec<Route<'_>> {
        self.walk(trigger, false)
    }

    fn walk<'s>(&'s self, trigger: Trigger<'_>, first_only: bool) -> Vec<Route<'s>> {
        let mut out: Vec<Route<'s>> = Vec::new();
        let mut push = |entry: Option<&'s Entry>, specificity| {
            if first_only && !out.is_empty() {
                return;
            }
            if let Some(e) = entry {
                out.push(Route {
                    condition: &e.condition,
                    specificity,
                    targets: &e.targets,
                });
            }
        };
        match trigger {
            Trigger::Request(m) | Trigger::Response(m) => {
                let table = if matches!(trigger, Trigger::Request(_)) {
                    &self.request
                } else {
                    &self.response
                };
                push(table.method.get(m), Specificity::Exact);
                if let Some(s) = service_of(m) {
                    push(table.service.get(s), Specificity::Service);
                }
                push(table.all.as_ref(), Specificity::All);
            }
            Trigger::Function(name) => {
                if let Some(known) = function_name(name) {
                    push(self.function.get(known), Specificity::Exact);
                }
            }
            Trigger::Event(t) => {
                push(self.event.event.get(t), Specificity::Exact);
                for group in groups_of(t) {
                    let depth = group.split('.').count();
                    push(self.event.group.get(group), Specificity::Group(depth));
                }
                push(self.event.all.as_ref(), Specificity::All);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_most_specific_first() {
        assert_eq!(
            groups_of("user.human.added").collect::<Vec<_>>(),
            ["user.human", "user"]
        );
        assert_eq!(groups_of("user").count(), 0);
        assert_eq!(groups_of(".x").count(), 0);
        assert_eq!(groups_of("").count(), 0);
    }

    #[test]
    fn service_extraction() {
        assert_eq!(
            service_of("/zitadel.user.v2.UserService/AddHumanUser"),
            Some("zitadel.user.v2.UserService")
        );
        assert_eq!(service_of("zitadel.user.v2.UserService/AddHumanUser"), None);
        assert_eq!(service_of("/a/b/c"), None);
        assert_eq!(service_of("//m"), None);
    }

    #[test]
    fn function_names_normalize() {
        assert_eq!(
            function_name("function/preaccesstoken"),
            Some("preaccesstoken")
        );
        assert_eq!(function_name("preotpsmscode"), Some("preotpsmscode"));
        assert_eq!(function_name("complement_token"), None);
    }
}
