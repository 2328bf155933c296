//! The crate's one error type.

use thiserror::Error;

/// What can stop a whole import or export. A single unreadable row is not an error of this
/// kind: it is listed in [`crate::Import::errors`] and the other rows still load.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PilotError {
    /// The file's format could not be told from its name or its content.
    #[error("cannot tell the format of {file_name:?}: {reason}")]
    UnknownFormat {
        /// The file name as given.
        file_name: String,
        /// What was looked at and why it did not match.
        reason: String,
    },
    /// The file as a whole does not parse (a YAML or JSON syntax error, a CSV without a header).
    #[error("{format}: line {line}: {reason}")]
    Malformed {
        /// The format it was read as.
        format: &'static str,
        /// 1-based line where the problem was found (0 when unknown).
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A file needs a prompt template (promptfoo CSV) and none was given or could be guessed.
    #[error("{format} needs a prompt template: {reason}")]
    NeedsTemplate {
        /// The format it was read as.
        format: &'static str,
        /// Why none could be guessed.
        reason: String,
    },
    /// A prompt template does not compile.
    #[error("prompt template: {reason}")]
    Template {
        /// The template engine's message.
        reason: String,
    },
    /// A report could not be written or read back.
    #[error("report {what}: {reason}")]
    Report {
        /// Which export (`csv`, `json`).
        what: &'static str,
        /// The underlying message.
        reason: String,
    },
}

/// Shorthand for this crate's results.
pub type Result<T> = std::result::Result<T, PilotError>;
