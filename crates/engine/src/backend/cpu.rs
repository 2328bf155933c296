//! The CPU backend: arbitre's own quantized matrix products (`arbitre-qmatmul`: AVX2 natively,
//! simd128 on wasm32, rayon threads natively) for Q4_0/Q5_0/Q8_0/Q4_K/Q5_K/Q6_K weights,
//! candle's for the other types, plain loops for the small element-wise ops. Quantized
//! weights stay quantized: activations are quantized once per product the way ggml does,
//! never the other way round.

use std::borrow::Cow;

use arbitre_gguf::GgmlType;
use arbitre_qmatmul::{QMatrix, QType};
use candle_core::quantized::{GgmlDType, QMatMul, QStorage, QTensor};
use candle_core::{Device, Module, Tensor};

use super::{AttnShape, Backend, KvSlot, Rope};
use crate::config::RopeStyle;
use crate::error::{EngineError, Result};
use crate::weights::RawTensor;

const NAME: &str = "CPU";

fn err(e: impl std::fmt::Display) -> EngineError {
    EngineError::Backend { backend: NAME, message: e.to_string() }
}

/// Activations on the CPU: a row-major f32 matrix.
#[derive(Clone, Debug, PartialEq)]
pub struct CpuTensor {
    /// Values, `rows * cols` of them.
    pub data: Vec<f32>,
    /// Number of rows (tokens).
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
}

impl CpuTensor {
    fn zeros(rows: usize, cols: usize) -> Self {
        Self { data: vec![0.0; rows * cols], rows, cols }
    }

    fn row(&self, r: usize) -> &[f32] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }
}

/// A weight matrix for the CPU backend.
pub struct CpuMatrix {
    kind: MatrixKind,
    out: usize,
    inp: usize,
}

enum MatrixKind {
    /// The types arbitre-qmatmul covers.
    Own(QMatrix),
    /// F32/F16/BF16 and the rarer block types, through candle.
    Candle(QMatMul),
}

fn own_type(t: GgmlType) -> Option<QType> {
    Some(match t {
        GgmlType::Q4_0 => QType::Q4_0,
        GgmlType::Q4_1 => QType::Q4_1,
        GgmlType::Q5_0 => QType::Q5_0,
        GgmlType::Q5_1 => QType::Q5_1,
        GgmlType::Q8_0 => QType::Q8_0,
        GgmlType::IQ4NL => QType::IQ4NL,
        GgmlType::IQ4XS => QType::IQ4XS,
        GgmlType::Q2K => QType::Q2K,
        GgmlType::Q3K => QType::Q3K,
        GgmlType::Q4K => QType::Q4K,
        GgmlType::Q5K => QType::Q5K,
        GgmlType::Q6K => QType::Q6K,
        _ => return None,
    })
}

/// Per-layer key and value rows, up to `[n_ctx, kv_dim]` each, rounded to f16 as llama.cpp's
/// default cache does (the same numbers as the reference) and held as f32, so reads need no
/// conversion. Rows are allocated as positions are written (doubling), not for the whole context
/// up front: a short chat holds a short cache.
pub struct CpuKvCache {
    keys: Vec<Vec<f32>>,
    values: Vec<Vec<f32>>,
    kv_dim: usize,
    n_ctx: usize,
}

/// The CPU backend.
#[derive(Clone, Debug, Default)]
pub struct CpuBackend;

