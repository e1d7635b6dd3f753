//! HTTPS and WSS straight from certificate files, with a self-signed certificate.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use confide_relay::config::Config;
use confide_shared::wire::ServerMessage;
use confide_tests::relay::TestRelay;
use confide_tests::ws::*;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

struct Pki {
    dir: std::path::PathBuf,
    cert_der: rustls::pki_types::CertificateDer<'static>,
}

fn self_signed() -> Pki {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let dir = std::env::temp_dir().join(format!("confide-relay-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("cert.pem"), certified.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), certified.signing_key.serialize_pem()).unwrap();
    Pki {
        dir,
        cert_der: certified.cert.der().clone(),
    }
}

async fn tls_connect(relay: &TestRelay, pki: &Pki) -> TlsStream<TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.cert_der.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(relay.addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .unwrap()
}

#[tokio::test]
async fn https_and_wss_with_a_self_signed_certificate() {
    let pki = self_signed();
    let mut config = Config::for_tests();
    config.tls_cert = Some(pki.dir.join("cert.pem"));
    config.tls_key = Some(pki.dir.join("key.pem"));
    let relay = TestRelay::start_with(config).await;
    assert!(relay.http_url().starts_with("https://"));

    // https:// /healthz, with HSTS.
    let mut tls = tls_connect(&relay, &pki).await;
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = Vec::new();
    let _ = tls.read_to_end(&mut response).await;
    let response = String::from_utf8_lossy(&response).to_ascii_lowercase();
    assert!(response.starts_with("http/1.1 200"), "{response}");
    assert!(response.contains("strict-transport-security: max-age="));
    assert!(response.ends_with("ok"));

    // wss:// : a host creates a room, a guest knocks over a second TLS connection.
    let url = format!("wss://localhost:{}/ws", relay.addr.port());
    let (ws, _) = tokio_tungstenite::client_async(&url, tls_connect(&relay, &pki).await)
        .await
        .unwrap();
    let mut host = WsClient::new(ws);
    host.send(&create_msg(1, 1)).await;
    let host_id = match host.recv().await {
        ServerMessage::RoomCreated { member, .. } => member,
        other => panic!("{other:?}"),
    };
    add_invite(&mut host, 1, 2, None).await;
    let (ws, _) = tokio_tungstenite::client_async(&url, tls_connect(&relay, &pki).await)
        .await
        .unwrap();
    let mut guest = WsClient::new(ws);
    guest.send(&knock_msg(1, 2, b"hi")).await;
    assert!(matches!(guest.recv().await, ServerMessage::Waiting { host, .. } if host == host_id));
    assert!(matches!(host.recv().await, ServerMessage::Knocked { .. }));

    // Plain HTTP on the TLS port does not work.
    let mut plain = TcpStream::connect(relay.addr).await.unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        plain.read_to_end(&mut buf),
    )
    .await;
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));
    let _ = std::fs::remove_dir_all(&pki.dir);
}

/// A fresh self-signed certificate for `localhost`, written into `dir`
/// (through a rename, as a renewal tool would).
fn issue_into(dir: &std::path::Path) -> Pki {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::create_dir_all(dir).unwrap();
    for (name, text) in [
        ("key.pem", certified.signing_key.serialize_pem()),
        ("cert.pem", certified.cert.pem()),
    ] {
        std::fs::write(dir.join(format!("{name}.new")), text).unwrap();
        std::fs::rename(dir.join(format!("{name}.new")), dir.join(name)).unwrap();
    }
    Pki {
        dir: dir.to_path_buf(),
        cert_der: certified.cert.der().clone(),
    }
}

