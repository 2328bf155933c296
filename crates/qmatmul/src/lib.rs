//! `arbitre-qmatmul`: matrix products of f32 activations by ggml-quantized weights on the CPU.
//!
//! The weights stay in their GGUF blocks. Each activation row is quantized once per product
//! (to ggml's Q8_0 blocks for the 32-wide types, to Q8_K blocks for the K-quants), then every
//! weight row is met with integer dot products block by block, the way ggml does it. The dot
//! products have three implementations: a scalar reference ([`reference`]), AVX2 on x86_64
//! (chosen at run time), and simd128 on wasm32 (chosen at compile time). Q4_0, Q5_0, Q8_0, Q4_K
//! and Q6_K are repacked at load into groups of four rows (`packed`), so that each load of
//! activations and each scale computation serves four rows.
//!
//! Natively the output rows of products from 128K weight products up are shared out over the
//! caller and helper threads of this crate's pool (`pool`: as many threads in all as rayon's
//! pool, `RAYON_NUM_THREADS`); in wasm32 everything runs on the calling thread.

mod act;
mod packed;
#[cfg(not(target_arch = "wasm32"))]
mod pool;
pub mod reference;
pub mod testing;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm;
#[cfg(target_arch = "x86_64")]
mod x86;

use std::borrow::Cow;

pub use act::{Q8Block, Q8KBlock, quantize_q8_0, quantize_q8_k};

/// How a matrix is held: the choices that differ between targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Storage {
    /// Q5_0's layout.
    pub q5: Q5Storage,
    /// Q4_K's and Q6_K's layout.
    pub k: KStorage,
}

impl Storage {
    /// This target's choices (see [`Q5Storage::for_target`], [`KStorage::for_target`]).
    pub const fn for_target() -> Self {
        Self { q5: Q5Storage::for_target(), k: KStorage::for_target() }
    }
}

/// A ggml block type this crate multiplies with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QType {
    /// 32 values: f16 scale, 4-bit values offset by 8.
    Q4_0,
    /// 32 values: f16 scale and f16 min, 4-bit values.
    Q4_1,
    /// 32 values: f16 scale, 5-bit values offset by 16.
    Q5_0,
    /// 32 values: f16 scale and f16 min, 5-bit values.
    Q5_1,
    /// 32 values: f16 scale, 8-bit values.
    Q8_0,
    /// 32 values: f16 scale, 4-bit indices into a fixed non-linear table of 16 values.
    IQ4NL,
    /// 256 values: 16 sub-blocks of 16 with 4-bit scales and mins, 2-bit values.
    Q2K,
    /// 256 values: 16 sub-blocks of 16 with 6-bit scales, 3-bit values offset by 4.
    Q3K,
    /// 256 values: 8 sub-blocks of 32 with 6-bit scales and mins, 4-bit values.
    Q4K,
    /// 256 values: as Q4_K with a fifth bit per value.
    Q5K,
    /// 256 values: 16 sub-blocks of 16 with 8-bit scales, 6-bit values offset by 32.
    Q6K,
    /// 256 values: 8 sub-blocks of 32 with 6-bit scales, 4-bit indices into IQ4_NL's table.
    IQ4XS,
}

impl QType {
    /// Every type, in a fixed order (tests iterate over it).
    pub const ALL: [QType; 12] = [
        Self::Q4_0,
        Self::Q4_1,
        Self::Q5_0,
        Self::Q5_1,
        Self::Q8_0,
        Self::IQ4NL,
        Self::Q2K,
        Self::Q3K,
        Self::Q4K,
        Self::Q5K,
        Self::Q6K,
        Self::IQ4XS,
    ];

    /// Values per block.
    pub const fn block_elems(self) -> usize {
        match self {
            Self::Q4_0 | Self::Q4_1 | Self::Q5_0 | Self::Q5_1 | Self::Q8_0 | Self::IQ4NL => 32,
            Self::Q2K | Self::Q3K | Self::Q4K | Self::Q5K | Self::Q6K | Self::IQ4XS => 256,
        }
    }

