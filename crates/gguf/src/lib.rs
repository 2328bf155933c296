//! `arbitre-gguf` reads and writes GGUF, the file format of llama.cpp models.
//!
//! It owns the byte layout only: the header, the key/value metadata, the tensor index and
//! where each tensor's bytes lie. Every length and offset read from a file is checked against
//! the bytes actually present before anything is allocated or sliced, so a truncated or
//! corrupt file gives a [`GgufError`] naming what is wrong, never a panic or a huge allocation.
//! It knows nothing about model architectures or tokenizers: those read the [`Metadata`].

mod types;
mod value;
mod writer;

use std::collections::HashSet;

pub use types::GgmlType;
pub use value::{Metadata, Value};
pub use writer::GgufWriter;

/// The four bytes every GGUF file starts with.
pub const MAGIC: [u8; 4] = *b"GGUF";
/// Alignment of tensor data when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;
const MAX_DIMS: usize = 4;
const MAX_ARRAY_NESTING: usize = 4;

/// Everything that can be wrong with a GGUF file.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum GgufError {
    /// The file does not start with `GGUF`.
    #[error("not a GGUF file: it starts with {found:02x?}, not \"GGUF\"")]
    BadMagic {
        /// The first bytes found.
        found: Vec<u8>,
    },
    /// A GGUF version other than 2 or 3.
    #[error("unsupported GGUF version {0} (arbitre reads versions 2 and 3)")]
    UnsupportedVersion(u32),
    /// The file ends before a structure it declares.
    #[error("truncated GGUF: {what} needs bytes up to {needed}, but the file has {len}")]
    Truncated {
        /// What was being read.
        what: String,
        /// The byte offset that would have to exist.
        needed: u64,
        /// The bytes available.
        len: u64,
    },
    /// A metadata value type id that GGUF does not define.
    #[error("metadata key {key:?} has unknown value type {type_id}")]
    BadValueType {
        /// The key whose value is broken.
        key: String,
        /// The id found.
        type_id: u32,
    },
    /// Text that is not UTF-8.
    #[error("{what} at byte {offset} is not valid UTF-8")]
    BadUtf8 {
        /// What was being read.
        what: String,
        /// Where it starts.
        offset: u64,
    },
    /// A count or size beyond what the file or this machine can hold.
    #[error("{what} is too large ({value})")]
    TooLarge {
        /// What was being read.
        what: String,
        /// The value found.
        value: u64,
    },
    /// A key or tensor name that appears twice.
    #[error("duplicate {what} {name:?}")]
    Duplicate {
        /// "metadata key" or "tensor".
        what: &'static str,
        /// The repeated name.
        name: String,
    },
    /// A tensor type id that ggml has never defined.
    #[error("tensor {tensor:?} has unknown ggml type id {type_id}")]
    UnknownType {
        /// The tensor.
        tensor: String,
        /// The id found.
        type_id: u32,
    },
    /// A tensor whose type arbitre cannot compute with.
    #[error(
        "tensor {tensor:?} uses quant type {dtype}, which arbitre does not support (supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K)"
    )]
    UnsupportedType {
        /// The tensor.
        tensor: String,
        /// Its type.
        dtype: GgmlType,
    },
    /// A tensor shape that cannot be laid out.
    #[error("tensor {tensor:?} has an invalid shape {dims:?}: {reason}")]
    BadShape {
        /// The tensor.
        tensor: String,
        /// Its dimensions, innermost first.
        dims: Vec<u64>,
        /// Why.
        reason: String,
    },
    /// Tensor bytes that lie outside the file.
    #[error(
        "tensor {tensor:?} data [{start}, {end}) lies outside the file ({len} bytes): the file is truncated or corrupt"
    )]
    TensorOutOfRange {
        /// The tensor.
        tensor: String,
        /// First byte.
        start: u64,
        /// One past the last byte.
        end: u64,
        /// File length.
        len: u64,
    },
    /// A tensor data offset that breaks the file's alignment.
    #[error("tensor {tensor:?} offset {offset} is not a multiple of the alignment {alignment}")]
    Misaligned {
        /// The tensor.
        tensor: String,
        /// Its offset.
        offset: u64,
        /// The file's alignment.
        alignment: u64,
    },
    /// `general.alignment` that is not a power of two.
    #[error("general.alignment = {0} is not a power of two")]
    BadAlignment(u64),
    /// A metadata key the caller requires is absent.
    #[error("missing required metadata {key:?}")]
    MissingMetadata {
        /// The key.
        key: String,
    },
    /// A metadata key with a value of the wrong type.
    #[error("metadata {key:?} should be {expected}, found {found}")]
    WrongMetadataType {
        /// The key.
        key: String,
        /// What was expected.
        expected: &'static str,
        /// The type found.
        found: &'static str,
    },
    /// No tensor by that name.
    #[error("missing tensor {0:?}")]
    MissingTensor(String),
    /// An I/O failure while reading or writing a file.
    #[error("{0}")]
    Io(String),
}

