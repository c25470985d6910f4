//! End-to-end tests of the `hookwire` binary: `sign` and `verify` agree with each other and
//! with the library for every scheme, the spec vectors verify, `verify`'s exit codes, `keygen`
//! formats, and `listen` on a loopback port.

// Test helpers: a failed unwrap is a failed test with a clear message.
#![allow(clippy::unwrap_used, clippy::panic)]

mod support;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hookwire_signature::{Scheme, Secret, Signer, Verifier};
use support::{hookwire, listen};

fn ok(args: &[&str]) -> String {
    let run = hookwire(args, b"");
    assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
    run.stdout
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap()
}

/// `Name: value` lines → pairs.
fn header_pairs(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(|l| {
            let (n, v) = l.split_once(": ").unwrap();
            (n.to_owned(), v.to_owned())
        })
        .collect()
}

/// `verify` arguments: scheme, keys, one `--header` per header, body file, extra flags.
fn verify_args<'a>(
    scheme: &'a str,
    key_flags: &[&'a str],
    headers: &'a [String],
    body: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec!["verify", scheme];
    args.extend_from_slice(key_flags);
    for h in headers {
        args.extend(["--header", h.as_str()]);
    }
    args.extend(["--body", body]);
    args.extend_from_slice(extra);
    args
}

/// Signing and verifying material for one scheme, made with `hookwire keygen`.
struct Keys {
    sign_flags: Vec<String>,
    verify_flags: Vec<String>,
    signing: Secret,
    verifying: Secret,
}

fn keys_for(scheme: &str, ed25519: bool, dir: &Path) -> Keys {
    if scheme == "zentitle" {
        let private = ok(&["keygen", "zentitle"]);
        let priv_path = dir.join("zentitle.pem");
        std::fs::write(&priv_path, &private).unwrap();
        let priv_path = priv_path.to_str().unwrap().to_owned();
        let public = ok(&["keygen", "zentitle", "--public", "--key", &priv_path]);
        assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"), "{public}");
        let pub_path = dir.join("zentitle.pub.pem");
        std::fs::write(&pub_path, &public).unwrap();
        return Keys {
            sign_flags: vec!["--key".into(), priv_path],
            verify_flags: vec!["--public-key".into(), pub_path.to_str().unwrap().into()],
            signing: Secret::new(private),
            verifying: Secret::new(public),
        };
    }
    if ed25519 {
        let pair = ok(&["keygen", "standard", "--ed25519", "--public"]);
        let mut lines = pair.lines();
        let (sk, pk) = (lines.next().unwrap(), lines.next().unwrap());
        assert!(sk.starts_with("whsk_") && pk.starts_with("whpk_"), "{pair}");
        return Keys {
            sign_flags: vec!["--secret".into(), sk.into()],
            verify_flags: vec!["--secret".into(), pk.into()],
            signing: Secret::new(sk),
            verifying: Secret::new(pk),
        };
    }
    let secret = ok(&["keygen", scheme]).trim().to_owned();
    Keys {
        sign_flags: vec!["--secret".into(), secret.clone()],
        verify_flags: vec!["--secret".into(), secret.clone()],
        signing: Secret::new(secret.clone()),
        verifying: Secret::new(secret),
    }
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// CLI sign → CLI verify, CLI sign → library verify, library sign → CLI verify, and a changed
/// body fails, for one scheme (optionally with a renamed header).
fn round_trip(scheme_name: &str, ed25519: bool, header_name: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    // Raw bytes, not UTF-8: signatures cover bytes.
    let mut body = br#"{"hook_type":"NETWORK_JOIN","note":"caf\u00e9"}"#.to_vec();
    body.push(0xff);
    let body_path = dir.path().join("body");
    std::fs::write(&body_path, &body).unwrap();
    let body_file = body_path.to_str().unwrap();
    let keys = keys_for(scheme_name, ed25519, dir.path());
    let mut rename: Vec<&str> = Vec::new();
    if let Some(h) = header_name {
        rename.extend(["--header-name", h]);
    }
    let ts = now().to_string();

    // CLI sign.
    let mut args = vec!["sign", scheme_name];
    args.extend(strs(&keys.sign_flags));
    args.extend([
        "--timestamp",
        &ts,
        "--id",
        "msg_cli_test",
        "--body",
        body_file,
    ]);
    args.extend(&rename);
    let headers: Vec<String> = ok(&args).lines().map(str::to_owned).collect();
    assert!(!headers.is_empty());
    if let Some(h) = header_name {
        assert!(headers[0].starts_with(&format!("{h}: ")), "{headers:?}");
    }

    // CLI verify.
    let mut extra = rename.clone();
    extra.extend(["--now", &ts]);
    let run = hookwire(
        &verify_args(
            scheme_name,
            &strs(&keys.verify_flags),
            &headers,
            body_file,
            &extra,
        ),
        b"",
    );
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "verified\n"),
        "{scheme_name}: {}",
        run.stderr
    );

    // Library verify of the CLI's headers.
    let scheme = library_scheme(scheme_name, header_name);
    let pairs = header_pairs(&headers.join("\n"));
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let verifier = Verifier::new(&scheme, std::slice::from_ref(&keys.verifying)).unwrap();
    verifier
        .verify_pairs_at(&body, &pairs, ts.parse().unwrap())
        .unwrap_or_else(|e| panic!("{scheme_name}: library refused the CLI's headers: {e}"));

    // Library sign → CLI verify.
    let signed = Signer::new(&scheme, std::slice::from_ref(&keys.signing))
        .unwrap()
        .sign("msg_lib", ts.parse().unwrap(), &body)
        .unwrap();
    let lib_headers: Vec<String> = signed
        .iter()
        .map(|(n, v)| format!("{}: {}", n, v.to_str().unwrap()))
        .collect();
    let run = hookwire(
        &verify_args(
            scheme_name,
            &strs(&keys.verify_flags),
            &lib_headers,
            body_file,
            &extra,
        ),
        b"",
    );
    assert_eq!(
        run.code, 0,
        "{scheme_name}: CLI refused the library's headers: {}",
        run.stderr
    );

    // The same headers over a changed body fail with exit 1.
    let other_path = dir.path().join("other");
    std::fs::write(&other_path, b"{\"hook_type\":\"NETWORK_LEAVE\"}").unwrap();
    let run = hookwire(
        &verify_args(
            scheme_name,
            &strs(&keys.verify_flags),
            &headers,
            other_path.to_str().unwrap(),
            &extra,
        ),
        b"",
    );
    assert_eq!(run.code, 1, "{scheme_name}: changed body verified");
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("signature mismatch"), "{}", run.stderr);
}

