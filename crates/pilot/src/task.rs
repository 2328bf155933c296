//! The task model: what one pilot task asks, what it expects, and how its answer is checked.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One chat message of a task's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// `system`, `user` or `assistant` (kept as written; the runner maps it).
    pub role: String,
    /// The message text.
    pub content: String,
}

/// What is sent to a model: a whole conversation, or one user prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskInput {
    /// Chat messages, in order.
    Messages(Vec<Message>),
    /// A single user prompt.
    Prompt(String),
}

impl TaskInput {
    /// The input as chat messages (a prompt becomes one `user` message).
    pub fn to_messages(&self) -> Vec<Message> {
        match self {
            TaskInput::Messages(m) => m.clone(),
            TaskInput::Prompt(p) => vec![Message { role: "user".into(), content: p.clone() }],
        }
    }

    /// The input as one text, messages as `role: content` lines (for reports and CSV).
    pub fn display_text(&self) -> String {
        match self {
            TaskInput::Prompt(p) => p.clone(),
            TaskInput::Messages(m) => {
                m.iter().map(|m| format!("{}: {}", m.role, m.content)).collect::<Vec<_>>().join("\n")
            }
        }
    }
}

/// The reference answer: one text, or several that are all acceptable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Expected {
    /// One reference answer.
    One(String),
    /// Any of these is a right answer (OpenAI evals' `ideal` list).
    AnyOf(Vec<String>),
}

impl Expected {
    /// Every acceptable answer.
    pub fn answers(&self) -> Vec<&str> {
        match self {
            Expected::One(s) => vec![s.as_str()],
            Expected::AnyOf(v) => v.iter().map(String::as_str).collect(),
        }
    }

    /// The answers joined with ` | ` (for reports).
    pub fn display_text(&self) -> String {
        self.answers().join(" | ")
    }
}

/// One deterministic check on an answer. The `type` tags follow promptfoo's names where
/// promptfoo has the same check; `f1`, `rouge-l`, `numeric`, `word-count` and `json-field` are
/// arbitre's own. Every check is evaluated by [`crate::score::evaluate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Assert {
    /// Equal after normalisation (case, punctuation, articles, whitespace, number formats).
    Equals {
        /// The reference.
        value: String,
    },
    /// The answer contains this text (case-sensitive).
    Contains {
        /// The text to find.
        value: String,
    },
    /// The answer contains this text, ignoring case.
    Icontains {
        /// The text to find.
        value: String,
    },
    /// The answer contains at least one of these texts (case-sensitive).
    ContainsAny {
        /// The texts to find.
        values: Vec<String>,
    },
    /// The answer contains at least one of these texts, ignoring case.
    IcontainsAny {
        /// The texts to find.
        values: Vec<String>,
    },
    /// The answer contains every one of these texts (case-sensitive).
    ContainsAll {
        /// The texts to find.
        values: Vec<String>,
    },
    /// The answer contains every one of these texts, ignoring case.
    IcontainsAll {
        /// The texts to find.
        values: Vec<String>,
    },
    /// The answer, leading whitespace aside, starts with this text.
    StartsWith {
        /// The expected beginning.
        value: String,
    },
    /// The answer matches this regular expression (Rust `regex` syntax) somewhere.
    Regex {
        /// The pattern.
        pattern: String,
    },
    /// The answer is JSON (whole, or inside a fenced code block), and valid against `schema`
    /// when one is given (see [`crate::score::schema`] for the supported subset).
    IsJson {
        /// A JSON Schema the value must satisfy.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        schema: Option<serde_json::Value>,
    },
    /// The answer is JSON and the field at `path` (dot-separated keys and array indices, e.g.
    /// `lines.0.total`) equals `value`: numbers numerically, strings after normalisation.
    JsonField {
        /// Dot path inside the JSON answer.
        path: String,
        /// The expected value.
        value: serde_json::Value,
    },
    /// The number in the answer (the last one when there are several; `1,000.5`, `3,5` and
    /// `1 000` with a no-break space are read as numbers) is within `tolerance` of `value`.
    Numeric {
        /// The expected number.
        value: f64,
        /// Largest accepted absolute difference.
        #[serde(default)]
        tolerance: f64,
    },
    /// Token F1 (SQuAD style, on normalised tokens) against `value` is at least `threshold`.
    F1 {
        /// The reference.
        value: String,
        /// Lowest passing F1, 0 to 1.
        #[serde(default = "default_threshold")]
        threshold: f64,
    },
    /// ROUGE-L F-measure (LCS of normalised tokens) against `value` is at least `threshold`.
    RougeL {
        /// The reference.
        value: String,
        /// Lowest passing F-measure, 0 to 1.
        #[serde(default = "default_threshold")]
        threshold: f64,
    },
    /// Character Levenshtein distance to `value` (both trimmed): passes when the similarity
    /// `1 - distance / longer length` is at least `min_similarity` and, when given, the
    /// distance is at most `max_distance` (promptfoo's `threshold`).
    Levenshtein {
        /// The reference.
        value: String,
        /// Lowest passing similarity, 0 to 1.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_similarity: Option<f64>,
        /// Largest passing edit distance.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_distance: Option<usize>,
    },
    /// The answer has between `min` and `max` words (inclusive; either may be absent).
    WordCount {
        /// Fewest words.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<usize>,
        /// Most words.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<usize>,
    },
    /// The whole answer took at most `max_ms` milliseconds.
    Latency {
        /// Largest passing latency in milliseconds.
        max_ms: u64,
    },
    /// The request cost at most `max_usd` US dollars.
    Cost {
        /// Largest passing cost in USD.
        max_usd: f64,
    },
    /// Passes when the inner check fails (promptfoo's `not-` prefix).
    Not {
        /// The negated check.
        assert: Box<Assert>,
    },
}

