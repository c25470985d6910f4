//! The direct path and the reference path agree: on every corpus file, on mutated copies, and
//! on arbitrary bytes; and the direct path is the one that runs on the corpus.

use proptest::prelude::*;

use super::{RawObject, parse_value};
use crate::{AnyEvent, Family, ParseError, from_value};

/// The direct path alone; `None` where it stands aside.
fn direct(family: Family, bytes: &[u8]) -> Option<AnyEvent> {
    match family {
        Family::ZeroTier => {
            return crate::zerotier::Hook::from_bytes(bytes).map(AnyEvent::ZeroTier);
        }
        Family::HubMessage => {
            return crate::hub_message::Event::from_bytes(bytes).map(AnyEvent::HubMessage);
        }
        Family::StandardWebhooks => {
            return crate::standard::Event::from_bytes(bytes).map(AnyEvent::Standard);
        }
        _ => {}
    }
    if super::may_reach_depth_limit(bytes) {
        return None;
    }
    let object = RawObject::parse(bytes)?;
    Some(match family {
        Family::ZeroTier | Family::HubMessage | Family::StandardWebhooks => return None,
        Family::Zta => AnyEvent::Zta(crate::zta::Event::from_raw(object)?),
        Family::Zitadel => AnyEvent::Zitadel(crate::zitadel::Payload::from_raw(object)?),
        Family::Zentitle => AnyEvent::Zentitle(crate::zentitle::Event::from_raw(object)?),
    })
}

/// The reference path alone.
fn reference(family: Family, bytes: &[u8]) -> Result<AnyEvent, ParseError> {
    from_value(family, parse_value(bytes)?)
}

fn corpus() -> Vec<(Family, String, Vec<u8>)> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/corpus");
    let mut files = Vec::new();
    for (dir, family) in [
        ("hubmessage", Family::HubMessage),
        ("zapi", Family::HubMessage),
        ("zentitle", Family::Zentitle),
        ("zerotier", Family::ZeroTier),
        ("zitadel", Family::Zitadel),
        ("zta", Family::Zta),
    ] {
        let entries = std::fs::read_dir(format!("{root}/{dir}")).expect("corpus directory");
        for entry in entries {
            let path = entry.expect("corpus entry").path();
            if path.extension().is_some_and(|e| e == "json") {
                let bytes = std::fs::read(&path).expect("corpus file");
                files.push((family, path.display().to_string(), bytes));
            }
        }
    }
    files.sort_by(|a, b| a.1.cmp(&b.1));
    files
}

/// Checks the two paths on one input; returns whether the direct path ran.
fn agree(family: Family, bytes: &[u8]) -> bool {
    let slow = reference(family, bytes);
    match direct(family, bytes) {
        Some(fast) => {
            assert_eq!(Ok(&fast), slow.as_ref(), "direct path differs");
            assert_eq!(crate::parse(family, bytes), slow);
            true
        }
        None => {
            assert_eq!(crate::parse(family, bytes), slow);
            false
        }
    }
}

#[test]
fn corpus_paths_agree_and_the_direct_path_runs() {
    let files = corpus();
    assert!(files.len() > 100, "corpus not found: {} files", files.len());
    let mut stood_aside = Vec::new();
    for (family, name, bytes) in &files {
        let ran = agree(*family, bytes);
        if !ran && reference(*family, bytes).is_ok() {
            stood_aside.push(name.clone());
        }
    }
    // Every valid corpus file takes the direct path.
    assert_eq!(stood_aside, Vec::<String>::new());
}

