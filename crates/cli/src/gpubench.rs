//! `arbitre gpubench`: how near the memory-bandwidth limit arbitre's WGSL kernels run on the
//! GPU wgpu finds natively (Vulkan), the numbers issue 21 asks for.
//!
//! - The adapter: every adapter wgpu lists (name, backend, type, driver), and of the one picked
//!   its limits and the features that matter here (timestamps, shader-f16, subgroups).
//! - `--kernels`: per weight type, the decode product (matvec, one row of activations) on
//!   large matrices, cycling through enough copies of each matrix that no pass is served from
//!   the GPU's L2 cache, in GB/s of weight bytes and % of `--peak-gbps`; the tiled prefill
//!   matmul in GFLOP/s. Timed with GPU timestamps around one submit of many dispatches where
//!   the adapter has them (`TIMESTAMP_QUERY`), else by the wall clock around submit and wait.
//! - `--model FILE` (repeatable): prefill and decode tokens/s through `arbitre bench`'s own
//!   runs ([`bench::measure`]), dispatches and submits per decoded token (the recorder's
//!   counters across decode steps), weight bytes per decoded token (from the file's tensor
//!   index, checked against what the recorder saw bound), and decode's share of the roofline.
//! - `--json OUT`: everything, rewritten after each part (a run cut short keeps what it did).
//!
//! It times; it changes nothing in the kernels or the engine. `scripts/gpu-bench.sh` builds it
//! and runs it with synthetic models on a GPU machine.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use arbitre_engine::backend::webgpu::wgpu;
use arbitre_engine::{Engine, WebGpuBackend};
use arbitre_gguf::GgufHeader;
use arbitre_kernels::graph::{GpuTensor, GpuWeights, Recorder};
use arbitre_kernels::{GpuContext, WeightType};
use clap::Args;
use serde_json::{Value, json};

use crate::bench::{self, RunArgs, Spread, spread};

/// Peak memory bandwidth of an H200 (HBM3e), GB/s: the default of `--peak-gbps` there.
const H200_PEAK_GBPS: f64 = 4800.0;

/// Arguments of `arbitre gpubench`.
#[derive(Args)]
pub struct GpuBenchArgs {
    /// Only list the adapters; exit status 3 when none is a GPU (a CPU emulation is not).
    #[arg(long)]
    list_adapters: bool,
    /// Use the adapter whose name contains this (any case); default: the first GPU found.
    #[arg(long)]
    adapter: Option<String>,
    /// Peak memory bandwidth in GB/s for the % figures (default: 4800 on an H200, else none).
    #[arg(long)]
    peak_gbps: Option<f64>,
    /// Time each kernel on large matrices of each weight type.
    #[arg(long)]
    kernels: bool,
    /// Weight types of `--kernels`, comma-separated (default: all the kernels decode).
    #[arg(long, value_delimiter = ',')]
    types: Vec<String>,
    /// Small matrices and short timings (software adapters, tests).
    #[arg(long)]
    quick: bool,
    /// A GGUF model to time on the GPU (repeatable).
    #[arg(long = "model")]
    models: Vec<PathBuf>,
    #[command(flatten)]
    runs: RunArgs,
    /// Write every number as JSON to this file (rewritten after each part).
    #[arg(long)]
    json: Option<PathBuf>,
}

