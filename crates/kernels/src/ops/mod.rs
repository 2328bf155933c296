//! One module per op: a GPU dispatch and the scalar reference it is tested against.

pub mod argmax;
pub mod attention;
pub mod elementwise;
pub mod get_rows;
pub mod matmul;
pub mod matvec;
pub mod rms_norm;
pub mod softmax;

use wgpu::util::DeviceExt;

use crate::{GpuContext, KernelError};

/// A storage buffer filled with `data`.
pub(crate) fn storage(ctx: &GpuContext, op: &'static str, data: &[f32]) -> Result<wgpu::Buffer, KernelError> {
    let bytes = (data.len() * 4) as u64;
    if bytes > ctx.max_binding_bytes() {
        return Err(KernelError::TooLarge { op, bytes, limit: ctx.max_binding_bytes() });
    }
    Ok(ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some(op),
        contents: bytemuck::cast_slice(data),
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
    }))
}

/// A storage buffer holding raw bytes (quantized blocks), padded to whole u32 words.
pub(crate) fn storage_bytes(ctx: &GpuContext, op: &'static str, data: &[u8]) -> Result<wgpu::Buffer, KernelError> {
    let mut padded = data.to_vec();
    padded.resize(data.len().div_ceil(4).max(1) * 4, 0);
    let bytes = padded.len() as u64;
    if bytes > ctx.max_binding_bytes() {
        return Err(KernelError::TooLarge { op, bytes, limit: ctx.max_binding_bytes() });
    }
    Ok(ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some(op),
        contents: &padded,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
    }))
}

/// Runs one dispatch over `inputs` (read-only storage), one output of `n_out` floats and a
/// uniform, and reads the output back.
pub(crate) fn run(
    ctx: &GpuContext,
    op: &'static str,
    source: &str,
    inputs: &[&wgpu::Buffer],
    n_out: usize,
    uniform: &[u8],
    workgroups: (u32, u32),
) -> Result<Vec<f32>, KernelError> {
    let pipeline = ctx.pipeline(op, source);
    run_with(ctx, op, &pipeline, inputs, n_out, uniform, workgroups)
}

/// [`run`] with a pipeline the caller picked (a specialised variant).
pub(crate) fn run_with(
    ctx: &GpuContext,
    op: &'static str,
    pipeline: &wgpu::ComputePipeline,
    inputs: &[&wgpu::Buffer],
    n_out: usize,
    uniform: &[u8],
    workgroups: (u32, u32),
) -> Result<Vec<f32>, KernelError> {
    let out = output(ctx, op, n_out * 4)?;
    let mut buffers = inputs.to_vec();
    buffers.push(&out);
    dispatch(ctx, op, pipeline, &buffers, uniform, workgroups);
    let bytes = read_back(ctx, &out)?;
    let mut values: Vec<f32> = bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    values.truncate(n_out);
    Ok(values)
}

/// A zeroed read-write storage buffer of at least `bytes` bytes (one word at least).
pub(crate) fn output(ctx: &GpuContext, op: &'static str, bytes: usize) -> Result<wgpu::Buffer, KernelError> {
    let bytes = (bytes.div_ceil(4).max(1) * 4) as u64;
    if bytes > ctx.max_binding_bytes() {
        return Err(KernelError::TooLarge { op, bytes, limit: ctx.max_binding_bytes() });
    }
    Ok(ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(op),
        size: bytes,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    }))
}

/// Binds `buffers` to bindings 0.. in order and `uniform` after them, and submits one dispatch.
pub(crate) fn dispatch(
    ctx: &GpuContext,
    op: &'static str,
    pipeline: &wgpu::ComputePipeline,
    buffers: &[&wgpu::Buffer],
    uniform: &[u8],
    workgroups: (u32, u32),
) {
    let params = ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some(op),
        contents: uniform,
        usage: wgpu::BufferUsages::UNIFORM,
    });
    let mut entries: Vec<wgpu::BindGroupEntry<'_>> = buffers
        .iter()
        .enumerate()
        .map(|(i, b)| wgpu::BindGroupEntry { binding: i as u32, resource: b.as_entire_binding() })
        .collect();
    entries.push(wgpu::BindGroupEntry { binding: buffers.len() as u32, resource: params.as_entire_binding() });
    let bind = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(op),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &entries,
    });
    let mut enc = ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(op) });
    {
        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some(op), timestamp_writes: None });
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, &bind, &[]);
        pass.dispatch_workgroups(workgroups.0, workgroups.1, 1);
    }
    ctx.queue.submit([enc.finish()]);
}

/// Copies `buffer` (which has `COPY_SRC` usage) to a mappable one and reads it back.
pub(crate) fn read_back(ctx: &GpuContext, buffer: &wgpu::Buffer) -> Result<Vec<u8>, KernelError> {
    let size = buffer.size();
    let readback = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut enc = ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("readback") });
    enc.copy_buffer_to_buffer(buffer, 0, &readback, 0, size);
    ctx.queue.submit([enc.finish()]);
    let (tx, rx) = std::sync::mpsc::channel();
    readback.slice(..).map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    ctx.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| KernelError::Readback(e.to_string()))?;
    rx.recv().map_err(|e| KernelError::Readback(e.to_string()))?.map_err(|e| KernelError::Readback(e.to_string()))?;
    let view = readback.slice(..).get_mapped_range().map_err(|e| KernelError::Readback(e.to_string()))?;
    Ok(view.to_vec())
}

/// The uniform bytes of a list of u32 parameters, padded to a multiple of 16 bytes.
pub(crate) fn params(values: &[u32]) -> Vec<u8> {
    let mut bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    bytes.resize(bytes.len().div_ceil(16).max(1) * 16, 0);
    bytes
}

/// The pipeline of a weight-decoding op (`matvec`, `matmul`, `get_rows`) for `ty`.
pub(crate) fn weight_pipeline(
    ctx: &GpuContext,
    op: &'static str,
    ty: crate::WeightType,
) -> std::sync::Arc<wgpu::ComputePipeline> {
    ctx.pipeline_variant(op, ty.name(), crate::shader(op), &[("WTYPE", f64::from(ty.ggml_id()))])
}

/// Checks that a count fits the u32 indices of the shaders.
pub(crate) fn fits_u32(op: &'static str, what: &str, n: usize) -> Result<u32, KernelError> {
    u32::try_from(n).map_err(|_| KernelError::Shape { op, message: format!("{what} = {n} exceeds u32") })
}

/// Splits a count of workgroups over x and y so that neither exceeds 65535.
pub(crate) fn grid(n: usize) -> (u32, u32) {
    let x = n.clamp(1, 65_535);
    (x as u32, n.div_ceil(x).max(1) as u32)
}
