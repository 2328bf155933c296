//! The inference worker's entry point (wasm32 only; natively this binary does nothing).

fn main() {
    #[cfg(target_arch = "wasm32")]
    arbitre_app::worker::start();
}
