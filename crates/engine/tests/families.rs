//! llama, qwen2, qwen3, phi3 and gemma3 through the one graph, compared with llama.cpp on synthetic models
//! (random weights, real vocabularies). References: tests/golden/synth/*.json, recorded by
//! scripts/llama_cpp_reference.py with llama-cpp-python.

mod common;

use arbitre_engine::sampler::argmax;
use arbitre_engine::synth::{SynthQuant, SynthShape, synth_gguf, synth_scripted_gguf};
use arbitre_engine::{CpuBackend, Engine, Message, StopReason};
use arbitre_gguf::GgufHeader;
use common::*;
use sha2::{Digest, Sha256};

/// Per weight type: (largest |logit difference| allowed on llama.cpp's top-16 logits of the
/// first steps, largest llama.cpp top-1/top-2 margin at which our greedy choice may differ).
///
/// Measured (llama-cpp-python 0.3.36, x86-64 AVX-512): F32 differs by at most 1.3e-4 and all 64
/// ids are equal; Q8_0, Q4_0 and Q4_K differ by at most 2e-6 (both sides round activations to
/// 8 bits the same way) and ids part only where llama.cpp's margin is below 0.007.
///
/// Qwen3 and Gemma 3 normalize each q and k head (QK norms), so their attention is far
/// sharper than on the other random models and amplifies the last-bit differences of the f16
/// attention (the order and fusing of its sums, which follow the SIMD width of the machine
/// llama.cpp was built for): measured, F32 differs by at most 7.5e-4 with every greedy id equal,
/// and quantized files by at most 6.4e-2, where activations that differ in the last bit round
/// to different 8-bit values. A wrong op (a window ignored, a norm missed) moves logits by far
/// more: ignoring Gemma 3's window fails this test.
fn tolerance(arch: &str, quant: &str) -> (f32, f32) {
    let sharp = matches!(arch, "qwen3" | "gemma3");
    match (quant, sharp) {
        ("f32", false) => (5e-4, 0.0),
        (_, false) => (1e-4, 0.01),
        ("f32", true) => (2e-3, 0.0),
        (_, true) => (0.1, 0.05),
    }
}

struct Outcome {
    name: String,
    agreed: usize,
    max_logit_diff: f32,
}

fn check(name: &str) -> Outcome {
    let (r, bytes) = synth_reference(name);
    let quant = r["quant"].as_str().expect("quant");
    let sha = format!("{:x}", Sha256::digest(&bytes));
    assert_eq!(sha, r["sha256"].as_str().expect("sha"), "{name}: the synthetic file is not the one llama.cpp ran");

    let engine = Engine::from_gguf_bytes(CpuBackend, bytes).expect("loads");
    let prompt = ids(&r["prompt_ids"]);
    assert_eq!(
        engine.encode_prompt(r["prompt"].as_str().expect("prompt")).expect("encode"),
        prompt,
        "{name}: prompt tokens"
    );
    let expected = ids(&r["ids"]);
    let margins: Vec<f32> =
        r["margins"].as_array().expect("margins").iter().map(|m| m.as_f64().expect("m") as f32).collect();
    let (logit_tol, margin_tol) = tolerance(r["arch"].as_str().expect("arch"), quant);

    let model = &engine.model;
    let mut session = model.session(512).expect("session");
    let mut logits = model.forward(&mut session, &prompt).expect("prefill");
    let mut max_logit_diff = 0.0f32;
    let mut agreed = 0;
    for (step, &want) in expected.iter().enumerate() {
        if let Some(top) = r["top_logits"].get(step) {
            for pair in top.as_array().expect("top") {
                let (id, value) = (pair[0].as_u64().expect("id") as usize, pair[1].as_f64().expect("logit") as f32);
                let d = (logits[id] - value).abs();
                max_logit_diff = max_logit_diff.max(d);
                assert!(d <= logit_tol, "{name} step {step}: logit of {id} is {} vs llama.cpp {value}", logits[id]);
            }
        }
        // Past a sliding window, where greedy ids alone may not tell (recorded for the newer
        // families).
        if let Some(top) = r["late_top_logits"].get(step.to_string()) {
            for pair in top.as_array().expect("top") {
                let (id, value) = (pair[0].as_u64().expect("id") as usize, pair[1].as_f64().expect("logit") as f32);
                let d = (logits[id] - value).abs();
                max_logit_diff = max_logit_diff.max(d);
                assert!(d <= logit_tol, "{name} step {step}: logit of {id} is {} vs llama.cpp {value}", logits[id]);
            }
        }
        let got = argmax(&logits);
        if got != want {
            assert!(
                margins[step] < margin_tol,
                "{name}: greedy ids diverge at step {step} ({got} vs llama.cpp {want}) where llama.cpp's margin is {}",
                margins[step]
            );
            println!("{name}: diverges at step {step}, within noise (llama.cpp margin {:.4})", margins[step]);
            break;
        }
        agreed += 1;
        logits = model.forward(&mut session, &[got]).expect("decode");
    }
    Outcome { name: name.to_owned(), agreed, max_logit_diff }
}

