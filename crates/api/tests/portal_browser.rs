//! The portal in a real browser: headless Chromium driven over WebDriver (chromedriver, on
//! loopback) signs in with a token, creates an endpoint against a loopback receiver, watches
//! the test delivery arrive, opens its attempt, redelivers it and rotates the secret.
//! Screenshots go to `target/portal-screenshots/`.
//!
//! Needs the Debian packages `chromium` and `chromium-driver` (`apt-get install -y chromium
//! chromium-driver`); without chromedriver the test fails and says so.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use base64::Engine as _;
use hookwire_api::portal::{self, PortalConfig};
use hookwire_api::{ApiState, BearerTokens};
use hookwire_dispatch::Dispatcher;
use hookwire_dispatch::store::SqliteStore;
use hookwire_signature::{Scheme, Secret, Verifier};
use serde_json::{Value, json};

const TOKEN: &str = "hwk_browser_test_token";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A chromedriver process and one browser session.
struct Browser {
    http: reqwest::Client,
    url: String,
    child: Child,
    _profile: tempfile::TempDir,
    shots: PathBuf,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    async fn start() -> Self {
        let driver = on_path(&["chromedriver"]).unwrap_or_else(|| {
            panic!(
                "chromedriver not found on PATH: install it with \
                 `apt-get install -y chromium chromium-driver` (CI installs it)"
            )
        });
        let chromium =
            on_path(&["chromium", "chromium-browser", "google-chrome"]).unwrap_or_else(|| {
                panic!("no Chromium: `apt-get install -y chromium chromium-driver`")
            });
        let port = free_port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = http.get(format!("{base}/status")).send().await;
            if let Ok(r) = ready
                && let Ok(t) = r.text().await
                && let Ok(v) = serde_json::from_str::<Value>(&t)
                && v["value"]["ready"] == true
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.to_string_lossy(),
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--window-size=1360,1000",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        }}});
        let res = http
            .post(format!("{base}/session"))
            .header("content-type", "application/json")
            .body(caps.to_string())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let res: Value = serde_json::from_str(&res).unwrap();
        let session = res["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {res}"))
            .to_owned();
        let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/portal-screenshots");
        std::fs::create_dir_all(&shots).unwrap();
        Self {
            http,
            url: format!("{base}/session/{session}"),
            child,
            _profile: profile,
            shots,
        }
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        match self.try_cmd(method, path, body).await {
            Ok(v) => v,
            Err((err, message)) => panic!("webdriver {path}: {err}: {message}"),
        }
    }

    /// One WebDriver command: its value, or the error code and message it answered with.
    async fn try_cmd(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, (String, Value)> {
        let mut req = self.http.request(method, format!("{}{path}", self.url));
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let text = req.send().await.unwrap().text().await.unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        if let Some(err) = v["value"]["error"].as_str() {
            return Err((err.to_owned(), v["value"]["message"].clone()));
        }
        Ok(v["value"].clone())
    }

    async fn go(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    async fn find(&self, css: &str) -> String {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("find {css}: {v}"))
            .to_owned()
    }

    async fn count(&self, css: &str) -> usize {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/elements",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v.as_array().map_or(0, Vec::len)
    }

    /// Clicks a link or submit button and waits for the page it leads to: chromedriver may
    /// answer the click before the navigation starts, so the old page is gone only once the
    /// clicked element is stale, and the new one is there once the document is complete.
    async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{el}/click"),
            Some(json!({})),
        )
        .await;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let probe = self
                .try_cmd(reqwest::Method::GET, &format!("/element/{el}/name"), None)
                .await;
            match probe {
                Err((err, _)) if err == "stale element reference" => break,
                Err((err, message)) => panic!("after clicking {css}: {err}: {message}"),
                Ok(_) => {}
            }
            assert!(
                Instant::now() < deadline,
                "clicking {css} did not leave the page"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        loop {
            let state = self
                .cmd(
                    reqwest::Method::POST,
                    "/execute/sync",
                    Some(json!({"script": "return document.readyState", "args": []})),
                )
                .await;
            if state == "complete" {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the page after {css} never loaded"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{el}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    async fn text(&self, css: &str) -> String {
        let el = self.find(css).await;
        let v = self
            .cmd(reqwest::Method::GET, &format!("/element/{el}/text"), None)
            .await;
        v.as_str().unwrap().to_owned()
    }

    async fn current_url(&self) -> String {
        let v = self.cmd(reqwest::Method::GET, "/url", None).await;
        v.as_str().unwrap().to_owned()
    }

    async fn source(&self) -> String {
        let v = self.cmd(reqwest::Method::GET, "/source", None).await;
        v.as_str().unwrap().to_owned()
    }

    async fn refresh(&self) {
        self.cmd(reqwest::Method::POST, "/refresh", Some(json!({})))
            .await;
    }

    async fn screenshot(&self, name: &str) {
        let v = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }

    /// Reloads until `css` matches at least `n` elements (deliveries happen in the background).
    async fn wait_for(&self, css: &str, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.count(css).await < n {
            assert!(Instant::now() < deadline, "no {n} × `{css}` on the page");
            tokio::time::sleep(Duration::from_millis(250)).await;
            self.refresh().await;
        }
    }

    async fn close(self) {
        let _ = self.http.delete(self.url.clone()).send().await;
    }
}

type Seen = Arc<Mutex<Vec<(http::HeaderMap, Vec<u8>)>>>;

async fn serve(app: Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn verifies(seen: &Seen, index: usize, secret: &str) -> bool {
    let (headers, body) = seen.lock().unwrap()[index].clone();
    let verifier = Verifier::new(
        &Scheme::from_name("standard").unwrap(),
        &[Secret::new(secret)],
    )
    .unwrap();
    verifier.verify(&body, &headers).is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portal_in_a_real_browser() {
    let _ = rustls::crypto::ring::default_provider().install_default();

    // A loopback receiver that records what it gets.
    let seen: Seen = Arc::default();
    let log = Arc::clone(&seen);
    let receiver = Router::new()
        .route(
            "/down",
            axum::routing::post(|| async {
                (
                    http::StatusCode::SERVICE_UNAVAILABLE,
                    "down for maintenance",
                )
            }),
        )
        .route(
            "/hook",
            axum::routing::post(move |headers: http::HeaderMap, body: axum::body::Bytes| {
                let log = Arc::clone(&log);
                async move {
                    log.lock().unwrap().push((headers, body.to_vec()));
                    "thanks"
                }
            }),
        );
    let receiver_addr = serve(receiver).await;
    let receiver_url = format!("http://{receiver_addr}/hook");

    // The dispatcher, running, and the portal at /portal.
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("portal.db")).unwrap();
    let dispatcher = Dispatcher::builder(Arc::new(store))
        .allow_loopback_http()
        .poll_interval(Duration::from_millis(100))
        .build()
        .unwrap();
    dispatcher.start().unwrap();
    let mut tokens = BearerTokens::new();
    tokens.insert(TOKEN, "acme");
    let state = ApiState::new(dispatcher.clone(), tokens);
    let config = PortalConfig::new().unwrap().secure_cookies(false);
    let app = Router::new().nest("/portal", portal::router(state, config));
    let portal = format!("http://{}/portal", serve(app).await);

    // A forged POST (no CSRF token) changes nothing.
    let forged = reqwest::Client::new()
        .post(format!("{portal}/endpoints"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("url", &receiver_url)
                .append_pair("family", "standard")
                .finish(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(dispatcher.list_endpoints("acme").await.unwrap().is_empty());

    let b = Browser::start().await;

    // Sign in with the token.
    b.go(&portal).await;
    assert!(b.current_url().await.ends_with("/portal/login"));
    b.screenshot("01-login").await;
    b.type_into("#token", "wrong-token").await;
    b.click("#signin").await;
    assert!(b.source().await.contains("That token was not accepted."));
    b.type_into("#token", TOKEN).await;
    b.click("#signin").await;
    assert!(b.current_url().await.ends_with("/portal"));
    assert_eq!(b.text(".tenant").await, "acme");

    // Create an endpoint against the loopback receiver: the secret, once.
    b.type_into("#url", &receiver_url).await;
    b.type_into("#description", "Order events").await;
    b.click("#create").await;
    let secret = b.text("#secret").await;
    assert!(secret.starts_with("whsec_"), "{secret}");
    b.screenshot("02-created-secret-once").await;
    b.click("#continue").await;
    assert!(
        !b.source().await.contains(&secret),
        "the secret is not on any other page"
    );

    // Send a test event and watch the delivery arrive.
    b.click("form[action$='/test'] button").await;
    assert!(b.source().await.contains("Test event queued"));
    b.wait_for("tr[data-delivery] .badge.ok", 1).await;
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert!(
        verifies(&seen, 0, &secret),
        "signed with the secret the page showed"
    );
    b.screenshot("03-endpoint-delivered").await;

    // Its attempt, then a redelivery: a second attempt.
    b.click("tr[data-delivery] a").await;
    assert_eq!(b.count("tr.attempt").await, 1);
    assert!(b.text("tr.attempt").await.contains("200"));
    assert!(
        b.text("tr.attempt").await.contains("thanks"),
        "the response snippet"
    );
    b.click("form[action$='/redeliver'] button").await;
    assert!(b.source().await.contains("Delivery queued again."));
    b.wait_for("tr.attempt", 2).await;
    assert_eq!(seen.lock().unwrap().len(), 2);
    b.screenshot("04-delivery-attempts").await;

    // Rotate the secret: a new one, once; the next delivery is signed with it.
    b.click(".crumbs a:nth-of-type(2)").await;
    b.click("form[action$='/rotate'] button").await;
    let rotated = b.text("#secret").await;
    assert!(rotated.starts_with("whsec_") && rotated != secret);
    b.screenshot("05-rotated-secret").await;
    b.click("#continue").await;
    let page = b.source().await;
    assert!(!page.contains(&rotated) && !page.contains(&secret));
    assert!(page.contains("the previous one stops signing"));
    b.click("form[action$='/test'] button").await;
    b.wait_for("tr[data-delivery] .badge.ok", 2).await;
    assert!(
        verifies(&seen, 2, &rotated),
        "signed with the rotated secret"
    );
    assert!(
        verifies(&seen, 2, &secret),
        "and, during the grace period, the old one"
    );

    // Disable it: the list shows it.
    b.click("form[action$='/disable'] button").await;
    assert!(b.source().await.contains("Endpoint disabled"));
    b.go(&portal).await;
    assert!(b.text("tr[data-endpoint]").await.contains("Disabled"));

    // A receiver that is down: its delivery waits for a retry, with the status shown.
    b.type_into("#url", &format!("http://{receiver_addr}/down"))
        .await;
    let family = b.find("#family option[value='zerotier']").await;
    b.cmd(
        reqwest::Method::POST,
        &format!("/element/{family}/click"),
        Some(json!({})),
    )
    .await;
    b.type_into("#event_types", "NETWORK_JOIN, MEMBER_DELETED")
        .await;
    b.click("#create").await;
    b.click("#continue").await;
    b.click("form[action$='/test'] button").await;
    b.wait_for("tr[data-delivery] .badge.warn", 1).await;
    // The row is pending from the moment the message is accepted; the first attempt's 503
    // shows once the worker recorded it (reload until it does, 20 s at most).
    let deadline = Instant::now() + Duration::from_secs(20);
    while !b.text("tr[data-delivery]").await.contains("503") {
        assert!(
            Instant::now() < deadline,
            "the failed attempt's 503 never showed: {}",
            b.text("tr[data-delivery]").await
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        b.refresh().await;
    }
    b.go(&portal).await;
    assert_eq!(b.count("tr[data-endpoint]").await, 2);
    b.screenshot("06-endpoints").await;

    b.close().await;
    dispatcher.shutdown(Duration::from_secs(5)).await;
}