    /// Bytes per block.
    pub const fn block_bytes(self) -> usize {
        match self {
            Self::Q4_0 | Self::IQ4NL => 18,
            Self::Q4_1 => 20,
            Self::Q5_0 => 22,
            Self::Q5_1 => 24,
            Self::Q8_0 => 34,
            Self::Q2K => 84,
            Self::Q3K => 110,
            Self::Q4K => 144,
            Self::Q5K => 176,
            Self::Q6K => 210,
            Self::IQ4XS => 136,
        }
    }

    /// Whether activations meet this type as Q8_K blocks (else Q8_0 blocks). IQ4_XS meets
    /// them as Q8_0 blocks: it is held as IQ4_NL blocks of 32 with their own scales (ggml
    /// takes Q8_K there; per-32 activation scales are at least as precise).
    pub const fn uses_q8k(self) -> bool {
        matches!(self, Self::Q2K | Self::Q3K | Self::Q4K | Self::Q5K | Self::Q6K)
    }

    /// Whether blocks carry a min added to every value (Q4_1, Q5_1).
    pub const fn has_min(self) -> bool {
        matches!(self, Self::Q4_1 | Self::Q5_1)
    }

    /// The ggml name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Q4_0 => "Q4_0",
            Self::Q4_1 => "Q4_1",
            Self::Q5_0 => "Q5_0",
            Self::Q5_1 => "Q5_1",
            Self::Q8_0 => "Q8_0",
            Self::IQ4NL => "IQ4_NL",
            Self::Q2K => "Q2_K",
            Self::Q3K => "Q3_K",
            Self::Q4K => "Q4_K",
            Self::Q5K => "Q5_K",
            Self::Q6K => "Q6_K",
            Self::IQ4XS => "IQ4_XS",
        }
    }

    /// The type whose layout and kernels hold a matrix of this type, given `storage`: itself,
    /// or Q8_0 for widened Q5_0, IQ4_NL for IQ4_XS (blocks of 32 with f32 scales), Q6_K for
    /// Q2_K and Q3_K (grouped signed bytes and 16 scales per block; Q2_K's mins apart).
    const fn layout(self, storage: Storage) -> QType {
        match self {
            Self::Q5_0 if matches!(storage.q5, Q5Storage::Bytes) => Self::Q8_0,
            Self::IQ4XS => Self::IQ4NL,
            Self::Q2K | Self::Q3K => Self::Q6K,
            _ => self,
        }
    }
}

/// How a Q5_0 matrix is held (other types ignore it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Q5Storage {
    /// Repacked with its fifth bits apart: 24 bytes per 32 values (f32 scale). AVX2 rebuilds
    /// the fifth bits faster than it would read twice the bytes.
    Packed,
    /// Values widened to signed bytes in Q8_0's layout: 36 bytes per 32 values, multiplied by
    /// Q8_0's kernels. simd128 has no cheap way to rebuild the fifth bits (its Q5_0 kernel ran
    /// at 40% of Q8_0's speed), so wasm32 holds Q5_0 this way.
    Bytes,
}

impl Q5Storage {
    /// This target's choice: [`Self::Bytes`] on wasm32, [`Self::Packed`] elsewhere.
    pub const fn for_target() -> Self {
        if cfg!(target_arch = "wasm32") { Self::Bytes } else { Self::Packed }
    }
}

/// How a Q4_K or Q6_K matrix is held (Q5_K always keeps ggml's rows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KStorage {
    /// ggml's rows of blocks, as in the file (AVX2 and the scalar reference have kernels).
    Rows,
    /// Groups of four rows with the sub-block scales decoded at load (see `packed`): one load
    /// of activations and one vector of scale arithmetic serve four rows. Unpacking the 6-bit
    /// scales per row and block held Q4_K at 60% of Q4_0's speed with AVX2 and at half with
    /// simd128.
    Groups,
}