fn family(arch: &str) {
    for quant in ["f32", "q8_0", "q4_0", "q4_k"] {
        let o = check(&format!("{arch}-{quant}"));
        println!(
            "{}: {}/64 greedy ids equal to llama.cpp, max top-logit diff {:.2e}",
            o.name, o.agreed, o.max_logit_diff
        );
        if quant == "f32" {
            assert_eq!(o.agreed, 64, "{}: F32 must match llama.cpp exactly", o.name);
        }
    }
}

#[test]
fn llama_matches_llama_cpp() {
    family("llama");
}

#[test]
fn qwen2_matches_llama_cpp() {
    family("qwen2");
}

#[test]
fn phi3_matches_llama_cpp() {
    family("phi3");
}

#[test]
fn qwen3_matches_llama_cpp() {
    family("qwen3");
}

/// Six layers (five behind a window of 16 positions, one global), checked past the window.
#[test]
fn gemma3_matches_llama_cpp() {
    family("gemma3");
}

#[test]
fn unsupported_architectures_are_named() {
    let vocab = GgufHeader::parse(&read("vocab/ggml-vocab-llama-spm.gguf")).expect("parses").metadata;
    let mut bytes = synth_gguf("llama", &SynthShape::test(), SynthQuant::Q8_0, &vocab, 1).expect("synth");
    // Rename the architecture in place: "llama" -> "mamba" (same length).
    let at = bytes.windows(5).position(|w| w == b"llama").expect("arch string");
    bytes[at..at + 5].copy_from_slice(b"mamba");
    let err = Engine::from_gguf_bytes(CpuBackend, bytes).err().expect("refused").to_string();
    assert!(err.contains("\"mamba\"") && err.contains("llama, qwen2, qwen3, phi3, gemma3"), "{err}");
}

/// A scripted model answers any prompt with its script, reasoning block included, and stops.
#[test]
fn scripted_models_answer_their_script() {
    let script = "<think>Two and two make four.</think>Four!";
    for (arch, vocab, expected) in [
        ("qwen3", "gpt-2", script.to_string()),
        // SentencePiece puts a space before the words that follow a whole token.
        ("llama", "llama-spm", "<think> Two and two make four.</think> Four!".to_string()),
    ] {
        let vocab = GgufHeader::parse(&read(&format!("vocab/ggml-vocab-{vocab}.gguf"))).expect("parses").metadata;
        let bytes = synth_scripted_gguf(arch, &SynthShape::test(), &vocab, script, 3).expect("scripted");
        let engine = Engine::from_gguf_bytes(CpuBackend, bytes).expect("loads");
        for question in ["What is two and two?", "Hi"] {
            let mut g = engine.generate_chat(&[Message::user(question)], greedy(40)).expect("generator");
            let (text, reason) = g.run_to_end().expect("runs");
            assert_eq!(text, expected, "{arch}: {question}");
            assert_eq!(reason, StopReason::Eos, "{arch}");
            // Ten tokens: <think> Two ␣and ␣two ␣make ␣four . </think> Four !
            assert_eq!(g.generated().len(), 10, "{arch}");
        }
    }
    let vocab = GgufHeader::parse(&read("vocab/ggml-vocab-gpt-2.gguf")).expect("parses").metadata;
    let twice = synth_scripted_gguf("qwen3", &SynthShape::test(), &vocab, "Four and four and", 3).expect_err("refused");
    assert!(twice.to_string().contains("comes twice"), "{twice}");
    let long = "word ".repeat(300);
    let long = synth_scripted_gguf("qwen3", &SynthShape::test(), &vocab, &long, 3).expect_err("refused");
    assert!(long.to_string().contains("1 to 255 tokens"), "{long}");
}

/// The thinking switch of a Qwen3-style template (`enable_thinking`) follows
/// [`GenerateOptions::thinking`](arbitre_engine::GenerateOptions): off, the prompt already
/// holds an empty reasoning block; unset, the template's default.
#[test]
fn the_thinking_switch_reaches_the_template() {
    let template = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../chat/tests/templates/qwen3-like.jinja"),
    )
    .expect("template");
    let mut vocab = GgufHeader::parse(&read("vocab/ggml-vocab-gpt-2.gguf")).expect("parses").metadata;
    vocab.insert("tokenizer.chat_template", arbitre_gguf::Value::String(template));
    let bytes = synth_scripted_gguf("qwen3", &SynthShape::test(), &vocab, "Four", 3).expect("scripted");
    let engine = Engine::from_gguf_bytes(CpuBackend, bytes).expect("loads");
    let messages = [Message::user("What is two and two?")];
    let off = engine.render_chat_with(&messages, Some(false)).expect("renders");
    assert!(off.ends_with("<|im_start|>assistant\n<think>\n\n</think>\n\n"), "{off:?}");
    let default = engine.render_chat(&messages).expect("renders");
    assert_eq!(engine.render_chat_with(&messages, Some(true)).expect("renders"), default);
    assert!(default.ends_with("<|im_start|>assistant\n"), "{default:?}");
    let prompt_tokens = |thinking| {
        let options = arbitre_engine::GenerateOptions { thinking, ..greedy(4) };
        engine.generate_chat(&messages, options).expect("generator").stats().prompt_tokens
    };
    assert!(prompt_tokens(Some(false)) > prompt_tokens(None), "the empty block is part of the prompt");
}