/// Where one tensor's data lies and how it is laid out.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorInfo {
    /// Tensor name, e.g. `blk.0.attn_q.weight`.
    pub name: String,
    /// Dimensions in ggml order: `dims[0]` is the row length (contiguous).
    pub dims: Vec<u64>,
    /// Element type.
    pub dtype: GgmlType,
    /// Offset of the data from the start of the data section.
    pub offset: u64,
    /// Size of the data in bytes.
    pub n_bytes: u64,
}

impl TensorInfo {
    /// Total number of elements.
    pub fn n_elements(&self) -> u64 {
        self.dims.iter().product()
    }

    /// Dimensions in the row-major order (outermost first) that candle and most code use.
    pub fn shape(&self) -> Vec<usize> {
        self.dims.iter().rev().map(|&d| d as usize).collect()
    }
}

/// The parsed header of a GGUF file: everything but the tensor bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct GgufHeader {
    /// File format version (2 or 3).
    pub version: u32,
    /// Key/value metadata.
    pub metadata: Metadata,
    /// Tensor index, in file order.
    pub tensors: Vec<TensorInfo>,
    /// Alignment of the data section.
    pub alignment: u64,
    /// Absolute offset of the data section.
    pub data_offset: u64,
}

impl GgufHeader {
    /// Parses the header from the first bytes of a file.
    ///
    /// `bytes` may be a prefix: a header that runs past it gives [`GgufError::Truncated`]
    /// with the number of bytes needed, so a streaming loader can fetch more and retry.
    /// Tensor data ranges are not checked here (see [`GgufHeader::check_data`]).
    pub fn parse(bytes: &[u8]) -> Result<Self, GgufError> {
        let mut r = Reader { bytes, pos: 0 };
        let magic = r.take(4, "magic")?;
        if magic != MAGIC {
            return Err(GgufError::BadMagic { found: magic.to_vec() });
        }
        let version = r.u32("version")?;
        if !(2..=3).contains(&version) {
            return Err(GgufError::UnsupportedVersion(version));
        }
        let n_tensors = r.u64("tensor count")?;
        let n_kv = r.u64("metadata count")?;
        // Each tensor record takes at least 8+4+8+4+8 bytes, each key/value at least 8+4+1.
        r.check_count(n_tensors, 32, "tensor count")?;
        r.check_count(n_kv, 13, "metadata count")?;

        let mut metadata = Metadata::default();
        for _ in 0..n_kv {
            let key = r.string("metadata key")?;
            let type_id = r.u32("metadata value type")?;
            let value = r.value(&key, type_id, 0)?;
            if metadata.get(&key).is_some() {
                return Err(GgufError::Duplicate { what: "metadata key", name: key });
            }
            metadata.insert(key, value);
        }

        let alignment = match metadata.get("general.alignment") {
            None => DEFAULT_ALIGNMENT,
            Some(v) => {
                let a = v.as_u64().ok_or(GgufError::WrongMetadataType {
                    key: "general.alignment".into(),
                    expected: "unsigned integer",
                    found: v.type_name(),
                })?;
                if a == 0 || !a.is_power_of_two() {
                    return Err(GgufError::BadAlignment(a));
                }
                a
            }
        };

        let mut tensors = Vec::with_capacity(n_tensors as usize);
        let mut names = HashSet::new();
        for _ in 0..n_tensors {
            let info = r.tensor_info(alignment)?;
            if !names.insert(info.name.clone()) {
                return Err(GgufError::Duplicate { what: "tensor", name: info.name });
            }
            tensors.push(info);
        }
        let data_offset = r
            .pos
            .div_ceil(alignment)
            .checked_mul(alignment)
            .ok_or(GgufError::TooLarge { what: "data offset".into(), value: r.pos })?;
        Ok(Self { version, metadata, tensors, alignment, data_offset })
    }

