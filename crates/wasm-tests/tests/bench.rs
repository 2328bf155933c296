//! In-browser speed of arbitre's CPU path without the page around it: benchmarks, not tests
//! (ignored in the test run). Run them with
//! `scripts/test-wasm.sh --release --test bench -- --include-ignored --nocapture`.
#![cfg(target_arch = "wasm32")]

use arbitre_engine::synth::{SynthQuant, SynthShape, synth_gguf};
use arbitre_engine::{CpuBackend, Engine, GenerateOptions, SamplingParams};
use arbitre_gguf::GgufHeader;
use arbitre_qmatmul::testing::{random_acts, random_blocks};
use arbitre_qmatmul::{QMatrix, QType};
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Seconds per product of a `rows × cols` matrix of type `ty` by one activation row, timed
/// over `reps` products after `warm` (so the JIT's optimizing tier is in place), and the
/// bytes the matrix holds.
fn time_product(ty: QType, rows: usize, cols: usize, warm: usize, reps: usize) -> (f64, usize) {
    let m = QMatrix::new(ty, rows, cols, random_blocks(ty, rows * cols / ty.block_elems(), 1)).expect("matrix");
    let x = random_acts(cols, 2);
    let mut y = vec![0.0; rows];
    for _ in 0..warm {
        m.matmul(&x, 1, &mut y).expect("warm-up");
    }
    let t = now_ms();
    for _ in 0..reps {
        m.matmul(&x, 1, &mut y).expect("matmul");
    }
    ((now_ms() - t) / 1000.0 / reps as f64, m.bytes())
}

/// One 1536 × 768 product per type (in cache), 1000 times after 300 warm-up products.
#[wasm_bindgen_test]
#[ignore = "benchmark"]
fn qmatmul_throughput() {
    for ty in QType::ALL {
        let (rows, cols) = (1536usize, 768usize);
        let (s, _) = time_product(ty, rows, cols, 300, 1000);
        console_log!("{}: {:.1} G weight products/s", ty.name(), (rows * cols) as f64 / s / 1e9);
    }
}

/// One decode-shaped product per type against a matrix of ~48 MB of ggml blocks, larger than
/// the caches (as the weights of a model are): weights stream from memory.
#[wasm_bindgen_test]
#[ignore = "benchmark"]
fn qmatmul_throughput_from_memory() {
    for ty in QType::ALL {
        let cols = 1536usize;
        let rows = (48usize << 20) / (cols / ty.block_elems() * ty.block_bytes());
        let (s, bytes) = time_product(ty, rows, cols, 3, 20);
        console_log!(
            "{} from memory: {:.1} G weight products/s, {:.1} GB/s of held bytes",
            ty.name(),
            (rows * cols) as f64 / s / 1e9,
            bytes as f64 / s / 1e9
        );
    }
}

/// SmolLM2-135M-shaped synthetic models built in the page's memory: 64 prompt tokens, then 63
/// timed decode steps, twice per file.
#[wasm_bindgen_test]
#[ignore = "benchmark"]
fn engine_smol135() {
    let vocab = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/vocab/ggml-vocab-llama-spm.gguf"
    ));
    let vocab = GgufHeader::parse(vocab).expect("vocab").metadata;
    for (name, quant) in [("q4_0", SynthQuant::Q4_0), ("q8_0", SynthQuant::Q8_0), ("q4_k_m", SynthQuant::Q4KM)] {
        let bytes = synth_gguf("llama", &SynthShape::smol135(), quant, &vocab, 7).expect("synth");
        let engine = Engine::from_gguf_bytes(CpuBackend, bytes).expect("load");
        for _ in 0..2 {
            let options = GenerateOptions {
                sampling: SamplingParams::greedy(),
                max_tokens: 64,
                ignore_eos: true,
                ..GenerateOptions::default()
            };
            let mut g = engine.generate_ids(engine.synthetic_prompt(64).expect("prompt"), options).expect("start");
            let t0 = now_ms();
            g.step().expect("prefill");
            let t1 = now_ms();
            for _ in 0..63 {
                g.step().expect("decode");
            }
            let t2 = now_ms();
            console_log!(
                "smol135 {name}: prefill {:.1} tok/s, decode {:.1} tok/s",
                64.0 / ((t1 - t0) / 1000.0),
                63.0 / ((t2 - t1) / 1000.0)
            );
        }
    }
}
