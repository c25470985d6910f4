//! Routing of ZITADEL execution conditions: method beats service beats all, event beats
//! group beats all, functions by name; executions parsed from their JSON resources.
// Test helpers outside #[test] fns unwrap too (clippy.toml only covers test fns).
#![allow(clippy::unwrap_used)]

use hookwire_dispatch::zitadel::{ConfigError, Router, Specificity, Trigger};
use hookwire_events::zitadel::{
    Condition, EventCondition, Execution, FunctionCondition, MethodCondition,
};
use proptest::prelude::*;

const ADD_HUMAN: &str = "/zitadel.user.v2.UserService/AddHumanUser";
const USER_SVC: &str = "zitadel.user.v2.UserService";

fn exec(condition: Condition, targets: &[&str]) -> Execution {
    Execution::new(condition, targets.iter().map(|s| (*s).to_owned()))
}

fn ids(targets: &[String]) -> Vec<&str> {
    targets.iter().map(String::as_str).collect()
}

fn request_router() -> Router {
    Router::new([
        exec(Condition::Request(MethodCondition::All(true)), &["all"]),
        exec(
            Condition::Request(MethodCondition::Service(USER_SVC.into())),
            &["svc-1", "svc-2"],
        ),
        exec(
            Condition::Request(MethodCondition::Method(ADD_HUMAN.into())),
            &["method"],
        ),
        exec(
            Condition::Response(MethodCondition::Service(USER_SVC.into())),
            &["resp-svc"],
        ),
    ])
    .unwrap()
}

#[test]
fn method_beats_service_beats_all() {
    let r = request_router();
    assert_eq!(ids(r.targets(Trigger::Request(ADD_HUMAN))), ["method"]);
    assert_eq!(
        ids(r.targets(Trigger::Request("/zitadel.user.v2.UserService/DeleteUser"))),
        ["svc-1", "svc-2"]
    );
    assert_eq!(
        ids(r.targets(Trigger::Request(
            "/zitadel.org.v2.OrganizationService/AddOrganization"
        ))),
        ["all"]
    );
    // A service name that is only a prefix of another does not match.
    assert_eq!(
        ids(r.targets(Trigger::Request(
            "/zitadel.user.v2.UserServiceX/AddHumanUser"
        ))),
        ["all"]
    );
    let all: Vec<_> = r
        .candidates(Trigger::Request(ADD_HUMAN))
        .into_iter()
        .map(|c| (c.specificity, ids(c.targets)))
        .collect();
    assert_eq!(
        all,
        [
            (Specificity::Exact, vec!["method"]),
            (Specificity::Service, vec!["svc-1", "svc-2"]),
            (Specificity::All, vec!["all"]),
        ]
    );
}

#[test]
fn request_and_response_conditions_are_separate() {
    let r = request_router();
    assert_eq!(ids(r.targets(Trigger::Response(ADD_HUMAN))), ["resp-svc"]);
    assert!(
        r.route(Trigger::Response("/zitadel.org.v2.OrganizationService/X"))
            .is_none()
    );
    let route = r.route(Trigger::Response(ADD_HUMAN)).unwrap();
    assert_eq!(
        route.condition,
        &Condition::Response(MethodCondition::Service(USER_SVC.into()))
    );
}

fn event_router() -> Router {
    Router::new([
        exec(Condition::Event(EventCondition::All(true)), &["all"]),
        exec(
            Condition::Event(EventCondition::Group("user.*".into())),
            &["user"],
        ),
        exec(
            Condition::Event(EventCondition::Group("user.human.*".into())),
            &["human"],
        ),
        exec(
            Condition::Event(EventCondition::Event("user.human.added".into())),
            &["added"],
        ),
        // A group written without `.*` is the same group.
        exec(
            Condition::Event(EventCondition::Group("org".into())),
            &["org"],
        ),
    ])
    .unwrap()
}

#[test]
fn event_beats_group_beats_all() {
    let r = event_router();
    assert_eq!(
        ids(r.targets(Trigger::Event("user.human.added"))),
        ["added"]
    );
    assert_eq!(
        ids(r.targets(Trigger::Event("user.human.changed"))),
        ["human"]
    );
    assert_eq!(
        ids(r.targets(Trigger::Event("user.machine.added"))),
        ["user"]
    );
    assert_eq!(ids(r.targets(Trigger::Event("org.added"))), ["org"]);
    assert_eq!(ids(r.targets(Trigger::Event("project.added"))), ["all"]);
    // `user.*` is not a prefix match on the text: `username.x` is not in it, nor is `user`.
    assert_eq!(ids(r.targets(Trigger::Event("username.added"))), ["all"]);
    assert_eq!(ids(r.targets(Trigger::Event("user"))), ["all"]);
    let order: Vec<_> = r
        .candidates(Trigger::Event("user.human.added"))
        .into_iter()
        .map(|c| c.specificity)
        .collect();
    assert_eq!(
        order,
        [
            Specificity::Exact,
            Specificity::Group(2),
            Specificity::Group(1),
            Specificity::All
        ]
    );
}

