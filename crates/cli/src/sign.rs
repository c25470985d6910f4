//! `hookwire sign <scheme> --secret S … [--timestamp UNIX] [--id ID] [--header-name NAME]
//! [--key PEM_FILE] [--body FILE]`.

use hookwire_signature::{Secret, Signer};

use crate::cli::SignArgs;
use crate::error::CliError;
use crate::io::{print_lines, read_body, read_text_file};
use crate::keys;
use crate::time::unix_now;

pub(crate) fn run(args: &SignArgs) -> Result<(), CliError> {
    let scheme = keys::scheme(args.scheme, args.header_name.as_deref())?;
    let mut secrets: Vec<Secret> = args.secrets.iter().map(Secret::new).collect();
    for path in &args.keys {
        secrets.push(Secret::new(read_text_file(path)?));
    }
    if secrets.is_empty() {
        return Err(CliError::usage(
            "give at least one --secret (or --key PEM_FILE for zentitle)",
        ));
    }
    let signer = Signer::new(&scheme, &secrets).map_err(|e| CliError::usage(e.to_string()))?;
    let body = read_body(args.body.as_deref())?;
    let id = match &args.id {
        Some(id) => id.clone(),
        None => hookwire_dispatch::model::new_id("msg"),
    };
    let timestamp = args.timestamp.unwrap_or_else(unix_now);
    let headers = signer
        .sign(&id, timestamp, &body)
        .map_err(|e| CliError::usage(e.to_string()))?;
    print_lines(headers.iter().map(|(name, value)| {
        let shown = match &args.header_name {
            // Echo the caller's spelling of a renamed header.
            Some(given) if given.eq_ignore_ascii_case(name.as_str()) => given.clone(),
            _ => display_name(name.as_str()),
        };
        format!("{shown}: {}", String::from_utf8_lossy(value.as_bytes()))
    }))
}

/// The header name as the vendors write it (HTTP header names are case-insensitive; this is
/// only for people reading the output).
pub(crate) fn display_name(lower: &str) -> String {
    match lower {
        "x-ztc-signature" => "X-ZTC-Signature".to_owned(),
        "x-zta-signature" => "X-ZTA-Signature".to_owned(),
        "zitadel-signature" => "ZITADEL-Signature".to_owned(),
        "n-signature" => "N-Signature".to_owned(),
        "stripe-signature" => "Stripe-Signature".to_owned(),
        "x-hub-signature-256" => "X-Hub-Signature-256".to_owned(),
        // Standard Webhooks writes its headers in lowercase; keep unknown names as given.
        other => other.to_owned(),
    }
}
