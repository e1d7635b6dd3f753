//! Sliding-window replay protection over frame counters.
//!
//! One window per (receiving stream, KID). A sender's audio and video share
//! one counter, so each stream sees a sparse subsequence with gaps; the
//! window therefore spans counter values, not frames: the counter advances
//! ~80 values/s per peer connection of the sender (30 fps video + 50 fps
//! audio), so 1024 values are ~12 s with one peer and ~3 s with four, more
//! than any jitter buffer reorders.

use super::SframeError;

/// How many counter values behind the highest accepted one are still judged.
pub const REPLAY_WINDOW: u64 = 1024;
const WORDS: usize = (REPLAY_WINDOW / 64) as usize;

/// Bitmap of accepted counters in `(highest - REPLAY_WINDOW, highest]`,
/// indexed by `ctr % REPLAY_WINDOW`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayWindow {
    highest: Option<u64>,
    seen: [u64; WORDS],
}

impl ReplayWindow {
    /// An empty window that accepts any first counter.
    pub fn new() -> Self {
        Self::default()
    }

    /// The highest counter accepted so far.
    pub fn highest(&self) -> Option<u64> {
        self.highest
    }

    /// Whether `ctr` may still be accepted. Does not record it: call
    /// [`ReplayWindow::commit`] only after the frame authenticated, so forged
    /// frames cannot move the window.
    pub fn check(&self, ctr: u64) -> Result<(), SframeError> {
        let Some(highest) = self.highest else {
            return Ok(());
        };
        if ctr > highest {
            return Ok(());
        }
        if highest - ctr >= REPLAY_WINDOW {
            return Err(SframeError::TooOld);
        }
        if self.is_set(ctr) {
            return Err(SframeError::Replay);
        }
        Ok(())
    }

    /// Records `ctr` as accepted (after a successful [`ReplayWindow::check`]
    /// and authentication).
    pub fn commit(&mut self, ctr: u64) {
        match self.highest {
            Some(highest) if ctr <= highest => {
                if highest - ctr < REPLAY_WINDOW {
                    self.set(ctr);
                }
            }
            Some(highest) if ctr - highest < REPLAY_WINDOW => {
                // Forget the slots the window slides over, then take ctr.
                let mut forgotten = highest;
                while forgotten < ctr {
                    forgotten += 1;
                    self.clear(forgotten);
                }
                self.highest = Some(ctr);
                self.set(ctr);
            }
            _ => {
                // First counter, or a jump past the whole window.
                self.seen = [0; WORDS];
                self.highest = Some(ctr);
                self.set(ctr);
            }
        }
    }

    fn slot(ctr: u64) -> (usize, u64) {
        let index = ctr % REPLAY_WINDOW;
        ((index / 64) as usize, 1u64 << (index % 64))
    }

    fn is_set(&self, ctr: u64) -> bool {
        let (word, bit) = Self::slot(ctr);
        self.seen.get(word).is_some_and(|w| w & bit != 0)
    }

    fn set(&mut self, ctr: u64) {
        let (word, bit) = Self::slot(ctr);
        if let Some(w) = self.seen.get_mut(word) {
            *w |= bit;
        }
    }

    fn clear(&mut self, ctr: u64) {
        let (word, bit) = Self::slot(ctr);
        if let Some(w) = self.seen.get_mut(word) {
            *w &= !bit;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(window: &mut ReplayWindow, ctr: u64) -> Result<(), SframeError> {
        window.check(ctr)?;
        window.commit(ctr);
        Ok(())
    }

    #[test]
    fn accepts_fresh_rejects_replay_and_old() {
        let mut window = ReplayWindow::new();
        assert_eq!(accept(&mut window, 5), Ok(()));
        assert_eq!(accept(&mut window, 5), Err(SframeError::Replay));
        assert_eq!(accept(&mut window, 3), Ok(()));
        assert_eq!(accept(&mut window, 3), Err(SframeError::Replay));
        assert_eq!(accept(&mut window, 2000), Ok(()));
        // 2000 - 976 = 1024: just outside.
        assert_eq!(accept(&mut window, 976), Err(SframeError::TooOld));
        assert_eq!(accept(&mut window, 977), Ok(()));
        assert_eq!(accept(&mut window, 977), Err(SframeError::Replay));
        // Slot of 5 was reused by 1029 etc.; a fresh counter sharing a slot
        // with a forgotten one is accepted.
        assert_eq!(accept(&mut window, 1029), Ok(()));
    }

    #[test]
    fn sliding_forgets_only_slid_over_slots() {
        let mut window = ReplayWindow::new();
        for ctr in 0..1024 {
            assert_eq!(accept(&mut window, ctr), Ok(()));
        }
        assert_eq!(accept(&mut window, 1030), Ok(()));
        // 6 and below are out of the window now; 7..=1023 still remembered.
        assert_eq!(accept(&mut window, 6), Err(SframeError::TooOld));
        assert_eq!(accept(&mut window, 7), Err(SframeError::Replay));
        assert_eq!(accept(&mut window, 1023), Err(SframeError::Replay));
        // 1024..=1029 were skipped and are still acceptable.
        assert_eq!(accept(&mut window, 1024), Ok(()));
        assert_eq!(accept(&mut window, 1029), Ok(()));
    }

    #[test]
    fn huge_counters_do_not_overflow() {
        let mut window = ReplayWindow::new();
        assert_eq!(accept(&mut window, u64::MAX), Ok(()));
        assert_eq!(accept(&mut window, u64::MAX), Err(SframeError::Replay));
        assert_eq!(accept(&mut window, 0), Err(SframeError::TooOld));
        assert_eq!(accept(&mut window, u64::MAX - 1), Ok(()));
    }
}