impl KStorage {
    /// This target's choice: [`Self::Groups`], which both simd128 and AVX2 have kernels for.
    pub const fn for_target() -> Self {
        Self::Groups
    }
}

/// Why a matrix or a product was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QError {
    /// Rows must hold whole blocks.
    #[error("rows of {cols} values are not whole {ty} blocks of {block}")]
    RaggedRow {
        /// The block type.
        ty: &'static str,
        /// Row length.
        cols: usize,
        /// Values per block.
        block: usize,
    },
    /// The data does not have the size the shape implies.
    #[error("a {ty} matrix of [{rows}, {cols}] takes {expected} bytes, not {found}")]
    Size {
        /// The block type.
        ty: &'static str,
        /// Output rows.
        rows: usize,
        /// Input columns.
        cols: usize,
        /// Bytes the shape needs.
        expected: usize,
        /// Bytes given.
        found: usize,
    },
    /// Input or output buffers do not fit the product.
    #[error("a product of {n} rows by a [{rows}, {cols}] matrix got {input} inputs and {output} outputs")]
    Buffers {
        /// Activation rows.
        n: usize,
        /// Matrix output rows.
        rows: usize,
        /// Matrix input columns.
        cols: usize,
        /// Input values given.
        input: usize,
        /// Output slots given.
        output: usize,
    },
    /// A row index past the end.
    #[error("row {row} of a matrix of {rows} rows")]
    Row {
        /// Asked for.
        row: usize,
        /// Rows present.
        rows: usize,
    },
}

/// Which dot-product implementation to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// The portable scalar reference.
    Scalar,
    /// The fastest this machine offers (AVX2, simd128), else the scalar one.
    Best,
}

/// The name of the SIMD instruction set [`Kernel::Best`] uses here ("AVX2", "simd128" or
/// "scalar").
pub fn simd_name() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    if x86::available() {
        return "AVX2";
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return "simd128";
    #[allow(unreachable_code)]
    "scalar"
}

/// A weight matrix `[rows, cols]` (rows are outputs) in ggml blocks, multiplied as `x · Wᵀ`.
/// Q4_0, Q5_0 and Q8_0 are repacked on construction (groups of four rows, f32 scales; see
/// the `packed` module); K-quants keep ggml's layout or are grouped too ([`KStorage`]).
#[derive(Clone, Debug)]
pub struct QMatrix {
    ty: QType,
    /// The type whose layout and kernels hold the data (see [`QType::layout`]).
    layout: QType,
    /// Whether the data is in groups of four rows (the 32-wide types always; K-quants per
    /// [`KStorage`]).
    grouped: bool,
    rows: usize,
    cols: usize,
    data: Vec<u8>,
    /// Q2_K's mins, apart from its values held as Q6_K's (empty for other types): per row and
    /// block, `dmin` as f32 then the 16 sub-blocks' 4-bit mins as bytes (`packed::Q2_MINS`).
    mins: Vec<u8>,
}

/// Four rows of a repacked group against one activation row.
type DotGroup = fn(&[u8], &[Q8Block]) -> [f32; 4];
/// The same against two activation rows, unpacking the weights once (prompt prefill).
type DotGroup2 = fn(&[u8], &[Q8Block], &[Q8Block]) -> [[f32; 4]; 2];
/// One row of K-quant blocks against one activation row.
type DotK = fn(&[u8], &[Q8KBlock]) -> f32;
/// The same against two activation rows, unpacking the weights once (prompt prefill).
type DotK2 = fn(&[u8], &[Q8KBlock], &[Q8KBlock]) -> [f32; 2];
/// Four rows of grouped K-quant blocks against one activation row.
type DotKGroup = fn(&[u8], &[Q8KBlock]) -> [f32; 4];
/// The same against two activation rows.
type DotKGroup2 = fn(&[u8], &[Q8KBlock], &[Q8KBlock]) -> [[f32; 4]; 2];

enum Dot {
    Group(DotGroup, Option<DotGroup2>),
    K(DotK, Option<DotK2>),
    KGroup(DotKGroup, Option<DotKGroup2>),
}

