//! Every WGSL op through the browser's WebGPU (SwiftShader in headless Chromium) against its
//! scalar reference, over seeded random shapes: the same checks `crates/kernels/tests/gpu.rs`
//! runs natively on lavapipe, here on Chromium's implementation (Tint, Dawn), read back
//! asynchronously as a page must.
#![cfg(target_arch = "wasm32")]

use arbitre_kernels::graph::{GpuTensor, GpuWeights, Recorder};
use arbitre_kernels::ops::attention::{self, AttentionShape, KvCache};
use arbitre_kernels::ops::elementwise::{self, RopeShape};
use arbitre_kernels::ops::{argmax, get_rows, matmul, rms_norm, softmax};
use arbitre_kernels::{GpuContext, WeightType, quant};
use half::f16;
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// Seeded xorshift draws.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Values in [-1, 1).
    fn values(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0).collect()
    }
}

/// A random `rows x cols` matrix of `ty`: random quants, f16 scales of modest size.
fn weights(ty: WeightType, rows: usize, cols: usize, rng: &mut Rng) -> Vec<u8> {
    match ty {
        WeightType::F32 => return rng.values(rows * cols).iter().flat_map(|v| v.to_le_bytes()).collect(),
        WeightType::F16 => {
            return rng.values(rows * cols).iter().flat_map(|v| f16::from_f32(*v).to_le_bytes()).collect();
        }
        _ => {}
    }
    let n_blocks = rows * cols / ty.block_elems();
    let mut w: Vec<u8> = (0..n_blocks * ty.block_bytes()).map(|_| rng.next() as u8).collect();
    let scale_at: &[usize] = match ty {
        WeightType::Q4K | WeightType::Q5K => &[0, 2],
        WeightType::Q6K => &[208],
        _ => &[0],
    };
    for b in w.chunks_exact_mut(ty.block_bytes()) {
        for &at in scale_at {
            let d = f16::from_f32(0.002 + (rng.next() % 1000) as f32 * 1e-5);
            b[at..at + 2].copy_from_slice(&d.to_le_bytes());
        }
    }
    w
}

/// Collects WebGPU's uncaptured errors (an invalid dispatch gives zeros, not an error).
fn error_sink(ctx: &GpuContext) -> std::sync::Arc<std::sync::Mutex<Vec<String>>> {
    let errors = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = errors.clone();
    ctx.device.on_uncaptured_error(std::sync::Arc::new(move |e: arbitre_kernels::wgpu::Error| {
        if let Ok(mut v) = sink.lock() {
            v.push(e.to_string());
        }
    }));
    errors
}

async fn read(ctx: &GpuContext, rec: &mut Recorder, t: &GpuTensor) -> Vec<f32> {
    rec.read_async(ctx, t).expect("read").await.expect("readback")
}

fn upload(ctx: &GpuContext, v: &[f32], rows: usize, cols: usize) -> GpuTensor {
    GpuTensor::upload(ctx, v, rows, cols).expect("upload")
}

/// `|gpu - ref| <= abs + rel * scale[i]` (the tolerance table of the native GPU tests).
fn check(what: &str, gpu: &[f32], reference: &[f32], scale: &[f32], abs: f32, rel: f32) {
    assert_eq!(gpu.len(), reference.len(), "{what}: lengths");
    for (i, ((g, r), s)) in gpu.iter().zip(reference).zip(scale).enumerate() {
        assert!((g - r).abs() <= abs + rel * s, "{what}: output {i} is {g}, reference {r}");
    }
}

fn magnitudes(v: &[f32]) -> Vec<f32> {
    v.iter().map(|x| x.abs()).collect()
}

