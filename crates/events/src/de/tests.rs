//! The direct path and the reference path agree: on every corpus file, on mutated copies, and
//! on arbitrary bytes; and the direct path is the one that runs on the corpus.

use proptest::prelude::*;

use super::{RawObject, parse_value};
use crate::{AnyEvent, Family, ParseError, from_value};

/// The direct path alone; `None` where it stands aside.
fn direct(family: Family, bytes: &[u8]) -> Option<AnyEvent> {
    if super::may_reach_depth_limit(bytes) {
        return None;
    }
    let object = RawObject::parse(bytes)?;
    Some(match family {
        Family::ZeroTier => AnyEvent::ZeroTier(crate::zerotier::Hook::from_raw(object)?),
        Family::Zta => AnyEvent::Zta(crate::zta::Event::from_raw(object)?),
        Family::HubMessage => AnyEvent::HubMessage(crate::hub_message::Event::from_raw(object)?),
        Family::Zitadel => AnyEvent::Zitadel(crate::zitadel::Payload::from_raw(object)?),
        Family::Zentitle => AnyEvent::Zentitle(crate::zentitle::Event::from_raw(object)?),
        Family::StandardWebhooks => AnyEvent::Standard(crate::standard::Event::from_raw(object)?),
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
    // Repeated inside a content object (vendor examples repeat `thumbnailUrl`): read again
    // as a raw object on the direct path, the last wins.
    let nested =
        br#"{"type":"ReceivedCallback","phone":"1","text":{"message":"first","message":"last"}}"#;
    assert!(agree(Family::HubMessage, nested));
    let event = crate::parse(Family::HubMessage, nested).expect("parses");
    assert_eq!(event.to_json()["text"]["message"], "last");
    // Repeated deeper inside a typed struct: the direct path stands aside, the last wins.
    let deep = br#"{"message":{"_id":"1","sender":{"identifier":"a","identifier":"b"}}}"#;
    assert!(!agree(Family::HubMessage, deep));
    let event = crate::parse(Family::HubMessage, deep).expect("parses");
    assert_eq!(event.to_json()["message"]["sender"]["identifier"], "b");
    let twice = br#"{"message":{"_id":"1","_id":"2"}}"#;
    assert!(!agree(Family::HubMessage, twice));
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
