//! The one-call front door: [`Scheme`], [`Signer`], [`Verifier`], [`Verified`].

use http::{HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};

use crate::body_hex::{BodyHex, BodyHexFormat};
use crate::error::{Error, Result};
use crate::headers::{self, Headers};
use crate::mac::KeyEncoding;
use crate::presets::hub_message::{self, HubKeyEncoding};
use crate::presets::{generic, zerotier, zitadel, zta};
use crate::secret::{self, Secret};
use crate::standard::{self, StandardSigner, StandardVerifier};
use crate::timestamped::{Timestamped, TimestampedFormat};
use crate::tolerance::{self, Tolerance};

/// A signature scheme with its parameters. Serializes as JSON with a `"scheme"` tag, for
/// example `{"scheme":"zerotier"}` or `{"scheme":"hub-message","header":"x-sig","key":"ascii"}`.
///
/// | scheme | name | header(s) | secret text |
/// |---|---|---|---|
/// | [`ZeroTier`](Scheme::ZeroTier) | `zerotier` | `X-ZTC-Signature` | 64 hex digits (hex-decoded key) |
/// | [`Zta`](Scheme::Zta) | `zta` | `X-ZTA-Signature` | `whsec_` + 32 hex (used as UTF-8) |
/// | [`HubMessage`](Scheme::HubMessage) | `hub-message` | configurable | 64 hex digits |
/// | [`Zitadel`](Scheme::Zitadel) | `zitadel` | `ZITADEL-Signature` | any string (UTF-8 key) |
/// | [`Zentitle`](Scheme::Zentitle) | `zentitle` | `N-Signature` | sign: PKCS#8/PKCS#1 PEM private key; verify: base64url modulus, SPKI/PKCS#1 PEM or base64 DER |
/// | [`StandardWebhooks`](Scheme::StandardWebhooks) | `standard`, `standard-v1a`, `svix` | `webhook-id`/`-timestamp`/`-signature` (or `svix-*`) | `whsec_<base64>`; `whsk_`/`whpk_` for `v1a` |
/// | [`Stripe`](Scheme::Stripe) | `stripe` | `Stripe-Signature` | any string (UTF-8 key) |
/// | [`GitHub`](Scheme::GitHub) | `github` | `X-Hub-Signature-256` | any string (UTF-8 key) |
/// | [`Timestamped`](Scheme::Timestamped) | `timestamped` | given | per [`KeyEncoding`] |
/// | [`BodyHex`](Scheme::BodyHex) | `body-hex` | given | per [`KeyEncoding`] |
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scheme", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Scheme {
    /// ZeroTier Central (`X-ZTC-Signature`, see [`zerotier`](crate::zerotier)).
    #[serde(rename = "zerotier")]
    ZeroTier,
    /// Zero Trust Analytics (`X-ZTA-Signature`, see [`zta`](crate::zta)).
    Zta {
        /// Sign as bare hex (what the vendor's code sends) instead of `sha256=<hex>`.
        #[serde(default)]
        bare_hex: bool,
    },
    /// Hub Message (see [`hub_message`](crate::hub_message)).
    HubMessage {
        /// The header name from the vendor's console.
        header: String,
        /// How the secret becomes the key.
        #[serde(default)]
        key: HubKeyEncoding,
    },
    /// ZITADEL Actions v2 (`ZITADEL-Signature`, see [`zitadel`](crate::zitadel)).
    Zitadel,
    /// Zentitle2 RSA (`N-Signature`, see [`zentitle`](crate::zentitle); feature `rsa`).
    Zentitle,
    /// Standard Webhooks / Svix (see [`standard`]).
    StandardWebhooks {
        /// Header names a signer writes (verification reads both).
        #[serde(default)]
        headers: standard::HeaderNames,
        /// Kind of secret [`Scheme::generate_secret`] makes.
        #[serde(default)]
        key: standard::KeyKind,
    },
    /// Stripe-style `Stripe-Signature: t=,v1=` (see [`generic`](crate::generic)).
    Stripe,
    /// GitHub-style `X-Hub-Signature-256: sha256=` (see [`generic`](crate::generic)).
    #[serde(rename = "github")]
    GitHub,
    /// Any `t=,v1=` scheme.
    Timestamped(TimestampedFormat),
    /// Any hex-over-body scheme.
    BodyHex(BodyHexFormat),
}

