//! `sdp::without_orphan_payload_lines` on descriptions the browsers really
//! wrote in a confide call (`vectors/sdp/*.sdp`, each with a `.browser` file
//! naming the browser and version). They were captured by the pairing tests
//! (`CONFIDE_WRITE_SDP_FIXTURES=1 cargo test -p confide-tests --test
//! browser_pairings -- --ignored`), after confide's codec preferences
//! (VP8 + RTX, Opus) were applied.

use std::path::PathBuf;

use confide_shared::sdp::without_orphan_payload_lines;

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors/sdp")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Payload attribute lines whose payload type the section's `m=` line does
/// not list (written independently of the code under test).
fn orphans(sdp: &str) -> Vec<String> {
    let mut listed: Vec<String> = Vec::new();
    let mut found = Vec::new();
    for line in sdp.lines() {
        if let Some(media) = line.strip_prefix("m=") {
            let fields: Vec<&str> = media.split(' ').collect();
            listed = if fields.get(2).is_some_and(|p| p.contains("RTP")) {
                fields[3..].iter().map(|s| s.to_string()).collect()
            } else {
                Vec::new()
            };
            continue;
        }
        for prefix in ["a=rtpmap:", "a=fmtp:", "a=rtcp-fb:"] {
            if let Some(rest) = line.strip_prefix(prefix) {
                let pt = rest.split(' ').next().unwrap_or_default();
                if pt != "*" && !listed.iter().any(|l| l == pt) {
                    found.push(line.to_string());
                }
            }
        }
    }
    found
}

/// Every line that is not a payload attribute, in order.
fn other_lines(sdp: &str) -> Vec<&str> {
    sdp.split_inclusive('\n')
        .filter(|l| {
            !["a=rtpmap:", "a=fmtp:", "a=rtcp-fb:"]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .collect()
}

#[test]
fn firefox_offers_carry_orphaned_lines_and_lose_only_those() {
    let offer = fixture("firefox-offer.sdp");
    let before = orphans(&offer);
    assert!(
        !before.is_empty(),
        "the captured Firefox offer has the lines Chromium refuses"
    );
    assert!(
        before.iter().all(|l| l.starts_with("a=rtcp-fb:")),
        "{before:?}"
    );
    let cleaned = without_orphan_payload_lines(&offer);
    assert_eq!(orphans(&cleaned), Vec::<String>::new());
    assert_eq!(
        other_lines(&cleaned),
        other_lines(&offer),
        "fingerprint, ICE and every other line stay as they were"
    );
    assert_eq!(
        offer.lines().count() - cleaned.lines().count(),
        before.len(),
        "exactly the orphaned lines are gone"
    );
    assert!(cleaned.ends_with("\r\n") && !cleaned.contains("\r\r"));
}

#[test]
fn clean_descriptions_pass_unchanged() {
    for name in [
        "chromium-offer.sdp",
        "chromium-answer.sdp",
        "firefox-answer.sdp",
    ] {
        let sdp = fixture(name);
        let cleaned = without_orphan_payload_lines(&sdp);
        if orphans(&sdp).is_empty() {
            assert_eq!(cleaned, sdp, "{name} is unchanged");
        } else {
            assert_eq!(orphans(&cleaned), Vec::<String>::new(), "{name}");
        }
        assert_eq!(without_orphan_payload_lines(&cleaned), cleaned, "{name}");
    }
}

#[test]
fn every_fixture_names_its_browser() {
    for name in [
        "firefox-offer",
        "chromium-offer",
        "chromium-answer",
        "firefox-answer",
    ] {
        let browser = fixture(&format!("{name}.browser"));
        let engine = name.split('-').next().unwrap_or_default();
        let expected = if engine == "firefox" {
            "Firefox/"
        } else {
            "Chrome/"
        };
        assert!(browser.contains(expected), "{name}: {browser}");
    }
}
