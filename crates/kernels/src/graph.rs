//! Chaining ops on GPU-resident buffers: [`GpuTensor`] (an f32 matrix in a buffer),
//! [`GpuWeights`] (a weight matrix as raw GGUF bytes, split by rows over several buffers when
//! it exceeds one storage binding) and a [`Recorder`] that queues dispatches of the crate's
//! shaders over them and submits them all in one command buffer, reading back only what the
//! caller asks for.
//!
//! The ops take their output tensor from the caller, so that a caller can recycle buffers
//! (a pool) and allocate nothing per token. Small per-dispatch inputs (uniform parameters,
//! token ids, RoPE tables) go into two arenas the recorder owns and writes once per submit.
//! Dispatches run in the order they were recorded (wgpu orders the storage accesses of
//! successive dispatches), so a buffer may be reused as soon as its last reader is recorded.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use crate::ops::attention::{AttentionShape, KvCache, MAX_HEAD_DIM};
use crate::ops::elementwise::RopeShape;
use crate::ops::{fits_u32, grid, params, weight_pipeline};
use crate::{GpuContext, KernelError, WeightType, shader};

/// An f32 matrix `[rows, cols]` (row-major) in a GPU buffer, from byte `offset` on.
#[derive(Clone, Debug)]
pub struct GpuTensor {
    buffer: wgpu::Buffer,
    offset: u64,
    /// Rows (tokens).
    pub rows: usize,
    /// Columns.
    pub cols: usize,
}

/// Usage of every activation buffer: bound as storage, copied to and from.
pub const TENSOR_USAGE: wgpu::BufferUsages =
    wgpu::BufferUsages::STORAGE.union(wgpu::BufferUsages::COPY_SRC).union(wgpu::BufferUsages::COPY_DST);

impl GpuTensor {
    /// Bytes a `[rows, cols]` tensor takes (at least one word: empty bindings are invalid).
    pub fn bytes_for(rows: usize, cols: usize) -> u64 {
        (rows * cols * 4).max(4) as u64
    }

    /// A new zeroed tensor in a buffer of its own.
    pub fn zeros(ctx: &GpuContext, rows: usize, cols: usize) -> Result<Self, KernelError> {
        let bytes = Self::bytes_for(rows, cols);
        check_binding(ctx, "tensor", bytes)?;
        let buffer = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("tensor"),
            size: bytes,
            usage: TENSOR_USAGE,
            mapped_at_creation: false,
        });
        Ok(Self { buffer, offset: 0, rows, cols })
    }

    /// A tensor holding `data` (`rows * cols` values).
    pub fn upload(ctx: &GpuContext, data: &[f32], rows: usize, cols: usize) -> Result<Self, KernelError> {
        if data.len() != rows * cols {
            return Err(KernelError::Shape {
                op: "upload",
                message: format!("{} values for a {rows}x{cols} tensor", data.len()),
            });
        }
        let t = Self::zeros(ctx, rows, cols)?;
        if !data.is_empty() {
            ctx.queue.write_buffer(&t.buffer, 0, bytemuck::cast_slice(data));
        }
        Ok(t)
    }

    /// A tensor over `buffer` (which must have [`TENSOR_USAGE`]) from byte `offset`, which must
    /// be a multiple of the device's storage offset alignment for the tensor to be bound.
    pub fn from_buffer(buffer: wgpu::Buffer, offset: u64, rows: usize, cols: usize) -> Result<Self, KernelError> {
        if offset + Self::bytes_for(rows, cols) > buffer.size() || !offset.is_multiple_of(4) {
            return Err(KernelError::Shape {
                op: "tensor",
                message: format!("a {rows}x{cols} tensor at byte {offset} of a {}-byte buffer", buffer.size()),
            });
        }
        Ok(Self { buffer, offset, rows, cols })
    }

    /// The buffer.
    pub fn buffer(&self) -> &wgpu::Buffer {
        &self.buffer
    }

    /// Values held.
    pub fn len(&self) -> usize {
        self.rows * self.cols
    }

    /// Whether the tensor holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn binding(&self) -> Binding {
        Binding::Buffer {
            buffer: self.buffer.clone(),
            offset: self.offset,
            size: Self::bytes_for(self.rows, self.cols),
        }
    }

    /// A binding from row-major element `first` to the end of the tensor.
    fn binding_from(&self, first: usize) -> Binding {
        let offset = self.offset + (first * 4) as u64;
        Binding::Buffer {
            buffer: self.buffer.clone(),
            offset,
            size: Self::bytes_for(self.rows, self.cols) - (first * 4) as u64,
        }
    }
}

fn check_binding(ctx: &GpuContext, op: &'static str, bytes: u64) -> Result<(), KernelError> {
    let limit = ctx.max_binding_bytes().min(ctx.device.limits().max_buffer_size);
    if bytes > limit {
        return Err(KernelError::TooLarge { op, bytes, limit });
    }
    Ok(())
}

/// One buffer of a weight matrix: rows `row0 .. row0 + rows`.
#[derive(Clone, Debug)]
struct WeightPart {
    buffer: wgpu::Buffer,
    row0: usize,
    rows: usize,
}

/// A weight matrix `[rows, cols]` of any [`WeightType`], as raw GGUF bytes on the GPU, split
/// by rows over several buffers when it does not fit one storage binding.
#[derive(Clone, Debug)]
pub struct GpuWeights {
    ty: WeightType,
    rows: usize,
    cols: usize,
    parts: Vec<WeightPart>,
    bytes: usize,
}

