//! The public API on real tokenizers: llama2.c files, streaming, special tokens, errors.

mod common;

use std::sync::OnceLock;

use arbitre_gguf::{Metadata, Value};
use arbitre_tokenizer::{StreamDecoder, Tokenizer, TokenizerError};
use common::{fixtures_dir, load_gguf};

fn llama_spm() -> &'static Tokenizer {
    static T: OnceLock<Tokenizer> = OnceLock::new();
    T.get_or_init(|| load_gguf("vocab/ggml-vocab-llama-spm.gguf"))
}

fn gpt2() -> &'static Tokenizer {
    static T: OnceLock<Tokenizer> = OnceLock::new();
    T.get_or_init(|| load_gguf("vocab/ggml-vocab-gpt-2.gguf"))
}

fn phi3() -> &'static Tokenizer {
    static T: OnceLock<Tokenizer> = OnceLock::new();
    T.get_or_init(|| load_gguf("vocab/ggml-vocab-phi-3.gguf"))
}

#[test]
fn llama2c_tokenizer_matches_the_gguf_one() {
    let bytes = std::fs::read(fixtures_dir().join("stories260K/tok512.bin")).unwrap_or_else(|e| panic!("{e}"));
    let from_bin = Tokenizer::from_llama2c(&bytes, 512).unwrap_or_else(|e| panic!("{e}"));
    let from_gguf = load_gguf("stories260K/stories260K.gguf");

    assert_eq!(from_bin.vocab_size(), 512);
    assert_eq!(from_gguf.vocab_size(), 512);
    for id in 0..512 {
        assert_eq!(from_bin.token_bytes(id), from_gguf.token_bytes(id), "token {id}");
        assert_eq!(from_bin.id_to_token(id), from_gguf.id_to_token(id), "token {id}");
        assert_eq!(from_bin.is_control(id), from_gguf.is_control(id), "token {id}");
    }
    assert_eq!(from_bin.token_bytes(512), None);
    for text in ["Once upon a time", "Once upon a time, there was a little girl named Lily.\nShe liked 🦙 and ½.", ""]
    {
        for bos in [false, true] {
            let a = from_bin.encode(text, bos, false).unwrap_or_else(|e| panic!("{e}"));
            let b = from_gguf.encode(text, bos, false).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(a, b, "{text:?}");
            assert_eq!(from_bin.decode(&a, false), from_gguf.decode(&b, false));
        }
    }
    let ids = from_bin.encode("Once upon a time", true, false).unwrap_or_default();
    assert_eq!(ids.first(), Some(&1));
    assert_eq!(from_bin.decode(&ids, true), " Once upon a time");
    assert_eq!((from_bin.bos(), from_bin.eos()), (Some(1), Some(2)));
    assert_eq!(from_bin.eog_tokens(), &[2]);
    assert!(from_bin.add_bos_default() && from_bin.add_space_prefix());
    assert_eq!(from_bin.model_kind(), "llama");

    assert!(matches!(Tokenizer::from_llama2c(&bytes[..100], 512), Err(TokenizerError::InvalidLlama2c(_))));
    assert!(matches!(Tokenizer::from_llama2c(&[], 512), Err(TokenizerError::InvalidLlama2c(_))));
}

#[test]
fn stream_decoder_waits_for_complete_characters() {
    let tok = llama_spm();
    // U+1F999 is not a token: it is spelled as four byte tokens.
    let ids = tok.encode("a🦙b", true, false).unwrap_or_default();
    let pieces: Vec<String> = {
        let mut d = StreamDecoder::new(true);
        let mut v: Vec<String> = ids.iter().map(|&id| d.push(tok, id)).collect();
        v.push(d.finish(tok));
        v
    };
    assert_eq!(pieces.concat(), "a🦙b");
    assert!(pieces.iter().all(|p| !p.contains('\u{FFFD}')), "{pieces:?}");
    assert!(pieces.iter().filter(|p| p.is_empty()).count() >= 4, "BOS and three partial bytes: {pieces:?}");
    assert!(pieces.iter().any(|p| p == "🦙"), "{pieces:?}");

    // Without stripping, the SentencePiece space prefix shows.
    let mut d = StreamDecoder::new(false);
    let text: String = ids.iter().map(|&id| d.push(tok, id)).collect::<String>() + &d.finish(tok);
    assert_eq!(text, " a🦙b");

    // An unfinished sequence is flushed lossily; control tokens give nothing.
    let mut d = StreamDecoder::new(false);
    let f0 = tok.token_to_id("<0xF0>").unwrap_or_else(|| panic!("no <0xF0>"));
    assert_eq!(d.push(tok, 1), "");
    assert_eq!(d.push(tok, 2), "");
    assert_eq!(d.push(tok, f0), "");
    assert_eq!(d.push(tok, u32::MAX), "");
    assert_eq!(d.finish(tok), "\u{FFFD}");
    // An invalid byte in the middle does not hold back what follows.
    let x = tok.token_to_id("x").unwrap_or_else(|| panic!("no x"));
    assert_eq!(d.push(tok, f0), "");
    assert_eq!(d.push(tok, x), "\u{FFFD}x");
}