fn library_scheme(name: &str, header_name: Option<&str>) -> Scheme {
    match (name, header_name) {
        ("hub-message", Some(h)) => Scheme::HubMessage {
            header: h.to_owned(),
            key: hookwire_signature::HubKeyEncoding::Ascii,
        },
        (_, None) => Scheme::from_name(name).unwrap(),
        (other, Some(_)) => panic!("no library rename in this test for {other}"),
    }
}

#[test]
fn sign_and_verify_agree_for_every_scheme() {
    for scheme in [
        "zerotier",
        "zta",
        "hub-message",
        "zitadel",
        "zentitle",
        "standard",
        "stripe",
        "github",
    ] {
        round_trip(scheme, false, None);
    }
}

#[test]
fn standard_ed25519_keys_sign_v1a() {
    round_trip("standard", true, None);
}

#[test]
fn hub_message_takes_its_header_name() {
    round_trip("hub-message", false, Some("X-Hub-Signature-Custom"));
}

#[test]
fn header_rename_is_refused_for_fixed_headers() {
    let run = hookwire(
        &[
            "sign",
            "standard",
            "--secret",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "--header-name",
            "x-sig",
        ],
        b"{}",
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("fixed"), "{}", run.stderr);
}

#[test]
fn zerotier_spec_vector_verifies() {
    let body = br#"{"hook_id":"ae76d4c0-c94e-4025-a648-2c504eb90e3c","org_id":"1bb4dc96-f311-4c4a-ac93-551cbc0fa3da","hook_type":"NETWORK_JOIN","network_id":"19d9808567a17ccf","member_id":"a02505e545"}"#;
    let psk = "778c6dab5feca625c7831644d18c4d0e4b3a337bff8a1e1c8f938f9cc20e6536";
    let sig = "t=1694033429,v1=04d87956d1953f28ac04d441f139fc655109e9b5c64396fb55dbdf567c735f86";
    let header = format!("X-ZTC-Signature: {sig}");
    let base = ["verify", "zerotier", "--secret", psk, "--header", &header];
    let mut args = base.to_vec();
    args.extend(["--now", "1694033500"]);
    let run = hookwire(&args, body);
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "verified\n"),
        "{}",
        run.stderr
    );
    // Signing gives the same header.
    assert_eq!(
        hookwire(
            &[
                "sign",
                "zerotier",
                "--secret",
                psk,
                "--timestamp",
                "1694033429"
            ],
            body
        )
        .stdout,
        format!("{header}\n")
    );
    // The TS negative case: the first `9` replaced by `0`.
    let tampered = header.replacen('9', "0", 1);
    let run = hookwire(
        &[
            "verify",
            "zerotier",
            "--secret",
            psk,
            "--header",
            &tampered,
            "--now",
            "1694033500",
        ],
        body,
    );
    assert_eq!(run.code, 1);
}

