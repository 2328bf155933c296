//! Weight storage types the kernels read (GGUF/ggml block layouts, byte for byte) and the
//! scalar dequantizer every quantized kernel is tested against.
//!
//! The dequantizer follows ggml's `dequantize_row_*` exactly: the same products in the same
//! order, so the GPU and the reference differ only by the order of the final sums.

use crate::KernelError;

/// How a weight matrix is stored: one of the ggml types the kernels decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WeightType {
    /// Little-endian f32.
    F32,
    /// IEEE half, decoded with integer ops (no shader-f16).
    F16,
    /// Blocks of 32: f16 scale `d` and 16 bytes of nibbles, `w = d * (q - 8)`.
    Q4_0,
    /// Blocks of 32 (22 bytes): f16 scale `d`, 4 bytes holding each weight's fifth bit, 16
    /// bytes of nibbles, `w = d * (q - 16)`. llama.cpp's Q4_K_M files use it for rows that are
    /// not a multiple of 256 (SmolLM2-135M's 576).
    Q5_0,
    /// Blocks of 32: f16 scale `d` and 32 signed bytes, `w = d * q`.
    Q8_0,
    /// Super-blocks of 256 (144 bytes): f16 `d`, f16 `dmin`, 12 bytes of packed 6-bit
    /// scales and mins for 8 sub-blocks of 32, 128 bytes of nibbles.
    Q4K,
    /// Super-blocks of 256 (176 bytes): as Q4_K plus 32 bytes holding the fifth bit.
    Q5K,
    /// Super-blocks of 256 (210 bytes): 128 bytes of low nibbles, 64 bytes of high 2-bit
    /// pairs, 16 signed 8-bit scales, f16 `d`; `w = d * scale * (q - 32)`.
    Q6K,
}

impl WeightType {
    /// Every type, for tests and tables.
    pub const ALL: [WeightType; 8] =
        [Self::F32, Self::F16, Self::Q4_0, Self::Q5_0, Self::Q8_0, Self::Q4K, Self::Q5K, Self::Q6K];

    /// The ggml/GGUF name ("Q4_K").
    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "F32",
            Self::F16 => "F16",
            Self::Q4_0 => "Q4_0",
            Self::Q5_0 => "Q5_0",
            Self::Q8_0 => "Q8_0",
            Self::Q4K => "Q4_K",
            Self::Q5K => "Q5_K",
            Self::Q6K => "Q6_K",
        }
    }

    /// The ggml type id, which is also the value of the shaders' `WTYPE` override.
    pub fn ggml_id(self) -> u32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q4_0 => 2,
            Self::Q5_0 => 6,
            Self::Q8_0 => 8,
            Self::Q4K => 12,
            Self::Q5K => 13,
            Self::Q6K => 14,
        }
    }

    /// The type with ggml id `id`, if the kernels decode it.
    pub fn from_ggml_id(id: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.ggml_id() == id)
    }

    /// Elements per block (1 for F32 and F16).
    pub fn block_elems(self) -> usize {
        match self {
            Self::F32 | Self::F16 => 1,
            Self::Q4_0 | Self::Q5_0 | Self::Q8_0 => 32,
            Self::Q4K | Self::Q5K | Self::Q6K => 256,
        }
    }

    /// Bytes per block.
    pub fn block_bytes(self) -> usize {
        match self {
            Self::F32 => 4,
            Self::F16 => 2,
            Self::Q4_0 => 18,
            Self::Q5_0 => 22,
            Self::Q8_0 => 34,
            Self::Q4K => 144,
            Self::Q5K => 176,
            Self::Q6K => 210,
        }
    }

    /// Bytes of a row of `cols` weights, or `None` when `cols` is not a whole number of blocks.
    pub fn row_bytes(self, cols: usize) -> Option<usize> {
        cols.is_multiple_of(self.block_elems()).then(|| cols / self.block_elems() * self.block_bytes())
    }

    /// Checks that `bytes` holds exactly a `rows x cols` matrix of this type.
    pub(crate) fn check(self, op: &'static str, bytes: usize, rows: usize, cols: usize) -> Result<(), KernelError> {
        match self.row_bytes(cols) {
            Some(rb) if rb.checked_mul(rows) == Some(bytes) => Ok(()),
            Some(rb) => Err(KernelError::Shape {
                op,
                message: format!("{bytes} bytes of {} weights, expected {rows} rows of {rb} bytes", self.name()),
            }),
            None => Err(KernelError::Shape {
                op,
                message: format!("rows of {cols} are not whole {}-element {} blocks", self.block_elems(), self.name()),
            }),
        }
    }
}

impl std::fmt::Display for WeightType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// IEEE half to f32 (normals and subnormals; quant scales are never inf or NaN).
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let frac = f32::from(h & 0x3ff);
    sign * match exp {
        0 => frac * 2f32.powi(-24),
        e => (1.0 + frac / 1024.0) * 2f32.powi(e - 15),
    }
}

fn f16_le(b: &[u8], at: usize) -> f32 {
    f16_to_f32(u16::from_le_bytes([b[at], b[at + 1]]))
}