fn candle_dtype(t: &RawTensor<'_>) -> Result<GgmlDType> {
    Ok(match t.dtype {
        GgmlType::F32 => GgmlDType::F32,
        GgmlType::F16 => GgmlDType::F16,
        GgmlType::BF16 => GgmlDType::BF16,
        GgmlType::Q4_0 => GgmlDType::Q4_0,
        GgmlType::Q4_1 => GgmlDType::Q4_1,
        GgmlType::Q5_0 => GgmlDType::Q5_0,
        GgmlType::Q5_1 => GgmlDType::Q5_1,
        GgmlType::Q8_0 => GgmlDType::Q8_0,
        GgmlType::Q2K => GgmlDType::Q2K,
        GgmlType::Q3K => GgmlDType::Q3K,
        GgmlType::Q4K => GgmlDType::Q4K,
        GgmlType::Q5K => GgmlDType::Q5K,
        GgmlType::Q6K => GgmlDType::Q6K,
        GgmlType::Q8K => GgmlDType::Q8K,
        dtype => {
            return Err(EngineError::UnsupportedQuant { tensor: t.name.clone(), dtype, op: "matmul", backend: NAME });
        }
    })
}

/// Decodes F32/F16/BF16 bytes to f32 values.
pub(crate) fn f32_values(t: &RawTensor<'_>) -> Result<Vec<f32>> {
    let d = &t.data;
    Ok(match t.dtype {
        GgmlType::F32 => d.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
        GgmlType::F16 => d.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
        GgmlType::BF16 => d.chunks_exact(2).map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
        dtype => {
            return Err(EngineError::UnsupportedQuant { tensor: t.name.clone(), dtype, op: "vector", backend: NAME });
        }
    })
}

impl Backend for CpuBackend {
    type Tensor = CpuTensor;
    type Matrix = CpuMatrix;
    type Vector = Vec<f32>;
    type KvCache = CpuKvCache;

    fn name(&self) -> String {
        if cfg!(target_arch = "wasm32") { "CPU (WASM SIMD)".into() } else { "CPU".into() }
    }

    fn matrix(&self, t: &RawTensor<'_>) -> Result<CpuMatrix> {
        let [inp, out] = t.dims[..] else {
            return Err(EngineError::BadConfig(format!("tensor {:?} is not a matrix: {:?}", t.name, t.dims)));
        };
        let (inp, out) = (inp as usize, out as usize);
        if let Some(ty) = own_type(t.dtype) {
            let m = QMatrix::new(ty, out, inp, &*t.data).map_err(|e| err(format!("tensor {:?}: {e}", t.name)))?;
            return Ok(CpuMatrix { kind: MatrixKind::Own(m), out, inp });
        }
        let dtype = candle_dtype(t)?;
        let storage = QStorage::from_data(Cow::Borrowed(&t.data[..]), &Device::Cpu, dtype).map_err(err)?;
        let qtensor = QTensor::new(storage, (out, inp)).map_err(err)?;
        let qmatmul = QMatMul::from_qtensor(qtensor).map_err(err)?;
        Ok(CpuMatrix { kind: MatrixKind::Candle(qmatmul), out, inp })
    }

    fn matrix_bytes(&self, m: &CpuMatrix) -> usize {
        match &m.kind {
            MatrixKind::Own(m) => m.bytes(),
            MatrixKind::Candle(QMatMul::QTensor(t)) => t.storage_size_in_bytes(),
            MatrixKind::Candle(QMatMul::Tensor(t) | QMatMul::TensorF16(t)) => {
                t.elem_count() * t.dtype().size_in_bytes()
            }
        }
    }

    fn vector(&self, t: &RawTensor<'_>) -> Result<Vec<f32>> {
        f32_values(t)
    }

    fn kv_cache(&self, n_layer: usize, n_ctx: usize, kv_dim: usize) -> Result<CpuKvCache> {
        Ok(CpuKvCache {
            keys: (0..n_layer).map(|_| Vec::new()).collect(),
            values: (0..n_layer).map(|_| Vec::new()).collect(),
            kv_dim,
            n_ctx,
        })
    }

