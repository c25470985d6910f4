//! The demo's flow as a test (receivers for every family, the dispatcher on a SQLite file,
//! retries, auto-disable, the ZITADEL execution), then `deliveries` on the store it left, and
//! `send` through the dispatcher to real loopback receivers.

// Test helpers: a failed unwrap is a failed test with a clear message.
#![allow(clippy::unwrap_used, clippy::panic)]

mod support;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{hookwire, listen};

/// The table row of one endpoint: its cells.
fn row<'a>(stdout: &'a str, endpoint: &str) -> Vec<&'a str> {
    stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|cells| cells.len() == 9 && cells[1] == endpoint)
        .unwrap_or_else(|| panic!("no row for {endpoint} in\n{stdout}"))
}

#[test]
fn demo_delivers_and_verifies_every_family_then_deliveries_inspects_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let db = db.to_str().unwrap();
    let started = Instant::now();
    let run = hookwire(&["demo", "--db", db, "--events", "8"], b"");
    let took = started.elapsed();
    assert_eq!(run.code, 0, "demo failed:\n{}\n{}", run.stdout, run.stderr);
    assert!(took < Duration::from_secs(30), "demo took {took:?}");
    assert!(run.stdout.contains("ok: 48 messages"), "{}", run.stdout);

    // FAMILY ENDPOINT SENT DELIVERED RETRIES FAILED VERIFIED P50 MAX
    for endpoint in [
        "zerotier",
        "zta",
        "hub-message",
        "zitadel",
        "zentitle",
        "standard",
    ] {
        let cells = row(&run.stdout, endpoint);
        assert_eq!(
            &cells[2..7],
            ["8", "8", "0", "0", "8"],
            "{endpoint}: {cells:?}"
        );
    }
    let flaky = row(&run.stdout, "zerotier-flaky");
    assert_eq!(
        (flaky[2], flaky[3], flaky[5], flaky[6]),
        ("8", "8", "0", "8")
    );
    assert!(flaky[4].parse::<u32>().unwrap() >= 3, "{flaky:?}");
    let gone = row(&run.stdout, "standard-gone");
    assert_eq!(gone[3], "0", "{gone:?}");
    assert_eq!(
        gone[5], gone[2],
        "every delivery to the 410 endpoint failed: {gone:?}"
    );
    assert!(
        run.stdout
            .contains("disabled by the dispatcher (endpoint answered 410 Gone)")
    );
    // The ZITADEL execution printed the target's modification.
    assert!(run.stdout.contains("ZITADEL execution"), "{}", run.stdout);
    assert!(run.stdout.contains("checked by the demo target"));

    // `deliveries` on the store the demo left.
    let list = hookwire(&["deliveries", "--db", db, "list", "--limit", "500"], b"");
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert!(list.stdout.starts_with("DELIVERY"));
    // 6 families × 8 + 8 flaky + the 410 endpoint's.
    let gone_n: usize = gone[2].parse().unwrap();
    assert!(
        list.stdout.contains(&format!("{} deliveries", 56 + gone_n)),
        "{}",
        list.stdout
    );
    let failed = hookwire(
        &["deliveries", "--db", db, "list", "--state", "failed"],
        b"",
    );
    let failed_ids: Vec<&str> = failed
        .stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .filter(|id| id.starts_with("dlv_"))
        .collect();
    assert_eq!(failed_ids.len(), gone_n, "{}", failed.stdout);
    let endpoint = failed
        .stdout
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().find(|c| c.starts_with("ep_")))
        .unwrap()
        .to_owned();

    let show = hookwire(&["deliveries", "--db", db, "show", failed_ids[0]], b"");
    assert_eq!(show.code, 0, "{}", show.stderr);
    assert!(
        show.stdout.contains("event     invoice.paid"),
        "{}",
        show.stdout
    );
    assert!(show.stdout.contains("HTTP 410"), "{}", show.stdout);
    let delivered = hookwire(
        &[
            "deliveries",
            "--db",
            db,
            "list",
            "--state",
            "delivered",
            "--limit",
            "1",
        ],
        b"",
    );
    let delivered_id = delivered
        .stdout
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let show = hookwire(&["deliveries", "--db", db, "show", &delivered_id], b"");
    assert!(
        show.stdout.contains("state     delivered"),
        "{}",
        show.stdout
    );

    // Repair: redeliver one, recover the rest of the endpoint's failures.
    let run = hookwire(&["deliveries", "--db", db, "redeliver", failed_ids[0]], b"");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("re-queued"));
    let pending = hookwire(
        &["deliveries", "--db", db, "list", "--state", "pending"],
        b"",
    );
    assert!(pending.stdout.contains(failed_ids[0]), "{}", pending.stdout);
    let run = hookwire(
        &[
            "deliveries",
            "--db",
            db,
            "recover",
            "--endpoint",
            &endpoint,
            "--since",
            "1h",
        ],
        b"",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains(&format!("re-queued {} failed deliveries", gone_n - 1)),
        "{}",
        run.stdout
    );

    // Bad usage and unknown ids.
    assert_eq!(
        hookwire(&["deliveries", "--db", "/nonexistent.db", "list"], b"").code,
        2
    );
    assert_eq!(
        hookwire(&["deliveries", "--db", db, "list", "--state", "lost"], b"").code,
        2
    );
    assert_eq!(
        hookwire(&["deliveries", "--db", db, "show", "dlv_nope"], b"").code,
        1
    );
    assert_eq!(
        hookwire(
            &[
                "deliveries",
                "--db",
                db,
                "recover",
                "--endpoint",
                &endpoint,
                "--since",
                "soon"
            ],
            b""
        )
        .code,
        2
    );

    // Retention from the command line: nothing is an hour old yet; with a cutoff of now,
    // every ended message goes and the re-queued (pending) ones stay.
    let run = hookwire(
        &["deliveries", "--db", db, "purge", "--older-than", "1h"],
        b"",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.starts_with("deleted 0 messages"),
        "{}",
        run.stdout
    );
    let size_before = std::fs::metadata(db).unwrap().len();
    let run = hookwire(
        &["deliveries", "--db", db, "purge", "--older-than", "0s"],
        b"",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let deleted: u64 = run
        .stdout
        .strip_prefix("deleted ")
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(deleted > 0, "{}", run.stdout);
    let left = hookwire(&["deliveries", "--db", db, "list", "--limit", "500"], b"");
    // What stays: the re-queued (pending) deliveries, and a delivered sibling only where it
    // shares a message with one of them (a message with an open delivery is never purged).
    let rows: Vec<&str> = left
        .stdout
        .lines()
        .filter(|l| l.starts_with("dlv_"))
        .collect();
    let pending = rows.iter().filter(|l| l.contains(" pending ")).count();
    assert_eq!(
        pending, gone_n,
        "the re-queued deliveries stay: {}",
        left.stdout
    );
    assert!(
        rows.iter()
            .all(|l| l.contains(" pending ") || l.contains(" delivered ")),
        "no failed delivery is left: {}",
        left.stdout
    );
    assert!(
        rows.len() < 56,
        "ended messages were purged: {}",
        left.stdout
    );
    assert!(left.stdout.contains(failed_ids[0]));
    assert!(!left.stdout.contains(&delivered_id), "{}", left.stdout);
    // The file gave the freed pages back (incremental vacuum) once the WAL is checkpointed.
    let size_after = std::fs::metadata(db).unwrap().len();
    assert!(size_after <= size_before, "{size_before} -> {size_after}");
    assert_eq!(
        hookwire(
            &["deliveries", "--db", db, "purge", "--older-than", "ages"],
            b""
        )
        .code,
        2
    );
}