/// Runs `arbitre gpubench`.
pub fn gpubench(a: GpuBenchArgs) -> Result<()> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    let listed: Vec<Value> = adapters.iter().map(|ad| adapter_json(&ad.get_info())).collect();
    for (i, ad) in adapters.iter().enumerate() {
        let info = ad.get_info();
        println!(
            "adapter {i}: {} ({:?}, {:?}; driver {} {})",
            info.name, info.backend, info.device_type, info.driver, info.driver_info
        );
    }
    let is_gpu = |ad: &wgpu::Adapter| ad.get_info().device_type != wgpu::DeviceType::Cpu;
    if a.list_adapters {
        if !adapters.iter().any(is_gpu) {
            println!("no GPU adapter (only CPU emulations, or none)");
            std::process::exit(3);
        }
        return Ok(());
    }
    let picked = match &a.adapter {
        Some(want) => {
            let want = want.to_lowercase();
            adapters.iter().find(|ad| ad.get_info().name.to_lowercase().contains(&want))
        }
        None => adapters.iter().find(|ad| is_gpu(ad)).or(adapters.first()),
    };
    let Some(adapter) = picked else { bail!("no wgpu adapter matches (found {})", adapters.len()) };
    let info = adapter.get_info();
    let timestamps = adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY);
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("arbitre gpubench"),
        required_features: if timestamps { wgpu::Features::TIMESTAMP_QUERY } else { wgpu::Features::empty() },
        required_limits: adapter.limits(),
        ..Default::default()
    }))
    .context("opening the device")?;
    let ctx = GpuContext::from_device(device, queue, info.name.clone());
    let peak = a.peak_gbps.or_else(|| info.name.contains("H200").then_some(H200_PEAK_GBPS));
    let mut report = json!({
        "adapters": listed,
        "adapter": adapter_json(&info),
        "features": features_json(adapter.features()),
        "limits": limits_json(&adapter.limits()),
        "timestamps": timestamps,
        "peak_gbps": peak,
        "quick": a.quick,
        "kernels": [],
        "models": [],
    });
    print_adapter(&report);
    save(a.json.as_deref(), &report)?;

    if a.kernels {
        let timer = timestamps.then(|| Timer::new(&ctx));
        let types = weight_types(&a.types)?;
        for case in kernel_cases(&types, a.quick) {
            let r = bench_kernel(&ctx, timer.as_ref(), &case, a.quick, peak)
                .unwrap_or_else(|e| json!({ "op": case.op(), "type": case.ty.name(), "error": format!("{e:#}") }));
            print_kernel(&r);
            push(&mut report, "kernels", r);
            save(a.json.as_deref(), &report)?;
        }
    }
    for path in &a.models {
        let r = bench_model(&ctx, path, &a.runs, peak)
            .unwrap_or_else(|e| json!({ "model": path.display().to_string(), "error": format!("{e:#}") }));
        print_model(&r);
        push(&mut report, "models", r);
        save(a.json.as_deref(), &report)?;
    }
    Ok(())
}

fn push(report: &mut Value, key: &str, v: Value) {
    if let Some(list) = report.get_mut(key).and_then(Value::as_array_mut) {
        list.push(v);
    }
}

/// Writes `report` to `path` through a temporary file, so that the file is always whole.
fn save(path: Option<&Path>, report: &Value) -> Result<()> {
    let Some(path) = path else { return Ok(()) };
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(report)?).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

fn adapter_json(info: &wgpu::AdapterInfo) -> Value {
    json!({
        "name": info.name,
        "backend": format!("{:?}", info.backend),
        "device_type": format!("{:?}", info.device_type),
        "vendor": info.vendor,
        "device": info.device,
        "driver": info.driver,
        "driver_info": info.driver_info,
        "subgroup_min_size": info.subgroup_min_size,
        "subgroup_max_size": info.subgroup_max_size,
    })
}

fn features_json(f: wgpu::Features) -> Value {
    json!({
        "timestamp_query": f.contains(wgpu::Features::TIMESTAMP_QUERY),
        "shader_f16": f.contains(wgpu::Features::SHADER_F16),
        "subgroup": f.contains(wgpu::Features::SUBGROUP),
        "all": format!("{f:?}"),
    })
}

fn limits_json(l: &wgpu::Limits) -> Value {
    json!({
        "max_storage_buffer_binding_size": l.max_storage_buffer_binding_size,
        "max_buffer_size": l.max_buffer_size,
        "max_compute_workgroup_storage_size": l.max_compute_workgroup_storage_size,
        "max_compute_invocations_per_workgroup": l.max_compute_invocations_per_workgroup,
        "max_compute_workgroup_size_x": l.max_compute_workgroup_size_x,
        "max_compute_workgroups_per_dimension": l.max_compute_workgroups_per_dimension,
        "min_storage_buffer_offset_alignment": l.min_storage_buffer_offset_alignment,
    })
}

