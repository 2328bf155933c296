//! A JSON Schema validator for the common subset, written here rather than pulled in (the full
//! validators bring an HTTP client, a regex engine of their own and much more wasm).
//!
//! Supported keywords: `type` (one name or a list; `integer` is a number without fraction),
//! `enum`, `const`, `properties`, `required`, `additionalProperties` (boolean or schema),
//! `items` (one schema for every item), `minItems`, `maxItems`, `minLength`, `maxLength`
//! (counted in Unicode scalar values), `minimum`, `maximum`, `exclusiveMinimum`,
//! `exclusiveMaximum` (numbers, draft 6+ form), `pattern`, `anyOf`, `allOf`, `oneOf`, and the
//! boolean schemas `true` / `false`. Annotations (`title`, `description`, `default`,
//! `examples`, `format`, `$schema`, `$id`, `$comment`, `$defs`, `definitions`) are ignored, as
//! the 2020-12 draft does for `format` by default. Any other keyword (`$ref`, `not`,
//! `if`/`then`/`else`, `patternProperties`, `uniqueItems`, `multipleOf`, `prefixItems`, ...) is
//! refused when the task set is imported, so a schema is never half-checked in silence.

use serde_json::Value;

const SUPPORTED: &[&str] = &[
    "type",
    "enum",
    "const",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "pattern",
    "anyOf",
    "allOf",
    "oneOf",
];
const ANNOTATIONS: &[&str] =
    &["title", "description", "default", "examples", "format", "$schema", "$id", "$comment", "$defs", "definitions"];

/// Keywords used anywhere in `schema` that this validator does not implement, as JSON
/// pointers (`/properties/lines/$ref`). Empty when the whole schema is understood.
pub fn unsupported_keywords(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk_unsupported(schema, "", &mut out);
    out
}

fn walk_unsupported(schema: &Value, at: &str, out: &mut Vec<String>) {
    let Value::Object(map) = schema else { return };
    for (k, v) in map {
        let here = format!("{at}/{k}");
        if ANNOTATIONS.contains(&k.as_str()) {
            continue;
        }
        if !SUPPORTED.contains(&k.as_str()) {
            out.push(here);
            continue;
        }
        match (k.as_str(), v) {
            ("properties", Value::Object(props)) => {
                for (name, sub) in props {
                    walk_unsupported(sub, &format!("{here}/{name}"), out);
                }
            }
            ("items" | "additionalProperties", sub) => walk_unsupported(sub, &here, out),
            ("anyOf" | "allOf" | "oneOf", Value::Array(subs)) => {
                for (i, sub) in subs.iter().enumerate() {
                    walk_unsupported(sub, &format!("{here}/{i}"), out);
                }
            }
            _ => {}
        }
    }
}