#[test]
fn demo_with_a_key_file_then_rotation_and_reencrypt() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let db = db.to_str().unwrap();
    let keys = dir.path().join("hookwire.keys");
    let k1 = hookwire(&["keygen", "encryption", "--id", "k1"], b"");
    assert_eq!(k1.code, 0, "{}", k1.stderr);
    std::fs::write(&keys, &k1.stdout).unwrap();
    let key_file = keys.to_str().unwrap();
    let run = hookwire(
        &["demo", "--db", db, "--events", "2", "--key-file", key_file],
        b"",
    );
    assert_eq!(run.code, 0, "demo failed:\n{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("key k1 of"), "{}", run.stdout);
    // The file holds no key and no signing secret in the clear: every value is sealed.
    let mut raw = std::fs::read(db).unwrap();
    raw.extend(std::fs::read(format!("{db}-wal")).unwrap_or_default());
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("v1.k1."));
    assert!(!text.contains("BEGIN PRIVATE KEY"));
    assert!(!text.contains(k1.stdout.trim()));
    // Without the key, a second demo on the store is refused and says why.
    let refused = hookwire(&["demo", "--db", db, "--events", "1"], b"");
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("encrypted under key k1"),
        "{}",
        refused.stderr
    );
    // Rotate: append k2, reencrypt, then k1 can go.
    let k2 = hookwire(&["keygen", "encryption", "--id", "k2"], b"");
    std::fs::write(&keys, format!("{}{}", k1.stdout, k2.stdout)).unwrap();
    let re = hookwire(
        &[
            "deliveries",
            "--db",
            db,
            "reencrypt",
            "--key-file",
            key_file,
            "--batch",
            "3",
        ],
        b"",
    );
    assert_eq!(re.code, 0, "{}", re.stderr);
    assert!(
        re.stdout.contains(" rewritten under the newest key"),
        "{}",
        re.stdout
    );
    std::fs::write(&keys, &k2.stdout).unwrap();
    let again = hookwire(
        &["demo", "--db", db, "--events", "1", "--key-file", key_file],
        b"",
    );
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    // A key file with a broken line is a usage error that does not echo the key.
    std::fs::write(&keys, "hwenc1_k3_tooshort\n").unwrap();
    let bad = hookwire(
        &[
            "deliveries",
            "--db",
            db,
            "reencrypt",
            "--key-file",
            key_file,
        ],
        b"",
    );
    assert_eq!(bad.code, 2);
    assert!(!bad.stderr.contains("tooshort"), "{}", bad.stderr);
}

