//! Every op on a real adapter (Mesa lavapipe in CI) against its scalar reference, random shapes.

use arbitre_kernels::ops::attention::{self, AttentionShape, KvCache};
use arbitre_kernels::ops::elementwise::{self, RopeShape};
use arbitre_kernels::ops::{argmax, get_rows, matmul, matvec, rms_norm, softmax};
use arbitre_kernels::{GpuContext, WeightType, quant};
use proptest::prelude::*;

fn ctx() -> GpuContext {
    static CTX: std::sync::OnceLock<GpuContext> = std::sync::OnceLock::new();
    CTX.get_or_init(|| {
        pollster::block_on(GpuContext::new()).unwrap_or_else(|e| {
            panic!("{e}: install a Vulkan driver (Debian: mesa-vulkan-drivers) to run the GPU tests")
        })
    })
    .clone()
}

/// The one tolerance table: `|gpu - ref| <= abs + rel * scale`, where `scale` is
/// `sum |w_i * x_i|` for dot products (matvec, matmul: f32 sums in another order, error
/// growing with the terms, not with a result that may cancel) and `|ref|` for everything else.
///
/// GPU and reference decode every weight type to the same f32 values (f16 by integer ops,
/// ggml's products in ggml's order; at most a fused multiply-add apart for K-quant mins), so
/// the weight types share one bound; the rows stay per type so that a looser kernel has
/// somewhere to say so.
const TOLERANCES: &[(&str, f32, f32)] = &[
    ("F32", 1e-5, 2e-5),
    ("F16", 1e-5, 2e-5),
    ("Q4_0", 1e-5, 2e-5),
    ("Q5_0", 1e-5, 2e-5),
    ("Q8_0", 1e-5, 2e-5),
    ("Q4_K", 1e-5, 2e-5),
    ("Q5_K", 1e-5, 2e-5),
    ("Q6_K", 1e-5, 2e-5),
    ("matvec_f32", 1e-4, 1e-4),
    ("matvec_q8_0", 1e-4, 1e-4),
    ("rms_norm", 1e-4, 1e-4),
    ("silu_mul", 1e-4, 1e-4),
    // The kernel rounds GELU's input and output to f16 as ggml does; the reference does not.
    ("gelu_mul", 1e-3, 2e-3),
    ("scale", 0.0, 0.0),
    ("rope", 1e-4, 1e-4),
    ("add", 0.0, 0.0),
    ("get_rows", 0.0, 0.0),
    ("kv_write", 0.0, 0.0),
    ("softmax", 1e-6, 1e-4),
    ("attention", 1e-5, 1e-4),
];

fn tolerance(name: &str) -> (f32, f32) {
    TOLERANCES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|&(_, a, r)| (a, r))
        .unwrap_or_else(|| panic!("no tolerance for {name}"))
}

/// `gpu` within `name`'s tolerance of `reference`, each output scaled by `scale[i]`.
fn close_scaled(name: &str, gpu: &[f32], reference: &[f32], scale: &[f32]) -> Result<(), TestCaseError> {
    let (abs, rel) = tolerance(name);
    prop_assert_eq!(gpu.len(), reference.len());
    for (i, ((a, b), s)) in gpu.iter().zip(reference).zip(scale).enumerate() {
        prop_assert!(
            (a - b).abs() <= abs + rel * s,
            "{} index {}: gpu {} vs reference {} (scale {})",
            name,
            i,
            a,
            b,
            s
        );
    }
    Ok(())
}

fn close(name: &str, gpu: &[f32], reference: &[f32]) -> Result<(), TestCaseError> {
    let scale: Vec<f32> = reference.iter().map(|v| v.abs()).collect();
    close_scaled(name, gpu, reference, &scale)
}

fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
        })
        .collect()
}

fn bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut s = seed.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 32) as u8
        })
        .collect()
}

/// An f16 bit pattern from two random bytes: random sign and mantissa, exponent in
/// `lo..lo + 4`, or a subnormal when the exponent draw says so (exercising both decodes).
fn f16_from(b0: u8, b1: u8, lo: u16) -> [u8; 2] {
    let sign = u16::from(b1 >> 7) << 15;
    let draw = u16::from((b1 >> 4) & 7);
    let exp = if draw == 7 { 0 } else { lo + (draw & 3) };
    (sign | (exp << 10) | (u16::from(b1 & 3) << 8) | u16::from(b0)).to_le_bytes()
}