/// Constructors, one per scheme, so that every scheme is a plain value to write down
/// (`Scheme::standard()` reads like `Scheme::ZeroTier`); each equals what
/// [`from_name`](Scheme::from_name) returns for its name.
impl Scheme {
    /// ZeroTier Central (`zerotier`).
    pub const fn zerotier() -> Scheme {
        Scheme::ZeroTier
    }

    /// Zero Trust Analytics (`zta`), signing `sha256=<hex>` as the vendor's docs show.
    pub const fn zta() -> Scheme {
        Scheme::Zta { bare_hex: false }
    }

    /// Hub Message with the header name from the vendor's console, the 64-hex secret's ASCII
    /// bytes as the key (`hub-message` uses a placeholder header name instead).
    pub fn hub_message(header: impl Into<String>) -> Scheme {
        Scheme::HubMessage {
            header: header.into(),
            key: HubKeyEncoding::Ascii,
        }
    }

    /// ZITADEL Actions v2 (`zitadel`).
    pub const fn zitadel() -> Scheme {
        Scheme::Zitadel
    }

    /// Zentitle2 RSA (`zentitle`; feature `rsa` to sign or verify).
    pub const fn zentitle() -> Scheme {
        Scheme::Zentitle
    }

    /// Standard Webhooks with `webhook-*` headers and `whsec_` secrets (`standard`).
    pub const fn standard() -> Scheme {
        Scheme::StandardWebhooks {
            headers: standard::HeaderNames::Webhook,
            key: standard::KeyKind::Symmetric,
        }
    }

    /// Standard Webhooks whose generated keys are Ed25519 (`v1a`, `standard-v1a`).
    pub const fn standard_ed25519() -> Scheme {
        Scheme::StandardWebhooks {
            headers: standard::HeaderNames::Webhook,
            key: standard::KeyKind::Ed25519,
        }
    }

    /// Standard Webhooks as Svix sends it, with `svix-*` header names (`svix`).
    pub const fn svix() -> Scheme {
        Scheme::StandardWebhooks {
            headers: standard::HeaderNames::Svix,
            key: standard::KeyKind::Symmetric,
        }
    }

    /// Stripe-style `Stripe-Signature` (`stripe`).
    pub const fn stripe() -> Scheme {
        Scheme::Stripe
    }

    /// GitHub-style `X-Hub-Signature-256` (`github`).
    pub const fn github() -> Scheme {
        Scheme::GitHub
    }

    /// Any `t=,v1=` scheme.
    pub fn timestamped(format: TimestampedFormat) -> Scheme {
        Scheme::Timestamped(format)
    }

    /// Any hex-over-body scheme.
    pub fn body_hex(format: BodyHexFormat) -> Scheme {
        Scheme::BodyHex(format)
    }
}

impl Scheme {
    /// The scheme for a CLI name: `zerotier`, `zta`, `hub-message` (with
    /// [`hub_message::DEFAULT_HEADER`], a placeholder), `zitadel`, `zentitle`, `standard`,
    /// `standard-v1a` (Ed25519 key generation), `svix` (`svix-*` header names), `stripe`,
    /// `github`. Names are case-insensitive. `timestamped` and `body-hex` need parameters
    /// and are built directly.
    ///
    /// "No signing" is not a scheme: model it as `Option<Scheme>`.
    ///
    /// # Errors
    /// [`Error::UnknownScheme`].
    pub fn from_name(name: &str) -> Result<Scheme> {
        Ok(match name.trim().to_ascii_lowercase().as_str() {
            "zerotier" => Scheme::zerotier(),
            "zta" => Scheme::zta(),
            "hub-message" => Scheme::hub_message(hub_message::DEFAULT_HEADER),
            "zitadel" => Scheme::zitadel(),
            "zentitle" => Scheme::zentitle(),
            "standard" => Scheme::standard(),
            "standard-v1a" => Scheme::standard_ed25519(),
            "svix" => Scheme::svix(),
            "stripe" => Scheme::stripe(),
            "github" => Scheme::github(),
            _ => return Err(Error::UnknownScheme(name.to_owned())),
        })
    }

