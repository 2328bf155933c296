//! The crate on wasm32-unknown-unknown (Node via wasm-bindgen-test-runner): templates compile and
//! render, and `strftime_now` reads the JS clock instead of panicking like `std::time` would.
//! Run: `cargo test -p arbitre-chat --target wasm32-unknown-unknown --test wasm`.

#![cfg(target_arch = "wasm32")]

use arbitre_chat::{ChatError, ChatTemplate, FALLBACK_FAMILIES, Message, RenderOptions};
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
fn every_family_renders() {
    let opts = RenderOptions { add_generation_prompt: true, ..RenderOptions::default() };
    for family in FALLBACK_FAMILIES {
        let template = ChatTemplate::fallback(family).expect("compiles");
        let out = template.render(&[Message::user("Hello!")], &opts).expect("renders");
        assert!(out.contains("Hello!"), "{family}: {out:?}");
    }
}

#[wasm_bindgen_test]
fn strftime_now_uses_the_js_clock() {
    let template = ChatTemplate::new("date", "{{ strftime_now('%Y') }}").expect("compiles");
    let year: u32 = template.render(&[], &RenderOptions::default()).expect("renders").parse().expect("a year");
    assert!(year >= 2024, "{year}");
}

#[wasm_bindgen_test]
fn raise_exception_on_wasm() {
    let template = ChatTemplate::fallback("gemma").expect("compiles");
    let err = template.render(&[Message::system("s")], &RenderOptions::default()).expect_err("raises");
    assert!(matches!(err, ChatError::Render { message, .. } if message == "System role not supported"));
}
