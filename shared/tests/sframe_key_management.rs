//! Key lifetime, overlap, replay windows per stream, and typed errors.

// Helpers outside #[test] fns unwrap too; a panic is a test failure.
#![allow(clippy::unwrap_used)]

use confide_shared::sframe::{
    CipherSuite, Codec, KEY_OVERLAP_MS, MAX_KEYS_PER_SENDER, REPLAY_WINDOW, ReceiveStream,
    ReceiverKeyStore, SenderKey, SframeError, TAG_LEN,
};

const SUITE: CipherSuite = CipherSuite::ChaCha20Poly1305Sha256Tag128;
const OPUS_FRAME: &[u8] = &[0xfc, 1, 2, 3, 4, 5];
const VP8_DELTA: &[u8] = &[0x31, 0x01, 0x00, 9, 9, 9, 9];

fn key(seed: u8) -> [u8; 32] {
    [seed; 32]
}

#[test]
fn unknown_kid_is_reported() {
    let mut sender = SenderKey::new(SUITE, 42, &key(1));
    let mut keys = ReceiverKeyStore::new(SUITE);
    keys.install(41, &key(1)).unwrap();
    let protected = sender.encrypt_frame(Codec::Opus, OPUS_FRAME).unwrap();
    let mut stream = ReceiveStream::new();
    assert_eq!(
        stream.decrypt_frame(&mut keys, Codec::Opus, &protected, 0),
        Err(SframeError::UnknownKey { kid: 42 })
    );
    keys.install(42, &key(1)).unwrap();
    assert_eq!(
        stream.decrypt_frame(&mut keys, Codec::Opus, &protected, 0),
        Ok(OPUS_FRAME.to_vec())
    );
}

#[test]
fn old_key_works_during_overlap_then_expires() {
    let mut old_sender = SenderKey::new(SUITE, 1, &key(1));
    let mut new_sender = SenderKey::new(SUITE, 2, &key(2));
    let mut keys = ReceiverKeyStore::new(SUITE);
    keys.install(1, &key(1)).unwrap();
    let mut stream = ReceiveStream::new();

    let decrypt = |stream: &mut ReceiveStream, keys: &mut ReceiverKeyStore, frame: &[u8], now| {
        stream.decrypt_frame(keys, Codec::Opus, frame, now)
    };

    assert!(
        decrypt(
            &mut stream,
            &mut keys,
            &old_sender.encrypt_frame(Codec::Opus, OPUS_FRAME).unwrap(),
            0
        )
        .is_ok()
    );

    // Installing the new key alone does not start the clock, however long
    // the sender takes to switch.
    keys.install(2, &key(2)).unwrap();
    assert!(
        decrypt(
            &mut stream,
            &mut keys,
            &old_sender.encrypt_frame(Codec::Opus, OPUS_FRAME).unwrap(),
            60_000
        )
        .is_ok()
    );

    // First frame under the new key at t = 100 s: old key lives until 102 s.
    let t_switch = 100_000;
    assert!(
        decrypt(
            &mut stream,
            &mut keys,
            &new_sender.encrypt_frame(Codec::Opus, OPUS_FRAME).unwrap(),
            t_switch
        )
        .is_ok()
    );
    let in_flight: Vec<Vec<u8>> = (0..3)
        .map(|_| old_sender.encrypt_frame(Codec::Opus, OPUS_FRAME).unwrap())
        .collect();
    assert!(decrypt(&mut stream, &mut keys, &in_flight[0], t_switch + 1).is_ok());
    assert!(
        decrypt(
            &mut stream,
            &mut keys,
            &in_flight[1],
            t_switch + KEY_OVERLAP_MS - 1
        )
        .is_ok()
    );
    assert_eq!(
        decrypt(
            &mut stream,
            &mut keys,
            &in_flight[2],
            t_switch + KEY_OVERLAP_MS
        ),
        Err(SframeError::UnknownKey { kid: 1 })
    );
    assert_eq!(keys.kids(), vec![2]);
    // The new key keeps working.
    assert!(
        decrypt(
            &mut stream,
            &mut keys,
            &new_sender.encrypt_frame(Codec::Opus, OPUS_FRAME).unwrap(),
            t_switch + 10 * KEY_OVERLAP_MS
        )
        .is_ok()
    );
}

