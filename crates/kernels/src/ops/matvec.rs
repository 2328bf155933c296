//! Matrix-vector product for decode: `y = W · x`, F32 weights.

use super::{grid, run, storage};
use crate::{GpuContext, KernelError, SHADERS};

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
    run(ctx, OP, SHADERS[0].1, &[&wb, &xb], rows, &params, grid(rows))
}

/// The scalar reference.
pub fn matvec_f32_ref(w: &[f32], x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    (0..rows).map(|r| w[r * cols..(r + 1) * cols].iter().zip(x).map(|(a, b)| a * b).sum()).collect()
}
