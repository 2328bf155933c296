//! Row-wise RMSNorm times a weight vector.

use super::{run, storage};
use crate::{GpuContext, KernelError, shader};

const OP: &str = "rms_norm";

/// `rows` rows of `cols` values, normalized then scaled by `g`.
pub fn rms_norm(
    ctx: &GpuContext,
    x: &[f32],
    g: &[f32],
    rows: usize,
    cols: usize,
    eps: f32,
) -> Result<Vec<f32>, KernelError> {
    if x.len() != rows * cols || g.len() != cols || rows > 65_535 {
        return Err(KernelError::Shape {
            op: OP,
            message: format!(
                "x has {} values and g {}, expected {rows}x{cols} and {cols} (rows ≤ 65535)",
                x.len(),
                g.len()
            ),
        });
    }
    let (xb, gb) = (storage(ctx, OP, x)?, storage(ctx, OP, g)?);
    let mut params: Vec<u8> = [rows as u32, cols as u32].iter().flat_map(|v| v.to_le_bytes()).collect();
    params.extend(eps.to_le_bytes());
    params.extend(0u32.to_le_bytes());
    run(ctx, OP, shader(OP), &[&xb, &gb], rows * cols, &params, (rows.max(1) as u32, 1))
}

/// The scalar reference.
pub fn rms_norm_ref(x: &[f32], g: &[f32], cols: usize, eps: f32) -> Vec<f32> {
    x.chunks_exact(cols)
        .flat_map(|row| {
            let ms = row.iter().map(|v| v * v).sum::<f32>() / cols as f32;
            let scale = 1.0 / (ms + eps).sqrt();
            row.iter().zip(g).map(move |(v, w)| w * (v * scale))
        })
        .collect()
}
