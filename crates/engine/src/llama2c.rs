//! llama2.c checkpoints (`run.c`'s legacy format): a 7-integer header, then f32 weights.

use crate::config::{FfnAct, ModelConfig, RopeStyle};
use crate::error::{EngineError, Result};
use crate::weights::TensorMap;

const HEADER_BYTES: usize = 7 * 4;

/// Reads a llama2.c checkpoint into a configuration and GGUF-named tensors.
pub fn read_checkpoint(bytes: &[u8]) -> Result<(ModelConfig, TensorMap)> {
    let bad = |m: String| EngineError::Llama2c(m);
    if bytes.len() < HEADER_BYTES {
        return Err(bad(format!("{} bytes is too short for a checkpoint header", bytes.len())));
    }
    if &bytes[..4] == b"ak42" || &bytes[..4] == b"24ka" {
        return Err(bad(
            "versioned llama2.c exports (magic \"ak42\") are not supported; use the legacy format or a GGUF".into(),
        ));
    }
    let header: Vec<i32> =
        bytes[..HEADER_BYTES].chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    let [dim, hidden, n_layer, n_head, n_head_kv, vocab, seq_len] = header[..] else {
        return Err(bad("short header".into()));
    };
    let shared = vocab > 0;
    let as_usize = |v: i32, what: &str| -> Result<usize> {
        usize::try_from(v.unsigned_abs())
            .ok()
            .filter(|&n| n > 0 && n < 1 << 24)
            .ok_or_else(|| bad(format!("{what} = {v}")))
    };
    let (dim, hidden, n_layer, n_head, n_head_kv, n_vocab, seq_len) = (
        as_usize(dim, "dim")?,
        as_usize(hidden, "hidden_dim")?,
        as_usize(n_layer, "n_layers")?,
        as_usize(n_head, "n_heads")?,
        as_usize(n_head_kv, "n_kv_heads")?,
        as_usize(vocab, "vocab_size")?,
        as_usize(seq_len, "seq_len")?,
    );
    if dim % n_head != 0 {
        return Err(bad(format!("dim {dim} is not divisible by {n_head} heads")));
    }
    let head_dim = dim / n_head;
    let config = ModelConfig {
        arch: "llama".into(),
        n_embd: dim,
        n_layer,
        n_head,
        n_head_kv,
        head_dim,
        n_ff: hidden,
        n_vocab,
        n_ctx_train: seq_len,
        rms_eps: 1e-5,
        rope_theta: 10_000.0,
        rope_dim: head_dim,
        rope_style: RopeStyle::Interleaved,
        rope_attn_factor: 1.0,
        n_ctx_orig: seq_len,
        attn_scale_q_first: false,
        attn_scale: 1.0 / (head_dim as f32).sqrt(),
        n_swa: 0,
        swa_pattern: 0,
        rope_theta_swa: 10_000.0,
        rope_freq_scale: 1.0,
        embd_scale: 1.0,
        ffn_act: FfnAct::Silu,
    };
    config.validate()?;
    let kv_dim = n_head_kv * head_dim;

    let mut reader = F32Reader { bytes, pos: HEADER_BYTES };
    let mut map = TensorMap::default();
    let stacked = |reader: &mut F32Reader<'_>, map: &mut TensorMap, name: &str, inp: usize, out: usize| -> Result<()> {
        for l in 0..n_layer {
            let dims = if out == 1 { vec![inp as u64] } else { vec![inp as u64, out as u64] };
            map.insert_f32(format!("blk.{l}.{name}.weight"), dims, &reader.take(inp * out, name)?);
        }
        Ok(())
    };
    map.insert_f32(
        "token_embd.weight",
        vec![dim as u64, n_vocab as u64],
        &reader.take(n_vocab * dim, "token embeddings")?,
    );
    stacked(&mut reader, &mut map, "attn_norm", dim, 1)?;
    stacked(&mut reader, &mut map, "attn_q", dim, dim)?;
    stacked(&mut reader, &mut map, "attn_k", dim, kv_dim)?;
    stacked(&mut reader, &mut map, "attn_v", dim, kv_dim)?;
    stacked(&mut reader, &mut map, "attn_output", dim, dim)?;
    stacked(&mut reader, &mut map, "ffn_norm", dim, 1)?;
    stacked(&mut reader, &mut map, "ffn_gate", dim, hidden)?;
    stacked(&mut reader, &mut map, "ffn_down", hidden, dim)?;
    stacked(&mut reader, &mut map, "ffn_up", dim, hidden)?;
    map.insert_f32("output_norm.weight", vec![dim as u64], &reader.take(dim, "final norm")?);
    // Precomputed RoPE tables of old exports: skipped, the engine computes its own.
    reader.take(seq_len * head_dim, "rope tables")?;
    if !shared {
        map.insert_f32("output.weight", vec![dim as u64, n_vocab as u64], &reader.take(n_vocab * dim, "classifier")?);
    }
    if reader.pos != bytes.len() {
        return Err(bad(format!("{} unexpected bytes after the weights", bytes.len() - reader.pos)));
    }
    Ok((config, map))
}

struct F32Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl F32Reader<'_> {
    fn take(&mut self, n: usize, what: &str) -> Result<Vec<f32>> {
        let end = n.checked_mul(4).and_then(|b| b.checked_add(self.pos)).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(EngineError::Llama2c(format!(
                "truncated checkpoint: {what} needs {n} floats at byte {}, the file has {} bytes",
                self.pos,
                self.bytes.len()
            )));
        };
        let out =
            self.bytes[self.pos..end].chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        self.pos = end;
        Ok(out)
    }
}
