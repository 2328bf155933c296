//! Streamed loads ([`StreamingLoader`]): a file pushed in chunks of any size, down to one byte,
//! gives the same model as the whole file; a stream that stops early or carries a corrupt
//! header gives an error that says so, never a panic. On the CPU backend here (the default,
//! gathering path of `Backend::begin_matrix`); `tests/webgpu.rs` streams into GPU buffers.

mod common;

use arbitre_engine::{CpuBackend, Engine, StreamingLoader};
use arbitre_gguf::GgufHeader;
use common::*;

/// Pushes `bytes` in chunks: one byte at a time for the first `ones` bytes, then sizes cycling
/// through `sizes`.
fn stream<B: arbitre_engine::Backend + 'static>(
    backend: B,
    bytes: &[u8],
    ones: usize,
    sizes: &[usize],
) -> arbitre_engine::Result<Engine<B>> {
    let mut loader = StreamingLoader::new(backend);
    let (head, mut rest) = bytes.split_at(ones.min(bytes.len()));
    for b in head {
        loader.push(std::slice::from_ref(b))?;
    }
    for &size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        loader.push(chunk)?;
        rest = tail;
    }
    assert_eq!(loader.received(), bytes.len() as u64);
    loader.finish()
}

const ODD: &[usize] = &[7, 4093, 1, 65_536, 3, 100_003];

#[test]
fn stories260k_streamed_byte_by_byte_then_in_odd_chunks_matches_the_reference() {
    let bytes = read("stories260K/stories260K.gguf");
    let expected = String::from_utf8(read("stories260K/expected_t0_n200.txt")).expect("utf8");
    let header_len = GgufHeader::parse(&bytes).expect("header").data_offset as usize;
    // The whole header one byte at a time, then the tensors in odd pieces.
    let engine = stream(CpuBackend, &bytes, header_len + 1000, ODD).expect("streamed load");
    let (text, ids, _) = run(&engine, "", greedy(200));
    assert_eq!(ids.len(), 200);
    assert_eq!(text, expected);
    let whole = gguf("stories260K/stories260K.gguf");
    assert_eq!(engine.model.config, whole.model.config);
    assert_eq!(engine.tokenizer.vocab_size(), whole.tokenizer.vocab_size());
}

#[test]
fn fused_and_biased_families_stream_to_the_same_greedy_ids() {
    // phi3 fuses q/k/v and gate/up (split by rows on the way in), qwen2 has q/k/v biases.
    for name in ["phi3-q4_0", "qwen2-q4_0", "llama-q4_k"] {
        let (_, bytes) = synth_reference(name);
        let whole = Engine::from_gguf_bytes(CpuBackend, bytes.clone()).expect("whole load");
        let streamed = stream(CpuBackend, &bytes, 0, &[4096, 1, 333]).unwrap_or_else(|e| panic!("{name}: {e}"));
        let prompt = whole.encode_prompt("Hello world, once upon a time").expect("encode");
        let ids = |e: &Engine<CpuBackend>| {
            let mut g = e.generate_ids(prompt.clone(), greedy(24)).expect("generator");
            g.run_to_end().expect("run");
            g.generated().to_vec()
        };
        assert_eq!(ids(&streamed), ids(&whole), "{name}");
    }
}

#[test]
fn a_stream_that_stops_early_says_the_file_is_truncated() {
    let bytes = read("stories260K/stories260K.gguf");
    let header_len = GgufHeader::parse(&bytes).expect("header").data_offset as usize;
    let mut cuts: Vec<usize> = (0..bytes.len()).step_by(9_973).collect();
    cuts.extend([1, 4, 23, header_len - 1, header_len, header_len + 1, bytes.len() - 1]);
    for cut in cuts {
        let e = match stream(CpuBackend, &bytes[..cut], 0, &[8192]) {
            Ok(_) => panic!("a stream cut at byte {cut} of {} loaded", bytes.len()),
            Err(e) => e.to_string(),
        };
        assert!(e.contains("truncated"), "cut at {cut}: {e}");
    }
}

#[test]
fn a_corrupt_header_is_refused_as_soon_as_it_shows() {
    let mut loader = StreamingLoader::new(CpuBackend);
    let e = loader.push(b"GGML\x03\x00\x00\x00").expect_err("bad magic").to_string();
    assert!(e.contains("not a GGUF file"), "{e}");
    assert!(loader.push(b"more").is_err(), "a failed loader takes no more bytes");

    // A metadata count that would need terabytes: refused without gathering the stream.
    let mut loader = StreamingLoader::new(CpuBackend);
    let mut head = b"GGUF".to_vec();
    head.extend(3u32.to_le_bytes());
    head.extend(1u64.to_le_bytes());
    head.extend((1u64 << 40).to_le_bytes());
    head.extend([0u8; 64]);
    let e = loader.push(&head).expect_err("huge count").to_string();
    assert!(e.contains("corrupt") || e.contains("too large"), "{e}");

    // A vocabulary file has a header but no model: the architecture's tensors are missing.
    let vocab = read("vocab/ggml-vocab-llama-spm.gguf");
    let e = stream(CpuBackend, &vocab, 0, &[65_536]).err().expect("no weights").to_string();
    assert!(e.contains("token_embd.weight") || e.contains("missing"), "{e}");
}
