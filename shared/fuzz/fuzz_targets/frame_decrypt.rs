//! Frame decryption must never panic, must never accept a frame that was not
//! produced by the key holder, and must round-trip every frame it encrypts.
//!
//! Input: byte 0 picks codec and suite, the rest is used three ways:
//! as a protected frame (must fail), as a plaintext frame (must round-trip),
//! and as an XOR mask over a genuine protected frame (any change must fail).

#![no_main]

use confide_shared::sframe::{CipherSuite, Codec, ReceiveStream, ReceiverKeyStore, SenderKey};
use libfuzzer_sys::fuzz_target;

const KID: u64 = 9;
const BASE_KEY: [u8; 32] = [0x42; 32];

fn receiver(suite: CipherSuite) -> ReceiverKeyStore {
    let mut keys = ReceiverKeyStore::new(suite);
    keys.install(0, &[0x24; 32]).expect("fresh store");
    keys.install(KID, &BASE_KEY).expect("fresh store");
    keys
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    let codec = match selector % 3 {
        0 => Codec::Vp8,
        1 => Codec::Vp9,
        _ => Codec::Opus,
    };
    let suite = if selector & 0x80 == 0 {
        CipherSuite::ChaCha20Poly1305Sha256Tag128
    } else {
        CipherSuite::Aes128GcmSha256Tag128
    };
    let now_ms = u64::from(selector) * 1000;

    // 1. Arbitrary bytes as a protected frame: an error, never a panic.
    let mut keys = receiver(suite);
    let mut stream = ReceiveStream::new();
    assert!(
        stream.decrypt_frame(&mut keys, codec, input, now_ms).is_err(),
        "accepted a forged frame"
    );

    // 2. The same bytes as a plaintext frame round-trip, exactly once.
    let mut sender = SenderKey::new(suite, KID, &BASE_KEY);
    if let Ok(protected) = sender.encrypt_frame(codec, input) {
        let plain = stream
            .decrypt_frame(&mut keys, codec, &protected, now_ms)
            .expect("own frame must decrypt");
        assert_eq!(plain, input);
        assert!(stream.decrypt_frame(&mut keys, codec, &protected, now_ms).is_err());
    }

    // 3. The bytes as an XOR mask over a genuine frame: any change fails.
    let genuine_plain: Vec<u8> = [0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01]
        .into_iter()
        .chain(0u8..40)
        .collect();
    let genuine = sender
        .encrypt_frame(codec, &genuine_plain)
        .expect("valid frame for every codec");
    let mut tampered = genuine.clone();
    for (byte, mask) in tampered.iter_mut().zip(input.iter()) {
        *byte ^= mask;
    }
    let mut fresh_stream = ReceiveStream::new();
    let result = fresh_stream.decrypt_frame(&mut keys, codec, &tampered, now_ms);
    if tampered == genuine {
        assert_eq!(result.expect("untouched frame"), genuine_plain);
    } else {
        assert!(result.is_err(), "accepted a tampered frame");
    }
});