#[wasm_bindgen_test]
async fn weight_ops_match_their_references_for_every_type() {
    let ctx = GpuContext::new().await.expect("headless Chromium with --enable-unsafe-webgpu has an adapter");
    let errors = error_sink(&ctx);
    let mut rng = Rng(0x5eed_0f_0b5);
    for ty in WeightType::ALL {
        for case in 0..3 {
            let blocks = 1 + rng.below(6);
            let cols = if ty.block_elems() == 1 { 1 + rng.below(300) } else { blocks * ty.block_elems() };
            let rows = 1 + rng.below(120);
            let m = if case == 0 { 1 } else { 2 + rng.below(30) };
            let what = format!("{ty:?} linear [{m}, {cols}] x [{rows}, {cols}]T");
            let w = weights(ty, rows, cols, &mut rng);
            let x = rng.values(m * cols);
            let gw = GpuWeights::upload(&ctx, ty, &w, rows, cols).expect("weights");
            let y = GpuTensor::zeros(&ctx, m, rows).expect("y");
            let mut rec = Recorder::new();
            rec.linear(&ctx, &gw, &upload(&ctx, &x, m, cols), &y).expect("record");
            let got = read(&ctx, &mut rec, &y).await;
            let reference = matmul::matmul_ref(ty, &w, &x, m, rows, cols);
            let wf = quant::dequantize(ty, &w, rows, cols);
            let scale: Vec<f32> = x
                .chunks_exact(cols)
                .flat_map(|xi| {
                    wf.chunks_exact(cols).map(move |r| r.iter().zip(xi).map(|(a, b)| (a * b).abs()).sum::<f32>())
                })
                .collect();
            check(&what, &got, &reference, &scale, 1e-5, 2e-5);

            let ids: Vec<u32> = (0..1 + rng.below(5)).map(|_| rng.below(rows) as u32).collect();
            let out = GpuTensor::zeros(&ctx, ids.len(), cols).expect("rows");
            rec.get_rows(&ctx, &gw, &ids, &out).expect("record");
            let got = read(&ctx, &mut rec, &out).await;
            let reference = get_rows::get_rows_ref(ty, &w, cols, &ids);
            check(&format!("{ty:?} get_rows {ids:?}"), &got, &reference, &reference, 0.0, 0.0);
        }
    }
    let errors = errors.lock().map(|v| v.clone()).unwrap_or_default();
    assert!(errors.is_empty(), "WebGPU errors: {errors:?}");
    console_log!("linear and get_rows agree with the references for {:?}", WeightType::ALL);
}