    /// The scheme's name, as [`from_name`](Self::from_name) reads it.
    pub fn name(&self) -> &'static str {
        match self {
            Scheme::ZeroTier => "zerotier",
            Scheme::Zta { .. } => "zta",
            Scheme::HubMessage { .. } => "hub-message",
            Scheme::Zitadel => "zitadel",
            Scheme::Zentitle => "zentitle",
            Scheme::StandardWebhooks { headers, key } => match (headers, key) {
                (standard::HeaderNames::Svix, _) => "svix",
                (_, standard::KeyKind::Ed25519) => "standard-v1a",
                _ => "standard",
            },
            Scheme::Stripe => "stripe",
            Scheme::GitHub => "github",
            Scheme::Timestamped(_) => "timestamped",
            Scheme::BodyHex(_) => "body-hex",
        }
    }

    /// A new secret in the family's text format, from the OS CSPRNG: ZeroTier, Hub Message and
    /// GitHub 64 hex digits; ZTA `whsec_` + 32 hex; ZITADEL 32 alphanumerics; Stripe `whsec_` +
    /// 32 alphanumerics; Standard Webhooks `whsec_` + base64 of 32 bytes, or a `whsk_` Ed25519
    /// key; Zentitle a 2048-bit RSA private key as PKCS#8 PEM (use
    /// [`verification_secret`](Self::verification_secret) for the public half).
    ///
    /// # Errors
    /// [`Error::Random`], [`Error::Crypto`], [`Error::FeatureDisabled`].
    pub fn generate_secret(&self) -> Result<Secret> {
        match self {
            Scheme::ZeroTier | Scheme::HubMessage { .. } | Scheme::GitHub => {
                Ok(Secret::new(secret::random_hex(32)?))
            }
            Scheme::Zta { .. } => Ok(Secret::new(format!("whsec_{}", secret::random_hex(16)?))),
            Scheme::Zitadel => Ok(Secret::new(secret::random_alphanumeric(32)?)),
            Scheme::Stripe => Ok(Secret::new(format!(
                "whsec_{}",
                secret::random_alphanumeric(32)?
            ))),
            Scheme::StandardWebhooks { key, .. } => standard::generate(*key),
            Scheme::Zentitle => {
                #[cfg(feature = "rsa")]
                return crate::zentitle::generate();
                #[cfg(not(feature = "rsa"))]
                return Err(Error::FeatureDisabled("rsa"));
            }
            Scheme::Timestamped(f) => f.key.generate(),
            Scheme::BodyHex(f) => f.key.generate(),
        }
    }

    /// The secret a receiver needs to verify what `signing` signs: the public key for
    /// Zentitle (SPKI PEM) and Standard Webhooks `whsk_` keys (`whpk_`), otherwise the same
    /// secret.
    ///
    /// # Errors
    /// [`Error::BadKey`], [`Error::FeatureDisabled`].
    pub fn verification_secret(&self, signing: &Secret) -> Result<Secret> {
        match self {
            Scheme::Zentitle => {
                #[cfg(feature = "rsa")]
                return crate::zentitle::public_secret(signing);
                #[cfg(not(feature = "rsa"))]
                return Err(Error::FeatureDisabled("rsa"));
            }
            Scheme::StandardWebhooks { .. } => standard::public_secret(signing),
            _ => Ok(signing.clone()),
        }
    }

    /// The headers this scheme writes when signing (a dispatcher keeps custom headers off
    /// them). A configured header name that is not a valid HTTP name is left out (building a
    /// [`Signer`] for such a scheme fails with [`Error::InvalidParameter`]).
    pub fn signature_header_names(&self) -> Vec<HeaderName> {
        match self {
            Scheme::StandardWebhooks { headers, .. } => headers.names().to_vec(),
            Scheme::Zentitle => vec![HeaderName::from_static("n-signature")],
            other => match other.hmac_format() {
                Ok(HmacFormat::Timestamped(f)) => headers::header_name(&f.header).ok(),
                Ok(HmacFormat::BodyHex(f)) => headers::header_name(&f.header).ok(),
                Err(_) => None,
            }
            .into_iter()
            .collect(),
        }
    }

    /// The HMAC format behind the non-RSA, non-Standard schemes.
    fn hmac_format(&self) -> Result<HmacFormat> {
        Ok(match self {
            Scheme::ZeroTier => HmacFormat::Timestamped(zerotier::format()),
            Scheme::Zitadel => HmacFormat::Timestamped(zitadel::format()),
            Scheme::Stripe => HmacFormat::Timestamped(generic::stripe()),
            Scheme::Timestamped(f) => HmacFormat::Timestamped(f.clone()),
            Scheme::Zta { bare_hex } => HmacFormat::BodyHex(zta::format(*bare_hex)),
            Scheme::HubMessage { header, key } => {
                HmacFormat::BodyHex(hub_message::format(header, *key))
            }
            Scheme::GitHub => HmacFormat::BodyHex(generic::github()),
            Scheme::BodyHex(f) => HmacFormat::BodyHex(f.clone()),
            Scheme::Zentitle | Scheme::StandardWebhooks { .. } => {
                return Err(Error::InvalidParameter("not an HMAC body scheme"));
            }
        })
    }

    /// The HMAC key encoding, where the scheme has one.
    pub fn key_encoding(&self) -> Option<KeyEncoding> {
        match self.hmac_format().ok()? {
            HmacFormat::Timestamped(f) => Some(f.key),
            HmacFormat::BodyHex(f) => Some(f.key),
        }
    }
}