/// A random `rows x cols` matrix of type `ty`: random quants and packed scales, f16 scales of
/// sane size (weights of order one).
fn random_weights(ty: WeightType, rows: usize, cols: usize, seed: u64) -> Vec<u8> {
    if ty == WeightType::F32 {
        return values(rows * cols, seed).iter().flat_map(|v| v.to_le_bytes()).collect();
    }
    let n_blocks = rows * cols / ty.block_elems();
    let mut w = bytes(n_blocks * ty.block_bytes(), seed);
    let bb = ty.block_bytes();
    // (offset of each f16 scale in a block, exponent range start)
    let scales: &[(usize, u16)] = match ty {
        WeightType::F32 => &[],
        WeightType::F16 => &[(0, 13)],
        WeightType::Q4_0 => &[(0, 10)],
        WeightType::Q5_0 => &[(0, 10)],
        WeightType::Q8_0 => &[(0, 6)],
        WeightType::Q4K | WeightType::Q5K => &[(0, 4), (2, 4)],
        WeightType::Q6K => &[(208, 4)],
    };
    for b in 0..n_blocks {
        for &(off, lo) in scales {
            let at = b * bb + off;
            let h = f16_from(w[at], w[at + 1], lo);
            w[at..at + 2].copy_from_slice(&h);
        }
    }
    w
}

/// `sum |w_i * x_i|` per row, the scale of a dot product's rounding error.
fn dot_scale(ty: WeightType, w: &[u8], x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let wf = quant::dequantize(ty, w, rows, cols);
    wf.chunks_exact(cols).map(|r| r.iter().zip(x).map(|(a, b)| (a * b).abs()).sum()).collect()
}

/// Columns of whole blocks for `ty`: any width for F32/F16, `1..=max_blocks` blocks else.
fn cols_for(ty: WeightType, draw: usize) -> usize {
    match ty.block_elems() {
        1 => 1 + draw % 700,
        32 => 32 * (1 + draw % 24),
        _ => 256 * (1 + draw % 4),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn matvec_matches_reference(rows in 1usize..300, cols in 1usize..700, seed in any::<u64>()) {
        let (w, x) = (values(rows * cols, seed), values(cols, seed ^ 1));
        let gpu = matvec::matvec_f32(&ctx(), &w, &x, rows, cols).expect("gpu");
        close("matvec_f32", &gpu, &matvec::matvec_f32_ref(&w, &x, rows, cols))?;
    }

    #[test]
    fn rms_norm_matches_reference(rows in 1usize..20, cols in 1usize..600, seed in any::<u64>()) {
        let (x, g) = (values(rows * cols, seed), values(cols, seed ^ 2));
        let gpu = rms_norm::rms_norm(&ctx(), &x, &g, rows, cols, 1e-5).expect("gpu");
        close("rms_norm", &gpu, &rms_norm::rms_norm_ref(&x, &g, cols, 1e-5))?;
    }
}

// Every weight type in every case, so that no type can go untested by the luck of the draw.
proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn matvec_every_type_matches_reference(rows in 1usize..160, draw in any::<usize>(), seed in any::<u64>()) {
        for ty in WeightType::ALL {
            let cols = cols_for(ty, draw);
            let (w, x) = (random_weights(ty, rows, cols, seed), values(cols, seed ^ 3));
            let gpu = matvec::matvec(&ctx(), ty, &w, &x, rows, cols).expect("gpu");
            let reference = matvec::matvec_ref(ty, &w, &x, rows, cols);
            close_scaled(ty.name(), &gpu, &reference, &dot_scale(ty, &w, &x, rows, cols))?;
        }
    }

    #[test]
    fn matmul_every_type_matches_reference(m in 1usize..70, n in 1usize..70, draw in any::<usize>(), seed in any::<u64>()) {
        for ty in WeightType::ALL {
            let k = cols_for(ty, draw % 300);
            let (w, x) = (random_weights(ty, n, k, seed), values(m * k, seed ^ 4));
            let gpu = matmul::matmul(&ctx(), ty, &w, &x, m, n, k).expect("gpu");
            let reference = matmul::matmul_ref(ty, &w, &x, m, n, k);
            let scale: Vec<f32> = x.chunks_exact(k).flat_map(|xi| dot_scale(ty, &w, xi, n, k)).collect();
            close_scaled(ty.name(), &gpu, &reference, &scale)?;
        }
    }

    #[test]
    fn get_rows_every_type_matches_reference(
        n_rows in 1usize..20, draw in any::<usize>(), ids in proptest::collection::vec(any::<u32>(), 1..12), seed in any::<u64>()
    ) {
        for ty in WeightType::ALL {
            let cols = cols_for(ty, draw % 200);
            let table = random_weights(ty, n_rows, cols, seed);
            let ids: Vec<u32> = ids.iter().map(|i| i % n_rows as u32).collect();
            let gpu = get_rows::get_rows(&ctx(), ty, &table, n_rows, cols, &ids).expect("gpu");
            close("get_rows", &gpu, &get_rows::get_rows_ref(ty, &table, cols, &ids))?;
        }
    }
}

