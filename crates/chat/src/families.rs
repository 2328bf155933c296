//! Fallback templates (the exact `chat_template` strings the models ship on the Hugging Face Hub)
//! and the rules that pick one when a GGUF has no `tokenizer.chat_template`.

/// Names accepted by [`ChatTemplate::fallback`](crate::ChatTemplate::fallback), with the model
/// whose published template each one is:
///
/// | family    | template of                                                             |
/// |-----------|-------------------------------------------------------------------------|
/// | `chatml`  | generic ChatML, no default system prompt (Qwen2/2.5/3, SmolLM2 and other `<\|im_start\|>` models) |
/// | `qwen2.5` | Qwen2.5-*-Instruct (default system "You are Qwen, created by Alibaba Cloud...", tools) |
/// | `smollm2` | SmolLM2-*-Instruct (default system "You are a helpful AI assistant named SmolLM...") |
/// | `llama3`  | Llama-3.2-*-Instruct (system header with "Cutting Knowledge Date", `strftime_now`, tools) |
/// | `llama2`  | Llama-2-*-chat-hf (`[INST]`, `<<SYS>>`)                                 |
/// | `phi3`    | Phi-3.5-mini-instruct (`<\|user\|>`/`<\|end\|>`)                        |
/// | `zephyr`  | TinyLlama-1.1B-Chat-v1.0 / Zephyr (`<\|user\|>` ... `eos_token`)         |
/// | `gemma`   | gemma-2-*-it (`<start_of_turn>`; raises on a system message)            |
/// | `gemma3`  | gemma-3-*-it (`<start_of_turn>`; a system message opens the first user turn) |
///
/// Aliases: `qwen` → `chatml`, `llama3.2` → `llama3`, `phi3.5` → `phi3`, `tinyllama` → `zephyr`,
/// `gemma2` → `gemma`.
pub const FALLBACK_FAMILIES: &[&str] =
    &["chatml", "qwen2.5", "smollm2", "llama3", "llama2", "phi3", "zephyr", "gemma", "gemma3"];

/// Canonical family name and template source for a family name or alias.
///
/// Each `templates/*.jinja` is byte for byte the `chat_template` of its models' `tokenizer_config.json`
/// (no comment can go inside: it would change the template), checked against the copies named below;
/// `tests/cases.json` (`template_sources`) records the same with each file's sha256, and
/// `tests/gen_expected.py` renders the test cases from them with jinja2.
pub(crate) fn fallback_source(family: &str) -> Option<(&'static str, &'static str)> {
    Some(match family.trim().to_ascii_lowercase().as_str() {
        // Generic ChatML (transformers' former default template; OpenHermes-2.5 in llama.cpp's
        // tests/test-chat-template.cpp). No model's own.
        "chatml" | "qwen" => ("chatml", include_str!("templates/chatml.jinja")),
        // Qwen/Qwen2.5-{0.5B,1.5B}-Instruct. Found at ShishirPatil/gorilla
        // berkeley-function-call-leaderboard/bfcl/model_handler/local_inference/qwen.py (the
        // tokenizer_config.json line, verbatim).
        "qwen2.5" => ("qwen2.5", include_str!("templates/qwen2.5.jinja")),
        // HuggingFaceTB/SmolLM2-{135M,360M}-Instruct. Found at sauropod-io/sauropod
        // crates/gguf/src/lib.rs (asserts the template of unsloth/SmolLM2-135M-Instruct-GGUF).
        "smollm2" => ("smollm2", include_str!("templates/smollm2.jinja")),
        // meta-llama/Llama-3.2-{1B,3B}-Instruct. Found at ggerganov/llama.cpp
        // models/templates/meta-llama-Llama-3.2-3B-Instruct.jinja.
        "llama3" | "llama3.2" => ("llama3", include_str!("templates/llama3.jinja")),
        // meta-llama/Llama-2-7b-chat-hf. Found at openvinotoolkit/openvino.genai
        // tests/python_tests/tokenizer_configs.py.
        "llama2" => ("llama2", include_str!("templates/llama2.jinja")),
        // microsoft/Phi-3.5-mini-instruct. Found at ggerganov/llama.cpp
        // models/templates/microsoft-Phi-3.5-mini-instruct.jinja.
        "phi3" | "phi3.5" => ("phi3", include_str!("templates/phi3.jinja")),
        // TinyLlama/TinyLlama-1.1B-Chat-v1.0 (= HuggingFaceH4/zephyr-7b-beta). Found at
        // openvinotoolkit/openvino.genai tests/python_tests/tokenizer_configs.py.
        "zephyr" | "tinyllama" => ("zephyr", include_str!("templates/zephyr.jinja")),
        // google/gemma-2-2b-it. Matches the sha256 of llama.cpp's
        // models/templates/google-gemma-2-2b-it.jinja (Git LFS oid ecd6ae51..., 591 bytes).
        "gemma" | "gemma2" => ("gemma", include_str!("templates/gemma.jinja")),
        // google/gemma-3-{270m,1b}-it. Found at ShishirPatil/gorilla
        // berkeley-function-call-leaderboard/bfcl_eval/model_handler/local_inference/gemma.py (the
        // tokenizer_config.json line, verbatim).
        "gemma3" => ("gemma3", include_str!("templates/gemma3.jinja")),
        _ => return None,
    })
}