    fn embed(&self, table: &CpuMatrix, tokens: &[u32]) -> Result<CpuTensor> {
        if let Some(&bad) = tokens.iter().find(|&&t| t as usize >= table.out) {
            return Err(EngineError::BadConfig(format!("token id {bad} is outside the vocabulary of {}", table.out)));
        }
        let qmatmul = match &table.kind {
            MatrixKind::Own(m) => {
                let mut out = CpuTensor::zeros(tokens.len(), table.inp);
                for (&t, row) in tokens.iter().zip(out.data.chunks_exact_mut(table.inp)) {
                    m.dequantize_row(t as usize, row).map_err(err)?;
                }
                return Ok(out);
            }
            MatrixKind::Candle(m) => m,
        };
        let ids = Tensor::new(tokens, &Device::Cpu).map_err(err)?;
        let rows = qmatmul.embedding(&ids).map_err(err)?;
        let data = rows.flatten_all().and_then(|t| t.to_vec1::<f32>()).map_err(err)?;
        Ok(CpuTensor { data, rows: tokens.len(), cols: table.inp })
    }

    fn matmul(&self, x: &CpuTensor, w: &CpuMatrix) -> Result<CpuTensor> {
        if x.cols != w.inp {
            return Err(err(format!("matmul of [{}, {}] by a [{}, {}] weight", x.rows, x.cols, w.out, w.inp)));
        }
        let qmatmul = match &w.kind {
            MatrixKind::Own(m) => {
                let mut data = vec![0.0; x.rows * w.out];
                m.matmul(&x.data, x.rows, &mut data).map_err(err)?;
                return Ok(CpuTensor { data, rows: x.rows, cols: w.out });
            }
            MatrixKind::Candle(m) => m,
        };
        let xt = Tensor::from_slice(&x.data, (x.rows, x.cols), &Device::Cpu).map_err(err)?;
        let y = qmatmul.forward(&xt).map_err(err)?;
        let data = y.flatten_all().and_then(|t| t.to_vec1::<f32>()).map_err(err)?;
        Ok(CpuTensor { data, rows: x.rows, cols: w.out })
    }

    fn rms_norm(&self, x: &CpuTensor, w: &Vec<f32>, eps: f32) -> Result<CpuTensor> {
        let n = w.len();
        if n == 0 || !x.cols.is_multiple_of(n) {
            return Err(err(format!("rms_norm weight of {} over rows of {}", w.len(), x.cols)));
        }
        let mut out = CpuTensor::zeros(x.rows, x.cols);
        for (src, dst) in x.data.chunks_exact(n).zip(out.data.chunks_exact_mut(n)) {
            // ggml squares in f32 and sums the squares in double precision.
            let ss = src.iter().map(|&v| f64::from(v * v)).sum::<f64>() / n as f64;
            let scale = 1.0 / (ss as f32 + eps).sqrt();
            for ((d, s), g) in dst.iter_mut().zip(src).zip(w) {
                *d = g * (s * scale);
            }
        }
        Ok(out)
    }

    fn rope(&self, x: &mut CpuTensor, n_head: usize, head_dim: usize, pos: usize, rope: &Rope<'_>) -> Result<()> {
        let half = rope.freq_factors.len();
        if x.cols != n_head * head_dim || half * 2 > head_dim {
            return Err(err(format!(
                "rope of {} pairs over rows of {} with {n_head} heads of {head_dim}",
                half, x.cols
            )));
        }
        let mut table = vec![(0.0f32, 0.0f32); half];
        for (r, row) in x.data.chunks_exact_mut(x.cols).enumerate() {
            rope.sin_cos(pos + r, &mut table);
            for head in row.chunks_exact_mut(head_dim) {
                for (i, &(sin, cos)) in table.iter().enumerate() {
                    let (a, b) = match rope.style {
                        RopeStyle::Interleaved => (2 * i, 2 * i + 1),
                        RopeStyle::NeoX => (i, i + half),
                    };
                    let (x0, x1) = (head[a], head[b]);
                    head[a] = x0 * cos - x1 * sin;
                    head[b] = x0 * sin + x1 * cos;
                }
            }
        }
        Ok(())
    }

