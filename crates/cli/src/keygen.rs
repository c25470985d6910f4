//! `hookwire keygen <scheme> [--public] [--ed25519] [--key PEM_FILE]`.

use hookwire_signature::{Scheme, Secret};

use crate::cli::{KeygenArgs, SchemeName};
use crate::error::CliError;
use crate::io::{print_line, read_text_file};

pub(crate) fn run(args: &KeygenArgs) -> Result<(), CliError> {
    let name = match (args.scheme, args.ed25519) {
        (SchemeName::Standard, true) => "standard-v1a",
        (_, true) => return Err(CliError::usage("--ed25519 applies only to `standard`")),
        (s, false) => s.as_str(),
    };
    let scheme = Scheme::from_name(name).map_err(|e| CliError::usage(e.to_string()))?;
    let asymmetric = matches!(args.scheme, SchemeName::Zentitle) || args.ed25519;
    if args.public && !asymmetric {
        return Err(CliError::usage(format!(
            "`{}` is symmetric: the receiver verifies with the same secret (--public applies to \
             zentitle and standard --ed25519)",
            args.scheme.as_str()
        )));
    }
    if let Some(path) = &args.key {
        // Derive the public half of an existing private key.
        let private = Secret::new(read_text_file(path)?.trim().to_owned());
        let public = scheme
            .verification_secret(&private)
            .map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?;
        return print_text(&public);
    }
    let secret = scheme
        .generate_secret()
        .map_err(|e| CliError::failed(format!("cannot generate a key: {e}")))?;
    print_text(&secret)?;
    if args.public {
        let public = scheme
            .verification_secret(&secret)
            .map_err(|e| CliError::failed(format!("cannot derive the public key: {e}")))?;
        print_text(&public)?;
    }
    Ok(())
}

/// Prints a secret's text; PEM blocks already end with a newline.
fn print_text(secret: &Secret) -> Result<(), CliError> {
    print_line(secret.expose_secret().trim_end())
}