#[test]
fn expire_can_be_driven_by_the_caller_and_tolerates_clock_going_back() {
    let mut new_sender = SenderKey::new(SUITE, 2, &key(2));
    let mut keys = ReceiverKeyStore::new(SUITE);
    keys.install(1, &key(1)).unwrap();
    keys.install(2, &key(2)).unwrap();
    let mut stream = ReceiveStream::new();
    let frame = new_sender.encrypt_frame(Codec::Opus, OPUS_FRAME).unwrap();
    stream
        .decrypt_frame(&mut keys, Codec::Opus, &frame, 5_000)
        .unwrap();
    keys.expire(0); // clock went backwards: nothing expires, nothing panics
    assert_eq!(keys.kids(), vec![1, 2]);
    keys.expire(5_000 + KEY_OVERLAP_MS);
    assert_eq!(keys.kids(), vec![2]);
}

#[test]
fn install_is_idempotent_and_refuses_conflicts() {
    let mut keys = ReceiverKeyStore::new(SUITE);
    keys.install(7, &key(1)).unwrap();
    keys.install(7, &key(1)).unwrap();
    assert_eq!(
        keys.install(7, &key(2)),
        Err(SframeError::KidConflict { kid: 7 })
    );
    assert_eq!(keys.kids(), vec![7]);
    keys.remove(7);
    assert!(!keys.contains(7));
}

#[test]
fn store_keeps_at_most_max_keys_evicting_oldest() {
    let mut keys = ReceiverKeyStore::new(SUITE);
    let total = MAX_KEYS_PER_SENDER as u64 + 3;
    for kid in 0..total {
        keys.install(kid, &key(kid as u8)).unwrap();
    }
    assert_eq!(keys.kids(), (3..total).collect::<Vec<_>>());
}

#[test]
fn streams_share_keys_but_have_their_own_windows() {
    let mut sender = SenderKey::new(SUITE, 9, &key(3));
    let mut keys = ReceiverKeyStore::new(SUITE);
    keys.install(9, &key(3)).unwrap();
    let mut audio = ReceiveStream::new();
    let mut video = ReceiveStream::new();

    // Audio runs far ahead on the shared counter (e.g. video paused).
    let video_early = sender.encrypt_frame(Codec::Vp8, VP8_DELTA).unwrap();
    for _ in 0..(REPLAY_WINDOW + 100) {
        let frame = sender.encrypt_frame(Codec::Opus, OPUS_FRAME).unwrap();
        audio
            .decrypt_frame(&mut keys, Codec::Opus, &frame, 0)
            .unwrap();
    }
    // Video's window is independent: its older counter is still fine.
    assert_eq!(
        video.decrypt_frame(&mut keys, Codec::Vp8, &video_early, 0),
        Ok(VP8_DELTA.to_vec())
    );
    assert_eq!(
        video.decrypt_frame(&mut keys, Codec::Vp8, &video_early, 0),
        Err(SframeError::Replay)
    );
}

#[test]
fn counters_behind_the_window_are_too_old() {
    let mut sender = SenderKey::new(SUITE, 9, &key(3));
    let mut keys = ReceiverKeyStore::new(SUITE);
    keys.install(9, &key(3)).unwrap();
    let mut stream = ReceiveStream::new();
    let frames: Vec<Vec<u8>> = (0..=REPLAY_WINDOW)
        .map(|_| sender.encrypt_frame(Codec::Opus, OPUS_FRAME).unwrap())
        .collect();
    let newest = frames.last().unwrap();
    stream
        .decrypt_frame(&mut keys, Codec::Opus, newest, 0)
        .unwrap();
    // ctr 0 is exactly REPLAY_WINDOW behind: out; ctr 1 is inside.
    assert_eq!(
        stream.decrypt_frame(&mut keys, Codec::Opus, &frames[0], 0),
        Err(SframeError::TooOld)
    );
    assert!(
        stream
            .decrypt_frame(&mut keys, Codec::Opus, &frames[1], 0)
            .is_ok()
    );
}

