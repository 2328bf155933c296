//! Chat prompts: the file's template or its family's fallback, special tokens parsed, BOS once.

mod common;

use arbitre_engine::synth::{SynthQuant, SynthShape, synth_gguf};
use arbitre_engine::{CpuBackend, Engine, Message};
use arbitre_gguf::GgufHeader;
use common::*;

fn synth(arch: &str, vocab: &str) -> Engine<CpuBackend> {
    let md = GgufHeader::parse(&read(&format!("vocab/ggml-vocab-{vocab}.gguf"))).expect("vocab").metadata;
    let bytes = synth_gguf(arch, &SynthShape::test(), SynthQuant::Q4_0, &md, 1).expect("synth");
    Engine::from_gguf_bytes(CpuBackend, bytes).expect("loads")
}

#[test]
fn phi3_uses_the_files_template_and_its_special_tokens() {
    let engine = synth("phi3", "phi-3");
    let t = engine.chat_template.as_ref().expect("template");
    assert_eq!(t.name(), "tokenizer.chat_template");
    let messages = [Message::user("Hello")];
    assert_eq!(engine.render_chat(&messages).expect("render"), "<s><|user|>\nHello<|end|>\n<|assistant|>\n");
    let ids = engine.encode_chat(&messages).expect("encode");
    let id = |p: &str| engine.tokenizer.token_to_id(p).expect(p);
    assert_eq!(ids.iter().filter(|&&i| i == id("<s>")).count(), 1, "BOS exactly once: {ids:?}");
    assert_eq!(ids[0], id("<s>"));
    assert!(
        ids.contains(&id("<|user|>")) && ids.contains(&id("<|end|>")) && ids.contains(&id("<|assistant|>")),
        "{ids:?}"
    );
    assert!(engine.tokenizer.eog_tokens().contains(&id("<|end|>")));
}

#[test]
fn qwen2_without_a_template_falls_back_to_chatml() {
    let engine = synth("qwen2", "gpt-2");
    let t = engine.chat_template.as_ref().expect("template");
    assert_eq!(t.end_of_turn_markers(), vec!["<|im_end|>"]);
    let text = engine.render_chat(&[Message::system("Be brief."), Message::user("Hi")]).expect("render");
    assert_eq!(
        text,
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    );
    let ids = engine.encode_chat(&[Message::user("Hi")]).expect("encode");
    assert_eq!(engine.tokenizer.decode(&ids, false), "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

#[test]
fn chat_runs_stop_at_the_end_of_turn_marker() {
    let engine = synth("qwen2", "gpt-2");
    let mut g = engine.generate_chat(&[Message::user("Hi")], greedy(8)).expect("generator");
    while !g.is_done() {
        g.step().expect("step");
    }
    assert!(g.stats().prompt_tokens > 5);
}