#[wasm_bindgen_test]
async fn elementwise_ops_match_their_references() {
    let ctx = GpuContext::new().await.expect("adapter");
    let errors = error_sink(&ctx);
    let mut rng = Rng(0xe1e_3e47);
    let mut rec = Recorder::new();
    for _ in 0..4 {
        let (rows, cols) = (1 + rng.below(12), 1 + rng.below(700));
        let (x, g) = (rng.values(rows * cols), rng.values(cols));
        let out = GpuTensor::zeros(&ctx, rows, cols).expect("out");
        rec.rms_norm(&ctx, &upload(&ctx, &x, rows, cols), &upload(&ctx, &g, 1, cols), 1e-5, &out).expect("rms_norm");
        let reference = rms_norm::rms_norm_ref(&x, &g, cols, 1e-5);
        check("rms_norm", &read(&ctx, &mut rec, &out).await, &reference, &magnitudes(&reference), 1e-4, 1e-4);

        let (a, b) = (rng.values(rows * cols), rng.values(rows * cols));
        let (ga, gb) = (upload(&ctx, &a, rows, cols), upload(&ctx, &b, rows, cols));
        rec.silu_mul(&ctx, &ga, &gb, &out).expect("silu_mul");
        let reference = elementwise::silu_mul_ref(&a, &b);
        check("silu_mul", &read(&ctx, &mut rec, &out).await, &reference, &magnitudes(&reference), 1e-4, 1e-4);
        rec.add(&ctx, &ga, &gb, &out).expect("add");
        let reference = elementwise::add_ref(&a, &b);
        check("add", &read(&ctx, &mut rec, &out).await, &reference, &reference, 0.0, 0.0);

        let spread: Vec<f32> = a.iter().map(|v| v * 20.0).collect();
        rec.softmax(&ctx, &upload(&ctx, &spread, rows, cols), &out).expect("softmax");
        let reference = softmax::softmax_ref(&spread, cols);
        check("softmax", &read(&ctx, &mut rec, &out).await, &reference, &magnitudes(&reference), 1e-6, 1e-4);

        let idx = GpuTensor::zeros(&ctx, 1, 1).expect("idx");
        rec.argmax(&ctx, &upload(&ctx, &a, 1, a.len()), &idx).expect("argmax");
        let got = read(&ctx, &mut rec, &idx).await[0].to_bits() as usize;
        assert_eq!(Some(got), argmax::argmax_ref(&a), "argmax of {} values", a.len());

        let (n_head, head_dim) = (1 + rng.below(4), 2 * (1 + rng.below(16)));
        let neox = rng.below(2) == 1;
        let s = RopeShape { rows, n_head, head_dim, n_rot: head_dim, neox };
        let x = rng.values(rows * n_head * head_dim);
        let table: Vec<f32> = (0..rows * head_dim / 2)
            .flat_map(|i| {
                let t = i as f32 * 0.37;
                [t.cos(), t.sin()]
            })
            .collect();
        let out = GpuTensor::zeros(&ctx, rows, n_head * head_dim).expect("out");
        rec.rope(&ctx, &upload(&ctx, &x, rows, n_head * head_dim), &table, s, &out).expect("rope");
        let reference = elementwise::rope_ref(&x, &table, s);
        check("rope", &read(&ctx, &mut rec, &out).await, &reference, &magnitudes(&reference), 1e-4, 1e-4);
    }
    let errors = errors.lock().map(|v| v.clone()).unwrap_or_default();
    assert!(errors.is_empty(), "WebGPU errors: {errors:?}");
}

#[wasm_bindgen_test]
async fn attention_over_the_gpu_cache_matches_its_reference() {
    let ctx = GpuContext::new().await.expect("adapter");
    let errors = error_sink(&ctx);
    let mut rng = Rng(0xa77e_2710);
    for _ in 0..3 {
        let (n_head_kv, head_dim) = (1 + rng.below(3), 4 * (1 + rng.below(8)));
        let n_head = n_head_kv * (1 + rng.below(3));
        let (pos0, n_q) = (rng.below(80), 1 + rng.below(6));
        let n_ctx = pos0 + n_q + rng.below(8);
        let row = n_head_kv * head_dim;
        let cache = KvCache::new(&ctx, n_ctx, n_head_kv, head_dim).expect("cache");
        let (k, v) = (rng.values((pos0 + n_q) * row), rng.values((pos0 + n_q) * row));
        let mut rec = Recorder::new();
        rec.kv_write(&ctx, &cache, 0, &upload(&ctx, &k, pos0 + n_q, row), &upload(&ctx, &v, pos0 + n_q, row))
            .expect("kv");
        let q = rng.values(n_q * n_head * head_dim);
        let s = AttentionShape { n_q, n_head, pos0, scale: 1.0 / (head_dim as f32).sqrt(), window: 0 };
        let out = GpuTensor::zeros(&ctx, n_q, n_head * head_dim).expect("out");
        rec.attention(&ctx, &upload(&ctx, &q, n_q, n_head * head_dim), &cache, s, &out).expect("attention");
        let got = read(&ctx, &mut rec, &out).await;
        let (mut kc, mut vc) = (vec![0.0; n_ctx * row], vec![0.0; n_ctx * row]);
        attention::kv_write_ref(&mut kc, &mut vc, row, 0, &k, &v);
        let reference = attention::attention_ref(&q, &kc, &vc, n_head_kv, head_dim, s);
        check("attention", &got, &reference, &magnitudes(&reference), 1e-5, 1e-4);
    }
    let errors = errors.lock().map(|v| v.clone()).unwrap_or_default();
    assert!(errors.is_empty(), "WebGPU errors: {errors:?}");
}
