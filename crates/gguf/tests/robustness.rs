//! Real GGUF fixtures parse; broken ones give specific errors and never panic.

use arbitre_gguf::{GgmlType, GgufError, GgufFile, GgufHeader, GgufWriter, Value};
use proptest::prelude::*;

fn fixtures() -> std::path::PathBuf {
    std::env::var_os("ARBITRE_FIXTURES")
        .map(Into::into)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures").into())
}

fn stories() -> Vec<u8> {
    std::fs::read(fixtures().join("stories260K/stories260K.gguf")).expect("stories260K fixture")
}

#[test]
fn every_fixture_gguf_parses() {
    let mut n = 0;
    for dir in ["stories260K", "babyllama", "vocab"] {
        for entry in std::fs::read_dir(fixtures().join(dir)).expect("fixture dir") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "gguf") {
                let f = GgufFile::from_path(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                assert!(f.metadata().str("general.architecture").is_ok(), "{}", path.display());
                n += 1;
            }
        }
    }
    assert_eq!(n, 14, "fixture GGUF count");
}

#[test]
fn stories_header_is_read_right() {
    let f = GgufFile::from_bytes(stories()).expect("parses");
    assert_eq!(f.metadata().str("general.architecture"), Ok("llama"));
    assert_eq!(f.metadata().u64("llama.embedding_length"), Ok(64));
    assert_eq!(f.metadata().u64("llama.block_count"), Ok(5));
    let (info, data) = f.tensor("token_embd.weight").expect("embedding");
    assert_eq!(info.dims, vec![64, 512]);
    assert_eq!(info.dtype, GgmlType::F32);
    assert_eq!(data.len(), 64 * 512 * 4);
    assert_eq!(f.header.expected_len(), f.bytes().len() as u64);
}

#[test]
fn quantized_fixtures_have_their_types() {
    for (file, ty) in [("babyllama-tok105-q8_0.gguf", GgmlType::Q8_0), ("babyllama-tok105-q4_0.gguf", GgmlType::Q4_0)] {
        let f = GgufFile::from_path(fixtures().join("babyllama").join(file)).expect("parses");
        let (info, _) = f.tensor("blk.0.attn_q.weight").expect("tensor");
        assert_eq!(info.dtype, ty, "{file}");
    }
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = stories();
    let header_len = GgufHeader::parse(&bytes).expect("parses").data_offset as usize;
    let mut cuts: Vec<usize> = (0..header_len.min(60_000)).collect();
    cuts.extend((header_len..bytes.len()).step_by(997));
    cuts.push(bytes.len() - 1);
    for cut in cuts {
        match GgufFile::from_bytes(bytes[..cut].to_vec()) {
            Err(GgufError::Truncated { .. } | GgufError::TensorOutOfRange { .. }) => {}
            Err(e) => panic!("cut at {cut}: unexpected error kind {e}"),
            Ok(_) => panic!("cut at {cut} of {} was accepted", bytes.len()),
        }
    }
}

#[test]
fn flipped_header_bytes_never_panic() {
    let bytes = stories();
    let header_len = GgufHeader::parse(&bytes).expect("parses").data_offset as usize;
    let mut errors = 0;
    for pos in 0..header_len {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut b = bytes.clone();
            b[pos] ^= mask;
            if GgufFile::from_bytes(b).is_err() {
                errors += 1;
            }
        }
    }
    // Many flips hit string contents or float values and stay valid; structure flips must not.
    assert!(errors > 1000, "only {errors} corrupted headers were refused");
}

#[test]
fn specific_errors() {
    let mut b = stories();
    b[0] = b'X';
    assert!(matches!(GgufFile::from_bytes(b), Err(GgufError::BadMagic { .. })));

    let mut b = stories();
    b[4] = 1;
    assert_eq!(GgufFile::from_bytes(b).err(), Some(GgufError::UnsupportedVersion(1)));

    let mut w = GgufWriter::new();
    w.meta("general.architecture", Value::String("llama".into()));
    w.tensor("t", &[256], GgmlType::Other(16), vec![0; 66]);
    assert!(matches!(
        GgufFile::from_bytes(w.to_bytes()),
        Err(GgufError::UnsupportedType { dtype: GgmlType::Other(16), .. })
    ));

    let mut w = GgufWriter::new();
    w.tensor("t", &[32], GgmlType::Other(0), vec![]);
    let mut bytes = w.to_bytes();
    // Patch the type id (right after name, rank and one dim) to an id ggml never used.
    let at = 4 + 4 + 8 + 8 + (8 + 1) + 4 + 8;
    bytes[at..at + 4].copy_from_slice(&1000u32.to_le_bytes());
    assert!(matches!(GgufFile::from_bytes(bytes), Err(GgufError::UnknownType { type_id: 1000, .. })));

    let mut w = GgufWriter::new();
    w.tensor("q", &[48], GgmlType::Q8_0, vec![0; 51]);
    assert!(matches!(GgufFile::from_bytes(w.to_bytes()), Err(GgufError::BadShape { .. })));

    let mut w = GgufWriter::new();
    w.meta("a", Value::U32(1)).meta("a", Value::U32(2));
    assert!(matches!(GgufFile::from_bytes(w.to_bytes()), Err(GgufError::Duplicate { .. })));

    let f = GgufFile::from_bytes(GgufWriter::new().to_bytes()).expect("empty file is valid");
    assert_eq!(
        f.metadata().str("general.architecture"),
        Err(GgufError::MissingMetadata { key: "general.architecture".into() })
    );
    assert!(matches!(f.metadata().u64("general.architecture"), Err(GgufError::MissingMetadata { .. })));
}

#[test]
fn huge_counts_are_refused_without_allocating() {
    let mut b = stories();
    b[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(GgufFile::from_bytes(b), Err(GgufError::TooLarge { .. })));
    let mut b = stories();
    b[16..24].copy_from_slice(&(1u64 << 40).to_le_bytes());
    assert!(matches!(GgufFile::from_bytes(b), Err(GgufError::Truncated { .. })));
}

#[test]
fn writer_round_trips() {
    let mut w = GgufWriter::new();
    w.meta("general.architecture", Value::String("llama".into()))
        .meta("x.list", Value::Array(vec![Value::String("a".into()), Value::String("bc".into())]))
        .meta("x.f", Value::F32(0.5))
        .tensor_f32("w", &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let f = GgufFile::from_bytes(w.to_bytes()).expect("parses");
    assert_eq!(f.metadata().string_array("x.list").expect("list"), vec!["a", "bc"]);
    assert_eq!(f.metadata().f64("x.f"), Ok(0.5));
    let (info, data) = f.tensor("w").expect("tensor");
    assert_eq!(info.shape(), vec![3, 2]);
    assert_eq!(&data[4..8], &2.0f32.to_le_bytes());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn arbitrary_bytes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut b = b"GGUF\x03\x00\x00\x00".to_vec();
        b.extend(tail);
        let _ = GgufFile::from_bytes(b);
    }

    #[test]
    fn mutated_fixture_prefix_never_panics(pos in 0usize..4000, val in any::<u8>(), cut in 0usize..6000) {
        let mut b = stories();
        b.truncate(cut.max(pos + 1));
        b[pos] = val;
        let _ = GgufFile::from_bytes(b);
    }
}