impl QMatrix {
    /// Wraps a matrix's blocks, checking the size (held as [`Storage::for_target`]). Grouped
    /// types are repacked from the bytes as they are given, so a borrowed slice (a tensor in
    /// a loaded file) is read once and not copied first.
    pub fn new<'a>(ty: QType, rows: usize, cols: usize, data: impl Into<Cow<'a, [u8]>>) -> Result<Self, QError> {
        Self::with_storage(ty, rows, cols, data, Storage::for_target())
    }

    /// [`Self::new`] with a chosen storage (tests check every one on every target).
    pub fn with_storage<'a>(
        ty: QType,
        rows: usize,
        cols: usize,
        data: impl Into<Cow<'a, [u8]>>,
        storage: Storage,
    ) -> Result<Self, QError> {
        let data = data.into();
        if cols == 0 || !cols.is_multiple_of(ty.block_elems()) {
            return Err(QError::RaggedRow { ty: ty.name(), cols, block: ty.block_elems() });
        }
        let expected = rows * (cols / ty.block_elems()) * ty.block_bytes();
        if data.len() != expected {
            return Err(QError::Size { ty: ty.name(), rows, cols, expected, found: data.len() });
        }
        let layout = ty.layout(storage);
        let nb = cols / ty.block_elems();
        let mins = if ty == QType::Q2K { packed::q2_mins(rows, nb, &data) } else { Vec::new() };
        let (grouped, data) = if !ty.uses_q8k() {
            (true, packed::pack(ty, layout, rows, nb, &data))
        } else if layout != ty || (storage.k == KStorage::Groups && packed::can_group(ty)) {
            (true, packed::pack_k(ty, rows, nb, &data))
        } else {
            (false, data.into_owned())
        };
        Ok(Self { ty, layout, grouped, rows, cols, data, mins })
    }

    /// The block type.
    pub fn ty(&self) -> QType {
        self.ty
    }

    /// Output rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Input columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Bytes held (grouped types hold f32 scales and pad the last group of rows).
    pub fn bytes(&self) -> usize {
        self.data.len() + self.mins.len()
    }

    /// Blocks of the held layout per row (IQ4_XS is held as blocks of 32).
    fn layout_blocks(&self) -> usize {
        self.cols / self.layout.block_elems()
    }

    /// Bytes of one K-quant row, or of one group of four grouped rows.
    fn stride(&self) -> usize {
        let nb = self.layout_blocks();
        if self.grouped { nb * packed::group_block_bytes(self.layout) } else { nb * self.ty.block_bytes() }
    }

    /// Row `r` of a K-quant matrix in rows, or group `r` of a grouped one.
    fn row(&self, r: usize) -> &[u8] {
        let s = self.stride();
        &self.data[r * s..(r + 1) * s]
    }

    /// Decodes row `r` to f32 (embedding lookups), with ggml's arithmetic.
    pub fn dequantize_row(&self, r: usize, out: &mut [f32]) -> Result<(), QError> {
        if r >= self.rows {
            return Err(QError::Row { row: r, rows: self.rows });
        }
        if out.len() != self.cols {
            return Err(QError::Buffers { n: 1, rows: self.rows, cols: self.cols, input: 0, output: out.len() });
        }
        if self.k_groups() {
            reference::dequantize_k_groups(self.layout, self.row(r / packed::G), r % packed::G, out);
            if self.ty == QType::Q2K {
                let nb = self.layout_blocks();
                reference::subtract_q2_mins(&self.mins[r * nb * packed::Q2_MINS..(r + 1) * nb * packed::Q2_MINS], out);
            }
        } else if self.grouped {
            reference::dequantize_packed(self.layout, self.row(r / packed::G), r % packed::G, out);
        } else {
            reference::dequantize_k(self.ty, self.row(r), out);
        }
        Ok(())
    }

    /// This machine's SIMD kernels for the type as it is held, if it has them.
    fn simd_dot(&self) -> Option<Dot> {
        #[cfg(target_arch = "x86_64")]
        return x86::dot(self.layout, self.k_groups());
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        return wasm::dot(self.layout, self.k_groups());
        #[allow(unreachable_code)]
        None
    }

    /// Whether this is a K-quant matrix held in groups of four rows.
    fn k_groups(&self) -> bool {
        self.grouped && self.layout.uses_q8k()
    }

    fn dot(&self, kernel: Kernel) -> Dot {
        let simd = if kernel == Kernel::Best { self.simd_dot() } else { None };
        simd.unwrap_or_else(|| reference::dot(self.layout, self.k_groups()))
    }

    /// Whether [`Kernel::Best`] has a SIMD implementation for this type here.
    pub fn has_simd(&self) -> bool {
        self.simd_dot().is_some()
    }

    /// `y = x · Wᵀ` for `n` activation rows: `x` is `[n, cols]`, `y` is `[n, rows]`.
    pub fn matmul(&self, x: &[f32], n: usize, y: &mut [f32]) -> Result<(), QError> {
        self.matmul_with(Kernel::Best, x, n, y)
    }

    /// [`Self::matmul`] with a chosen implementation (tests compare them).
    pub fn matmul_with(&self, kernel: Kernel, x: &[f32], n: usize, y: &mut [f32]) -> Result<(), QError> {
        if x.len() != n * self.cols || y.len() != n * self.rows {
            return Err(QError::Buffers { n, rows: self.rows, cols: self.cols, input: x.len(), output: y.len() });
        }
        if n == 0 {
            return Ok(());
        }
        let nb = self.layout_blocks();
        match self.dot(kernel) {
            Dot::Group(f, f2) => self.run_groups(&quantize_rows(x, self.cols, n * nb, quantize_q8_0), nb, n, y, f, f2),
            Dot::KGroup(f, f2) => {
                let acts = quantize_rows(x, self.cols, n * nb, quantize_q8_k);
                self.run_groups(&acts, nb, n, y, f, f2);
                if self.ty == QType::Q2K {
                    self.subtract_q2_mins(&acts, nb, n, y);
                }
            }
            Dot::K(f, f2) => {
                let acts = quantize_rows(x, self.cols, n * nb, quantize_q8_k);
                let act = |t: usize| &acts[t * nb..(t + 1) * nb];
                self.run_units(1, n, y, |r, t, out: &mut [f32]| match f2 {
                    Some(f2) if out.len() >= 2 => {
                        out[..2].copy_from_slice(&f2(self.row(r), act(t), act(t + 1)));
                        2
                    }
                    _ => {
                        out[0] = f(self.row(r), act(t));
                        1
                    }
                });
            }
        }
        Ok(())
    }
}