/// Picks the fallback family for a GGUF without `tokenizer.chat_template`, from
/// `general.architecture` and the vocabulary (`has_token(piece)`: is this exact piece a token?).
///
/// Rules, first match wins:
/// 1. architecture `qwen*` (qwen2, qwen2moe, qwen3, ...) → `chatml`;
///    `phi3*` → `phi3`; `gemma3*` → `gemma3`; other `gemma*` → `gemma`.
/// 2. vocabulary: `<|eot_id|>` → `llama3`; `<|im_start|>` → `chatml`; `<start_of_turn>` → `gemma`;
///    `<|user|>` + `<|assistant|>` + `<|end|>` → `phi3`; `<|user|>` + `<|assistant|>` → `zephyr`.
/// 3. architecture `llama` (no chat tokens: Llama 2 / Mistral-style SentencePiece vocab) → `llama2`.
/// 4. anything else → `chatml` (the most widespread format, llama.cpp's default too).
///
/// TinyLlama-1.1B-Chat's vocabulary is plain Llama 2 (its `<|user|>` is not a token), so rule 3
/// gives `llama2` for it; use [`fallback_family_for_model`] with `general.name` to get `zephyr`.
pub fn fallback_family(arch: &str, has_token: impl Fn(&str) -> bool) -> &'static str {
    let arch = arch.to_ascii_lowercase();
    if arch.starts_with("qwen") {
        return "chatml";
    }
    if arch.starts_with("phi3") {
        return "phi3";
    }
    if arch.starts_with("gemma3") {
        return "gemma3";
    }
    if arch.starts_with("gemma") {
        return "gemma";
    }
    if has_token("<|eot_id|>") {
        return "llama3";
    }
    if has_token("<|im_start|>") {
        return "chatml";
    }
    if has_token("<start_of_turn>") {
        return "gemma";
    }
    if has_token("<|user|>") && has_token("<|assistant|>") {
        return if has_token("<|end|>") { "phi3" } else { "zephyr" };
    }
    if arch == "llama" {
        return "llama2";
    }
    "chatml"
}

/// Like [`fallback_family`], but first looks at the model's name (`general.name`, case-insensitive)
/// to pick the exact template of a known model:
/// a name containing `tinyllama` and `chat`, or `zephyr` → `zephyr`; `smollm2` → `smollm2`;
/// `qwen2.5` (or `qwen2_5`, `qwen2-5`) → `qwen2.5`; `llama-3.2`/`llama 3.2`/`llama3.2` → `llama3`.
pub fn fallback_family_for_model(arch: &str, model_name: &str, has_token: impl Fn(&str) -> bool) -> &'static str {
    let name = model_name.to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| name.contains(n));
    if (name.contains("tinyllama") && name.contains("chat")) || name.contains("zephyr") {
        return "zephyr";
    }
    if name.contains("smollm2") {
        return "smollm2";
    }
    if has(&["qwen2.5", "qwen2_5", "qwen2-5", "qwen 2.5"]) {
        return "qwen2.5";
    }
    if has(&["llama-3.2", "llama 3.2", "llama3.2", "llama_3.2"]) {
        return "llama3";
    }
    fallback_family(arch, has_token)
}