#[test]
fn repeated_keys_keep_the_last_on_both_paths() {
    let top = br#"{"hook_id":"a","org_id":"o","hook_type":"NETWORK_JOIN","network_id":"n1","member_id":"m","network_id":"n2"}"#;
    assert!(
        agree(Family::ZeroTier, top),
        "a top-level repeat takes the direct path"
    );
    let Ok(AnyEvent::ZeroTier(crate::zerotier::Hook::NetworkJoin(join))) =
        crate::parse(Family::ZeroTier, top)
    else {
        panic!("not a join");
    };
    assert_eq!(join.network_id, "n2");
    // The discriminator repeated with another value: the first names a type that parses, the
    // last one wins all the same (the one-pass read checks the type it kept).
    let retyped = br#"{"hook_id":"a","org_id":"o","hook_type":"NETWORK_JOIN","network_id":"n","member_id":"m","hook_type":"SOMETHING_NEW"}"#;
    assert!(agree(Family::ZeroTier, retyped));
    let Ok(AnyEvent::ZeroTier(crate::zerotier::Hook::Unknown(unknown))) =
        crate::parse(Family::ZeroTier, retyped)
    else {
        panic!("not the last type");
    };
    assert_eq!(unknown.hook_type, "SOMETHING_NEW");
    assert_eq!(unknown.extra["member_id"], "m");
    let retyped = br#"{"type":"DeliveryCallback","phone":"1","type":"ReceivedCallback","text":{"message":"m"}}"#;
    assert!(agree(Family::HubMessage, retyped));
    assert_eq!(
        crate::parse(Family::HubMessage, retyped)
            .expect("parses")
            .event_type(),
        "ReceivedCallback"
    );
    // Repeated inside a content object (vendor examples repeat `thumbnailUrl`): the last
    // wins on the direct path.
    let nested =
        br#"{"type":"ReceivedCallback","phone":"1","text":{"message":"first","message":"last"}}"#;
    assert!(agree(Family::HubMessage, nested));
    let event = crate::parse(Family::HubMessage, nested).expect("parses");
    assert_eq!(event.to_json()["text"]["message"], "last");
    // Repeated deeper inside a typed struct: the last wins, on the direct path too.
    let deep = br#"{"message":{"_id":"1","sender":{"identifier":"a","identifier":"b"}}}"#;
    assert!(agree(Family::HubMessage, deep));
    let event = crate::parse(Family::HubMessage, deep).expect("parses");
    assert_eq!(event.to_json()["message"]["sender"]["identifier"], "b");
    let twice = br#"{"message":{"_id":"1","_id":"2"}}"#;
    assert!(agree(Family::HubMessage, twice));
    assert_eq!(
        crate::parse(Family::HubMessage, twice)
            .expect("parses")
            .to_json()["message"]["_id"],
        "2"
    );
    // Repeated inside a free-form object: serde_json keeps the last, on the direct path.
    let free = br#"{"hook_id":"a","org_id":"o","hook_type":"X","data":{"k":1,"k":2}}"#;
    assert!(agree(Family::ZeroTier, free));
    assert_eq!(
        crate::parse(Family::ZeroTier, free)
            .expect("parses")
            .to_json()["data"]["k"],
        2
    );
}

