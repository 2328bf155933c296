//! Row-wise softmax.

use super::{fits_u32, grid, params, run, storage};
use crate::{GpuContext, KernelError, shader};

const OP: &str = "softmax";

/// Softmax of each of `rows` rows of `cols` values.
pub fn softmax(ctx: &GpuContext, x: &[f32], rows: usize, cols: usize) -> Result<Vec<f32>, KernelError> {
    if x.len() != rows * cols {
        return Err(KernelError::Shape { op: OP, message: format!("{} values, expected {rows}x{cols}", x.len()) });
    }
    let xb = storage(ctx, OP, x)?;
    let uniform = params(&[fits_u32(OP, "rows", rows)?, fits_u32(OP, "cols", cols)?]);
    run(ctx, OP, shader(OP), &[&xb], x.len(), &uniform, grid(rows))
}

/// The scalar reference.
pub fn softmax_ref(x: &[f32], cols: usize) -> Vec<f32> {
    x.chunks_exact(cols.max(1))
        .flat_map(|row| {
            let mx = row.iter().copied().fold(f32::MIN, f32::max);
            let e: Vec<f32> = row.iter().map(|v| (v - mx).exp()).collect();
            let sum: f32 = e.iter().sum();
            e.into_iter().map(move |v| v / sum)
        })
        .collect()
}
