//! confide's browser side. The app (`main.rs`) and the frame-crypto worker
//! (`bin/worker.rs`) share this library; all protocol and crypto logic lives in
//! `confide-shared`, this crate only wires it to browser APIs.
//!
//! Only compiled for wasm32: natively the crate is empty.

#[cfg(target_arch = "wasm32")]
pub mod app;
#[cfg(target_arch = "wasm32")]
pub mod rtc;
#[cfg(target_arch = "wasm32")]
pub mod session;
#[cfg(target_arch = "wasm32")]
pub mod worker;
