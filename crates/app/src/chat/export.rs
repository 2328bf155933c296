//! The conversation as a file (pure, tested natively): Markdown for reading, JSON for tools,
//! each answer with its statistics. API keys are never part of the state, so never exported.

use serde_json::{Value, json};

use super::state::{Chat, Thread, Turn};

fn pane_title(i: Option<usize>, names: &[String], local: &str) -> String {
    match i {
        None => format!("In this browser: {local}"),
        Some(i) => format!("API {}: {}", i + 1, names.get(i).map_or("", String::as_str)),
    }
}

fn panes(chat: &Chat) -> impl Iterator<Item = (Option<usize>, &Thread)> {
    std::iter::once((None, &chat.local)).chain(chat.apis.iter().enumerate().map(|(i, t)| (Some(i), t)))
}

fn turn_json(t: &Turn) -> Value {
    let stats = serde_json::from_str::<Value>(&t.stats_json).unwrap_or(Value::Null);
    json!({
        "role": if t.is_user() { "user" } else { "assistant" },
        "text": t.text,
        "state": if t.is_user() { None } else { Some(t.state.as_str()) },
        "error": t.error,
        "stats": stats,
    })
}

/// The conversation as JSON: one entry per pane with its turns and their statistics.
pub fn to_json(chat: &Chat, api_names: &[String], local_name: &str, system: &str) -> String {
    let panes: Vec<Value> = panes(chat)
        .map(|(i, t)| {
            json!({
                "pane": i.map_or("local".to_string(), |i| format!("api-{i}")),
                "name": pane_title(i, api_names, local_name),
                "turns": t.turns.iter().map(turn_json).collect::<Vec<_>>(),
            })
        })
        .collect();
    let doc = json!({ "format": "arbitre-conversation-1", "system": system, "panes": panes });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// The conversation as Markdown: a section per pane, answers quoted as generated (the reader's
/// renderer decides what to make of them), statistics under each answer.
pub fn to_markdown(chat: &Chat, api_names: &[String], local_name: &str, system: &str) -> String {
    let mut out = String::from("# Conversation (arbitre)\n\n");
    if !system.trim().is_empty() {
        out.push_str(&format!("System: {}\n\n", system.trim()));
    }
    for (i, t) in panes(chat) {
        out.push_str(&format!("## {}\n\n", pane_title(i, api_names, local_name)));
        for turn in &t.turns {
            if turn.is_user() {
                out.push_str(&format!("**You:** {}\n\n", turn.text.trim()));
                continue;
            }
            out.push_str("**Answer:**\n\n");
            for line in turn.text.trim_end().lines() {
                out.push_str(&format!("> {line}\n"));
            }
            if let Some(e) = &turn.error {
                out.push_str(&format!("> (failed: {e})\n"));
            }
            out.push('\n');
            if let Ok(Value::Object(stats)) = serde_json::from_str::<Value>(&turn.stats_json) {
                let parts: Vec<String> = stats
                    .iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| format!("{k} {}", v.to_string().trim_matches('"')))
                    .collect();
                out.push_str(&format!("_{}_\n\n", parts.join(" · ")));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::state::PaneId;

    fn chat() -> Chat {
        let mut c = Chat::default();
        c.set_api_panes(1);
        c.send("Hi", "");
        c.done(PaneId::Local, r#"{"prompt_tokens":9,"prefill_tokens":9}"#.into(), Some("Hello\nthere".into()));
        c.fail(PaneId::Api(0), "401 bad key".into());
        c
    }

    #[test]
    fn json_has_every_pane_turn_and_statistic() {
        let v: Value =
            serde_json::from_str(&to_json(&chat(), &["OpenAI gpt".into()], "SmolLM2", "Be brief.")).expect("json");
        assert_eq!(v["system"], "Be brief.");
        assert_eq!(v["panes"][0]["pane"], "local");
        assert_eq!(v["panes"][0]["turns"][1]["stats"]["prefill_tokens"], 9);
        assert_eq!(v["panes"][0]["turns"][1]["text"], "Hello\nthere");
        assert_eq!(v["panes"][1]["name"], "API 1: OpenAI gpt");
        assert_eq!(v["panes"][1]["turns"][1]["state"], "error");
        assert_eq!(v["panes"][1]["turns"][1]["error"], "401 bad key");
    }

    #[test]
    fn markdown_quotes_answers_with_their_statistics() {
        let md = to_markdown(&chat(), &["OpenAI gpt".into()], "SmolLM2", "");
        assert!(md.contains("## In this browser: SmolLM2\n\n**You:** Hi\n\n**Answer:**\n\n> Hello\n> there\n"), "{md}");
        assert!(md.contains("prefill_tokens 9") && md.contains("prompt_tokens 9"), "{md}");
        assert!(md.contains("## API 1: OpenAI gpt") && md.contains("> (failed: 401 bad key)"), "{md}");
        assert!(!md.contains("System:"));
    }
}