impl GpuWeights {
    /// Uploads `bytes` (`rows` rows of `cols` weights of type `ty`), split by rows when it is
    /// larger than the device's storage binding limit.
    pub fn upload(
        ctx: &GpuContext,
        ty: WeightType,
        bytes: &[u8],
        rows: usize,
        cols: usize,
    ) -> Result<Self, KernelError> {
        Self::upload_with_limit(
            ctx,
            ty,
            bytes,
            rows,
            cols,
            ctx.max_binding_bytes().min(ctx.device.limits().max_buffer_size),
        )
    }

    /// [`Self::upload`] with parts of at most `limit` bytes (tests force splits with it).
    pub fn upload_with_limit(
        ctx: &GpuContext,
        ty: WeightType,
        bytes: &[u8],
        rows: usize,
        cols: usize,
        limit: u64,
    ) -> Result<Self, KernelError> {
        ty.check("weights", bytes.len(), rows, cols)?;
        let mut upload = Self::begin(ctx, ty, rows, cols, limit)?;
        upload.write(ctx, bytes)?;
        upload.finish()
    }

    /// Allocates the buffers of a `rows x cols` matrix of type `ty` (parts of at most `limit`
    /// bytes) and returns a [`WeightsUpload`] that fills them with the matrix's bytes as they
    /// arrive, in pieces of any size: a caller streaming a file never holds the whole matrix.
    pub fn begin(
        ctx: &GpuContext,
        ty: WeightType,
        rows: usize,
        cols: usize,
        limit: u64,
    ) -> Result<WeightsUpload, KernelError> {
        const OP: &str = "weights";
        fits_u32(OP, "rows", rows)?;
        let row_bytes = ty.row_bytes(cols).ok_or_else(|| KernelError::Shape {
            op: OP,
            message: format!("rows of {cols} are not whole {}-element {} blocks", ty.block_elems(), ty.name()),
        })?;
        let total = row_bytes.checked_mul(rows).ok_or_else(|| KernelError::Shape {
            op: OP,
            message: format!("{rows} rows of {row_bytes} bytes overflow"),
        })?;
        let row_bytes = row_bytes.max(1);
        // Parts start at rows that are a multiple of `align` so that an output bound at the
        // part's first row respects the storage offset alignment.
        let align = (ctx.device.limits().min_storage_buffer_offset_alignment as usize / 4).max(1);
        let fit = (limit as usize / row_bytes) / align * align;
        if fit == 0 && rows > 0 {
            return Err(KernelError::TooLarge { op: OP, bytes: (row_bytes * align) as u64, limit });
        }
        let per_part = if (rows * row_bytes) as u64 <= limit { rows.max(1) } else { fit };
        let mut parts = Vec::new();
        let mut lens = Vec::new();
        let mut row0 = 0;
        while row0 < rows || (rows == 0 && parts.is_empty()) {
            let n = per_part.min(rows - row0);
            let len = n * row_bytes;
            let size = (len.div_ceil(4) * 4).max(4) as u64;
            let buffer = ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(OP),
                size,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            parts.push(WeightPart { buffer, row0, rows: n });
            lens.push(len as u64);
            row0 += n;
            if rows == 0 {
                break;
            }
        }
        let weights = Self { ty, rows, cols, parts, bytes: total };
        Ok(WeightsUpload { weights, lens, part: 0, filled: 0, carry: Vec::with_capacity(4), written: 0 })
    }

    /// The storage type.
    pub fn weight_type(&self) -> WeightType {
        self.ty
    }

    /// Rows (outputs of a product).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns (inputs of a product).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Bytes of the weights.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Buffers the rows are split over.
    pub fn parts(&self) -> usize {
        self.parts.len()
    }
}

/// A [`GpuWeights`] being filled piece by piece ([`GpuWeights::begin`]): each piece goes
/// straight to its part's buffer (`queue.write_buffer`), in writes whose offsets and sizes are
/// multiples of 4 bytes (wgpu's `COPY_BUFFER_ALIGNMENT`); at most 3 bytes wait between pieces,
/// and a part's last partial word is padded with zeros.
#[derive(Debug)]
pub struct WeightsUpload {
    weights: GpuWeights,
    /// Bytes of each part.
    lens: Vec<u64>,
    /// The part being filled.
    part: usize,
    /// Bytes of that part accepted so far (written or in `carry`).
    filled: u64,
    /// Accepted bytes not yet written (fewer than 4).
    carry: Vec<u8>,
    /// Bytes accepted in all.
    written: usize,
}

impl WeightsUpload {
    /// Bytes the whole matrix takes.
    pub fn expected_bytes(&self) -> usize {
        self.weights.bytes
    }

    /// Bytes accepted so far.
    pub fn written_bytes(&self) -> usize {
        self.written
    }