enum HmacFormat {
    Timestamped(TimestampedFormat),
    BodyHex(BodyHexFormat),
}

/// What a successful verification tells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The message id, where the scheme signs one (Standard Webhooks `webhook-id`).
    pub id: Option<String>,
    /// The signed timestamp, where the scheme has one.
    pub timestamp: Option<i64>,
    /// Index of the secret that matched, in the order given to [`Verifier::new`].
    pub key_index: usize,
}

#[derive(Clone, Debug)]
enum SignEngine {
    Timestamped(Timestamped),
    BodyHex(BodyHex),
    Standard(StandardSigner),
    #[cfg(feature = "rsa")]
    Zentitle(Vec<crate::zentitle::PrivateKey>),
}

/// Signs outgoing webhooks: one signature per secret.
///
/// Build it once per endpoint (keys are parsed and HMAC states pre-keyed here) and reuse it.
#[derive(Clone, Debug)]
pub struct Signer {
    engine: SignEngine,
}

impl Signer {
    /// A signer for `scheme` with one or more secrets (pass only the still-valid ones when
    /// rotating, see [`active_secrets`](crate::active_secrets)).
    ///
    /// # Errors
    /// [`Error::NoSecrets`], [`Error::BadKey`], [`Error::InvalidParameter`],
    /// [`Error::FeatureDisabled`].
    pub fn new(scheme: &Scheme, secrets: &[Secret]) -> Result<Signer> {
        let engine = match scheme {
            Scheme::StandardWebhooks { headers, .. } => {
                SignEngine::Standard(StandardSigner::new(*headers, secrets)?)
            }
            Scheme::Zentitle => {
                #[cfg(feature = "rsa")]
                {
                    if secrets.is_empty() {
                        return Err(Error::NoSecrets);
                    }
                    SignEngine::Zentitle(
                        secrets
                            .iter()
                            .map(|s| crate::zentitle::PrivateKey::from_pem(s.expose_secret()))
                            .collect::<Result<_>>()?,
                    )
                }
                #[cfg(not(feature = "rsa"))]
                return Err(Error::FeatureDisabled("rsa"));
            }
            other => match other.hmac_format()? {
                HmacFormat::Timestamped(f) => {
                    SignEngine::Timestamped(Timestamped::new(&f, secrets)?)
                }
                HmacFormat::BodyHex(f) => SignEngine::BodyHex(BodyHex::new(&f, secrets)?),
            },
        };
        Ok(Signer { engine })
    }

