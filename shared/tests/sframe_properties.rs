//! Property tests: header round trip, frame round trip, tamper detection,
//! replay rejection, and "never panics" on arbitrary input.

// Helpers outside #[test] fns unwrap too; a panic is a test failure.
#![allow(clippy::unwrap_used)]

use confide_shared::sframe::{
    CipherSuite, Codec, FrameKeys, ReceiveStream, ReceiverKeyStore, SenderKey, SframeError,
    SframeHeader, TAG_LEN,
};
use proptest::prelude::*;

fn any_suite() -> impl Strategy<Value = CipherSuite> {
    prop_oneof![
        Just(CipherSuite::Aes128GcmSha256Tag128),
        Just(CipherSuite::ChaCha20Poly1305Sha256Tag128),
    ]
}

fn any_codec() -> impl Strategy<Value = Codec> {
    prop_oneof![Just(Codec::Vp8), Just(Codec::Vp9), Just(Codec::Opus)]
}

/// KIDs and CTRs spread over every encoded length, not just small values.
fn any_u64_all_lengths() -> impl Strategy<Value = u64> {
    (0u32..=64, any::<u64>()).prop_map(|(bits, raw)| {
        if bits == 64 {
            raw
        } else {
            raw & ((1u64 << bits) - 1)
        }
    })
}

/// A frame valid for its codec (long enough for the clear prefix).
fn frame_for(codec: Codec) -> impl Strategy<Value = Vec<u8>> {
    let min = match codec {
        Codec::Vp8 => 10,
        Codec::Opus => 1,
        Codec::Vp9 => 0,
    };
    prop::collection::vec(any::<u8>(), min..600)
}

fn codec_and_frame() -> impl Strategy<Value = (Codec, Vec<u8>)> {
    any_codec().prop_flat_map(|codec| (Just(codec), frame_for(codec)))
}

/// A sender and a receiver key store holding its key.
fn setup(suite: CipherSuite, kid: u64, seed: u8) -> (SenderKey, ReceiverKeyStore) {
    let base_key = [seed; 32];
    let sender = SenderKey::new(suite, kid, &base_key);
    let mut keys = ReceiverKeyStore::new(suite);
    keys.install(kid, &base_key).unwrap();
    (sender, keys)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn header_round_trip(kid in any_u64_all_lengths(), ctr in any_u64_all_lengths(), tail in prop::collection::vec(any::<u8>(), 0..4)) {
        let header = SframeHeader::new(kid, ctr);
        let encoded = header.encode();
        prop_assert_eq!(encoded.as_bytes().len(), header.encoded_len());
        let mut bytes = encoded.as_bytes().to_vec();
        bytes.extend_from_slice(&tail);
        prop_assert_eq!(SframeHeader::decode(&bytes), Ok((header, encoded.as_bytes().len())));
    }

    #[test]
    fn header_decode_never_panics_and_is_canonical(bytes in prop::collection::vec(any::<u8>(), 0..20)) {
        // Whatever decodes must re-encode to exactly the bytes it came from.
        if let Ok((header, used)) = SframeHeader::decode(&bytes) {
            let encoded = header.encode();
            prop_assert_eq!(encoded.as_bytes(), &bytes[..used]);
        }
    }

    #[test]
    fn rfc_level_round_trip(suite in any_suite(), kid in any_u64_all_lengths(), ctr in any_u64_all_lengths(),
                            metadata in prop::collection::vec(any::<u8>(), 0..40),
                            plaintext in prop::collection::vec(any::<u8>(), 0..300)) {
        let keys = FrameKeys::derive(suite, kid, b"base key");
        let sealed = keys.encrypt(ctr, &metadata, &plaintext).unwrap();
        prop_assert_eq!(keys.decrypt(&metadata, &sealed), Ok((SframeHeader::new(kid, ctr), plaintext)));
    }

    #[test]
    fn frame_round_trip(suite in any_suite(), kid in any_u64_all_lengths(), seed in any::<u8>(),
                        frames in prop::collection::vec(codec_and_frame(), 1..6)) {
        let (mut sender, mut keys) = setup(suite, kid, seed);
        let mut stream = ReceiveStream::new();
        for (codec, frame) in frames {
            let protected = sender.encrypt_frame(codec, &frame).unwrap();
            prop_assert_eq!(protected.len(), frame.len() + SframeHeader::new(kid, sender.next_counter() - 1).encoded_len() + TAG_LEN);
            // The clear prefix stays readable, the rest does not (for
            // bodies long enough that equality by chance is negligible).
            let prefix = codec.clear_prefix_len(&frame).unwrap();
            prop_assert_eq!(&protected[..prefix], &frame[..prefix]);
            let decrypted = stream.decrypt_frame(&mut keys, codec, &protected, 0).unwrap();
            prop_assert_eq!(decrypted, frame);
        }
    }

    #[test]
    fn any_single_bit_flip_is_rejected(suite in any_suite(), kid in any_u64_all_lengths(),
                                       (codec, frame) in codec_and_frame(), bit in any::<prop::sample::Index>()) {
        let (mut sender, mut keys) = setup(suite, kid, 9);
        let protected = sender.encrypt_frame(codec, &frame).unwrap();
        let mut tampered = protected.clone();
        let position = bit.index(tampered.len() * 8);
        tampered[position / 8] ^= 1 << (position % 8);
        let mut stream = ReceiveStream::new();
        prop_assert!(stream.decrypt_frame(&mut keys, codec, &tampered, 0).is_err());
        // The untouched frame still decrypts: the failure consumed nothing.
        prop_assert_eq!(stream.decrypt_frame(&mut keys, codec, &protected, 0).unwrap(), frame);
    }

    #[test]
    fn replayed_frames_are_rejected(suite in any_suite(), (codec, frame) in codec_and_frame(), extra in 0usize..5) {
        let (mut sender, mut keys) = setup(suite, 3, 1);
        let mut stream = ReceiveStream::new();
        let first = sender.encrypt_frame(codec, &frame).unwrap();
        let mut later = Vec::new();
        for _ in 0..extra {
            later.push(sender.encrypt_frame(codec, &frame).unwrap());
        }
        // Deliver later frames first (reordering), then the first one twice.
        for protected in later.iter().rev() {
            prop_assert!(stream.decrypt_frame(&mut keys, codec, protected, 0).is_ok());
        }
        prop_assert!(stream.decrypt_frame(&mut keys, codec, &first, 0).is_ok());
        prop_assert_eq!(stream.decrypt_frame(&mut keys, codec, &first, 0), Err(SframeError::Replay));
        for protected in &later {
            prop_assert_eq!(stream.decrypt_frame(&mut keys, codec, protected, 0), Err(SframeError::Replay));
        }
    }

    #[test]
    fn decrypt_never_panics_on_garbage(codec in any_codec(), bytes in prop::collection::vec(any::<u8>(), 0..80)) {
        let (_, mut keys) = setup(CipherSuite::default(), 0, 0);
        let mut stream = ReceiveStream::new();
        prop_assert!(stream.decrypt_frame(&mut keys, codec, &bytes, 0).is_err());
    }

    #[test]
    fn wrong_key_fails_authentication(suite in any_suite(), (codec, frame) in codec_and_frame()) {
        let (mut sender, _) = setup(suite, 5, 1);
        let (_, mut other_keys) = setup(suite, 5, 2);
        let protected = sender.encrypt_frame(codec, &frame).unwrap();
        let mut stream = ReceiveStream::new();
        prop_assert_eq!(stream.decrypt_frame(&mut other_keys, codec, &protected, 0), Err(SframeError::Authentication));
    }
}
