//! The page's UI entry point (wasm32 only; natively this binary does nothing).

fn main() {
    #[cfg(target_arch = "wasm32")]
    arbitre_app::ui::start();
}
