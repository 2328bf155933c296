//! babyllama F32 / Q8_0 / Q4_0: the quantized files run on quantized weights and give what a
//! correct quantized implementation gives, with per-type tolerances as in candle's and ggml's
//! tests: (1) against the same weights dequantized to F32 and run in F32 (isolates the
//! quantized kernels: only activation quantization may differ), (2) against the original F32
//! model (greedy choices may differ only where F32's top-1/top-2 margin is small).

mod common;

use arbitre_engine::sampler::argmax;
use arbitre_engine::weights::TensorMap;
use arbitre_engine::{CpuBackend, Model, ModelConfig};
use arbitre_gguf::GgufFile;
use candle_core::Device;
use candle_core::quantized::{GgmlDType, QStorage, QTensor};
use common::*;

const PROMPT: &str = "Once upon a time";
const STEPS: usize = 64;

/// Logits of every position after the prompt, teacher-forced on `tokens`.
fn logits_along(model: &Model<CpuBackend>, prompt: &[u32], tokens: &[u32]) -> Vec<Vec<f32>> {
    let mut s = model.session(256).expect("session");
    let mut out = vec![model.forward(&mut s, prompt).expect("prefill")];
    for &t in &tokens[..tokens.len() - 1] {
        out.push(model.forward(&mut s, &[t]).expect("decode"));
    }
    out
}

/// The model of a quantized file with every tensor dequantized to F32.
fn dequantized(rel: &str) -> Model<CpuBackend> {
    let file = GgufFile::from_bytes(read(rel)).expect("parses");
    let mut map = TensorMap::default();
    for t in file.tensors() {
        let (_, data) = file.tensor(&t.name).expect("tensor");
        let dtype = match t.dtype.name() {
            "F32" => GgmlDType::F32,
            "Q8_0" => GgmlDType::Q8_0,
            "Q4_0" => GgmlDType::Q4_0,
            other => panic!("unexpected {other}"),
        };
        let storage = QStorage::from_data(data.into(), &Device::Cpu, dtype).expect("storage");
        let q = QTensor::new(storage, t.shape()).expect("qtensor");
        let values = q
            .dequantize(&Device::Cpu)
            .and_then(|x| x.flatten_all())
            .and_then(|x| x.to_vec1::<f32>())
            .expect("dequantize");
        map.insert_f32(t.name.clone(), t.dims.clone(), &values);
    }
    let n_vocab = file.header.tensor("token_embd.weight").expect("embedding").dims[1] as usize;
    let config = ModelConfig::from_metadata(file.metadata(), n_vocab).expect("config");
    Model::load(CpuBackend, config, &map).expect("loads")
}

/// The wasm32 build compares its output to these committed native outputs.
fn check_golden(name: &str, text: &str) {
    let path = golden(&format!("babyllama-{name}"));
    if std::env::var_os("ARBITRE_BLESS").is_some() {
        std::fs::write(&path, text).expect("write golden");
    }
    let committed = std::fs::read_to_string(&path).expect("golden (run with ARBITRE_BLESS=1 to create)");
    assert_eq!(text, committed, "{name}");
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
    check_golden("f32_greedy64.txt", &text);
    let reference = logits_along(&f32m.model, &prompt, &reference_ids);

    // (file, max normalized RMSE of the logits against the dequantized model — measured worst
    // 0.028 for Q8_0 and 0.029 for Q4_0, the cost of ggml-style Q8_0 activations —, largest
    // F32 top-1/top-2 margin at which the quantized greedy choice may differ from F32's).
    for (file, max_nrmse, tie_margin) in
        [("babyllama-tok105-q8_0.gguf", 0.06, 0.5), ("babyllama-tok105-q4_0.gguf", 0.06, 1.0)]
    {
        let q = gguf(&format!("babyllama/{file}"));
        let logits = logits_along(&q.model, &prompt, &reference_ids);
        let exact = logits_along(&dequantized(&format!("babyllama/{file}")), &prompt, &reference_ids);
        let mut worst = 0.0f64;
        for (i, ((l, r), x)) in logits.iter().zip(&reference).zip(&exact).enumerate() {
            let e = nrmse(l, x);
            worst = worst.max(e);
            assert!(e < max_nrmse, "{file} position {i}: logits differ from the dequantized model by nrmse {e:.4}");
            if argmax(l) != argmax(r) {
                assert!(
                    margin(r) < tie_margin,
                    "{file} position {i}: argmax differs though f32 margin is {}",
                    margin(r)
                );
            }
        }
        let (qtext, _, _) = run(&q, PROMPT, greedy(STEPS));
        check_golden(
            &format!("{}_greedy64.txt", file.trim_start_matches("babyllama-tok105-").trim_end_matches(".gguf")),
            &qtext,
        );
        println!("{file}: worst nrmse against dequantized F32 {worst:.4}\n  {PROMPT}{qtext}");
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