fn print_adapter(r: &Value) {
    let a = &r["adapter"];
    let f = &r["features"];
    let l = &r["limits"];
    println!(
        "using {} ({}, {}; driver {} {})",
        a["name"], a["backend"], a["device_type"], a["driver"], a["driver_info"]
    );
    println!(
        "  timestamps {}, shader-f16 {}, subgroups {} (sizes {}-{}); max binding {} bytes, workgroup storage {} bytes",
        f["timestamp_query"],
        f["shader_f16"],
        f["subgroup"],
        a["subgroup_min_size"],
        a["subgroup_max_size"],
        l["max_storage_buffer_binding_size"],
        l["max_compute_workgroup_storage_size"]
    );
    match r["peak_gbps"].as_f64() {
        Some(p) => println!("  peak bandwidth {p} GB/s (for the % figures)"),
        None => println!("  no peak bandwidth (give --peak-gbps for % figures)"),
    }
}

/// The weight types named (all by default).
fn weight_types(names: &[String]) -> Result<Vec<WeightType>> {
    if names.is_empty() {
        return Ok(WeightType::ALL.to_vec());
    }
    names
        .iter()
        .map(|n| {
            WeightType::ALL
                .into_iter()
                .find(|t| t.name().eq_ignore_ascii_case(n))
                .with_context(|| format!("unknown weight type {n:?}"))
        })
        .collect()
}

/// One kernel timing: `y[m, rows] = x[m, cols] · Wᵀ` with `W` of type `ty`.
struct KernelCase {
    ty: WeightType,
    rows: usize,
    cols: usize,
    /// Activation rows: 1 times the matvec kernel, more the tiled matmul.
    m: usize,
}

impl KernelCase {
    fn op(&self) -> &'static str {
        if self.m == 1 { "matvec" } else { "matmul" }
    }
}

/// The matvec shapes (a square 8192 and Llama-3-8B's FFN up and down) and one prefill
/// matmul shape per type; small ones with `quick`.
fn kernel_cases(types: &[WeightType], quick: bool) -> Vec<KernelCase> {
    const QUICK_MATVEC: &[(usize, usize)] = &[(1024, 1024), (512, 2048)];
    const MATVEC: &[(usize, usize)] = &[(8192, 8192), (14336, 4096), (4096, 14336)];
    let (matvec, matmul) = if quick { (QUICK_MATVEC, (64, 512, 512)) } else { (MATVEC, (512, 4096, 4096)) };
    let mut cases = Vec::new();
    for &ty in types {
        cases.extend(matvec.iter().map(|&(rows, cols)| KernelCase { ty, rows, cols, m: 1 }));
    }
    for &ty in types {
        let (m, rows, cols) = matmul;
        cases.push(KernelCase { ty, rows, cols, m });
    }
    cases
}

/// Two GPU timestamps around a submit ([`Recorder::time_next_submit`]) and their read-back.
struct Timer {
    set: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    read: wgpu::Buffer,
    period_ns: f64,
}

impl Timer {
    fn new(ctx: &GpuContext) -> Self {
        let d = &ctx.device;
        let set = d.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("gpubench"),
            ty: wgpu::QueryType::Timestamp,
            count: 2,
        });
        let buffer = |usage| {
            d.create_buffer(&wgpu::BufferDescriptor {
                label: Some("gpubench"),
                size: 16,
                usage,
                mapped_at_creation: false,
            })
        };
        let resolve = buffer(wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC);
        let read = buffer(wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST);
        Self { set, resolve, read, period_ns: f64::from(ctx.queue.get_timestamp_period()) }
    }

    /// Nanoseconds between the two timestamps of the last timed submit (which must be done).
    fn elapsed_ns(&self, ctx: &GpuContext) -> Result<f64> {
        let mut enc = ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("gpubench") });
        enc.resolve_query_set(&self.set, 0..2, &self.resolve, 0);
        enc.copy_buffer_to_buffer(&self.resolve, 0, &self.read, 0, 16);
        ctx.queue.submit([enc.finish()]);
        let (tx, rx) = std::sync::mpsc::channel();
        self.read.slice(..).map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        ctx.device.poll(wgpu::PollType::wait_indefinitely()).context("waiting for the timestamps")?;
        rx.recv().context("timestamp mapping")?.context("timestamp mapping")?;
        let ticks = {
            let view = self.read.slice(..).get_mapped_range().context("timestamp range")?;
            let at = |i: usize| u64::from_le_bytes(view[i * 8..i * 8 + 8].try_into().unwrap_or_default());
            at(1).saturating_sub(at(0))
        };
        self.read.unmap();
        Ok(ticks as f64 * self.period_ns)
    }
}

