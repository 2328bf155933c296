// Index of the largest of n values, ties going to the lowest index (as a CPU scan keeping the
// first maximum does). One workgroup of 256 lanes: each lane scans a strided slice, then a
// tree reduction of (value, index) pairs in shared memory. NaN-free input assumed.

struct Params {
    n: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;

const LANES: u32 = 256u;
const NONE: u32 = 0xffffffffu;
var<workgroup> vals: array<f32, 256>;
var<workgroup> idxs: array<u32, 256>;

// Whether (v2, i2) beats (v1, i1).
fn better(v1: f32, i1: u32, v2: f32, i2: u32) -> bool {
    if (i2 == NONE) {
        return false;
    }
    return i1 == NONE || v2 > v1 || (v2 == v1 && i2 < i1);
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
    let t = lid.x;
    var bv = 0.0;
    var bi = NONE;
    for (var i = t; i < p.n; i += LANES) {
        let v = x[i];
        if (bi == NONE || v > bv) {
            bv = v;
            bi = i;
        }
    }
    vals[t] = bv;
    idxs[t] = bi;
    workgroupBarrier();
    for (var s = LANES / 2u; s > 0u; s >>= 1u) {
        if (t < s && better(vals[t], idxs[t], vals[t + s], idxs[t + s])) {
            vals[t] = vals[t + s];
            idxs[t] = idxs[t + s];
        }
        workgroupBarrier();
    }
    if (t == 0u) {
        out[0] = idxs[0];
    }
}
