//! A WebSocket test client that speaks the relay wire protocol, plus helpers
//! for the usual steps (create a room, invite, knock, admit).

use std::time::Duration;

use confide_relay::config::Config;
use confide_relay::counsellor::CounsellorId;
use confide_shared::wire::{
    Blob, ClientMessage, CounsellorToken, HostToken, InviteToken, MemberId, ResumeSecret, RoomId,
    ServerMessage,
};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for something that should happen.
pub const PATIENCE: Duration = Duration::from_secs(5);

/// What the client saw next.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    Message(ServerMessage),
    /// A close frame (code, reason), or `None` when the connection just ended.
    Closed(Option<(u16, String)>),
}

pub struct WsClient<S> {
    ws: WebSocketStream<S>,
    /// Every text frame received, verbatim (for plaintext scans).
    pub received: Vec<String>,
}

pub type Client = WsClient<MaybeTlsStream<TcpStream>>;

impl Client {
    pub async fn connect(url: &str) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"));
        WsClient::new(ws)
    }

    /// Connects from a chosen local address (e.g. `127.0.0.2`: another
    /// loopback source, for the relay's per-source limits). Plain `ws://` only.
    pub async fn connect_from(url: &str, local: std::net::IpAddr) -> Client {
        let addr = url
            .strip_prefix("ws://")
            .and_then(|rest| rest.split('/').next())
            .and_then(|a| a.parse::<std::net::SocketAddr>().ok())
            .unwrap_or_else(|| panic!("not a ws:// URL with an address: {url}"));
        let socket = match local {
            std::net::IpAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
            std::net::IpAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
        }
        .unwrap_or_else(|e| panic!("no socket: {e}"));
        socket
            .bind(std::net::SocketAddr::new(local, 0))
            .unwrap_or_else(|e| panic!("cannot bind {local}: {e}"));
        let stream = socket
            .connect(addr)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {addr} from {local}: {e}"));
        let (ws, _) = tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream))
            .await
            .unwrap_or_else(|e| panic!("WebSocket handshake with {url} failed: {e}"));
        WsClient::new(ws)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WsClient<S> {
    pub fn new(ws: WebSocketStream<S>) -> Self {
        WsClient {
            ws,
            received: Vec::new(),
        }
    }

    pub async fn send(&mut self, msg: &ClientMessage) {
        self.send_raw(Message::text(msg.to_json())).await;
    }

    /// Sends a frame without checking that it arrived (the relay may have closed already).
    pub async fn send_raw(&mut self, msg: Message) {
        let _ = self.ws.send(msg).await;
    }

    /// The next message or close, skipping pings; panics after [`PATIENCE`].
    pub async fn next_event(&mut self) -> Event {
        tokio::time::timeout(PATIENCE, self.next_event_inner())
            .await
            .unwrap_or_else(|_| panic!("nothing received within {PATIENCE:?}"))
    }

    async fn next_event_inner(&mut self) -> Event {
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Text(text))) => {
                    self.received.push(text.to_string());
                    let msg = ServerMessage::from_json(text.as_str())
                        .unwrap_or_else(|e| panic!("bad server message {text}: {e}"));
                    return Event::Message(msg);
                }
                Some(Ok(Message::Close(frame))) => {
                    return Event::Closed(frame.map(|f| (u16::from(f.code), f.reason.to_string())));
                }
                Some(Ok(Message::Binary(_))) => panic!("the relay sent a binary frame"),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Event::Closed(None),
            }
        }
    }

    /// The next message or close if one arrives within `wait` (pings skipped).
    pub async fn try_next(&mut self, wait: Duration) -> Option<Event> {
        tokio::time::timeout(wait, self.next_event_inner())
            .await
            .ok()
    }

    /// The next message; panics on a close.
    pub async fn recv(&mut self) -> ServerMessage {
        match self.next_event().await {
            Event::Message(msg) => msg,
            Event::Closed(close) => panic!("expected a message, connection closed: {close:?}"),
        }
    }

    /// Skips messages until the connection closes; returns the close code.
    pub async fn closed(&mut self) -> Option<u16> {
        loop {
            if let Event::Closed(close) = self.next_event().await {
                return close.map(|(code, _)| code);
            }
        }
    }

    /// Asserts that the next event is a close with `code` (and the matching reason).
    pub async fn expect_close(&mut self, code: u16) {
        match self.next_event().await {
            Event::Closed(Some((got, reason))) => {
                assert_eq!(got, code, "close code (reason {reason:?})");
                if let Some(error) = confide_shared::wire::ErrorCode::from_close_code(code) {
                    assert_eq!(reason, error.as_str());
                }
                // Finish the closing handshake (sends our close reply).
                let _ = tokio::time::timeout(PATIENCE, self.ws.next()).await;
            }
            other => panic!("expected close {code}, got {other:?}"),
        }
    }

    /// Asserts that nothing arrives for `duration`.
    pub async fn expect_silence(&mut self, duration: Duration) {
        if let Ok(event) = tokio::time::timeout(duration, self.next_event_inner()).await {
            panic!("expected silence, got {event:?}");
        }
    }
}

/// Fixed ids and secrets for tests: distinct per `n`, not all zero.
/// Room `n` is the room of host token `n` (the relay checks the binding).
pub fn room_id(n: u8) -> RoomId {
    confide_shared::link::room_id_of(&host_token(n))
}
pub fn host_token(n: u8) -> HostToken {
    HostToken(std::array::from_fn(|i| {
        n.wrapping_mul(17).wrapping_add((i as u8).wrapping_mul(13)) ^ 0xc3
    }))
}
pub fn invite_token(n: u8) -> InviteToken {
    InviteToken(std::array::from_fn(|i| {
        n.wrapping_mul(29).wrapping_add((i as u8).wrapping_mul(11)) ^ 0x96
    }))
}
pub fn resume_secret(n: u8) -> ResumeSecret {
    ResumeSecret(std::array::from_fn(|i| {
        n.wrapping_mul(23).wrapping_add((i as u8).wrapping_mul(5)) ^ 0x3c
    }))
}