/// Times of one submit of `reps` products: GPU (timestamps), and wall clock from the first
/// recorded op to the GPU being done, and from the submit's return to done, in ns.
struct Sample {
    gpu_ns: Option<f64>,
    wall_ns: f64,
    wait_ns: f64,
}

/// `n` pseudo-random bytes from `seed` (SplitMix64).
fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(n);
    out
}

/// Weights of type `ty` with random bits and every scale set to a small finite f16, so that
/// no kernel meets NaNs or infinities (speed does not depend on the values otherwise).
fn random_weights(ty: WeightType, rows: usize, cols: usize) -> Result<Vec<u8>> {
    let row_bytes = ty.row_bytes(cols).with_context(|| format!("{cols} columns of {}", ty.name()))?;
    let mut bytes = random_bytes(rows * row_bytes, ty.ggml_id().into());
    const SCALE: [u8; 2] = 0x2C00u16.to_le_bytes(); // 0.0625
    let block = ty.block_bytes();
    let scales: &[usize] = match ty {
        WeightType::F32 => {
            // Floats in [-1, 1): sign, exponent 126 or less, random mantissa.
            for c in bytes.chunks_exact_mut(4) {
                c[3] = (c[3] & 0x80) | 0x3E;
            }
            &[]
        }
        WeightType::F16 => {
            for c in bytes.chunks_exact_mut(2) {
                c[1] = (c[1] & 0x83) | 0x34;
            }
            &[]
        }
        WeightType::Q4_0 | WeightType::Q5_0 | WeightType::Q8_0 => &[0],
        WeightType::Q4K | WeightType::Q5K => &[0, 2],
        WeightType::Q6K => &[208],
    };
    for b in bytes.chunks_exact_mut(block) {
        for &at in scales {
            b[at..at + 2].copy_from_slice(&SCALE);
        }
    }
    Ok(bytes)
}

/// Bytes of weights a matvec case cycles through: far past any L2 (60 MB on an H200).
fn working_set(quick: bool) -> usize {
    if quick { 16 << 20 } else { 512 << 20 }
}

