//! API behaviour: errors, fallbacks, family detection, end-of-turn markers, sandboxing.

#![cfg(not(target_arch = "wasm32"))]

use std::path::Path;

use arbitre_chat::{
    ChatError, ChatTemplate, FALLBACK_FAMILIES, Message, RenderOptions, fallback_family, fallback_family_for_model,
};
use proptest::prelude::*;

fn conversation() -> Vec<Message> {
    vec![Message::system("You are terse."), Message::user("Hi"), Message::assistant("Hello."), Message::user("Bye")]
}

fn gen_prompt() -> RenderOptions {
    RenderOptions { add_generation_prompt: true, ..RenderOptions::default() }
}

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/templates").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn message_constructors_and_serde() {
    assert_eq!(Message::system("s"), Message { role: "system".into(), content: "s".into() });
    assert_eq!(Message::user("u").role, "user");
    assert_eq!(Message::assistant("a").role, "assistant");
    let json = serde_json::to_string(&Message::user("x")).expect("serializes");
    assert_eq!(json, r#"{"role":"user","content":"x"}"#);
    let back: Message = serde_json::from_str(&json).expect("deserializes");
    assert_eq!(back, Message::user("x"));
}

#[test]
fn syntax_error_is_reported_at_construction() {
    let err = ChatTemplate::new("broken", "{% for m in messages %}{{ m.content }}").expect_err("must not compile");
    match err {
        ChatError::Syntax { name, message } => {
            assert_eq!(name, "broken");
            assert!(message.contains("syntax error"), "{message}");
        }
        other => panic!("expected Syntax, got {other:?}"),
    }
    assert!(matches!(ChatTemplate::new("t", "{{ 1 + }}"), Err(ChatError::Syntax { .. })));
    assert!(matches!(ChatTemplate::new("t", "{% if %}"), Err(ChatError::Syntax { .. })));
    assert!(matches!(ChatTemplate::new("t", "{% endgeneration %}"), Err(ChatError::Syntax { .. })));
}

#[test]
fn raise_exception_message_is_verbatim() {
    let template = ChatTemplate::new(
        "strict",
        "{% for m in messages %}{% if m.role not in ['system', 'user', 'assistant'] %}\
         {{ raise_exception('Unknown role: ' + m.role) }}{% endif %}{{ m.content }}{% endfor %}",
    )
    .expect("compiles");
    assert_eq!(template.render(&conversation(), &gen_prompt()).expect("renders"), "You are terse.HiHello.Bye");
    let err = template.render(&[Message::user("a"), Message::new("narrator", "b")], &gen_prompt()).expect_err("raises");
    match &err {
        ChatError::Render { name, message } => {
            assert_eq!(name, "strict");
            assert_eq!(message, "Unknown role: narrator");
        }
        other => panic!("expected Render, got {other:?}"),
    }
    assert_eq!(err.to_string(), "chat template `strict`: Unknown role: narrator");
}

#[test]
fn published_templates_raise_their_own_errors() {
    let llama2 = ChatTemplate::fallback("llama2").expect("llama2");
    let err = llama2.render(&[Message::user("a"), Message::user("b")], &gen_prompt()).expect_err("must alternate");
    assert!(
        matches!(&err, ChatError::Render { message, .. } if message == "Conversation roles must alternate user/assistant/user/assistant/..."),
        "{err:?}"
    );
    let gemma = ChatTemplate::fallback("gemma").expect("gemma");
    let err = gemma.render(&conversation(), &gen_prompt()).expect_err("no system role");
    assert!(matches!(&err, ChatError::Render { message, .. } if message == "System role not supported"), "{err:?}");
    // Gemma 3's template takes the system message into the first user turn instead.
    let gemma3 = ChatTemplate::fallback("gemma3").expect("gemma3");
    let out = gemma3.render(&[Message::system("Be brief."), Message::user("Hi")], &gen_prompt()).expect("gemma3");
    assert!(out.ends_with("<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n"), "{out:?}");
}

#[test]
fn other_render_errors_carry_minijinja_description() {
    let template = ChatTemplate::new("t", "{{ messages[0].content + 1 }}").expect("compiles");
    match template.render(&conversation(), &gen_prompt()) {
        Err(ChatError::Render { name, message }) => {
            assert_eq!(name, "t");
            assert!(message.contains("(in t:1)"), "{message}");
        }
        other => panic!("expected Render, got {other:?}"),
    }
}

