//! Where weights come from: a GGUF file or a llama2.c checkpoint, seen through one interface.

use std::borrow::Cow;
use std::collections::HashMap;

use arbitre_gguf::{GgmlType, GgufFile};

use crate::error::{EngineError, Result};

/// One tensor's raw bytes, in ggml layout.
#[derive(Clone, Debug)]
pub struct RawTensor<'a> {
    /// Tensor name (GGUF naming).
    pub name: String,
    /// Element type.
    pub dtype: GgmlType,
    /// Dimensions, row length first.
    pub dims: Vec<u64>,
    /// Encoded data.
    pub data: Cow<'a, [u8]>,
}

impl RawTensor<'_> {
    /// Checks the dims against what the graph expects.
    pub fn expect_dims(&self, expected: &[usize]) -> Result<()> {
        let expected: Vec<u64> = expected.iter().map(|&d| d as u64).collect();
        if self.dims != expected {
            return Err(EngineError::ShapeMismatch { tensor: self.name.clone(), expected, found: self.dims.clone() });
        }
        Ok(())
    }
}

impl<'a> RawTensor<'a> {
    /// Splits a matrix into consecutive blocks of output rows (fused QKV or gate/up weights):
    /// quantized blocks run along rows, so this is plain byte slicing.
    pub fn split_rows(&self, rows: &[usize]) -> Result<Vec<RawTensor<'_>>> {
        let mismatch = || EngineError::ShapeMismatch {
            tensor: self.name.clone(),
            expected: vec![self.dims.first().copied().unwrap_or(0), rows.iter().sum::<usize>() as u64],
            found: self.dims.clone(),
        };
        let [inp, out] = self.dims[..] else { return Err(mismatch()) };
        if out != rows.iter().sum::<usize>() as u64 {
            return Err(mismatch());
        }
        let row_bytes = self.dtype.bytes_for(inp).ok_or_else(mismatch)? as usize;
        let mut start = 0;
        let mut parts = Vec::with_capacity(rows.len());
        for (i, &n) in rows.iter().enumerate() {
            let end = start + n * row_bytes;
            let data = self.data.get(start..end).ok_or_else(mismatch)?;
            parts.push(RawTensor {
                name: format!("{}[part {i}]", self.name),
                dtype: self.dtype,
                dims: vec![inp, n as u64],
                data: Cow::Borrowed(data),
            });
            start = end;
        }
        Ok(parts)
    }
}

/// Anything that can hand out named tensors.
pub trait WeightSource {
    /// The tensor called `name`, if present.
    fn get(&self, name: &str) -> Option<RawTensor<'_>>;

    /// The tensor called `name`, or a [`EngineError::MissingTensor`].
    fn require(&self, name: &str) -> Result<RawTensor<'_>> {
        self.get(name).ok_or_else(|| EngineError::MissingTensor(name.to_owned()))
    }
}

impl WeightSource for GgufFile {
    fn get(&self, name: &str) -> Option<RawTensor<'_>> {
        let (info, data) = self.tensor(name).ok()?;
        Some(RawTensor {
            name: info.name.clone(),
            dtype: info.dtype,
            dims: info.dims.clone(),
            data: Cow::Borrowed(data),
        })
    }
}

/// Tensors held in a map (llama2.c checkpoints are converted to this).
#[derive(Default)]
pub struct TensorMap {
    tensors: HashMap<String, (Vec<u64>, Vec<u8>)>,
}

impl TensorMap {
    /// Adds an F32 tensor with ggml-order dims.
    pub fn insert_f32(&mut self, name: impl Into<String>, dims: Vec<u64>, values: &[f32]) {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.tensors.insert(name.into(), (dims, bytes));
    }
}

impl WeightSource for TensorMap {
    fn get(&self, name: &str) -> Option<RawTensor<'_>> {
        let (dims, data) = self.tensors.get(name)?;
        Some(RawTensor { name: name.to_owned(), dtype: GgmlType::F32, dims: dims.clone(), data: Cow::Borrowed(data) })
    }
}
