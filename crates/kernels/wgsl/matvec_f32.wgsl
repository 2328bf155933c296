// y = W · x for an F32 weight matrix W [rows, cols] (row-major) and one activation row x.
// One workgroup per output row; 64 lanes stride over the row and reduce in shared memory.
// Rows past 65535 wrap onto the y dimension of the dispatch.

struct Params {
    rows: u32,
    cols: u32,
}

@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

const LANES: u32 = 64u;
var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let row = wg.x + wg.y * nwg.x;
    let t = lid.x;
    var sum = 0.0;
    if (row < p.rows) {
        let base = row * p.cols;
        for (var i = t; i < p.cols; i += LANES) {
            sum += w[base + i] * x[i];
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
    if (t == 0u && row < p.rows) {
        y[row] = partial[0];
    }
}
