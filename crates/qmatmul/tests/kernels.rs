//! The block layouts against candle's, the SIMD dot products against the scalar reference,
//! and the scalar reference against plain f64 arithmetic on the decoded values.

use std::borrow::Cow;

use arbitre_qmatmul::testing::{random_acts, random_blocks};
use arbitre_qmatmul::{KStorage, Kernel, Q5Storage, QMatrix, QType, Storage, quantize_q8_0, quantize_q8_k, reference};
use candle_core::quantized::{GgmlDType, QMatMul, QStorage, QTensor};
use candle_core::{Device, Module, Tensor};
use half::f16;
use proptest::prelude::*;

/// candle's name for the type, where candle reads it (it has no IQ types).
fn candle_dtype(ty: QType) -> Option<GgmlDType> {
    Some(match ty {
        QType::Q4_0 => GgmlDType::Q4_0,
        QType::Q4_1 => GgmlDType::Q4_1,
        QType::Q5_0 => GgmlDType::Q5_0,
        QType::Q5_1 => GgmlDType::Q5_1,
        QType::Q8_0 => GgmlDType::Q8_0,
        QType::Q2K => GgmlDType::Q2K,
        QType::Q3K => GgmlDType::Q3K,
        QType::Q4K => GgmlDType::Q4K,
        QType::Q5K => GgmlDType::Q5K,
        QType::Q6K => GgmlDType::Q6K,
        QType::IQ4NL | QType::IQ4XS => return None,
    })
}

/// The types candle reads.
fn candle_types() -> impl Iterator<Item = QType> {
    QType::ALL.into_iter().filter(|&ty| candle_dtype(ty).is_some())
}

fn candle_qtensor(ty: QType, rows: usize, cols: usize, data: &[u8]) -> QTensor {
    let dtype = candle_dtype(ty).expect("a type candle reads");
    let storage = QStorage::from_data(Cow::Borrowed(data), &Device::Cpu, dtype).expect("candle storage");
    QTensor::new(storage, (rows, cols)).expect("candle qtensor")
}

/// IQ4_NL's table, from ggml's `kvalues_iq4nl`.
const IQ4NL: [i8; 16] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

/// The values of IQ4_NL and IQ4_XS blocks, decoded straight from ggml's block layouts
/// (`block_iq4_nl`: f16 d, 16 bytes; `block_iq4_xs`: f16 d, u16 scales_h, 4 bytes scales_l,
/// 128 bytes), as `dequantize_row_iq4_nl`/`_xs` do.
fn iq4_dequantize(ty: QType, data: &[u8]) -> Vec<f32> {
    let f16_at = |b: &[u8], at: usize| f16::from_le_bytes([b[at], b[at + 1]]).to_f32();
    let sub = |dl: f32, qs: &[u8], out: &mut Vec<f32>| {
        out.extend(qs.iter().map(|&q| dl * f32::from(IQ4NL[usize::from(q & 15)])));
        out.extend(qs.iter().map(|&q| dl * f32::from(IQ4NL[usize::from(q >> 4)])));
    };
    let mut out = Vec::new();
    for b in data.chunks_exact(ty.block_bytes()) {
        if ty == QType::IQ4NL {
            sub(f16_at(b, 0), &b[2..18], &mut out);
            continue;
        }
        let scales_h = u16::from_le_bytes([b[2], b[3]]);
        for ib in 0..8 {
            let ls = i32::from((b[4 + ib / 2] >> (4 * (ib % 2))) & 0xF) | (i32::from((scales_h >> (2 * ib)) & 3) << 4);
            sub(f16_at(b, 0) * (ls - 32) as f32, &b[8 + 16 * ib..24 + 16 * ib], &mut out);
        }
    }
    out
}

/// The decoded values of `rows × cols` of `ty`: candle's reading, or ours from ggml's layouts
/// for the IQ types.
fn independent_dequantize(ty: QType, rows: usize, cols: usize, data: &[u8]) -> Vec<f32> {
    if candle_dtype(ty).is_none() {
        return iq4_dequantize(ty, data);
    }
    candle_qtensor(ty, rows, cols, data)
        .dequantize(&Device::Cpu)
        .and_then(|t| t.flatten_all())
        .and_then(|t| t.to_vec1::<f32>())
        .expect("candle dequantize")
}

#[test]
fn dequantize_matches_candle_for_every_type() {
    for ty in QType::ALL {
        let (rows, cols) = (3, 512);
        let data = random_blocks(ty, rows * cols / ty.block_elems(), 7);
        let m = QMatrix::new(ty, rows, cols, data.clone()).expect("matrix");
        let theirs = independent_dequantize(ty, rows, cols, &data);
        let mut ours = vec![0.0; cols];
        for r in 0..rows {
            m.dequantize_row(r, &mut ours).expect("row");
            assert_eq!(&ours[..], &theirs[r * cols..(r + 1) * cols], "{ty:?} row {r}");
        }
    }
}

