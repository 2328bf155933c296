// y = W · x for weights of any WTYPE (see dequant.wgsl, which this file follows): one
// workgroup per output row (rows past 65535 wrap onto the y dimension of the dispatch), 64
// lanes each decoding 32-weight chunks of the row and dotting them with x, then a reduction
// in shared memory.

struct Params {
    rows: u32,
    cols: u32,
}

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
        let base = row * row_bytes(p.cols);
        let chunks = (p.cols + 31u) / 32u;
        for (var c = t; c < chunks; c += LANES) {
            let v = chunk(base, c, p.cols);
            let k0 = c * 32u;
            let n = min(32u, p.cols - k0);
            var acc = 0.0;
            for (var i = 0u; i < n; i++) {
                acc += v[i] * x[k0 + i];
            }
            sum += acc;
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
