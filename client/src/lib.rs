//! confide's browser side. The app (`main.rs`) and the frame-crypto worker
//! (`bin/worker.rs`) share this library; all protocol and crypto logic lives in
//! `confide-shared`, this crate only wires it to browser APIs.
//!
//! Only compiled for wasm32: natively the crate is empty.

#[cfg(target_arch = "wasm32")]
pub mod app;
#[cfg(all(target_arch = "wasm32", feature = "test-hooks"))]
mod page_marks;
#[cfg(target_arch = "wasm32")]
pub mod rtc;
#[cfg(target_arch = "wasm32")]
pub mod session;
#[cfg(target_arch = "wasm32")]
pub mod worker;

/// True in the guest's module (feature `guest-only`), which the page loads for
/// an invite link. The counsellor's entry points return early on it
/// (`session::counsellor::load` finds no sign-in, her actions and screens are
/// not handled), so the compiler leaves everything behind them out of the
/// module a guest downloads. Everything a guest sees runs the same code in
/// both modules.
pub const GUEST_MODULE: bool = cfg!(feature = "guest-only");

/// Talc instead of the standard library's dlmalloc, for both the app and the
/// worker: smaller code (docs/BENCHMARKS.md §5) and faster allocation. The
/// page is single-threaded (no `atomics`), which this allocator requires.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
