//! Schemes and secrets from command-line arguments.

use hookwire_signature::{Scheme, Secret, generic, zerotier, zitadel, zta};

use crate::cli::{KeyArgs, SchemeName};
use crate::error::CliError;
use crate::io::read_text_file;

/// The scheme for `name`, with the signature header renamed when `header_name` is given.
///
/// hub-message takes its header from the vendor's console, so `--header-name` is how it is
/// set; the other HMAC schemes accept a rename too (a proxy that renames headers), while
/// zentitle and standard have fixed headers.
pub(crate) fn scheme(name: SchemeName, header_name: Option<&str>) -> Result<Scheme, CliError> {
    let scheme = Scheme::from_name(name.as_str()).map_err(|e| CliError::usage(e.to_string()))?;
    let Some(header) = header_name else {
        return Ok(scheme);
    };
    if http::HeaderName::from_bytes(header.as_bytes()).is_err() {
        return Err(CliError::usage(format!(
            "--header-name `{header}` is not a valid HTTP header name"
        )));
    }
    let header = header.to_owned();
    Ok(match scheme {
        Scheme::HubMessage { key, .. } => Scheme::HubMessage { header, key },
        Scheme::ZeroTier => Scheme::Timestamped(with_header(zerotier::format(), header)),
        Scheme::Zitadel => Scheme::Timestamped(with_header(zitadel::format(), header)),
        Scheme::Stripe => Scheme::Timestamped(with_header(generic::stripe(), header)),
        Scheme::Zta { bare_hex } => {
            let mut f = zta::format(bare_hex);
            f.header = header;
            Scheme::BodyHex(f)
        }
        Scheme::GitHub => {
            let mut f = generic::github();
            f.header = header;
            Scheme::BodyHex(f)
        }
        other => {
            return Err(CliError::usage(format!(
                "--header-name does not apply to `{}`: its header names are fixed",
                other.name()
            )));
        }
    })
}

fn with_header(
    mut format: hookwire_signature::TimestampedFormat,
    header: String,
) -> hookwire_signature::TimestampedFormat {
    format.header = header;
    format
}

/// The verifying secrets: every `--secret`, the contents of every `--public-key` file and
/// every `--modulus`. At least one is required.
pub(crate) fn verifying_secrets(args: &KeyArgs) -> Result<Vec<Secret>, CliError> {
    let mut secrets: Vec<Secret> = args.secrets.iter().map(Secret::new).collect();
    for path in &args.public_keys {
        secrets.push(Secret::new(read_text_file(path)?));
    }
    secrets.extend(args.moduli.iter().map(Secret::new));
    if secrets.is_empty() {
        return Err(CliError::usage(
            "give at least one --secret (or --public-key / --modulus for zentitle)",
        ));
    }
    Ok(secrets)
}

/// The webhook family whose event types and limits apply to a scheme; the generic Stripe
/// and GitHub shapes use the Standard Webhooks family (free-form event types).
pub(crate) fn family(name: SchemeName) -> hookwire_events::Family {
    use hookwire_events::Family;
    match name {
        SchemeName::Zerotier => Family::ZeroTier,
        SchemeName::Zta => Family::Zta,
        SchemeName::HubMessage => Family::HubMessage,
        SchemeName::Zitadel => Family::Zitadel,
        SchemeName::Zentitle => Family::Zentitle,
        SchemeName::Standard | SchemeName::Stripe | SchemeName::Github => Family::StandardWebhooks,
    }
}