    fn attention(
        &self,
        cache: &mut CpuKvCache,
        slot: KvSlot,
        q: &CpuTensor,
        k: &CpuTensor,
        v: &CpuTensor,
        shape: AttnShape,
    ) -> Result<CpuTensor> {
        let KvSlot { layer, pos } = slot;
        let AttnShape { n_head, n_head_kv, head_dim, scale_q_first, scale, window: _ } = shape;
        let kv_dim = cache.kv_dim;
        if q.cols != n_head * head_dim || k.cols != kv_dim || v.cols != kv_dim || n_head_kv * head_dim != kv_dim {
            return Err(err("attention shapes disagree with the cache".to_string()));
        }
        let n_tok = q.rows;
        if pos + n_tok > cache.n_ctx {
            return Err(err(format!("position {} is past the context of {}", pos + n_tok, cache.n_ctx)));
        }
        let (keys, values) = (&mut cache.keys[layer], &mut cache.values[layer]);
        let need = (pos + n_tok) * kv_dim;
        if keys.len() < need {
            // Room for twice the positions written so far, at most the context.
            let room = (2 * need).min(cache.n_ctx * kv_dim).max(need);
            for rows in [&mut *keys, &mut *values] {
                if rows.capacity() < need {
                    rows.try_reserve_exact(room - rows.len()).map_err(|_| err("not enough memory for the KV cache"))?;
                }
                rows.resize(need, 0.0);
            }
        }
        // Rounded to f16 on the way in, kept as f32: the same numbers as an f16 cache without
        // converting every element again on every read.
        let to_f16 = |dst: &mut [f32], src: &[f32]| dst.iter_mut().zip(src).for_each(|(d, s)| *d = round_f16(*s));
        to_f16(&mut keys[pos * kv_dim..(pos + n_tok) * kv_dim], &k.data);
        to_f16(&mut values[pos * kv_dim..(pos + n_tok) * kv_dim], &v.data);

        // Like ggml's f16 attention path: q and the probabilities are rounded to f16 before
        // they meet the f16 cache; products accumulate in f32.
        let group = n_head / n_head_kv;
        let (q_scale, score_scale) = if scale_q_first { (scale, 1.0) } else { (1.0, scale) };
        let mut out = CpuTensor::zeros(n_tok, q.cols);
        let mut scores = vec![0.0f32; pos + n_tok];
        let mut qh = vec![0.0f32; head_dim];
        let mut row = vec![0.0f32; head_dim];
        for t in 0..n_tok {
            let n_past = pos + t + 1;
            // Positions before the window are masked: they take no part in the softmax.
            let first = shape.first_visible(pos + t);
            let q_row = q.row(t);
            for h in 0..n_head {
                let kv_off = (h / group) * head_dim;
                for (d, s) in qh.iter_mut().zip(&q_row[h * head_dim..(h + 1) * head_dim]) {
                    *d = round_f16(*s * q_scale);
                }
                for (j, s) in scores[..n_past].iter_mut().enumerate().skip(first) {
                    let kh = &keys[j * kv_dim + kv_off..j * kv_dim + kv_off + head_dim];
                    *s = dot(&qh, kh) * score_scale;
                }
                softmax(&mut scores[first..n_past]);
                row.fill(0.0);
                for (j, &p) in scores[..n_past].iter().enumerate().skip(first) {
                    let p = round_f16(p);
                    let vh = &values[j * kv_dim + kv_off..j * kv_dim + kv_off + head_dim];
                    for (d, x) in row.iter_mut().zip(vh) {
                        *d += p * x;
                    }
                }
                out.data[t * q.cols + h * head_dim..t * q.cols + (h + 1) * head_dim].copy_from_slice(&row);
            }
        }
        Ok(out)
    }