    /// Writes the next `bytes` of the matrix (row-major, as in the file).
    pub fn write(&mut self, ctx: &GpuContext, mut bytes: &[u8]) -> Result<(), KernelError> {
        if self.written + bytes.len() > self.weights.bytes {
            return Err(KernelError::Shape {
                op: "weights",
                message: format!(
                    "{} bytes written to a matrix of {} bytes",
                    self.written + bytes.len(),
                    self.weights.bytes
                ),
            });
        }
        self.written += bytes.len();
        while !bytes.is_empty() {
            let (Some(part), Some(&len)) = (self.weights.parts.get(self.part), self.lens.get(self.part)) else {
                break;
            };
            let take = ((len - self.filled) as usize).min(bytes.len());
            let (mut piece, rest) = bytes.split_at(take);
            bytes = rest;
            // Where the next write starts in the part's buffer: `filled` less what waits.
            let mut at = self.filled - self.carry.len() as u64;
            self.filled += take as u64;
            if !self.carry.is_empty() {
                let n = (4 - self.carry.len()).min(piece.len());
                self.carry.extend_from_slice(&piece[..n]);
                piece = &piece[n..];
                if self.carry.len() == 4 {
                    ctx.queue.write_buffer(&part.buffer, at, &self.carry);
                    self.carry.clear();
                    at += 4;
                }
            }
            let whole = piece.len() / 4 * 4;
            if whole > 0 {
                ctx.queue.write_buffer(&part.buffer, at, &piece[..whole]);
            }
            self.carry.extend_from_slice(&piece[whole..]);
            if self.filled == len {
                if !self.carry.is_empty() {
                    let at = len - self.carry.len() as u64;
                    self.carry.resize(4, 0);
                    ctx.queue.write_buffer(&part.buffer, at, &self.carry);
                    self.carry.clear();
                }
                self.part += 1;
                self.filled = 0;
            }
        }
        Ok(())
    }

    /// The uploaded matrix, once every byte of it was written.
    pub fn finish(self) -> Result<GpuWeights, KernelError> {
        if self.written != self.weights.bytes {
            return Err(KernelError::Shape {
                op: "weights",
                message: format!("{} bytes written to a matrix of {} bytes", self.written, self.weights.bytes),
            });
        }
        Ok(self.weights)
    }
}

/// What a dispatch binds at one slot.
#[derive(Clone, Debug)]
enum Binding {
    /// A range of a buffer.
    Buffer { buffer: wgpu::Buffer, offset: u64, size: u64 },
    /// A range of the recorder's data arena (written at submit).
    Data { offset: u64, size: u64 },
}

enum Command {
    Dispatch {
        op: &'static str,
        pipeline: Arc<wgpu::ComputePipeline>,
        bindings: Vec<Binding>,
        uniform: (u64, u64),
        groups: (u32, u32),
    },
    Copy {
        src: wgpu::Buffer,
        src_offset: u64,
        dst: wgpu::Buffer,
        dst_offset: u64,
        size: u64,
    },
}

/// Counters of what a recorder did, for tests and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecorderStats {
    /// Command buffers submitted.
    pub submits: usize,
    /// Dispatches recorded.
    pub dispatches: usize,
    /// Buffers the recorder created (arenas and the readback buffer, grown on demand).
    pub buffers_created: usize,
    /// Bind groups created; a dispatch binding the same buffer ranges as one of the last few
    /// submits reuses its bind group, so repeated decode steps create none.
    pub bind_groups_created: usize,
    /// Bytes of weight matrices the recorded dispatches read: every part's bytes for a
    /// product ([`Recorder::linear`]), the rows looked up for [`Recorder::get_rows`]. What a
    /// benchmark divides by the time of a decode step for its bandwidth.
    pub weight_bytes_read: u64,
}

/// How many submits a bind group outlives its last use.
const BIND_GROUP_SUBMITS: u64 = 4;

/// What a bind group binds: a pipeline, and each slot's buffer range.
#[derive(PartialEq, Eq, Hash)]
struct BindKey {
    pipeline: wgpu::ComputePipeline,
    entries: Vec<(wgpu::Buffer, u64, u64)>,
}

/// Queues dispatches over GPU-resident tensors and submits them in one command buffer.
#[derive(Default)]
pub struct Recorder {
    commands: Vec<Command>,
    uniforms: Vec<u8>,
    data: Vec<u8>,
    uniform_buffer: Option<wgpu::Buffer>,
    data_buffer: Option<wgpu::Buffer>,
    staging: Option<wgpu::Buffer>,
    /// Bind groups by what they bind, with the last submit that used them.
    bind_groups: HashMap<BindKey, (wgpu::BindGroup, u64)>,
    /// Submits so far.
    submit_count: u64,
    stats: RecorderStats,
    /// Where the next submit writes GPU timestamps ([`Recorder::time_next_submit`]).
    timestamps: Option<wgpu::QuerySet>,
}

