//! `hookwire verify <scheme> --secret S … --header "Name: value" … [--body FILE] [--now UNIX]
//! [--tolerance SECS] [--header-name NAME]`.

use std::time::Duration;

use hookwire_signature::{Tolerance, Verifier};

use crate::cli::{SchemeName, VerifyArgs};
use crate::error::CliError;
use crate::io::{print_line, read_body};
use crate::keys;
use crate::time::unix_now;

pub(crate) fn run(args: &VerifyArgs) -> Result<(), CliError> {
    let verifier = verifier(
        args.scheme,
        &args.keys,
        args.header_name.as_deref(),
        args.tolerance,
    )?;
    let headers = args
        .headers
        .iter()
        .map(|h| parse_header(h))
        .collect::<Result<Vec<_>, _>>()?;
    let body = read_body(args.body.as_deref())?;
    let now = args.now.unwrap_or_else(unix_now);
    match verifier.verify_pairs_at(&body, &headers, now) {
        Ok(_) => print_line("verified"),
        Err(e) => Err(CliError::failed(format!("not verified: {e}"))),
    }
}

/// The verifier for a scheme, its keys, an optional header rename and tolerance (shared with
/// `listen`). An unusable key is bad usage.
pub(crate) fn verifier(
    scheme: SchemeName,
    keys: &crate::cli::KeyArgs,
    header_name: Option<&str>,
    tolerance: Option<u64>,
) -> Result<Verifier, CliError> {
    let scheme = keys::scheme(scheme, header_name)?;
    let secrets = keys::verifying_secrets(keys)?;
    let verifier = Verifier::new(&scheme, &secrets).map_err(|e| CliError::usage(e.to_string()))?;
    Ok(match tolerance {
        Some(secs) => verifier.with_tolerance(Tolerance::symmetric(Duration::from_secs(secs))),
        None => verifier,
    })
}

/// `Name: value` → (`Name`, `value`), the value trimmed of surrounding whitespace.
fn parse_header(text: &str) -> Result<(&str, &str), CliError> {
    match text.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() => Ok((name.trim(), value.trim())),
        _ => Err(CliError::usage(format!(
            "--header `{text}` is not of the form `Name: value`"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_header;

    #[test]
    fn header_lines() {
        assert_eq!(
            parse_header("X-ZTC-Signature: t=1,v1=ab").ok(),
            Some(("X-ZTC-Signature", "t=1,v1=ab"))
        );
        // Only the first colon splits: values may contain colons.
        assert_eq!(parse_header("a:b:c").ok(), Some(("a", "b:c")));
        assert!(parse_header("no colon").is_err());
        assert!(parse_header(": value").is_err());
    }
}