#[test]
fn zitadel_spec_vector_signs_exactly() {
    let out = hookwire(
        &[
            "sign",
            "zitadel",
            "--secret",
            "testSigningKey",
            "--timestamp",
            "1700000000",
            "--body",
            "-",
        ],
        b"test",
    );
    assert_eq!(
        out.stdout,
        "ZITADEL-Signature: t=1700000000,v1=4d2cdd3630cfdb0f43c5842d65b7e89b3c3c3617a9380884ce676f3b63ca517e\n"
    );
}

#[test]
fn standard_webhooks_spec_vectors_sign_exactly() {
    let out = ok(&[
        "sign",
        "standard",
        "--secret",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "--id",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "--timestamp",
        "1614265330",
        "--body",
        "/dev/null",
    ]);
    // /dev/null is empty: sign the real payload through stdin instead.
    assert!(out.contains("webhook-id: msg_p5jXN8AQM9LWM0D4loKWxJek"));
    let run = hookwire(
        &[
            "sign",
            "standard",
            "--secret",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "--id",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "--timestamp",
            "1614265330",
        ],
        br#"{"test": 2432232314}"#,
    );
    assert_eq!(
        run.stdout,
        "webhook-id: msg_p5jXN8AQM9LWM0D4loKWxJek\nwebhook-timestamp: 1614265330\n\
         webhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=\n"
    );
    // C3: the Ed25519 vector.
    let run = hookwire(
        &[
            "sign",
            "standard",
            "--secret",
            "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg==",
            "--id",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "--timestamp",
            "1614265330",
        ],
        br#"{"test": 2432232314}"#,
    );
    assert!(
        run.stdout.contains(
            "webhook-signature: v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg=="
        ),
        "{}",
        run.stdout
    );
    // C2 with decoys, verified by the CLI at the vector's time.
    let run = hookwire(
        &[
            "verify",
            "standard",
            "--secret",
            "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
            "--header",
            "webhook-id: msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            "--header",
            "webhook-timestamp: 1649367553",
            "--header",
            "webhook-signature: v1,tFtCZ5RDCPxzWQRWXWPgrCgE2frDBe9gjpbWQxnVfsQ= v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
            "--now",
            "1649367553",
        ],
        br#"{"email":"test@example.com","username":"test_user"}"#,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn zentitle_vector_verifies_with_the_modulus_and_the_pem() {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/specs/vectors");
    let vector: serde_json::Value =
        serde_json::from_slice(&std::fs::read(spec.join("zentitle_vector.json")).unwrap()).unwrap();
    let body = vector["body"].as_str().unwrap().as_bytes();
    let header = format!(
        "N-Signature: {}",
        vector["n_signature_b64"].as_str().unwrap()
    );
    let modulus = vector["modulus_b64url"].as_str().unwrap();
    let run = hookwire(
        &[
            "verify",
            "zentitle",
            "--modulus",
            modulus,
            "--header",
            &header,
        ],
        body,
    );
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "verified\n"),
        "{}",
        run.stderr
    );
    let pem = spec.join("zentitle_test_public_key.pem");
    let run = hookwire(
        &[
            "verify",
            "zentitle",
            "--public-key",
            pem.to_str().unwrap(),
            "--header",
            &header,
        ],
        body,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Signing with the test private key reproduces the vector (PKCS#1 v1.5 is deterministic).
    let key = spec.join("zentitle_test_private_key.pem");
    let run = hookwire(&["sign", "zentitle", "--key", key.to_str().unwrap()], body);
    assert_eq!(run.stdout, format!("{header}\n"), "{}", run.stderr);
    let run = hookwire(
        &[
            "verify",
            "zentitle",
            "--modulus",
            modulus,
            "--header",
            &header,
        ],
        b"{}",
    );
    assert_eq!(run.code, 1);
}

#[test]
fn verify_exit_codes() {
    let secret = "testSigningKey";
    let signed = ok(&[
        "sign",
        "zitadel",
        "--secret",
        secret,
        "--timestamp",
        "1700000000",
        "--body",
        "/dev/null",
    ]);
    let header = signed.trim();
    let verify = |extra: &[&str]| {
        let mut args = vec!["verify", "zitadel", "--secret", secret, "--header", header];
        args.extend_from_slice(extra);
        hookwire(&args, b"")
    };
    // 0: holds.
    let run = verify(&["--now", "1700000100"]);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "verified\n", "")
    );
    // 1: stale, future, with the reason on stderr and nothing on stdout.
    let run = verify(&["--now", "1700000301"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.is_empty());
    assert_eq!(run.stderr, "hookwire: not verified: timestamp too old\n");
    let run = verify(&["--now", "1699999000"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (1, "hookwire: not verified: timestamp too new\n")
    );
    // --tolerance widens the window.
    assert_eq!(
        verify(&["--now", "1700000301", "--tolerance", "1000"]).code,
        0
    );
    // 1: wrong secret, missing header.
    let run = hookwire(
        &[
            "verify",
            "zitadel",
            "--secret",
            "other",
            "--header",
            header,
            "--now",
            "1700000000",
        ],
        b"",
    );
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (1, "hookwire: not verified: signature mismatch\n")
    );
    let run = hookwire(
        &[
            "verify",
            "zitadel",
            "--secret",
            secret,
            "--header",
            "X-Other: 1",
        ],
        b"",
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("missing header `zitadel-signature`"),
        "{}",
        run.stderr
    );
    // 2: bad usage of every kind, one line on stderr.
    for args in [
        vec!["verify", "nope", "--secret", "s"],
        vec!["verify", "zitadel", "--header", header],
        vec!["verify", "zitadel", "--secret", "s", "--header", "no colon"],
        vec![
            "verify",
            "zitadel",
            "--secret",
            "s",
            "--body",
            "/nonexistent/body",
        ],
        vec![
            "verify",
            "zentitle",
            "--modulus",
            "!!",
            "--header",
            "N-Signature: AA==",
        ],
        vec!["verify", "zentitle", "--public-key", "/nonexistent/key.pem"],
        vec!["verify", "zitadel", "--secret", "s", "--now", "soon"],
        vec!["verify", "zitadel", "--secret", "s", "--unknown-flag"],
        vec!["verify"],
    ] {
        let run = hookwire(&args, b"");
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}");
        assert!(!run.stderr.contains("panicked"), "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.starts_with("hookwire: "),
            "{args:?}: {}",
            run.stderr
        );
    }
    // Help is not an error.
    assert_eq!(hookwire(&["verify", "--help"], b"").code, 0);
    assert_eq!(hookwire(&[], b"").code, 2);
}

