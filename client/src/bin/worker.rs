//! The frame-crypto worker: encrypts and decrypts every audio and video frame
//! off the main thread. Loaded by Trunk's worker loader shim.

fn main() {
    #[cfg(target_arch = "wasm32")]
    confide_client::worker::start();
}
