//! `arbitre-kernels`: WGSL compute kernels dispatched through wgpu (WebGPU in the browser,
//! Vulkan/Metal/DX12 natively), one `wgsl/<op>.wgsl` plus a Rust module per op, each with a
//! scalar reference that tests compare the GPU against.
//!
//! It knows nothing of models: callers hand it buffers and shapes. It never requires
//! shader-f16; every kernel computes in f32. Pipelines are built once and cached by
//! [`KernelKey`].

pub mod ops;

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

/// A device, its queue, and the pipelines built on it.
#[derive(Clone)]
pub struct GpuContext {
    /// The device.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
    /// Adapter name, for display ("llvmpipe", "SwiftShader Device", a GPU's name).
    pub adapter_name: String,
    pipelines: Arc<Mutex<HashMap<KernelKey, Arc<wgpu::ComputePipeline>>>>,
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

    /// The pipeline for `key`, compiling `source` the first time.
    pub fn pipeline(&self, key: KernelKey, source: &str) -> Arc<wgpu::ComputePipeline> {
        let mut cache = self.pipelines.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .entry(key)
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
                    compilation_options: Default::default(),
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

/// Every WGSL source of the crate, by op name (validated by a unit test).
pub const SHADERS: &[(&str, &str)] = &[
    ("matvec_f32", include_str!("../wgsl/matvec_f32.wgsl")),
    ("rms_norm", include_str!("../wgsl/rms_norm.wgsl")),
    ("matvec_q8_0", include_str!("../wgsl/matvec_q8_0.wgsl")),
    ("silu_mul", include_str!("../wgsl/silu_mul.wgsl")),
    ("rope", include_str!("../wgsl/rope.wgsl")),
];