/// `m` (built from `data`, `rows × cols` of `ty`) decodes every row exactly as candle does and
/// multiplies `n` random activation rows like candle, with either kernel; `what` names the case.
fn agrees_with_candle(m: &QMatrix, ty: QType, data: &[u8], n: usize, what: &str) {
    let (rows, cols) = (m.rows(), m.cols());
    let x = random_acts(n * cols, 18);
    let theirs_w = candle_qtensor(ty, rows, cols, data)
        .dequantize(&Device::Cpu)
        .and_then(|t| t.flatten_all())
        .and_then(|t| t.to_vec1::<f32>())
        .expect("candle dequantize");
    let qm = QMatMul::from_qtensor(candle_qtensor(ty, rows, cols, data)).expect("qmatmul");
    let xt = Tensor::from_slice(&x, (n, cols), &Device::Cpu).expect("x");
    let theirs = qm.forward(&xt).and_then(|t| t.flatten_all()).and_then(|t| t.to_vec1::<f32>()).expect("forward");
    let scale = theirs.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1.0);
    let mut w = vec![0.0; cols];
    for r in 0..rows {
        m.dequantize_row(r, &mut w).expect("row");
        assert_eq!(&w[..], &theirs_w[r * cols..(r + 1) * cols], "{what} row {r}");
    }
    for kernel in [Kernel::Best, Kernel::Scalar] {
        let mut ours = vec![0.0; n * rows];
        m.matmul_with(kernel, &x, n, &mut ours).expect("matmul");
        for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            assert!((a - b).abs() <= 1e-4 * scale, "{what} {kernel:?} output {i}: ours {a}, candle {b}");
        }
    }
}

/// Q5_0 widened to bytes (wasm32's storage) decodes and multiplies like the packed storage and
/// like candle (rows 13: the last group is padded).
#[test]
fn both_q5_0_storages_agree_with_candle() {
    let (rows, cols) = (13, 320);
    let data = random_blocks(QType::Q5_0, rows * cols / 32, 17);
    for q5 in [Q5Storage::Packed, Q5Storage::Bytes] {
        let storage = Storage { q5, k: KStorage::for_target() };
        let m = QMatrix::with_storage(QType::Q5_0, rows, cols, data.clone(), storage).expect("matrix");
        assert_eq!(m.ty(), QType::Q5_0);
        let per_group = if q5 == Q5Storage::Bytes { 16 + 4 * 32 } else { 16 + 16 + 4 * 16 };
        assert_eq!(m.bytes(), rows.div_ceil(4) * (cols / 32) * per_group, "{q5:?} layout size");
        agrees_with_candle(&m, QType::Q5_0, &data, 3, &format!("{q5:?}"));
    }
}

/// Q4_K and Q6_K in ggml's rows and grouped by four rows (every target's storage) decode and
/// multiply like candle, with either kernel.
#[test]
fn both_k_storages_agree_with_candle() {
    for ty in [QType::Q4K, QType::Q6K] {
        let (rows, cols) = (13, 512);
        let data = random_blocks(ty, rows * cols / 256, 31);
        for k in [KStorage::Rows, KStorage::Groups] {
            let m = QMatrix::with_storage(ty, rows, cols, data.clone(), Storage { q5: Q5Storage::Packed, k })
                .expect("matrix");
            let per_4_rows = match (ty, k) {
                (_, KStorage::Rows) => 4 * ty.block_bytes(),
                (QType::Q4K, KStorage::Groups) => 32 + 64 + 4 * 128,
                _ => 16 + 64 + 4 * 256,
            };
            let expected =
                if k == KStorage::Rows { rows * 2 * ty.block_bytes() } else { rows.div_ceil(4) * 2 * per_4_rows };
            assert_eq!(m.bytes(), expected, "{ty:?} {k:?} layout size");
            agrees_with_candle(&m, ty, &data, 3, &format!("{ty:?} {k:?}"));
        }
    }
}

/// The types held in another type's layout or with mins (Q4_1, Q5_1 with their mins; Q2_K and
/// Q3_K in Q6_K's grouped layout, Q2_K's mins apart) decode and multiply like candle, with
/// either kernel, on a padded last group (13 rows).
#[test]
fn borrowed_layouts_agree_with_candle() {
    for ty in [QType::Q4_1, QType::Q5_1, QType::Q2K, QType::Q3K] {
        let (rows, cols) = (13, 512);
        let data = random_blocks(ty, rows * cols / ty.block_elems(), 41);
        for q5 in [Q5Storage::Packed, Q5Storage::Bytes] {
            for k in [KStorage::Rows, KStorage::Groups] {
                let m = QMatrix::with_storage(ty, rows, cols, data.clone(), Storage { q5, k }).expect("matrix");
                agrees_with_candle(&m, ty, &data, 3, &format!("{ty:?} {q5:?} {k:?}"));
            }
        }
    }
}

