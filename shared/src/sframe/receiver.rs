//! Receiving side: the keys of one remote sender, and per-stream replay state.
//!
//! A remote sender has one [`ReceiverKeyStore`], shared by all streams that
//! carry its media; each receiving stream (audio track, video track) has
//! its own [`ReceiveStream`] with one replay window per KID. Keys are shared
//! because the sender uses one key for everything; windows are per stream
//! because each stream sees its own subsequence of the shared counter.

use super::SframeError;
use super::codec::Codec;
use super::frame::{ProtectedFrame, open_in_place};
use super::keys::FrameKeys;
use super::replay::ReplayWindow;
use super::sender::BASE_KEY_LEN;
use super::suite::CipherSuite;

/// How long an older key keeps working after a newer key has decrypted its
/// first frame: frames already in flight or in the jitter buffer still
/// decode, then the old key is deleted.
pub const KEY_OVERLAP_MS: u64 = 2000;

/// Keys held per remote sender; installing more evicts the oldest. Bounds
/// memory if a peer floods us with key updates.
pub const MAX_KEYS_PER_SENDER: usize = 8;

#[derive(Debug)]
struct KeyEntry {
    keys: FrameKeys,
    /// Installation order; higher is newer.
    generation: u64,
    /// When a frame under this key first authenticated.
    first_seen_ms: Option<u64>,
}

/// The decryption keys of one remote sender, by KID.
#[derive(Debug)]
pub struct ReceiverKeyStore {
    suite: CipherSuite,
    entries: Vec<KeyEntry>,
    next_generation: u64,
}

impl ReceiverKeyStore {
    /// An empty store for a sender using `suite`.
    pub fn new(suite: CipherSuite) -> Self {
        Self {
            suite,
            entries: Vec::new(),
            next_generation: 0,
        }
    }

    /// The suite every key in this store uses.
    pub fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// Installs the sender's key for `kid`. Installing the same key again is
    /// a no-op; a different key under a known KID is `KidConflict` (a KID
    /// names one key for its whole life).
    pub fn install(&mut self, kid: u64, base_key: &[u8; BASE_KEY_LEN]) -> Result<(), SframeError> {
        let keys = FrameKeys::derive(self.suite, kid, base_key);
        if let Some(existing) = self.entries.iter().find(|entry| entry.keys.kid() == kid) {
            return if existing.keys.same_key_as(&keys) {
                Ok(())
            } else {
                Err(SframeError::KidConflict { kid })
            };
        }
        if self.entries.len() >= MAX_KEYS_PER_SENDER
            && let Some(oldest) = self
                .entries
                .iter()
                .enumerate()
                .min_by_key(|(_, entry)| entry.generation)
                .map(|(index, _)| index)
        {
            self.entries.swap_remove(oldest);
        }
        self.entries.push(KeyEntry {
            keys,
            generation: self.next_generation,
            first_seen_ms: None,
        });
        self.next_generation += 1;
        Ok(())
    }

    /// Removes `kid` at once (e.g. a participant was evicted).
    pub fn remove(&mut self, kid: u64) {
        self.entries.retain(|entry| entry.keys.kid() != kid);
    }

    /// Whether a key for `kid` is installed and not expired.
    pub fn contains(&self, kid: u64) -> bool {
        self.entries.iter().any(|entry| entry.keys.kid() == kid)
    }

    /// Installed KIDs, oldest first.
    pub fn kids(&self) -> Vec<u64> {
        let mut entries: Vec<&KeyEntry> = self.entries.iter().collect();
        entries.sort_by_key(|entry| entry.generation);
        entries.iter().map(|entry| entry.keys.kid()).collect()
    }

    /// Deletes every key older than the newest key already in use, once
    /// [`KEY_OVERLAP_MS`] have passed since that key's first frame.
    /// [`ReceiveStream::decrypt_frame`] calls this itself.
    pub fn expire(&mut self, now_ms: u64) {
        let newest_seen = self
            .entries
            .iter()
            .filter_map(|entry| entry.first_seen_ms.map(|seen| (entry.generation, seen)))
            .max_by_key(|(generation, _)| *generation);
        if let Some((generation, seen_ms)) = newest_seen
            && now_ms.saturating_sub(seen_ms) >= KEY_OVERLAP_MS
        {
            self.entries.retain(|entry| entry.generation >= generation);
        }
    }

    fn get(&self, kid: u64) -> Option<&FrameKeys> {
        self.entries
            .iter()
            .find(|entry| entry.keys.kid() == kid)
            .map(|entry| &entry.keys)
    }

    fn mark_seen(&mut self, kid: u64, now_ms: u64) {
        if let Some(entry) = self
            .entries
            .iter_mut()
            .find(|entry| entry.keys.kid() == kid)
        {
            entry.first_seen_ms.get_or_insert(now_ms);
        }
    }
}

/// Replay state of one receiving stream: a window per KID.
#[derive(Debug, Default)]
pub struct ReceiveStream {
    windows: Vec<(u64, ReplayWindow)>,
}

impl ReceiveStream {
    /// A stream that has seen no frames.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks, authenticates and decrypts one protected frame from the
    /// sender whose keys are `keys`; returns the frame for the decoder.
    /// On any error the caller drops the frame: never pass the protected
    /// bytes to the decoder.
    pub fn decrypt_frame(
        &mut self,
        keys: &mut ReceiverKeyStore,
        codec: Codec,
        protected: &[u8],
        now_ms: u64,
    ) -> Result<Vec<u8>, SframeError> {
        let mut frame = Vec::with_capacity(protected.len());
        frame.extend_from_slice(protected);
        self.decrypt_frame_in_place(keys, codec, &mut frame, now_ms)?;
        Ok(frame)
    }

    /// [`ReceiveStream::decrypt_frame`] in `frame`'s own buffer (the worker
    /// reuses one buffer for every frame): on success `frame` is the frame
    /// for the decoder and the KID that authenticated it is returned. The
    /// same checks in the same order; on error the caller drops the frame
    /// (its buffer then holds the protected bytes, or zeros if
    /// authentication failed).
    pub fn decrypt_frame_in_place(
        &mut self,
        keys: &mut ReceiverKeyStore,
        codec: Codec,
        frame: &mut Vec<u8>,
        now_ms: u64,
    ) -> Result<u64, SframeError> {
        keys.expire(now_ms);
        self.windows.retain(|(kid, _)| keys.contains(*kid));

        let parsed = ProtectedFrame::parse(codec, frame)?;
        let kid = parsed.header.kid;
        let ctr = parsed.header.ctr;
        let frame_keys = keys.get(kid).ok_or(SframeError::UnknownKey { kid })?;
        if let Some((_, window)) = self
            .windows
            .iter()
            .find(|(window_kid, _)| *window_kid == kid)
        {
            window.check(ctr)?;
        }
        let layout = parsed.layout()?;
        open_in_place(&layout, frame_keys, frame)?;

        // Only authenticated frames move the window or start key expiry.
        match self
            .windows
            .iter_mut()
            .find(|(window_kid, _)| *window_kid == kid)
        {
            Some((_, window)) => window.commit(ctr),
            None => {
                let mut window = ReplayWindow::new();
                window.commit(ctr);
                self.windows.push((kid, window));
            }
        }
        keys.mark_seen(kid, now_ms);
        Ok(kid)
    }
}
