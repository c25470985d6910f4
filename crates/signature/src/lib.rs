//! Sign and verify webhooks of every hookwire family, exact to the byte.
//!
//! A receiver checks a webhook with one call; a sender produces headers the vendors' own
//! libraries accept. Verifying a ZeroTier Central hook:
//!
//! ```
//! use hookwire_signature::{Scheme, Secret, Verifier};
//!
//! let body = br#"{"hook_id":"ae76d4c0-c94e-4025-a648-2c504eb90e3c","org_id":"1bb4dc96-f311-4c4a-ac93-551cbc0fa3da","hook_type":"NETWORK_JOIN","network_id":"19d9808567a17ccf","member_id":"a02505e545"}"#;
//! let secret = Secret::new("778c6dab5feca625c7831644d18c4d0e4b3a337bff8a1e1c8f938f9cc20e6536");
//! let header = "t=1694033429,v1=04d87956d1953f28ac04d441f139fc655109e9b5c64396fb55dbdf567c735f86";
//!
//! let verifier = Verifier::new(&Scheme::ZeroTier, &[secret])?;
//! let ok = verifier.verify_pairs_at(body, &[("X-ZTC-Signature", header)], 1_694_033_500)?;
//! assert_eq!(ok.timestamp, Some(1_694_033_429));
//! # Ok::<(), hookwire_signature::Error>(())
//! ```
//!
//! Signing is the mirror image: `Signer::new(&scheme, &secrets)?.sign(msg_id, unix_time, body)?`
//! returns the `(HeaderName, HeaderValue)` pairs to add to the request.
//!
//! # Schemes and the headers they read
//!
//! | [`Scheme`] | name | header | value | signed bytes | key |
//! |---|---|---|---|---|---|
//! | `ZeroTier` | `zerotier` | `X-ZTC-Signature` | `t=<unix>,v1=<hex>[,v1=…]` | `"{t}," + body` | hex-decoded secret |
//! | `Zta` | `zta` | `X-ZTA-Signature` | `<hex>` or `sha256=<hex>` | body | UTF-8 of the whole `whsec_…` |
//! | `HubMessage` | `hub-message` | configurable | `<hex>` (`sha256=` accepted) | body | ASCII secret, or hex-decoded |
//! | `Zitadel` | `zitadel` | `ZITADEL-Signature` | `t=<unix>,v1=<hex>[,v1=…]` | `"{t}." + body` | UTF-8 of the key |
//! | `Zentitle` | `zentitle` | `N-Signature` | base64 RSA PKCS#1 v1.5 SHA-256 | body | RSA public / private key |
//! | `StandardWebhooks` | `standard`, `standard-v1a`, `svix` | `webhook-id`, `webhook-timestamp`, `webhook-signature` (or `svix-*`) | `v1,<b64>` / `v1a,<b64>`, space-separated | `"{id}.{t}." + body` | base64 after `whsec_`; Ed25519 `whsk_`/`whpk_` |
//! | `Stripe` | `stripe` | `Stripe-Signature` | `t=<unix>,v1=<hex>` | `"{t}." + body` | UTF-8 of the whole `whsec_…` |
//! | `GitHub` | `github` | `X-Hub-Signature-256` | `sha256=<hex>` | body | UTF-8 of the secret |
//! | `Timestamped` | `timestamped` | given | `t=,v1=` | `"{t}" + sep + body` | per [`KeyEncoding`] |
//! | `BodyHex` | `body-hex` | given | `[prefix]<hex>` | body | per [`KeyEncoding`] |
//!
//! The wire details and their sources are in the family modules ([`zerotier`], [`zta`],
//! [`hub_message`], [`zitadel`], [`zentitle`], [`standard`], [`generic`]), which also expose
//! the typed building blocks ([`Timestamped`], [`BodyHex`], [`standard::StandardSigner`],
//! [`zentitle::PublicKey`], …) that [`Signer`] and [`Verifier`] are made of.
//!
//! # The front door
//!
//! - [`Scheme`]: `from_name`, `name`, `generate_secret`, `verification_secret`,
//!   `signature_header_names`; serializable (JSON tag `"scheme"`).
//! - [`Secret`]: text form of a key; `Debug` prints `[REDACTED]`, no `Display`, zeroized on
//!   drop.
//! - [`Signer`]: `new(&Scheme, &[Secret])`, `sign(msg_id, timestamp, body)`.
//! - [`Verifier`]: `new(&Scheme, &[Secret])`, `with_tolerance`, `verify`, `verify_at`,
//!   `verify_ignoring_time`, `verify_pairs`, `verify_pairs_at`, `verify_pairs_ignoring_time`,
//!   returning [`Verified`] `{ id, timestamp, key_index }`.
//! - [`Error`]: one `#[non_exhaustive]` enum; [`Error::SignatureMismatch`] never says which
//!   secret or byte failed.
//!
//! # Several secrets and rotation
//!
//! Give a [`Signer`] every secret still valid and it emits one signature per secret (one
//! `v1=` per secret in `t=,v1=` headers, one token per secret in `webhook-signature`, one header
//! value per secret for body-hex and Zentitle). A [`Verifier`] accepts the message if any
//! signature matches any of its secrets and reports which in [`Verified::key_index`]. To keep
//! an old secret valid until a deadline, hold [`RotatingSecret`]s and build signers and
//! verifiers from [`active_secrets`]`(&entries, now)`: expired secrets are simply not passed.
//!
//! # Timestamps
//!
//! [`Tolerance`] bounds the past and the future separately; the default is 300 s each way.
//! This is **stricter than some vendors' libraries**: ZeroTier's `ztchooks`, ZITADEL's
//! `zitadel-go` and Stripe's SDKs check only the past and accept any future timestamp (Standard
//! Webhooks checks ±300 s like us). [`Verifier::verify_at`] takes the current time
//! explicitly, and [`Verifier::verify_ignoring_time`] skips the check (the signature, which
//! covers the timestamp, is still verified). Schemes without a timestamp (ZTA, Hub Message,
//! GitHub, Zentitle) have no replay window at all; deduplicate by the payload's event id.
//!
//! # Security
//!
//! - HMAC tags are compared in constant time (`subtle`); every candidate is compared.
//! - Secrets and pre-keyed HMAC states are zeroized on drop and never printed.
//! - Parsers and verifiers never panic on any input (property-tested and fuzzed).
//! - Zentitle RSA signs and verifies on `ring` (constant-time, blinded private-key
//!   operations). The `rsa` crate only generates keys and converts key formats, so
//!   **RUSTSEC-2023-0071** (`rsa`'s Marvin timing attack on private-key operations) does not
//!   reach signing or verification; see [`zentitle`].
//!
//! # Crate features
//!
//! - **`rsa`** (default): Zentitle2 `N-Signature` (RSA PKCS#1 v1.5 / SHA-256), on `ring`;
//!   `rsa` for key generation and key formats.
//! - **`ed25519`** (default): Standard Webhooks `v1a` with `whsk_`/`whpk_` keys.
//!
//! Without them the schemes still exist and return [`Error::FeatureDisabled`].

#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]

mod body_hex;
mod error;
mod headers;
mod mac;
mod presets;
mod scheme;
mod secret;
pub mod standard;
mod timestamped;
mod tolerance;
#[cfg(feature = "rsa")]
#[cfg_attr(docsrs, doc(cfg(feature = "rsa")))]
pub mod zentitle;

pub use body_hex::{BodyHex, BodyHexFormat};
pub use error::{Error, Result};
pub use mac::KeyEncoding;
pub use presets::hub_message::HubKeyEncoding;
pub use presets::{generic, hub_message, zerotier, zitadel, zta};
pub use scheme::{Scheme, Signer, Verified, Verifier};
pub use secret::{RotatingSecret, Secret, active_secrets};
pub use timestamped::{SignatureHeader, SignatureKeys, Timestamped, TimestampedFormat};
pub use tolerance::Tolerance;
