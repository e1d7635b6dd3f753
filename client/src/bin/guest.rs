//! The guest's module: the app built with the feature `guest-only`
//! (`GUEST_MODULE` in lib.rs), without the counsellor's screens. Built by
//! `cargo xtask build` next to the full app (`xtask/src/guest_module.rs`).

fn main() {
    #[cfg(target_arch = "wasm32")]
    confide_client::app::start();
}
