//! Reading bodies and key files, writing output lines.

use std::io::{Read as _, Write as _};
use std::path::Path;

use crate::error::CliError;

/// Reads the body as raw bytes from `path`, or from stdin when it is absent or `-`.
pub(crate) fn read_body(path: Option<&Path>) -> Result<Vec<u8>, CliError> {
    match path {
        Some(p) if p != Path::new("-") => std::fs::read(p)
            .map_err(|e| CliError::usage(format!("cannot read body file {}: {e}", p.display()))),
        _ => {
            let mut body = Vec::new();
            std::io::stdin()
                .lock()
                .read_to_end(&mut body)
                .map_err(|e| CliError::usage(format!("cannot read the body from stdin: {e}")))?;
            Ok(body)
        }
    }
}

/// Reads a key file as text.
pub(crate) fn read_text_file(path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path)
        .map_err(|e| CliError::usage(format!("cannot read key file {}: {e}", path.display())))
}

/// Reads an encryption key file: one `hookwire keygen encryption` key per line, oldest
/// first. Errors name the file, never a key.
pub(crate) fn read_key_file(
    path: &Path,
) -> Result<Vec<hookwire_dispatch::EncryptionKey>, CliError> {
    let text = zeroize::Zeroizing::new(read_text_file(path)?);
    let keys = hookwire_dispatch::EncryptionKey::parse_many(&text)
        .map_err(|e| CliError::usage(format!("key file {}: {e}", path.display())))?;
    if keys.is_empty() {
        return Err(CliError::usage(format!(
            "key file {} holds no key (make one with `hookwire keygen encryption`)",
            path.display()
        )));
    }
    Ok(keys)
}

/// Writes lines to stdout. A closed pipe (`hookwire … | head`) ends quietly with an error
/// instead of a panic.
pub(crate) fn print_lines<I, S>(lines: I) -> Result<(), CliError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for line in lines {
        writeln!(out, "{}", line.as_ref())
            .map_err(|e| CliError::failed(format!("cannot write to stdout: {e}")))?;
    }
    out.flush()
        .map_err(|e| CliError::failed(format!("cannot write to stdout: {e}")))
}

/// Writes one line to stdout (see [`print_lines`]).
pub(crate) fn print_line(line: &str) -> Result<(), CliError> {
    print_lines([line])
}
