//! `hookwire serve`: run the binary, read the printed URL and token, call the API over
//! loopback, send SIGTERM, check a clean exit; `--tokens FILE`; the default `hookwire.db`.

#![allow(clippy::unwrap_used, clippy::panic)]

mod support;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::BIN;

/// Status and body of one HTTP/1.1 request (`Connection: close`).
fn http(base: &str, method: &str, path: &str, token: &str, body: Option<&str>) -> (u16, String) {
    let host = base.strip_prefix("http://").unwrap();
    let mut stream = TcpStream::connect(host).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let body = body.unwrap_or("");
    let ct = if body.is_empty() {
        ""
    } else {
        "Content-Type: application/json\r\n"
    };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n{ct}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let status = raw.split(' ').nth(1).unwrap().parse().unwrap();
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

struct Served {
    child: Child,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
    printed: Vec<String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    fn value(&self, key: &str) -> String {
        self.printed
            .iter()
            .find_map(|l| l.strip_prefix(&format!("{key}: ")))
            .unwrap_or_else(|| panic!("no `{key}:` line in {:?}", self.printed))
            .to_owned()
    }

    /// SIGTERM, then the exit status and the rest of stdout.
    fn terminate(mut self) -> (i32, Vec<String>) {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        let rest: Vec<String> = self.lines.by_ref().map(Result::unwrap).collect();
        let status = self.child.wait().unwrap();
        (status.code().unwrap_or(-1), rest)
    }
}

fn serve(dir: &std::path::Path, args: &[&str], until: &str) -> Served {
    let mut child = Command::new(BIN)
        .arg("serve")
        .args(["--addr", "127.0.0.1:0"])
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.starts_with(until);
        printed.push(line);
        if done {
            break;
        }
    }
    Served {
        child,
        lines,
        printed,
    }
}

#[test]
fn serve_prints_url_and_token_answers_the_api_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let s = serve(dir.path(), &[], "token: ");
    assert_eq!(s.value("tenant"), "default");
    let token = s.value("token");
    assert!(token.starts_with("hwk_") && token.len() == 68, "{token}");
    let api = s.value("api");
    let base = api.strip_suffix("/v1").unwrap().to_owned();
    assert_eq!(s.value("listening"), base);

    let (status, body) = http(&base, "GET", "/v1/endpoints", &token, None);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"data\":[]"), "{body}");
    let (status, body) = http(
        &base,
        "POST",
        "/v1/endpoints",
        &token,
        Some(r#"{"family":"standard","url":"https://hooks.example.com/in"}"#),
    );
    assert_eq!(status, 201, "{body}");
    let (status, _) = http(&base, "GET", "/v1/endpoints", "hwk_wrong", None);
    assert_eq!(status, 401);
    // Without --allow-loopback the SSRF guard refuses a loopback receiver.
    let (status, body) = http(
        &base,
        "POST",
        "/v1/endpoints",
        &token,
        Some(r#"{"family":"standard","url":"http://127.0.0.1:9/in"}"#),
    );
    assert_eq!(status, 422, "{body}");
    let (status, body) = http(
        &base,
        "POST",
        "/v1/messages",
        &token,
        Some(r#"{"event_type":"invoice.paid","payload":{"n":1}}"#),
    );
    assert_eq!(status, 202, "{body}");

    let (code, rest) = s.terminate();
    assert_eq!(code, 0, "{rest:?}");
    assert!(rest.iter().any(|l| l.starts_with("stopped: ")), "{rest:?}");
    // The default store is hookwire.db in the current directory, and it kept the endpoint.
    assert!(dir.path().join("hookwire.db").is_file());
    let again = serve(dir.path(), &[], "token: ");
    let token = again.value("token");
    let base = again.value("listening");
    let (status, body) = http(&base, "GET", "/v1/endpoints", &token, None);
    assert_eq!(status, 200);
    assert!(body.contains("https://hooks.example.com/in"), "{body}");
    let (code, _) = again.terminate();
    assert_eq!(code, 0);
}

#[test]
fn serve_with_a_tokens_file_maps_each_token_to_its_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, "# ops\ntok-acme acme\n\ntok-globex globex\n").unwrap();
    let db = dir.path().join("other.db");
    let s = serve(
        dir.path(),
        &[
            "--tokens",
            tokens.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--allow-loopback",
        ],
        "api: ",
    );
    assert!(!s.printed.iter().any(|l| l.starts_with("token: ")));
    let base = s.value("listening");
    let (status, body) = http(
        &base,
        "POST",
        "/v1/endpoints",
        "tok-acme",
        Some(r#"{"family":"standard","url":"http://127.0.0.1:9/in"}"#),
    );
    assert_eq!(status, 201, "{body}");
    let (_, acme) = http(&base, "GET", "/v1/endpoints", "tok-acme", None);
    let (_, globex) = http(&base, "GET", "/v1/endpoints", "tok-globex", None);
    assert!(acme.contains("127.0.0.1:9"), "{acme}");
    assert!(globex.contains("\"data\":[]"), "{globex}");
    let (code, _) = s.terminate();
    assert_eq!(code, 0);
    assert!(db.is_file());
    assert!(!dir.path().join("hookwire.db").exists());

    // A malformed tokens file is bad usage (exit 2).
    std::fs::write(&tokens, "only-a-token\n").unwrap();
    let out = Command::new(BIN)
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--tokens",
            tokens.to_str().unwrap(),
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1"));
}

#[test]
fn serve_mounts_the_vendor_flavours_and_the_portal_behind_the_same_tenants() {
    let dir = tempfile::tempdir().unwrap();
    let s = serve(dir.path(), &[], "token: ");
    let token = s.value("token");
    let base = s.value("listening");
    let (status, body) = http(
        &base,
        "GET",
        "/zta/api/webhooks?siteId=site_1",
        &token,
        None,
    );
    assert_eq!((status, body.as_str()), (200, r#"{"webhooks":[]}"#));
    let (status, body) = http(
        &base,
        "GET",
        "/hub-message/webhooks?channelId=C1",
        &token,
        None,
    );
    assert_eq!((status, body.as_str()), (200, "[]"));
    let (status, body) = http(&base, "GET", "/zitadel/v2/actions/targets", &token, None);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""totalResult":"0""#), "{body}");
    let (status, body) = http(&base, "GET", "/portal", &token, None);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<h1>Endpoints</h1>"), "{body}");
    for path in [
        "/zta/api/webhooks?siteId=site_1",
        "/zitadel/v2/actions/targets",
    ] {
        let (status, _) = http(&base, "GET", path, "hwk_wrong", None);
        assert_eq!(status, 401, "{path}");
    }
    let (code, _) = s.terminate();
    assert_eq!(code, 0);
}
