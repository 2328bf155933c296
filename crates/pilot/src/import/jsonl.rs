//! arbitre's own JSONL: one task per line,
//! `{"id": .., "messages": [..] | "prompt": "..", "expected"?: ".." | [..], "asserts"?: [..],
//! "metadata"?: {..}}`. Blank lines are skipped; `assert` is accepted for `asserts` (promptfoo's
//! spelling); other keys are kept in the metadata. Without an `id` a task is named `line-N`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{Rows, kind, parse_messages, scalar_text};
use crate::task::{Assert, Expected, Task, TaskInput};

/// Every assert type this format knows (the `type` tags of [`Assert`]).
const TYPES: &[&str] = &[
    "equals",
    "contains",
    "icontains",
    "contains-any",
    "icontains-any",
    "contains-all",
    "icontains-all",
    "starts-with",
    "regex",
    "is-json",
    "json-field",
    "numeric",
    "f1",
    "rouge-l",
    "levenshtein",
    "word-count",
    "latency",
    "cost",
    "not",
];

pub(crate) fn read(text: &str, rows: &mut Rows) {
    super::json_lines(text, rows, task_from_object);
}

fn task_from_object(mut obj: Map<String, Value>, line: usize) -> Result<Task, String> {
    let id = super::task_id(&mut obj, line)?;
    let input = match (obj.remove("messages"), obj.remove("prompt")) {
        (Some(m), None) => TaskInput::Messages(parse_messages(&m)?),
        (None, Some(Value::String(p))) => TaskInput::Prompt(p),
        (None, Some(p)) => return Err(format!("prompt must be a string, got {}", kind(&p))),
        (Some(_), Some(_)) => return Err("both `messages` and `prompt`: give one".into()),
        (None, None) => return Err("no `messages` and no `prompt`".into()),
    };
    let expected = match obj.remove("expected") {
        None | Some(Value::Null) => None,
        Some(v) => Some(parse_expected(&v)?),
    };
    let asserts = match (obj.remove("asserts"), obj.remove("assert")) {
        (Some(a), None) | (None, Some(a)) => parse_asserts(&a)?,
        (None, None) => Vec::new(),
        (Some(_), Some(_)) => return Err("both `asserts` and `assert`: give one".into()),
    };
    let mut metadata: BTreeMap<String, Value> = match obj.remove("metadata") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(m)) => m.into_iter().collect(),
        Some(other) => return Err(format!("metadata must be an object, got {}", kind(&other))),
    };
    metadata.extend(obj);
    Ok(Task { id, input, expected, asserts, metadata })
}

/// `"text"`, a number, or a list of them (any is right).
pub(crate) fn parse_expected(v: &Value) -> Result<Expected, String> {
    match v {
        Value::Array(items) => {
            let texts = items
                .iter()
                .map(|x| scalar_text(x).ok_or_else(|| format!("expected list items must be text, got {}", kind(x))))
                .collect::<Result<Vec<_>, _>>()?;
            if texts.is_empty() { Err("expected is an empty list".into()) } else { Ok(Expected::AnyOf(texts)) }
        }
        other => scalar_text(other)
            .map(Expected::One)
            .ok_or_else(|| format!("expected must be text or a list of texts, got {}", kind(other))),
    }
}

/// A list of asserts in arbitre's serde form, with a readable message for an unknown type.
pub(crate) fn parse_asserts(v: &Value) -> Result<Vec<Assert>, String> {
    let Value::Array(items) = v else { return Err(format!("asserts must be a list, got {}", kind(v))) };
    items.iter().enumerate().map(|(i, a)| parse_assert(a).map_err(|e| format!("assert {}: {e}", i + 1))).collect()
}

fn parse_assert(v: &Value) -> Result<Assert, String> {
    let ty = v.get("type").and_then(Value::as_str).ok_or("no string `type`")?;
    if !TYPES.contains(&ty) {
        return Err(format!("unsupported assert type {ty:?}"));
    }
    serde_json::from_value(v.clone()).map_err(|e| format!("{ty}: {e}"))
}