/// Validates `value` against `schema`; every violation found, as `pointer: message`.
pub fn validate(value: &Value, schema: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(value, schema, "", &mut errors);
    errors
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn has_type(v: &Value, name: &str) -> bool {
    match name {
        "integer" => v.as_f64().is_some_and(|x| x.fract() == 0.0),
        "number" => v.is_number(),
        other => type_name(v) == other,
    }
}

fn at(path: &str) -> &str {
    if path.is_empty() { "/" } else { path }
}

fn check(value: &Value, schema: &Value, path: &str, errors: &mut Vec<String>) {
    let map = match schema {
        Value::Bool(true) => return,
        Value::Bool(false) => {
            errors.push(format!("{}: no value is allowed here", at(path)));
            return;
        }
        Value::Object(map) => map,
        _ => {
            errors.push(format!("{}: the schema is not an object", at(path)));
            return;
        }
    };
    let mut fail = |msg: String| errors.push(format!("{}: {msg}", at(path)));

    if let Some(t) = map.get("type") {
        let names: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !names.is_empty() && !names.iter().any(|n| has_type(value, n)) {
            fail(format!("expected {}, got {}", names.join(" or "), type_name(value)));
        }
    }
    if let Some(Value::Array(options)) = map.get("enum")
        && !options.contains(value)
    {
        fail(format!("{value} is not one of {}", Value::Array(options.clone())));
    }
    if let Some(c) = map.get("const")
        && c != value
    {
        fail(format!("expected {c}, got {value}"));
    }
    if let Value::String(s) = value {
        let len = s.chars().count();
        if let Some(min) = map.get("minLength").and_then(Value::as_u64)
            && (len as u64) < min
        {
            fail(format!("string of {len} characters is shorter than {min}"));
        }
        if let Some(max) = map.get("maxLength").and_then(Value::as_u64)
            && len as u64 > max
        {
            fail(format!("string of {len} characters is longer than {max}"));
        }
        if let Some(p) = map.get("pattern").and_then(Value::as_str) {
            match regex::Regex::new(p) {
                Ok(re) if re.is_match(s) => {}
                Ok(_) => fail(format!("{s:?} does not match pattern {p:?}")),
                Err(e) => fail(format!("invalid pattern {p:?}: {e}")),
            }
        }
    }
    if let Some(x) = value.as_f64() {
        let bound = |k: &str| map.get(k).and_then(Value::as_f64);
        if let Some(m) = bound("minimum")
            && x < m
        {
            fail(format!("{x} is less than the minimum {m}"));
        }
        if let Some(m) = bound("maximum")
            && x > m
        {
            fail(format!("{x} is greater than the maximum {m}"));
        }
        if let Some(m) = bound("exclusiveMinimum")
            && x <= m
        {
            fail(format!("{x} is not greater than {m}"));
        }
        if let Some(m) = bound("exclusiveMaximum")
            && x >= m
        {
            fail(format!("{x} is not less than {m}"));
        }
    }
    if let Value::Array(items) = value {
        if let Some(min) = map.get("minItems").and_then(Value::as_u64)
            && (items.len() as u64) < min
        {
            fail(format!("{} items, fewer than {min}", items.len()));
        }
        if let Some(max) = map.get("maxItems").and_then(Value::as_u64)
            && items.len() as u64 > max
        {
            fail(format!("{} items, more than {max}", items.len()));
        }
    }
    if let Value::Object(obj) = value
        && let Some(Value::Array(required)) = map.get("required")
    {
        for name in required.iter().filter_map(Value::as_str) {
            if !obj.contains_key(name) {
                fail(format!("missing required property {name:?}"));
            }
        }
    }

    // Keywords with subschemas: report nested errors with their own paths.
    if let Value::Object(obj) = value {
        let props = map.get("properties").and_then(Value::as_object);
        for (name, v) in obj {
            let sub_path = format!("{path}/{name}");
            match props.and_then(|p| p.get(name)) {
                Some(sub) => check(v, sub, &sub_path, errors),
                None => match map.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        errors.push(format!("{}: property {name:?} is not allowed", at(path)));
                    }
                    Some(sub @ Value::Object(_)) => check(v, sub, &sub_path, errors),
                    _ => {}
                },
            }
        }
    }
    if let (Value::Array(items), Some(sub)) = (value, map.get("items")) {
        for (i, v) in items.iter().enumerate() {
            check(v, sub, &format!("{path}/{i}"), errors);
        }
    }
    if let Some(Value::Array(subs)) = map.get("allOf") {
        for sub in subs {
            check(value, sub, path, errors);
        }
    }
    let passing = |subs: &Vec<Value>| subs.iter().filter(|s| validate_at(value, s, path).is_empty()).count();
    if let Some(Value::Array(subs)) = map.get("anyOf")
        && passing(subs) == 0
    {
        errors.push(format!("{}: matches none of the anyOf schemas", at(path)));
    }
    if let Some(Value::Array(subs)) = map.get("oneOf") {
        let n = passing(subs);
        if n != 1 {
            errors.push(format!("{}: matches {n} of the oneOf schemas, not exactly one", at(path)));
        }
    }
}

fn validate_at(value: &Value, schema: &Value, path: &str) -> Vec<String> {
    let mut errors = Vec::new();
    check(value, schema, path, &mut errors);
    errors
}