/// Times one kernel case; the JSON of its numbers.
fn bench_kernel(
    ctx: &GpuContext,
    timer: Option<&Timer>,
    c: &KernelCase,
    quick: bool,
    peak: Option<f64>,
) -> Result<Value> {
    let bytes = random_weights(c.ty, c.rows, c.cols)?;
    let matrix_bytes = bytes.len();
    let copies = if c.m == 1 { working_set(quick).div_ceil(matrix_bytes).clamp(1, 64) } else { 1 };
    let weights =
        (0..copies).map(|_| GpuWeights::upload(ctx, c.ty, &bytes, c.rows, c.cols)).collect::<Result<Vec<_>, _>>()?;
    drop(bytes);
    let xs: Vec<f32> = random_bytes(c.m * c.cols * 4, 7)
        .chunks_exact(4)
        .map(|b| f32::from(u16::from_le_bytes([b[0], b[1]])) / 65536.0 - 0.5)
        .collect();
    let x = GpuTensor::upload(ctx, &xs, c.m, c.cols)?;
    let y = GpuTensor::zeros(ctx, c.m, c.rows)?;
    let mut rec = Recorder::new();
    let mut sample = |reps: usize| -> Result<Sample> {
        let t0 = Instant::now();
        for i in 0..reps {
            rec.linear(ctx, &weights[i % copies], &x, &y)?;
        }
        if let Some(t) = timer {
            rec.time_next_submit(t.set.clone());
        }
        rec.submit(ctx)?;
        let t1 = Instant::now();
        ctx.device.poll(wgpu::PollType::wait_indefinitely()).context("waiting for the GPU")?;
        let t2 = Instant::now();
        let gpu_ns = timer.map(|t| t.elapsed_ns(ctx)).transpose()?;
        Ok(Sample { gpu_ns, wall_ns: (t2 - t0).as_secs_f64() * 1e9, wait_ns: (t2 - t1).as_secs_f64() * 1e9 })
    };
    // A driver that writes no real timestamps (zero ticks) falls back to the wall clock.
    let time_of = |s: &Sample| s.gpu_ns.filter(|&ns| ns > 0.0).unwrap_or(s.wall_ns);
    // Warm-up (pipelines, first touches), then a calibration sets the repetitions so that
    // each timed submit lasts about `target` on the GPU.
    let (target_ns, samples, max_reps) = if quick { (20e6, 3, 256) } else { (50e6, 5, 4096) };
    sample(copies.min(4))?;
    let calib = copies.max(8).min(max_reps);
    let per_op = time_of(&sample(calib)?) / calib as f64;
    let reps = ((target_ns / per_op.max(1.0)) as usize).clamp(8, max_reps);
    let runs = (0..samples).map(|_| sample(reps)).collect::<Result<Vec<_>>>()?;
    let per = |f: &dyn Fn(&Sample) -> f64| spread(&runs.iter().map(|s| f(s) / reps as f64 / 1e3).collect::<Vec<_>>());
    let us = per(&|s| time_of(s));
    let wall_us = per(&|s| s.wall_ns);
    let wait_us = per(&|s| s.wait_ns);
    let gbps = |t_us: f64| matrix_bytes as f64 / (t_us * 1e3);
    let flops = 2.0 * (c.m * c.rows * c.cols) as f64;
    let mut r = json!({
        "op": c.op(),
        "type": c.ty.name(),
        "m": c.m,
        "rows": c.rows,
        "cols": c.cols,
        "weight_bytes": matrix_bytes,
        "copies": copies,
        "reps": reps,
        "samples": samples,
        "clock": if runs.iter().all(|s| s.gpu_ns.is_some_and(|ns| ns > 0.0)) { "gpu-timestamps" } else { "wall" },
        "us_per_op": spread_json(us),
        "wall_us_per_op": spread_json(wall_us),
        "wait_us_per_op": spread_json(wait_us),
        "gbps": gbps(us.median),
        "gbps_best": gbps(us.min),
        "gflops": flops / (us.median * 1e3),
    });
    if let Some(p) = peak {
        r["pct_of_peak"] = json!(100.0 * gbps(us.median) / p);
        r["pct_of_peak_best"] = json!(100.0 * gbps(us.min) / p);
    }
    Ok(r)
}

fn spread_json(s: Spread) -> Value {
    json!({ "median": s.median, "min": s.min, "max": s.max })
}

fn print_kernel(r: &Value) {
    if let Some(e) = r.get("error") {
        println!("{} {}: error: {}", r["op"], r["type"], e);
        return;
    }
    let pct = r["pct_of_peak"].as_f64().map(|p| format!(" = {p:5.1}% of peak")).unwrap_or_default();
    println!(
        "{:6} {:5} {:>5}x{:<5}x{:>5} {:7.1} MB x{:<2}: {:9.2} us  {:7.1} GB/s{pct}  {:9.1} GFLOP/s  ({} reps, {}; wall {:.2} us)",
        r["op"].as_str().unwrap_or_default(),
        r["type"].as_str().unwrap_or_default(),
        r["m"],
        r["rows"],
        r["cols"],
        r["weight_bytes"].as_f64().unwrap_or_default() / 1e6,
        r["copies"],
        r["us_per_op"]["median"].as_f64().unwrap_or_default(),
        r["gbps"].as_f64().unwrap_or_default(),
        r["gflops"].as_f64().unwrap_or_default(),
        r["reps"],
        r["clock"].as_str().unwrap_or_default(),
        r["wall_us_per_op"]["median"].as_f64().unwrap_or_default(),
    );
}

