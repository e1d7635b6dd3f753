//! Even when the operator asks for every log line (`CONFIDE_LOG=trace`), the
//! relay logs no room ids, tokens, hashes, member ids, payloads or addresses:
//! counts and error kinds only; dependencies (tungstenite, hyper, axum,
//! rustls), which log frames and addresses at debug and trace, are capped at warn.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use confide_shared::wire::{ClientMessage, ServerMessage};
use confide_tests::relay::TestRelay;
use confide_tests::ws::*;
use tokio_tungstenite::tungstenite::Message;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_contain_no_identifiers() {
    let capture = Capture::default();
    let writer = capture.clone();
    // The same subscriber setup as main.rs, with the operator asking for
    // everything (CONFIDE_LOG=trace): the cap keeps dependencies at warn.
    confide_relay::logging::init(tracing_subscriber::EnvFilter::new("trace"), move || {
        writer.clone()
    });

    let relay = TestRelay::start(None).await;
    let url = relay.ws_url();
    let (mut h, hid) = host(&url, 1).await;
    let (mut g, gid) = admitted_guest(&url, &mut h, 1, 5).await;
    h.send(&send_msg(1, None, b"secret chat line")).await;
    expect_delivery(&mut g, hid, b"secret chat line").await;
    // Errors of several kinds.
    let mut reuse = Client::connect(&url).await;
    reuse.send(&knock_msg(1, 5, b"again")).await;
    reuse.expect_close(4007).await;
    let mut bad = Client::connect(&url).await;
    bad.send_raw(Message::text("not json")).await;
    bad.expect_close(4000).await;
    h.send(&ClientMessage::Remove {
        room: room_id(1),
        member: gid,
    })
    .await;
    assert_eq!(g.recv().await, ServerMessage::Removed { room: room_id(1) });
    g.expect_close(4011).await;
    relay.shutdown().await.unwrap();

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("invite_invalid"),
        "error kinds are logged:\n{logs}"
    );
    // The relay's own debug lines are there: the operator's trace took effect.
    assert!(
        logs.contains("connection opened"),
        "trace was on for the relay:\n{logs}"
    );
    // No dependency logged below warn (tungstenite, hyper, axum, rustls, tokio…).
    for line in logs.lines() {
        if line.contains("DEBUG") || line.contains("TRACE") {
            assert!(
                line.contains("confide_relay"),
                "a dependency logged: {line}"
            );
        }
    }
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let forbidden = [
        room_id(1).to_base64(),
        hex(&room_id(1).0),
        host_token(1).to_base64(),
        host_token(1).hash().to_base64(),
        invite_token(5).to_base64(),
        invite_token(5).hash().to_base64(),
        resume_secret(5).to_base64(),
        resume_secret(5).hash().to_base64(),
        b64(b"secret chat line"),
        "secret chat line".to_string(),
        "127.0.0.1".to_string(),
        relay_port(&url),
        format!("member={}", hid.0),
        format!("member={}", gid.0),
    ];
    for needle in forbidden {
        assert!(!logs.contains(&needle), "log contains {needle:?}:\n{logs}");
    }
}

fn relay_port(url: &str) -> String {
    format!(
        ":{}",
        url.rsplit(':').next().unwrap_or("").trim_end_matches("/ws")
    )
}