impl QMatrix {
    /// Takes Q2_K's mins off products of its values: per output, per block, `dmin` times the
    /// activations' scale times the 16 mins against the activations' sums of 16.
    fn subtract_q2_mins(&self, acts: &[Q8KBlock], nb: usize, n: usize, y: &mut [f32]) {
        for (t, out) in y.chunks_exact_mut(self.rows).enumerate().take(n) {
            let act = &acts[t * nb..(t + 1) * nb];
            for (o, mins) in out.iter_mut().zip(self.mins.chunks_exact(nb * packed::Q2_MINS)) {
                *o -= reference::q2_mins_dot(mins, act);
            }
        }
    }

    /// [`Self::run_units`] over groups of four rows, with kernels for one activation row (`f`)
    /// and, when there is one, for two (`f2`); `acts` holds `nb` blocks per activation row.
    #[allow(clippy::type_complexity)]
    fn run_groups<A: Sync>(
        &self,
        acts: &[A],
        nb: usize,
        n: usize,
        y: &mut [f32],
        f: fn(&[u8], &[A]) -> [f32; 4],
        f2: Option<fn(&[u8], &[A], &[A]) -> [[f32; 4]; 2]>,
    ) {
        let act = |t: usize| &acts[t * nb..(t + 1) * nb];
        self.run_units(packed::G, n, y, |g, t, out: &mut [f32]| match f2 {
            Some(f2) if out.len() >= 2 * packed::G => {
                let [a, b] = f2(self.row(g), act(t), act(t + 1));
                out[..packed::G].copy_from_slice(&a);
                out[packed::G..2 * packed::G].copy_from_slice(&b);
                2
            }
            _ => {
                out[..packed::G].copy_from_slice(&f(self.row(g), act(t)));
                1
            }
        });
    }