/// Bytes of weights one decode step reads, from the file's tensor index: every matrix once
/// (the products), except the embedding table, of which one row is looked up (unless the
/// output projection is tied to it, when it is also read whole).
pub fn decode_weight_bytes(h: &GgufHeader) -> u64 {
    let matrices: u64 = h.tensors.iter().filter(|t| t.dims.len() == 2).map(|t| t.n_bytes).sum();
    let Some(embd) = h.tensor("token_embd.weight") else { return matrices };
    let row = embd.n_bytes / embd.dims.get(1).copied().unwrap_or(1).max(1);
    let whole = if h.tensor("output.weight").is_some() { embd.n_bytes } else { 0 };
    matrices - whole + row
}

/// Elements of the matrices a token goes through (multiply-adds per token, roughly).
fn matrix_elements(h: &GgufHeader) -> u64 {
    h.tensors.iter().filter(|t| t.dims.len() == 2 && t.name != "token_embd.weight").map(|t| t.n_elements()).sum()
}

/// What the recorder counted over decode steps.
pub struct StepCounts {
    /// Dispatches of each decode step.
    pub dispatches: Vec<usize>,
    /// Submits of each decode step.
    pub submits: Vec<usize>,
    /// Weight bytes bound by each decode step.
    pub weight_bytes: Vec<u64>,
    /// Dispatches of the prefill (with the first token).
    pub prefill_dispatches: usize,
}

/// Runs the prompt, then `steps` decode steps, reading the backend's counters around each.
pub fn count_steps(engine: &Engine<WebGpuBackend>, prompt: Vec<u32>, steps: usize) -> Result<StepCounts> {
    let n_ctx = Some(prompt.len() + steps + 2);
    let runs = RunArgs { prompt_tokens: prompt.len(), gen_tokens: steps + 1, repeat: 1, warmup: 0, n_ctx };
    let mut run = engine.generate_ids(prompt, bench::run_options(&runs))?;
    let stats = || engine.model.backend().stats();
    let before = stats();
    run.step()?;
    let mut last = stats();
    let mut c = StepCounts {
        dispatches: Vec::new(),
        submits: Vec::new(),
        weight_bytes: Vec::new(),
        prefill_dispatches: last.dispatches - before.dispatches,
    };
    for _ in 0..steps {
        run.step()?;
        let now = stats();
        c.dispatches.push(now.dispatches - last.dispatches);
        c.submits.push(now.submits - last.submits);
        c.weight_bytes.push(now.weight_bytes_read - last.weight_bytes_read);
        last = now;
    }
    Ok(c)
}