    /// The headers to add to a request carrying `body`. Schemes without a message id or
    /// timestamp ignore `msg_id` / `timestamp`; Standard Webhooks emits `webhook-id`,
    /// `webhook-timestamp` and `webhook-signature`. Signature values are marked sensitive.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] (negative timestamp, unusable message id), [`Error::Crypto`].
    pub fn sign(
        &self,
        msg_id: &str,
        timestamp: i64,
        body: &[u8],
    ) -> Result<Vec<(HeaderName, HeaderValue)>> {
        Ok(match &self.engine {
            SignEngine::Timestamped(t) => vec![(t.header().clone(), t.sign(timestamp, body)?)],
            SignEngine::BodyHex(b) => b
                .sign(body)
                .into_iter()
                .map(|v| (b.header().clone(), v))
                .collect(),
            SignEngine::Standard(s) => s.sign(msg_id, timestamp, body)?,
            #[cfg(feature = "rsa")]
            SignEngine::Zentitle(keys) => keys
                .iter()
                .map(|k| Ok((crate::zentitle::HEADER, k.sign_header(body)?)))
                .collect::<Result<_>>()?,
        })
    }

    /// [`sign`](Self::sign) as a [`HeaderMap`], ready for a request builder or for
    /// [`Verifier::verify`] (several signature values under one name are appended, in order).
    ///
    /// # Errors
    /// As [`sign`](Self::sign).
    pub fn sign_header_map(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> Result<HeaderMap> {
        let pairs = self.sign(msg_id, timestamp, body)?;
        let mut map = HeaderMap::with_capacity(pairs.len());
        for (name, value) in pairs {
            map.append(name, value);
        }
        Ok(map)
    }
}

#[derive(Clone, Debug)]
enum VerifyEngine {
    Timestamped(Timestamped),
    BodyHex(BodyHex),
    Standard(StandardVerifier),
    #[cfg(feature = "rsa")]
    Zentitle(Vec<crate::zentitle::PublicKey>),
}

/// Verifies incoming webhooks against one or more secrets; any one matching is enough.
///
/// Build it once and reuse it. The body is raw bytes exactly as received (no UTF-8 needed);
/// header names are matched case-insensitively.
#[derive(Clone, Debug)]
pub struct Verifier {
    engine: VerifyEngine,
    tolerance: Tolerance,
}

impl Verifier {
    /// A verifier for `scheme` with one or more secrets (for Zentitle: public keys).
    ///
    /// # Errors
    /// [`Error::NoSecrets`], [`Error::BadKey`], [`Error::InvalidParameter`],
    /// [`Error::FeatureDisabled`].
    pub fn new(scheme: &Scheme, secrets: &[Secret]) -> Result<Verifier> {
        let engine = match scheme {
            Scheme::StandardWebhooks { .. } => {
                VerifyEngine::Standard(StandardVerifier::new(secrets)?)
            }
            Scheme::Zentitle => {
                #[cfg(feature = "rsa")]
                {
                    if secrets.is_empty() {
                        return Err(Error::NoSecrets);
                    }
                    VerifyEngine::Zentitle(
                        secrets
                            .iter()
                            .map(|s| crate::zentitle::PublicKey::from_text(s.expose_secret()))
                            .collect::<Result<_>>()?,
                    )
                }
                #[cfg(not(feature = "rsa"))]
                return Err(Error::FeatureDisabled("rsa"));
            }
            other => match other.hmac_format()? {
                HmacFormat::Timestamped(f) => {
                    VerifyEngine::Timestamped(Timestamped::new(&f, secrets)?)
                }
                HmacFormat::BodyHex(f) => VerifyEngine::BodyHex(BodyHex::new(&f, secrets)?),
            },
        };
        Ok(Verifier {
            engine,
            tolerance: Tolerance::default(),
        })
    }

