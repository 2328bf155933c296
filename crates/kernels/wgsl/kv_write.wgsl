// Copies n rows of keys and values (each row n_head_kv * head_dim f32) into the KV cache
// starting at row `pos`: k_cache[pos * row + i] = k[i], the same for v.

struct Params {
    n: u32,
    offset: u32,
}

@group(0) @binding(0) var<storage, read> k: array<f32>;
@group(0) @binding(1) var<storage, read> v: array<f32>;
@group(0) @binding(2) var<storage, read_write> k_cache: array<f32>;
@group(0) @binding(3) var<storage, read_write> v_cache: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i < p.n) {
        k_cache[p.offset + i] = k[i];
        v_cache[p.offset + i] = v[i];
    }
}
