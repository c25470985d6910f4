//! Table-driven classification: status codes and transport errors, under the default
//! config and the two preset configs.

use hookwire_retry::{Class, ClassifyConfig, Outcome, RetryAfter, classify};

use Class::{Gone, Permanent, Retryable, Success};

fn st(code: u16) -> Outcome {
    Outcome::from_status(code, None)
}

#[test]
fn classification_table() {
    let default = ClassifyConfig::default();
    let all = ClassifyConfig::retry_all_failures();
    let zta = ClassifyConfig::server_errors_and_timeouts();
    // (outcome, default, retry_all_failures, server_errors_and_timeouts)
    let table: Vec<(Outcome, Class, Class, Class)> = vec![
        (st(200), Success, Success, Success),
        (st(201), Success, Success, Success),
        (st(204), Success, Success, Success),
        (st(299), Success, Success, Success),
        (st(100), Retryable, Retryable, Permanent),
        (st(301), Retryable, Retryable, Permanent),
        (st(302), Retryable, Retryable, Permanent),
        (st(307), Retryable, Retryable, Permanent),
        (st(308), Retryable, Retryable, Permanent),
        (st(400), Permanent, Retryable, Permanent),
        (st(401), Permanent, Retryable, Permanent),
        (st(403), Permanent, Retryable, Permanent),
        (st(404), Permanent, Retryable, Permanent),
        (st(408), Retryable, Retryable, Permanent),
        (st(409), Permanent, Retryable, Permanent),
        (st(410), Gone, Gone, Gone),
        (st(413), Permanent, Retryable, Permanent),
        (st(422), Permanent, Retryable, Permanent),
        (st(425), Retryable, Retryable, Permanent),
        (st(429), Retryable, Retryable, Permanent),
        (st(499), Permanent, Retryable, Permanent),
        (st(500), Retryable, Retryable, Retryable),
        (st(502), Retryable, Retryable, Retryable),
        (st(503), Retryable, Retryable, Retryable),
        (st(504), Retryable, Retryable, Retryable),
        (st(599), Retryable, Retryable, Retryable),
        (st(600), Retryable, Retryable, Permanent),
        (st(0), Retryable, Retryable, Permanent),
        (Outcome::Timeout, Retryable, Retryable, Retryable),
        (Outcome::ConnectionRefused, Retryable, Retryable, Permanent),
        (Outcome::ConnectionReset, Retryable, Retryable, Permanent),
        (Outcome::Dns, Retryable, Retryable, Permanent),
        (Outcome::Tls, Retryable, Retryable, Permanent),
        (
            Outcome::Other("broken pipe".into()),
            Retryable,
            Retryable,
            Permanent,
        ),
        (Outcome::BodyTooLarge, Permanent, Permanent, Permanent),
        (Outcome::SsrfRefused, Permanent, Permanent, Permanent),
    ];
    for (outcome, d, a, z) in &table {
        assert_eq!(classify(outcome, &default), *d, "default {outcome:?}");
        assert_eq!(outcome.class(&all), *a, "all {outcome:?}");
        assert_eq!(outcome.class(&zta), *z, "zta {outcome:?}");
    }
}

#[test]
fn toggles() {
    let mut cfg = ClassifyConfig {
        disable_on_gone: false,
        ..ClassifyConfig::default()
    };
    assert_eq!(classify(&st(410), &cfg), Permanent);
    cfg.retry_client_errors = true;
    assert_eq!(classify(&st(410), &cfg), Retryable);
    cfg.retry_redirects = false;
    assert_eq!(classify(&st(301), &cfg), Permanent);
    cfg.retry_connection_errors = false;
    assert_eq!(classify(&Outcome::Dns, &cfg), Permanent);
    cfg.retry_timeouts = false;
    assert_eq!(classify(&Outcome::Timeout, &cfg), Permanent);
    cfg.retry_throttled = false;
    assert_eq!(classify(&st(429), &cfg), Permanent);
    cfg.retry_server_errors = false;
    assert_eq!(classify(&st(503), &cfg), Permanent);
    // Nothing turns an SSRF refusal into a retry.
    let everything = ClassifyConfig::retry_all_failures();
    assert_eq!(classify(&Outcome::SsrfRefused, &everything), Permanent);
}

#[test]
fn outcome_helpers_and_serde() {
    let ra = RetryAfter::from_duration(std::time::Duration::from_secs(3));
    let o = Outcome::from_status(503, Some(ra));
    assert_eq!(o.status(), Some(503));
    assert_eq!(o.retry_after(), Some(ra));
    assert!(!o.is_success());
    assert!(Outcome::from_status(200, Some(ra)).is_success());
    assert!(Outcome::Timeout.is_overload() && st(429).is_overload() && !st(503).is_overload());
    for o in [
        o,
        Outcome::Timeout,
        Outcome::Other("x".into()),
        st(200),
        st(404),
    ] {
        let json = serde_json::to_string(&o).unwrap();
        assert_eq!(serde_json::from_str::<Outcome>(&json).unwrap(), o, "{json}");
    }
    assert_eq!(
        serde_json::to_string(&Outcome::from_status(503, Some(ra))).unwrap(),
        r#"{"status":{"status":503,"retry_after":3000}}"#
    );
    assert_eq!(
        serde_json::to_string(&Outcome::SsrfRefused).unwrap(),
        r#""ssrf_refused""#
    );
    // The config reads partial JSON with defaults.
    let cfg: ClassifyConfig = serde_json::from_str(r#"{"retry_client_errors":true}"#).unwrap();
    assert_eq!(cfg, ClassifyConfig::retry_all_failures());
}