/// Times one model file on the GPU; the JSON of its numbers.
pub fn bench_model(ctx: &GpuContext, path: &Path, runs: &RunArgs, peak: Option<f64>) -> Result<Value> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let header = GgufHeader::parse(&bytes).with_context(|| format!("parsing {}", path.display()))?;
    let file_bytes = bytes.len();
    let per_token = decode_weight_bytes(&header);
    let elements = matrix_elements(&header);
    let load_start = Instant::now();
    let engine = Engine::from_gguf_bytes(WebGpuBackend::new(ctx.clone()), bytes)
        .with_context(|| format!("loading {}", path.display()))?;
    let load_ms = load_start.elapsed().as_secs_f64() * 1e3;
    let runs = RunArgs { n_ctx: runs.n_ctx.or(Some(runs.prompt_tokens + runs.gen_tokens + 1)), ..runs.clone() };
    let m = bench::measure(&engine, &runs)?;
    // Counts do not depend on the position: a short prompt spares a long prefill.
    let counts = count_steps(&engine, m.prompt[..m.prompt.len().min(8)].to_vec(), 4)?;
    let (prefill, decode) = (m.prefill_spread(), m.decode_spread());
    let c = &engine.model.config;
    // The f32 KV cache a decode step reads, averaged over the generated positions.
    let mean_pos = m.prompt.len() as f64 + runs.gen_tokens as f64 / 2.0;
    let kv_per_token = (c.n_layer * 2 * c.kv_dim() * 4) as f64 * mean_pos;
    let gbps = per_token as f64 * decode.median / 1e9;
    let gbps_kv = (per_token as f64 + kv_per_token) * decode.median / 1e9;
    let mean = |v: &[usize]| v.iter().sum::<usize>() as f64 / v.len().max(1) as f64;
    let mut r = json!({
        "model": path.display().to_string(),
        "backend": format!("WebGPU ({})", ctx.adapter_name),
        "arch": c.arch,
        "n_layer": c.n_layer,
        "n_embd": c.n_embd,
        "n_vocab": c.n_vocab,
        "file_bytes": file_bytes,
        "weight_bytes": engine.model.weight_bytes(),
        "decode_weight_bytes_per_token": per_token,
        "recorder_weight_bytes_per_token": counts.weight_bytes,
        "kv_bytes_per_token_mean": kv_per_token,
        "matrix_elements_per_token": elements,
        "dispatches_per_decode_token": mean(&counts.dispatches),
        "dispatches_per_decode_step": counts.dispatches,
        "submits_per_decode_token": mean(&counts.submits),
        "prefill_dispatches": counts.prefill_dispatches,
        "prompt_tokens": m.prompt.len(),
        "generated_tokens": runs.gen_tokens,
        "repeat": runs.repeat,
        "warmup": runs.warmup,
        "load_ms": load_ms,
        "ttft_ms_median": spread(&m.ttft_ms).median,
        "prefill_tps": { "median": prefill.median, "min": prefill.min, "max": prefill.max, "runs": m.prefill },
        "decode_tps": { "median": decode.median, "min": decode.min, "max": decode.max, "runs": m.decode },
        "prefill_gflops": 2.0 * elements as f64 * prefill.median / 1e9,
        "decode_weight_gbps": gbps,
        "decode_gbps_with_kv": gbps_kv,
        "decode_us_per_dispatch": 1e6 / decode.median.max(1e-9) / mean(&counts.dispatches).max(1.0),
    });
    if let Some(p) = peak {
        r["decode_roofline_pct"] = json!(100.0 * gbps / p);
        r["decode_roofline_pct_with_kv"] = json!(100.0 * gbps_kv / p);
    }
    Ok(r)
}