    /// Sets the timestamp tolerance. Default is 300 s into the past and 300 s into the future.
    #[must_use]
    pub fn with_tolerance(mut self, tolerance: Tolerance) -> Verifier {
        self.tolerance = tolerance;
        self
    }

    /// The tolerance in force.
    pub fn tolerance(&self) -> Tolerance {
        self.tolerance
    }

    fn verify_inner(
        &self,
        body: &[u8],
        headers: Headers<'_>,
        now: Option<i64>,
    ) -> Result<Verified> {
        match &self.engine {
            VerifyEngine::Timestamped(t) => t.verify_headers(body, headers, now, self.tolerance),
            VerifyEngine::BodyHex(b) => b.verify_headers(body, headers),
            VerifyEngine::Standard(s) => s.verify_headers(body, headers, now, self.tolerance),
            #[cfg(feature = "rsa")]
            VerifyEngine::Zentitle(keys) => crate::zentitle::verify_headers(keys, body, headers),
        }
    }

    /// Verifies against the system clock.
    ///
    /// # Errors
    /// [`Error::MissingHeader`], [`Error::MalformedHeader`], [`Error::TimestampTooOld`],
    /// [`Error::TimestampTooNew`], [`Error::SignatureMismatch`].
    pub fn verify(&self, body: &[u8], headers: &HeaderMap) -> Result<Verified> {
        self.verify_at(body, headers, tolerance::unix_now())
    }

    /// Verifies with `now_unix` as the current time (unix seconds).
    ///
    /// # Errors
    /// As [`verify`](Self::verify).
    pub fn verify_at(&self, body: &[u8], headers: &HeaderMap, now_unix: i64) -> Result<Verified> {
        self.verify_inner(body, Headers::Map(headers), Some(now_unix))
    }

    /// Verifies the signature but not the timestamp's age.
    ///
    /// # Errors
    /// As [`verify`](Self::verify), without the timestamp errors.
    pub fn verify_ignoring_time(&self, body: &[u8], headers: &HeaderMap) -> Result<Verified> {
        self.verify_inner(body, Headers::Map(headers), None)
    }

    /// [`verify`](Self::verify) from plain `(name, value)` pairs.
    ///
    /// # Errors
    /// As [`verify`](Self::verify).
    pub fn verify_pairs(&self, body: &[u8], pairs: &[(&str, &str)]) -> Result<Verified> {
        self.verify_pairs_at(body, pairs, tolerance::unix_now())
    }

    /// [`verify_at`](Self::verify_at) from plain `(name, value)` pairs.
    ///
    /// # Errors
    /// As [`verify`](Self::verify).
    pub fn verify_pairs_at(
        &self,
        body: &[u8],
        pairs: &[(&str, &str)],
        now_unix: i64,
    ) -> Result<Verified> {
        self.verify_inner(body, Headers::Pairs(pairs), Some(now_unix))
    }

    /// [`verify_ignoring_time`](Self::verify_ignoring_time) from plain `(name, value)` pairs.
    ///
    /// # Errors
    /// As [`verify_ignoring_time`](Self::verify_ignoring_time).
    pub fn verify_pairs_ignoring_time(
        &self,
        body: &[u8],
        pairs: &[(&str, &str)],
    ) -> Result<Verified> {
        self.verify_inner(body, Headers::Pairs(pairs), None)
    }
}
