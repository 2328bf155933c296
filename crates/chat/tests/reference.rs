//! Byte-for-byte comparison with the reference implementation (jinja2 configured as transformers'
//! `apply_chat_template`): every case of `cases.json` is rendered and compared with
//! `expected/<case>.txt` (or, for a failing render, `expected/<case>.err`; for a template jinja2
//! does not compile, `expected/<case>.syntax`), which `gen_expected.py` produced with jinja2.

#![cfg(not(target_arch = "wasm32"))]

use std::fs;
use std::path::{Path, PathBuf};

use arbitre_chat::{ChatError, ChatTemplate, FALLBACK_FAMILIES, Message, RenderOptions};
use serde_json::Value;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn spec() -> Value {
    serde_json::from_str(&read(&dir().join("cases.json"))).expect("cases.json parses")
}

/// The fallback family whose published template `templates/<template_name>.jinja` is, per
/// `template_sources` of cases.json.
fn source_family<'a>(spec: &'a Value, template_name: &str) -> Option<&'a str> {
    spec["template_sources"].get(template_name)?.get("family")?.as_str()
}

/// Renders one case of cases.json with this crate: with the template file of `templates/`, or with
/// `fallback` set, with the crate's own fallback for that file's family.
fn render_case(spec: &Value, case: &Value, fallback: bool) -> Result<String, ChatError> {
    let template = match case.get("source").and_then(Value::as_str) {
        Some(source) => ChatTemplate::new(case["name"].as_str().expect("name"), source)?,
        None => {
            let template_name = case["template"].as_str().expect("template");
            if fallback {
                let family = source_family(spec, template_name).expect("template_sources entry with a family");
                ChatTemplate::fallback(family)?
            } else {
                ChatTemplate::new(
                    template_name,
                    &read(&dir().join("templates").join(format!("{template_name}.jinja"))),
                )?
            }
        }
    };
    let messages: Vec<Message> =
        serde_json::from_value(spec["conversations"][case["conversation"].as_str().expect("conversation")].clone())
            .expect("conversation parses");
    let mut extra = case.get("extra").cloned().unwrap_or_else(|| serde_json::json!({}));
    if case.get("tools").and_then(Value::as_bool) == Some(true) {
        extra["tools"] = spec["tools"].clone();
    }
    let opts = RenderOptions {
        add_generation_prompt: case["add_generation_prompt"].as_bool().expect("add_generation_prompt"),
        bos_token: case.get("bos_token").and_then(Value::as_str).unwrap_or_default().to_owned(),
        eos_token: case.get("eos_token").and_then(Value::as_str).unwrap_or_default().to_owned(),
        extra: Some(extra),
    };
    template.render(&messages, &opts)
}

/// Compares one case with its expected file; returns a description of the mismatch.
fn check_case(spec: &Value, case: &Value, fallback: bool) -> Option<String> {
    let name = case["name"].as_str().expect("name");
    if case.get("known_difference").is_some() {
        // Documented divergence from jinja2 (see the case's `known_difference`): it only has to
        // fail or succeed cleanly.
        let got = render_case(spec, case, fallback);
        let want = fs::read_to_string(dir().join("expected").join(format!("{name}.txt")));
        eprintln!("{name} (known difference): jinja2 {want:?}, arbitre-chat {got:?}");
        return None;
    }
    let expected_dir = dir().join("expected");
    let txt = expected_dir.join(format!("{name}.txt"));
    let err = expected_dir.join(format!("{name}.err"));
    let syntax = expected_dir.join(format!("{name}.syntax"));
    if syntax.exists() {
        // jinja2 rejects it at compile time; minijinja may only notice when rendering (e.g. an
        // unknown filter is looked up at render time). Either failure is fine.
        return match render_case(spec, case, fallback) {
            Err(ChatError::Syntax { .. } | ChatError::Render { .. }) => None,
            other => Some(format!("{name}: expected a syntax error ({}), got {other:?}", read(&syntax))),
        };
    }
    match (render_case(spec, case, fallback), txt.exists()) {
        (Ok(got), true) => {
            let want = read(&txt);
            (got != want).then(|| format!("{name}: output differs\n--- want\n{want:?}\n--- got\n{got:?}"))
        }
        (Ok(got), false) => Some(format!("{name}: expected an error ({}), got {got:?}", read(&err))),
        (Err(e), true) => Some(format!("{name}: expected output, got error {e}")),
        (Err(ChatError::Render { message, .. }), false) => {
            let want = read(&err);
            if want.starts_with("<non-template error>") || message == want {
                None
            } else {
                Some(format!("{name}: error message differs\n--- want\n{want:?}\n--- got\n{message:?}"))
            }
        }
        (Err(e), false) => Some(format!("{name}: expected a render error, got {e:?}")),
    }
}

/// Checks the cases whose template file name (`inline` for inline sources) passes `filter`,
/// known differences excluded.
fn check_cases(filter: impl Fn(&str) -> bool) {
    check_cases_where(|case| case.get("known_difference").is_none() && filter(template_key(case)));
}

