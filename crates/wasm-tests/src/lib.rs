//! wasm32 golden tests (see tests/).
