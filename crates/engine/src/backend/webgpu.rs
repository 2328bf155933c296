//! The WebGPU backend: the model graph on arbitre's own WGSL kernels (`arbitre-kernels`),
//! through wgpu: WebGPU in the browser, Vulkan/Metal/DX12 natively.
//!
//! Weights are uploaded once, quantized blocks kept as they are in the file; activations and
//! the KV cache stay on the GPU. Ops are only recorded: the whole forward pass goes to the GPU
//! in one command buffer when the logits are read ([`Backend::read_row`], or
//! [`Backend::read_row_async`] in a browser, which cannot block). Activation buffers come from
//! a pool keyed by size and return to it when their tensor is dropped, so after the first
//! token a decode step allocates no buffer. Matrices larger than one storage binding are split
//! by rows over several buffers.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use arbitre_gguf::GgmlType;
pub use arbitre_kernels::GpuContext;
use arbitre_kernels::graph::{GpuTensor, GpuWeights, Recorder, RecorderStats, WeightsUpload};
use arbitre_kernels::ops::attention::{AttentionShape, KvCache};
use arbitre_kernels::ops::elementwise::RopeShape;
/// The wgpu the backend runs on (device callbacks, error scopes).
pub use arbitre_kernels::wgpu;
use arbitre_kernels::{KernelError, WeightType};

use super::{AttnShape, Backend, KvSlot, MatrixUpload, Rope};
use crate::config::RopeStyle;
use crate::error::{EngineError, Result};
use crate::weights::RawTensor;

const NAME: &str = "WebGPU";

fn err(e: impl std::fmt::Display) -> EngineError {
    EngineError::Backend { backend: NAME, message: e.to_string() }
}

/// The error of every op once the device is gone.
fn device_lost(why: &str) -> EngineError {
    EngineError::DeviceLost { backend: NAME, reason: why.to_owned() }
}

/// Free activation buffers by size, and how many were ever created.
#[derive(Default)]
struct Pool {
    free: Mutex<HashMap<u64, Vec<wgpu::Buffer>>>,
    created: std::sync::atomic::AtomicUsize,
}

/// An activation matrix on the GPU; its buffer goes back to the backend's pool when dropped.
pub struct WebGpuTensor {
    t: GpuTensor,
    pool: Arc<Pool>,
}

impl WebGpuTensor {
    /// Rows (tokens).
    pub fn rows(&self) -> usize {
        self.t.rows
    }

    /// Columns.
    pub fn cols(&self) -> usize {
        self.t.cols
    }
}

impl Drop for WebGpuTensor {
    fn drop(&mut self) {
        let buffer = self.t.buffer().clone();
        self.pool.free.lock().unwrap_or_else(|p| p.into_inner()).entry(buffer.size()).or_default().push(buffer);
    }
}

/// A weight matrix on the GPU (raw GGUF blocks, possibly split by rows).
pub struct WebGpuMatrix(GpuWeights);

/// Per-layer key and value caches in GPU buffers (f32).
pub struct WebGpuKvCache {
    layers: Vec<KvCache>,
}

/// The WebGPU backend.
pub struct WebGpuBackend {
    ctx: GpuContext,
    recorder: Mutex<Recorder>,
    pool: Arc<Pool>,
    /// Largest part of a weight matrix, in bytes (the device's binding limit unless lowered).
    max_part_bytes: u64,
    /// Why the device was lost, once it was (set by wgpu's device-lost callback).
    lost: Arc<Mutex<Option<String>>>,
}

/// What the backend did so far (tests, benchmarks).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WebGpuStats {
    /// Command buffers submitted.
    pub submits: usize,
    /// Kernel dispatches recorded.
    pub dispatches: usize,
    /// Buffers created for activations and by the recorder (weights and caches excluded).
    pub buffers_created: usize,
    /// Bind groups created (reused from one decode step to the next).
    pub bind_groups_created: usize,
    /// Bytes of weight matrices read by the dispatches recorded (products and row lookups).
    pub weight_bytes_read: u64,
}

impl WebGpuBackend {
    /// A backend on a device the caller opened.
    pub fn new(ctx: GpuContext) -> Self {
        let max_part_bytes = ctx.max_binding_bytes().min(ctx.device.limits().max_buffer_size);
        let lost: Arc<Mutex<Option<String>>> = Arc::default();
        let sink = lost.clone();
        ctx.device.set_device_lost_callback(move |reason, message| {
            let why = match reason {
                wgpu::DeviceLostReason::Destroyed => "destroyed".to_string(),
                wgpu::DeviceLostReason::Unknown => "lost by the driver or the browser".to_string(),
            };
            let why = if message.trim().is_empty() { why } else { format!("{why}: {message}") };
            *sink.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
        });
        Self { ctx, recorder: Mutex::new(Recorder::new()), pool: Arc::default(), max_part_bytes, lost }
    }

