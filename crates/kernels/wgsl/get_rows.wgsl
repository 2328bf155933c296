// Embedding lookup: out[i] = row ids[i] of a table of `n_rows` rows of `cols` weights of any
// WTYPE (see dequant.wgsl, which this file follows), decoded to f32. One workgroup per id
// (ids past 65535 wrap onto the y dimension); the host checks every id is below n_rows.
// A table split by rows over several buffers (larger than one storage binding) is looked up
// one part at a time: the bound part holds rows row0 .. row0 + n_rows, and each invocation
// writes only the ids that fall in it.

struct Params {
    n_ids: u32,
    cols: u32,
    row0: u32,
    n_rows: u32,
}

@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

const LANES: u32 = 64u;

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let i = wg.x + wg.y * nwg.x;
    if (i >= p.n_ids) {
        return;
    }
    let id = ids[i];
    if (id < p.row0 || id - p.row0 >= p.n_rows) {
        return;
    }
    let base = (id - p.row0) * row_bytes(p.cols);
    let chunks = (p.cols + 31u) / 32u;
    for (var c = lid.x; c < chunks; c += LANES) {
        let v = chunk(base, c, p.cols);
        let k0 = c * 32u;
        let n = min(32u, p.cols - k0);
        for (var j = 0u; j < n; j++) {
            out[i * p.cols + k0 + j] = v[j];
        }
    }
}
