//! OpenAI evals JSONL samples: `{"input": [chat messages] | "text", "ideal": "text" | ["text",
//! ...]}` per line. A list of ideals means any of them is right. An `id` is kept when present
//! (else the task is named `line-N`); other keys go to the metadata.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::jsonl::parse_expected;
use super::{Rows, kind, parse_messages, scalar_text};
use crate::task::{Task, TaskInput};

pub(crate) fn read(text: &str, rows: &mut Rows) {
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let n = i + 1;
        let row = match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(obj)) => sample(obj, n),
            Ok(other) => Err(format!("expected a JSON object, got {}", kind(&other))),
            Err(e) => Err(format!("not JSON: {e}")),
        };
        rows.push_result(n, row);
    }
}

fn sample(mut obj: Map<String, Value>, line: usize) -> Result<Task, String> {
    let id = match obj.remove("id") {
        None | Some(Value::Null) => format!("line-{line}"),
        Some(v) => scalar_text(&v).ok_or_else(|| format!("id must be a string or a number, got {}", kind(&v)))?,
    };
    let input = match obj.remove("input") {
        Some(Value::String(s)) if !s.trim().is_empty() => TaskInput::Prompt(s),
        Some(Value::String(_)) => return Err("input is empty".into()),
        Some(m @ Value::Array(_)) => TaskInput::Messages(parse_messages(&m)?),
        Some(other) => return Err(format!("input must be chat messages or a string, got {}", kind(&other))),
        None => return Err("no `input`".into()),
    };
    let expected = match obj.remove("ideal") {
        None | Some(Value::Null) => None,
        Some(v) => Some(parse_expected(&v).map_err(|e| e.replace("expected", "ideal"))?),
    };
    let metadata: BTreeMap<String, Value> = obj.into_iter().collect();
    Ok(Task { id, input, expected, asserts: Vec::new(), metadata })
}