    /// Why the GPU device was lost, if it was: nothing recorded on it runs any more, and a
    /// model on it must be loaded again on a new device.
    pub fn lost(&self) -> Option<String> {
        self.lost.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The error of an op on a lost device, if the device is lost.
    fn check_lost(&self) -> Result<()> {
        match self.lost() {
            Some(why) => Err(device_lost(&why)),
            None => Ok(()),
        }
    }

    /// Finds an adapter and opens a device with its own limits (await this in a browser).
    pub async fn request() -> Result<Self> {
        Ok(Self::new(GpuContext::new().await.map_err(err)?))
    }

    /// [`Self::request`], blocking. Native only.
    pub fn request_blocking() -> Result<Self> {
        Ok(Self::new(GpuContext::new_blocking().map_err(err)?))
    }

    /// Splits weight matrices into parts of at most `bytes` (tests exercise the split with a
    /// small value; the device's own limit applies when it is smaller).
    pub fn with_max_part_bytes(mut self, bytes: u64) -> Self {
        self.max_part_bytes = self.max_part_bytes.min(bytes);
        self
    }

    /// The device context.
    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }

    /// Counters so far.
    pub fn stats(&self) -> WebGpuStats {
        let r: RecorderStats = self.rec().stats();
        WebGpuStats {
            submits: r.submits,
            dispatches: r.dispatches,
            buffers_created: r.buffers_created + self.pool.created.load(std::sync::atomic::Ordering::Relaxed),
            bind_groups_created: r.bind_groups_created,
            weight_bytes_read: r.weight_bytes_read,
        }
    }

    fn rec(&self) -> MutexGuard<'_, Recorder> {
        self.recorder.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A tensor from the pool (its contents are whatever the last user left: every op
    /// overwrites its whole output).
    fn alloc(&self, rows: usize, cols: usize) -> Result<WebGpuTensor> {
        let bytes = GpuTensor::bytes_for(rows, cols);
        let reused = self.pool.free.lock().unwrap_or_else(|p| p.into_inner()).get_mut(&bytes).and_then(Vec::pop);
        let t = match reused {
            Some(buffer) => GpuTensor::from_buffer(buffer, 0, rows, cols).map_err(err)?,
            None => {
                self.pool.created.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                GpuTensor::zeros(&self.ctx, rows, cols).map_err(err)?
            }
        };
        Ok(WebGpuTensor { t, pool: self.pool.clone() })
    }

    /// Runs `f` on the recorder; on error, drops what was recorded of the graph so far.
    fn record(&self, f: impl FnOnce(&mut Recorder, &GpuContext) -> Result<(), KernelError>) -> Result<()> {
        self.check_lost()?;
        let mut rec = self.rec();
        f(&mut rec, &self.ctx).map_err(|e| {
            rec.clear();
            err(e)
        })
    }
}

/// The kernels' type of a GGUF tensor type, if they decode it.
fn weight_type(t: &RawTensor<'_>, op: &'static str) -> Result<WeightType> {
    weight_type_of(&t.name, t.dtype, op)
}

fn weight_type_of(name: &str, dtype: GgmlType, op: &'static str) -> Result<WeightType> {
    let supported = matches!(
        dtype,
        GgmlType::F32
            | GgmlType::F16
            | GgmlType::Q4_0
            | GgmlType::Q5_0
            | GgmlType::Q8_0
            | GgmlType::Q4K
            | GgmlType::Q5K
            | GgmlType::Q6K
    );
    match WeightType::from_ggml_id(dtype.id()) {
        Some(ty) if supported => Ok(ty),
        _ => Err(EngineError::UnsupportedQuant { tensor: name.to_owned(), dtype, op, backend: NAME }),
    }
}

/// A weight matrix streamed into its GPU buffers ([`Backend::begin_matrix`]).
struct GpuUpload {
    name: String,
    up: WeightsUpload,
}

impl MatrixUpload<WebGpuBackend> for GpuUpload {
    fn write(&mut self, backend: &WebGpuBackend, bytes: &[u8]) -> Result<()> {
        self.up.write(&backend.ctx, bytes).map_err(|e| err(format!("tensor {:?}: {e}", self.name)))
    }

    fn finish(self: Box<Self>, _backend: &WebGpuBackend) -> Result<WebGpuMatrix> {
        let name = self.name;
        self.up.finish().map(WebGpuMatrix).map_err(|e| err(format!("tensor {name:?}: {e}")))
    }
}

impl Backend for WebGpuBackend {
    type Tensor = WebGpuTensor;
    type Matrix = WebGpuMatrix;
    type Vector = GpuTensor;
    type KvCache = WebGpuKvCache;

