//! `arbitre-kernels`: WGSL compute kernels dispatched through wgpu (WebGPU in the browser,
//! Vulkan/Metal/DX12 natively), one `wgsl/<op>.wgsl` plus a Rust module per op, each with a
//! scalar reference that tests compare the GPU against.
//!
//! Ops: matvec (decode) and tiled matmul (prefill) over weights of any [`WeightType`] (F32,
//! F16, Q4_0, Q8_0, Q4_K, Q5_K, Q6_K as raw GGUF bytes), embedding-row lookup, RMSNorm,
//! SiLU·mul, add, RoPE, softmax, causal grouped-query attention over a GPU-resident
//! [`ops::attention::KvCache`] and the kernel writing into it, and argmax.
//!
//! It knows nothing of models: callers hand it buffers and shapes. It never requires
//! shader-f16; every kernel computes in f32 and decodes f16 with integer ops. Pipelines are
//! built once and cached by [`KernelKey`] (and, for weight-decoding ops, the weight type,
//! which the shaders take as a WGSL `override`).
//!
//! Each op module's functions take host slices and read their result back (one submit per
//! op: what the scalar-reference tests need). [`graph`] chains the same shaders over
//! GPU-resident buffers instead: a [`graph::Recorder`] queues many ops and submits them in one
//! command buffer, reading back only what is asked for, synchronously natively or through a
//! future in the browser.

pub mod graph;
pub mod ops;
pub mod quant;

pub use quant::WeightType;
/// The wgpu this crate is built on, for callers that hold its buffers.
pub use wgpu;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Everything that can go wrong on the GPU side.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    /// No adapter could be found (no WebGPU, no Vulkan driver...).
    #[error("no GPU adapter available: {0}")]
    NoAdapter(String),
    /// The adapter refused the device request.
    #[error("the GPU refused to create a device: {0}")]
    Device(String),
    /// Shapes that do not fit the op.
    #[error("{op}: {message}")]
    Shape {
        /// The op.
        op: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A buffer larger than the device allows in one binding.
    #[error("{op}: a {bytes}-byte buffer exceeds the device's storage binding limit of {limit} bytes")]
    TooLarge {
        /// The op.
        op: &'static str,
        /// Requested size.
        bytes: u64,
        /// The device limit.
        limit: u64,
    },
    /// Reading results back failed (device lost, mapping error).
    #[error("reading GPU results back failed: {0}")]
    Readback(String),
}

/// Identifies a compiled pipeline: op name plus its variant.
pub type KernelKey = &'static str;

/// Compiled pipelines by (op, variant).
type PipelineCache = HashMap<(KernelKey, &'static str), Arc<wgpu::ComputePipeline>>;

/// A device, its queue, and the pipelines built on it.
#[derive(Clone)]
pub struct GpuContext {
    /// The device.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
    /// Adapter name, for display ("llvmpipe", "SwiftShader Device", a GPU's name).
    pub adapter_name: String,
    pipelines: Arc<Mutex<PipelineCache>>,
}

impl GpuContext {
    /// Wraps a device the caller created (tests and embedders bring their own).
    pub fn from_device(device: wgpu::Device, queue: wgpu::Queue, adapter_name: impl Into<String>) -> Self {
        Self { device, queue, adapter_name: adapter_name.into(), pipelines: Arc::default() }
    }

    /// Finds an adapter and opens a device with the adapter's own limits.
    pub async fn new() -> Result<Self, KernelError> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions::default())
            .await
            .map_err(|e| KernelError::NoAdapter(e.to_string()))?;
        let name = adapter.get_info().name;
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("arbitre"),
                required_limits: adapter.limits(),
                ..Default::default()
            })
            .await
            .map_err(|e| KernelError::Device(e.to_string()))?;
        Ok(Self::from_device(device, queue, name))
    }

    /// [`Self::new`], blocking until the device is open. Native only: in a browser, await
    /// [`Self::new`] instead.
    pub fn new_blocking() -> Result<Self, KernelError> {
        pollster::block_on(Self::new())
    }

    /// The pipeline for `key`, compiling `source` the first time.
    pub fn pipeline(&self, key: KernelKey, source: &str) -> Arc<wgpu::ComputePipeline> {
        self.pipeline_variant(key, "", source, &[])
    }

    /// The pipeline for `key` specialised by `variant`: `source` compiled with the WGSL
    /// `override` values `constants` the first time `(key, variant)` is asked for. The
    /// variant names the constants (a weight type's name, say); one variant, one set of values.
    pub fn pipeline_variant(
        &self,
        key: KernelKey,
        variant: &'static str,
        source: &str,
        constants: &[(&str, f64)],
    ) -> Arc<wgpu::ComputePipeline> {
        let mut cache = self.pipelines.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .entry((key, variant))
            .or_insert_with(|| {
                let module = self.device.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(key),
                    source: wgpu::ShaderSource::Wgsl(source.into()),
                });
                Arc::new(self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(key),
                    layout: None,
                    module: &module,
                    entry_point: Some("main"),
                    compilation_options: wgpu::PipelineCompilationOptions { constants, ..Default::default() },
                    cache: None,
                }))
            })
            .clone()
    }

    /// Number of pipelines compiled so far.
    pub fn cached_pipelines(&self) -> usize {
        self.pipelines.lock().map(|c| c.len()).unwrap_or_default()
    }

    /// The largest buffer one storage binding may cover.
    pub fn max_binding_bytes(&self) -> u64 {
        self.device.limits().max_storage_buffer_binding_size
    }
}

/// Every WGSL source of the crate, by op name (validated by a unit test). Ops that decode
/// weights of any [`WeightType`] are `dequant.wgsl` followed by the op's own file, and pick
/// the type with the `WTYPE` override.
pub const SHADERS: &[(&str, &str)] = &[
    ("matvec_f32", include_str!("../wgsl/matvec_f32.wgsl")),
    ("rms_norm", include_str!("../wgsl/rms_norm.wgsl")),
    ("matvec_q8_0", include_str!("../wgsl/matvec_q8_0.wgsl")),
    ("silu_mul", include_str!("../wgsl/silu_mul.wgsl")),
    ("rope", include_str!("../wgsl/rope.wgsl")),
    ("matvec", concat!(include_str!("../wgsl/dequant.wgsl"), include_str!("../wgsl/matvec.wgsl"))),
    ("matmul", concat!(include_str!("../wgsl/dequant.wgsl"), include_str!("../wgsl/matmul.wgsl"))),
    ("get_rows", concat!(include_str!("../wgsl/dequant.wgsl"), include_str!("../wgsl/get_rows.wgsl"))),
    ("softmax", include_str!("../wgsl/softmax.wgsl")),
    ("attention", include_str!("../wgsl/attention.wgsl")),
    ("kv_write", include_str!("../wgsl/kv_write.wgsl")),
    ("add", include_str!("../wgsl/add.wgsl")),
    ("scale", include_str!("../wgsl/scale.wgsl")),
    ("argmax", include_str!("../wgsl/argmax.wgsl")),
];

/// The source of the op named `name` in [`SHADERS`] (empty if there is none, which a unit
/// test rules out for every name the ops use).
pub(crate) fn shader(name: &str) -> &'static str {
    SHADERS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s).unwrap_or_default()
}
