//! The one error type every parser in this crate returns.

/// Why a payload was refused. Every variant that concerns a field carries its path
/// (`"text.message"`, `"ids[0]"`, `"payload.seatsUsed"`); the empty path is the document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The bytes are not one JSON document (syntax error, trailing data, nesting too deep).
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the JSON parser reported.
        message: String,
    },
    /// The document is valid JSON but not an object.
    #[error("expected a JSON object, found {found}")]
    NotAnObject {
        /// The JSON kind found instead (`"array"`, `"string"`, ...).
        found: &'static str,
    },
    /// A required field is absent.
    #[error("missing field `{path}`")]
    MissingField {
        /// Path of the missing field.
        path: String,
    },
    /// A field is present but has the wrong type or an invalid value.
    #[error("invalid value at `{path}`: {message}")]
    InvalidField {
        /// Path of the offending field (empty for the document itself).
        path: String,
        /// What was wrong.
        message: String,
    },
}

impl ParseError {
    /// The path of the field the error is about, if it is about one.
    pub fn path(&self) -> Option<&str> {
        match self {
            Self::MissingField { path } | Self::InvalidField { path, .. } => Some(path),
            Self::Syntax { .. } | Self::NotAnObject { .. } => None,
        }
    }

    pub(crate) fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidField {
            path: path.into(),
            message: message.into(),
        }
    }

    /// Re-roots the error's path under `prefix`.
    pub(crate) fn under(self, prefix: &str) -> Self {
        match self {
            Self::MissingField { path } => Self::MissingField {
                path: join_path(prefix, &path),
            },
            Self::InvalidField { path, message } => Self::InvalidField {
                path: join_path(prefix, &path),
                message,
            },
            other => other,
        }
    }
}

/// Joins two path fragments: `a` + `b` → `a.b`, `a` + `[0]` → `a[0]`.
pub(crate) fn join_path(prefix: &str, path: &str) -> String {
    if prefix.is_empty() {
        path.to_owned()
    } else if path.is_empty() {
        prefix.to_owned()
    } else if path.starts_with('[') {
        format!("{prefix}{path}")
    } else {
        format!("{prefix}.{path}")
    }
}
