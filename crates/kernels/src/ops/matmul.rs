//! Matrix-matrix product for prompt prefill: `Y = X · Wᵀ`, activations `X [m tokens, k]` in
//! f32 times `n` weight rows of `k` stored as any [`WeightType`], tiled through workgroup
//! shared memory (32 × 32 output tiles, 32-wide steps of k).

use super::{fits_u32, params, run_with, storage, storage_bytes, weight_pipeline};
use crate::quant::dequantize;
use crate::{GpuContext, KernelError, WeightType};

const OP: &str = "matmul";

/// `X [m, k]` (row-major f32) times the transpose of `W [n, k]` (raw GGUF bytes of type `ty`):
/// returns `Y [m, n]`, row `i` being `W · X[i]`.
pub fn matmul(
    ctx: &GpuContext,
    ty: WeightType,
    w: &[u8],
    x: &[f32],
    m: usize,
    n: usize,
    k: usize,
) -> Result<Vec<f32>, KernelError> {
    ty.check(OP, w.len(), n, k)?;
    if x.len() != m * k {
        return Err(KernelError::Shape { op: OP, message: format!("X has {} values, expected {m}x{k}", x.len()) });
    }
    let groups = (n.div_ceil(32).max(1), m.div_ceil(32).max(1));
    if groups.0 > 65_535 || groups.1 > 65_535 {
        return Err(KernelError::Shape {
            op: OP,
            message: format!("{m}x{n} output needs more than 65535 tiles a side"),
        });
    }
    let out_len = m.checked_mul(n).ok_or(KernelError::Shape { op: OP, message: format!("{m}x{n} overflows") })?;
    fits_u32(OP, "m*n", out_len)?;
    let (wb, xb) = (storage_bytes(ctx, OP, w)?, storage(ctx, OP, x)?);
    let uniform = params(&[fits_u32(OP, "m", m)?, fits_u32(OP, "n", n)?, fits_u32(OP, "k", k)?, fits_u32(OP, "n", n)?]);
    let pipeline = weight_pipeline(ctx, OP, ty);
    run_with(ctx, OP, &pipeline, &[&wb, &xb], out_len, &uniform, (groups.0 as u32, groups.1 as u32))
}

/// The scalar reference: dequantize `W` as ggml does, then one f32 dot per output, summing
/// over k in order.
pub fn matmul_ref(ty: WeightType, w: &[u8], x: &[f32], m: usize, n: usize, k: usize) -> Vec<f32> {
    let wf = dequantize(ty, w, n, k);
    let mut y = Vec::with_capacity(m * n);
    for xi in x.chunks_exact(k.max(1)).take(m) {
        y.extend(wf.chunks_exact(k.max(1)).take(n).map(|row| row.iter().zip(xi).fold(0.0f32, |s, (a, b)| s + a * b)));
    }
    y
}
