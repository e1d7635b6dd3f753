//! The local participant's sending key for one epoch.

use super::SframeError;
use super::codec::Codec;
use super::frame::{protect, protect_in_place};
use super::keys::FrameKeys;
use super::suite::CipherSuite;

/// Counters at or above this are never used: the sender key is exhausted.
pub const COUNTER_LIMIT: u64 = 1 << 32;
/// From this counter on [`SenderKey::needs_rotation`] asks for a new key,
/// leaving 2^31 frames (months of media) to get it installed.
pub const ROTATION_THRESHOLD: u64 = 1 << 31;

/// Base keys are 32 random bytes chosen by the key exchange.
pub const BASE_KEY_LEN: usize = 32;

/// One sender key: (base key, KID) plus the single frame counter shared by
/// every outgoing stream (audio, video, every peer connection of the mesh),
/// so no (base key, KID, CTR) is ever used twice.
#[derive(Debug)]
pub struct SenderKey {
    keys: FrameKeys,
    next_ctr: u64,
}

impl SenderKey {
    /// Derives the frame keys; the base key itself is not kept (the caller
    /// zeroizes its copy). Counters start at 0.
    pub fn new(suite: CipherSuite, kid: u64, base_key: &[u8; BASE_KEY_LEN]) -> Self {
        Self {
            keys: FrameKeys::derive(suite, kid, base_key),
            next_ctr: 0,
        }
    }

    /// The KID written into every frame header.
    pub fn kid(&self) -> u64 {
        self.keys.kid()
    }

    /// The suite in use.
    pub fn suite(&self) -> CipherSuite {
        self.keys.suite()
    }

    /// The counter the next frame will use.
    pub fn next_counter(&self) -> u64 {
        self.next_ctr
    }

    /// True once half the counter space is used: time to install a new key.
    pub fn needs_rotation(&self) -> bool {
        self.next_ctr >= ROTATION_THRESHOLD
    }

    /// Protects one encoded frame. A frame shorter than its codec's clear
    /// prefix is refused up front; otherwise the call consumes a counter
    /// value even if encryption then fails, so a counter is never reused.
    pub fn encrypt_frame(&mut self, codec: Codec, frame: &[u8]) -> Result<Vec<u8>, SframeError> {
        let ctr = self.take_counter(codec, frame)?;
        protect(&self.keys, ctr, codec, frame)
    }

    /// [`SenderKey::encrypt_frame`] in `frame`'s own buffer, which becomes
    /// the protected frame (the worker reuses one buffer for every frame).
    /// The same bytes, the same counter rules; on error `frame` is left
    /// unchanged (refused up front) or zeroized (encryption failed).
    pub fn encrypt_frame_in_place(
        &mut self,
        codec: Codec,
        frame: &mut Vec<u8>,
    ) -> Result<(), SframeError> {
        let ctr = self.take_counter(codec, frame)?;
        protect_in_place(&self.keys, ctr, codec, frame)
    }

    /// The counter for `frame`, used up by this call: a malformed frame is
    /// refused before it spends one, and none is handed out past the limit.
    fn take_counter(&mut self, codec: Codec, frame: &[u8]) -> Result<u64, SframeError> {
        codec.clear_prefix_len(frame)?;
        let ctr = self.next_ctr;
        if ctr >= COUNTER_LIMIT {
            return Err(SframeError::CounterExhausted);
        }
        self.next_ctr = ctr + 1;
        Ok(ctr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_when_counter_exhausted() {
        let mut sender = SenderKey::new(CipherSuite::default(), 1, &[7; 32]);
        assert!(!sender.needs_rotation());
        sender.next_ctr = ROTATION_THRESHOLD - 1;
        assert!(!sender.needs_rotation());
        assert!(sender.encrypt_frame(Codec::Opus, &[1, 2, 3]).is_ok());
        assert!(sender.needs_rotation());

        sender.next_ctr = COUNTER_LIMIT - 1;
        assert!(sender.encrypt_frame(Codec::Opus, &[1, 2, 3]).is_ok());
        assert_eq!(sender.next_counter(), COUNTER_LIMIT);
        for _ in 0..3 {
            assert_eq!(
                sender.encrypt_frame(Codec::Opus, &[1, 2, 3]),
                Err(SframeError::CounterExhausted)
            );
        }
        assert_eq!(sender.next_counter(), COUNTER_LIMIT);
    }

    #[test]
    fn in_place_gives_the_same_bytes() {
        for (codec, frame) in [
            (Codec::Opus, vec![0xfc, 1, 2, 3]),
            (Codec::Vp8, vec![0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]),
            (Codec::Vp8, vec![0x01, 1, 2, 3, 4]),
            (Codec::Vp9, vec![]),
        ] {
            let mut a = SenderKey::new(CipherSuite::default(), 300, &[7; 32]);
            let mut b = SenderKey::new(CipherSuite::default(), 300, &[7; 32]);
            for _ in 0..3 {
                let mut buffer = frame.clone();
                b.encrypt_frame_in_place(codec, &mut buffer).unwrap();
                assert_eq!(a.encrypt_frame(codec, &frame).unwrap(), buffer);
            }
        }
        let mut sender = SenderKey::new(CipherSuite::default(), 1, &[7; 32]);
        let mut empty = Vec::new();
        assert_eq!(
            sender.encrypt_frame_in_place(Codec::Opus, &mut empty),
            Err(SframeError::FrameTooShort)
        );
        assert_eq!(sender.next_counter(), 0);
    }

    #[test]
    fn malformed_frames_spend_no_counter() {
        let mut sender = SenderKey::new(CipherSuite::default(), 1, &[7; 32]);
        assert_eq!(
            sender.encrypt_frame(Codec::Opus, &[]),
            Err(SframeError::FrameTooShort)
        );
        assert_eq!(sender.next_counter(), 0);
    }
}