fn template_key(case: &Value) -> &str {
    case.get("template").and_then(Value::as_str).unwrap_or("inline")
}

fn check_cases_where(filter: impl Fn(&Value) -> bool) {
    check_cases_with(filter, false);
}

fn check_cases_with(filter: impl Fn(&Value) -> bool, fallback: bool) {
    let spec = spec();
    let cases = spec["cases"].as_array().expect("cases");
    let mut ran = 0;
    let failures: Vec<String> = cases
        .iter()
        .filter(|c| filter(c))
        .inspect(|_| ran += 1)
        .filter_map(|c| check_case(&spec, c, fallback))
        .collect();
    assert!(ran > 0, "no case matched");
    assert!(failures.is_empty(), "{} of {ran} cases differ from jinja2:\n\n{}", failures.len(), failures.join("\n\n"));
}

#[test]
fn qwen2_5_instruct_matches_jinja2() {
    check_cases(|t| t == "qwen2.5-instruct");
}

#[test]
fn smollm2_instruct_matches_jinja2() {
    check_cases(|t| t == "smollm2-instruct");
}

#[test]
fn chatml_matches_jinja2() {
    check_cases(|t| t == "chatml");
}

#[test]
fn llama3_2_instruct_matches_jinja2() {
    check_cases(|t| t == "llama3.2-instruct");
}

#[test]
fn tinyllama_chat_matches_jinja2() {
    check_cases(|t| t == "tinyllama-chat");
}

#[test]
fn phi3_5_mini_instruct_matches_jinja2() {
    check_cases(|t| t == "phi3.5-mini-instruct");
}

#[test]
fn llama2_chat_matches_jinja2() {
    check_cases(|t| t == "llama2-chat");
}

#[test]
fn gemma2_it_matches_jinja2() {
    check_cases(|t| t == "gemma2-it");
}

#[test]
fn gemma3_it_matches_jinja2() {
    check_cases(|t| t == "gemma3-it");
}

#[test]
fn qwen3_style_template_matches_jinja2() {
    check_cases(|t| t == "qwen3-like");
}

#[test]
fn python_features_match_jinja2() {
    check_cases(|t| t.starts_with("feature-"));
}

#[test]
fn inline_templates_match_jinja2() {
    check_cases(|t| t == "inline");
}

#[test]
fn known_differences_render_without_panicking() {
    check_cases_where(|case| case.get("known_difference").is_some());
}

#[test]
fn every_case_has_an_expected_file() {
    let spec = spec();
    for case in spec["cases"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        let expected = dir().join("expected");
        assert!(
            ["txt", "err", "syntax"].iter().any(|ext| expected.join(format!("{name}.{ext}")).exists()),
            "{name}: run tests/gen_expected.py"
        );
    }
}

/// `ChatTemplate::fallback` itself (not the fixture files) renders every case of every published
/// template exactly as jinja2 renders the real template.
#[test]
fn fallbacks_match_jinja2_on_published_templates() {
    let spec = spec();
    check_cases_with(
        |case| {
            case.get("known_difference").is_none()
                && case.get("template").and_then(Value::as_str).is_some_and(|t| source_family(&spec, t).is_some())
        },
        true,
    );
}

/// Every fallback family is one of the published templates of `template_sources` (the text found,
/// where it was found, the models it belongs to), and jinja2 references cover its ordinary
/// conversations: user only, system + user, multi-turn, with and without the generation prompt.
#[test]
fn every_fallback_records_its_published_source() {
    let spec = spec();
    let sources = spec["template_sources"].as_object().expect("template_sources");
    for family in FALLBACK_FAMILIES {
        let (name, source) = sources
            .iter()
            .find(|(_, s)| s["family"].as_str() == Some(family))
            .unwrap_or_else(|| panic!("{family}: no template_sources entry"));
        let fixture = read(&dir().join("templates").join(format!("{name}.jinja")));
        assert_eq!(
            ChatTemplate::fallback(family).expect(family).source(),
            fixture,
            "{family} differs from {name}.jinja"
        );
        assert!(source["found_at"].as_str().is_some_and(|s| !s.is_empty()), "{name}: found_at");
        assert!(source["sha256"].as_str().is_some_and(|s| s.len() == 64), "{name}: sha256");
        assert!(source["models"].is_array(), "{name}: models");
        let cases: Vec<&Value> =
            spec["cases"].as_array().expect("cases").iter().filter(|c| c["template"].as_str() == Some(name)).collect();
        for conversation in ["user_only", "multi", "alternating"] {
            assert!(
                cases.iter().any(|c| c["conversation"] == conversation),
                "{name}: no case for the {conversation} conversation"
            );
        }
        for generation in [true, false] {
            assert!(
                cases.iter().any(|c| c["add_generation_prompt"] == generation && c["conversation"] != "empty"),
                "{name}: no case with add_generation_prompt = {generation}"
            );
        }
    }
    for name in sources.keys() {
        assert!(dir().join("templates").join(format!("{name}.jinja")).exists(), "{name}: no template file");
    }
}