#[test]
fn demo_with_the_default_events_count_loses_nothing() {
    // The default is 20 events per family: 6 tenants × 20 = 120 messages, every live
    // endpoint with one delivered and verified delivery per message sent to its tenant.
    let started = Instant::now();
    let run = hookwire(&["demo"], b"");
    let took = started.elapsed();
    assert_eq!(run.code, 0, "demo failed:\n{}\n{}", run.stdout, run.stderr);
    assert!(took < Duration::from_secs(30), "demo took {took:?}");
    assert!(run.stdout.contains("ok: 120 messages"), "{}", run.stdout);
    assert!(!run.stderr.contains("FAILED"), "{}", run.stderr);
    for endpoint in [
        "zerotier",
        "zerotier-flaky",
        "zta",
        "hub-message",
        "zitadel",
        "zentitle",
        "standard",
    ] {
        let cells = row(&run.stdout, endpoint);
        assert_eq!(
            (cells[2], cells[3], cells[5], cells[6]),
            ("20", "20", "0", "20"),
            "{endpoint}: {cells:?}"
        );
    }
    let gone = row(&run.stdout, "standard-gone");
    assert_eq!((gone[3], gone[5]), ("0", gone[2]), "{gone:?}");
}

/// A loopback HTTP server answering each request with the next status of `statuses` (the
/// last repeats); records the request heads and bodies.
struct Server {
    addr: String,
    requests: Arc<Mutex<Vec<Request>>>,
}

/// A received request: its head (request line and headers) and body.
type Request = (String, Vec<u8>);

fn server(statuses: Vec<u16>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&requests);
    let n = Arc::new(AtomicU32::new(0));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            seen.lock().unwrap().push((head, body));
            let i = n.fetch_add(1, Ordering::SeqCst) as usize;
            let status = statuses[i.min(statuses.len() - 1)];
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    Server { addr, requests }
}

#[test]
fn send_retries_until_delivered_and_prints_each_attempt() {
    // 500 then 204: the `standard` preset's first retry comes 5 s (± 20 %) later.
    let srv = server(vec![500, 204]);
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let url = format!("http://{}/hook", srv.addr);
    let started = Instant::now();
    let run = hookwire(
        &[
            "send",
            &url,
            "--scheme",
            "standard",
            "--secret",
            secret,
            "--event-type",
            "invoice.paid",
            "--retry",
            "standard",
            "--allow-loopback",
        ],
        br#"{"type":"invoice.paid","data":{}}"#,
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(started.elapsed() < Duration::from_secs(20));
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].starts_with("sending msg_"), "{lines:?}");
    assert!(lines[1].starts_with("attempt 1: HTTP 500"), "{lines:?}");
    assert!(lines[1].contains("retrying in"), "{lines:?}");
    assert!(lines[2].starts_with("attempt 2: HTTP 204"), "{lines:?}");
    assert!(lines[2].ends_with("delivered"), "{lines:?}");

    // What arrived verifies with the CLI, and both attempts carry the same message id.
    let requests = srv.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2);
    let header = |head: &str, name: &str| {
        head.lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
            })
            .unwrap()
    };
    assert_eq!(
        header(&requests[0].0, "webhook-id"),
        header(&requests[1].0, "webhook-id")
    );
    let (head, body) = &requests[1];
    let mut args = vec!["verify", "standard", "--secret", secret];
    let hs: Vec<String> = ["webhook-id", "webhook-timestamp", "webhook-signature"]
        .iter()
        .map(|n| format!("{n}: {}", header(head, n)))
        .collect();
    for h in &hs {
        args.extend(["--header", h.as_str()]);
    }
    let run = hookwire(&args, body);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn send_exits_1_when_not_delivered() {
    let srv = server(vec![400]);
    let url = format!("http://{}/hook", srv.addr);
    let run = hookwire(
        &[
            "send",
            &url,
            "--scheme",
            "zitadel",
            "--secret",
            "k",
            "--retry",
            "none",
            "--allow-loopback",
        ],
        b"{}",
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("attempt 1: HTTP 400"), "{}", run.stdout);
    assert!(
        run.stderr.contains("not delivered after 1 attempt"),
        "{}",
        run.stderr
    );
}

