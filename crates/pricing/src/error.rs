//! The crate's one error type.

use thiserror::Error;

/// Everything that can go wrong in this crate: bad numbers typed by a person, price files
/// that do not parse, and arithmetic that would overflow 128-bit integers.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PricingError {
    /// A decimal amount (typed by a person or read from a file) is not a number.
    #[error("not a decimal number: {text:?} ({reason})")]
    BadDecimal {
        /// The text as given.
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A price, rate or count that must not be negative was negative.
    #[error("{what} must not be negative (got {text})")]
    Negative {
        /// Which quantity.
        what: &'static str,
        /// The offending value as text.
        text: String,
    },
    /// An input outside the range this crate accepts.
    #[error("{what}: {reason}")]
    OutOfRange {
        /// Which quantity.
        what: &'static str,
        /// Why it is refused, with the bounds.
        reason: String,
    },
    /// A currency code other than USD or EUR.
    #[error("unknown currency {code:?} (expected USD or EUR)")]
    UnknownCurrency {
        /// The code as given.
        code: String,
    },
    /// Two amounts in different currencies were added without converting first.
    #[error("cannot combine {left} and {right} amounts without converting")]
    CurrencyMismatch {
        /// Currency code of the left operand.
        left: &'static str,
        /// Currency code of the right operand.
        right: &'static str,
    },
    /// A date that is not `YYYY-MM-DD`.
    #[error("{field}: date must be YYYY-MM-DD, got {text:?}")]
    BadDate {
        /// Where the date was read.
        field: String,
        /// The text as given.
        text: String,
    },
    /// A price file is not valid JSON (or not the expected shape), with the position
    /// serde_json reports.
    #[error("{format}: invalid JSON at line {line}, column {column}: {message}")]
    Json {
        /// Which format was being read (e.g. "LiteLLM prices").
        format: &'static str,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// serde_json's message.
        message: String,
    },
    /// The JSON parsed but its top level is not any format this crate knows.
    #[error("{format}: {reason}")]
    UnknownLayout {
        /// Which format was being read.
        format: &'static str,
        /// What was expected and what was found.
        reason: String,
    },
    /// One field of one entry is missing or invalid.
    #[error("{format}: entry {entry:?}, field {field:?}: {reason}")]
    Field {
        /// Which format was being read.
        format: &'static str,
        /// The entry's key or model id.
        entry: String,
        /// The field name.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The same (provider, model) appears twice where that is not allowed.
    #[error("duplicate price entry for {provider}/{model}")]
    Duplicate {
        /// Provider of the duplicated entry.
        provider: String,
        /// Model id of the duplicated entry.
        model: String,
    },
    /// A computation would exceed the 128-bit range; the inputs are far beyond anything real.
    #[error("arithmetic overflow while computing {what}; the inputs are too large")]
    Overflow {
        /// What was being computed.
        what: &'static str,
    },
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, PricingError>;

impl PricingError {
    /// Wraps a serde_json error with its line and column.
    pub(crate) fn json(format: &'static str, e: &serde_json::Error) -> Self {
        PricingError::Json { format, line: e.line(), column: e.column(), message: e.to_string() }
    }
}
