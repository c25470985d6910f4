//! The vendor-shaped APIs (ZTA, Hub Message, ZITADEL) held against their seeds' own request
//! and response examples, field by field, on SQLite and PostgreSQL; tenant isolation through
//! every flavour route; the stored ZITADEL resources feeding the executor and durable events.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[cfg(feature = "postgres")]
#[path = "../../dispatch/tests/pg_support/mod.rs"]
mod pg_support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::Router;
use hookwire_api::{ApiState, BearerTokens, hub_message, zitadel, zta};
use hookwire_dispatch::Dispatcher;
use hookwire_dispatch::model::DeliveryFilter;
use hookwire_dispatch::ssrf::{IpCidr, SsrfGuard};
use hookwire_dispatch::store::{SqliteStore, Store};
use hookwire_dispatch::transport::{Transport, TransportConfig};
use hookwire_events::zitadel::{EventExecution, Target};
use hookwire_signature::{Scheme, Secret, Verifier};
use serde_json::{Value, json};

const SEED_ZTA: &str = include_str!("../../../tests/data/seeds/001_9d2f40fb3fc2f433.txt");
const SEED_ZITADEL: &str = include_str!("../../../tests/data/seeds/003_dc1160f33010f8f7.txt");

/// The ```json blocks of a seed, in order.
fn json_blocks(seed: &str) -> Vec<Value> {
    seed.split("```json")
        .skip(1)
        .map(|rest| {
            let block = rest.split("```").next().unwrap();
            serde_json::from_str(block).unwrap_or_else(|e| panic!("seed block {block}: {e}"))
        })
        .collect()
}

/// The `-d '…'` bodies of a seed's curl examples, in order.
fn curl_bodies(seed: &str) -> Vec<Value> {
    seed.split("-d '")
        .skip(1)
        .map(|rest| serde_json::from_str(rest.split('\'').next().unwrap()).unwrap())
        .collect()
}

/// `(key path, JSON kind)` of every leaf and object of `v`, sorted.
fn shape(v: &Value) -> Vec<(String, &'static str)> {
    fn walk(v: &Value, path: &str, out: &mut Vec<(String, &'static str)>) {
        let kind = match v {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        out.push((path.to_owned(), kind));
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    walk(v, &format!("{path}.{k}"), out);
                }
            }
            Value::Array(a) => {
                if let Some(first) = a.first() {
                    walk(first, &format!("{path}[]"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, "", &mut out);
    out.sort();
    out
}

/// Whether the top-level keys of the object at `raw` appear in `order`.
fn in_order(raw: &str, order: &[&str]) -> bool {
    let positions: Vec<usize> = order
        .iter()
        .map(|k| raw.find(&format!("\"{k}\":")).unwrap_or(usize::MAX))
        .collect();
    positions.windows(2).all(|w| w[0] < w[1]) && !positions.contains(&usize::MAX)
}

struct Sites;

#[async_trait]
impl zta::Sites for Sites {
    async fn owns(&self, _tenant: &str, site_id: &str) -> bool {
        site_id != "site_not_yours"
    }
}

struct Roles;

#[async_trait]
impl hub_message::Roles for Roles {
    async fn may_use_webhooks(&self, tenant: &str) -> bool {
        tenant != "starter"
    }
}

struct Server {
    base: String,
    http: reqwest::Client,
    dispatcher: Dispatcher,
    _keep: Box<dyn std::any::Any + Send>,
}

fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

async fn start(store: Arc<dyn Store>, keep: Box<dyn std::any::Any + Send>) -> Server {
    install_crypto();
    let dispatcher = Dispatcher::builder(store)
        .allow_loopback_http()
        .build()
        .unwrap();
    let mut tokens = BearerTokens::new();
    tokens.insert("tok-acme", "acme");
    tokens.insert("tok-globex", "globex");
    tokens.insert("tok-starter", "starter");
    let state = ApiState::new(dispatcher.clone(), tokens);
    let app = Router::new()
        .nest("/zta", zta::router_with_sites(state.clone(), Sites))
        .nest(
            "/hub-message",
            hub_message::router_with_roles(state.clone(), Roles),
        )
        .nest("/zitadel", zitadel::router(state));
    let addr = serve(app).await;
    Server {
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
        dispatcher,
        _keep: keep,
    }
}

async fn sqlite() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("hooks.db")).unwrap();
    start(Arc::new(store), Box::new(dir)).await
}

#[cfg(feature = "postgres")]
async fn postgres() -> Server {
    let (store, guard) = pg_support::store().await;
    start(Arc::new(store), Box::new(guard)).await
}

/// One answer: status, parsed body, raw body.
struct Answer {
    status: u16,
    json: Value,
    raw: String,
}

impl Server {
    /// CreateTarget for acme: `(id, signingKey)`.
    async fn target(&self, body: Value) -> (String, String) {
        let a = self
            .call(
                "POST",
                "/zitadel/v2/actions/targets",
                "tok-acme",
                Some(body),
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.raw);
        let id = a.json["id"].as_str().unwrap().to_owned();
        (id, a.json["signingKey"].as_str().unwrap().to_owned())
    }

    async fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Answer {
        let url = format!("{}{path}", self.base);
        let mut req = self
            .http
            .request(method.parse().unwrap(), url)
            .header("authorization", format!("Bearer {token}"));
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let raw = res.text().await.unwrap();
        let json = if raw.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&raw).unwrap_or_else(|e| panic!("{path}: {raw}: {e}"))
        };
        Answer { status, json, raw }
    }
}

