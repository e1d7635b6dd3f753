//! Vectors (computed independently, see vectors.json) and the failure cases.

use super::*;

fn vectors() -> serde_json::Value {
    serde_json::from_str(include_str!("vectors.json")).expect("vectors.json parses")
}

fn text(value: &serde_json::Value) -> &str {
    value.as_str().expect("a string")
}

#[test]
fn tokens_match_the_vectors_and_verify() {
    let doc = vectors();
    let list = doc["vectors"].as_array().expect("vectors");
    assert!(!list.is_empty());
    for v in list {
        let key = CounsellorKey::parse(text(&v["key"])).expect("key");
        let id = CounsellorId::parse(text(&v["id"])).expect("id");
        let token = key.token(&id);
        assert_eq!(token.to_base64(), text(&v["token"]));
        let parsed = CounsellorToken::from_base64(text(&v["token"])).expect("token");
        assert_eq!(key.verify(&parsed), Some(id));
    }
}

#[test]
fn forged_and_foreign_tokens_are_refused() {
    let key = CounsellorKey::from_bytes([1; KEY_LEN]);
    let other = CounsellorKey::from_bytes([2; KEY_LEN]);
    let id = CounsellorId([9; ID_LEN]);
    let token = key.token(&id);
    assert_eq!(key.verify(&token), Some(id));
    // Made with another key.
    assert_eq!(other.verify(&token), None);
    // Any changed bit, in the id or in the tag.
    for i in [0, ID_LEN - 1, ID_LEN, CounsellorToken::LEN - 1] {
        let mut bytes = *token.as_bytes();
        bytes[i] ^= 1;
        assert_eq!(
            key.verify(&CounsellorToken::from_bytes(bytes)),
            None,
            "byte {i}"
        );
    }
    // All zeros.
    assert_eq!(
        key.verify(&CounsellorToken::from_bytes([0; CounsellorToken::LEN])),
        None
    );
}

#[test]
fn revocation_list_parses_and_revokes() {
    let doc = vectors();
    let revoked = &doc["revoked"];
    let ids = parse_revoked(text(&revoked["text"])).expect("parses");
    let expected: HashSet<CounsellorId> = revoked["ids"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|id| CounsellorId::parse(text(id)).expect("id"))
        .collect();
    assert_eq!(ids, expected);
    for bad in revoked["bad"].as_array().expect("bad") {
        let error = parse_revoked(text(&bad["text"])).expect_err("refused");
        assert!(
            error.starts_with(&format!("line {}:", bad["line"])),
            "{error}"
        );
    }

    let key = CounsellorKey::from_bytes([3; KEY_LEN]);
    let access = Access::new(key.clone());
    let anna = CounsellorId([1; ID_LEN]);
    let bea = CounsellorId([2; ID_LEN]);
    assert!(access.admits(&key.token(&anna)));
    access.set_revoked([anna].into_iter().collect());
    assert!(!access.admits(&key.token(&anna)));
    assert!(access.admits(&key.token(&bea)));
}

#[test]
fn revocation_file_is_read_again_when_it_changes() {
    let dir = std::env::temp_dir().join(format!("confide-revoked-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("revoked");
    let key = CounsellorKey::from_bytes([4; KEY_LEN]);
    let anna = CounsellorId([5; ID_LEN]);
    std::fs::write(&file, "# nobody yet\n").expect("write");
    let access = Access::with_revoked_file(key.clone(), &file).expect("reads");
    assert!(access.admits(&key.token(&anna)));
    std::fs::write(&file, format!("{anna} Anna\n")).expect("write");
    // Make the change visible even on file systems with coarse timestamps.
    let later = SystemTime::now() + std::time::Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&file)
        .and_then(|f| f.set_modified(later))
        .expect("touch");
    assert_eq!(access.reload_revoked(), Ok(Some(1)));
    assert!(!access.admits(&key.token(&anna)));
    // A broken list is refused and the previous one stays in force.
    std::fs::write(&file, "not an id\n").expect("write");
    std::fs::File::options()
        .write(true)
        .open(&file)
        .and_then(|f| f.set_modified(later + std::time::Duration::from_secs(5)))
        .expect("touch");
    assert!(access.reload_revoked().is_err());
    assert!(!access.admits(&key.token(&anna)));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn key_file_text_is_checked() {
    assert!(CounsellorKey::parse(&format!("  {}\n", "ab".repeat(32))).is_ok());
    assert!(CounsellorKey::parse(&"ab".repeat(31)).is_err());
    assert!(CounsellorKey::parse(&"zz".repeat(32)).is_err());
    assert!(CounsellorKey::parse("").is_err());
    assert_eq!(
        format!("{:?}", CounsellorKey::from_bytes([7; KEY_LEN])),
        "CounsellorKey(..)"
    );
}

#[test]
fn sign_in_links_carry_the_token_in_the_fragment() {
    let token = CounsellorToken::from_bytes([0; CounsellorToken::LEN]);
    let b64 = token.to_base64();
    assert_eq!(
        sign_in_link("https://beratung.example", &token),
        format!("https://beratung.example/#counsellor={b64}")
    );
    assert_eq!(
        sign_in_link("http://127.0.0.1:8080/", &token),
        format!("http://127.0.0.1:8080/#counsellor={b64}")
    );
}