#[test]
fn forged_frames_do_not_move_the_window() {
    let mut sender = SenderKey::new(SUITE, 9, &key(3));
    let mut keys = ReceiverKeyStore::new(SUITE);
    keys.install(9, &key(3)).unwrap();
    let mut stream = ReceiveStream::new();
    let genuine = sender.encrypt_frame(Codec::Opus, OPUS_FRAME).unwrap();

    // Same key id, huge counter, random body: fails authentication.
    // Opus TOC, config 0x8f (1-byte KID, 8-byte CTR), KID 9, CTR 2^64-1.
    let mut forged = vec![
        0xfc, 0x8f, 0x09, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ];
    forged.extend_from_slice(&[0u8; 20]);
    assert_eq!(
        stream.decrypt_frame(&mut keys, Codec::Opus, &forged, 0),
        Err(SframeError::Authentication)
    );
    assert_eq!(
        stream.decrypt_frame(&mut keys, Codec::Opus, &genuine, 0),
        Ok(OPUS_FRAME.to_vec())
    );
}

#[test]
fn short_and_mismatched_frames_are_typed_errors() {
    let mut sender = SenderKey::new(SUITE, 9, &key(3));
    let mut keys = ReceiverKeyStore::new(SUITE);
    keys.install(9, &key(3)).unwrap();
    let mut stream = ReceiveStream::new();

    assert_eq!(
        sender.encrypt_frame(Codec::Opus, &[]),
        Err(SframeError::FrameTooShort)
    );
    // VP8 key frame flag (P = 0) but shorter than the 10-byte key frame header.
    assert_eq!(
        sender.encrypt_frame(Codec::Vp8, &[0x10, 0, 0, 0x9d, 0x01]),
        Err(SframeError::FrameTooShort)
    );
    assert_eq!(
        Codec::from_mime("video/H264"),
        Err(SframeError::UnsupportedCodec)
    );

    let protected = sender.encrypt_frame(Codec::Opus, OPUS_FRAME).unwrap();
    for cut in 0..protected.len() {
        let result = stream.decrypt_frame(&mut keys, Codec::Opus, &protected[..cut], 0);
        assert!(result.is_err(), "cut {cut}");
    }
    // Prefix + 1-byte header + tag is the shortest protected Opus frame; one
    // byte less is Truncated.
    assert_eq!(
        stream.decrypt_frame(&mut keys, Codec::Opus, &protected[..1 + 1 + TAG_LEN - 1], 0),
        Err(SframeError::Truncated)
    );
    // Opus frame handed to the VP8 path: wrong split, fails.
    assert!(
        stream
            .decrypt_frame(&mut keys, Codec::Vp8, &protected, 0)
            .is_err()
    );
    // Still decrypts on the right path afterwards.
    assert_eq!(
        stream.decrypt_frame(&mut keys, Codec::Opus, &protected, 0),
        Ok(OPUS_FRAME.to_vec())
    );
}

#[test]
fn suites_do_not_interoperate() {
    let mut sender = SenderKey::new(CipherSuite::Aes128GcmSha256Tag128, 9, &key(3));
    let mut keys = ReceiverKeyStore::new(CipherSuite::ChaCha20Poly1305Sha256Tag128);
    keys.install(9, &key(3)).unwrap();
    let protected = sender.encrypt_frame(Codec::Opus, OPUS_FRAME).unwrap();
    assert_eq!(
        ReceiveStream::new().decrypt_frame(&mut keys, Codec::Opus, &protected, 0),
        Err(SframeError::Authentication)
    );
    assert_eq!(
        CipherSuite::default(),
        CipherSuite::ChaCha20Poly1305Sha256Tag128
    );
    assert_eq!(CipherSuite::default().id(), 0xF001);
    assert_eq!(CipherSuite::from_id(0x0005), None);
}
