//! The confide app, started by Trunk's loader in `index.html`.

fn main() {
    #[cfg(target_arch = "wasm32")]
    confide_client::app::start();
}