    /// Fills `y[t * rows + r]` by units of `unit` weight rows (4 for the repacked types, 1 for
    /// K-quants): `f(u, t, out)` writes the outputs of unit `u` for activation rows `t`,
    /// `t + 1`, … into `out` (room for the rows left, `unit` values per row) and says how many
    /// activation rows it did. Units are shared out over the thread pool; each unit of weights
    /// meets every activation row while it is in cache.
    fn run_units(&self, unit: usize, n: usize, y: &mut [f32], f: impl Fn(usize, usize, &mut [f32]) -> usize + Sync) {
        let (rows, units) = (self.rows, self.rows.div_ceil(unit));
        // Waking a pool thread costs tens of microseconds: a product smaller than that is
        // cheaper on this thread alone (a SmolLM2-135M decode step has 210 of them).
        let threads = if rows * self.cols * n < PARALLEL_MIN_PRODUCTS { 1 } else { pool_threads() };
        // [unit][activation row][row in unit], then scattered into place.
        let mut out = vec![0.0f32; units * n * unit];
        let fill = |first: usize, part: &mut [f32]| {
            for (i, slot) in part.chunks_exact_mut(n * unit).enumerate() {
                let mut t = 0;
                while t < n {
                    t += f(first + i, t, &mut slot[t * unit..]);
                }
            }
        };
        if threads <= 1 {
            fill(0, &mut out);
        } else {
            // A few tasks per thread, so uneven progress evens out.
            let chunk = units.div_ceil(threads * 4).max(8 / unit);
            par_chunks(&mut out, chunk * n * unit, |c, part| fill(c * chunk, part));
        }
        if n == 1 {
            y.copy_from_slice(&out[..rows]);
            return;
        }
        for (u, slot) in out.chunks_exact(n * unit).enumerate() {
            for (t, part) in slot.chunks_exact(unit).enumerate() {
                for (k, v) in part.iter().enumerate() {
                    let r = u * unit + k;
                    if r < rows {
                        y[t * rows + r] = *v;
                    }
                }
            }
        }
    }
}

/// Each activation row of `x` (rows of `cols`) quantized once, to the blocks the kernels take
/// (`blocks` in all).
fn quantize_rows<A>(x: &[f32], cols: usize, blocks: usize, quantize: fn(&[f32], &mut Vec<A>)) -> Vec<A> {
    let mut acts = Vec::with_capacity(blocks);
    x.chunks_exact(cols).for_each(|row| quantize(row, &mut acts));
    acts
}

/// Weight products below which a matrix product stays on the calling thread: sharing one
/// out costs about a microsecond with the helpers polling (see `pool`), against ~5 µs for
/// this many products on one core.
const PARALLEL_MIN_PRODUCTS: usize = 1 << 17;

#[cfg(not(target_arch = "wasm32"))]
fn pool_threads() -> usize {
    pool::threads()
}

#[cfg(target_arch = "wasm32")]
fn pool_threads() -> usize {
    1
}

#[cfg(not(target_arch = "wasm32"))]
fn par_chunks(data: &mut [f32], chunk: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    pool::par_chunks(data, chunk, &f);
}

#[cfg(target_arch = "wasm32")]
fn par_chunks(data: &mut [f32], chunk: usize, f: impl Fn(usize, &mut [f32])) {
    data.chunks_mut(chunk).enumerate().for_each(|(c, part)| f(c, part));
}
