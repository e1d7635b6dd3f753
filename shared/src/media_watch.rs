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
//! A peer that chose to send nothing (a guest who only writes) is not in
//! trouble for sending nothing: its session description says so
//! ([`Sending::from_sdp`]), and the watch then stays quiet.
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
    /// The peer chose to send no media at all (chat only): nothing to wait for.
    NothingSent,
}

/// Which media a peer says it sends, read from its (end-to-end
/// authenticated) session description: a guest who chose "Nur Ton" answers
/// video `recvonly`, one who chose "Nur schreiben" answers both `recvonly`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sending {
    pub audio: bool,
    pub video: bool,
}

impl Sending {
    /// Both kinds: what a peer sends until its description says otherwise.
    pub const ALL: Sending = Sending {
        audio: true,
        video: true,
    };

    /// A kind is sent when one of its sections is not rejected (port 0
    /// without `a=bundle-only`: Firefox offers bundled sections with port 0)
    /// and its direction (its own line, else the session's, else
    /// `sendrecv`) is neither `recvonly` nor `inactive`.
    pub fn from_sdp(sdp: &str) -> Sending {
        /// One `m=` section as far as it was read.
        struct Section<'a> {
            kind: &'a str,
            port_zero: bool,
            bundle_only: bool,
            sends: Option<bool>,
        }
        let direction = |line: &str| match line {
            "a=sendrecv" | "a=sendonly" => Some(true),
            "a=recvonly" | "a=inactive" => Some(false),
            _ => None,
        };
        let mut sending = Sending::default();
        let mut session_sends = true;
        let mut section: Option<Section> = None;
        let close = |section: Option<Section>, session_sends: bool, sending: &mut Sending| {
            let Some(s) = section else { return };
            if (s.port_zero && !s.bundle_only) || !s.sends.unwrap_or(session_sends) {
                return;
            }
            match s.kind {
                "audio" => sending.audio = true,
                "video" => sending.video = true,
                _ => {}
            }
        };
        for line in sdp.lines().map(str::trim_end) {
            if let Some(media) = line.strip_prefix("m=") {
                close(section.take(), session_sends, &mut sending);
                let mut fields = media.split(' ');
                section = Some(Section {
                    kind: fields.next().unwrap_or_default(),
                    port_zero: fields.next() == Some("0"),
                    bundle_only: false,
                    sends: None,
                });
            } else if let Some(s) = section.as_mut() {
                if line == "a=bundle-only" {
                    s.bundle_only = true;
                } else if let Some(sends) = direction(line) {
                    s.sends = Some(sends);
                }
            } else if let Some(sends) = direction(line) {
                session_sends = sends;
            }
        }
        close(section, session_sends, &mut sending);
        sending
    }

    pub fn anything(self) -> bool {
        self.audio || self.video
    }
}

/// Why media does not get through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trouble {
    /// The browser refused a session description, or could not make one.
    NegotiationFailed,
    /// No decrypted media within [`NO_MEDIA_DEADLINE_MS`].
    NoMedia,
}

impl Trouble {
    /// The name the page shows to scripts and tests (`data-kind`), without
    /// the `Debug` machinery in the app.
    pub fn as_str(self) -> &'static str {
        match self {
            Trouble::NegotiationFailed => "NegotiationFailed",
            Trouble::NoMedia => "NoMedia",
        }
    }
}

/// The watch of one peer connection.
#[derive(Debug, Clone)]
pub struct MediaWatch {
    /// Start of the current attempt (connection opened, or the last retry).
    attempt_ms: u64,
    last_media_ms: Option<u64>,
    negotiation_failed: bool,
    sending: Sending,
}

impl MediaWatch {
    pub fn new(now_ms: u64) -> MediaWatch {
        MediaWatch {
            attempt_ms: now_ms,
            last_media_ms: None,
            negotiation_failed: false,
            sending: Sending::ALL,
        }
    }

    /// What the peer's latest session description says it sends.
    pub fn set_sending(&mut self, sending: Sending) {
        self.sending = sending;
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
        if !self.sending.anything() {
            return MediaHealth::NothingSent;
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
    fn a_peer_that_sends_nothing_is_never_no_media() {
        let mut watch = MediaWatch::new(0);
        watch.set_sending(Sending::default());
        assert_eq!(watch.health(10 * D), MediaHealth::NothingSent);
        watch.negotiation_failed();
        assert_eq!(
            watch.health(10 * D),
            MediaHealth::Trouble(Trouble::NegotiationFailed)
        );
        // Sound only still has sound to wait for.
        let mut watch = MediaWatch::new(0);
        watch.set_sending(Sending {
            audio: true,
            video: false,
        });
        assert_eq!(watch.health(D), MediaHealth::Trouble(Trouble::NoMedia));
    }

    const ANSWER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
        a=group:BUNDLE 0 1\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\nA_DIR\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\nV_DIR\r\n";

    fn answer(audio: &str, video: &str) -> String {
        ANSWER.replace("A_DIR", audio).replace("V_DIR", video)
    }

    #[test]
    fn the_description_says_what_a_peer_sends() {
        let all = Sending::ALL;
        assert_eq!(Sending::from_sdp(&answer("a=sendrecv", "a=sendrecv")), all);
        assert_eq!(Sending::from_sdp(&answer("a=sendonly", "a=ssrc:1")), all);
        assert_eq!(
            Sending::from_sdp(&answer("a=sendrecv", "a=recvonly")),
            Sending {
                audio: true,
                video: false
            }
        );
        assert_eq!(
            Sending::from_sdp(&answer("a=recvonly", "a=inactive")),
            Sending::default()
        );
        let rejected = answer("a=sendrecv", "a=sendrecv").replace("m=video 9", "m=video 0");
        assert!(!Sending::from_sdp(&rejected).video);
        assert_eq!(Sending::from_sdp(""), Sending::default());
    }

    #[test]
    fn firefox_bundled_sections_and_a_session_direction_count() {
        // Firefox offers every bundled section after the first with port 0
        // and `a=bundle-only`, and the direction at session level too.
        let firefox = answer("a=ssrc:1", "a=bundle-only")
            .replace("m=video 9", "m=video 0")
            .replace("t=0 0\r\n", "t=0 0\r\na=sendrecv\r\n");
        assert_eq!(Sending::from_sdp(&firefox), Sending::ALL);
        let session_recvonly =
            answer("a=ssrc:1", "a=sendrecv").replace("t=0 0\r\n", "t=0 0\r\na=recvonly\r\n");
        assert_eq!(
            Sending::from_sdp(&session_recvonly),
            Sending {
                audio: false,
                video: true
            }
        );
    }

    #[test]
    fn a_clock_that_steps_back_never_underflows() {
        let watch = MediaWatch::new(10_000);
        assert_eq!(watch.health(0), MediaHealth::Connecting);
    }
}