/// The sign-in of a test counsellor on relays with the test key
/// (`Config::for_tests`, and relay binaries that [`crate::relay`] starts).
pub fn counsellor_token() -> CounsellorToken {
    Config::test_counsellor_key().token(&CounsellorId([1; 16]))
}

pub fn create_msg(room: u8, token: u8) -> ClientMessage {
    ClientMessage::CreateRoom {
        v: 1,
        room: room_id(room),
        host_token: host_token(token),
        counsellor: counsellor_token(),
        keep_until: None,
    }
}

pub fn knock_msg(room: u8, invite: u8, payload: &[u8]) -> ClientMessage {
    ClientMessage::Knock {
        v: 1,
        room: room_id(room),
        invite_token: invite_token(invite),
        resume_hash: resume_secret(invite).hash(),
        payload: Blob(payload.to_vec()),
    }
}

pub fn resume_msg(room: u8, member: MemberId, invite: u8) -> ClientMessage {
    ClientMessage::Resume {
        v: 1,
        room: room_id(room),
        member,
        resume_secret: resume_secret(invite),
        // The same secret again (tests that rotate build the message themselves).
        next_resume_hash: resume_secret(invite).hash(),
    }
}

pub fn send_msg(room: u8, to: Option<MemberId>, payload: &[u8]) -> ClientMessage {
    ClientMessage::Send {
        room: room_id(room),
        to,
        payload: Blob(payload.to_vec()),
    }
}

/// Connects and creates room `room` with host token `room`; returns the host's member id.
pub async fn host(url: &str, room: u8) -> (Client, MemberId) {
    let mut client = Client::connect(url).await;
    client.send(&create_msg(room, room)).await;
    match client.recv().await {
        ServerMessage::RoomCreated { member, .. } => (client, member),
        other => panic!("expected room_created, got {other:?}"),
    }
}

/// The host registers invite `invite` (default TTL unless given).
pub async fn add_invite<S: AsyncRead + AsyncWrite + Unpin>(
    host: &mut WsClient<S>,
    room: u8,
    invite: u8,
    ttl_secs: Option<u32>,
) {
    host.send(&ClientMessage::AddInvite {
        room: room_id(room),
        token_hash: invite_token(invite).hash(),
        ttl_secs,
        opens: None,
        closes: None,
    })
    .await;
    match host.recv().await {
        ServerMessage::InviteAdded { .. } => {}
        other => panic!("expected invite_added, got {other:?}"),
    }
}

/// A guest knocks with invite `invite` and lands in the lobby; the host sees the knock.
pub async fn knock<S: AsyncRead + AsyncWrite + Unpin>(
    url: &str,
    host: &mut WsClient<S>,
    room: u8,
    invite: u8,
) -> (Client, MemberId) {
    let mut guest = Client::connect(url).await;
    guest.send(&knock_msg(room, invite, b"knock")).await;
    let member = match guest.recv().await {
        ServerMessage::Waiting { member, .. } => member,
        other => panic!("expected waiting, got {other:?}"),
    };
    match host.recv().await {
        ServerMessage::Knocked { member: m, .. } => assert_eq!(m, member),
        other => panic!("expected knocked, got {other:?}"),
    }
    (guest, member)
}

/// Invites, knocks and admits a guest; drains the resulting notifications of host and guest.
pub async fn admitted_guest<S: AsyncRead + AsyncWrite + Unpin>(
    url: &str,
    host: &mut WsClient<S>,
    room: u8,
    invite: u8,
) -> (Client, MemberId) {
    add_invite(host, room, invite, None).await;
    let (mut guest, member) = knock(url, host, room, invite).await;
    host.send(&ClientMessage::Admit {
        room: room_id(room),
        member,
    })
    .await;
    match guest.recv().await {
        ServerMessage::Admitted { member: m, .. } => assert_eq!(m, member),
        other => panic!("expected admitted, got {other:?}"),
    }
    match host.recv().await {
        ServerMessage::MemberJoined { member: m, .. } => assert_eq!(m, member),
        other => panic!("expected member_joined, got {other:?}"),
    }
    (guest, member)
}

/// Waits for a delivery of `payload`, skipping other notifications (ice
/// servers and the like) that a busy relay may send first.
pub async fn skip_to_delivery<S: AsyncRead + AsyncWrite + Unpin>(
    client: &mut WsClient<S>,
    from: MemberId,
    payload: &[u8],
) {
    loop {
        if let ServerMessage::Deliver {
            from: f,
            payload: p,
            ..
        } = client.recv().await
        {
            assert_eq!(f, from);
            assert_eq!(p.0, payload);
            return;
        }
    }
}

/// Asserts that `client` receives a delivery of `payload`.
pub async fn expect_delivery<S: AsyncRead + AsyncWrite + Unpin>(
    client: &mut WsClient<S>,
    from: MemberId,
    payload: &[u8],
) {
    match client.recv().await {
        ServerMessage::Deliver {
            from: f,
            payload: p,
            ..
        } => {
            assert_eq!(f, from);
            assert_eq!(p.0, payload);
        }
        other => panic!("expected deliver, got {other:?}"),
    }
}
