//! Every shader the crate compiles parses and validates with naga, for every value of its
//! `WTYPE` and `ACT` overrides where it has them, and every `.wgsl` file is part of some shader.

const WEIGHT_TYPE_IDS: [u32; 7] = [0, 1, 2, 8, 12, 13, 14];

fn validate(name: &str, src: &str) {
    let module = naga::front::wgsl::parse_str(src).unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(src)));
    let info = naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::empty())
        .validate(&module)
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    // Every value of each override the crate sets: weight types, the gated activation.
    for (key, ids) in [("WTYPE", &WEIGHT_TYPE_IDS[..]), ("ACT", &[0, 1][..])] {
        if !module.overrides.iter().any(|(_, o)| o.name.as_deref() == Some(key)) {
            continue;
        }
        for &id in ids {
            let constants = [(key.to_string(), f64::from(id))].into_iter().collect();
            let (resolved, _) = naga::back::pipeline_constants::process_overrides(&module, &info, None, &constants)
                .unwrap_or_else(|e| panic!("{name} with {key} = {id}: {e:?}"));
            naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::empty())
                .validate(&resolved)
                .unwrap_or_else(|e| panic!("{name} with {key} = {id}: {e:?}"));
        }
    }
}

#[test]
fn every_shader_validates() {
    for (name, src) in arbitre_kernels::SHADERS {
        validate(name, src);
    }
}

#[test]
fn every_wgsl_file_is_compiled() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/wgsl");
    for entry in std::fs::read_dir(dir).expect("wgsl dir") {
        let path = entry.expect("entry").path();
        let src = std::fs::read_to_string(&path).expect("read");
        assert!(
            arbitre_kernels::SHADERS.iter().any(|(_, s)| s.contains(src.as_str())),
            "{} is in no entry of SHADERS",
            path.display()
        );
    }
}