#[test]
fn fallback_families_render_and_match_fixtures() {
    let fixtures = [
        ("chatml", "chatml.jinja"),
        ("qwen2.5", "qwen2.5-instruct.jinja"),
        ("smollm2", "smollm2-instruct.jinja"),
        ("llama3", "llama3.2-instruct.jinja"),
        ("llama2", "llama2-chat.jinja"),
        ("phi3", "phi3.5-mini-instruct.jinja"),
        ("zephyr", "tinyllama-chat.jinja"),
        ("gemma", "gemma2-it.jinja"),
        ("gemma3", "gemma3-it.jinja"),
    ];
    assert_eq!(FALLBACK_FAMILIES, fixtures.map(|(f, _)| f));
    for (family, file) in fixtures {
        let template = ChatTemplate::fallback(family).expect(family);
        assert_eq!(template.name(), family);
        assert_eq!(template.source(), fixture(file), "{family} source differs from tests/templates/{file}");
        let out = template.render(&[Message::user("Hello!")], &gen_prompt()).expect(family);
        assert!(out.contains("Hello!"), "{family}: {out:?}");
    }
    for (alias, canonical) in
        [("qwen", "chatml"), ("llama3.2", "llama3"), ("phi3.5", "phi3"), ("tinyllama", "zephyr"), ("gemma2", "gemma")]
    {
        assert_eq!(ChatTemplate::fallback(alias).expect(alias).name(), canonical);
    }
    assert!(matches!(ChatTemplate::fallback("vicuna"), Err(ChatError::UnknownFamily(f)) if f == "vicuna"));
}

#[test]
fn fallback_outputs() {
    let render = |family: &str, bos: &str, eos: &str| {
        let opts = RenderOptions {
            add_generation_prompt: true,
            bos_token: bos.into(),
            eos_token: eos.into(),
            extra: Some(serde_json::json!({ "date_string": "26 Jul 2024" })),
        };
        ChatTemplate::fallback(family).expect(family).render(&conversation(), &opts).expect(family)
    };
    assert_eq!(
        render("chatml", "", "<|im_end|>"),
        "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n\
         Hello.<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n"
    );
    assert_eq!(
        render("llama3", "<|begin_of_text|>", "<|eot_id|>"),
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n\
         Today Date: 26 Jul 2024\n\nYou are terse.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>\
         <|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n\
         Bye<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
    );
    assert_eq!(
        render("zephyr", "<s>", "</s>"),
        "<|system|>\nYou are terse.</s>\n<|user|>\nHi</s>\n<|assistant|>\nHello.</s>\n<|user|>\nBye</s>\n<|assistant|>\n"
    );
    assert_eq!(
        render("phi3", "<s>", "<|endoftext|>"),
        "<|system|>\nYou are terse.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello.<|end|>\n<|user|>\nBye<|end|>\n\
         <|assistant|>\n"
    );
    assert_eq!(
        render("llama2", "<s>", "</s>"),
        "<s>[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nHi [/INST] Hello. </s><s>[INST] Bye [/INST]"
    );
}

#[test]
fn llama3_without_date_string_uses_strftime_now() {
    let template = ChatTemplate::fallback("llama3").expect("llama3");
    let out = template.render(&[Message::user("Hi")], &gen_prompt()).expect("renders");
    let date = out.split("Today Date: ").nth(1).and_then(|rest| rest.split('\n').next()).expect("has a date line");
    // "%d %b %Y", e.g. "05 Mar 2026".
    let parts: Vec<&str> = date.split(' ').collect();
    assert_eq!(parts.len(), 3, "{date:?}");
    assert!(parts[0].len() == 2 && parts[0].chars().all(|c| c.is_ascii_digit()), "{date:?}");
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    assert!(months.contains(&parts[1]), "{date:?}");
    assert!(parts[2].parse::<u32>().is_ok_and(|y| y >= 2024), "{date:?}");
}

#[test]
fn end_of_turn_markers_per_family() {
    let markers = |family: &str| ChatTemplate::fallback(family).expect(family).end_of_turn_markers();
    assert_eq!(markers("chatml"), ["<|im_end|>"]);
    assert_eq!(markers("qwen2.5"), ["<|im_end|>"]);
    assert_eq!(markers("smollm2"), ["<|im_end|>"]);
    assert_eq!(markers("llama3"), ["<|eot_id|>"]);
    assert_eq!(markers("phi3"), ["<|end|>"]);
    assert_eq!(markers("gemma"), ["<end_of_turn>"]);
    assert_eq!(markers("gemma3"), ["<end_of_turn>"]);
    // These two end turns with `eos_token` (the tokenizer's EOS), not a literal marker.
    assert!(markers("zephyr").is_empty());
    assert!(markers("llama2").is_empty());
    let custom =
        ChatTemplate::new("custom", "{{ '</s>' }}{{ '<|endoftext|>' }}{{ '<|end_header_id|>' }}").expect("compiles");
    assert_eq!(custom.end_of_turn_markers(), ["</s>", "<|endoftext|>"]);
}

