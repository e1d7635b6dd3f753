//! Native cost of confide's per-frame and per-message crypto.
//!
//! `cargo bench -p confide-shared --bench sframe` (or `cargo xtask bench
//! crypto`, which also prints the ChaCha/AES ratios). Results:
//! `docs/BENCHMARKS.md`.
//!
//! - `sframe_encrypt/<size>` and `sframe_decrypt/<size>`: one encoded frame
//!   through [`SenderKey::encrypt_frame`] / [`ReceiveStream::decrypt_frame`]
//!   (header, key lookup, replay window, AEAD and the output allocation),
//!   with both suites side by side in one group so that their ratio is
//!   measured under the same machine load.
//! - `handshake/full`: the four-message handshake, both sides.
//! - `envelope/seal_1k`, `envelope/open_1k`: one 1 KB signal.

use std::hint::black_box;
use std::time::Duration;

use confide_shared::handshake::{Initiator, Responder, SessionKeypair};
use confide_shared::link::{Psk, RoomId};
use confide_shared::sframe::{CipherSuite, Codec, ReceiveStream, ReceiverKeyStore, SenderKey};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// Frame sizes: Opus audio, small and typical VP8 delta frames, VP8 key frame.
const FRAMES: [(&str, usize, Codec, bool); 4] = [
    ("120B_opus", 120, Codec::Opus, false),
    ("1200B_vp8_delta", 1200, Codec::Vp8, false),
    ("5000B_vp8_delta", 5000, Codec::Vp8, false),
    ("50000B_vp8_key", 50_000, Codec::Vp8, true),
];

const SUITES: [(&str, CipherSuite); 2] = [
    (
        "chacha20poly1305",
        CipherSuite::ChaCha20Poly1305Sha256Tag128,
    ),
    ("aes128gcm", CipherSuite::Aes128GcmSha256Tag128),
];

const BASE_KEY: [u8; 32] = [0x42; 32];
const KID: u64 = 3;

/// A plausible encoded frame: VP8 frame tag with the key frame bit as asked.
fn frame(len: usize, key_frame: bool) -> Vec<u8> {
    let mut frame: Vec<u8> = (0..len).map(|i| (i * 31 + 7) as u8).collect();
    if let Some(tag) = frame.first_mut() {
        // VP8: P bit (bit 0) is 0 on key frames, 1 on delta frames.
        *tag = if key_frame { 0x10 } else { 0x11 };
    }
    frame
}

fn sframe_encrypt(c: &mut Criterion) {
    for (name, len, codec, key_frame) in FRAMES {
        let mut group = c.benchmark_group(format!("sframe_encrypt/{name}"));
        group.throughput(Throughput::Bytes(len as u64));
        let plain = frame(len, key_frame);
        for (suite_name, suite) in SUITES {
            let mut sender = SenderKey::new(suite, KID, &BASE_KEY);
            group.bench_function(BenchmarkId::from_parameter(suite_name), |b| {
                b.iter(|| {
                    sender
                        .encrypt_frame(codec, black_box(&plain))
                        .unwrap_or_else(|e| panic!("encrypt: {e}"))
                });
            });
        }
        group.finish();
    }
}