    fn name(&self) -> String {
        format!("WebGPU ({})", self.ctx.adapter_name)
    }

    fn matrix(&self, t: &RawTensor<'_>) -> Result<WebGpuMatrix> {
        let [inp, out] = t.dims[..] else {
            return Err(EngineError::BadConfig(format!("tensor {:?} is not a matrix: {:?}", t.name, t.dims)));
        };
        let ty = weight_type(t, "matmul")?;
        GpuWeights::upload_with_limit(&self.ctx, ty, &t.data, out as usize, inp as usize, self.max_part_bytes)
            .map(WebGpuMatrix)
            .map_err(|e| err(format!("tensor {:?}: {e}", t.name)))
    }

    fn begin_matrix(&self, name: &str, dtype: GgmlType, dims: &[u64]) -> Result<Box<dyn MatrixUpload<Self>>> {
        let [inp, out] = dims[..] else {
            return Err(EngineError::BadConfig(format!("tensor {name:?} is not a matrix: {dims:?}")));
        };
        let ty = weight_type_of(name, dtype, "matmul")?;
        let up = GpuWeights::begin(&self.ctx, ty, out as usize, inp as usize, self.max_part_bytes)
            .map_err(|e| err(format!("tensor {name:?}: {e}")))?;
        Ok(Box::new(GpuUpload { name: name.to_owned(), up }))
    }

    fn check_matrix_type(&self, name: &str, dtype: GgmlType) -> Result<()> {
        weight_type_of(name, dtype, "matmul").map(|_| ())
    }

    fn matrix_bytes(&self, m: &WebGpuMatrix) -> usize {
        m.0.bytes()
    }

    fn vector(&self, t: &RawTensor<'_>) -> Result<GpuTensor> {
        let values = super::cpu::f32_values(t)?;
        GpuTensor::upload(&self.ctx, &values, 1, values.len()).map_err(|e| err(format!("tensor {:?}: {e}", t.name)))
    }

    fn kv_cache(&self, n_layer: usize, n_ctx: usize, kv_dim: usize) -> Result<WebGpuKvCache> {
        // The cache knows heads only for the attention kernel's indexing; the graph passes
        // the real head count with each call, so one "head" of kv_dim is stored here and
        // reinterpreted below.
        let layers =
            (0..n_layer).map(|_| KvCache::new(&self.ctx, n_ctx, 1, kv_dim).map_err(err)).collect::<Result<Vec<_>>>()?;
        Ok(WebGpuKvCache { layers })
    }

    fn embed(&self, table: &WebGpuMatrix, tokens: &[u32]) -> Result<WebGpuTensor> {
        if let Some(&bad) = tokens.iter().find(|&&t| t as usize >= table.0.rows()) {
            return Err(EngineError::BadConfig(format!(
                "token id {bad} is outside the vocabulary of {}",
                table.0.rows()
            )));
        }
        let out = self.alloc(tokens.len(), table.0.cols())?;
        self.record(|r, c| r.get_rows(c, &table.0, tokens, &out.t))?;
        Ok(out)
    }

    fn matmul(&self, x: &WebGpuTensor, w: &WebGpuMatrix) -> Result<WebGpuTensor> {
        let out = self.alloc(x.t.rows, w.0.rows())?;
        self.record(|r, c| r.linear(c, &w.0, &x.t, &out.t))?;
        Ok(out)
    }

    fn rms_norm(&self, x: &WebGpuTensor, w: &GpuTensor, eps: f32) -> Result<WebGpuTensor> {
        let out = self.alloc(x.t.rows, x.t.cols)?;
        self.record(|r, c| r.rms_norm(c, &x.t, w, eps, &out.t))?;
        Ok(out)
    }

    fn rope(&self, x: &mut WebGpuTensor, n_head: usize, head_dim: usize, pos: usize, rope: &Rope<'_>) -> Result<()> {
        let half = rope.freq_factors.len();
        if x.t.cols != n_head * head_dim || half * 2 > head_dim {
            return Err(err(format!(
                "rope of {half} pairs over rows of {} with {n_head} heads of {head_dim}",
                x.t.cols
            )));
        }
        // The same table as the CPU backend's, computed the same way on the CPU (WGSL's sin and
        // cos are too coarse for angles of thousands of radians).
        let mut table = Vec::with_capacity(x.t.rows * half * 2);
        let mut row = vec![(0.0, 0.0); half];
        for r in 0..x.t.rows {
            rope.sin_cos(pos + r, &mut row);
            table.extend(row.iter().flat_map(|&(sin, cos)| [cos, sin]));
        }
        let shape =
            RopeShape { rows: x.t.rows, n_head, head_dim, n_rot: half * 2, neox: rope.style == RopeStyle::NeoX };
        let out = self.alloc(x.t.rows, x.t.cols)?;
        self.record(|r, c| r.rope(c, &x.t, &table, shape, &out.t))?;
        *x = out;
        Ok(())
    }