#[test]
fn send_refuses_loopback_without_the_flag() {
    let srv = server(vec![204]);
    for url in [
        format!("http://{}/hook", srv.addr),
        format!("https://{}/hook", srv.addr),
    ] {
        let run = hookwire(
            &["send", &url, "--scheme", "github", "--secret", "s"],
            b"{}",
        );
        assert_eq!(run.code, 1, "{url}: {}", run.stdout);
        assert!(run.stderr.contains("endpoint refused"), "{}", run.stderr);
    }
    // `localhost` names resolve to loopback: refused too.
    let port = srv.addr.rsplit(':').next().unwrap();
    let run = hookwire(
        &[
            "send",
            &format!("https://localhost:{port}/"),
            "--scheme",
            "github",
            "--secret",
            "s",
            "--retry",
            "none",
        ],
        b"{}",
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        srv.requests.lock().unwrap().is_empty(),
        "a request reached loopback"
    );
    // Bad usage.
    assert_eq!(
        hookwire(
            &[
                "send",
                "https://example.invalid/",
                "--scheme",
                "github",
                "--secret",
                "s",
                "--retry",
                "forever"
            ],
            b""
        )
        .code,
        2
    );
    assert_eq!(
        hookwire(
            &["send", "https://example.invalid/", "--scheme", "github"],
            b""
        )
        .code,
        2
    );
}

#[test]
fn send_to_hookwire_listen_verifies_end_to_end() {
    let mut listener = listen(&[
        "zerotier",
        "--secret",
        "778c6dab5feca625c7831644d18c4d0e4b3a337bff8a1e1c8f938f9cc20e6536",
    ]);
    let addr = listener.addr.clone();
    let body = br#"{"hook_id":"h","org_id":"o","hook_type":"NETWORK_JOIN","network_id":"19d9808567a17ccf","member_id":"a02505e545"}"#;
    let run = hookwire(
        &[
            "send",
            &format!("http://{addr}/"),
            "--scheme",
            "zerotier",
            "--secret",
            "778c6dab5feca625c7831644d18c4d0e4b3a337bff8a1e1c8f938f9cc20e6536",
            "--allow-loopback",
        ],
        body,
    );
    let line: serde_json::Value =
        serde_json::from_str(&listener.lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("(NETWORK_JOIN, "),
        "event type read from the body: {}",
        run.stdout
    );
    assert_eq!(line["verified"], true, "{line}");
    assert_eq!(line["event_type"], "NETWORK_JOIN");
}

/// A raw HTTP/1.1 GET on loopback: status and body.
fn http_get(addr: &str, path: &str, bearer: Option<&str>) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let auth = bearer.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, response)
}

#[test]
fn demo_serve_keeps_the_demo_running_behind_the_portal_until_interrupted() {
    let mut child = std::process::Command::new(support::BIN)
        .args(["demo", "--events", "2", "--serve", "--addr", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut portal, mut gone_token, mut seen) = (None, None, Vec::new());
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("portal: http://") {
            portal = rest.split('/').next().map(str::to_owned);
        }
        if line.trim_start().starts_with("standard-gone ") {
            gone_token = line.split_whitespace().nth(1).map(str::to_owned);
        }
        let done = line == "serving until Ctrl-C";
        seen.push(line);
        if done {
            break;
        }
    }
    let addr = portal.unwrap_or_else(|| panic!("no portal URL in\n{}", seen.join("\n")));
    let token = gone_token.unwrap_or_else(|| panic!("no token in\n{}", seen.join("\n")));
    assert!(
        seen.iter().any(|l| l.starts_with("ok: ")),
        "{}",
        seen.join("\n")
    );

    let (status, page) = http_get(&addr, "/portal/login", None);
    assert_eq!(status, 200);
    assert!(page.contains("Sign in"));
    // The host-auth path: the portal accepts the bearer token itself, and shows the
    // endpoint the demo's 410 receiver got disabled, with its failed deliveries.
    let (status, page) = http_get(&addr, "/portal", Some(&token));
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("Disabled") && page.contains("Failed"),
        "{page}"
    );
    let (status, _) = http_get(&addr, "/v1/endpoints", Some(&token));
    assert_eq!(status, 200);

    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "Ctrl-C ends the demo cleanly");
}