/// IQ4_NL and IQ4_XS multiply as f64 arithmetic on their independently decoded values and the
/// Q8_0 activations, with either kernel, on a padded last group.
#[test]
fn iq4_products_are_the_decoded_products() {
    for ty in [QType::IQ4NL, QType::IQ4XS] {
        let (rows, cols, n) = (13, 512, 3);
        let data = random_blocks(ty, rows * cols / ty.block_elems(), 43);
        let w = iq4_dequantize(ty, &data);
        let x = random_acts(n * cols, 44);
        let m = QMatrix::new(ty, rows, cols, data).expect("matrix");
        for kernel in [Kernel::Best, Kernel::Scalar] {
            let mut y = vec![0.0; n * rows];
            m.matmul_with(kernel, &x, n, &mut y).expect("matmul");
            for t in 0..n {
                let mut b = Vec::new();
                quantize_q8_0(&x[t * cols..(t + 1) * cols], &mut b);
                let xq: Vec<f64> =
                    b.iter().flat_map(|b| b.qs.iter().map(move |&q| f64::from(q) * f64::from(b.d))).collect();
                for r in 0..rows {
                    let row = &w[r * cols..(r + 1) * cols];
                    let exact: f64 = row.iter().zip(&xq).map(|(&a, &b)| f64::from(a) * b).sum();
                    let mag: f64 = row.iter().zip(&xq).map(|(&a, &b)| (f64::from(a) * b).abs()).sum();
                    let got = f64::from(y[t * rows + r]);
                    assert!(
                        (got - exact).abs() <= 1e-5 * mag.max(1e-3),
                        "{ty:?} {kernel:?} ({t}, {r}): {got} vs {exact}"
                    );
                }
            }
        }
    }
}

#[test]
fn matmul_agrees_with_candle_for_every_type() {
    for ty in candle_types() {
        let (rows, cols, n) = (40, 768, 3);
        let data = random_blocks(ty, rows * cols / ty.block_elems(), 11);
        let x = random_acts(n * cols, 5);
        let m = QMatrix::new(ty, rows, cols, data.clone()).expect("matrix");
        let mut ours = vec![0.0; n * rows];
        m.matmul(&x, n, &mut ours).expect("matmul");
        let qm = QMatMul::from_qtensor(candle_qtensor(ty, rows, cols, &data)).expect("qmatmul");
        let xt = Tensor::from_slice(&x, (n, cols), &Device::Cpu).expect("x");
        let theirs = qm.forward(&xt).and_then(|t| t.flatten_all()).and_then(|t| t.to_vec1::<f32>()).expect("forward");
        let scale = theirs.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            assert!((a - b).abs() <= 1e-4 * scale.max(1.0), "{ty:?} output {i}: ours {a}, candle {b}");
        }
    }
}

/// The scalar reference equals f64 arithmetic on the decoded weights and the decoded
/// quantized activations, up to f32 rounding.
#[test]
fn reference_dot_is_the_decoded_product() {
    for ty in QType::ALL {
        let cols = 512;
        let data = random_blocks(ty, cols / ty.block_elems(), 3);
        let x = random_acts(cols, 9);
        let m = QMatrix::new(ty, 1, cols, data).expect("matrix");
        let mut w = vec![0.0; cols];
        m.dequantize_row(0, &mut w).expect("row");
        let xq: Vec<f64> = if ty.uses_q8k() {
            let mut b = Vec::new();
            quantize_q8_k(&x, &mut b);
            b.iter().flat_map(|b| b.qs.iter().map(move |&q| f64::from(q) * f64::from(b.d))).collect()
        } else {
            let mut b = Vec::new();
            quantize_q8_0(&x, &mut b);
            b.iter().flat_map(|b| b.qs.iter().map(move |&q| f64::from(q) * f64::from(b.d))).collect()
        };
        let exact: f64 = w.iter().zip(&xq).map(|(&a, &b)| f64::from(a) * b).sum();
        let mut y = [0.0f32];
        m.matmul_with(Kernel::Scalar, &x, 1, &mut y).expect("matmul");
        let mag: f64 = w.iter().zip(&xq).map(|(&a, &b)| (f64::from(a) * b).abs()).sum();
        assert!((f64::from(y[0]) - exact).abs() <= 1e-5 * mag.max(1e-3), "{ty:?}: {} vs {exact}", y[0]);
    }
}