#[test]
fn functions_match_by_name() {
    let r = Router::new([
        exec(
            Condition::Function(FunctionCondition {
                name: "preuserinfo".into(),
            }),
            &["ui"],
        ),
        exec(
            Condition::Function(FunctionCondition {
                name: "function/preotpemailcode".into(),
            }),
            &["otp"],
        ),
    ])
    .unwrap();
    assert_eq!(ids(r.targets(Trigger::Function("preuserinfo"))), ["ui"]);
    assert_eq!(
        ids(r.targets(Trigger::Function("function/preuserinfo"))),
        ["ui"]
    );
    assert_eq!(
        ids(r.targets(Trigger::Function("preotpemailcode"))),
        ["otp"]
    );
    assert!(r.targets(Trigger::Function("preaccesstoken")).is_empty());
    assert!(r.targets(Trigger::Function("nonsense")).is_empty());
}

#[test]
fn later_execution_replaces_the_same_condition() {
    let r = Router::new([
        exec(Condition::Request(MethodCondition::All(true)), &["old"]),
        exec(
            Condition::Request(MethodCondition::All(true)),
            &["new-1", "new-2"],
        ),
    ])
    .unwrap();
    assert_eq!(
        ids(r.targets(Trigger::Request(ADD_HUMAN))),
        ["new-1", "new-2"]
    );
}

#[test]
fn executions_from_json_resources() {
    // The current shape (targets are ids) and the v2beta one (`{"target": id}`).
    let current = Execution::from_json(
        br#"{"condition":{"request":{"method":"/zitadel.user.v2.UserService/AddHumanUser"}},"targets":["337246363446151234"]}"#,
    )
    .unwrap();
    let beta = Execution::from_json(
        br#"{"condition":{"event":{"group":"user.human.*"}},"targets":[{"target":"t1"},{"target":"t2"}]}"#,
    )
    .unwrap();
    let all = Execution::from_json(br#"{"condition":{"response":{"all":true}},"targets":["t3"]}"#)
        .unwrap();
    let r = Router::new([current, beta, all]).unwrap();
    assert_eq!(
        ids(r.targets(Trigger::Request(ADD_HUMAN))),
        ["337246363446151234"]
    );
    assert_eq!(
        ids(r.targets(Trigger::Event("user.human.added"))),
        ["t1", "t2"]
    );
    assert_eq!(ids(r.targets(Trigger::Response(ADD_HUMAN))), ["t3"]);
}

#[test]
fn invalid_conditions_are_refused() {
    let bad = [
        Condition::Request(MethodCondition::All(false)),
        Condition::Event(EventCondition::All(false)),
        Condition::Request(MethodCondition::Method("".into())),
        Condition::Request(MethodCondition::Method("AddHumanUser".into())),
        Condition::Response(MethodCondition::Service("  ".into())),
        Condition::Event(EventCondition::Group(".*".into())),
        Condition::Event(EventCondition::Group("*".into())),
        Condition::Event(EventCondition::Event("".into())),
    ];
    for c in bad {
        assert!(
            matches!(
                Router::new([exec(c.clone(), &["x"])]),
                Err(ConfigError::InvalidCondition(_))
            ),
            "{c:?}"
        );
    }
    assert_eq!(
        Router::new([exec(
            Condition::Function(FunctionCondition {
                name: "complement_token".into()
            }),
            &["x"]
        )])
        .unwrap_err(),
        ConfigError::UnknownFunction("complement_token".into())
    );
}

proptest! {
    /// The router agrees with the events crate's condition matching: the best route's
    /// condition always matches, and no better condition was configured that matches.
    #[test]
    fn best_route_matches_per_the_events_crate(
        segs in proptest::collection::vec("[a-c]{1,2}", 1..4),
        group_depth in 0usize..4,
        with_exact in any::<bool>(),
        with_all in any::<bool>(),
    ) {
        let event_type = segs.join(".");
        let mut execs = Vec::new();
        if with_all {
            execs.push(exec(Condition::Event(EventCondition::All(true)), &["all"]));
        }
        if group_depth > 0 && group_depth < segs.len() {
            let g = format!("{}.*", segs[..group_depth].join("."));
            execs.push(exec(Condition::Event(EventCondition::Group(g)), &["group"]));
        }
        if with_exact {
            execs.push(exec(Condition::Event(EventCondition::Event(event_type.clone())), &["exact"]));
        }
        let r = Router::new(execs.clone()).unwrap();
        let matching: Vec<&Execution> = execs.iter().filter(|e| match &e.condition {
            Condition::Event(c) => c.matches(&event_type),
            _ => false,
        }).collect();
        match r.route(Trigger::Event(&event_type)) {
            None => prop_assert!(matching.is_empty()),
            Some(route) => {
                let Condition::Event(c) = route.condition else { unreachable!() };
                prop_assert!(c.matches(&event_type));
                let want = if with_exact { "exact" }
                    else if matching.iter().any(|e| e.targets[0].id() == "group") { "group" }
                    else { "all" };
                prop_assert_eq!(route.targets[0].as_str(), want);
            }
        }
    }
}