/// Q8_0 blocks with scales in 0.0078..0.0156 (f16 encoded by hand) and arbitrary quants.
fn q8_blocks(n_blocks: usize, seed: u64) -> Vec<u8> {
    let v = values(n_blocks * 33, seed);
    let mut out = Vec::with_capacity(n_blocks * 34);
    for b in 0..n_blocks {
        let mantissa = ((v[b * 33] + 1.0) * 511.0) as u16 & 0x3ff;
        out.extend_from_slice(&((8u16 << 10) | mantissa).to_le_bytes());
        out.extend(v[b * 33 + 1..b * 33 + 33].iter().map(|q| (q * 127.0) as i8 as u8));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn matvec_q8_0_matches_reference(rows in 1usize..200, blocks in 1usize..24, seed in any::<u64>()) {
        let cols = blocks * 32;
        let (w, x) = (q8_blocks(rows * blocks, seed), values(cols, seed ^ 3));
        let gpu = matvec::matvec_q8_0(&ctx(), &w, &x, rows, cols).expect("gpu");
        close("matvec_q8_0", &gpu, &matvec::matvec_q8_0_ref(&w, &x, rows, cols))?;
    }

    #[test]
    fn silu_mul_matches_reference(n in 1usize..5000, seed in any::<u64>()) {
        let (g, u) = (values(n, seed).iter().map(|v| v * 8.0).collect::<Vec<_>>(), values(n, seed ^ 4));
        let gpu = elementwise::silu_mul(&ctx(), &g, &u).expect("gpu");
        close("silu_mul", &gpu, &elementwise::silu_mul_ref(&g, &u))?;
    }

    #[test]
    fn gelu_mul_matches_reference(n in 1usize..5000, seed in any::<u64>()) {
        // Past ±10 as well, where ggml's GELU leaves its table.
        let (g, u) = (values(n, seed).iter().map(|v| v * 12.0).collect::<Vec<_>>(), values(n, seed ^ 4));
        let gpu = elementwise::gelu_mul(&ctx(), &g, &u).expect("gpu");
        close("gelu_mul", &gpu, &elementwise::gelu_mul_ref(&g, &u))?;
    }

    #[test]
    fn scale_matches_reference(n in 1usize..5000, s in -30.0f32..30.0, seed in any::<u64>()) {
        let x = values(n, seed);
        let gpu = elementwise::scale(&ctx(), &x, s).expect("gpu");
        close("scale", &gpu, &x.iter().map(|v| v * s).collect::<Vec<_>>())?;
    }

    #[test]
    fn add_matches_reference(n in 1usize..5000, seed in any::<u64>()) {
        let (a, b) = (values(n, seed), values(n, seed ^ 5));
        let gpu = elementwise::add(&ctx(), &a, &b).expect("gpu");
        close("add", &gpu, &elementwise::add_ref(&a, &b))?;
    }

    #[test]
    fn rope_matches_reference(
        rows in 1usize..12, n_head in 1usize..9, half_rot in 1usize..9, extra in 0usize..3, neox in any::<bool>(), seed in any::<u64>()
    ) {
        let s = RopeShape { rows, n_head, head_dim: 2 * half_rot + 2 * extra, n_rot: 2 * half_rot, neox };
        let x = values(rows * n_head * s.head_dim, seed);
        let angles = values(rows * half_rot, seed ^ 5);
        let table: Vec<f32> = angles.iter().flat_map(|a| [(a * 3.0).cos(), (a * 3.0).sin()]).collect();
        let gpu = elementwise::rope(&ctx(), &x, &table, s).expect("gpu");
        close("rope", &gpu, &elementwise::rope_ref(&x, &table, s))?;
    }

    #[test]
    fn softmax_matches_reference(rows in 1usize..20, cols in 1usize..900, spread in 0.1f32..30.0, seed in any::<u64>()) {
        let x: Vec<f32> = values(rows * cols, seed).iter().map(|v| v * spread).collect();
        let gpu = softmax::softmax(&ctx(), &x, rows, cols).expect("gpu");
        close("softmax", &gpu, &softmax::softmax_ref(&x, cols))?;
    }

    #[test]
    fn argmax_matches_reference(n in 1usize..6000, levels in 1u32..50, seed in any::<u64>()) {
        // Few distinct levels: ties are the rule, and the lowest index must win.
        let x: Vec<f32> = values(n, seed).iter().map(|v| (v * levels as f32).round()).collect();
        let gpu = argmax::argmax(&ctx(), &x).expect("gpu");
        prop_assert_eq!(Some(gpu), argmax::argmax_ref(&x));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn attention_matches_reference(
        n_head_kv in 1usize..4, group in 1usize..4, head_dim in 1usize..160, wide in any::<bool>(),
        pos0 in 0usize..150, n_q in 1usize..5, spare in 0usize..3, window in 0usize..40, seed in any::<u64>()
    ) {
        let head_dim = if wide { 256 } else { head_dim };
        let (c, n_head, n_ctx) = (ctx(), n_head_kv * group, pos0 + n_q + spare);
        let cache = KvCache::new(&c, n_ctx, n_head_kv, head_dim).expect("cache");
        let row = n_head_kv * head_dim;
        let (k, v) = (values((pos0 + n_q) * row, seed), values((pos0 + n_q) * row, seed ^ 6));
        // The prompt's rows first, then the new ones at pos0, as decode appends them.
        cache.write(&c, 0, &k[..pos0 * row], &v[..pos0 * row]).expect("write");
        cache.write(&c, pos0, &k[pos0 * row..], &v[pos0 * row..]).expect("write");
        let (mut k_ref, mut v_ref) = (vec![0.0; n_ctx * row], vec![0.0; n_ctx * row]);
        attention::kv_write_ref(&mut k_ref, &mut v_ref, row, 0, &k, &v);
        let (k_gpu, v_gpu) = cache.read(&c).expect("read");
        close("kv_write", &k_gpu, &k_ref)?;
        close("kv_write", &v_gpu, &v_ref)?;

        let q: Vec<f32> = values(n_q * n_head * head_dim, seed ^ 7).iter().map(|v| v * 3.0).collect();
        // A sliding window in some cases (0: none), shorter and longer than the past.
        let window = if window < 20 { 0 } else { window - 19 };
        let s = AttentionShape { n_q, n_head, pos0, scale: 1.0 / (head_dim as f32).sqrt(), window };
        let gpu = attention::attention(&c, &q, &cache, s).expect("gpu");
        close("attention", &gpu, &attention::attention_ref(&q, &k_ref, &v_ref, n_head_kv, head_dim, s))?;
    }
}

#[test]
fn pipelines_are_built_once() {
    let c = ctx();
    let before = matvec::matvec_f32(&c, &[1.0, 2.0], &[3.0, 4.0], 1, 2).expect("gpu");
    let n = c.cached_pipelines();
    let again = matvec::matvec_f32(&c, &[1.0, 2.0], &[3.0, 4.0], 1, 2).expect("gpu");
    assert_eq!(before, vec![11.0]);
    assert_eq!(again, before);
    assert_eq!(c.cached_pipelines(), n);
    let w: Vec<u8> = [1.0f32, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(matvec::matvec(&c, WeightType::F32, &w, &[3.0, 4.0], 1, 2).expect("gpu"), vec![11.0]);
    let n = c.cached_pipelines();
    assert_eq!(matvec::matvec(&c, WeightType::F32, &w, &[3.0, 4.0], 1, 2).expect("gpu"), vec![11.0]);
    assert_eq!(c.cached_pipelines(), n, "one pipeline per (op, weight type)");
}

#[test]
fn bad_shapes_are_errors() {
    let c = ctx();
    assert!(matvec::matvec_f32(&c, &[1.0; 6], &[1.0; 2], 2, 2).is_err());
    assert!(rms_norm::rms_norm(&c, &[1.0; 4], &[1.0; 3], 1, 4, 1e-5).is_err());
    assert!(matvec::matvec(&c, WeightType::Q4K, &[0; 144], &[0.0; 128], 1, 128).is_err(), "128 is not a super-block");
    assert!(matvec::matvec(&c, WeightType::Q4_0, &[0; 17], &[0.0; 32], 1, 32).is_err());
    assert!(matmul::matmul(&c, WeightType::Q8_0, &[0; 34], &[0.0; 31], 1, 1, 32).is_err());
    assert!(get_rows::get_rows(&c, WeightType::Q8_0, &[0; 34], 1, 32, &[1]).is_err(), "id past the table");
    assert!(softmax::softmax(&c, &[0.0; 5], 2, 3).is_err());
    assert!(argmax::argmax(&c, &[]).is_err());
    assert!(elementwise::add(&c, &[0.0; 2], &[0.0; 3]).is_err());
    let cache = KvCache::new(&c, 4, 2, 8).expect("cache");
    assert!(cache.write(&c, 4, &[0.0; 16], &[0.0; 16]).is_err(), "past the end of the cache");
    assert!(cache.write(&c, 0, &[0.0; 15], &[0.0; 15]).is_err(), "not whole rows");
    let s = AttentionShape { n_q: 1, n_head: 3, pos0: 0, scale: 1.0, window: 0 };
    assert!(attention::attention(&c, &[0.0; 24], &cache, s).is_err(), "3 heads over 2 kv heads");
    let s = AttentionShape { n_q: 2, n_head: 2, pos0: 3, scale: 1.0, window: 0 };
    assert!(attention::attention(&c, &[0.0; 32], &cache, s).is_err(), "positions past the cache");
}

#[test]
fn reference_dequantizers_match_hand_decoded_blocks() {
    // Q4_0: d = 0.5, byte 0x9f -> low nibble 15 - 8 = 7, high 9 - 8 = 1.
    let mut b = vec![0x00, 0x38];
    b.extend([0x9f; 16]);
    let y = quant::dequantize_row(WeightType::Q4_0, &b, 32);
    assert_eq!((y[0], y[15], y[16], y[31]), (3.5, 3.5, 0.5, 0.5));
    // Q5_0: d = 0.5, qh bit 0 (weight 0) and bit 16 (weight 16) set, byte 0x9f everywhere:
    // weight 0 = (15 | 16) - 16 = 15, weight 1 = 15 - 16 = -1, weight 16 = (9 | 16) - 16 = 9,
    // weight 17 = 9 - 16 = -7.
    let mut b = vec![0x00, 0x38, 0x01, 0x00, 0x01, 0x00];
    b.extend([0x9f; 16]);
    let y = quant::dequantize_row(WeightType::Q5_0, &b, 32);
    assert_eq!((y[0], y[1], y[16], y[17]), (7.5, -0.5, 4.5, -3.5));
    // Q4_K: d = 1, dmin = 2; sub-block 0 scale 3 min 1, sub-block 4 scale 5 | 2 << 4, min 6.
    let mut b = vec![0u8; 144];
    b[0..4].copy_from_slice(&[0x00, 0x3c, 0x00, 0x40]);
    b[4] = 3 | (2 << 6); // scale 0 = 3, high bits of scale 4 = 2
    b[8] = 1; // min 0 = 1
    b[12] = 5 | (6 << 4); // low bits of scale 4 and min 4
    b[16..48].fill(0x21); // group 0: low nibble 1 (sub-block 0), high 2 (sub-block 1)
    b[80..112].fill(0x07); // group 2: low nibble 7 (sub-block 4)
    let y = quant::dequantize_row(WeightType::Q4K, &b, 256);
    assert_eq!(y[0], 3.0 * 1.0 - 2.0 * 1.0);
    assert_eq!(y[128], (5.0 + 32.0) * 7.0 - 2.0 * 6.0);
    // Q6_K: d = 1, every quant 33 (low nibble 1, high bits 2) -> 1; scales 1..=16.
    let mut b = vec![0u8; 210];
    b[..128].fill(0x11);
    b[128..192].fill(0b1010_1010);
    for (i, s) in b[192..208].iter_mut().enumerate() {
        *s = i as u8 + 1;
    }
    b[208..210].copy_from_slice(&[0x00, 0x3c]);
    let y = quant::dequantize_row(WeightType::Q6K, &b, 256);
    assert_eq!((y[0], y[16], y[32], y[64], y[96], y[128], y[255]), (1.0, 2.0, 3.0, 5.0, 7.0, 9.0, 16.0));
}

fn fixture(name: &str) -> arbitre_gguf::GgufFile {
    let dir = std::env::var_os("ARBITRE_FIXTURES")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures").into());
    arbitre_gguf::GgufFile::from_path(dir.join("babyllama").join(name)).expect("fixture")
}

#[test]
fn matvec_q8_0_on_a_real_gguf_tensor() {
    let file = fixture("babyllama-tok105-q8_0.gguf");
    let (info, data) = file.tensor("blk.0.ffn_down.weight").expect("tensor");
    let (cols, rows) = (info.dims[0] as usize, info.dims[1] as usize);
    let x = values(cols, 7);
    let gpu = matvec::matvec_q8_0(&ctx(), data, &x, rows, cols).expect("gpu");
    let reference = matvec::matvec_q8_0_ref(data, &x, rows, cols);
    let (abs, rel) = tolerance("matvec_q8_0");
    for (a, b) in gpu.iter().zip(&reference) {
        assert!((a - b).abs() <= abs + rel * b.abs(), "gpu {a} vs reference {b}");
    }
    assert!(reference.iter().any(|v| v.abs() > 0.01), "the tensor is not all zeros");
}

/// Every Q4_0/Q8_0/F32 tensor of the real files through matvec, matmul and get_rows.
#[test]
fn real_gguf_tensors_through_every_weight_op() {
    let c = ctx();
    let mut checked = 0;
    for name in ["babyllama-tok105-q4_0.gguf", "babyllama-tok105-q8_0.gguf"] {
        let file = fixture(name);
        for info in file.tensors() {
            let Some(ty) = WeightType::from_ggml_id(info.dtype.id()) else { continue };
            if info.dims.len() != 2 || !(info.name.ends_with("ffn_down.weight") || info.name == "token_embd.weight") {
                continue;
            }
            let (_, data) = file.tensor(&info.name).expect("tensor");
            let (cols, rows) = (info.dims[0] as usize, info.dims[1] as usize);
            let x = values(3 * cols, 11);
            let gpu = matvec::matvec(&c, ty, data, &x[..cols], rows, cols).expect("gpu");
            let reference = matvec::matvec_ref(ty, data, &x[..cols], rows, cols);
            close_scaled(ty.name(), &gpu, &reference, &dot_scale(ty, data, &x[..cols], rows, cols)).expect(&info.name);
            assert!(reference.iter().any(|v| v.abs() > 0.01), "{} is not all zeros", info.name);
            let gpu = matmul::matmul(&c, ty, data, &x, 3, rows, cols).expect("gpu");
            let reference = matmul::matmul_ref(ty, data, &x, 3, rows, cols);
            let scale: Vec<f32> = x.chunks_exact(cols).flat_map(|xi| dot_scale(ty, data, xi, rows, cols)).collect();
            close_scaled(ty.name(), &gpu, &reference, &scale).expect(&info.name);
            let ids: Vec<u32> = [0, rows as u32 - 1, rows as u32 / 2, 0].to_vec();
            let gpu = get_rows::get_rows(&c, ty, data, rows, cols, &ids).expect("gpu");
            close("get_rows", &gpu, &get_rows::get_rows_ref(ty, data, cols, &ids)).expect(&info.name);
            checked += 1;
        }
    }
    assert!(checked >= 4, "only {checked} tensors checked");
}
