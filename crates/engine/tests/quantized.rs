//! babyllama F32 / Q8_0 / Q4_0: the quantized files run on quantized weights and stay close to
//! the F32 model, with per-type tolerances in the spirit of candle's and ggml's tests.

mod common;

use arbitre_engine::sampler::argmax;
use arbitre_engine::{CpuBackend, Engine};
use common::*;

const PROMPT: &str = "Once upon a time";
const STEPS: usize = 64;

/// Logits of every position after the prompt, teacher-forced on `tokens`.
fn logits_along(engine: &Engine<CpuBackend>, prompt: &[u32], tokens: &[u32]) -> Vec<Vec<f32>> {
    let model = &engine.model;
    let mut s = model.session(256).expect("session");
    let mut out = vec![model.forward(&mut s, prompt).expect("prefill")];
    for &t in &tokens[..tokens.len() - 1] {
        out.push(model.forward(&mut s, &[t]).expect("decode"));
    }
    out
}

fn nrmse(a: &[f32], reference: &[f32]) -> f64 {
    let err: f64 = a.iter().zip(reference).map(|(x, y)| ((x - y) as f64).powi(2)).sum();
    let scale: f64 = reference.iter().map(|y| (*y as f64).powi(2)).sum();
    (err / scale).sqrt()
}

fn margin(logits: &[f32]) -> f32 {
    let mut v = logits.to_vec();
    v.sort_by(|a, b| b.total_cmp(a));
    v[0] - v[1]
}

#[test]
fn babyllama_quantized_files_track_f32() {
    let f32m = gguf("babyllama/babyllama-tok105-f32.gguf");
    let prompt = f32m.encode_prompt(PROMPT).expect("encode");
    let (text, reference_ids, _) = run(&f32m, PROMPT, greedy(STEPS));
    println!("f32: {PROMPT}{text}");
    assert!(text.chars().filter(|c| c.is_ascii_alphabetic()).count() > text.len() / 2, "incoherent: {text:?}");
    let reference = logits_along(&f32m, &prompt, &reference_ids);

    // (file, max normalized RMSE of the logits, largest f32 top-1/top-2 margin at which the
    // quantized argmax may differ).
    for (file, max_nrmse, tie_margin) in [("babyllama-tok105-q8_0.gguf", 0.02, 0.1), ("babyllama-tok105-q4_0.gguf", 0.12, 0.8)] {
        let q = gguf(&format!("babyllama/{file}"));
        let logits = logits_along(&q, &prompt, &reference_ids);
        let mut worst = 0.0f64;
        for (i, (l, r)) in logits.iter().zip(&reference).enumerate() {
            let e = nrmse(l, r);
            worst = worst.max(e);
            assert!(e < max_nrmse, "{file} position {i}: logits differ from f32 by nrmse {e:.4}");
            if argmax(l) != argmax(r) {
                assert!(margin(r) < tie_margin, "{file} position {i}: argmax differs though f32 margin is {}", margin(r));
            }
        }
        let (qtext, _, _) = run(&q, PROMPT, greedy(STEPS));
        println!("{file}: worst nrmse {worst:.4}\n  {PROMPT}{qtext}");
        assert!(qtext.chars().filter(|c| c.is_ascii_alphabetic()).count() > qtext.len() / 2, "incoherent: {qtext:?}");
    }
}

#[test]
fn quantized_weights_are_not_dequantized() {
    // A Q4_0 model must keep its weights at ~4.5 bits: the CPU backend reports storage sizes.
    let q = gguf("babyllama/babyllama-tok105-q4_0.gguf");
    let f = gguf("babyllama/babyllama-tok105-f32.gguf");
    let (qb, fb) = (q.model.weight_bytes(), f.model.weight_bytes());
    assert!(qb * 4 < fb, "Q4_0 weights take {qb} bytes, F32 {fb}");
}