    fn attention(
        &self,
        cache: &mut WebGpuKvCache,
        slot: KvSlot,
        q: &WebGpuTensor,
        k: &WebGpuTensor,
        v: &WebGpuTensor,
        shape: AttnShape,
    ) -> Result<WebGpuTensor> {
        let AttnShape { n_head, n_head_kv, head_dim, scale_q_first: _, scale, window } = shape;
        let layer = cache.layers.get(slot.layer).ok_or_else(|| err(format!("no cache for layer {}", slot.layer)))?;
        if n_head_kv * head_dim != layer.row_len() {
            return Err(err("attention shapes disagree with the cache"));
        }
        // The same buffers seen with the real head geometry.
        let view = layer.with_heads(n_head_kv, head_dim).map_err(err)?;
        let out = self.alloc(q.t.rows, q.t.cols)?;
        // In f32 it makes no difference whether q or the scores take the scale.
        let s = AttentionShape { n_q: q.t.rows, n_head, pos0: slot.pos, scale, window };
        self.record(|r, c| {
            r.kv_write(c, &view, slot.pos, &k.t, &v.t)?;
            r.attention(c, &q.t, &view, s, &out.t)
        })?;
        Ok(out)
    }

    fn silu_mul(&self, gate: &WebGpuTensor, up: &WebGpuTensor) -> Result<WebGpuTensor> {
        let out = self.alloc(gate.t.rows, gate.t.cols)?;
        self.record(|r, c| r.silu_mul(c, &gate.t, &up.t, &out.t))?;
        Ok(out)
    }

    fn gelu_mul(&self, gate: &WebGpuTensor, up: &WebGpuTensor) -> Result<WebGpuTensor> {
        let out = self.alloc(gate.t.rows, gate.t.cols)?;
        self.record(|r, c| r.gelu_mul(c, &gate.t, &up.t, &out.t))?;
        Ok(out)
    }

    fn scale(&self, x: &mut WebGpuTensor, s: f32) -> Result<()> {
        let out = self.alloc(x.t.rows, x.t.cols)?;
        self.record(|r, c| r.scale(c, &x.t, s, &out.t))?;
        *x = out;
        Ok(())
    }

    fn add_assign(&self, a: &mut WebGpuTensor, b: &WebGpuTensor) -> Result<()> {
        if a.t.len() != b.t.len() {
            return Err(err("add of tensors of different sizes"));
        }
        let out = self.alloc(a.t.rows, a.t.cols)?;
        self.record(|r, c| r.add(c, &a.t, &b.t, &out.t))?;
        *a = out;
        Ok(())
    }

    fn add_bias(&self, x: &mut WebGpuTensor, b: &GpuTensor) -> Result<()> {
        if b.len() != x.t.cols {
            return Err(err(format!("bias of {} over rows of {}", b.len(), x.t.cols)));
        }
        let out = self.alloc(x.t.rows, x.t.cols)?;
        self.record(|r, c| r.add(c, &x.t, b, &out.t))?;
        *x = out;
        Ok(())
    }

    fn last_rows(&self, x: &WebGpuTensor, n: usize) -> Result<WebGpuTensor> {
        if n == 0 || n > x.t.rows {
            return Err(err(format!("last {n} rows of a tensor of {} rows", x.t.rows)));
        }
        let out = self.alloc(n, x.t.cols)?;
        self.record(|r, _| r.copy_rows(&x.t, x.t.rows - n, &out.t, 0, n))?;
        Ok(out)
    }

    fn read_row(&self, x: &WebGpuTensor) -> Result<Vec<f32>> {
        self.check_lost()?;
        let read = self.rec().read(&self.ctx, &x.t);
        // A device lost while the work ran fails the read: say so rather than how it failed.
        self.check_lost()?;
        read.map_err(err)
    }

    fn read_row_async(&self, x: &WebGpuTensor) -> impl Future<Output = Result<Vec<f32>>> {
        let started = self.check_lost().map(|()| self.rec().read_async(&self.ctx, &x.t));
        let lost = self.lost.clone();
        async move {
            let read = started?.map_err(err)?.await;
            if let Some(why) = lost.lock().unwrap_or_else(|p| p.into_inner()).clone() {
                return Err(device_lost(&why));
            }
            read.map_err(err)
        }
    }
}
