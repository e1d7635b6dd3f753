//! Binding the DTLS certificate to the authenticated signaling.
//!
//! The SDP reaches us inside an authenticated envelope, so its
//! `a=fingerprint:sha-256 AA:BB:...` lines are what the peer really sent.
//! After the connection is up, the certificate the browser actually saw in
//! the DTLS handshake (`RTCDtlsTransport.getRemoteCertificates()`, DER) must
//! hash to that fingerprint; otherwise something between us (a TURN server,
//! a relay rewriting SDP before it was authenticated, a browser bug) sits in
//! the middle and the connection must be closed.
//!
//! Pure: text in, bytes in, typed verdict out.

use sha2::{Digest, Sha256};

/// Length of a SHA-256 fingerprint in bytes.
pub const SHA256_LEN: usize = 32;

/// A SHA-256 certificate fingerprint.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; SHA256_LEN]);

impl Fingerprint {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of_certificate(der: &[u8]) -> Self {
        let digest = Sha256::digest(der);
        let mut out = [0u8; SHA256_LEN];
        out.copy_from_slice(&digest);
        Fingerprint(out)
    }

    /// Parses the SDP form `AA:BB:...` (32 hex pairs, either case).
    pub fn parse_hex(text: &str) -> Result<Self, DtlsError> {
        let mut out = [0u8; SHA256_LEN];
        let mut count = 0;
        for pair in text.split(':') {
            let slot = out.get_mut(count).ok_or(DtlsError::MalformedFingerprint)?;
            // `from_str_radix` alone would accept a sign ("+A").
            if pair.len() != 2 || !pair.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(DtlsError::MalformedFingerprint);
            }
            *slot = u8::from_str_radix(pair, 16).map_err(|_| DtlsError::MalformedFingerprint)?;
            count += 1;
        }
        if count != SHA256_LEN {
            return Err(DtlsError::MalformedFingerprint);
        }
        Ok(Fingerprint(out))
    }
}

impl core::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

/// Why the DTLS fingerprint check failed. Every variant means: do not
/// trust this connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DtlsError {
    /// The SDP has no `a=fingerprint` line at all.
    #[error("the SDP carries no DTLS fingerprint")]
    NoFingerprint,
    /// The SDP has fingerprints, but none with SHA-256.
    #[error("the SDP carries no SHA-256 DTLS fingerprint")]
    UnsupportedAlgorithm,
    /// A SHA-256 fingerprint line is not 32 colon-separated hex pairs.
    #[error("malformed DTLS fingerprint")]
    MalformedFingerprint,
    /// The SDP names different SHA-256 fingerprints (confide bundles
    /// everything on one DTLS transport, so there must be exactly one).
    #[error("the SDP carries conflicting DTLS fingerprints")]
    ConflictingFingerprints,
    /// The browser reports no remote certificate.
    #[error("no remote DTLS certificate")]
    NoCertificate,
    /// The remote certificate does not hash to the signaled fingerprint.
    #[error("the remote DTLS certificate does not match the signaled fingerprint")]
    Mismatch,
}

/// The single SHA-256 fingerprint of an SDP (session or media level).
///
/// Lines of other hash algorithms are ignored; a malformed SHA-256 line is an
/// error (never skipped), and two different SHA-256 fingerprints are an error.
pub fn sdp_fingerprint(sdp: &str) -> Result<Fingerprint, DtlsError> {
    let mut found: Option<Fingerprint> = None;
    let mut any = false;
    for line in sdp.lines() {
        let line = line.trim_end_matches('\r');
        let Some(rest) = line.strip_prefix("a=fingerprint:") else {
            continue;
        };
        any = true;
        let mut parts = rest.split_ascii_whitespace();
        let (Some(algorithm), Some(value)) = (parts.next(), parts.next()) else {
            return Err(DtlsError::MalformedFingerprint);
        };
        if parts.next().is_some() {
            return Err(DtlsError::MalformedFingerprint);
        }
        if !algorithm.eq_ignore_ascii_case("sha-256") {
            continue;
        }
        let fingerprint = Fingerprint::parse_hex(value)?;
        match found {
            Some(previous) if previous != fingerprint => {
                return Err(DtlsError::ConflictingFingerprints);
            }
            _ => found = Some(fingerprint),
        }
    }
    match (found, any) {
        (Some(fingerprint), _) => Ok(fingerprint),
        (None, true) => Err(DtlsError::UnsupportedAlgorithm),
        (None, false) => Err(DtlsError::NoFingerprint),
    }
}