#[test]
fn deep_documents_go_to_the_reference_path() {
    for depth in [120, 126, 127, 128, 200] {
        let body = format!(
            r#"{{"hook_id":"a","org_id":"o","hook_type":"X","deep":{}1{}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        );
        agree(Family::ZeroTier, body.as_bytes());
    }
}

/// A mutation of a corpus file.
#[derive(Debug, Clone)]
enum Mutation {
    /// Repeat a top-level key at the end with another value.
    RepeatKey(usize, &'static str),
    /// Add an unknown top-level field.
    AddField(&'static str),
    /// Overwrite one byte.
    Byte(usize, u8),
    /// Cut the document short.
    Truncate(usize),
}

fn mutate(bytes: &[u8], mutation: &Mutation) -> Vec<u8> {
    let mut out = bytes.to_vec();
    match mutation {
        Mutation::RepeatKey(i, value) => {
            let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(bytes) else {
                return out;
            };
            let Some(key) = map.keys().nth(i % map.len().max(1)) else {
                return out;
            };
            if let Some(end) = out.iter().rposition(|&b| b == b'}') {
                let extra = format!(",{}:{value}", serde_json::Value::from(key.as_str()));
                out.splice(end..end, extra.into_bytes());
            }
        }
        Mutation::AddField(text) => {
            if let Some(end) = out.iter().rposition(|&b| b == b'}') {
                out.splice(end..end, text.bytes());
            }
        }
        Mutation::Byte(i, b) => {
            if !out.is_empty() {
                let i = i % out.len();
                out[i] = *b;
            }
        }
        Mutation::Truncate(i) => out.truncate(i % (out.len() + 1)),
    }
    out
}

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    let values = prop::sample::select(vec![
        "null",
        "1",
        "-99.000001533619666",
        "\"x\"",
        "\"ReceivedCallback\"",
        "\"NETWORK_JOIN\"",
        "{}",
        "[]",
        "{\"a\":{\"a\":1,\"a\":2}}",
        "true",
    ]);
    let fields = prop::sample::select(vec![
        ",\"zzUnknown\":{\"nested\":[1,2.5e-300,null]}",
        ",\"\\u0074ype\":\"DeliveryCallback\"",
        ",\"aa\":18446744073709551616",
        ", \"x\" : \"caf\\u00e9\" ",
    ]);
    prop_oneof![
        (any::<usize>(), values).prop_map(|(i, v)| Mutation::RepeatKey(i, v)),
        fields.prop_map(Mutation::AddField),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Byte(i, b)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn mutated_corpus_paths_agree(index in any::<usize>(), mutations in prop::collection::vec(arb_mutation(), 1..4)) {
        let files = corpus();
        let (family, _, bytes) = &files[index % files.len()];
        let mut bytes = bytes.clone();
        for m in &mutations {
            bytes = mutate(&bytes, m);
        }
        agree(*family, &bytes);
    }

    #[test]
    fn arbitrary_bytes_paths_agree(bytes in prop::collection::vec(any::<u8>(), 0..64), family in prop::sample::select(Family::ALL.to_vec())) {
        agree(family, &bytes);
    }
}

/// The bracket count behind the depth guard: exact at 127 openers wherever they fall
/// (across the 255-byte chunks it counts in), and silent on short input.
#[test]
fn depth_guard_counts_every_opener() {
    let spread = |openers: usize, len: usize| -> Vec<u8> {
        let mut bytes = vec![b' '; len];
        let step = len / openers;
        for i in 0..openers {
            bytes[i * step] = if i % 2 == 0 { b'[' } else { b'{' };
        }
        bytes
    };
    assert!(super::may_reach_depth_limit(&spread(127, 10_000)));
    assert!(!super::may_reach_depth_limit(&spread(126, 10_000)));
    assert!(super::may_reach_depth_limit(&spread(127, 256)));
    assert!(!super::may_reach_depth_limit(&spread(127, 255)));
    // Closing brackets and other bytes are not openers.
    assert!(!super::may_reach_depth_limit(&b"]}".repeat(2000)));
    // 300 openers in one chunk overflow nothing.
    assert!(super::may_reach_depth_limit(&[b'['; 300]));
}

/// What the reference path sees at a top-level key.
fn seen_in(value: &serde_json::Value, key: &str) -> super::Seen<'static> {
    match value.get(key) {
        None => super::Seen::Absent,
        Some(serde_json::Value::String(s)) => super::Seen::Str(s.clone().into()),
        Some(_) => super::Seen::Other,
    }
}

#[test]
fn the_top_level_scan_reads_only_the_top_level_and_keeps_the_last() {
    use super::{Seen, scan_top};
    let body = br#" { "a" : {"type":"inner","s":"}{\"]["}, "type":"first", "b":["type",{"type":1}],
        "n": -1.5e3 ,"t\u0079pe":"esc\"aped", "nul":null, "x": true } "#;
    let [ty, n, nul, missing] = scan_top(body, ["type", "n", "nul", "missing"]).expect("scans");
    assert_eq!(ty, Seen::Str("esc\"aped".into()));
    assert_eq!(n, Seen::Other);
    assert_eq!(nul, Seen::Other);
    assert_eq!(missing, Seen::Absent);
    assert_eq!(scan_top(b"{}", ["a"]), Some([Seen::Absent]));
    assert_eq!(
        super::scan_first(body, "type"),
        Some(Seen::Str("first".into()))
    );
    assert_eq!(super::scan_first(body, "nul"), Some(Seen::Other));
    assert_eq!(super::scan_first(body, "missing"), Some(Seen::Absent));
    // The first occurrence stops the walk: what follows it is not looked at.
    assert_eq!(
        super::scan_first(br#"{"a":"x", oops"#, "a"),
        Some(Seen::Str("x".into()))
    );
    assert_eq!(
        scan_top(br#"{"a":"x","a":"y"}"#, ["a"]),
        Some([Seen::Str("y".into())])
    );
    for not_an_object in [
        &b"[]"[..],
        b"\"a\"",
        b"",
        b"{",
        br#"{"a""#,
        br#"{"a":}"#,
        br#"{"a":1"#,
        br#"{"a":"1}"#,
        br#"{1:2}"#,
    ] {
        assert_eq!(
            scan_top(not_an_object, ["a"]),
            None,
            "{:?}",
            String::from_utf8_lossy(not_an_object)
        );
    }
}

/// A Z-API message with two content objects: the first in the reference order (`text`
/// before `image`) is the content wherever it stands, the other stays an unknown field.
#[test]
fn two_content_objects_keep_the_reference_choice() {
    for body in [
        &br#"{"type":"ReceivedCallback","image":{"imageUrl":"u","zz":1},"text":{"message":"m"}}"#[..],
        br#"{"type":"ReceivedCallback","text":{"message":"m"},"image":{"imageUrl":"u","zz":1}}"#,
        br#"{"type":"ReceivedCallback","image":{"imageUrl":"u","zz":1},"text":{"message":"m"},"image":{"imageUrl":"v"}}"#,
        br#"{"type":"ReceivedCallback","poll":{"q":1},"image":{"imageUrl":"u"}}"#,
    ] {
        assert!(agree(Family::HubMessage, body), "{}", String::from_utf8_lossy(body));
    }
    let event = crate::parse(
        Family::HubMessage,
        br#"{"type":"ReceivedCallback","image":{"imageUrl":"u","zz":1},"text":{"message":"m"}}"#,
    )
    .expect("parses");
    let AnyEvent::HubMessage(crate::hub_message::Event::ZApi(
        crate::hub_message::zapi::Callback::Received(cb),
    )) = event
    else {
        panic!("not a received callback");
    };
    assert_eq!(cb.content.as_ref().map(|c| c.key()), Some("text"));
    assert_eq!(
        cb.extra["image"],
        serde_json::json!({"imageUrl":"u","zz":1})
    );
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let key = prop::sample::select(vec!["type", "a", "t\"y", "}", "{", "[", "\\", "é", ""]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[\\PC\"\\\\{}\\[\\]]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..5).prop_map(|entries| {
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect(),
                )
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// On any valid object, compact or pretty, the scan sees what a `Value` parse sees.
    #[test]
    fn the_top_level_scan_agrees_with_a_value_parse(
        entries in prop::collection::vec((prop::sample::select(vec!["type", "a", "t\"y"]), arb_json()), 0..6),
        pretty in any::<bool>(),
    ) {
        // Entries written by hand, so that repeated keys stay repeated.
        let body = entries
            .iter()
            .map(|(k, v)| {
                let v = if pretty { serde_json::to_string_pretty(v) } else { serde_json::to_string(v) };
                format!("{}{}{}", serde_json::Value::from(*k), if pretty { " : " } else { ":" }, v.expect("serializes"))
            })
            .collect::<Vec<_>>()
            .join(if pretty { ",\n  " } else { "," });
        let body = format!("{{{body}}}");
        let value: serde_json::Value = serde_json::from_str(&body).expect("valid JSON");
        let seen = super::scan_top(body.as_bytes(), ["type", "a", "t\"y"]).expect("scans");
        for (i, key) in ["type", "a", "t\"y"].into_iter().enumerate() {
            prop_assert_eq!(&seen[i], &seen_in(&value, key));
        }
    }
}
