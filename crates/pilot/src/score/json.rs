//! Finding the JSON in an answer, and reading a field of it.

use serde_json::Value;

/// The JSON value in `answer`: the whole trimmed answer if it parses, else the first fenced
/// code block (```` ```json ```` or a bare ```` ``` ````) whose body parses.
pub fn extract_json(answer: &str) -> Result<Value, String> {
    let trimmed = answer.trim();
    if trimmed.is_empty() {
        return Err("empty answer".into());
    }
    let whole_err = match serde_json::from_str::<Value>(trimmed) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    let mut rest = trimmed;
    let mut fences = 0;
    while let Some(open) = rest.find("```") {
        let after_open = &rest[open + 3..];
        // The info string (`json`, `JSON`, nothing) runs to the end of the line.
        let body_start = after_open.find('\n').map_or(after_open.len(), |n| n + 1);
        let body = &after_open[body_start..];
        let Some(close) = body.find("```") else { break };
        fences += 1;
        if let Ok(v) = serde_json::from_str::<Value>(body[..close].trim()) {
            return Ok(v);
        }
        rest = &body[close + 3..];
    }
    if fences == 0 {
        Err(format!("not JSON: {whole_err}"))
    } else {
        Err(format!("not JSON, and none of {fences} fenced block(s) parses"))
    }
}

/// The value at a dot path (`customer.name`, `lines.0.total`); an empty path is the value.
pub fn field<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return Some(value);
    }
    path.split('.').try_fold(value, |v, key| match v {
        Value::Object(map) => map.get(key),
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// A scalar as text for comparison (strings unquoted).
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some("null".into()),
        Value::Array(_) | Value::Object(_) => None,
    }
}

/// Whether an extracted field matches the expected value: numbers numerically (also a number
/// written as a string, `"1,000.00"`), other scalars after text normalisation, arrays and
/// objects structurally.
pub fn values_match(actual: &Value, expected: &Value) -> bool {
    if let (Some(a), Some(e)) = (as_number(actual), as_number(expected)) {
        return (a - e).abs() <= 1e-9 * a.abs().max(e.abs()).max(1.0);
    }
    match (scalar_text(actual), scalar_text(expected)) {
        (Some(a), Some(e)) => super::text::equals_normalised(&a, &e),
        _ => actual == expected,
    }
}

/// A number, or a string that is exactly one number once normalised.
fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            let toks = super::text::raw_tokens(s);
            match toks.as_slice() {
                [super::text::Token::Number(_, x)] => Some(*x),
                _ => None,
            }
        }
        _ => None,
    }
}