/// ggml's `get_scale_min_k4`: the 6-bit scale and min of sub-block `j` (0..8) from the
/// 12 packed bytes of a Q4_K/Q5_K super-block.
pub fn scale_min_k4(j: usize, q: &[u8]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        ((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4))
    }
}

/// Dequantizes one row of `cols` weights stored as `ty` (`bytes` is exactly that row), as
/// ggml's `dequantize_row_*` does.
///
/// # Panics
/// When `bytes` is not `ty.row_bytes(cols)` long (the kernels' entry points check first).
pub fn dequantize_row(ty: WeightType, bytes: &[u8], cols: usize) -> Vec<f32> {
    assert_eq!(Some(bytes.len()), ty.row_bytes(cols), "{ty} row of {cols}");
    let mut y = Vec::with_capacity(cols);
    match ty {
        WeightType::F32 => y.extend(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))),
        WeightType::F16 => y.extend(bytes.chunks_exact(2).map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))),
        WeightType::Q4_0 => {
            for b in bytes.chunks_exact(18) {
                let d = f16_le(b, 0);
                let qs = &b[2..18];
                y.extend(qs.iter().map(|&q| (i32::from(q & 0xF) - 8) as f32 * d));
                y.extend(qs.iter().map(|&q| (i32::from(q >> 4) - 8) as f32 * d));
            }
        }
        WeightType::Q5_0 => {
            for b in bytes.chunks_exact(22) {
                let d = f16_le(b, 0);
                let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
                let qs = &b[6..22];
                let lo = |j: usize| i32::from(qs[j] & 0xF) | ((((qh >> j) << 4) & 0x10) as i32);
                let hi = |j: usize| i32::from(qs[j] >> 4) | (((qh >> (j + 12)) & 0x10) as i32);
                y.extend((0..16).map(|j| (lo(j) - 16) as f32 * d));
                y.extend((0..16).map(|j| (hi(j) - 16) as f32 * d));
            }
        }
        WeightType::Q8_0 => {
            for b in bytes.chunks_exact(34) {
                let d = f16_le(b, 0);
                y.extend(b[2..].iter().map(|&q| f32::from(q as i8) * d));
            }
        }
        WeightType::Q4K | WeightType::Q5K => {
            let q5 = ty == WeightType::Q5K;
            for b in bytes.chunks_exact(ty.block_bytes()) {
                let (d, min) = (f16_le(b, 0), f16_le(b, 2));
                let scales = &b[4..16];
                let (qh, qs) = if q5 { (&b[16..48], &b[48..176]) } else { (&b[0..0], &b[16..144]) };
                for j in 0..4 {
                    let (sc1, m1) = scale_min_k4(2 * j, scales);
                    let (sc2, m2) = scale_min_k4(2 * j + 1, scales);
                    let (d1, m1) = (d * f32::from(sc1), min * f32::from(m1));
                    let (d2, m2) = (d * f32::from(sc2), min * f32::from(m2));
                    let q = &qs[32 * j..32 * j + 32];
                    let high = |l: usize, bit: usize| if q5 && qh[l] & (1 << bit) != 0 { 16.0 } else { 0.0 };
                    y.extend((0..32).map(|l| d1 * (f32::from(q[l] & 0xF) + high(l, 2 * j)) - m1));
                    y.extend((0..32).map(|l| d2 * (f32::from(q[l] >> 4) + high(l, 2 * j + 1)) - m2));
                }
            }
        }
        WeightType::Q6K => {
            for b in bytes.chunks_exact(210) {
                let d = f16_le(b, 208);
                let start = y.len();
                y.resize(start + 256, 0.0);
                let out = &mut y[start..];
                for n in 0..2 {
                    let (ql, qh, sc) =
                        (&b[64 * n..64 * n + 64], &b[128 + 32 * n..160 + 32 * n], &b[192 + 8 * n..200 + 8 * n]);
                    let o = &mut out[128 * n..128 * n + 128];
                    for l in 0..32 {
                        let is = l / 16;
                        let q1 = i32::from((ql[l] & 0xF) | (qh[l] & 3) << 4) - 32;
                        let q2 = i32::from((ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4) - 32;
                        let q3 = i32::from((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
                        let q4 = i32::from((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
                        let s = |i: usize| d * f32::from(sc[is + i] as i8);
                        o[l] = s(0) * q1 as f32;
                        o[l + 32] = s(2) * q2 as f32;
                        o[l + 64] = s(4) * q3 as f32;
                        o[l + 96] = s(6) * q4 as f32;
                    }
                }
            }
        }
    }
    y
}

/// Dequantizes a whole `rows x cols` matrix, row after row.
pub fn dequantize(ty: WeightType, bytes: &[u8], rows: usize, cols: usize) -> Vec<f32> {
    let Some(rb) = ty.row_bytes(cols) else { return Vec::new() };
    (0..rows).flat_map(|r| dequantize_row(ty, &bytes[r * rb..(r + 1) * rb], cols)).collect()
}
