// Row-wise softmax: y[r] = exp(x[r] - max(x[r])) / sum(exp(x[r] - max(x[r]))). One workgroup
// per row (rows past 65535 wrap onto the y dimension of the dispatch), 64 lanes reducing the
// max then the sum in shared memory.

struct Params {
    rows: u32,
    cols: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

const LANES: u32 = 64u;
var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let row = wg.x + wg.y * nwg.x;
    if (row >= p.rows) {
        return;
    }
    let t = lid.x;
    let base = row * p.cols;
    var mx = -3.4028234663852886e38;
    for (var i = t; i < p.cols; i += LANES) {
        mx = max(mx, x[base + i]);
    }
    partial[t] = mx;
    workgroupBarrier();
    for (var s = LANES / 2u; s > 0u; s >>= 1u) {
        if (t < s) {
            partial[t] = max(partial[t], partial[t + s]);
        }
        workgroupBarrier();
    }
    mx = partial[0];
    workgroupBarrier();
    var sum = 0.0;
    for (var i = t; i < p.cols; i += LANES) {
        sum += exp(x[base + i] - mx);
    }
    partial[t] = sum;
    workgroupBarrier();
    for (var s = LANES / 2u; s > 0u; s >>= 1u) {
        if (t < s) {
            partial[t] += partial[t + s];
        }
        workgroupBarrier();
    }
    let inv = 1.0 / partial[0];
    for (var i = t; i < p.cols; i += LANES) {
        y[base + i] = exp(x[base + i] - mx) * inv;
    }
}
