//! `hookwire keygen <scheme> [--public] [--ed25519] [--key PEM_FILE]` and
//! `hookwire keygen encryption [--id ID]`.

use hookwire_dispatch::EncryptionKey;
use hookwire_signature::{Scheme, Secret};

use crate::cli::{KeygenArgs, KeygenTarget, SchemeName};
use crate::error::CliError;
use crate::io::{print_line, read_text_file};

pub(crate) fn run(args: &KeygenArgs) -> Result<(), CliError> {
    let scheme = match args.scheme {
        KeygenTarget::Encryption => return encryption(args),
        KeygenTarget::Scheme(s) => s,
    };
    if args.id.is_some() {
        return Err(CliError::usage("--id applies only to `encryption`"));
    }
    scheme_secret(args, scheme)
}

/// `hookwire keygen encryption`: a fresh AES-256 key in its text form.
fn encryption(args: &KeygenArgs) -> Result<(), CliError> {
    if args.public || args.ed25519 || args.key.is_some() {
        return Err(CliError::usage(
            "--public, --ed25519 and --key do not apply to `encryption` (a symmetric key)",
        ));
    }
    let key = EncryptionKey::generate(args.id.as_deref()).map_err(|e| match e {
        hookwire_dispatch::KeyError::Rng => CliError::failed(e.to_string()),
        other => CliError::usage(other.to_string()),
    })?;
    print_text(&key.to_text())
}

fn scheme_secret(args: &KeygenArgs, scheme_name: SchemeName) -> Result<(), CliError> {
    let name = match (scheme_name, args.ed25519) {
        (SchemeName::Standard, true) => "standard-v1a",
        (_, true) => return Err(CliError::usage("--ed25519 applies only to `standard`")),
        (s, false) => s.as_str(),
    };
    let scheme = Scheme::from_name(name).map_err(|e| CliError::usage(e.to_string()))?;
    let asymmetric = matches!(scheme_name, SchemeName::Zentitle) || args.ed25519;
    if args.public && !asymmetric {
        return Err(CliError::usage(format!(
            "`{}` is symmetric: the receiver verifies with the same secret (--public applies to \
             zentitle and standard --ed25519)",
            scheme_name.as_str()
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