fn align_to(n: usize, a: usize) -> usize {
    n.div_ceil(a) * a
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counters so far.
    pub fn stats(&self) -> RecorderStats {
        self.stats
    }

    /// Has the next submit write two GPU timestamps into `set` (a `Timestamp` query set of at
    /// least two queries): index 0 as its first compute pass begins, index 1 as its last one
    /// ends. Benchmarks resolve them afterwards; nothing else changes in what is submitted.
    /// The device needs `wgpu::Features::TIMESTAMP_QUERY`.
    pub fn time_next_submit(&mut self, set: wgpu::QuerySet) {
        self.timestamps = Some(set);
    }

    /// Commands waiting for [`Self::submit`].
    pub fn pending(&self) -> usize {
        self.commands.len()
    }

    /// Drops every pending command (after an error halfway through a graph).
    pub fn clear(&mut self) {
        self.commands.clear();
        self.uniforms.clear();
        self.data.clear();
    }

    fn uniform(&mut self, ctx: &GpuContext, bytes: &[u8]) -> (u64, u64) {
        let align = (ctx.device.limits().min_uniform_buffer_offset_alignment as usize).max(16);
        let at = align_to(self.uniforms.len(), align);
        self.uniforms.resize(at, 0);
        self.uniforms.extend_from_slice(bytes);
        let padded = align_to(bytes.len().max(16), 16);
        self.uniforms.resize(at + padded, 0);
        (at as u64, padded as u64)
    }

    fn data(&mut self, ctx: &GpuContext, bytes: &[u8]) -> Binding {
        let align = (ctx.device.limits().min_storage_buffer_offset_alignment as usize).max(4);
        let at = align_to(self.data.len(), align);
        self.data.resize(at, 0);
        self.data.extend_from_slice(bytes);
        let padded = align_to(bytes.len().max(4), 4);
        self.data.resize(at + padded, 0);
        Binding::Data { offset: at as u64, size: padded as u64 }
    }

    fn dispatch(
        &mut self,
        ctx: &GpuContext,
        op: &'static str,
        pipeline: Arc<wgpu::ComputePipeline>,
        bindings: Vec<Binding>,
        uniform: &[u8],
        groups: (u32, u32),
    ) {
        let uniform = self.uniform(ctx, uniform);
        self.stats.dispatches += 1;
        self.commands.push(Command::Dispatch { op, pipeline, bindings, uniform, groups });
    }

    /// `y = x · Wᵀ`: `x [m, w.cols]` → `y [m, w.rows]`, through the matvec kernel for one row
    /// and the tiled matmul kernel for more, one dispatch per part of `w`.
    pub fn linear(
        &mut self,
        ctx: &GpuContext,
        w: &GpuWeights,
        x: &GpuTensor,
        y: &GpuTensor,
    ) -> Result<(), KernelError> {
        const OP: &str = "linear";
        if x.cols != w.cols || y.rows != x.rows || y.cols != w.rows {
            return Err(KernelError::Shape {
                op: OP,
                message: format!("[{}, {}] x [{}, {}]ᵀ into [{}, {}]", x.rows, x.cols, w.rows, w.cols, y.rows, y.cols),
            });
        }
        let m = x.rows;
        if m == 0 || w.rows == 0 {
            return Ok(());
        }
        let row_bytes = w.bytes / w.rows;
        for part in &w.parts {
            self.stats.weight_bytes_read += (part.rows * row_bytes) as u64;
            let wb = Binding::Buffer { buffer: part.buffer.clone(), offset: 0, size: part.buffer.size() };
            if m == 1 {
                let uniform = params(&[fits_u32(OP, "rows", part.rows)?, fits_u32(OP, "cols", w.cols)?]);
                let pipeline = weight_pipeline(ctx, "matvec", w.ty);
                let bindings = vec![wb, x.binding(), y.binding_from(part.row0)];
                self.dispatch(ctx, "matvec", pipeline, bindings, &uniform, grid(part.rows));
            } else {
                let groups = (part.rows.div_ceil(32), m.div_ceil(32));
                if groups.0 > 65_535 || groups.1 > 65_535 {
                    return Err(KernelError::Shape {
                        op: OP,
                        message: format!("{m}x{} output needs more than 65535 tiles a side", part.rows),
                    });
                }
                fits_u32(OP, "m*n", m * w.rows)?;
                let uniform = params(&[
                    fits_u32(OP, "m", m)?,
                    fits_u32(OP, "n", part.rows)?,
                    fits_u32(OP, "k", w.cols)?,
                    fits_u32(OP, "ldy", w.rows)?,
                ]);
                let pipeline = weight_pipeline(ctx, "matmul", w.ty);
                let bindings = vec![wb, x.binding(), y.binding_from(part.row0)];
                self.dispatch(ctx, "matmul", pipeline, bindings, &uniform, (groups.0 as u32, groups.1 as u32));
            }
        }
        Ok(())
    }

    /// Rows `ids` of the table `w` into `out [ids.len(), w.cols]`.
    pub fn get_rows(
        &mut self,
        ctx: &GpuContext,
        w: &GpuWeights,
        ids: &[u32],
        out: &GpuTensor,
    ) -> Result<(), KernelError> {
        const OP: &str = "get_rows";
        if let Some(bad) = ids.iter().find(|&&id| id as usize >= w.rows) {
            return Err(KernelError::Shape { op: OP, message: format!("row {bad} of a {}-row table", w.rows) });
        }
        if out.rows != ids.len() || out.cols != w.cols {
            return Err(KernelError::Shape {
                op: OP,
                message: format!("{} rows of {} into [{}, {}]", ids.len(), w.cols, out.rows, out.cols),
            });
        }
        if ids.is_empty() {
            return Ok(());
        }
        let idb = self.data(ctx, bytemuck::cast_slice(ids));
        self.stats.weight_bytes_read += (ids.len() * (w.bytes / w.rows.max(1))) as u64;
        for part in &w.parts {
            let uniform = params(&[
                fits_u32(OP, "ids", ids.len())?,
                fits_u32(OP, "cols", w.cols)?,
                fits_u32(OP, "row0", part.row0)?,
                fits_u32(OP, "rows", part.rows)?,
            ]);
            let wb = Binding::Buffer { buffer: part.buffer.clone(), offset: 0, size: part.buffer.size() };
            let pipeline = weight_pipeline(ctx, OP, w.ty);
            self.dispatch(ctx, OP, pipeline, vec![wb, idb.clone(), out.binding()], &uniform, grid(ids.len()));
        }
        Ok(())
    }

    /// Row-wise RMSNorm of `x` times `g [1, cols]` into `out`.
    pub fn rms_norm(
        &mut self,
        ctx: &GpuContext,
        x: &GpuTensor,
        g: &GpuTensor,
        eps: f32,
        out: &GpuTensor,
    ) -> Result<(), KernelError> {
        const OP: &str = "rms_norm";
        // A weight shorter than a row normalizes each group of its length apart (QK norms):
        // the kernel sees rows of that length.
        let n = g.len();
        let rows = if n == 0 || !x.cols.is_multiple_of(n) { usize::MAX } else { x.rows * (x.cols / n) };
        if rows > 65_535 || (out.rows, out.cols) != (x.rows, x.cols) {
            return Err(KernelError::Shape {
                op: OP,
                message: format!("[{}, {}] by {} values into [{}, {}]", x.rows, x.cols, g.len(), out.rows, out.cols),
            });
        }
        let mut uniform = params(&[fits_u32(OP, "rows", rows)?, fits_u32(OP, "cols", n)?]);
        uniform[8..12].copy_from_slice(&eps.to_le_bytes());
        let pipeline = ctx.pipeline(OP, shader(OP));
        self.dispatch(
            ctx,
            OP,
            pipeline,
            vec![x.binding(), g.binding(), out.binding()],
            &uniform,
            (rows.max(1) as u32, 1),
        );
        Ok(())
    }

    /// RoPE of `x` (`[rows, n_head * head_dim]`) with `cos_sin` = `[rows][n_rot/2][cos, sin]`
    /// into `out`.
    pub fn rope(
        &mut self,
        ctx: &GpuContext,
        x: &GpuTensor,
        cos_sin: &[f32],
        s: RopeShape,
        out: &GpuTensor,
    ) -> Result<(), KernelError> {
        const OP: &str = "rope";
        if x.rows != s.rows
            || x.cols != s.n_head * s.head_dim
            || s.n_rot > s.head_dim
            || !s.n_rot.is_multiple_of(2)
            || cos_sin.len() != s.rows * s.n_rot
            || s.rows * s.n_head > 65_535 * 64
            || (out.rows, out.cols) != (x.rows, x.cols)
        {
            return Err(KernelError::Shape {
                op: OP,
                message: format!("{s:?} over [{}, {}], table {}", x.rows, x.cols, cos_sin.len()),
            });
        }
        let table = self.data(ctx, bytemuck::cast_slice(cos_sin));
        let uniform = params(&[
            fits_u32(OP, "rows", s.rows)?,
            fits_u32(OP, "n_head", s.n_head)?,
            fits_u32(OP, "head_dim", s.head_dim)?,
            fits_u32(OP, "n_rot", s.n_rot)?,
            u32::from(s.neox),
        ]);
        let groups = (s.rows * s.n_head).div_ceil(64).max(1) as u32;
        let pipeline = ctx.pipeline(OP, shader(OP));
        self.dispatch(ctx, OP, pipeline, vec![x.binding(), table, out.binding()], &uniform, (groups, 1));
        Ok(())
    }

    /// `silu(gate) * up` into `out`.
    pub fn silu_mul(
        &mut self,
        ctx: &GpuContext,
        gate: &GpuTensor,
        up: &GpuTensor,
        out: &GpuTensor,
    ) -> Result<(), KernelError> {
        self.glu(ctx, false, gate, up, out)
    }

    /// `gelu(gate) * up` into `out`, GELU as ggml's CPU computes it (f16 in and out).
    pub fn gelu_mul(
        &mut self,
        ctx: &GpuContext,
        gate: &GpuTensor,
        up: &GpuTensor,
        out: &GpuTensor,
    ) -> Result<(), KernelError> {
        self.glu(ctx, true, gate, up, out)
    }

    /// `out = x * s`.
    pub fn scale(&mut self, ctx: &GpuContext, x: &GpuTensor, s: f32, out: &GpuTensor) -> Result<(), KernelError> {
        const OP: &str = "scale";
        if out.len() != x.len() {
            return Err(KernelError::Shape { op: OP, message: format!("{} values into {}", x.len(), out.len()) });
        }
        let uniform = params(&[fits_u32(OP, "len", x.len())?, s.to_bits()]);
        let pipeline = ctx.pipeline(OP, shader(OP));
        self.dispatch(ctx, OP, pipeline, vec![x.binding(), out.binding()], &uniform, grid(x.len().div_ceil(256)));
        Ok(())
    }

    fn glu(
        &mut self,
        ctx: &GpuContext,
        gelu: bool,
        gate: &GpuTensor,
        up: &GpuTensor,
        out: &GpuTensor,
    ) -> Result<(), KernelError> {
        const OP: &str = "silu_mul";
        if gate.len() != up.len() || out.len() != gate.len() {
            return Err(KernelError::Shape {
                op: OP,
                message: format!("gate {} up {} out {}", gate.len(), up.len(), out.len()),
            });
        }
        let uniform = params(&[fits_u32(OP, "len", gate.len())?]);
        let pipeline = if gelu {
            ctx.pipeline_variant(OP, "gelu", shader(OP), &[("ACT", 1.0)])
        } else {
            ctx.pipeline(OP, shader(OP))
        };
        let bindings = vec![gate.binding(), up.binding(), out.binding()];
        self.dispatch(ctx, OP, pipeline, bindings, &uniform, grid(gate.len().div_ceil(256)));
        Ok(())
    }

    /// `out = a + b`, where `b` has as many values as `a` or as one row of it (a bias added to
    /// every row).
    pub fn add(&mut self, ctx: &GpuContext, a: &GpuTensor, b: &GpuTensor, out: &GpuTensor) -> Result<(), KernelError> {
        const OP: &str = "add";
        if out.len() != a.len() || b.is_empty() || (b.len() != a.len() && b.len() != a.cols) {
            return Err(KernelError::Shape {
                op: OP,
                message: format!("[{}, {}] + {} values into {}", a.rows, a.cols, b.len(), out.len()),
            });
        }
        let uniform = params(&[fits_u32(OP, "len", a.len())?, fits_u32(OP, "b", b.len())?]);
        let pipeline = ctx.pipeline(OP, shader(OP));
        let bindings = vec![a.binding(), b.binding(), out.binding()];
        self.dispatch(ctx, OP, pipeline, bindings, &uniform, grid(a.len().div_ceil(256)));
        Ok(())
    }

    /// Row-wise softmax of `x` into `out`.
    pub fn softmax(&mut self, ctx: &GpuContext, x: &GpuTensor, out: &GpuTensor) -> Result<(), KernelError> {
        const OP: &str = "softmax";
        if (out.rows, out.cols) != (x.rows, x.cols) {
            return Err(KernelError::Shape {
                op: OP,
                message: format!("[{}, {}] into [{}, {}]", x.rows, x.cols, out.rows, out.cols),
            });
        }
        let uniform = params(&[fits_u32(OP, "rows", x.rows)?, fits_u32(OP, "cols", x.cols)?]);
        let pipeline = ctx.pipeline(OP, shader(OP));
        self.dispatch(ctx, OP, pipeline, vec![x.binding(), out.binding()], &uniform, grid(x.rows));
        Ok(())
    }

    /// The index of the largest value of `x` (all rows taken as one vector), written as a u32
    /// into the first word of `out`.
    pub fn argmax(&mut self, ctx: &GpuContext, x: &GpuTensor, out: &GpuTensor) -> Result<(), KernelError> {
        const OP: &str = "argmax";
        if x.is_empty() || out.is_empty() {
            return Err(KernelError::Shape { op: OP, message: "argmax of no values".into() });
        }
        let uniform = params(&[fits_u32(OP, "len", x.len())?]);
        let pipeline = ctx.pipeline(OP, shader(OP));
        self.dispatch(ctx, OP, pipeline, vec![x.binding(), out.binding()], &uniform, (1, 1));
        Ok(())
    }

    /// Writes the rows of `k` and `v` (`[n, cache.row_len()]`) into `cache` at `pos`.
    pub fn kv_write(
        &mut self,
        ctx: &GpuContext,
        cache: &KvCache,
        pos: usize,
        k: &GpuTensor,
        v: &GpuTensor,
    ) -> Result<(), KernelError> {
        const OP: &str = "kv_write";
        let row = cache.row_len();
        if k.cols != row || v.cols != row || k.rows != v.rows || pos.saturating_add(k.rows) > cache.n_ctx {
            return Err(KernelError::Shape {
                op: OP,
                message: format!(
                    "[{}, {}] and [{}, {}] at {pos} in a cache of {} positions of {row}",
                    k.rows, k.cols, v.rows, v.cols, cache.n_ctx
                ),
            });
        }
        let n = k.len();
        if n == 0 {
            return Ok(());
        }
        let uniform = params(&[fits_u32(OP, "values", n)?, fits_u32(OP, "offset", pos * row)?]);
        let whole = |b: &wgpu::Buffer| Binding::Buffer { buffer: b.clone(), offset: 0, size: b.size() };
        let bindings = vec![k.binding(), v.binding(), whole(cache.k()), whole(cache.v())];
        let pipeline = ctx.pipeline(OP, shader(OP));
        self.dispatch(ctx, OP, pipeline, bindings, &uniform, grid(n.div_ceil(256)));
        Ok(())
    }

    /// Causal attention of `q` (`[n_q, n_head * head_dim]`) over `cache` into `out`.
    pub fn attention(
        &mut self,
        ctx: &GpuContext,
        q: &GpuTensor,
        cache: &KvCache,
        s: AttentionShape,
        out: &GpuTensor,
    ) -> Result<(), KernelError> {
        const OP: &str = "attention";
        let hd = cache.head_dim;
        if s.n_head == 0
            || cache.n_head_kv == 0
            || !s.n_head.is_multiple_of(cache.n_head_kv)
            || hd == 0
            || hd > MAX_HEAD_DIM
            || q.rows != s.n_q
            || q.cols != s.n_head * hd
            || s.pos0 + s.n_q > cache.n_ctx
            || (out.rows, out.cols) != (q.rows, q.cols)
        {
            return Err(KernelError::Shape {
                op: OP,
                message: format!(
                    "{s:?} with q [{}, {}] over a cache of {} positions x {} kv heads x {hd} (head_dim <= {MAX_HEAD_DIM})",
                    q.rows, q.cols, cache.n_ctx, cache.n_head_kv
                ),
            });
        }
        let uniform = params(&[
            fits_u32(OP, "n_q", s.n_q)?,
            fits_u32(OP, "n_head", s.n_head)?,
            fits_u32(OP, "n_head_kv", cache.n_head_kv)?,
            fits_u32(OP, "head_dim", hd)?,
            fits_u32(OP, "pos0", s.pos0)?,
            s.scale.to_bits(),
            fits_u32(OP, "window", s.window)?,
        ]);
        let whole = |b: &wgpu::Buffer| Binding::Buffer { buffer: b.clone(), offset: 0, size: b.size() };
        let bindings = vec![q.binding(), whole(cache.k()), whole(cache.v()), out.binding()];
        let pipeline = ctx.pipeline(OP, shader(OP));
        self.dispatch(ctx, OP, pipeline, bindings, &uniform, grid(s.n_q * s.n_head));
        Ok(())
    }

    /// Copies `n` rows of `src` from row `src_row` to `dst` from row `dst_row` (same widths).
    pub fn copy_rows(
        &mut self,
        src: &GpuTensor,
        src_row: usize,
        dst: &GpuTensor,
        dst_row: usize,
        n: usize,
    ) -> Result<(), KernelError> {
        if src.cols != dst.cols || src_row + n > src.rows || dst_row + n > dst.rows {
            return Err(KernelError::Shape {
                op: "copy_rows",
                message: format!(
                    "{n} rows from {src_row} of [{}, {}] to {dst_row} of [{}, {}]",
                    src.rows, src.cols, dst.rows, dst.cols
                ),
            });
        }
        let size = (n * src.cols * 4) as u64;
        if size > 0 {
            self.commands.push(Command::Copy {
                src: src.buffer.clone(),
                src_offset: src.offset + (src_row * src.cols * 4) as u64,
                dst: dst.buffer.clone(),
                dst_offset: dst.offset + (dst_row * dst.cols * 4) as u64,
                size,
            });
        }
        Ok(())
    }

    /// A buffer of at least `needed` bytes in `slot`, grown (to a power of two) when too small.
    fn ensure(
        ctx: &GpuContext,
        slot: &mut Option<wgpu::Buffer>,
        stats: &mut RecorderStats,
        needed: u64,
        usage: wgpu::BufferUsages,
        label: &'static str,
    ) -> wgpu::Buffer {
        match slot {
            Some(b) if b.size() >= needed => b.clone(),
            _ => {
                let b = ctx.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(label),
                    size: needed.max(256).next_power_of_two(),
                    usage,
                    mapped_at_creation: false,
                });
                stats.buffers_created += 1;
                *slot = Some(b.clone());
                b
            }
        }
    }

    /// Encodes every pending command into one command buffer, with a copy of `readback` bytes
    /// into the staging buffer at the end when asked, and submits it.
    fn flush(&mut self, ctx: &GpuContext, readback: Option<(&GpuTensor, &wgpu::Buffer)>) -> Result<(), KernelError> {
        if self.commands.is_empty() && readback.is_none() {
            return Ok(());
        }
        let uniforms = (!self.uniforms.is_empty()).then(|| {
            let b = Self::ensure(
                ctx,
                &mut self.uniform_buffer,
                &mut self.stats,
                self.uniforms.len() as u64,
                wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                "uniform arena",
            );
            ctx.queue.write_buffer(&b, 0, &self.uniforms);
            b
        });
        let data = (!self.data.is_empty()).then(|| {
            let b = Self::ensure(
                ctx,
                &mut self.data_buffer,
                &mut self.stats,
                self.data.len() as u64,
                wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                "data arena",
            );
            ctx.queue.write_buffer(&b, 0, &self.data);
            b
        });
        let commands = std::mem::take(&mut self.commands);
        let mut bind_groups = Vec::with_capacity(commands.len());
        // Bind groups are kept while one of the last few submits used them: activation buffers
        // return to their pool in an order that rotates them between steps.
        self.submit_count += 1;
        let now = self.submit_count;
        for c in &commands {
            let Command::Dispatch { op, pipeline, bindings, uniform, .. } = c else {
                bind_groups.push(None);
                continue;
            };
            let (Some(ub), data) = (&uniforms, &data) else {
                return Err(KernelError::Shape { op, message: "a dispatch without its parameters".into() });
            };
            let mut ranges = Vec::with_capacity(bindings.len() + 1);
            for b in bindings {
                ranges.push(match b {
                    Binding::Buffer { buffer, offset, size } => (buffer.clone(), *offset, *size),
                    Binding::Data { offset, size } => match data {
                        Some(d) => (d.clone(), *offset, *size),
                        None => return Err(KernelError::Shape { op, message: "data arena missing".into() }),
                    },
                });
            }
            ranges.push((ub.clone(), uniform.0, uniform.1));
            let key = BindKey { pipeline: (**pipeline).clone(), entries: ranges };
            let group = match self.bind_groups.get_mut(&key) {
                Some((g, used)) => {
                    *used = now;
                    g.clone()
                }
                None => {
                    let entries: Vec<wgpu::BindGroupEntry<'_>> = key
                        .entries
                        .iter()
                        .enumerate()
                        .map(|(i, (buffer, offset, size))| wgpu::BindGroupEntry {
                            binding: i as u32,
                            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                                buffer,
                                offset: *offset,
                                size: wgpu::BufferSize::new(*size),
                            }),
                        })
                        .collect();
                    self.stats.bind_groups_created += 1;
                    ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                        label: Some(op),
                        layout: &pipeline.get_bind_group_layout(0),
                        entries: &entries,
                    })
                }
            };
            bind_groups.push(Some(group.clone()));
            self.bind_groups.entry(key).or_insert((group, now));
        }
        self.bind_groups.retain(|_, (_, used)| now - *used < BIND_GROUP_SUBMITS);
        let mut enc = ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("graph") });
        // With timestamps asked for: the first compute pass writes the first, the pass that
        // starts at `last_pass` (the last run of dispatches) the second.
        let timestamps = self.timestamps.take();
        let last_pass = commands
            .iter()
            .enumerate()
            .filter(|(i, c)| {
                matches!(c, Command::Dispatch { .. })
                    && (*i == 0 || !matches!(commands[i - 1], Command::Dispatch { .. }))
            })
            .map(|(i, _)| i)
            .next_back();
        let mut first_pass = true;
        let mut i = 0;
        while i < commands.len() {
            match &commands[i] {
                Command::Copy { src, src_offset, dst, dst_offset, size } => {
                    enc.copy_buffer_to_buffer(src, *src_offset, dst, *dst_offset, *size);
                    i += 1;
                }
                Command::Dispatch { .. } => {
                    let timestamp_writes = timestamps.as_ref().map(|query_set| wgpu::ComputePassTimestampWrites {
                        query_set,
                        beginning_of_pass_write_index: first_pass.then_some(0),
                        end_of_pass_write_index: (last_pass == Some(i)).then_some(1),
                    });
                    first_pass = false;
                    let mut pass =
                        enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("graph"), timestamp_writes });
                    while let Some(Command::Dispatch { pipeline, groups, .. }) = commands.get(i) {
                        pass.set_pipeline(pipeline);
                        pass.set_bind_group(0, bind_groups[i].as_ref(), &[]);
                        pass.dispatch_workgroups(groups.0, groups.1, 1);
                        i += 1;
                    }
                }
            }
        }
        if let Some((t, staging)) = readback {
            enc.copy_buffer_to_buffer(&t.buffer, t.offset, staging, 0, (t.len() * 4) as u64);
        }
        ctx.queue.submit([enc.finish()]);
        self.stats.submits += 1;
        self.uniforms.clear();
        self.data.clear();
        Ok(())
    }

    /// Submits every pending command.
    pub fn submit(&mut self, ctx: &GpuContext) -> Result<(), KernelError> {
        self.flush(ctx, None)
    }

    fn staging_for(&mut self, ctx: &GpuContext, t: &GpuTensor) -> wgpu::Buffer {
        Self::ensure(
            ctx,
            &mut self.staging,
            &mut self.stats,
            GpuTensor::bytes_for(t.rows, t.cols),
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            "readback",
        )
    }

    /// Submits every pending command with a copy of `t` at the end, waits for the GPU and
    /// returns `t`'s values. Native only: the browser cannot block, use [`Self::read_async`].
    pub fn read(&mut self, ctx: &GpuContext, t: &GpuTensor) -> Result<Vec<f32>, KernelError> {
        let staging = self.staging_for(ctx, t);
        self.flush(ctx, Some((t, &staging)))?;
        let state = Arc::new(Mutex::new(MapState::default()));
        start_map(&staging, t.len(), &state);
        // Another thread polling the same device may be the one running the callback, so wait
        // until it has; in a browser polling does nothing and the callback cannot run while
        // this blocks, hence the bound.
        for _ in 0..10_000 {
            ctx.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| KernelError::Readback(e.to_string()))?;
            let done = state.lock().unwrap_or_else(|p| p.into_inner()).result.take();
            if let Some(r) = done {
                return finish_map(&staging, t.len(), r);
            }
            std::thread::yield_now();
        }
        Err(KernelError::Readback("the mapping did not complete (in a browser, use the async read)".into()))
    }

    /// Submits every pending command with a copy of `t` at the end and returns a future of
    /// `t`'s values, which resolves once the GPU is done (in a browser, when the event loop
    /// runs the mapping callback; natively, by waiting on the device when first polled).
    /// Nothing may be recorded for submission until it resolves.
    pub fn read_async(&mut self, ctx: &GpuContext, t: &GpuTensor) -> Result<ReadFuture, KernelError> {
        let staging = self.staging_for(ctx, t);
        self.flush(ctx, Some((t, &staging)))?;
        let state = Arc::new(Mutex::new(MapState::default()));
        start_map(&staging, t.len(), &state);
        Ok(ReadFuture { device: ctx.device.clone(), staging, len: t.len(), state })
    }
}