#[test]
fn q8_0_quantization_follows_ggml() {
    let mut x = vec![0.0f32; 32];
    x[0] = 1.0;
    x[1] = -0.5;
    x[2] = 0.25;
    x[3] = 1.0 / 254.0; // exactly half a step: rounds away from zero
    let mut out = Vec::new();
    quantize_q8_0(&x, &mut out);
    assert_eq!(&out[0].qs[..4], &[127, -64, 32, 1]);
    assert_eq!(out[0].sum, 127 - 64 + 32 + 1);
    assert_eq!(out[0].d, f16::from_f32(1.0 / 127.0).to_f32());
    let mut k = Vec::new();
    let mut x = vec![0.0f32; 256];
    x[5] = -127.0;
    x[6] = -63.5;
    x[7] = -62.5;
    x[8] = 2.0;
    quantize_q8_k(&x, &mut k);
    // The value of largest magnitude always becomes -127 (the scale takes the sign); halves
    // go to the even neighbour.
    assert_eq!(&k[0].qs[5..9], &[-127, -64, -62, 2]);
    assert_eq!(k[0].bsums[0], -127 - 64 - 62 + 2);
    assert_eq!(k[0].d, 1.0);
}

#[test]
fn bad_shapes_are_refused() {
    assert!(QMatrix::new(QType::Q4_0, 2, 48, vec![0; 36]).is_err(), "48 is not whole blocks of 32");
    assert!(QMatrix::new(QType::Q4_0, 2, 64, vec![0; 71]).is_err(), "wrong byte count");
    let m = QMatrix::new(QType::Q4_0, 2, 64, vec![0; 72]).expect("matrix");
    let mut y = vec![0.0; 2];
    assert!(m.matmul(&[0.0; 63], 1, &mut y).is_err());
    assert!(m.dequantize_row(2, &mut [0.0; 64]).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// The SIMD kernels (AVX2 here when the CPU has it) agree with the scalar reference over
    /// random shapes, row counts and blocks.
    #[test]
    fn simd_matches_scalar(ty_i in 0usize..QType::ALL.len(), bytes in any::<bool>(), k_groups in any::<bool>(), rows in 1usize..20, blocks in 1usize..6, n in 1usize..5, seed in any::<u64>()) {
        let ty = QType::ALL[ty_i];
        let cols = blocks * ty.block_elems();
        let data = random_blocks(ty, rows * blocks, seed);
        let x = random_acts(n * cols, seed ^ 0x5555);
        let q5 = if bytes { Q5Storage::Bytes } else { Q5Storage::Packed };
        let k = if k_groups { KStorage::Groups } else { KStorage::Rows };
        let m = QMatrix::with_storage(ty, rows, cols, data, Storage { q5, k }).expect("matrix");
        let (mut a, mut b) = (vec![0.0; n * rows], vec![0.0; n * rows]);
        m.matmul_with(Kernel::Best, &x, n, &mut a).expect("best");
        m.matmul_with(Kernel::Scalar, &x, n, &mut b).expect("scalar");
        let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-3);
        for (i, (p, q)) in a.iter().zip(&b).enumerate() {
            prop_assert!((p - q).abs() <= 2e-5 * scale, "{:?} out {}: simd {} scalar {}", ty, i, p, q);
        }
    }
}

#[test]
fn reference_helpers_decode_known_blocks() {
    // Q4_0: nibbles 0..15 low, 15..0 high.
    let qs: Vec<u8> = (0..16u8).map(|j| j | ((15 - j) << 4)).collect();
    let v = reference::q4_0_values(&qs);
    assert_eq!((v[0], v[15], v[16], v[31]), (-8, 7, 7, -8));
    // Q5_0: every fifth bit set adds 16 to nibbles of 0.
    assert!(reference::q5_0_values(u32::MAX, &[0; 16]).iter().all(|&v| v == 0));
    assert_eq!(reference::q5_0_values(1 << 16, &[0xF0; 16])[16], 15, "bit 16 is value 16's fifth bit");
}

/// Products big enough to be shared out over the thread pool give the same numbers as the
/// scalar reference on one thread (rows not a multiple of any chunk size).
#[test]
fn large_products_shared_over_threads_match_the_reference() {
    for ty in [QType::Q4_0, QType::Q6K] {
        let (rows, cols) = (1027, 2048);
        let m = QMatrix::new(ty, rows, cols, random_blocks(ty, rows * cols / ty.block_elems(), 21)).expect("matrix");
        for n in [1, 3] {
            let x = random_acts(n * cols, 22);
            let (mut a, mut b) = (vec![0.0; n * rows], vec![0.0; n * rows]);
            m.matmul(&x, n, &mut a).expect("pool");
            m.matmul_with(Kernel::Scalar, &x, n, &mut b).expect("scalar");
            let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            for (i, (p, q)) in a.iter().zip(&b).enumerate() {
                assert!((p - q).abs() <= 2e-5 * scale, "{ty:?} n={n} out {i}: {p} vs {q}");
            }
        }
    }
}