fn default_threshold() -> f64 {
    0.5
}

impl Assert {
    /// The check's type tag as written in files (`not-contains` for a negated `contains`).
    pub fn type_name(&self) -> String {
        match self {
            Assert::Equals { .. } => "equals".into(),
            Assert::Contains { .. } => "contains".into(),
            Assert::Icontains { .. } => "icontains".into(),
            Assert::ContainsAny { .. } => "contains-any".into(),
            Assert::IcontainsAny { .. } => "icontains-any".into(),
            Assert::ContainsAll { .. } => "contains-all".into(),
            Assert::IcontainsAll { .. } => "icontains-all".into(),
            Assert::StartsWith { .. } => "starts-with".into(),
            Assert::Regex { .. } => "regex".into(),
            Assert::IsJson { .. } => "is-json".into(),
            Assert::JsonField { .. } => "json-field".into(),
            Assert::Numeric { .. } => "numeric".into(),
            Assert::F1 { .. } => "f1".into(),
            Assert::RougeL { .. } => "rouge-l".into(),
            Assert::Levenshtein { .. } => "levenshtein".into(),
            Assert::WordCount { .. } => "word-count".into(),
            Assert::Latency { .. } => "latency".into(),
            Assert::Cost { .. } => "cost".into(),
            Assert::Not { assert } => format!("not-{}", assert.type_name()),
        }
    }

    /// Checks what can be checked before any answer exists: the regex compiles, thresholds are
    /// in range, a schema is an object. Importers turn an `Err` into a row error.
    pub fn validate(&self) -> Result<(), String> {
        let unit = |name: &str, t: f64| {
            if (0.0..=1.0).contains(&t) { Ok(()) } else { Err(format!("{name} threshold {t} is not between 0 and 1")) }
        };
        match self {
            Assert::Regex { pattern } => {
                regex::Regex::new(pattern).map(|_| ()).map_err(|e| format!("invalid regex {pattern:?}: {e}"))
            }
            Assert::IsJson { schema: Some(s) } if !s.is_object() && !s.is_boolean() => {
                Err(format!("is-json schema must be a JSON object, got {s}"))
            }
            Assert::IsJson { schema: Some(s) } => {
                let unsupported = crate::score::schema::unsupported_keywords(s);
                if unsupported.is_empty() {
                    Ok(())
                } else {
                    Err(format!("JSON Schema keywords not supported: {}", unsupported.join(", ")))
                }
            }
            Assert::F1 { threshold, .. } => unit("f1", *threshold),
            Assert::RougeL { threshold, .. } => unit("rouge-l", *threshold),
            Assert::Levenshtein { min_similarity: Some(t), .. } => unit("levenshtein", *t),
            Assert::Numeric { value, tolerance }
                if !value.is_finite() || !tolerance.is_finite() || *tolerance < 0.0 =>
            {
                Err(format!("numeric needs a finite value and a tolerance >= 0 (got {value}, {tolerance})"))
            }
            Assert::WordCount { min: Some(a), max: Some(b) } if a > b => {
                Err(format!("word-count min {a} is greater than max {b}"))
            }
            Assert::ContainsAny { values }
            | Assert::IcontainsAny { values }
            | Assert::ContainsAll { values }
            | Assert::IcontainsAll { values }
                if values.is_empty() =>
            {
                Err(format!("{} needs at least one value", self.type_name()))
            }
            Assert::Cost { max_usd } if !max_usd.is_finite() || *max_usd < 0.0 => {
                Err(format!("cost threshold must be a finite number >= 0 (got {max_usd})"))
            }
            Assert::Not { assert } => assert.validate(),
            _ => Ok(()),
        }
    }
}

/// One pilot task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Unique within its set.
    pub id: String,
    /// What the model is asked.
    pub input: TaskInput,
    /// The reference answer, when there is one. A task with a reference and no asserts is
    /// scored by normalised equality with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<Expected>,
    /// Checks; the task passes when all of them pass.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub asserts: Vec<Assert>,
    /// Anything else the file carried (promptfoo's `__description` lands in `description`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, serde_json::Value>,
}

impl Task {
    /// A task with a prompt and nothing else.
    pub fn prompt(id: impl Into<String>, prompt: impl Into<String>) -> Self {
        Task {
            id: id.into(),
            input: TaskInput::Prompt(prompt.into()),
            expected: None,
            asserts: Vec::new(),
            metadata: BTreeMap::new(),
        }
    }
}
