//! Every example runs here, as a user runs it, so none can rot.
//!
//! The receivers are started with `PORT=0`, and the test replays the signed `curl` line each one
//! prints at start-up: the request must be accepted and the typed event printed once, a replay
//! must not reach the handler again, and a tampered body must be refused with 401. The
//! programs that run to completion must exit 0 with the output they promise.
//!
//! `cargo test` builds the examples of the packages it tests before running this file; run it
//! as `cargo test -p hookwire-examples` (with `--test examples` alone cargo would not build them).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// The compiled example `name` (next to this test binary's `deps/` folder).
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo test -p hookwire-examples`, which builds the examples first",
        path.display()
    );
    path
}

/// A running example whose stdout lines arrive on a channel; killed on drop.
struct Running {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(name: &str, env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(example(name));
        cmd.env("PORT", "0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for var in [
            "ZEROTIER_HOOK_SECRET",
            "ZTA_WEBHOOK_SECRET",
            "HUB_WEBHOOK_SECRET",
            "HUB_SIGNATURE_HEADER",
            "ZITADEL_SIGNING_KEY",
            "ZENTITLE_RSA_MODULUS",
            "WEBHOOK_SECRET",
        ] {
            cmd.env_remove(var);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The next line satisfying `f`, within 60 s (a first run may still be linking).
    fn wait_for(&mut self, what: &str, f: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if f(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    panic!("no {what} in the output; got {:#?}", self.seen)
                }
            }
        }
    }

    /// Everything printed until now (waits briefly for lines still in flight).
    fn drain(&mut self) -> &[String] {
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(300)) {
            self.seen.push(line);
        }
        &self.seen
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A request parsed from the `curl -i URL -H 'N: v' … --data-binary 'BODY'` line an example
/// prints.
struct Curl {
    url: String,
    headers: Vec<(String, String)>,
    body: String,
}

fn parse_curl(line: &str) -> Curl {
    let rest = line.trim().strip_prefix("curl -i ").expect("a curl line");
    let (url, mut rest) = rest.split_once(' ').expect("curl URL");
    let mut headers = Vec::new();
    while let Some(after) = rest.strip_prefix("-H '") {
        let (header, tail) = after.split_once("' ").expect("closing quote of -H");
        let (name, value) = header.split_once(": ").expect("Name: value");
        headers.push((name.to_owned(), value.to_owned()));
        rest = tail;
    }
    let body = rest
        .strip_prefix("--data-binary '")
        .and_then(|b| b.strip_suffix('\''))
        .expect("--data-binary 'BODY'");
    Curl {
        url: url.to_owned(),
        headers,
        body: body.to_owned(),
    }
}

async fn post(curl: &Curl, body: &str) -> (u16, String) {
    // reqwest is built without a TLS provider of its own (the dispatcher hands it one); this
    // plain-HTTP client still needs one installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let mut req = client.post(&curl.url).body(body.to_owned());
    for (name, value) in &curl.headers {
        req = req.header(name, value);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap_or_default())
}

/// Starts receiver `name`, replays its sample, a replay of it and a tampered copy; `event` is
/// the text the handler prints for the sample.
async fn receiver(name: &str, env: &[(&str, &str)], event: &str) {
    let mut run = Running::start(name, env);
    let curl = run.wait_for("curl line", |l| l.trim_start().starts_with("curl -i "));
    run.wait_for("listening line", |l| {
        l.starts_with("listening on http://127.0.0.1:")
    });
    let started = run.seen.len();
    let curl = parse_curl(&curl);

    let (status, text) = post(&curl, &curl.body).await;
    assert_eq!(
        (status, text.as_str()),
        (200, "ok"),
        "{name}: the signed sample"
    );
    run.wait_for(event, |l| l.contains(event));

    let (status, _) = post(&curl, &curl.body).await;
    assert_eq!(
        status, 200,
        "{name}: a replay is acknowledged (so the sender stops)"
    );

    let tampered = curl.body.replacen('"', "\"x", 1);
    let (status, _) = post(&curl, &tampered).await;
    assert_eq!(status, 401, "{name}: a tampered body");

    let handled = run.drain()[started..]
        .iter()
        .filter(|l| l.contains(event))
        .count();
    assert_eq!(handled, 1, "{name}: the handler ran once: {:#?}", run.seen);
}

#[tokio::test]
async fn receiver_zerotier() {
    receiver(
        "receiver_zerotier",
        &[],
        "member a02505e545 joined network 19d9808567a17ccf",
    )
    .await;
}

#[tokio::test]
async fn receiver_zerotier_with_a_secret_from_the_environment() {
    receiver(
        "receiver_zerotier",
        &[("ZEROTIER_HOOK_SECRET", &"0f".repeat(32))],
        "joined network",
    )
    .await;
}

#[tokio::test]
async fn receiver_zta() {
    receiver("receiver_zta", &[], "pageview on").await;
}

#[tokio::test]
async fn receiver_hub_message() {
    receiver(
        "receiver_hub_message",
        &[],
        "NEW_MESSAGE message 019E6F1A93FE78DCB54332F9FF0CCAE7",
    )
    .await;
}

#[tokio::test]
async fn receiver_zitadel() {
    receiver("receiver_zitadel", &[], "event user.human.added").await;
}

#[tokio::test]
async fn receiver_zentitle() {
    receiver("receiver_zentitle", &[], "customer.created on cust_1").await;
}

#[tokio::test]
async fn receiver_standard() {
    receiver("receiver_standard", &[], "user.created at 2024-01-01").await;
}

/// Runs `name` to completion and returns its stdout.
fn run_to_end(name: &str) -> String {
    let out = Command::new(example(name))
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{name} failed: {stdout}");
    stdout
}

#[test]
fn verify_zerotier() {
    let out = run_to_end("verify_zerotier");
    assert!(out.contains("x-ztc-signature: t="), "{out}");
    assert!(out.contains("tampered body: Err("), "{out}");
}

#[test]
fn schedules() {
    let out = run_to_end("schedules");
    for preset in hookwire::retry::PRESET_NAMES {
        assert!(out.contains(preset), "{preset} missing from {out}");
    }
    assert!(out.contains("gives up after attempt"), "{out}");
}

#[test]
fn outbox() {
    let out = run_to_end("outbox");
    assert!(
        out.contains("sqlite: the receiver got 1 webhook(s)"),
        "{out}"
    );
    assert!(
        out.contains("postgres: the receiver got 1 webhook(s)"),
        "the PostgreSQL half needs the server at 127.0.0.1:5432 (or HOOKWIRE_POSTGRES_URL): {out}"
    );
}

#[test]
fn zitadel_call() {
    let out = run_to_end("zitadel_call");
    assert!(out.contains("AddHumanUser for"), "{out}");
    // The hookwire-axum target enriched the allowed request and refused the other domain.
    assert!(out.contains("John Doe (verified)"), "{out}");
    assert!(
        out.contains("Email domain gmail.com is not allowed"),
        "{out}"
    );
}

#[test]
fn dispatch_to_axum() {
    let out = run_to_end("dispatch_to_axum");
    for hook in ["NETWORK_JOIN h-1", "MEMBER_DELETED h-2"] {
        assert!(
            out.contains(&format!("{hook}: delivered and verified")),
            "{hook} missing from {out}"
        );
    }
}

#[test]
fn management_api() {
    let out = run_to_end("management_api");
    assert!(out.contains("without a session: 401"), "{out}");
    assert!(
        out.contains("its secret (64 characters) is shown in this response only"),
        "{out}"
    );
    assert!(
        out.contains("delivered after 1 attempt(s), 1 in its attempt log"),
        "{out}"
    );
}
