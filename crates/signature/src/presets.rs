//! Family presets: the header names and formats of each vendor, as plain data.

/// ZeroTier Central: `X-ZTC-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]` over `"{t}," + body`,
/// key = the hex-decoded secret (64 hex digits). Upstream (`ztchooks`) checks only the past
/// (300 s) and accepts any future timestamp; our default [`Tolerance`](crate::Tolerance) also
/// bounds the future.
pub mod zerotier {
    use crate::mac::KeyEncoding;
    use crate::timestamped::{SignatureKeys, TimestampedFormat};

    /// `X-ZTC-Signature`.
    pub const HEADER: &str = "x-ztc-signature";

    /// The format: separator `,`, hex-decoded key, any key containing `v` is a signature.
    pub fn format() -> TimestampedFormat {
        TimestampedFormat {
            header: HEADER.to_owned(),
            separator: ',',
            key: KeyEncoding::Hex,
            signature_keys: SignatureKeys::ContainsV,
        }
    }
}

/// ZITADEL Actions v2: `ZITADEL-Signature: t=<unix>,v1=<hex>[,…]` over `"{t}." + body`, key =
/// the signing key's UTF-8 bytes. Upstream (`zitadel-go`) checks only the past (300 s).
pub mod zitadel {
    use crate::mac::KeyEncoding;
    use crate::timestamped::{SignatureKeys, TimestampedFormat};

    /// `ZITADEL-Signature`.
    pub const HEADER: &str = "zitadel-signature";

    /// The format: separator `.`, raw key, `v1` signatures.
    pub fn format() -> TimestampedFormat {
        TimestampedFormat {
            header: HEADER.to_owned(),
            separator: '.',
            key: KeyEncoding::Utf8,
            signature_keys: SignatureKeys::V1,
        }
    }
}

/// Zero Trust Analytics: `X-ZTA-Signature: <hex>` (what the code sends) or `sha256=<hex>`
/// (what the docs show), HMAC over the body, key = UTF-8 of the whole `whsec_…` string. No
/// timestamp.
pub mod zta {
    use crate::body_hex::BodyHexFormat;
    use crate::mac::KeyEncoding;

    /// `X-ZTA-Signature`.
    pub const HEADER: &str = "x-zta-signature";

    /// The format; `bare_hex` signs without the `sha256=` prefix (verification accepts both).
    pub fn format(bare_hex: bool) -> BodyHexFormat {
        BodyHexFormat {
            header: HEADER.to_owned(),
            prefix: "sha256=".to_owned(),
            prefix_required: false,
            emit_prefix: !bare_hex,
            key: KeyEncoding::Utf8,
        }
    }
}

/// Hub Message (hubmessage.io): lowercase hex HMAC over the body, optional `sha256=` accepted.
///
/// The vendor does not publish the header name: take it from the Hub Message console and pass
/// it as the `header` parameter. `DEFAULT_HEADER` is only a placeholder used by
/// [`Scheme::from_name`](crate::Scheme::from_name). The key is the 64-hex secret used as ASCII
/// by default, or hex-decoded with `HubKeyEncoding::Hex`.
pub mod hub_message {
    use serde::{Deserialize, Serialize};

    use crate::body_hex::BodyHexFormat;
    use crate::mac::KeyEncoding;

    /// Placeholder header name (`X-HubMessage-Signature`); not confirmed by the vendor.
    pub const DEFAULT_HEADER: &str = "x-hubmessage-signature";

    /// How the Hub Message secret becomes the HMAC key.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "kebab-case")]
    #[non_exhaustive]
    pub enum HubKeyEncoding {
        /// The 64-hex secret's ASCII bytes (default).
        #[default]
        Ascii,
        /// The secret hex-decoded to 32 bytes.
        Hex,
    }

    /// The format for `header` and `key`.
    pub fn format(header: &str, key: HubKeyEncoding) -> BodyHexFormat {
        BodyHexFormat {
            header: header.to_owned(),
            prefix: "sha256=".to_owned(),
            prefix_required: false,
            emit_prefix: false,
            key: match key {
                HubKeyEncoding::Ascii => KeyEncoding::Utf8,
                HubKeyEncoding::Hex => KeyEncoding::Hex,
            },
        }
    }
}

/// Generic presets: Stripe-style and GitHub-style.
pub mod generic {
    use crate::body_hex::BodyHexFormat;
    use crate::mac::KeyEncoding;
    use crate::timestamped::{SignatureKeys, TimestampedFormat};

    /// `Stripe-Signature`.
    pub const STRIPE_HEADER: &str = "stripe-signature";
    /// `X-Hub-Signature-256`.
    pub const GITHUB_HEADER: &str = "x-hub-signature-256";

    /// Stripe: `Stripe-Signature: t=,v1=` over `"{t}." + body`, key = the whole `whsec_…`
    /// string's bytes (no base64 decoding); `v0` is ignored. Stripe's SDKs check only the past.
    pub fn stripe() -> TimestampedFormat {
        TimestampedFormat {
            header: STRIPE_HEADER.to_owned(),
            separator: '.',
            key: KeyEncoding::Utf8,
            signature_keys: SignatureKeys::V1,
        }
    }

    /// GitHub: `X-Hub-Signature-256: sha256=<hex>` over the body, raw secret; prefix required.
    pub fn github() -> BodyHexFormat {
        BodyHexFormat {
            header: GITHUB_HEADER.to_owned(),
            prefix: "sha256=".to_owned(),
            prefix_required: true,
            emit_prefix: true,
            key: KeyEncoding::Utf8,
        }
    }
}