/// Checks the peer's certificate chain as reported by the browser (DER, leaf
/// first) against the fingerprint in the authenticated remote SDP. The leaf
/// (the self-signed WebRTC certificate) must match.
pub fn verify_remote_certificate<C: AsRef<[u8]>>(
    remote_sdp: &str,
    certificates: &[C],
) -> Result<(), DtlsError> {
    let expected = sdp_fingerprint(remote_sdp)?;
    let leaf = certificates.first().ok_or(DtlsError::NoCertificate)?;
    if Fingerprint::of_certificate(leaf.as_ref()) == expected {
        Ok(())
    } else {
        Err(DtlsError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERT: &[u8] = b"not really DER, but any bytes hash the same way";

    fn colon_hex(bytes: &[u8]) -> String {
        bytes
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":")
    }

    fn sdp_with(fingerprint_lines: &[String]) -> String {
        let mut sdp = String::from(
            "v=0\r\no=- 4611 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n\
             m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n",
        );
        for line in fingerprint_lines {
            sdp.push_str(line);
            sdp.push_str("\r\n");
        }
        sdp.push_str("a=setup:actpass\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n");
        for line in fingerprint_lines {
            sdp.push_str(line);
            sdp.push_str("\r\n");
        }
        sdp
    }

    fn good_line() -> String {
        format!(
            "a=fingerprint:sha-256 {}",
            colon_hex(&Fingerprint::of_certificate(CERT).0)
        )
    }

    #[test]
    fn matching_certificate_passes() {
        let sdp = sdp_with(&[good_line()]);
        assert_eq!(verify_remote_certificate(&sdp, &[CERT]), Ok(()));
        // Extra chain certificates after the leaf are ignored.
        assert_eq!(
            verify_remote_certificate(&sdp, &[CERT, b"issuer".as_slice()]),
            Ok(())
        );
    }

    #[test]
    fn mismatching_certificate_fails() {
        let sdp = sdp_with(&[good_line()]);
        assert_eq!(
            verify_remote_certificate(
                &sdp,
                &[b"a certificate from a man in the middle".as_slice()]
            ),
            Err(DtlsError::Mismatch)
        );
    }

    #[test]
    fn one_flipped_bit_fails() {
        let mut fp = Fingerprint::of_certificate(CERT).0;
        fp[31] ^= 1;
        let sdp = sdp_with(&[format!("a=fingerprint:sha-256 {}", colon_hex(&fp))]);
        assert_eq!(
            verify_remote_certificate(&sdp, &[CERT]),
            Err(DtlsError::Mismatch)
        );
    }

    #[test]
    fn no_certificate_fails() {
        let sdp = sdp_with(&[good_line()]);
        let none: [&[u8]; 0] = [];
        assert_eq!(
            verify_remote_certificate(&sdp, &none),
            Err(DtlsError::NoCertificate)
        );
    }

    #[test]
    fn lowercase_hex_and_algorithm_case_accepted() {
        let line = format!(
            "a=fingerprint:SHA-256 {}",
            colon_hex(&Fingerprint::of_certificate(CERT).0).to_lowercase()
        );
        assert_eq!(
            sdp_fingerprint(&sdp_with(&[line])),
            Ok(Fingerprint::of_certificate(CERT))
        );
    }

    #[test]
    fn missing_or_other_algorithms() {
        assert_eq!(
            sdp_fingerprint(&sdp_with(&[])),
            Err(DtlsError::NoFingerprint)
        );
        let sha1 = format!("a=fingerprint:sha-1 {}", colon_hex(&[0xAB; 20]));
        assert_eq!(
            sdp_fingerprint(&sdp_with(std::slice::from_ref(&sha1))),
            Err(DtlsError::UnsupportedAlgorithm)
        );
        // A SHA-1 line next to a SHA-256 line: the SHA-256 one counts.
        assert_eq!(
            sdp_fingerprint(&sdp_with(&[sha1, good_line()])),
            Ok(Fingerprint::of_certificate(CERT))
        );
    }

    #[test]
    fn malformed_fingerprints_are_errors() {
        let full = colon_hex(&[0xAB; 32]);
        for bad in [
            "a=fingerprint:sha-256".to_string(),
            format!("a=fingerprint:sha-256 {}", colon_hex(&[0xAB; 31])),
            format!("a=fingerprint:sha-256 {}", colon_hex(&[0xAB; 33])),
            format!("a=fingerprint:sha-256 {full}:"),
            format!("a=fingerprint:sha-256 {}", full.replace(':', "")),
            format!("a=fingerprint:sha-256 {}", full.replacen("AB", "G0", 1)),
            format!("a=fingerprint:sha-256 {}", full.replacen("AB", "+A", 1)),
            format!("a=fingerprint:sha-256 {full} trailing"),
        ] {
            assert_eq!(
                sdp_fingerprint(&sdp_with(std::slice::from_ref(&bad))),
                Err(DtlsError::MalformedFingerprint),
                "{bad}"
            );
        }
    }

    #[test]
    fn conflicting_fingerprints_are_errors() {
        let other = format!("a=fingerprint:sha-256 {}", colon_hex(&[0x11; 32]));
        assert_eq!(
            sdp_fingerprint(&sdp_with(&[good_line(), other])),
            Err(DtlsError::ConflictingFingerprints)
        );
    }

    #[test]
    fn real_chromium_line_parses() {
        let line = "a=fingerprint:sha-256 6B:8B:5D:EA:59:04:20:23:29:C8:87:1C:CC:87:32:BE:DD:8C:66:A5:8E:50:55:EA:8C:D3:B6:5C:09:5E:A6:85";
        let fp = sdp_fingerprint(&sdp_with(&[line.to_string()]));
        assert_eq!(fp.map(|f| f.0[0]), Ok(0x6B));
        assert_eq!(
            format!("{:?}", Fingerprint([0xAB; 32])),
            colon_hex(&[0xAB; 32])
        );
    }
}
