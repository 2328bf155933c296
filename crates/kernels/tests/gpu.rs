//! Every op on a real adapter (Mesa lavapipe in CI) against its scalar reference, random shapes.

use arbitre_kernels::GpuContext;
use arbitre_kernels::ops::elementwise::{self, RopeShape};
use arbitre_kernels::ops::{matvec, rms_norm};
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

/// Tolerance table: |gpu - ref| <= ABS + REL * |ref| (f32 sums in a different order).
const ABS: f32 = 1e-4;
const REL: f32 = 1e-4;

fn close(gpu: &[f32], reference: &[f32]) -> Result<(), TestCaseError> {
    prop_assert_eq!(gpu.len(), reference.len());
    for (i, (a, b)) in gpu.iter().zip(reference).enumerate() {
        prop_assert!((a - b).abs() <= ABS + REL * b.abs(), "index {}: gpu {} vs reference {}", i, a, b);
    }
    Ok(())
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn matvec_matches_reference(rows in 1usize..300, cols in 1usize..700, seed in any::<u64>()) {
        let (w, x) = (values(rows * cols, seed), values(cols, seed ^ 1));
        let gpu = matvec::matvec_f32(&ctx(), &w, &x, rows, cols).expect("gpu");
        close(&gpu, &matvec::matvec_f32_ref(&w, &x, rows, cols))?;
    }

    #[test]
    fn rms_norm_matches_reference(rows in 1usize..20, cols in 1usize..600, seed in any::<u64>()) {
        let (x, g) = (values(rows * cols, seed), values(cols, seed ^ 2));
        let gpu = rms_norm::rms_norm(&ctx(), &x, &g, rows, cols, 1e-5).expect("gpu");
        close(&gpu, &rms_norm::rms_norm_ref(&x, &g, cols, 1e-5))?;
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
        close(&gpu, &matvec::matvec_q8_0_ref(&w, &x, rows, cols))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn silu_mul_matches_reference(n in 1usize..5000, seed in any::<u64>()) {
        let (g, u) = (values(n, seed).iter().map(|v| v * 8.0).collect::<Vec<_>>(), values(n, seed ^ 4));
        let gpu = elementwise::silu_mul(&ctx(), &g, &u).expect("gpu");
        close(&gpu, &elementwise::silu_mul_ref(&g, &u))?;
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
        close(&gpu, &elementwise::rope_ref(&x, &table, s))?;
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
}

#[test]
fn bad_shapes_are_errors() {
    assert!(matvec::matvec_f32(&ctx(), &[1.0; 6], &[1.0; 2], 2, 2).is_err());
    assert!(rms_norm::rms_norm(&ctx(), &[1.0; 4], &[1.0; 3], 1, 4, 1e-5).is_err());
}

#[test]
fn matvec_q8_0_on_a_real_gguf_tensor() {
    let dir = std::env::var_os("ARBITRE_FIXTURES")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures").into());
    let file = arbitre_gguf::GgufFile::from_path(dir.join("babyllama/babyllama-tok105-q8_0.gguf")).expect("fixture");
    let (info, data) = file.tensor("blk.0.ffn_down.weight").expect("tensor");
    let (cols, rows) = (info.dims[0] as usize, info.dims[1] as usize);
    let x = values(cols, 7);
    let gpu = matvec::matvec_q8_0(&ctx(), data, &x, rows, cols).expect("gpu");
    let reference = matvec::matvec_q8_0_ref(data, &x, rows, cols);
    for (a, b) in gpu.iter().zip(&reference) {
        assert!((a - b).abs() <= ABS + REL * b.abs(), "gpu {a} vs reference {b}");
    }
    assert!(reference.iter().any(|v| v.abs() > 0.01), "the tensor is not all zeros");
}
