//! arbitre-qmatmul's simd128 dot products against its scalar reference, in headless Chromium.
#![cfg(target_arch = "wasm32")]

use arbitre_qmatmul::testing::{random_acts, random_blocks};
use arbitre_qmatmul::{Kernel, QMatrix, QType, simd_name};
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn simd128_matches_the_scalar_reference_for_every_type() {
    assert_eq!(simd_name(), "simd128");
    for ty in QType::ALL {
        for (case, (rows, blocks, n)) in [(1, 1, 1), (7, 3, 1), (33, 2, 4), (16, 6, 9)].into_iter().enumerate() {
            let cols = blocks * ty.block_elems();
            let seed = 1000 + case as u64;
            let m = QMatrix::new(ty, rows, cols, random_blocks(ty, rows * blocks, seed)).expect("matrix");
            assert!(m.has_simd(), "{ty:?} has a simd128 kernel");
            let x = random_acts(n * cols, seed + 7);
            let (mut a, mut b) = (vec![0.0; n * rows], vec![0.0; n * rows]);
            m.matmul_with(Kernel::Best, &x, n, &mut a).expect("simd128");
            m.matmul_with(Kernel::Scalar, &x, n, &mut b).expect("scalar");
            let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-3);
            for (i, (p, q)) in a.iter().zip(&b).enumerate() {
                assert!((p - q).abs() <= 2e-5 * scale, "{ty:?} case {case} out {i}: simd128 {p}, scalar {q}");
            }
        }
    }
    console_log!("simd128 dot products agree with the scalar reference for {:?}", QType::ALL);
}
