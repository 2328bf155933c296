//! The engine's golden tests, compiled to wasm32 (simd128) and run in headless Chromium:
//! the same outputs as the native build, byte for byte.
#![cfg(target_arch = "wasm32")]

use arbitre_engine::{CpuBackend, Engine, EngineError, GenerateOptions, SamplingParams, StopReason};
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

macro_rules! fixture {
    ($rel:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/", $rel))
    };
}
macro_rules! golden {
    ($rel:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/golden/", $rel))
    };
}

fn run(engine: &Engine<CpuBackend>, prompt: &str, options: GenerateOptions) -> (String, StopReason) {
    engine.generate(prompt, options).and_then(|mut g| g.run_to_end()).expect("run")
}

fn greedy(max_tokens: usize) -> GenerateOptions {
    GenerateOptions { sampling: SamplingParams::greedy(), max_tokens, ..GenerateOptions::default() }
}

#[wasm_bindgen_test]
fn stories260k_greedy_is_byte_exact() {
    let engine = Engine::from_gguf_bytes(CpuBackend, fixture!("stories260K/stories260K.gguf").to_vec()).expect("loads");
    let expected = std::str::from_utf8(fixture!("stories260K/expected_t0_n200.txt")).expect("utf8");
    let (text, reason) = run(&engine, "", greedy(200));
    assert_eq!(reason, StopReason::MaxTokens);
    assert_eq!(text, expected);
    console_log!(
        "stories260K greedy 200 tokens on {}: byte-exact",
        arbitre_engine::Backend::name(engine.model.backend())
    );
}

#[wasm_bindgen_test]
fn stories260k_llama2c_checkpoint_gives_the_same_text() {
    let engine =
        Engine::from_llama2c(CpuBackend, fixture!("stories260K/stories260K.bin"), fixture!("stories260K/tok512.bin"))
            .expect("loads");
    let expected = std::str::from_utf8(fixture!("stories260K/expected_t0_n200.txt")).expect("utf8");
    assert_eq!(run(&engine, "", greedy(200)).0, expected);
}

#[wasm_bindgen_test]
fn same_seed_gives_the_native_text() {
    let engine = Engine::from_gguf_bytes(CpuBackend, fixture!("stories260K/stories260K.gguf").to_vec()).expect("loads");
    let opts = GenerateOptions {
        sampling: SamplingParams {
            temperature: 1.0,
            top_k: 40,
            top_p: 0.95,
            min_p: 0.0,
            seed: 1234,
            ..SamplingParams::default()
        },
        max_tokens: 120,
        ..GenerateOptions::default()
    };
    assert_eq!(run(&engine, "Once upon a time", opts).0, golden!("stories260K_seed1234_t1.txt"));
}

#[wasm_bindgen_test]
fn babyllama_quantized_files_give_the_native_text() {
    let files: [(&str, &[u8], &str); 3] = [
        ("f32", fixture!("babyllama/babyllama-tok105-f32.gguf"), golden!("babyllama-f32_greedy64.txt")),
        ("q8_0", fixture!("babyllama/babyllama-tok105-q8_0.gguf"), golden!("babyllama-q8_0_greedy64.txt")),
        ("q4_0", fixture!("babyllama/babyllama-tok105-q4_0.gguf"), golden!("babyllama-q4_0_greedy64.txt")),
    ];
    for (name, bytes, expected) in files {
        let engine = Engine::from_gguf_bytes(CpuBackend, bytes.to_vec()).expect("loads");
        assert_eq!(run(&engine, "Once upon a time", greedy(64)).0, expected, "babyllama {name}");
    }
}

#[wasm_bindgen_test]
fn a_truncated_file_is_an_error_not_a_panic() {
    let bytes = fixture!("stories260K/stories260K.gguf");
    for cut in [3, 100, 5_000, bytes.len() / 2, bytes.len() - 1] {
        match Engine::from_gguf_bytes(CpuBackend, bytes[..cut].to_vec()) {
            Err(EngineError::Gguf(_)) => {}
            Err(e) => panic!("cut at {cut}: unexpected error {e}"),
            Ok(_) => panic!("cut at {cut} accepted"),
        }
    }
}

#[wasm_bindgen_test]
fn chat_templates_render_in_the_browser() {
    use arbitre_chat::{ChatTemplate, Message, RenderOptions};
    let opts = RenderOptions { add_generation_prompt: true, ..RenderOptions::default() };
    let chatml = ChatTemplate::fallback("chatml").expect("chatml");
    assert_eq!(
        chatml.render(&[Message::user("Hi")], &opts).expect("render"),
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    );
    // Llama 3.2's template asks strftime_now for today's date: the browser clock must answer.
    let llama3 = ChatTemplate::fallback("llama3").expect("llama3");
    let text = llama3.render(&[Message::user("Hi")], &opts).expect("render");
    assert!(text.contains("Today Date: ") && text.contains("20"), "{text}");
}
