//! SDP that every browser accepts, whichever browser wrote it.
//!
//! confide narrows each media section to VP8 (+ RTX) and Opus with
//! `setCodecPreferences`, because the SFrame clear-prefix rules are written
//! for those codecs. Firefox (ESR 153) then removes the other payload types
//! from the `m=` line but leaves their `a=rtcp-fb` lines behind, and
//! Chromium's parser refuses such an SDP as a whole ("Failed to parse
//! codecs correctly"): a Firefox offerer and a Chromium answerer never got a
//! call (issue 11). [`without_orphan_payload_lines`] removes attribute lines
//! that name a payload type their own `m=` line does not list, which is what
//! RFC 8866 §5.14 says such lines must refer to; everything else is kept
//! byte for byte, so the DTLS fingerprint and ICE lines are untouched.
//!
//! Pure: text in, text out. Applied to every remote description before
//! `setRemoteDescription`, so the receiving side is robust against any
//! sender (and any browser update) that writes such lines.

/// Attributes whose value starts with the payload type they describe.
const PAYLOAD_ATTRIBUTES: [&str; 3] = ["a=rtpmap:", "a=fmtp:", "a=rtcp-fb:"];

/// `sdp` without `a=rtpmap`, `a=fmtp` and `a=rtcp-fb` lines for payload
/// types their media section's `m=` line does not list. `a=rtcp-fb:*`
/// (all payload types) and sections that are not RTP (data channels) are
/// kept as they are. Line endings are kept as the input has them.
pub fn without_orphan_payload_lines(sdp: &str) -> String {
    let mut out = String::with_capacity(sdp.len());
    // The payload types of the current RTP media section; `None` in the
    // session part and in non-RTP sections.
    let mut listed: Option<Vec<&str>> = None;
    for line in sdp.split_inclusive('\n') {
        let text = line.trim_end_matches(['\r', '\n']);
        if let Some(media) = text.strip_prefix("m=") {
            listed = rtp_payload_types(media);
        } else if let Some(listed) = &listed
            && let Some(payload_type) = payload_type_of(text)
            && !listed.contains(&payload_type)
        {
            continue;
        }
        out.push_str(line);
    }
    out
}

/// The payload types on an `m=` line (`video 9 UDP/TLS/RTP/SAVPF 120 124`),
/// or `None` when its protocol is not RTP (`UDP/DTLS/SCTP webrtc-datachannel`).
fn rtp_payload_types(media: &str) -> Option<Vec<&str>> {
    let mut fields = media.split_ascii_whitespace();
    let _kind = fields.next()?;
    let _port = fields.next()?;
    let protocol = fields.next()?;
    protocol
        .split('/')
        .any(|part| part == "RTP")
        .then(|| fields.collect())
}

/// The numeric payload type a payload attribute line names; `None` for
/// other lines and for `a=rtcp-fb:*`.
fn payload_type_of(line: &str) -> Option<&str> {
    let rest = PAYLOAD_ATTRIBUTES
        .iter()
        .find_map(|prefix| line.strip_prefix(prefix))?;
    let payload_type = rest.split_ascii_whitespace().next()?;
    payload_type
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then_some(payload_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIREFOX_LIKE: &str = "v=0\r\n\
        o=mozilla...THIS_IS_SDPARTA-99.0 1 0 IN IP4 0.0.0.0\r\n\
        s=-\r\n\
        a=fingerprint:sha-256 AA:BB\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 120 124\r\n\
        a=fmtp:120 max-fs=12288;max-fr=60\r\n\
        a=fmtp:124 apt=120\r\n\
        a=rtcp-fb:120 nack\r\n\
        a=rtcp-fb:121 nack\r\n\
        a=rtcp-fb:121 ccm fir\r\n\
        a=rtcp-fb:* transport-cc\r\n\
        a=rtpmap:120 VP8/90000\r\n\
        a=rtpmap:124 rtx/90000\r\n\
        a=rtpmap:99 H264/90000\r\n\
        m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n\
        a=sctp-port:5000\r\n";

    #[test]
    fn drops_lines_for_payload_types_the_m_line_does_not_list() {
        let cleaned = without_orphan_payload_lines(FIREFOX_LIKE);
        assert!(!cleaned.contains("a=rtcp-fb:121"));
        assert!(!cleaned.contains("a=rtpmap:99"));
        for kept in [
            "a=rtcp-fb:120 nack\r\n",
            "a=rtcp-fb:* transport-cc\r\n",
            "a=fmtp:124 apt=120\r\n",
            "a=fingerprint:sha-256 AA:BB\r\n",
            "a=sctp-port:5000\r\n",
        ] {
            assert!(cleaned.contains(kept), "{kept} is kept");
        }
        assert_eq!(
            cleaned.len(),
            FIREFOX_LIKE.len()
                - "a=rtcp-fb:121 nack\r\na=rtcp-fb:121 ccm fir\r\na=rtpmap:99 H264/90000\r\n".len()
        );
    }

    #[test]
    fn clean_sdp_and_odd_input_pass_unchanged() {
        let once = without_orphan_payload_lines(FIREFOX_LIKE);
        assert_eq!(without_orphan_payload_lines(&once), once);
        for odd in [
            "",
            "v=0",
            "m=\r\na=rtcp-fb:1 nack",
            "a=rtpmap:1 x\n",
            "m=video 9\n",
        ] {
            assert_eq!(without_orphan_payload_lines(odd), odd, "{odd:?}");
        }
    }

    #[test]
    fn keeps_bare_newlines_and_non_rtp_sections() {
        let sdp = "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\na=rtpmap:5 x\n";
        assert_eq!(without_orphan_payload_lines(sdp), sdp);
        let sdp = "m=audio 9 UDP/TLS/RTP/SAVPF 109\na=rtpmap:109 opus/48000/2\na=fmtp:101 0-15\n";
        assert_eq!(
            without_orphan_payload_lines(sdp),
            "m=audio 9 UDP/TLS/RTP/SAVPF 109\na=rtpmap:109 opus/48000/2\n"
        );
    }
}