    fn silu_mul(&self, gate: &CpuTensor, up: &CpuTensor) -> Result<CpuTensor> {
        if gate.data.len() != up.data.len() {
            return Err(err("silu_mul of tensors of different sizes".to_string()));
        }
        let data = gate.data.iter().zip(&up.data).map(|(g, u)| g / (1.0 + exp(-g)) * u).collect();
        Ok(CpuTensor { data, rows: gate.rows, cols: gate.cols })
    }

    fn gelu_mul(&self, gate: &CpuTensor, up: &CpuTensor) -> Result<CpuTensor> {
        if gate.data.len() != up.data.len() {
            return Err(err("gelu_mul of tensors of different sizes".to_string()));
        }
        let data = gate.data.iter().zip(&up.data).map(|(&g, u)| gelu_ggml(g) * u).collect();
        Ok(CpuTensor { data, rows: gate.rows, cols: gate.cols })
    }

    fn scale(&self, x: &mut CpuTensor, s: f32) -> Result<()> {
        x.data.iter_mut().for_each(|v| *v *= s);
        Ok(())
    }

    fn add_assign(&self, a: &mut CpuTensor, b: &CpuTensor) -> Result<()> {
        if a.data.len() != b.data.len() {
            return Err(err("add of tensors of different sizes".to_string()));
        }
        a.data.iter_mut().zip(&b.data).for_each(|(x, y)| *x += y);
        Ok(())
    }

    fn add_bias(&self, x: &mut CpuTensor, b: &Vec<f32>) -> Result<()> {
        if b.len() != x.cols {
            return Err(err(format!("bias of {} over rows of {}", b.len(), x.cols)));
        }
        for row in x.data.chunks_exact_mut(x.cols) {
            row.iter_mut().zip(b).for_each(|(v, b)| *v += b);
        }
        Ok(())
    }

    fn last_rows(&self, x: &CpuTensor, n: usize) -> Result<CpuTensor> {
        if n == 0 || n > x.rows {
            return Err(err(format!("last {n} rows of a tensor of {} rows", x.rows)));
        }
        Ok(CpuTensor { data: x.data[(x.rows - n) * x.cols..].to_vec(), rows: n, cols: x.cols })
    }

    fn read_row(&self, x: &CpuTensor) -> Result<Vec<f32>> {
        Ok(x.data.clone())
    }
}

/// GELU with the tanh approximation, in f32, as ggml writes it (`ggml_gelu_f32`; the compiler
/// fuses `A·x·x + 1` into one multiply-add).
fn gelu_f32(x: f32) -> f32 {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    const GELU_COEF_A: f32 = 0.044_715;
    0.5 * x * (1.0 + (SQRT_2_OVER_PI * x * (GELU_COEF_A * x).mul_add(x, 1.0)).tanh())
}

/// GELU as ggml's CPU backend computes it in f32 graphs: 0 below -10, the identity above 10,
/// and in between a table of every f16 input (`gelu_f32` rounded to f16) read at the input
/// rounded to f16. Matching it keeps greedy texts equal to llama.cpp's on F32 Gemma files.
pub fn gelu_ggml(x: f32) -> f32 {
    static TABLE: std::sync::OnceLock<Vec<f32>> = std::sync::OnceLock::new();
    if x <= -10.0 {
        return 0.0;
    }
    if x >= 10.0 {
        return x;
    }
    let table = TABLE
        .get_or_init(|| (0..=u16::MAX).map(|bits| round_f16(gelu_f32(half::f16::from_bits(bits).to_f32()))).collect());
    let bits = half::f16::from_f32(x).to_bits();
    table[usize::from(bits)]
}