// ---- Zero Trust Analytics -----------------------------------------------------------------

async fn zta_seed(s: &Server) {
    let blocks = json_blocks(SEED_ZTA);
    let (list_example, create_example, delete_example) = (&blocks[0], &blocks[1], &blocks[2]);
    let (https_error, event_error, denied_error, not_found_error) =
        (&blocks[7], &blocks[8], &blocks[9], &blocks[10]);
    assert_eq!(https_error, &json!({"error": "URL must use HTTPS"}));
    let request = curl_bodies(SEED_ZTA).remove(0);
    assert_eq!(request["siteId"], "site_abc123");

    // Create: the seed's request, the seed's envelope and fields, the secret once.
    let created = s
        .call(
            "POST",
            "/zta/api/webhooks",
            "tok-acme",
            Some(request.clone()),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.raw);
    assert_eq!(
        shape(&created.json),
        shape(create_example),
        "{}",
        created.raw
    );
    let w = &created.json["webhook"];
    assert!(in_order(
        &created.raw,
        &["id", "url", "events", "secret", "active", "createdAt"]
    ));
    assert!(w["id"].as_str().unwrap().starts_with("wh_"));
    assert_eq!(w["url"], request["url"]);
    assert_eq!(w["events"], request["events"]);
    assert_eq!(w["active"], true);
    let secret = w["secret"].as_str().unwrap();
    assert!(
        secret.starts_with("whsec_") && secret.len() == 38,
        "{secret}"
    );
    let created_at = w["createdAt"].as_str().unwrap();
    assert!(created_at.len() == 24 && created_at.ends_with('Z') && &created_at[19..20] == ".");
    let id = w["id"].as_str().unwrap().to_owned();

    // List: the seed's envelope and fields, except the secret (shown once, as its text says).
    let listed = s
        .call(
            "GET",
            "/zta/api/webhooks?siteId=site_abc123",
            "tok-acme",
            None,
        )
        .await;
    assert_eq!(listed.status, 200);
    let mut expected = list_example.clone();
    expected["webhooks"][0]
        .as_object_mut()
        .unwrap()
        .remove("secret");
    let mut got = listed.json.clone();
    // `lastTriggered` is null until something is sent; the seed shows a time.
    assert_eq!(got["webhooks"][0]["lastTriggered"], Value::Null);
    got["webhooks"][0]["lastTriggered"] = json!("2024-12-12T15:30:00.000Z");
    assert_eq!(shape(&got), shape(&expected), "{}", listed.raw);
    assert!(
        !listed.raw.contains(secret),
        "the list never shows the secret"
    );
    assert_eq!(got["webhooks"][0]["id"], id.as_str());

    // The seed's error answers, verbatim.
    let mut insecure = request.clone();
    insecure["url"] = json!("http://your-server.com/webhook");
    let a = s
        .call("POST", "/zta/api/webhooks", "tok-acme", Some(insecure))
        .await;
    assert_eq!((a.status, &a.json), (400, https_error));
    let mut bad_event = request.clone();
    bad_event["events"] = json!(["pageview", "invalid_event"]);
    let a = s
        .call("POST", "/zta/api/webhooks", "tok-acme", Some(bad_event))
        .await;
    assert_eq!((a.status, &a.json), (400, event_error));
    let a = s
        .call(
            "GET",
            "/zta/api/webhooks?siteId=site_not_yours",
            "tok-acme",
            None,
        )
        .await;
    assert_eq!((a.status, &a.json), (403, denied_error));
    let a = s
        .call(
            "DELETE",
            "/zta/api/webhooks?id=wh_00000000000000000000000000000000",
            "tok-acme",
            None,
        )
        .await;
    assert_eq!((a.status, &a.json), (404, not_found_error));
    let a = s.call("GET", "/zta/api/webhooks", "tok-acme", None).await;
    assert_eq!(
        (a.status, &a.json),
        (400, &json!({"error": "Site ID required"}))
    );
    let a = s
        .call("GET", "/zta/api/webhooks?siteId=x", "nobody", None)
        .await;
    assert_eq!(
        (a.status, &a.json),
        (401, &json!({"error": "Unauthorized"}))
    );
    let a = s.call("PUT", "/zta/api/webhooks", "tok-acme", None).await;
    assert_eq!(
        (a.status, &a.json),
        (405, &json!({"error": "Method not allowed"}))
    );
    let a = s.call("POST", "/zta/api/webhooks", "tok-acme", None).await;
    assert_eq!(a.status, 400, "an empty body is refused: {}", a.raw);

    // The limits: 5 event types per webhook, 10 webhooks per site.
    let mut six = request.clone();
    six["events"] = json!(["pageview", "event", "goal", "alert", "session_end", "test"]);
    let a = s
        .call("POST", "/zta/api/webhooks", "tok-acme", Some(six))
        .await;
    assert_eq!(
        (a.status, &a.json),
        (400, &json!({"error": "Maximum 5 event types per webhook"}))
    );
    for _ in 1..10 {
        let a = s
            .call(
                "POST",
                "/zta/api/webhooks",
                "tok-acme",
                Some(request.clone()),
            )
            .await;
        assert_eq!(a.status, 201);
    }
    let a = s
        .call(
            "POST",
            "/zta/api/webhooks",
            "tok-acme",
            Some(request.clone()),
        )
        .await;
    assert_eq!(
        (a.status, &a.json),
        (400, &json!({"error": "Maximum 10 webhooks per site"}))
    );
    let mut other_site = request.clone();
    other_site["siteId"] = json!("site_def456");
    let a = s
        .call("POST", "/zta/api/webhooks", "tok-acme", Some(other_site))
        .await;
    assert_eq!(a.status, 201, "the limit is per site");

    // The vendor's test action queues a test event for that webhook only.
    let a = s
        .call(
            "POST",
            "/zta/api/webhooks",
            "tok-acme",
            Some(json!({"action": "test", "webhookId": id})),
        )
        .await;
    assert_eq!((a.status, a.json["success"].clone()), (200, json!(true)));
    let ep = format!("ep_{}", &id[3..]);
    let deliveries = s
        .dispatcher
        .deliveries(&DeliveryFilter {
            endpoint_id: Some(ep),
            ..DeliveryFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(deliveries.len(), 1);

    // Delete by ?id=: the seed's answer, verbatim; then it is gone.
    let a = s
        .call(
            "DELETE",
            &format!("/zta/api/webhooks?id={id}"),
            "tok-acme",
            None,
        )
        .await;
    assert_eq!((a.status, &a.json), (200, delete_example));
    assert!(in_order(&a.raw, &["success", "message"]));
    let a = s
        .call(
            "DELETE",
            &format!("/zta/api/webhooks?id={id}"),
            "tok-acme",
            None,
        )
        .await;
    assert_eq!(a.status, 404);
    let listed = s
        .call(
            "GET",
            "/zta/api/webhooks?siteId=site_abc123",
            "tok-acme",
            None,
        )
        .await;
    assert_eq!(listed.json["webhooks"].as_array().unwrap().len(), 9);
}

#[tokio::test]
async fn zta_matches_the_seed_on_sqlite() {
    zta_seed(&sqlite().await).await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn zta_matches_the_seed_on_postgres() {
    zta_seed(&postgres().await).await;
}

// ---- Hub Message --------------------------------------------------------------------------

const CHANNEL: &str = "019E4C54B1B375A28970B605CA9B03C3";

fn is_hex(s: &str, len: usize, upper: bool) -> bool {
    s.len() == len
        && s.bytes().all(|b| {
            b.is_ascii_digit()
                || if upper {
                    (b'A'..=b'F').contains(&b)
                } else {
                    (b'a'..=b'f').contains(&b)
                }
        })
}

async fn hub_seed(s: &Server) {
    let path = format!("/hub-message/channels/{CHANNEL}/webhooks");
    let create = json!({
        "url": "https://hooks.example.com/hub",
        "events": ["MESSAGE_RECEIVED", "MESSAGE_STATUS"],
        "description": "messages",
        "signing": true,
        "auth": {"type": "BEARER", "token": "tok-for-receiver"},
        "payloadFormat": "Z_API",
        "customAttributes": {"team": "support"},
    });
    let a = s.call("POST", &path, "tok-acme", Some(create)).await;
    assert_eq!(a.status, 201, "{}", a.raw);
    // The resource parses as the vendor's type, with every documented field.
    let w: hookwire_events::hub_message::Webhook = serde_json::from_str(&a.raw).unwrap();
    let fields = [
        "id",
        "instanceId",
        "url",
        "description",
        "events",
        "status",
        "signing",
        "secret",
        "auth",
        "payloadFormat",
        "customAttributes",
        "createdAt",
        "updatedAt",
    ];
    assert!(in_order(&a.raw, &fields), "{}", a.raw);
    assert_eq!(a.json.as_object().unwrap().len(), fields.len(), "{}", a.raw);
    assert!(is_hex(&w.id, 32, true), "{}", w.id);
    assert_eq!(w.instance_id, CHANNEL);
    assert_eq!(a.json["status"], "ENABLED");
    assert_eq!(a.json["signing"], true);
    let secret = w.secret.clone().unwrap();
    assert!(is_hex(&secret, 64, false), "a 64-hex secret: {secret}");
    assert_eq!(
        a.json["auth"],
        json!({"type": "BEARER", "configured": true})
    );
    assert!(
        !a.raw.contains("tok-for-receiver"),
        "credentials are never returned"
    );
    assert_eq!(a.json["payloadFormat"], "Z_API");
    assert_eq!(a.json["customAttributes"], json!({"team": "support"}));
    let created_at = a.json["createdAt"].as_str().unwrap();
    assert!(
        created_at.ends_with("+0000") && created_at.len() == 28,
        "{created_at}"
    );
    let id = w.id.clone();

    // List per channel (both spellings): no secret.
    for list_path in [
        path.clone(),
        format!("/hub-message/webhooks?channelId={CHANNEL}"),
    ] {
        let a = s.call("GET", &list_path, "tok-acme", None).await;
        assert_eq!(a.status, 200);
        assert_eq!(a.json.as_array().unwrap().len(), 1);
        assert!(a.json[0].get("secret").is_none() && !a.raw.contains(&secret));
    }

    // PATCH signing: true issues a new secret once; events replace the list.
    let a = s
        .call(
            "PATCH",
            &format!("/hub-message/webhooks/{id}"),
            "tok-acme",
            Some(json!({"signing": true})),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.raw);
    let rotated = a.json["secret"].as_str().unwrap().to_owned();
    assert!(is_hex(&rotated, 64, false) && rotated != secret);
    let a = s
        .call(
            "PATCH",
            &format!("{path}/{id}"),
            "tok-acme",
            Some(json!({"status": "DISABLED", "events": ["CONNECTED"], "description": null})),
        )
        .await;
    assert_eq!(a.status, 200);
    assert!(a.json.get("secret").is_none());
    assert_eq!(a.json["status"], "DISABLED");
    assert_eq!(a.json["events"], json!(["CONNECTED"]));
    assert_eq!(a.json["description"], Value::Null);
    let a = s
        .call(
            "PATCH",
            &format!("{path}/{id}"),
            "tok-acme",
            Some(json!({"signing": false})),
        )
        .await;
    assert_eq!(
        (a.json["signing"].clone(), a.json.get("secret")),
        (json!(false), None)
    );
    let a = s
        .call(
            "PATCH",
            &format!("{path}/{id}"),
            "tok-acme",
            Some(json!({"signing": true})),
        )
        .await;
    assert!(
        is_hex(a.json["secret"].as_str().unwrap(), 64, false),
        "signing on again: a secret"
    );

    // The five auth types; a missing credential names the field.
    let auths = [
        (json!({"type": "NONE"}), false),
        (json!({"type": "BEARER", "token": "t"}), true),
        (
            json!({"type": "API_KEY", "key": "k", "header": "X-Key"}),
            true,
        ),
        (
            json!({"type": "BASIC", "username": "u", "password": "p"}),
            true,
        ),
        (
            json!({"type": "CUSTOM_HEADER", "name": "X-Custom", "value": "v"}),
            true,
        ),
    ];
    let mut ids = Vec::new();
    for (auth, configured) in auths {
        let kind = auth["type"].clone();
        let body = json!({"url": "https://hooks.example.com/a", "events": ["BLOCK"], "auth": auth});
        let a = s.call("POST", &path, "tok-acme", Some(body)).await;
        assert_eq!(a.status, 201, "{}", a.raw);
        assert_eq!(
            a.json["auth"],
            json!({"type": kind, "configured": configured})
        );
        assert_eq!(a.json["payloadFormat"], "DEFAULT", "DEFAULT unless asked");
        assert_eq!(a.json["signing"], false);
        assert!(a.json.get("secret").is_none(), "no secret without signing");
        ids.push(a.json["id"].as_str().unwrap().to_owned());
    }
    let a = s
        .call("POST", &path, "tok-acme", Some(json!({"url": "https://h.example.com", "events": ["BLOCK"], "auth": {"type": "BASIC", "username": "u"}})))
        .await;
    assert_eq!(a.status, 400);
    assert!(
        a.json["message"]
            .as_str()
            .unwrap()
            .contains("auth.password"),
        "{}",
        a.raw
    );
    assert!(in_order(&a.raw, &["status", "error", "message"]));
    let a = s
        .call(
            "POST",
            &path,
            "tok-acme",
            Some(json!({"url": "https://h.example.com", "events": ["NOPE"]})),
        )
        .await;
    assert_eq!(a.status, 400);
    let a = s
        .call("POST", &path, "tok-acme", Some(json!({"url": "https://h.example.com", "events": ["BLOCK"], "payloadFormat": "XML"})))
        .await;
    assert_eq!(a.status, 400);

    // 422 when the account lacks the role, on every route.
    for (method, p) in [
        ("GET", path.clone()),
        ("POST", path.clone()),
        ("PATCH", format!("/hub-message/webhooks/{id}")),
        ("DELETE", format!("/hub-message/webhooks/{id}")),
    ] {
        let a = s.call(method, &p, "tok-starter", Some(json!({}))).await;
        assert_eq!(a.status, 422, "{method} {p}");
        assert_eq!(a.json["message"], hub_message::ROLE_MESSAGE);
    }

    // Each webhook gets the body of its own payload format.
    let a = s
        .call(
            "PATCH",
            &format!("{path}/{id}"),
            "tok-acme",
            Some(json!({"status": "ENABLED", "events": ["MESSAGE_RECEIVED"]})),
        )
        .await;
    assert_eq!(a.status, 200);
    let b = s
        .call(
            "POST",
            &path,
            "tok-acme",
            Some(json!({"url": "https://hooks.example.com/d", "events": ["MESSAGE_RECEIVED"]})),
        )
        .await;
    let default_id = b.json["id"].as_str().unwrap().to_owned();
    let sent = hub_message::send(
        &s.dispatcher,
        "acme",
        CHANNEL,
        "MESSAGE_RECEIVED",
        b"{\"message\":{}}",
        b"{\"type\":\"ReceivedCallback\"}",
    )
    .await
    .unwrap();
    assert_eq!(sent.len(), 2);
    for (hex, body) in [
        (&id, "{\"type\":\"ReceivedCallback\"}"),
        (&default_id, "{\"message\":{}}"),
    ] {
        let ep = format!("ep_{}", hex.to_ascii_lowercase());
        let d = s
            .dispatcher
            .deliveries(&DeliveryFilter {
                endpoint_id: Some(ep),
                ..DeliveryFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(d.len(), 1);
        let m = s
            .dispatcher
            .message(&d[0].message_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(String::from_utf8(m.payload).unwrap(), body);
    }

    // Delete: 204, then 404.
    let a = s
        .call("DELETE", &format!("{path}/{id}"), "tok-acme", None)
        .await;
    assert_eq!(a.status, 204);
    let a = s
        .call(
            "GET",
            &format!("/hub-message/webhooks/{id}"),
            "tok-acme",
            None,
        )
        .await;
    assert_eq!(a.status, 404);
    assert_eq!(a.json["message"], "Webhook not found");
}

#[tokio::test]
async fn hub_message_matches_the_seed_on_sqlite() {
    hub_seed(&sqlite().await).await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn hub_message_matches_the_seed_on_postgres() {
    hub_seed(&postgres().await).await;
}

// ---- ZITADEL ------------------------------------------------------------------------------

/// What a loopback receiver got: headers and body of each request.
type Log = Arc<Mutex<Vec<(http::HeaderMap, Vec<u8>)>>>;

/// A loopback target: records each request, answers with `reply`.
async fn target_receiver(reply: Value) -> (String, Log) {
    let seen: Log = Arc::default();
    let log = Arc::clone(&seen);
    let app = Router::new().route(
        "/",
        axum::routing::post(move |headers: http::HeaderMap, body: axum::body::Bytes| {
            let log = Arc::clone(&log);
            let reply = reply.clone();
            async move {
                log.lock().unwrap().push((headers, body.to_vec()));
                reply.to_string()
            }
        }),
    );
    let addr = serve(app).await;
    (format!("http://{addr}/"), seen)
}

async fn zitadel_seed(s: &Server) {
    let seed_blocks = curl_bodies(SEED_ZITADEL);
    // The seed's executions (request, response, function, event) and its target.
    let (request_exec, response_exec, function_exec, event_exec, target_body) = (
        &seed_blocks[0],
        &seed_blocks[1],
        &seed_blocks[2],
        &seed_blocks[3],
        &seed_blocks[4],
    );
    assert_eq!(target_body["name"], "Authenticated Webhook");

    // CreateTarget with the seed's body: id, creationDate, signingKey (once).
    let a = s
        .call(
            "POST",
            "/zitadel/v2/actions/targets",
            "tok-acme",
            Some(target_body.clone()),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.raw);
    assert!(in_order(&a.raw, &["id", "creationDate", "signingKey"]));
    assert_eq!(a.json.as_object().unwrap().len(), 3);
    let id = a.json["id"].as_str().unwrap().to_owned();
    assert!(id.bytes().all(|b| b.is_ascii_digit()), "a numeric id: {id}");
    let key = a.json["signingKey"].as_str().unwrap().to_owned();
    assert!(key.len() >= 16);

    // GetTarget: the resource, without the key.
    let a = s
        .call(
            "GET",
            &format!("/zitadel/v2/actions/targets/{id}"),
            "tok-acme",
            None,
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.raw);
    assert!(!a.raw.contains(&key), "the signing key is shown once");
    let target = Target::from_json(a.json["target"].to_string().as_bytes()).unwrap();
    assert_eq!(target.id.as_deref(), Some(id.as_str()));
    assert_eq!(target.name, "Authenticated Webhook");
    assert_eq!(target.endpoint, target_body["endpoint"]);
    assert_eq!(target.timeout.as_deref(), Some("10s"));
    assert!(target.target_type.as_ref().unwrap().interrupt_on_error());
    assert_eq!(
        a.json["target"]["restWebhook"],
        json!({"interruptOnError": true})
    );
    assert!(target.creation_date.is_some() && target.change_date.is_some());
    assert!(target.extra.is_empty());

    // The same name again: AlreadyExists.
    let a = s
        .call(
            "POST",
            "/zitadel/v2/actions/targets",
            "tok-acme",
            Some(target_body.clone()),
        )
        .await;
    assert_eq!((a.status, a.json["code"].clone()), (409, json!(6)));

    // SetExecution with the seed's examples (their target id replaced by ours).
    let with_id = |e: &Value| {
        let mut e = e.clone();
        e["targets"] = json!([id]);
        e
    };
    for exec in [request_exec, response_exec, event_exec] {
        let a = s
            .call(
                "PUT",
                "/zitadel/v2/actions/executions",
                "tok-acme",
                Some(with_id(exec)),
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.raw);
        assert_eq!(
            a.json.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["setDate"]
        );
    }
    // The seed's function `complement_token` is not a function ZITADEL has (spec 4.3).
    let a = s
        .call(
            "PUT",
            "/zitadel/v2/actions/executions",
            "tok-acme",
            Some(with_id(function_exec)),
        )
        .await;
    assert_eq!((a.status, a.json["code"].clone()), (400, json!(3)));
    assert!(
        a.json["message"]
            .as_str()
            .unwrap()
            .contains("complement_token")
    );
    assert_eq!(a.json["details"], json!([]));
    let mut real_function = function_exec.clone();
    real_function["condition"]["function"]["name"] = json!("preaccesstoken");
    let a = s
        .call(
            "PUT",
            "/zitadel/v2/actions/executions",
            "tok-acme",
            Some(with_id(&real_function)),
        )
        .await;
    assert_eq!(a.status, 200);

    // ListExecutions: each condition with its targets; ListTargets with pagination.
    let a = s
        .call(
            "POST",
            "/zitadel/v2/actions/executions/search",
            "tok-acme",
            Some(json!({})),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.raw);
    assert_eq!(a.json["pagination"]["totalResult"], "4");
    let execs = a.json["executions"].as_array().unwrap();
    assert!(execs.iter().all(|e| e["targets"] == json!([id])));
    let conditions: Vec<&Value> = execs.iter().map(|e| &e["condition"]).collect();
    for exec in [request_exec, response_exec, event_exec] {
        assert!(
            conditions.contains(&&exec["condition"]),
            "{}",
            exec["condition"]
        );
    }
    let a = s
        .call(
            "POST",
            "/zitadel/v2/actions/targets/search",
            "tok-acme",
            Some(json!({"pagination": {"offset": "0", "limit": 10}})),
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.json["pagination"],
        json!({"totalResult": "1", "appliedLimit": "10"})
    );
    assert_eq!(a.json["targets"][0]["id"], id.as_str());

    // An empty target list removes an execution.
    let mut cleared = response_exec.clone();
    cleared["targets"] = json!([]);
    let a = s
        .call(
            "PUT",
            "/zitadel/v2/actions/executions",
            "tok-acme",
            Some(cleared),
        )
        .await;
    assert_eq!(a.status, 200);
    let a = s
        .call("GET", "/zitadel/v2/actions/executions", "tok-acme", None)
        .await;
    assert_eq!(a.json["pagination"]["totalResult"], "3");

    // Bad input: unknown target, unknown field, a bad timeout, no token.
    let a = s
        .call(
            "PUT",
            "/zitadel/v2/actions/executions",
            "tok-acme",
            Some(json!({"condition": {"event": {"event": "user.locked"}}, "targets": ["42"]})),
        )
        .await;
    assert_eq!((a.status, a.json["code"].clone()), (404, json!(5)));
    let mut typo = target_body.clone();
    typo["name"] = json!("other");
    typo["endpont"] = json!("x");
    let a = s
        .call(
            "POST",
            "/zitadel/v2/actions/targets",
            "tok-acme",
            Some(typo),
        )
        .await;
    assert_eq!(a.status, 400, "{}", a.raw);
    let mut slow = target_body.clone();
    slow["name"] = json!("slow");
    slow["timeout"] = json!("300s");
    let a = s
        .call(
            "POST",
            "/zitadel/v2/actions/targets",
            "tok-acme",
            Some(slow),
        )
        .await;
    assert_eq!(a.status, 400);
    let a = s
        .call("GET", "/zitadel/v2/actions/targets", "nobody", None)
        .await;
    assert_eq!((a.status, a.json["code"].clone()), (401, json!(16)));

    // UpdateTarget with expirationSigningKey "0s": a new key, once.
    let a = s
        .call(
            "POST",
            &format!("/zitadel/v2/actions/targets/{id}"),
            "tok-acme",
            Some(json!({"timeout": "5s", "expirationSigningKey": "0s"})),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.raw);
    let new_key = a.json["signingKey"].as_str().unwrap().to_owned();
    assert_ne!(new_key, key);
    assert!(a.json["changeDate"].is_string());
    let a = s
        .call(
            "GET",
            &format!("/zitadel/v2/actions/targets/{id}"),
            "tok-acme",
            None,
        )
        .await;
    assert_eq!(a.json["target"]["timeout"], "5s");

    // DeleteTarget: a date, the target gone from every execution; again: no date.
    let a = s
        .call(
            "DELETE",
            &format!("/zitadel/v2/actions/targets/{id}"),
            "tok-acme",
            None,
        )
        .await;
    assert_eq!(a.status, 200);
    assert!(a.json["deletionDate"].is_string());
    let a = s
        .call(
            "DELETE",
            &format!("/zitadel/v2/actions/targets/{id}"),
            "tok-acme",
            None,
        )
        .await;
    assert_eq!((a.status, &a.json), (200, &json!({})));
    let a = s
        .call(
            "GET",
            &format!("/zitadel/v2/actions/targets/{id}"),
            "tok-acme",
            None,
        )
        .await;
    assert_eq!((a.status, a.json["code"].clone()), (404, json!(5)));
    let a = s
        .call("GET", "/zitadel/v2/actions/executions", "tok-acme", None)
        .await;
    assert_eq!(a.json["pagination"]["totalResult"], "0");
}

#[tokio::test]
async fn zitadel_matches_the_seed_on_sqlite() {
    zitadel_seed(&sqlite().await).await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn zitadel_matches_the_seed_on_postgres() {
    zitadel_seed(&postgres().await).await;
}

/// The stored targets and executions drive the synchronous executor (a signed restCall whose
/// answer replaces the request) and durable event executions (best match only).
#[tokio::test]
async fn zitadel_resources_feed_the_executor_and_durable_events() {
    let s = sqlite().await;
    let (call_url, call_log) =
        target_receiver(json!({"email": {"email": "changed@example.com"}})).await;
    let (event_url, _) = target_receiver(json!({})).await;
    let mk = |name: &str, url: &str, kind: &str| json!({"name": name, "endpoint": url, "timeout": "5s", kind: {}});
    let (call_id, call_key) = s.target(mk("rewrite", &call_url, "restCall")).await;
    let (locked_id, _) = s.target(mk("locked", &event_url, "restAsync")).await;
    let (group_id, _) = s.target(mk("all-users", &event_url, "restAsync")).await;
    for (condition, target) in [
        (
            json!({"request": {"method": "/zitadel.user.v2.UserService/AddHumanUser"}}),
            &call_id,
        ),
        (json!({"event": {"event": "user.locked"}}), &locked_id),
        (json!({"event": {"group": "user.*"}}), &group_id),
    ] {
        let a = s
            .call(
                "PUT",
                "/zitadel/v2/actions/executions",
                "tok-acme",
                Some(json!({"condition": condition, "targets": [target]})),
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.raw);
    }

    let transport = Transport::new(TransportConfig::default().guard(Arc::new(
        SsrfGuard::new().allow("127.0.0.0/8".parse::<IpCidr>().unwrap()),
    )))
    .unwrap();
    let executor = zitadel::executor(&s.dispatcher, "acme", transport)
        .await
        .unwrap();
    let out = executor
        .execute_request(
            "/zitadel.user.v2.UserService/AddHumanUser",
            json!({"email": {"email": "mini@example.com"}}),
        )
        .await
        .unwrap();
    assert_eq!(out, json!({"email": {"email": "changed@example.com"}}));
    let (headers, body) = call_log.lock().unwrap().remove(0);
    let verifier = Verifier::new(&Scheme::Zitadel, &[Secret::new(call_key)]).unwrap();
    verifier
        .verify(&body, &headers)
        .expect("signed with the key CreateTarget returned");

    // user.locked: the exact execution wins over the group; user.human.added: the group.
    let ep_of = |id: &str| format!("ep_{:032x}", id.parse::<u128>().unwrap());
    let count = |id: String| {
        let d = s.dispatcher.clone();
        async move {
            d.deliveries(&DeliveryFilter {
                endpoint_id: Some(id),
                ..DeliveryFilter::default()
            })
            .await
            .unwrap()
            .len()
        }
    };
    let mut event = EventExecution {
        event_type: Some("user.locked".to_owned()),
        ..EventExecution::default()
    };
    assert_eq!(
        zitadel::enqueue_event(&s.dispatcher, "acme", &event)
            .await
            .unwrap()
            .len(),
        1
    );
    event.event_type = Some("user.human.added".to_owned());
    assert_eq!(
        zitadel::enqueue_event(&s.dispatcher, "acme", &event)
            .await
            .unwrap()
            .len(),
        1
    );
    event.event_type = Some("org.added".to_owned());
    assert!(
        zitadel::enqueue_event(&s.dispatcher, "acme", &event)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(count(ep_of(&locked_id)).await, 1);
    assert_eq!(count(ep_of(&group_id)).await, 1);
    assert_eq!(count(ep_of(&call_id)).await, 0);
    // Another tenant's events reach none of them.
    event.event_type = Some("user.locked".to_owned());
    assert!(
        zitadel::enqueue_event(&s.dispatcher, "globex", &event)
            .await
            .unwrap()
            .is_empty()
    );
}

// ---- isolation ----------------------------------------------------------------------------

async fn isolation(s: &Server) {
    // acme's resources in every flavour.
    let zta_body =
        json!({"siteId": "site_abc123", "url": "https://a.example.com/z", "events": ["pageview"]});
    let a = s
        .call(
            "POST",
            "/zta/api/webhooks",
            "tok-acme",
            Some(zta_body.clone()),
        )
        .await;
    let zta_id = a.json["webhook"]["id"].as_str().unwrap().to_owned();
    let hub_path = format!("/hub-message/channels/{CHANNEL}/webhooks");
    let a = s
        .call(
            "POST",
            &hub_path,
            "tok-acme",
            Some(json!({"url": "https://a.example.com/h", "events": ["BLOCK"]})),
        )
        .await;
    let hub_id = a.json["id"].as_str().unwrap().to_owned();
    let a = s
        .call(
            "POST",
            "/zitadel/v2/actions/targets",
            "tok-acme",
            Some(json!({"name": "t", "endpoint": "https://a.example.com/t", "restWebhook": {}})),
        )
        .await;
    let zid = a.json["id"].as_str().unwrap().to_owned();

    // globex, with acme's ids and acme's scope ids, sees and changes nothing.
    let g = "tok-globex";
    let a = s
        .call("GET", "/zta/api/webhooks?siteId=site_abc123", g, None)
        .await;
    assert_eq!((a.status, &a.json), (200, &json!({"webhooks": []})));
    let a = s
        .call("DELETE", &format!("/zta/api/webhooks?id={zta_id}"), g, None)
        .await;
    assert_eq!(
        (a.status, &a.json),
        (404, &json!({"error": "Webhook not found"}))
    );
    let a = s
        .call(
            "POST",
            "/zta/api/webhooks",
            g,
            Some(json!({"action": "test", "webhookId": zta_id})),
        )
        .await;
    assert_eq!(a.status, 404);
    let a = s.call("GET", &hub_path, g, None).await;
    assert_eq!((a.status, &a.json), (200, &json!([])));
    for (m, p) in [
        ("GET", format!("/hub-message/webhooks/{hub_id}")),
        ("PATCH", format!("/hub-message/webhooks/{hub_id}")),
        ("DELETE", format!("/hub-message/webhooks/{hub_id}")),
        ("GET", format!("{hub_path}/{hub_id}")),
        ("PATCH", format!("{hub_path}/{hub_id}")),
        ("DELETE", format!("{hub_path}/{hub_id}")),
    ] {
        let a = s.call(m, &p, g, Some(json!({"signing": true}))).await;
        assert_eq!(a.status, 404, "{m} {p}: {}", a.raw);
        assert!(a.json.get("secret").is_none());
    }
    let a = s
        .call(
            "GET",
            &format!("/zitadel/v2/actions/targets/{zid}"),
            g,
            None,
        )
        .await;
    assert_eq!(a.status, 404);
    let a = s
        .call(
            "POST",
            &format!("/zitadel/v2/actions/targets/{zid}"),
            g,
            Some(json!({"expirationSigningKey": "0s"})),
        )
        .await;
    assert_eq!(a.status, 404);
    assert!(a.json.get("signingKey").is_none());
    let a = s
        .call(
            "DELETE",
            &format!("/zitadel/v2/actions/targets/{zid}"),
            g,
            None,
        )
        .await;
    assert_eq!(
        (a.status, &a.json),
        (200, &json!({})),
        "as for a target that does not exist"
    );
    let a = s
        .call(
            "PUT",
            "/zitadel/v2/actions/executions",
            g,
            Some(json!({"condition": {"event": {"all": true}}, "targets": [zid]})),
        )
        .await;
    assert_eq!(a.status, 404);
    for p in [
        "/zitadel/v2/actions/targets",
        "/zitadel/v2/actions/executions",
    ] {
        let a = s.call("GET", p, g, None).await;
        assert_eq!(a.json["pagination"]["totalResult"], "0", "{p}");
    }

    // acme's resources are untouched.
    let a = s
        .call(
            "GET",
            "/zta/api/webhooks?siteId=site_abc123",
            "tok-acme",
            None,
        )
        .await;
    assert_eq!(a.json["webhooks"][0]["id"], zta_id.as_str());
    let a = s
        .call(
            "GET",
            &format!("/hub-message/webhooks/{hub_id}"),
            "tok-acme",
            None,
        )
        .await;
    assert_eq!(
        (a.status, a.json["status"].clone()),
        (200, json!("ENABLED"))
    );
    let a = s
        .call(
            "GET",
            &format!("/zitadel/v2/actions/targets/{zid}"),
            "tok-acme",
            None,
        )
        .await;
    assert_eq!(a.status, 200);
    let a = s
        .call("GET", "/zitadel/v2/actions/executions", "tok-acme", None)
        .await;
    assert_eq!(
        a.json["pagination"]["totalResult"], "0",
        "globex's execution did not land"
    );
}

#[tokio::test]
async fn tenants_are_isolated_through_every_flavour_route_on_sqlite() {
    isolation(&sqlite().await).await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn tenants_are_isolated_through_every_flavour_route_on_postgres() {
    isolation(&postgres().await).await;
}