#[test]
fn keygen_formats() {
    let hex64 = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
    assert!(hex64(ok(&["keygen", "zerotier"]).trim()));
    assert!(hex64(ok(&["keygen", "hub-message"]).trim()));
    let zta = ok(&["keygen", "zta"]);
    assert!(zta.starts_with("whsec_") && zta.trim().len() == 38, "{zta}");
    assert!(ok(&["keygen", "standard"]).starts_with("whsec_"));
    assert!(ok(&["keygen", "stripe"]).starts_with("whsec_"));
    assert_ne!(ok(&["keygen", "zitadel"]), ok(&["keygen", "zitadel"]));
    let enc = ok(&["keygen", "encryption"]);
    let enc = enc.trim();
    let key = hookwire_dispatch::EncryptionKey::parse(enc).unwrap();
    assert_eq!(enc.len(), "hwenc1_".len() + 8 + 1 + 43, "{}", key.id());
    assert_eq!(key.to_text().expose_secret(), enc);
    assert!(ok(&["keygen", "encryption", "--id", "2026-q1"]).starts_with("hwenc1_2026-q1_"));
    assert_ne!(ok(&["keygen", "encryption"]), ok(&["keygen", "encryption"]));
    assert_eq!(
        hookwire(&["keygen", "encryption", "--id", "a_b"], b"").code,
        2
    );
    assert_eq!(hookwire(&["keygen", "encryption", "--public"], b"").code, 2);
    assert_eq!(hookwire(&["keygen", "zerotier", "--id", "x"], b"").code, 2);
    let pair = ok(&["keygen", "zentitle", "--public"]);
    assert!(pair.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(pair.contains("-----BEGIN PUBLIC KEY-----"));
    // --public on a symmetric scheme and --ed25519 elsewhere are usage errors.
    assert_eq!(hookwire(&["keygen", "github", "--public"], b"").code, 2);
    assert_eq!(hookwire(&["keygen", "zerotier", "--ed25519"], b"").code, 2);
    assert_eq!(
        hookwire(&["keygen", "zentitle", "--key", "x.pem"], b"").code,
        2
    );
}

#[test]
fn sign_reads_stdin_and_prints_one_header_per_secret() {
    let run = hookwire(
        &["sign", "github", "--secret", "a", "--secret", "b"],
        b"payload",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("X-Hub-Signature-256: sha256="))
    );
    let run = hookwire(
        &["sign", "github", "--secret", "a", "--body", "-"],
        b"payload",
    );
    assert_eq!(run.stdout.lines().next(), Some(lines[0]));
    // A fresh message id each time for Standard Webhooks.
    let a = ok(&[
        "sign",
        "standard",
        "--secret",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "--body",
        "/dev/null",
    ]);
    let b = ok(&[
        "sign",
        "standard",
        "--secret",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "--body",
        "/dev/null",
    ]);
    assert_ne!(a.lines().next(), b.lines().next());
    assert!(a.starts_with("webhook-id: msg_"));
    // No secret, a bad key, a negative timestamp: usage errors.
    assert_eq!(hookwire(&["sign", "github"], b"").code, 2);
    assert_eq!(
        hookwire(&["sign", "zentitle", "--secret", "not a pem"], b"").code,
        2
    );
    assert_eq!(
        hookwire(
            &["sign", "zitadel", "--secret", "k", "--timestamp", "-5"],
            b""
        )
        .code,
        2
    );
}

