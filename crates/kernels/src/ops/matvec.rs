//! Matrix-vector product for decode: `y = W · x`. [`matvec`] reads weights of any
//! [`WeightType`] as raw GGUF bytes; [`matvec_f32`] and [`matvec_q8_0`] are the first,
//! hand-specialised kernels for two of them.

use super::{fits_u32, grid, params, run, run_with, storage, storage_bytes, weight_pipeline};
use crate::quant::{dequantize_row, f16_to_f32};
use crate::{GpuContext, KernelError, WeightType, shader};

const OP: &str = "matvec_f32";

/// `W [rows, cols]` (row-major) times `x [cols]` on the GPU.
pub fn matvec_f32(ctx: &GpuContext, w: &[f32], x: &[f32], rows: usize, cols: usize) -> Result<Vec<f32>, KernelError> {
    if w.len() != rows * cols || x.len() != cols {
        return Err(KernelError::Shape {
            op: OP,
            message: format!("W has {} values and x {}, expected {rows}x{cols} and {cols}", w.len(), x.len()),
        });
    }
    let (wb, xb) = (storage(ctx, OP, w)?, storage(ctx, OP, x)?);
    let params: Vec<u8> = [rows as u32, cols as u32].iter().flat_map(|v| v.to_le_bytes()).collect();
    run(ctx, OP, shader(OP), &[&wb, &xb], rows, &params, grid(rows))
}

/// The scalar reference.
pub fn matvec_f32_ref(w: &[f32], x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    (0..rows).map(|r| w[r * cols..(r + 1) * cols].iter().zip(x).map(|(a, b)| a * b).sum()).collect()
}

const OP_Q8: &str = "matvec_q8_0";
/// Bytes of one Q8_0 block (f16 scale + 32 signed bytes).
pub const Q8_0_BLOCK_BYTES: usize = 34;

/// `W [rows, cols]` in GGUF Q8_0 blocks times f32 `x [cols]`, on the GPU.
pub fn matvec_q8_0(ctx: &GpuContext, w: &[u8], x: &[f32], rows: usize, cols: usize) -> Result<Vec<f32>, KernelError> {
    if !cols.is_multiple_of(32) || w.len() != rows * cols / 32 * Q8_0_BLOCK_BYTES || x.len() != cols {
        return Err(KernelError::Shape {
            op: OP_Q8,
            message: format!("{} bytes and x of {} do not make a Q8_0 {rows}x{cols} matrix", w.len(), x.len()),
        });
    }
    let (wb, xb) = (storage_bytes(ctx, OP_Q8, w)?, storage(ctx, OP_Q8, x)?);
    let params: Vec<u8> = [rows as u32, cols as u32].iter().flat_map(|v| v.to_le_bytes()).collect();
    run(ctx, OP_Q8, shader(OP_Q8), &[&wb, &xb], rows, &params, grid(rows))
}

/// The scalar reference: dequantize each block, multiply in f32.
pub fn matvec_q8_0_ref(w: &[u8], x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let blocks = cols / 32;
    (0..rows)
        .map(|r| {
            (0..blocks)
                .map(|b| {
                    let blk = &w[(r * blocks + b) * Q8_0_BLOCK_BYTES..(r * blocks + b + 1) * Q8_0_BLOCK_BYTES];
                    let d = f16_to_f32(u16::from_le_bytes([blk[0], blk[1]]));
                    d * blk[2..].iter().zip(&x[b * 32..]).map(|(&q, v)| f32::from(q as i8) * v).sum::<f32>()
                })
                .sum()
        })
        .collect()
}

const OP_ANY: &str = "matvec";

/// `W [rows, cols]` stored as `ty` (raw GGUF bytes, rows of whole blocks) times f32
/// `x [cols]`, on the GPU.
pub fn matvec(
    ctx: &GpuContext,
    ty: WeightType,
    w: &[u8],
    x: &[f32],
    rows: usize,
    cols: usize,
) -> Result<Vec<f32>, KernelError> {
    ty.check(OP_ANY, w.len(), rows, cols)?;
    if x.len() != cols {
        return Err(KernelError::Shape { op: OP_ANY, message: format!("x has {} values, expected {cols}", x.len()) });
    }
    let (wb, xb) = (storage_bytes(ctx, OP_ANY, w)?, storage(ctx, OP_ANY, x)?);
    let uniform = params(&[fits_u32(OP_ANY, "rows", rows)?, fits_u32(OP_ANY, "cols", cols)?]);
    let pipeline = weight_pipeline(ctx, OP_ANY, ty);
    run_with(ctx, OP_ANY, &pipeline, &[&wb, &xb], rows, &uniform, grid(rows))
}

/// The scalar reference of [`matvec`]: dequantize each row as ggml does, dot in f32.
pub fn matvec_ref(ty: WeightType, w: &[u8], x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let Some(rb) = ty.row_bytes(cols) else { return Vec::new() };
    (0..rows)
        .map(|r| dequantize_row(ty, &w[r * rb..(r + 1) * rb], cols).iter().zip(x).map(|(a, b)| a * b).sum())
        .collect()
}
