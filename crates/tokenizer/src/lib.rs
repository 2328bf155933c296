//! Tokenizers built from GGUF metadata (placeholder while the crate is written).