/// Posts `body` with `headers` over a plain loopback connection; returns the status code.
fn post(addr: &str, headers: &[(&str, &str)], body: &[u8]) -> u16 {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut req = format!(
        "POST /hooks?x=1 HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn listen_verifies_and_prints_one_json_line_per_request() {
    let mut listener = listen(&["zitadel", "--secret", "testSigningKey"]);
    let body = br#"{"aggregateID":"336494809936035843","aggregateType":"user","resourceOwner":"336392597046099971","instanceID":"336392597046034435","version":"v2","sequence":1,"event_type":"user.human.added","created_at":"2025-09-05T08:55:36.156333Z","userID":"336392597046755331","event_payload":{"email":"mini@mouse.com","userName":"mini@mouse.com"}}"#;
    let signed = hookwire(&["sign", "zitadel", "--secret", "testSigningKey"], body).stdout;
    let (name, value) = signed.trim().split_once(": ").unwrap();

    assert_eq!(post(&listener.addr, &[(name, value)], body), 204);
    let line: serde_json::Value =
        serde_json::from_str(&listener.lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(line["verified"], true);
    assert_eq!(line["method"], "POST");
    assert_eq!(line["path"], "/hooks?x=1");
    assert_eq!(line["event_type"], "user.human.added");
    assert_eq!(line["body"]["userID"], "336392597046755331");
    assert!(line["time"].as_str().unwrap().ends_with('Z'));
    assert!(line.get("error").is_none());

    // Wrong signature: 401 and the reason.
    let bad = value.replacen("v1=", "v1=00", 1);
    assert_eq!(post(&listener.addr, &[(name, &bad)], body), 401);
    let line: serde_json::Value =
        serde_json::from_str(&listener.lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(line["verified"], false);
    assert_eq!(line["error"], "signature mismatch");

    // No header, a body that is not JSON: still one line.
    assert_eq!(post(&listener.addr, &[], b"plain text"), 401);
    let line: serde_json::Value =
        serde_json::from_str(&listener.lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(line["error"], "missing header `zitadel-signature`");
    assert_eq!(line["body"], "plain text");
    assert_eq!(line["event_type"], serde_json::Value::Null);
}

#[test]
fn listen_refuses_bad_usage_before_binding() {
    let run = hookwire(&["listen", "zerotier", "--addr", "127.0.0.1:0"], b"");
    assert_eq!(run.code, 2);
    let run = hookwire(
        &["listen", "zerotier", "--secret", "s", "--addr", "nowhere"],
        b"",
    );
    assert_eq!(run.code, 2);
}

/// `verify SCHEME KEY_FLAGS… --header HEADER` with `body` on stdin: exit code and stdout.
fn verify_stdin(scheme: &str, key_flags: &[&str], header: &str, body: &[u8]) -> (i32, String) {
    let mut args = vec!["verify", scheme];
    args.extend_from_slice(key_flags);
    args.extend(["--header", header]);
    let run = hookwire(&args, body);
    (run.code, run.stdout)
}

/// Random secrets start with `-` one time in 47, a base64url modulus one time in 64: every
/// secret, key and modulus flag takes the value after it, whatever its first character.
#[test]
fn secrets_and_moduli_starting_with_a_hyphen_are_values() {
    let secret = "-4abcdef0123456789";
    let body = br#"{"action":"opened","number":1}"#;
    let run = hookwire(&["sign", "github", "--secret", secret], body);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let header = run.stdout.trim().to_owned();
    assert!(
        header.starts_with("X-Hub-Signature-256: sha256="),
        "{header}"
    );
    assert_eq!(
        verify_stdin("github", &["--secret", secret], &header, body),
        (0, "verified\n".to_owned())
    );
    assert_eq!(
        verify_stdin("github", &["--secret", "-4other"], &header, body).0,
        1
    );

    // listen and send take it too: send delivers to listen, which verifies.
    let mut listener = listen(&["github", "--secret", secret]);
    let url = format!("http://{}/hooks", listener.addr);
    let run = hookwire(
        &[
            "send",
            &url,
            "--scheme",
            "github",
            "--secret",
            secret,
            "--allow-loopback",
        ],
        body,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let line: serde_json::Value =
        serde_json::from_str(&listener.lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(line["verified"], true, "{line}");
    assert_eq!(line["body"]["action"], "opened");

    // A Zentitle modulus starting with `-` (test key in tests/data/specs/vectors).
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/specs/vectors");
    let modulus = std::fs::read_to_string(spec.join("zentitle_dash_modulus.txt")).unwrap();
    let modulus = modulus.trim();
    assert!(modulus.starts_with("-4"), "{modulus}");
    let key = spec.join("zentitle_dash_modulus_private_key.pem");
    let body = br#"{"eventId":"e1","eventCode":"customer.created"}"#;
    let run = hookwire(&["sign", "zentitle", "--key", key.to_str().unwrap()], body);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let header = run.stdout.trim().to_owned();
    assert_eq!(
        verify_stdin("zentitle", &["--modulus", modulus], &header, body),
        (0, "verified\n".to_owned())
    );
    assert_eq!(
        verify_stdin("zentitle", &["--modulus", modulus], &header, b"{}").0,
        1
    );
}
