//! Embedding lookup: rows of a table stored as any [`WeightType`], decoded to f32.

use super::{fits_u32, grid, params, run_with, storage_bytes, weight_pipeline};
use crate::quant::dequantize_row;
use crate::{GpuContext, KernelError, WeightType};

const OP: &str = "get_rows";

/// Rows `ids` of the table `[n_rows, cols]` (raw GGUF bytes of type `ty`), as
/// `[ids.len(), cols]` f32.
pub fn get_rows(
    ctx: &GpuContext,
    ty: WeightType,
    table: &[u8],
    n_rows: usize,
    cols: usize,
    ids: &[u32],
) -> Result<Vec<f32>, KernelError> {
    ty.check(OP, table.len(), n_rows, cols)?;
    if let Some(bad) = ids.iter().find(|&&id| id as usize >= n_rows) {
        return Err(KernelError::Shape { op: OP, message: format!("row {bad} of a {n_rows}-row table") });
    }
    let out_len = ids.len() * cols;
    fits_u32(OP, "ids*cols", out_len)?;
    let tb = storage_bytes(ctx, OP, table)?;
    let ib = storage_bytes(ctx, OP, bytemuck::cast_slice(ids))?;
    let uniform =
        params(&[fits_u32(OP, "ids", ids.len())?, fits_u32(OP, "cols", cols)?, 0, fits_u32(OP, "rows", n_rows)?]);
    let pipeline = weight_pipeline(ctx, OP, ty);
    run_with(ctx, OP, &pipeline, &[&tb, &ib], out_len, &uniform, grid(ids.len()))
}

/// The scalar reference.
pub fn get_rows_ref(ty: WeightType, table: &[u8], cols: usize, ids: &[u32]) -> Vec<f32> {
    let Some(rb) = ty.row_bytes(cols) else { return Vec::new() };
    ids.iter().flat_map(|&id| dequantize_row(ty, &table[id as usize * rb..(id as usize + 1) * rb], cols)).collect()
}
