//! RFC 9605's published test vectors (trimmed copy checked in under
//! tests/vectors/sframe/, source and commit noted in the file).

// Helpers outside #[test] fns unwrap too; a panic is a test failure.
#![allow(clippy::unwrap_used)]

use confide_shared::sframe::{
    CipherSuite, FrameKeys, SframeError, SframeHeader, key_label, salt_label, sframe_secret,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Vectors {
    header: Vec<HeaderVector>,
    sframe: Vec<SframeVector>,
}

#[derive(Deserialize)]
struct HeaderVector {
    kid: u64,
    ctr: u64,
    encoded: String,
}

#[derive(Deserialize)]
struct SframeVector {
    cipher_suite: u16,
    kid: u64,
    ctr: u64,
    base_key: String,
    sframe_key_label: String,
    sframe_salt_label: String,
    sframe_secret: String,
    sframe_key: String,
    sframe_salt: String,
    metadata: String,
    nonce: String,
    aad: String,
    pt: String,
    ct: String,
}

fn vectors() -> Vectors {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/sframe/rfc9605-test-vectors.json"
    );
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn unhex(text: &str) -> Vec<u8> {
    hex::decode(text).unwrap()
}

#[test]
fn header_vectors_encode_and_decode() {
    let vectors = vectors();
    assert!(vectors.header.len() >= 100);
    for vector in &vectors.header {
        let expected = unhex(&vector.encoded);
        let header = SframeHeader::new(vector.kid, vector.ctr);
        assert_eq!(
            header.encode().as_bytes(),
            expected.as_slice(),
            "encode kid {} ctr {}",
            vector.kid,
            vector.ctr
        );
        assert_eq!(header.encoded_len(), expected.len());
        assert_eq!(
            SframeHeader::decode(&expected),
            Ok((header, expected.len()))
        );
        // Trailing bytes are left for the caller.
        let mut longer = expected.clone();
        longer.extend_from_slice(&[0xaa, 0xbb]);
        assert_eq!(SframeHeader::decode(&longer), Ok((header, expected.len())));
        // Every strict prefix is truncated.
        for cut in 0..expected.len() {
            assert_eq!(
                SframeHeader::decode(&expected[..cut]),
                Err(SframeError::Truncated)
            );
        }
    }
}

#[test]
fn brief_header_examples() {
    for (kid, ctr, encoded) in [
        (0, 0, "00"),
        (255, 256, "89ff0100"),
        (256, 65535, "990100ffff"),
    ] {
        assert_eq!(
            SframeHeader::new(kid, ctr).encode().as_bytes(),
            unhex(encoded)
        );
    }
}

#[test]
fn aes_128_gcm_sha256_128_key_schedule_and_encryption() {
    let vectors = vectors();
    let aes: Vec<&SframeVector> = vectors
        .sframe
        .iter()
        .filter(|vector| vector.cipher_suite == 0x0004)
        .collect();
    assert_eq!(aes.len(), 1);
    for vector in aes {
        let suite = CipherSuite::from_id(vector.cipher_suite).unwrap();
        assert_eq!(suite, CipherSuite::Aes128GcmSha256Tag128);
        let base_key = unhex(&vector.base_key);

        assert_eq!(
            key_label(vector.kid, suite),
            unhex(&vector.sframe_key_label)
        );
        assert_eq!(
            salt_label(vector.kid, suite),
            unhex(&vector.sframe_salt_label)
        );
        assert_eq!(
            sframe_secret(&base_key).as_slice(),
            unhex(&vector.sframe_secret)
        );

        let keys = FrameKeys::derive(suite, vector.kid, &base_key);
        assert_eq!(keys.sframe_key(), unhex(&vector.sframe_key));
        assert_eq!(keys.sframe_salt().as_slice(), unhex(&vector.sframe_salt));
        assert_eq!(keys.nonce(vector.ctr).as_slice(), unhex(&vector.nonce));

        let metadata = unhex(&vector.metadata);
        let header = SframeHeader::new(vector.kid, vector.ctr).encode();
        let mut aad = header.as_bytes().to_vec();
        aad.extend_from_slice(&metadata);
        assert_eq!(aad, unhex(&vector.aad));

        let plaintext = unhex(&vector.pt);
        let ciphertext = keys.encrypt(vector.ctr, &metadata, &plaintext).unwrap();
        assert_eq!(ciphertext, unhex(&vector.ct));

        let (header, decrypted) = keys.decrypt(&metadata, &ciphertext).unwrap();
        assert_eq!(header, SframeHeader::new(vector.kid, vector.ctr));
        assert_eq!(decrypted, plaintext);

        // Wrong metadata fails authentication.
        assert_eq!(
            keys.decrypt(b"other metadata", &ciphertext),
            Err(SframeError::Authentication)
        );
    }
}