#[derive(Default)]
struct MapState {
    result: Option<Result<(), wgpu::BufferAsyncError>>,
    waker: Option<Waker>,
}

fn start_map(staging: &wgpu::Buffer, len: usize, state: &Arc<Mutex<MapState>>) {
    let s = state.clone();
    staging.slice(..(len.max(1) * 4) as u64).map_async(wgpu::MapMode::Read, move |r| {
        let mut st = s.lock().unwrap_or_else(|p| p.into_inner());
        st.result = Some(r);
        if let Some(w) = st.waker.take() {
            w.wake();
        }
    });
}

fn finish_map(
    staging: &wgpu::Buffer,
    len: usize,
    r: Result<(), wgpu::BufferAsyncError>,
) -> Result<Vec<f32>, KernelError> {
    r.map_err(|e| KernelError::Readback(e.to_string()))?;
    let values = {
        let view = staging
            .slice(..(len.max(1) * 4) as u64)
            .get_mapped_range()
            .map_err(|e| KernelError::Readback(e.to_string()))?;
        let mut v: Vec<f32> = view.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        v.truncate(len);
        v
    };
    staging.unmap();
    Ok(values)
}

/// The values of a tensor on their way back from the GPU ([`Recorder::read_async`]).
pub struct ReadFuture {
    device: wgpu::Device,
    staging: wgpu::Buffer,
    len: usize,
    state: Arc<Mutex<MapState>>,
}

impl Future for ReadFuture {
    type Output = Result<Vec<f32>, KernelError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        {
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if st.result.is_none() {
                st.waker = Some(cx.waker().clone());
            }
        }
        // Natively this waits for the mapping; in a browser it is a no-op and the mapping
        // callback wakes the task.
        if let Err(e) = self.device.poll(wgpu::PollType::wait_indefinitely()) {
            return Poll::Ready(Err(KernelError::Readback(e.to_string())));
        }
        let done = self.state.lock().unwrap_or_else(|p| p.into_inner()).result.take();
        match done {
            Some(r) => Poll::Ready(finish_map(&self.staging, self.len, r)),
            None => Poll::Pending,
        }
    }
}