#[test]
fn byte_level_stream_matches_decode() {
    let tok = gpt2();
    let text = "Grüße, 世界! 🦙🦙 naïve café";
    let ids = tok.encode(text, false, false).unwrap_or_default();
    let mut d = StreamDecoder::new(false);
    let mut out = String::new();
    for &id in &ids {
        let piece = d.push(tok, id);
        assert!(!piece.contains('\u{FFFD}'));
        out.push_str(&piece);
    }
    out.push_str(&d.finish(tok));
    assert_eq!(out, text);
    assert_eq!(tok.decode(&ids, true), text);
}

#[test]
fn special_tokens() {
    let tok = phi3();
    let user = tok.token_to_id("<|user|>").unwrap_or_else(|| panic!("no <|user|>"));
    let end = tok.token_to_id("<|end|>").unwrap_or_else(|| panic!("no <|end|>"));
    assert!(tok.is_control(user));
    assert!(tok.eog_tokens().contains(&end));
    assert!(tok.eog_tokens().contains(&32000), "eos <|endoftext|>");
    assert!(!tok.eog_tokens().contains(&user));

    // parse_special splits control tokens out; phi-3's get rstrip (llama.cpp's per-model
    // fix-up) and the text after a special token gets the space prefix again.
    let ids = tok.encode("<|user|>\nHi there<|end|>", false, true).unwrap_or_default();
    let hi = tok.encode("Hi there", false, false).unwrap_or_default();
    assert_eq!(ids, [vec![user], hi, vec![end]].concat());
    // without parse_special they are plain text
    let plain = tok.encode("<|user|>", false, false).unwrap_or_default();
    assert!(!plain.contains(&user) && plain.len() > 1);

    assert_eq!(tok.decode(&ids, false), "<|user|> Hi there<|end|>");
    assert_eq!(tok.decode(&ids, true), " Hi there");

    let spm = llama_spm();
    let ids = spm.encode("Hello", true, false).unwrap_or_default();
    assert_eq!(ids, [1, 15043]);
    assert_eq!(spm.decode(&ids, false), "<s> Hello");
    assert_eq!(spm.decode(&ids[1..], false), "Hello");
    assert_eq!(spm.token_bytes(13), Some(b"\n".to_vec()), "<0x0A>");
    assert_eq!(spm.token_bytes(15043), Some(b" Hello".to_vec()));
    assert_eq!(spm.token_bytes(1), Some(b"<s>".to_vec()));
    assert_eq!(spm.id_to_token(15043), Some("\u{2581}Hello"));
    assert_eq!(spm.token_to_id("\u{2581}Hello"), Some(15043));
    assert_eq!(spm.pre(), Some("default"));

    let g = gpt2();
    assert_eq!(g.model_kind(), "gpt2");
    assert_eq!(g.pre(), Some("gpt-2"));
    assert!(!g.add_bos_default() && !g.add_space_prefix());
    assert_eq!(g.token_bytes(g.token_to_id("\u{120}Hello").unwrap_or(0)), Some(b" Hello".to_vec()));
    let eot = g.encode("a<|endoftext|>b", false, true).unwrap_or_default();
    assert!(eot.contains(&50256));
    assert_eq!(g.decode(&eot, true), "ab");
    assert_eq!(g.decode(&eot, false), "a<|endoftext|>b");
}

fn minimal_metadata(model: &str) -> Metadata {
    let mut md = Metadata::default();
    md.insert("tokenizer.ggml.model", Value::String(model.into()));
    let toks = ["<unk>", "<s>", "</s>", "a", "b", "ab", "\u{2581}"];
    md.insert("tokenizer.ggml.tokens", Value::Array(toks.iter().map(|t| Value::String((*t).into())).collect()));
    md
}

