//! One module per op: a GPU dispatch and the scalar reference it is tested against.

pub mod elementwise;
pub mod matvec;
pub mod rms_norm;

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
    let out_bytes = (n_out.max(1) * 4) as u64;
    if out_bytes > ctx.max_binding_bytes() {
        return Err(KernelError::TooLarge { op, bytes: out_bytes, limit: ctx.max_binding_bytes() });
    }
    let out = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(op),
        size: out_bytes,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let params = ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some(op),
        contents: uniform,
        usage: wgpu::BufferUsages::UNIFORM,
    });
    let readback = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(op),
        size: out_bytes,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut entries: Vec<wgpu::BindGroupEntry<'_>> = inputs
        .iter()
        .enumerate()
        .map(|(i, b)| wgpu::BindGroupEntry { binding: i as u32, resource: b.as_entire_binding() })
        .collect();
    let n = inputs.len() as u32;
    entries.push(wgpu::BindGroupEntry { binding: n, resource: out.as_entire_binding() });
    entries.push(wgpu::BindGroupEntry { binding: n + 1, resource: params.as_entire_binding() });
    let bind = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(op),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &entries,
    });
    let mut enc = ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(op) });
    {
        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some(op), timestamp_writes: None });
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind, &[]);
        pass.dispatch_workgroups(workgroups.0, workgroups.1, 1);
    }
    enc.copy_buffer_to_buffer(&out, 0, &readback, 0, out_bytes);
    ctx.queue.submit([enc.finish()]);
    let (tx, rx) = std::sync::mpsc::channel();
    readback.slice(..).map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    ctx.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| KernelError::Readback(e.to_string()))?;
    rx.recv().map_err(|e| KernelError::Readback(e.to_string()))?.map_err(|e| KernelError::Readback(e.to_string()))?;
    let view = readback.slice(..).get_mapped_range().map_err(|e| KernelError::Readback(e.to_string()))?;
    let mut values: Vec<f32> = bytemuck::cast_slice(&view).to_vec();
    values.truncate(n_out);
    Ok(values)
}

/// Splits a count of workgroups over x and y so that neither exceeds 65535.
pub(crate) fn grid(n: usize) -> (u32, u32) {
    let x = n.clamp(1, 65_535);
    (x as u32, n.div_ceil(x).max(1) as u32)
}
