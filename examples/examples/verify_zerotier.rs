//! Signs a ZeroTier Central hook the way ZeroTier does, then verifies it as a receiver would.
//!
//! `cargo run -p hookwire-examples --example verify_zerotier`

use hookwire::signature::{Error, Scheme, Secret, Signer, Verifier};

fn main() -> Result<(), Error> {
    let scheme = Scheme::from_name("zerotier")?;
    // The upstream test secret from `ztchooks`; `scheme.generate_secret()` makes a fresh one.
    let secret = Secret::new("778c6dab5feca625c7831644d18c4d0e4b3a337bff8a1e1c8f938f9cc20e6536");
    let body = br#"{"hook_id":"ae76d4c0-c94e-4025-a648-2c504eb90e3c","org_id":"1bb4dc96-f311-4c4a-ac93-551cbc0fa3da","hook_type":"NETWORK_JOIN","network_id":"19d9808567a17ccf","member_id":"a02505e545"}"#;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));

    // Sender side.
    let headers = Signer::new(&scheme, std::slice::from_ref(&secret))?.sign("", now, body)?;
    let mut map = http::HeaderMap::new();
    for (name, value) in headers {
        println!("{name}: {}", value.to_str().unwrap_or("<binary>"));
        map.append(name, value);
    }

    // Receiver side.
    let verifier = Verifier::new(&scheme, &[secret])?;
    let verified = verifier.verify(body, &map)?;
    println!(
        "verified: timestamp {:?}, secret #{}",
        verified.timestamp, verified.key_index
    );

    // A tampered body is refused with a typed error.
    let tampered = verifier.verify(b"{\"hook_type\":\"NETWORK_DELETED\"}", &map);
    println!("tampered body: {tampered:?}");
    assert_eq!(tampered, Err(Error::SignatureMismatch));
    Ok(())
}