#[test]
fn errors_name_what_is_wrong() {
    let mut md = minimal_metadata("llama");
    assert!(Tokenizer::from_metadata(&md).is_ok());

    let mut no_tokens = Metadata::default();
    no_tokens.insert("tokenizer.ggml.model", Value::String("llama".into()));
    match Tokenizer::from_metadata(&no_tokens) {
        Err(TokenizerError::MissingMetadata { key }) => assert_eq!(key, "tokenizer.ggml.tokens"),
        other => panic!("{other:?}"),
    }
    match Tokenizer::from_metadata(&Metadata::default()) {
        Err(TokenizerError::MissingMetadata { key }) => assert_eq!(key, "tokenizer.ggml.model"),
        other => panic!("{other:?}"),
    }
    match Tokenizer::from_metadata(&minimal_metadata("rwkv")) {
        Err(TokenizerError::UnsupportedModel(m)) => assert_eq!(m, "rwkv"),
        other => panic!("{other:?}"),
    }
    let mut bpe = minimal_metadata("gpt2");
    bpe.insert("tokenizer.ggml.merges", Value::Array(vec![Value::String("a b".into())]));
    bpe.insert("tokenizer.ggml.pre", Value::String("no-such-pre".into()));
    match Tokenizer::from_metadata(&bpe) {
        Err(TokenizerError::UnsupportedPre(p)) => assert_eq!(p, "no-such-pre"),
        other => panic!("{other:?}"),
    }
    bpe.insert("tokenizer.ggml.pre", Value::String("gpt-2".into()));
    let t = Tokenizer::from_metadata(&bpe).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.encode("ab", false, false).unwrap_or_default(), [5]);

    md.insert("tokenizer.ggml.tokens", Value::String("oops".into()));
    assert!(matches!(Tokenizer::from_metadata(&md), Err(TokenizerError::InvalidMetadata { .. })));
    let mut dup = minimal_metadata("llama");
    dup.insert("tokenizer.ggml.tokens", Value::Array(vec![Value::String("a".into()), Value::String("a".into())]));
    assert!(matches!(Tokenizer::from_metadata(&dup), Err(TokenizerError::DuplicateToken { first: 0, second: 1, .. })));
    let mut short_scores = minimal_metadata("llama");
    short_scores.insert("tokenizer.ggml.scores", Value::Array(vec![Value::F32(0.0)]));
    assert!(matches!(Tokenizer::from_metadata(&short_scores), Err(TokenizerError::InvalidMetadata { .. })));

    // GPT-2 style vocab without a BOS: asking for one is an error, not a panic.
    let mut tiny = minimal_metadata("gpt2");
    tiny.insert("tokenizer.ggml.merges", Value::Array(vec![]));
    let t = Tokenizer::from_metadata(&tiny).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.bos(), None, "default BOS 11 is out of range");
    assert!(matches!(t.encode("a", true, false), Err(TokenizerError::MissingSpecialToken(_))));
}

#[test]
fn encoding_kilobytes_is_fast() {
    let tok = load_gguf("vocab/ggml-vocab-deepseek-llm.gguf");
    let text = "The quick brown fox jumps over the lazy dog; 1234567 numbers, ÜML, 中文字符 and emoji 🦙.\n".repeat(80);
    let t0 = std::time::Instant::now();
    let ids = tok.encode(&text, true, false).unwrap_or_default();
    let dt = t0.elapsed();
    println!("deepseek-llm: {} bytes -> {} tokens in {dt:?}", text.len(), ids.len());
    assert!(dt.as_secs_f64() < 2.0, "{dt:?}");
    assert_eq!(tok.decode(&ids, true), text);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Any string encodes without panicking, and byte-level BPE decodes it back exactly.
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,40}|[ \\t\\n a-z<>|/s]{0,40}", parse_special: bool) {
        let g = gpt2();
        let ids = g.encode(&text, false, parse_special).unwrap_or_else(|e| panic!("{e}"));
        proptest::prop_assert_eq!(g.decode(&ids, false), text.clone());
        for tok in [llama_spm(), phi3()] {
            let ids = tok.encode(&text, true, parse_special).unwrap_or_else(|e| panic!("{e}"));
            let _ = tok.decode(&ids, true);
            if !parse_special && !text.contains('\u{2581}') {
                proptest::prop_assert_eq!(tok.decode(&ids[1..], false), text.clone());
            }
        }
    }
}