/// A TLS handshake that trusts only `pki`'s certificate: whether it succeeded.
async fn handshake_trusting(relay: &TestRelay, pki: &Pki) -> bool {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.cert_der.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(relay.addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .is_ok()
}

#[tokio::test]
async fn a_renewed_certificate_is_served_and_rooms_stay() {
    let dir = std::env::temp_dir().join(format!("confide-relay-tls-reload-{}", std::process::id()));
    let old = issue_into(&dir);
    let mut config = Config::for_tests();
    config.tls_cert = Some(dir.join("cert.pem"));
    config.tls_key = Some(dir.join("key.pem"));
    config.tls_reload_interval = std::time::Duration::from_millis(100);
    let relay = TestRelay::start_with(config).await;

    // A session over WSS with the old certificate.
    let url = format!("wss://localhost:{}/ws", relay.addr.port());
    let (ws, _) = tokio_tungstenite::client_async(&url, tls_connect(&relay, &old).await)
        .await
        .unwrap();
    let mut host = WsClient::new(ws);
    host.send(&create_msg(1, 1)).await;
    let host_id = match host.recv().await {
        ServerMessage::RoomCreated { member, .. } => member,
        other => panic!("{other:?}"),
    };
    add_invite(&mut host, 1, 2, None).await;
    let (ws, _) = tokio_tungstenite::client_async(&url, tls_connect(&relay, &old).await)
        .await
        .unwrap();
    let mut guest = WsClient::new(ws);
    guest.send(&knock_msg(1, 2, b"hi")).await;
    let member = match guest.recv().await {
        ServerMessage::Waiting { member, .. } => member,
        other => panic!("{other:?}"),
    };
    assert!(matches!(host.recv().await, ServerMessage::Knocked { .. }));
    host.send(&confide_shared::wire::ClientMessage::Admit {
        room: room_id(1),
        member,
    })
    .await;
    assert!(matches!(guest.recv().await, ServerMessage::Admitted { .. }));
    assert!(matches!(
        host.recv().await,
        ServerMessage::MemberJoined { .. }
    ));

    // The renewal: new files in place. New handshakes get the new
    // certificate once the relay has noticed (polled every 100 ms).
    let new = issue_into(&dir);
    assert_ne!(old.cert_der, new.cert_der);
    let mut served = false;
    for _ in 0..100 {
        if handshake_trusting(&relay, &new).await {
            served = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(served, "the renewed certificate is served");
    assert!(
        !handshake_trusting(&relay, &old).await,
        "the old certificate is no longer served"
    );

    // The session from before the renewal goes on over its connections.
    host.send(&send_msg(1, None, b"after the renewal")).await;
    match guest.recv().await {
        ServerMessage::Deliver { from, payload, .. } => {
            assert_eq!(from, host_id);
            assert_eq!(payload.0, b"after the renewal");
        }
        other => panic!("{other:?}"),
    }

    // A broken renewal (garbage in the certificate file) is not taken:
    // the last good certificate stays in use.
    std::fs::write(dir.join("cert.pem"), "not a certificate").unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert!(
        handshake_trusting(&relay, &new).await,
        "a broken file does not replace the working certificate"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn sighup_reloads_the_certificate_at_once() {
    let dir = std::env::temp_dir().join(format!("confide-relay-tls-hup-{}", std::process::id()));
    let old = issue_into(&dir);
    let mut config = Config::for_tests();
    config.tls_cert = Some(dir.join("cert.pem"));
    config.tls_key = Some(dir.join("key.pem"));
    // No polling within the test: only the signal can reload.
    config.tls_reload_interval = std::time::Duration::from_secs(3600);
    let relay = TestRelay::start_with(config).await;
    // Serving (and so the SIGHUP handler installed).
    assert!(handshake_trusting(&relay, &old).await);
    let new = issue_into(&dir);
    assert!(
        handshake_trusting(&relay, &old).await,
        "without a signal the old certificate stays"
    );
    // SIGHUP to this process, which runs the relay.
    let status = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut served = false;
    for _ in 0..100 {
        if handshake_trusting(&relay, &new).await {
            served = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        served,
        "SIGHUP made the relay serve the renewed certificate"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
