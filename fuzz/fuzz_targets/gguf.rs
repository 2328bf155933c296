//! Fuzz target: any bytes through the GGUF reader must give Ok or Err, never a panic, an
//! abort or an allocation sized by untrusted counts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(file) = arbitre_gguf::GgufFile::from_bytes(data.to_vec()) {
        for t in file.tensors() {
            let (info, bytes) = file.tensor(&t.name).expect("indexed tensors are readable");
            assert_eq!(bytes.len() as u64, info.n_bytes);
        }
        let md = file.metadata();
        let _ = md.str("general.architecture");
        let _ = md.string_array("tokenizer.ggml.tokens");
    }
});
