//! The command's one error type: a message and whether it was bad usage (exit 2) or a failure
//! of the operation itself (exit 1).

use std::fmt;
use std::process::ExitCode;

/// What went wrong, as one line for stderr.
#[derive(Debug)]
pub(crate) struct CliError {
    kind: Kind,
    message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Bad arguments, unreadable input, unusable key: exit 2.
    Usage,
    /// The operation ran and did not succeed: exit 1.
    Failed,
}

impl CliError {
    /// Bad usage (exit 2).
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            kind: Kind::Usage,
            message: message.into(),
        }
    }

    /// The operation failed (exit 1).
    pub(crate) fn failed(message: impl Into<String>) -> Self {
        Self {
            kind: Kind::Failed,
            message: message.into(),
        }
    }

    /// Prints the error line on stderr.
    pub(crate) fn report(&self) {
        eprintln!("hookwire: {self}");
    }

    /// The process exit code: 2 for usage, 1 otherwise.
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self.kind {
            Kind::Usage => ExitCode::from(2),
            Kind::Failed => ExitCode::from(1),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