    /// Checks that every tensor's data lies within a file of `file_len` bytes.
    pub fn check_data(&self, file_len: u64) -> Result<(), GgufError> {
        for t in &self.tensors {
            let (start, end) = self.data_range(t);
            if end > file_len {
                return Err(GgufError::TensorOutOfRange { tensor: t.name.clone(), start, end, len: file_len });
            }
        }
        Ok(())
    }

    /// Absolute byte range `[start, end)` of a tensor's data in the file.
    pub fn data_range(&self, t: &TensorInfo) -> (u64, u64) {
        let start = self.data_offset.saturating_add(t.offset);
        (start, start.saturating_add(t.n_bytes))
    }

    /// Looks a tensor up by name.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// Bytes of the file that the header and every tensor's data occupy.
    pub fn expected_len(&self) -> u64 {
        self.tensors.iter().map(|t| self.data_range(t).1).max().unwrap_or(self.data_offset)
    }
}

/// A whole GGUF file held in memory: header plus bytes.
#[derive(Clone, Debug)]
pub struct GgufFile {
    /// The parsed header.
    pub header: GgufHeader,
    bytes: Vec<u8>,
}

impl GgufFile {
    /// Parses and validates a file held in memory (the browser case).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, GgufError> {
        let header = GgufHeader::parse(&bytes)?;
        header.check_data(bytes.len() as u64)?;
        Ok(Self { header, bytes })
    }

    /// Reads, parses and validates a file from disk.
    pub fn from_path(path: impl AsRef<std::path::Path>) -> Result<Self, GgufError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| GgufError::Io(format!("cannot read {}: {e}", path.display())))?;
        Self::from_bytes(bytes)
    }

    /// The metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.header.metadata
    }

    /// The tensor index.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.header.tensors
    }

    /// A tensor's description and raw bytes.
    pub fn tensor(&self, name: &str) -> Result<(&TensorInfo, &[u8]), GgufError> {
        let info = self.header.tensor(name).ok_or_else(|| GgufError::MissingTensor(name.to_owned()))?;
        let (start, end) = self.header.data_range(info);
        // check_data ran in the constructor, so the range is inside `bytes`.
        let data = self.bytes.get(start as usize..end as usize).ok_or(GgufError::TensorOutOfRange {
            tensor: name.to_owned(),
            start,
            end,
            len: self.bytes.len() as u64,
        })?;
        Ok((info, data))
    }

    /// The whole file.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: u64,
}