/// `x` rounded to the nearest f16 value (ties to even), as f32: `f16::from_f32(x).to_f32()`
/// without the conversion's branches, which wasm32 runs in software.
pub(crate) fn round_f16(x: f32) -> f32 {
    let a = x.abs();
    if a >= 65520.0 || a.is_nan() {
        // Past f16's largest value (65504) by half a step or more: infinity.
        return if a.is_nan() { x } else { f32::INFINITY.copysign(x) };
    }
    if a < 6.103_515_6e-5 {
        // Below f16's smallest normal (2^-14) the step is 2^-24.
        return (x * 16_777_216.0).round_ties_even() * (1.0 / 16_777_216.0);
    }
    // Keep 10 of f32's 23 mantissa bits, rounding half to even.
    let b = x.to_bits();
    f32::from_bits(b.wrapping_add(0x0FFF + ((b >> 13) & 1)) & !0x1FFF)
}

/// `e^x` within 2 ulp for x in [-87, 88] (clamped there: below, the true value is subnormal
/// or 0 and this returns e^-87 ≈ 1.6e-38; above, e^88), without branches or a library call,
/// so that loops over it become SIMD (wasm32 has no `expf` instruction and calls a software
/// one). Cody–Waite reduction by ln 2, then Cephes' degree-6 polynomial for `expf`.
#[inline]
pub(crate) fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // Adding and subtracting 1.5 · 2^23 rounds to the nearest integer (ties to even).
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2E + ROUND) - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let mut p = 1.987_569_2e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    // 2^n for n in [-126, 127], built in the exponent bits.
    y * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// A dot product in eight lanes (which the compiler turns into SIMD).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// In-place numerically stable softmax.
pub(crate) fn softmax(x: &mut [f32]) {
    let max = x.iter().fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
    for v in x.iter_mut() {
        *v = exp(*v - max);
    }
    let sum: f32 = x.iter().sum();
    for v in x.iter_mut() {
        *v /= sum;
    }
}

#[cfg(test)]
mod tests {
    use half::f16;

    use super::{dot, exp, round_f16};

    #[test]
    fn exp_is_within_two_ulp_of_the_true_value() {
        let ulp = |v: f32| f32::from_bits(v.to_bits() + 1) - v;
        let mut x = -87.0f32;
        while x <= 88.0 {
            for v in [x, f32::from_bits(x.to_bits() + 7), -x / 3.0].into_iter().filter(|v| (-87.0..=88.0).contains(v)) {
                let want = f64::from(v).exp();
                let got = f64::from(exp(v));
                assert!((got - want).abs() <= 2.0 * f64::from(ulp(want as f32)), "exp({v:e}) = {got:e}, not {want:e}");
            }
            x += 0.00173;
        }
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-1000.0), exp(-87.0), "clamped below");
        assert!(exp(-87.0) > 0.0 && exp(-87.0) < 2e-38);
        assert!(exp(f32::NAN).is_nan());
    }

    #[test]
    fn round_f16_equals_the_half_crate_everywhere_that_matters() {
        let check = |x: f32| {
            let want = f16::from_f32(x).to_f32();
            let got = round_f16(x);
            assert!(got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()), "{x:e}: {got:e} vs {want:e}");
        };
        // Every 2^k step of the exponent range with many mantissas, both signs, plus the edges.
        let mut bits = 0u32;
        while bits < 0x8000_0000 {
            check(f32::from_bits(bits));
            check(-f32::from_bits(bits));
            bits += 0x0000_0FFF + 0x1234;
        }
        for x in
            [0.0, 65504.0, 65519.99, 65520.0, 1e9, 6.103_515_6e-5, 6.1e-5, 5.96e-8, 2.98e-8, 2.99e-8, f32::MIN_POSITIVE]
        {
            check(x);
            check(-x);
        }
        check(f32::NAN);
        check(f32::INFINITY);
    }

    #[test]
    fn dot_sums_every_product() {
        let a: Vec<f32> = (0..67).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..67).map(|i| 1.0 - i as f32 * 0.25).collect();
        let want: f64 = a.iter().zip(&b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
        assert!((f64::from(dot(&a, &b)) - want).abs() < 1e-3, "{} vs {want}", dot(&a, &b));
    }
}
