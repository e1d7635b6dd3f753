//! Which leading bytes of an encoded frame stay in clear.
//!
//! The browser's RTP packetizer parses a few codec header bytes, so they
//! cannot be encrypted; they are authenticated as AAD instead. Codecs we do
//! not know are refused, never passed through in clear.

use core::str::FromStr;

use super::SframeError;

/// VP8 key frame: 3-byte frame tag + 7-byte key frame header (RFC 6386 §9.1).
const VP8_KEY_FRAME_PREFIX: usize = 10;
/// VP8 delta frame: the 3-byte frame tag.
const VP8_DELTA_FRAME_PREFIX: usize = 3;
/// Opus: the TOC byte (RFC 6716 §3.1).
const OPUS_PREFIX: usize = 1;

/// Longest clear prefix of any supported codec.
pub const MAX_CLEAR_PREFIX: usize = VP8_KEY_FRAME_PREFIX;

/// The media codecs confide encrypts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// `video/VP8`: 10 clear bytes on key frames, 3 on delta frames.
    Vp8,
    /// `video/VP9`: nothing in clear.
    Vp9,
    /// `audio/opus`: the TOC byte in clear.
    Opus,
}

impl Codec {
    /// Parses a WebRTC MIME type such as `video/VP8` (case-insensitive, as
    /// MIME types are). Anything else is `UnsupportedCodec`.
    pub fn from_mime(mime: &str) -> Result<Self, SframeError> {
        if mime.eq_ignore_ascii_case("video/VP8") {
            Ok(Codec::Vp8)
        } else if mime.eq_ignore_ascii_case("video/VP9") {
            Ok(Codec::Vp9)
        } else if mime.eq_ignore_ascii_case("audio/opus") {
            Ok(Codec::Opus)
        } else {
            Err(SframeError::UnsupportedCodec)
        }
    }

    /// The canonical MIME type.
    pub const fn mime(self) -> &'static str {
        match self {
            Codec::Vp8 => "video/VP8",
            Codec::Vp9 => "video/VP9",
            Codec::Opus => "audio/opus",
        }
    }

    /// Number of leading bytes of `frame` that stay in clear.
    ///
    /// Works on the plaintext frame and on the protected frame alike, since
    /// the prefix is the same bytes in both. For VP8 the key frame flag is
    /// the frame tag's P bit (bit 0 of byte 0, 0 = key frame).
    ///
    /// A frame shorter than its prefix is `FrameTooShort` (VP8 and Opus
    /// never produce one; dropping it beats sending content in clear). An
    /// empty VP9 frame is allowed: it has no clear prefix.
    pub fn clear_prefix_len(self, frame: &[u8]) -> Result<usize, SframeError> {
        let len = match self {
            Codec::Vp8 => match frame.first() {
                Some(tag) if tag & 0x01 == 0 => VP8_KEY_FRAME_PREFIX,
                Some(_) => VP8_DELTA_FRAME_PREFIX,
                None => return Err(SframeError::FrameTooShort),
            },
            Codec::Vp9 => 0,
            Codec::Opus => OPUS_PREFIX,
        };
        if frame.len() < len {
            return Err(SframeError::FrameTooShort);
        }
        Ok(len)
    }
}

impl FromStr for Codec {
    type Err = SframeError;

    fn from_str(mime: &str) -> Result<Self, Self::Err> {
        Codec::from_mime(mime)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mime_types() {
        assert_eq!(Codec::from_mime("video/VP8"), Ok(Codec::Vp8));
        assert_eq!(Codec::from_mime("video/vp8"), Ok(Codec::Vp8));
        assert_eq!(Codec::from_mime("video/VP9"), Ok(Codec::Vp9));
        assert_eq!(Codec::from_mime("audio/opus"), Ok(Codec::Opus));
        assert_eq!(Codec::from_mime("AUDIO/OPUS"), Ok(Codec::Opus));
        for unknown in [
            "video/H264",
            "video/AV1",
            "audio/red",
            "",
            "video/VP8 ",
            "vp8",
        ] {
            assert_eq!(
                Codec::from_mime(unknown),
                Err(SframeError::UnsupportedCodec)
            );
        }
        for codec in [Codec::Vp8, Codec::Vp9, Codec::Opus] {
            assert_eq!(codec.mime().parse::<Codec>(), Ok(codec));
        }
    }

    #[test]
    fn prefix_lengths() {
        assert_eq!(Codec::Vp8.clear_prefix_len(&[0x10; 20]), Ok(10));
        assert_eq!(Codec::Vp8.clear_prefix_len(&[0x11; 20]), Ok(3));
        assert_eq!(
            Codec::Vp8.clear_prefix_len(&[0x10; 9]),
            Err(SframeError::FrameTooShort)
        );
        assert_eq!(Codec::Vp8.clear_prefix_len(&[0x11; 3]), Ok(3));
        assert_eq!(
            Codec::Vp8.clear_prefix_len(&[0x11; 2]),
            Err(SframeError::FrameTooShort)
        );
        assert_eq!(
            Codec::Vp8.clear_prefix_len(&[]),
            Err(SframeError::FrameTooShort)
        );
        assert_eq!(Codec::Opus.clear_prefix_len(&[0xfc]), Ok(1));
        assert_eq!(
            Codec::Opus.clear_prefix_len(&[]),
            Err(SframeError::FrameTooShort)
        );
        assert_eq!(Codec::Vp9.clear_prefix_len(&[]), Ok(0));
    }
}