impl<'a> Reader<'a> {
    fn len(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn take(&mut self, n: u64, what: &str) -> Result<&'a [u8], GgufError> {
        let end = self.pos.checked_add(n).ok_or_else(|| GgufError::TooLarge { what: what.into(), value: n })?;
        if end > self.len() {
            return Err(GgufError::Truncated { what: what.into(), needed: end, len: self.len() });
        }
        let s = &self.bytes[self.pos as usize..end as usize];
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], GgufError> {
        let s = self.take(N as u64, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }

    fn u32(&mut self, what: &str) -> Result<u32, GgufError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// Rejects a count whose minimal encoding could not fit in the rest of the buffer.
    fn check_count(&self, count: u64, min_item_bytes: u64, what: &str) -> Result<(), GgufError> {
        let needed = count.checked_mul(min_item_bytes).and_then(|b| b.checked_add(self.pos));
        match needed {
            Some(n) if n <= self.len() => Ok(()),
            Some(n) => Err(GgufError::Truncated { what: format!("{what} {count}"), needed: n, len: self.len() }),
            None => Err(GgufError::TooLarge { what: what.into(), value: count }),
        }
    }

    fn string(&mut self, what: &str) -> Result<String, GgufError> {
        let n = self.u64(what)?;
        let start = self.pos;
        let raw = self.take(n, what)?;
        String::from_utf8(raw.to_vec()).map_err(|_| GgufError::BadUtf8 { what: what.into(), offset: start })
    }

    fn value(&mut self, key: &str, type_id: u32, depth: usize) -> Result<Value, GgufError> {
        Ok(match type_id {
            0 => Value::U8(self.array::<1>(key)?[0]),
            1 => Value::I8(self.array::<1>(key)?[0] as i8),
            2 => Value::U16(u16::from_le_bytes(self.array(key)?)),
            3 => Value::I16(i16::from_le_bytes(self.array(key)?)),
            4 => Value::U32(self.u32(key)?),
            5 => Value::I32(i32::from_le_bytes(self.array(key)?)),
            6 => Value::F32(f32::from_le_bytes(self.array(key)?)),
            7 => Value::Bool(self.array::<1>(key)?[0] != 0),
            8 => Value::String(self.string(key)?),
            9 => {
                if depth >= MAX_ARRAY_NESTING {
                    return Err(GgufError::TooLarge { what: format!("array nesting of {key:?}"), value: depth as u64 });
                }
                let item_type = self.u32(key)?;
                let count = self.u64(key)?;
                let min = match item_type {
                    0 | 1 | 7 => 1,
                    2 | 3 => 2,
                    4..=6 => 4,
                    8 | 10..=12 => 8,
                    9 => 12,
                    _ => return Err(GgufError::BadValueType { key: key.into(), type_id: item_type }),
                };
                self.check_count(count, min, &format!("array {key:?}"))?;
                let mut items = Vec::with_capacity(count as usize);
                for _ in 0..count {
                    items.push(self.value(key, item_type, depth + 1)?);
                }
                Value::Array(items)
            }
            10 => Value::U64(self.u64(key)?),
            11 => Value::I64(i64::from_le_bytes(self.array(key)?)),
            12 => Value::F64(f64::from_le_bytes(self.array(key)?)),
            _ => return Err(GgufError::BadValueType { key: key.into(), type_id }),
        })
    }

    fn tensor_info(&mut self, alignment: u64) -> Result<TensorInfo, GgufError> {
        let name = self.string("tensor name")?;
        let n_dims = self.u32("tensor rank")? as usize;
        if n_dims == 0 || n_dims > MAX_DIMS {
            return Err(GgufError::BadShape {
                tensor: name,
                dims: vec![],
                reason: format!("rank {n_dims} (must be 1 to {MAX_DIMS})"),
            });
        }
        let mut dims = Vec::with_capacity(n_dims);
        for _ in 0..n_dims {
            dims.push(self.u64("tensor dimension")?);
        }
        let type_id = self.u32("tensor type")?;
        let offset = self.u64("tensor offset")?;
        let dtype =
            GgmlType::from_id(type_id).ok_or_else(|| GgufError::UnknownType { tensor: name.clone(), type_id })?;
        let bad = |reason: String| GgufError::BadShape { tensor: name.clone(), dims: dims.clone(), reason };
        if dims.contains(&0) {
            return Err(bad("a dimension is zero".into()));
        }
        let n_elements = dims
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .filter(|&n| n < (1 << 50))
            .ok_or_else(|| bad("element count overflows".into()))?;
        let n_bytes = match dtype.block_layout() {
            None => return Err(GgufError::UnsupportedType { tensor: name, dtype }),
            Some((block, _)) if dims[0] % block as u64 != 0 => {
                return Err(bad(format!("row length {} is not a multiple of the {dtype} block size {block}", dims[0])));
            }
            Some(_) => dtype.bytes_for(n_elements).ok_or_else(|| bad("size overflows".into()))?,
        };
        if offset % alignment != 0 {
            return Err(GgufError::Misaligned { tensor: name, offset, alignment });
        }
        Ok(TensorInfo { name, dims, dtype, offset, n_bytes })
    }
}
