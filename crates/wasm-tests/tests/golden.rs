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

/// A synthetic llama in Q4_K (the shape of crates/engine/tests/families.rs, same seed) gives
/// llama.cpp's greedy ids and top logits through the simd128 kernels of grouped Q4_K, as the
/// native build does: logits within 1e-4, ids parting only where llama.cpp's top-1/top-2
/// margin is below 0.01.
#[wasm_bindgen_test]
fn synthetic_q4_k_llama_gives_llama_cpp_greedy_ids() {
    use arbitre_engine::sampler::argmax;
    use arbitre_engine::synth::{SynthQuant, SynthShape, synth_gguf};
    let r: serde_json::Value = serde_json::from_str(golden!("synth/llama-q4_k.json")).expect("json");
    assert_eq!(
        (r["arch"].as_str(), r["quant"].as_str(), r["vocab"].as_str()),
        (Some("llama"), Some("q4_k"), Some("llama-spm"))
    );
    let vocab = arbitre_gguf::GgufHeader::parse(fixture!("vocab/ggml-vocab-llama-spm.gguf")).expect("vocab").metadata;
    let seed = r["seed"].as_u64().expect("seed");
    let bytes = synth_gguf("llama", &SynthShape::test(), SynthQuant::Q4K, &vocab, seed).expect("synth");
    let engine = Engine::from_gguf_bytes(CpuBackend, bytes).expect("loads");
    let ids = |v: &serde_json::Value| -> Vec<u32> {
        v.as_array().expect("ids").iter().map(|x| x.as_u64().expect("id") as u32).collect()
    };
    let (prompt, expected) = (ids(&r["prompt_ids"]), ids(&r["ids"]));
    let model = &engine.model;
    let mut session = model.session(512).expect("session");
    let mut logits = model.forward(&mut session, &prompt).expect("prefill");
    let mut agreed = 0;
    for (step, &want) in expected.iter().enumerate() {
        for pair in r["top_logits"].get(step).and_then(|t| t.as_array()).into_iter().flatten() {
            let (id, value) = (pair[0].as_u64().expect("id") as usize, pair[1].as_f64().expect("logit") as f32);
            assert!(
                (logits[id] - value).abs() <= 1e-4,
                "step {step}: logit of {id} is {} vs llama.cpp {value}",
                logits[id]
            );
        }
        let got = argmax(&logits);
        if got != want {
            let margin = r["margins"][step].as_f64().expect("margin");
            assert!(margin < 0.01, "greedy ids diverge at step {step} ({got} vs {want}), llama.cpp margin {margin}");
            break;
        }
        agreed += 1;
        logits = model.forward(&mut session, &[got]).expect("decode");
    }
    assert!(agreed > 0, "not even the first id agreed");
    console_log!("synthetic Q4_K llama in wasm: {agreed}/{} greedy ids equal to llama.cpp", expected.len());
}
