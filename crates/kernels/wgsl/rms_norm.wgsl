// y[r] = g * x[r] / sqrt(mean(x[r]^2) + eps), one workgroup per row.

struct Params {
    rows: u32,
    cols: u32,
    eps: f32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

const LANES: u32 = 64u;
var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let row = wg.x;
    let t = lid.x;
    let base = row * p.cols;
    var sum = 0.0;
    if (row < p.rows) {
        for (var i = t; i < p.cols; i += LANES) {
            let v = x[base + i];
            sum += v * v;
        }
    }
    partial[t] = sum;
    workgroupBarrier();
    for (var s = LANES / 2u; s > 0u; s >>= 1u) {
        if (t < s) {
            partial[t] += partial[t + s];
        }
        workgroupBarrier();
    }
    let scale = 1.0 / sqrt(partial[0] / f32(p.cols) + p.eps);
    if (row < p.rows) {
        for (var i = t; i < p.cols; i += LANES) {
            y[base + i] = g[i] * (x[base + i] * scale);
        }
    }
}
