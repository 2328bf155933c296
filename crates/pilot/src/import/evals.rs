//! OpenAI evals JSONL samples: `{"input": [chat messages] | "text", "ideal": "text" | ["text",
//! ...]}` per line. A list of ideals means any of them is right. An `id` is kept when present
//! (else the task is named `line-N`); other keys go to the metadata.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::jsonl::parse_expected;
use super::{Rows, kind, parse_messages};
use crate::task::{Task, TaskInput};

pub(crate) fn read(text: &str, rows: &mut Rows) {
    super::json_lines(text, rows, sample);
}

fn sample(mut obj: Map<String, Value>, line: usize) -> Result<Task, String> {
    let id = super::task_id(&mut obj, line)?;
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
