//! Whether media from one peer gets through, and when to tell the person
//! that it does not.
//!
//! A call whose negotiation failed, or whose packets never arrive (a NAT
//! that blocks every path, a browser that refused the other's SDP), used to
//! show "Verbindung wird gesichert…" forever. One watch per peer connection
//! turns what the media layer sees into one verdict the page can show:
//! a refused or unmakeable session description at once, and no decrypted
//! media within [`NO_MEDIA_DEADLINE_MS`] after that. A retry starts the
//! clock again.
//!
//! Pure: the caller passes the time in milliseconds of a clock of its own.

/// How long a connection may go without decrypted media before the person
/// is told, both before the first frame and after frames stopped. Camera
/// off and mute still send (black, silent) frames, so a working call never
/// stays quiet this long.
pub const NO_MEDIA_DEADLINE_MS: u64 = 15_000;

/// What the page says about one peer connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaHealth {
    /// Negotiating or waiting for the first frame, within the deadline.
    Connecting,
    /// Decrypted media arrived within the deadline.
    Flowing,
    /// Something the person must be told about, with a way to retry.
    Trouble(Trouble),
}

/// Why media does not get through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trouble {
    /// The browser refused a session description, or could not make one.
    NegotiationFailed,
    /// No decrypted media within [`NO_MEDIA_DEADLINE_MS`].
    NoMedia,
}

/// The watch of one peer connection.
#[derive(Debug, Clone)]
pub struct MediaWatch {
    /// Start of the current attempt (connection opened, or the last retry).
    attempt_ms: u64,
    last_media_ms: Option<u64>,
    negotiation_failed: bool,
}

impl MediaWatch {
    pub fn new(now_ms: u64) -> MediaWatch {
        MediaWatch {
            attempt_ms: now_ms,
            last_media_ms: None,
            negotiation_failed: false,
        }
    }

    /// A frame from this peer was decrypted: the connection works now,
    /// whatever failed before (a renegotiation that failed while the old
    /// description kept the media running is not the person's problem).
    pub fn media_arrived(&mut self, now_ms: u64) {
        self.last_media_ms = Some(now_ms);
        self.negotiation_failed = false;
    }

    /// `setRemoteDescription`, `setLocalDescription`, `createOffer` or
    /// `createAnswer` failed.
    pub fn negotiation_failed(&mut self) {
        self.negotiation_failed = true;
    }

    /// The person asked to try again (ICE restart or a new offer).
    pub fn retry(&mut self, now_ms: u64) {
        self.attempt_ms = now_ms;
        self.negotiation_failed = false;
    }

    pub fn health(&self, now_ms: u64) -> MediaHealth {
        if self.negotiation_failed {
            return MediaHealth::Trouble(Trouble::NegotiationFailed);
        }
        let since = self
            .last_media_ms
            .map_or(self.attempt_ms, |media| media.max(self.attempt_ms));
        if now_ms.saturating_sub(since) >= NO_MEDIA_DEADLINE_MS {
            MediaHealth::Trouble(Trouble::NoMedia)
        } else if self.last_media_ms.is_some() {
            MediaHealth::Flowing
        } else {
            MediaHealth::Connecting
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: u64 = NO_MEDIA_DEADLINE_MS;

    #[test]
    fn no_media_within_the_deadline_is_trouble() {
        let watch = MediaWatch::new(1_000);
        assert_eq!(watch.health(1_000), MediaHealth::Connecting);
        assert_eq!(watch.health(1_000 + D - 1), MediaHealth::Connecting);
        assert_eq!(
            watch.health(1_000 + D),
            MediaHealth::Trouble(Trouble::NoMedia)
        );
    }

    #[test]
    fn media_that_stops_is_trouble_after_the_deadline() {
        let mut watch = MediaWatch::new(0);
        watch.media_arrived(500);
        assert_eq!(watch.health(500 + D - 1), MediaHealth::Flowing);
        assert_eq!(
            watch.health(500 + D),
            MediaHealth::Trouble(Trouble::NoMedia)
        );
        watch.media_arrived(500 + D + 10);
        assert_eq!(watch.health(500 + D + 10), MediaHealth::Flowing);
    }

    #[test]
    fn a_refused_description_is_trouble_at_once_until_a_retry_or_media() {
        let mut watch = MediaWatch::new(0);
        watch.negotiation_failed();
        assert_eq!(
            watch.health(0),
            MediaHealth::Trouble(Trouble::NegotiationFailed)
        );
        watch.retry(100);
        assert_eq!(watch.health(100), MediaHealth::Connecting);
        watch.negotiation_failed();
        watch.media_arrived(200);
        assert_eq!(watch.health(200), MediaHealth::Flowing);
    }

    #[test]
    fn a_retry_gives_a_full_deadline_again() {
        let mut watch = MediaWatch::new(0);
        assert_eq!(watch.health(D), MediaHealth::Trouble(Trouble::NoMedia));
        watch.retry(D);
        assert_eq!(watch.health(2 * D - 1), MediaHealth::Connecting);
        assert_eq!(watch.health(2 * D), MediaHealth::Trouble(Trouble::NoMedia));
    }

    #[test]
    fn a_clock_that_steps_back_never_underflows() {
        let watch = MediaWatch::new(10_000);
        assert_eq!(watch.health(0), MediaHealth::Connecting);
    }
}