fn print_model(r: &Value) {
    if let Some(e) = r.get("error") {
        println!("{}: error: {}", r["model"], e);
        return;
    }
    let f = |k: &str| r[k].as_f64().unwrap_or_default();
    let pct = r["decode_roofline_pct"].as_f64().map(|p| format!(" = {p:.1}% of the roofline")).unwrap_or_default();
    println!(
        "{}: {:.0} MB, load {:.0} ms\n  prefill {:8.1} tok/s ({} tok; {:.1} GFLOP/s, {} dispatches)\n  decode  {:8.1} tok/s ({} tok; {:.1} MB weights/token -> {:.1} GB/s{pct}; +KV {:.1} GB/s)\n  {:.0} dispatches and {:.0} submit(s) per decoded token, {:.2} us per dispatch",
        r["model"].as_str().unwrap_or_default(),
        f("file_bytes") / 1e6,
        f("load_ms"),
        r["prefill_tps"]["median"].as_f64().unwrap_or_default(),
        r["prompt_tokens"],
        f("prefill_gflops"),
        r["prefill_dispatches"],
        r["decode_tps"]["median"].as_f64().unwrap_or_default(),
        r["generated_tokens"],
        f("decode_weight_bytes_per_token") / 1e6,
        f("decode_weight_gbps"),
        f("decode_gbps_with_kv"),
        f("dispatches_per_decode_token"),
        f("submits_per_decode_token"),
        f("decode_us_per_dispatch"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use arbitre_engine::synth::{SynthQuant, SynthShape, synth_gguf};

    fn context() -> Option<GpuContext> {
        match GpuContext::new_blocking() {
            Ok(c) => Some(c),
            Err(e) if std::env::var("ARBITRE_REQUIRE_GPU").is_ok_and(|v| v == "1") => {
                panic!("ARBITRE_REQUIRE_GPU=1 but no WebGPU adapter: {e}")
            }
            Err(e) => {
                println!("skipped: no WebGPU adapter ({e}); on Debian install mesa-vulkan-drivers");
                None
            }
        }
    }

    fn synth(arch: &str, quant: SynthQuant) -> Vec<u8> {
        let vocab = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/fixtures/vocab/ggml-vocab-llama-spm.gguf"
        ))
        .expect("../shared/fixtures/vocab/ggml-vocab-llama-spm.gguf");
        let vocab = GgufHeader::parse(&vocab).expect("vocab");
        synth_gguf(arch, &SynthShape::test(), quant, &vocab.metadata, 3).expect("synth")
    }

    /// The bench's accounting: the weight bytes it divides by per decoded token are those the
    /// recorder saw the step's dispatches bind, tied output or not, quantized or not; and the
    /// dispatches it reports per token are the recorder's count of each step.
    #[test]
    fn decode_accounting_matches_the_recorder() {
        let Some(ctx) = context() else { return };
        let dir = std::env::temp_dir().join(format!("arbitre-gpubench-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("test");
        // llama has its own output matrix; qwen2 ties it to the embeddings.
        for (arch, quant) in [("llama", SynthQuant::Q4KM), ("qwen2", SynthQuant::Q8_0)] {
            let bytes = synth(arch, quant);
            let header = GgufHeader::parse(&bytes).expect("test");
            let expected = decode_weight_bytes(&header);
            let path = dir.join(format!("{arch}-{quant:?}.gguf"));
            std::fs::write(&path, &bytes).expect("test");
            let runs = RunArgs { prompt_tokens: 6, gen_tokens: 3, repeat: 1, warmup: 0, n_ctx: None };
            let r = bench_model(&ctx, &path, &runs, Some(100.0)).expect("test");
            let per_step: Vec<u64> =
                serde_json::from_value(r["recorder_weight_bytes_per_token"].clone()).expect("test");
            assert_eq!(per_step, vec![expected; 4], "{arch} {quant:?}");
            assert_eq!(r["decode_weight_bytes_per_token"], json!(expected));

            // An independent count over a fresh run: every decode step the same dispatches,
            // the number the report gives, and one submit.
            let engine = Engine::from_gguf_bytes(WebGpuBackend::new(ctx.clone()), bytes).expect("test");
            let prompt = engine.synthetic_prompt(6).expect("test");
            let c = count_steps(&engine, prompt, 3).expect("test");
            assert!(c.dispatches.iter().all(|&d| d == c.dispatches[0]) && c.dispatches[0] > 0);
            assert_eq!(r["dispatches_per_decode_token"], json!(c.dispatches[0] as f64));
            assert_eq!(c.submits, vec![1; 3]);
            let tps = r["decode_tps"]["median"].as_f64().expect("test");
            let pct = r["decode_roofline_pct"].as_f64().expect("test");
            assert!((pct - expected as f64 * tps / 1e9).abs() <= 1e-9 * pct.max(1.0), "{pct}");
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn random_weights_have_finite_scales() {
        for ty in WeightType::ALL {
            let (rows, cols) = (3, 512);
            let bytes = random_weights(ty, rows, cols).expect("test");
            assert_eq!(bytes.len(), ty.row_bytes(cols).expect("test") * rows);
            let values = arbitre_kernels::quant::dequantize(ty, &bytes, rows, cols);
            assert!(values.iter().all(|v| v.is_finite() && v.abs() < 1e4), "{ty:?}");
        }
    }
}