#[test]
fn fallback_family_rules() {
    let vocab = |tokens: &'static [&'static str]| move |t: &str| tokens.contains(&t);
    assert_eq!(fallback_family("qwen2", vocab(&["<|im_start|>", "<|im_end|>"])), "chatml");
    assert_eq!(fallback_family("qwen2", vocab(&[])), "chatml");
    assert_eq!(fallback_family("qwen3moe", vocab(&[])), "chatml");
    assert_eq!(fallback_family("phi3", vocab(&["<|user|>", "<|end|>", "<|assistant|>"])), "phi3");
    assert_eq!(fallback_family("gemma2", vocab(&["<start_of_turn>"])), "gemma");
    assert_eq!(fallback_family("gemma3", vocab(&["<start_of_turn>"])), "gemma3");
    assert_eq!(fallback_family("llama", vocab(&["<|begin_of_text|>", "<|eot_id|>"])), "llama3");
    assert_eq!(fallback_family("llama", vocab(&["<|im_start|>", "<|im_end|>"])), "chatml");
    assert_eq!(fallback_family("llama", vocab(&["<s>", "</s>"])), "llama2");
    assert_eq!(fallback_family("llama", vocab(&["<|user|>", "<|assistant|>"])), "zephyr");
    assert_eq!(fallback_family("llama", vocab(&["<|user|>", "<|assistant|>", "<|end|>"])), "phi3");
    assert_eq!(fallback_family("gpt2", vocab(&[])), "chatml");
    assert_eq!(fallback_family("mistral3", vocab(&["<start_of_turn>"])), "gemma");

    let llama2_vocab = vocab(&["<s>", "</s>", "<unk>"]);
    assert_eq!(fallback_family_for_model("llama", "TinyLlama 1.1B Chat v1.0", llama2_vocab), "zephyr");
    assert_eq!(fallback_family_for_model("llama", "tinyllama_tinyllama-1.1b-chat-v1.0", llama2_vocab), "zephyr");
    assert_eq!(fallback_family_for_model("llama", "TinyLlama 1.1B", llama2_vocab), "llama2");
    assert_eq!(fallback_family_for_model("llama", "SmolLM2 135M Instruct", vocab(&["<|im_start|>"])), "smollm2");
    assert_eq!(fallback_family_for_model("qwen2", "Qwen2.5 0.5B Instruct", vocab(&["<|im_start|>"])), "qwen2.5");
    assert_eq!(fallback_family_for_model("qwen2", "Qwen2 0.5B Instruct", vocab(&["<|im_start|>"])), "chatml");
    assert_eq!(fallback_family_for_model("llama", "Llama 3.2 1B Instruct", vocab(&["<|eot_id|>"])), "llama3");
    assert_eq!(fallback_family_for_model("llama", "", vocab(&["<|eot_id|>"])), "llama3");
}

#[test]
fn extra_variables_and_options() {
    let template = ChatTemplate::new(
        "vars",
        "{{ bos_token }}|{{ eos_token }}|{{ tools }}|{{ documents }}|{{ custom }}|{{ add_generation_prompt }}|{{ messages | length }}",
    )
    .expect("compiles");
    let opts = RenderOptions {
        add_generation_prompt: false,
        bos_token: "<s>".into(),
        eos_token: "</s>".into(),
        extra: Some(serde_json::json!({ "custom": [1, "x"], "messages": "ignored", "add_generation_prompt": true })),
    };
    assert_eq!(template.render(&conversation(), &opts).expect("renders"), "<s>|</s>|None|None|[1, 'x']|False|4");
    let null_extra = RenderOptions { extra: Some(serde_json::Value::Null), ..RenderOptions::default() };
    assert_eq!(template.render(&[], &null_extra).expect("renders"), "||None|None||False|0");
    let bad = RenderOptions { extra: Some(serde_json::json!([1, 2])), ..RenderOptions::default() };
    assert!(matches!(template.render(&[], &bad), Err(ChatError::InvalidOptions(_))));
}

#[test]
fn extra_tools_keep_key_order() {
    let template = ChatTemplate::new("t", "{{ tools[0] | tojson }}").expect("compiles");
    let tools: serde_json::Value = serde_json::from_str(
        r#"[{"type": "function", "function": {"name": "f", "description": "d", "parameters": {}}}]"#,
    )
    .expect("json");
    let opts = RenderOptions { extra: Some(serde_json::json!({ "tools": tools })), ..RenderOptions::default() };
    assert_eq!(
        template.render(&[], &opts).expect("renders"),
        r#"{"type": "function", "function": {"name": "f", "description": "d", "parameters": {}}}"#
    );
}

