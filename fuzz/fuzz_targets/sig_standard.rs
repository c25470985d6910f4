//! Standard Webhooks headers: the signature-list parser round-trips and the verifier never
//! panics on any id, timestamp or signature value.
#![no_main]

use hookwire_signature::standard::{format_signatures, parse_signatures};
use hookwire_signature::{Scheme, Secret, Verifier};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(4, |&b| b == b'\n');
    let id = parts.next().unwrap_or_default();
    let ts = parts.next().unwrap_or_default();
    let sig = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default();
    let (Ok(id), Ok(ts), Ok(sig)) = (
        std::str::from_utf8(id),
        std::str::from_utf8(ts),
        std::str::from_utf8(sig),
    ) else {
        return;
    };
    let tokens = parse_signatures(sig);
    let again = parse_signatures(&format_signatures(&tokens));
    // Versions containing spaces or commas cannot survive formatting; all others must.
    if tokens.iter().all(|t| !t.version.contains([' ', ','])) {
        assert_eq!(tokens, again);
    }
    let v = Verifier::new(
        &Scheme::from_name("standard").expect("known"),
        &[
            Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            Secret::new("whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4="),
        ],
    )
    .expect("valid secrets");
    let pairs = [("webhook-id", id), ("webhook-timestamp", ts), ("webhook-signature", sig)];
    let _ = v.verify_pairs_at(body, &pairs, 1_614_265_330);
    let _ = v.verify_pairs_ignoring_time(body, &pairs);
    // Secrets are parsed from arbitrary text without panicking too.
    let _ = Verifier::new(&Scheme::from_name("standard").expect("known"), &[Secret::new(sig)]);
});