fn sframe_decrypt(c: &mut Criterion) {
    for (name, len, codec, key_frame) in FRAMES {
        let mut group = c.benchmark_group(format!("sframe_decrypt/{name}"));
        group.throughput(Throughput::Bytes(len as u64));
        let plain = frame(len, key_frame);
        for (suite_name, suite) in SUITES {
            let mut sender = SenderKey::new(suite, KID, &BASE_KEY);
            let mut keys = ReceiverKeyStore::new(suite);
            keys.install(KID, &BASE_KEY)
                .unwrap_or_else(|e| panic!("install: {e}"));
            let mut stream = ReceiveStream::new();
            // Every iteration decrypts a fresh frame (a new counter): the
            // replay window refuses a frame it has seen.
            let mut setup = || {
                sender
                    .encrypt_frame(codec, &plain)
                    .unwrap_or_else(|e| panic!("encrypt: {e}"))
            };
            let check = stream
                .decrypt_frame(&mut keys, codec, &setup(), 0)
                .unwrap_or_else(|e| panic!("decrypt: {e}"));
            assert_eq!(check, plain);
            group.bench_function(BenchmarkId::from_parameter(suite_name), |b| {
                b.iter_batched(
                    &mut setup,
                    |protected| {
                        stream
                            .decrypt_frame(&mut keys, codec, black_box(&protected), 0)
                            .unwrap_or_else(|e| panic!("decrypt: {e}"))
                    },
                    BatchSize::SmallInput,
                );
            });
        }
        group.finish();
    }
}

fn handshake(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::from_seed([7; 32]);
    let psk = Psk::from_bytes([9; 32]);
    let room = RoomId::from_bytes([5; 16]);
    let guest = SessionKeypair::generate(&mut rng);
    let host = SessionKeypair::generate(&mut rng);
    let mut group = c.benchmark_group("handshake");
    group.bench_function("full", |b| {
        b.iter(|| {
            let (initiator, m1) = Initiator::start(&mut rng, &guest, &psk, &room);
            let (responder, m2) = Responder::accept(&mut rng, &host, &psk, &room, &m1)
                .unwrap_or_else(|e| panic!("accept: {e}"));
            let (initiator, m3) = initiator
                .on_reveal(&mut rng, &m2)
                .unwrap_or_else(|e| panic!("m2: {e}"));
            let (host_session, m4) = responder
                .on_reveal(&mut rng, &m3)
                .unwrap_or_else(|e| panic!("m3: {e}"));
            let guest_session = initiator
                .on_confirm(&m4)
                .unwrap_or_else(|e| panic!("m4: {e}"));
            (host_session, guest_session)
        });
    });
    group.bench_function("keypair_generate", |b| {
        b.iter(|| SessionKeypair::generate(&mut rng));
    });
    group.finish();
}

fn envelope(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::from_seed([8; 32]);
    let psk = Psk::from_bytes([9; 32]);
    let room = RoomId::from_bytes([5; 16]);
    let guest = SessionKeypair::generate(&mut rng);
    let host = SessionKeypair::generate(&mut rng);
    let (initiator, m1) = Initiator::start(&mut rng, &guest, &psk, &room);
    let established = Responder::accept(&mut rng, &host, &psk, &room, &m1)
        .and_then(|(responder, m2)| {
            let (initiator, m3) = initiator.on_reveal(&mut rng, &m2)?;
            let (host_session, m4) = responder.on_reveal(&mut rng, &m3)?;
            Ok((initiator.on_confirm(&m4)?, host_session))
        })
        .unwrap_or_else(|e| panic!("handshake: {e}"));
    let (guest_session, host_session) = established;
    let mut sender = guest_session.into_channel();
    let mut receiver = host_session.into_channel();
    let signal = vec![0x5a_u8; 1024];

    let mut group = c.benchmark_group("envelope");
    group.throughput(Throughput::Bytes(signal.len() as u64));
    group.bench_function("seal_1k", |b| {
        b.iter(|| {
            sender
                .seal(black_box(&signal))
                .unwrap_or_else(|e| panic!("seal: {e}"))
        });
    });
    group.bench_function("open_1k", |b| {
        b.iter_batched(
            || sender.seal(&signal).unwrap_or_else(|e| panic!("seal: {e}")),
            |sealed| {
                receiver
                    .open(black_box(&sealed))
                    .unwrap_or_else(|e| panic!("open: {e}"))
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

fn config() -> Criterion {
    // Short runs: 2 noisy cores. Medians and intervals are what we report.
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = sframe_encrypt, sframe_decrypt, handshake, envelope
}
criterion_main!(benches);