#[test]
fn html_like_names_do_not_escape() {
    let template = ChatTemplate::new("chat.html", "{{ messages[0].content }}").expect("compiles");
    assert_eq!(template.render(&[Message::user("<b>&'\"")], &gen_prompt()).expect("renders"), "<b>&'\"");
}

#[test]
fn templates_cannot_read_files() {
    for source in ["{% include '/etc/passwd' %}", "{% import 'Cargo.toml' as x %}", "{% extends 'Cargo.toml' %}"] {
        let template = ChatTemplate::new("t", source).expect("compiles");
        assert!(matches!(template.render(&[], &gen_prompt()), Err(ChatError::Render { .. })), "{source}");
    }
}

#[test]
fn runaway_templates_fail_cleanly() {
    let endless = ChatTemplate::new(
        "loop",
        "{% for i in range(100000) %}{% for j in range(100000) %}{% for k in range(100000) %}{% endfor %}{% endfor %}{% endfor %}",
    )
    .expect("compiles");
    assert!(matches!(endless.render(&[], &gen_prompt()), Err(ChatError::Render { .. })));
    let recursive =
        ChatTemplate::new("rec", "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}").expect("compiles");
    assert!(matches!(recursive.render(&[], &gen_prompt()), Err(ChatError::Render { .. })));
}

#[test]
fn template_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<ChatTemplate>();
    assert_send_sync::<ChatError>();
    let template = ChatTemplate::fallback("chatml").expect("chatml");
    let out = std::thread::spawn(move || template.render(&[Message::user("x")], &RenderOptions::default()))
        .join()
        .expect("thread");
    assert_eq!(out.expect("renders"), "<|im_start|>user\nx<|im_end|>\n");
}

#[test]
fn template_is_clone_and_debug() {
    let template = ChatTemplate::fallback("chatml").expect("chatml");
    let copy = template.clone();
    assert_eq!(copy.render(&conversation(), &gen_prompt()).ok(), template.render(&conversation(), &gen_prompt()).ok());
    assert!(format!("{template:?}").contains("chatml"));
}

#[test]
fn message_content_is_never_evaluated() {
    let template = ChatTemplate::fallback("chatml").expect("chatml");
    let out = template
        .render(&[Message::user("{{ raise_exception('x') }}{% include 'y' %}")], &gen_prompt())
        .expect("renders");
    assert!(out.contains("{{ raise_exception('x') }}{% include 'y' %}"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Arbitrary template-ish sources and message contents never panic: they compile or not, and
    /// render or fail with a `ChatError`.
    #[test]
    fn arbitrary_templates_never_panic(
        pieces in proptest::collection::vec(
            prop_oneof![
                Just("{{ ".to_owned()), Just(" }}".to_owned()), Just("{% ".to_owned()), Just(" %}".to_owned()),
                Just("{%- ".to_owned()), Just(" -%}".to_owned()), Just("{# ".to_owned()), Just(" #}".to_owned()),
                Just("for m in messages".to_owned()), Just("endfor".to_owned()), Just("if ".to_owned()),
                Just("endif".to_owned()), Just("else".to_owned()), Just("m.content".to_owned()),
                Just("m['role']".to_owned()), Just(" | tojson(indent=2)".to_owned()), Just(" | trim".to_owned()),
                Just(".strip()".to_owned()), Just(".split()".to_owned()), Just("raise_exception('boom')".to_owned()),
                Just("strftime_now('%d %b %Y')".to_owned()), Just("messages[-1]".to_owned()), Just(" + ".to_owned()),
                Just(" ~ ".to_owned()), Just("set x = ".to_owned()), Just("namespace(a=1)".to_owned()),
                Just("break".to_owned()), Just("continue".to_owned()), Just("generation".to_owned()),
                Just("endgeneration".to_owned()), Just("'\\n'".to_owned()), Just("loop.index0".to_owned()),
                Just("1 / 0".to_owned()), Just("none".to_owned()), Just("[1, 2][5]".to_owned()),
                "[ -~\\n]{0,6}",
            ],
            0..24,
        ),
        content in "\\PC{0,40}",
    ) {
        let source: String = pieces.concat();
        if let Ok(template) = ChatTemplate::new("fuzz", &source) {
            let messages = [Message::system(content.clone()), Message::user(content)];
            let _ = template.render(&messages, &gen_prompt());
            let _ = template.end_of_turn_markers();
        }
    }
}
