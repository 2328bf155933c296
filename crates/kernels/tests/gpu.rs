//! Every op on a real adapter (Mesa lavapipe in CI) against its scalar reference, random shapes.

use arbitre_kernels::GpuContext;
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
