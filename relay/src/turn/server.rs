//! The TURN server as a sans-IO state machine (RFC 8656 over UDP relays,
//! RFC 8489 STUN Binding). It reads datagrams from clients and peers and
//! returns what to send where; `io.rs` owns the sockets. Parsing and writing
//! is done by the `stun-types`/`turn-types` codec.
//!
//! Nothing is kept for a source before it has authenticated: nonces are
//! stateless (`expiry ‖ HMAC(key, expiry ‖ client ip)`), so spoofed
//! unauthenticated requests cost no memory.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;
use stun_types::attribute::{
    AttributeStaticType, ErrorCode, MessageIntegrity, MessageIntegritySha256, Nonce, Realm,
    Username, XorMappedAddress,
};
use stun_types::message::{
    BINDING, IntegrityAlgorithm, LongTermKeyCredentials, Message, MessageClass,
    MessageIntegrityCredentials, MessageWrite, MessageWriteExt, MessageWriteVec, TransactionId,
};
use subtle::ConstantTimeEq as _;
use turn_types::attribute::{
    ChannelNumber, Data, EvenPort, Lifetime, RequestedAddressFamily, RequestedTransport,
    ReservationToken, XorPeerAddress, XorRelayedAddress,
};
use turn_types::channel::ChannelData;
use turn_types::message::{ALLOCATE, CHANNEL_BIND, CREATE_PERMISSION, DATA, REFRESH, SEND};

use super::creds::{Minter, parse_username};
use super::metrics::{Refusal, TurnMetrics};
use super::policy::{Verdict, canonical, peer_verdict};

/// RFC 8656: a permission lives 300 s, a channel binding 600 s.
const PERMISSION_LIFETIME: Duration = Duration::from_secs(300);
const CHANNEL_LIFETIME: Duration = Duration::from_secs(600);
/// Allocation lifetime when the client asks for none, and the most one refresh grants.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(600);
const MAX_REFRESH_LIFETIME: Duration = Duration::from_secs(3600);
/// How long a nonce is good for (then 438 and the client retries with a new one).
const NONCE_LIFETIME_SECS: u64 = 3600;
/// Channel numbers a client may bind: RFC 5766's 0x4000-0x7FFF. RFC 8656
/// §12 narrowed it to 0x4000-0x4FFF (so that a client multiplexing TURN
/// with DTLS-SRTP on one socket can tell them apart by the first byte), but
/// clients written to RFC 5766 may pick numbers up to 0x7FFF (coturn's
/// `turnutils_uclient` picks them at random there), and coturn accepts
/// them; libwebrtc counts up from 0x4000. Which numbers a client uses concerns only its own demultiplexing;
/// 0x8000 and above would be read as neither STUN nor ChannelData.
const CHANNELS: std::ops::RangeInclusive<u16> = 0x4000..=0x7FFF;
/// Largest relayed payload: a Data indication (header, XOR-PEER-ADDRESS,
/// DATA header) must fit STUN's 16-bit length.
const MAX_RELAYED: usize = 65535 - 20 - 24 - 4;
/// Permissions and channels per allocation (a browser needs a handful).
const MAX_PERMISSIONS: usize = 64;

/// How a client reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    /// A TCP (or TLS) connection, by the I/O layer's id.
    Tcp(u64),
}

/// A client's 5-tuple as far as the server can tell it apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Client {
    pub transport: Transport,
    pub addr: SocketAddr,
}

/// What the I/O layer must do.
#[derive(Debug, PartialEq, Eq)]
pub enum Output {
    ToClient {
        client: Client,
        bytes: Vec<u8>,
    },
    ToPeer {
        relay_port: u16,
        to: SocketAddr,
        bytes: Vec<u8>,
    },
    /// The allocation on this relayed port is gone: close its socket.
    CloseRelay(u16),
}

/// Opens relayed ports for new allocations (the I/O layer binds real sockets).
pub trait RelayPorts: Send {
    /// A freshly bound port (an even one when `even`, for EVEN-PORT), or
    /// `None` when none is free.
    fn open(&mut self, even: bool) -> Option<u16>;
}

/// The settings of a [`TurnServer`].
pub struct TurnSettings {
    /// Allocate (TURN) or only answer Binding (`--turn stun-only`).
    pub allocate: bool,
    pub realm: String,
    /// The address put into XOR-RELAYED-ADDRESS.
    pub relay_ip: IpAddr,
    pub max_allocations: usize,
    pub max_allocations_per_credential: usize,
    /// Longest life of one allocation, refreshes included.
    pub max_lifetime: Duration,
    /// Per allocation and direction, bytes per second.
    pub bandwidth: u64,
    /// Whether an address belongs to this server (peers there are refused
    /// unless the port is an active relayed port).
    pub is_own: Box<dyn Fn(IpAddr) -> bool + Send>,
}

/// A token bucket in bytes: `rate` per second, one second of burst (at
/// least 64 KiB, so that a video keyframe passes).
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(now: Instant, rate: u64) -> Bucket {
        Bucket {
            tokens: Bucket::burst(rate),
            last: now,
        }
    }

    fn burst(rate: u64) -> f64 {
        rate.max(64 * 1024) as f64
    }

    fn take(&mut self, bytes: usize, rate: u64, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * rate as f64).min(Bucket::burst(rate));
        if self.tokens >= bytes as f64 {
            self.tokens -= bytes as f64;
            true
        } else {
            false
        }
    }
}

struct Allocation {
    client: Client,
    cred_id: String,
    username: String,
    expires: Instant,
    /// `--turn-max-lifetime` from creation, and the credential's expiry.
    hard_expiry: Instant,
    permissions: HashMap<IpAddr, Instant>,
    channels: HashMap<u16, (SocketAddr, Instant)>,
    channel_of: HashMap<SocketAddr, u16>,
    up: Bucket,
    down: Bucket,
    /// The Allocate transaction and its answer, for retransmissions.
    txid: TransactionId,
    answer: Vec<u8>,
}

/// An authenticated request's credentials, to sign the answer with.
struct Auth {
    username: String,
    cred_id: String,
    expiry_unix: u64,
    /// The unix time the request was checked at.
    unix: u64,
    credentials: MessageIntegrityCredentials,
    algorithm: IntegrityAlgorithm,
}

/// The TURN server.
pub struct TurnServer {
    settings: TurnSettings,
    minter: Minter,
    nonce_key: hmac::Key,
    ports: Box<dyn RelayPorts>,
    metrics: Arc<TurnMetrics>,
    /// By relayed port.
    allocations: HashMap<u16, Allocation>,
    by_client: HashMap<Client, u16>,
    per_credential: HashMap<String, usize>,
    /// Revoked credential ids, until their expiry (unix seconds).
    revoked: HashMap<String, u64>,
}

impl TurnServer {
    pub fn new(
        settings: TurnSettings,
        minter: Minter,
        ports: Box<dyn RelayPorts>,
        metrics: Arc<TurnMetrics>,
    ) -> TurnServer {
        let nonce_secret: [u8; 32] = rand::random();
        TurnServer {
            settings,
            minter,
            nonce_key: hmac::Key::new(hmac::HMAC_SHA256, &nonce_secret),
            ports,
            metrics,
            allocations: HashMap::new(),
            by_client: HashMap::new(),
            per_credential: HashMap::new(),
            revoked: HashMap::new(),
        }
    }

    pub fn metrics(&self) -> &Arc<TurnMetrics> {
        &self.metrics
    }

    pub fn allocation_count(&self) -> usize {
        self.allocations.len()
    }

    /// Whether `port` is an active relayed port.
    pub fn is_relay_port(&self, port: u16) -> bool {
        self.allocations.contains_key(&port)
    }

    /// A datagram (or a framed TCP message) from a client.
    pub fn on_client(
        &mut self,
        client: Client,
        data: &[u8],
        now: Instant,
        unix: u64,
    ) -> Vec<Output> {
        let mut out = Vec::new();
        match data.first() {
            Some(b) if b >> 6 == 0 => {
                if let Ok(msg) = Message::from_bytes(data) {
                    self.on_message(client, &msg, now, unix, &mut out);
                }
            }
            Some(b) if b >> 6 == 1 => {
                if let Ok(channel) = ChannelData::parse(data) {
                    self.on_channel_data(client, channel.id(), channel.data(), now, &mut out);
                }
            }
            _ => {}
        }
        out
    }

    /// A datagram that arrived on relayed port `relay_port` from `from`.
    pub fn on_peer(
        &mut self,
        relay_port: u16,
        from: SocketAddr,
        data: &[u8],
        now: Instant,
    ) -> Vec<Output> {
        let mut out = Vec::new();
        self.deliver_from_peer(relay_port, from, data, now, &mut out);
        out
    }

    /// Expires allocations, permissions, channels and old revocations.
    pub fn tick(&mut self, now: Instant, unix: u64) -> Vec<Output> {
        let mut out = Vec::new();
        let expired: Vec<u16> = self
            .allocations
            .iter()
            .filter(|(_, a)| a.expires <= now || a.hard_expiry <= now)
            .map(|(port, _)| *port)
            .collect();
        for port in expired {
            self.remove_allocation(port, &mut out);
        }
        for alloc in self.allocations.values_mut() {
            alloc.permissions.retain(|_, until| *until > now);
            let gone: Vec<u16> = alloc
                .channels
                .iter()
                .filter(|(_, (_, until))| *until <= now)
                .map(|(n, _)| *n)
                .collect();
            for n in gone {
                if let Some((peer, _)) = alloc.channels.remove(&n) {
                    alloc.channel_of.remove(&peer);
                }
            }
        }
        self.revoked.retain(|_, until| *until >= unix);
        out
    }

    /// Revokes credential `id` (valid until `until_unix`): it cannot allocate
    /// or refresh any more, and its allocations close at once.
    pub fn revoke(&mut self, id: &str, until_unix: u64) -> Vec<Output> {
        let mut out = Vec::new();
        self.revoked.insert(id.to_owned(), until_unix);
        let ports: Vec<u16> = self
            .allocations
            .iter()
            .filter(|(_, a)| a.cred_id == id)
            .map(|(port, _)| *port)
            .collect();
        for port in ports {
            self.remove_allocation(port, &mut out);
        }
        out
    }

    /// A TCP client went away: its allocations go with it (RFC 8656 §3.1).
    pub fn client_closed(&mut self, client: Client) -> Vec<Output> {
        let mut out = Vec::new();
        if let Some(port) = self.by_client.get(&client).copied() {
            self.remove_allocation(port, &mut out);
        }
        out
    }

    fn remove_allocation(&mut self, port: u16, out: &mut Vec<Output>) {
        let Some(alloc) = self.allocations.remove(&port) else {
            return;
        };
        self.by_client.remove(&alloc.client);
        if let Some(n) = self.per_credential.get_mut(&alloc.cred_id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_credential.remove(&alloc.cred_id);
            }
        }
        self.metrics.allocation_closed();
        out.push(Output::CloseRelay(port));
    }

    fn on_message(
        &mut self,
        client: Client,
        msg: &Message<'_>,
        now: Instant,
        unix: u64,
        out: &mut Vec<Output>,
    ) {
        match msg.class() {
            MessageClass::Request => {}
            MessageClass::Indication => {
                if msg.has_method(SEND) {
                    self.on_send_indication(client, msg, now, out);
                }
                return;
            }
            _ => return,
        }
        let method = msg.method();
        if method == BINDING {
            let mut w = Message::builder_success(msg, MessageWriteVec::new());
            let _ = w.add_attribute(&XorMappedAddress::new(client.addr, msg.transaction_id()));
            let _ = w.add_fingerprint();
            out.push(Output::ToClient {
                client,
                bytes: w.finish(),
            });
            return;
        }
        if ![ALLOCATE, REFRESH, CREATE_PERMISSION, CHANNEL_BIND].contains(&method) {
            self.answer_error(client, msg, ErrorCode::BAD_REQUEST, out);
            return;
        }
        if !self.settings.allocate {
            self.metrics.refused(Refusal::TurnDisabled);
            self.answer_error(client, msg, ErrorCode::FORBIDDEN, out);
            return;
        }
        let Some(auth) = self.authenticate(client, msg, unix, out) else {
            return;
        };
        match method {
            m if m == ALLOCATE => self.on_allocate(client, msg, &auth, now, out),
            m if m == REFRESH => self.on_refresh(client, msg, &auth, now, out),
            m if m == CREATE_PERMISSION => self.on_create_permission(client, msg, &auth, now, out),
            _ => self.on_channel_bind(client, msg, &auth, now, out),
        }
    }

    fn make_nonce(&self, ip: IpAddr, unix: u64) -> String {
        let expiry = unix.saturating_add(NONCE_LIFETIME_SECS);
        let tag = self.nonce_tag(ip, expiry);
        format!("{expiry:x}-{tag}")
    }

    fn nonce_tag(&self, ip: IpAddr, expiry: u64) -> String {
        let mut ctx = hmac::Context::with_key(&self.nonce_key);
        ctx.update(&expiry.to_be_bytes());
        match canonical(ip) {
            IpAddr::V4(v4) => ctx.update(&v4.octets()),
            IpAddr::V6(v6) => ctx.update(&v6.octets()),
        }
        let tag = ctx.sign();
        URL_SAFE_NO_PAD.encode(&tag.as_ref()[..16])
    }

    fn nonce_valid(&self, nonce: &str, ip: IpAddr, unix: u64) -> bool {
        let Some((expiry, tag)) = nonce.split_once('-') else {
            return false;
        };
        let Ok(expiry) = u64::from_str_radix(expiry, 16) else {
            return false;
        };
        let expected = self.nonce_tag(ip, expiry);
        expiry >= unix && bool::from(expected.as_bytes().ct_eq(tag.as_bytes()))
    }

    /// Checks the long-term credentials of a request; answers 401/438 itself.
    fn authenticate(
        &mut self,
        client: Client,
        msg: &Message<'_>,
        unix: u64,
        out: &mut Vec<Output>,
    ) -> Option<Auth> {
        let has_integrity = msg.has_attribute(MessageIntegrity::TYPE)
            || msg.has_attribute(MessageIntegritySha256::TYPE);
        let username = msg.attribute::<Username>().ok();
        let nonce = msg.attribute::<Nonce>().ok();
        let realm = msg.attribute::<Realm>().ok();
        let (Some(username), Some(nonce), Some(realm), true) =
            (username, nonce, realm, has_integrity)
        else {
            // The first request of every client: tell it the realm and a nonce.
            self.metrics.refused(Refusal::Unauthenticated);
            self.answer_challenge(client, msg, ErrorCode::UNAUTHORIZED, unix, out);
            return None;
        };
        if !self.nonce_valid(nonce.nonce(), client.addr.ip(), unix) {
            self.answer_challenge(client, msg, ErrorCode::STALE_NONCE, unix, out);
            return None;
        }
        let username = username.username().to_owned();
        if realm.realm() != self.settings.realm {
            self.metrics.auth_failed(Refusal::BadCredentials);
            self.answer_challenge(client, msg, ErrorCode::UNAUTHORIZED, unix, out);
            return None;
        }
        let Some((expiry_unix, id)) = parse_username(&username) else {
            self.metrics.auth_failed(Refusal::BadCredentials);
            self.answer_challenge(client, msg, ErrorCode::UNAUTHORIZED, unix, out);
            return None;
        };
        let id = id.to_owned();
        let password = self.minter.password_for(&username);
        let credentials: MessageIntegrityCredentials = LongTermKeyCredentials::new(
            username.clone(),
            password.to_string(),
            self.settings.realm.clone(),
        )
        .into();
        let Ok(algorithm) = msg.validate_integrity(&credentials) else {
            self.metrics.auth_failed(Refusal::BadCredentials);
            self.answer_challenge(client, msg, ErrorCode::UNAUTHORIZED, unix, out);
            return None;
        };
        if expiry_unix < unix {
            self.metrics.auth_failed(Refusal::Expired);
            self.answer_challenge(client, msg, ErrorCode::UNAUTHORIZED, unix, out);
            return None;
        }
        if self.revoked.contains_key(&id) {
            self.metrics.auth_failed(Refusal::Revoked);
            self.answer_challenge(client, msg, ErrorCode::UNAUTHORIZED, unix, out);
            return None;
        }
        Some(Auth {
            username,
            cred_id: id,
            expiry_unix,
            unix,
            credentials,
            algorithm,
        })
    }

    fn on_allocate(
        &mut self,
        client: Client,
        msg: &Message<'_>,
        auth: &Auth,
        now: Instant,
        out: &mut Vec<Output>,
    ) {
        if let Some(port) = self.by_client.get(&client)
            && let Some(alloc) = self.allocations.get(port)
        {
            if alloc.txid == msg.transaction_id() {
                out.push(Output::ToClient {
                    client,
                    bytes: alloc.answer.clone(),
                });
            } else {
                self.answer_signed(client, msg, auth, ErrorCode::ALLOCATION_MISMATCH, out);
            }
            return;
        }
        match msg.attribute::<RequestedTransport>() {
            Ok(t) if t.protocol() == RequestedTransport::UDP => {}
            Ok(_) => {
                return self.answer_signed(
                    client,
                    msg,
                    auth,
                    ErrorCode::UNSUPPORTED_TRANSPORT_PROTOCOL,
                    out,
                );
            }
            Err(_) => return self.answer_signed(client, msg, auth, ErrorCode::BAD_REQUEST, out),
        }
        if let Ok(family) = msg.attribute::<RequestedAddressFamily>()
            && family.family() != stun_types::AddressFamily::IPV4
        {
            return self.answer_signed(
                client,
                msg,
                auth,
                ErrorCode::ADDRESS_FAMILY_NOT_SUPPORTED,
                out,
            );
        }
        // EVEN-PORT (RFC 8656 §7.2): an even port we give; reserving the
        // next one (R = 1) we do not, and so no RESERVATION-TOKEN is ever
        // valid here: 508 for both, as for a port range without room.
        let even = match msg.attribute::<EvenPort>() {
            Ok(even_port) if even_port.requested() => {
                self.metrics.refused(Refusal::Unsupported);
                return self.answer_signed(
                    client,
                    msg,
                    auth,
                    ErrorCode::INSUFFICIENT_CAPACITY,
                    out,
                );
            }
            Ok(_) => true,
            Err(_) if msg.has_attribute(EvenPort::TYPE) => {
                return self.answer_signed(client, msg, auth, ErrorCode::BAD_REQUEST, out);
            }
            Err(_) => false,
        };
        if msg.has_attribute(ReservationToken::TYPE) {
            if even {
                // The two are exclusive (RFC 8656 §7.2).
                return self.answer_signed(client, msg, auth, ErrorCode::BAD_REQUEST, out);
            }
            self.metrics.refused(Refusal::Unsupported);
            return self.answer_signed(client, msg, auth, ErrorCode::INSUFFICIENT_CAPACITY, out);
        }
        if self.per_credential.get(&auth.cred_id).copied().unwrap_or(0)
            >= self.settings.max_allocations_per_credential
        {
            self.metrics.refused(Refusal::CredentialQuota);
            return self.answer_signed(client, msg, auth, ErrorCode::ALLOCATION_QUOTA_REACHED, out);
        }
        if self.allocations.len() >= self.settings.max_allocations {
            self.metrics.refused(Refusal::ServerQuota);
            return self.answer_signed(client, msg, auth, ErrorCode::INSUFFICIENT_CAPACITY, out);
        }
        let Some(port) = self.ports.open(even) else {
            self.metrics.refused(Refusal::NoPort);
            return self.answer_signed(client, msg, auth, ErrorCode::INSUFFICIENT_CAPACITY, out);
        };
        let cred_left = Duration::from_secs(auth.expiry_unix.saturating_sub(auth.unix));
        let hard_expiry = now + self.settings.max_lifetime.min(cred_left);
        let lifetime = requested_lifetime(msg).min(hard_expiry.saturating_duration_since(now));
        let mut w = Message::builder_success(msg, MessageWriteVec::new());
        let relayed = SocketAddr::new(self.settings.relay_ip, port);
        let _ = w.add_attribute(&XorRelayedAddress::new(relayed, msg.transaction_id()));
        let _ = w.add_attribute(&Lifetime::new(lifetime.as_secs() as u32));
        let _ = w.add_attribute(&XorMappedAddress::new(client.addr, msg.transaction_id()));
        let answer = sign(w, auth);
        let rate = self.settings.bandwidth;
        self.allocations.insert(
            port,
            Allocation {
                client,
                cred_id: auth.cred_id.clone(),
                username: auth.username.clone(),
                expires: now + lifetime,
                hard_expiry,
                permissions: HashMap::new(),
                channels: HashMap::new(),
                channel_of: HashMap::new(),
                up: Bucket::new(now, rate),
                down: Bucket::new(now, rate),
                txid: msg.transaction_id(),
                answer: answer.clone(),
            },
        );
        self.by_client.insert(client, port);
        *self.per_credential.entry(auth.cred_id.clone()).or_default() += 1;
        self.metrics.allocation_opened();
        out.push(Output::ToClient {
            client,
            bytes: answer,
        });
    }

    /// The client's allocation, answering 437 (no allocation) or 441 (another
    /// credential's allocation) itself.
    fn own_allocation(
        &self,
        client: Client,
        msg: &Message<'_>,
        auth: &Auth,
        out: &mut Vec<Output>,
    ) -> Option<u16> {
        let Some(port) = self.by_client.get(&client).copied() else {
            self.answer_signed(client, msg, auth, ErrorCode::ALLOCATION_MISMATCH, out);
            return None;
        };
        match self.allocations.get(&port) {
            Some(alloc) if alloc.username == auth.username => Some(port),
            Some(_) => {
                self.answer_signed(client, msg, auth, ErrorCode::WRONG_CREDENTIALS, out);
                None
            }
            None => {
                self.answer_signed(client, msg, auth, ErrorCode::ALLOCATION_MISMATCH, out);
                None
            }
        }
    }

    fn on_refresh(
        &mut self,
        client: Client,
        msg: &Message<'_>,
        auth: &Auth,
        now: Instant,
        out: &mut Vec<Output>,
    ) {
        let Some(port) = self.own_allocation(client, msg, auth, out) else {
            return;
        };
        let asked = msg.attribute::<Lifetime>().map(|l| l.seconds()).ok();
        let granted = if asked == Some(0) {
            self.remove_allocation(port, out);
            Duration::ZERO
        } else {
            let Some(alloc) = self.allocations.get_mut(&port) else {
                return;
            };
            let left = alloc.hard_expiry.saturating_duration_since(now);
            if left.is_zero() {
                self.metrics.refused(Refusal::Lifetime);
                return self.answer_signed(client, msg, auth, ErrorCode::FORBIDDEN, out);
            }
            let granted = requested_lifetime(msg).min(left);
            alloc.expires = now + granted;
            granted
        };
        let mut w = Message::builder_success(msg, MessageWriteVec::new());
        let _ = w.add_attribute(&Lifetime::new(granted.as_secs() as u32));
        out.push(Output::ToClient {
            client,
            bytes: sign(w, auth),
        });
    }

    /// The verdict for a peer address, by the policy and the active relayed ports.
    fn verdict(&self, peer: SocketAddr) -> Verdict {
        peer_verdict(peer, &self.settings.is_own, |port| {
            self.allocations.contains_key(&port)
        })
    }

    fn on_create_permission(
        &mut self,
        client: Client,
        msg: &Message<'_>,
        auth: &Auth,
        now: Instant,
        out: &mut Vec<Output>,
    ) {
        let Some(port) = self.own_allocation(client, msg, auth, out) else {
            return;
        };
        let mut peers = Vec::new();
        let mut n = 0;
        while let Ok(peer) = msg.nth_attribute::<XorPeerAddress>(n) {
            peers.push(peer.addr(msg.transaction_id()));
            n += 1;
            if n > 16 {
                break;
            }
        }
        if peers.is_empty() {
            return self.answer_signed(client, msg, auth, ErrorCode::BAD_REQUEST, out);
        }
        for peer in &peers {
            // Permissions are per IP, but an address of this server is only
            // allowed with the port of an active relayed port (every packet
            // and ChannelBind check the port again).
            if let Verdict::Denied(why) = self.verdict(*peer) {
                self.metrics.refused(Refusal::Peer(why));
                return self.answer_signed(client, msg, auth, ErrorCode::FORBIDDEN, out);
            }
            if !canonical(peer.ip()).is_ipv4() {
                return self.answer_signed(
                    client,
                    msg,
                    auth,
                    ErrorCode::PEER_ADDRESS_FAMILY_MISMATCH,
                    out,
                );
            }
        }
        let Some(alloc) = self.allocations.get_mut(&port) else {
            return;
        };
        for peer in peers {
            let ip = canonical(peer.ip());
            if alloc.permissions.len() >= MAX_PERMISSIONS && !alloc.permissions.contains_key(&ip) {
                self.metrics.refused(Refusal::Permissions);
                return self.answer_signed(
                    client,
                    msg,
                    auth,
                    ErrorCode::INSUFFICIENT_CAPACITY,
                    out,
                );
            }
            alloc.permissions.insert(ip, now + PERMISSION_LIFETIME);
        }
        let w = Message::builder_success(msg, MessageWriteVec::new());
        out.push(Output::ToClient {
            client,
            bytes: sign(w, auth),
        });
    }

    fn on_channel_bind(
        &mut self,
        client: Client,
        msg: &Message<'_>,
        auth: &Auth,
        now: Instant,
        out: &mut Vec<Output>,
    ) {
        let Some(port) = self.own_allocation(client, msg, auth, out) else {
            return;
        };
        let (Ok(number), Ok(peer)) = (
            msg.attribute::<ChannelNumber>(),
            msg.attribute::<XorPeerAddress>(),
        ) else {
            return self.answer_signed(client, msg, auth, ErrorCode::BAD_REQUEST, out);
        };
        let number = number.channel();
        let peer = peer.addr(msg.transaction_id());
        if !CHANNELS.contains(&number) {
            return self.answer_signed(client, msg, auth, ErrorCode::BAD_REQUEST, out);
        }
        let peer = SocketAddr::new(canonical(peer.ip()), peer.port());
        if let Verdict::Denied(why) = self.verdict(peer) {
            self.metrics.refused(Refusal::Peer(why));
            return self.answer_signed(client, msg, auth, ErrorCode::FORBIDDEN, out);
        }
        if !peer.ip().is_ipv4() {
            return self.answer_signed(
                client,
                msg,
                auth,
                ErrorCode::PEER_ADDRESS_FAMILY_MISMATCH,
                out,
            );
        }
        let Some(alloc) = self.allocations.get_mut(&port) else {
            return;
        };
        let clash = alloc.channels.get(&number).is_some_and(|(p, _)| *p != peer)
            || alloc.channel_of.get(&peer).is_some_and(|n| *n != number);
        if clash
            || (alloc.channels.len() >= MAX_PERMISSIONS && !alloc.channels.contains_key(&number))
        {
            return self.answer_signed(client, msg, auth, ErrorCode::BAD_REQUEST, out);
        }
        alloc
            .channels
            .insert(number, (peer, now + CHANNEL_LIFETIME));
        alloc.channel_of.insert(peer, number);
        alloc
            .permissions
            .insert(peer.ip(), now + PERMISSION_LIFETIME);
        let w = Message::builder_success(msg, MessageWriteVec::new());
        out.push(Output::ToClient {
            client,
            bytes: sign(w, auth),
        });
    }

    fn on_send_indication(
        &mut self,
        client: Client,
        msg: &Message<'_>,
        now: Instant,
        out: &mut Vec<Output>,
    ) {
        let Some(port) = self.by_client.get(&client).copied() else {
            return;
        };
        let (Ok(peer), Ok(data)) = (msg.attribute::<XorPeerAddress>(), msg.attribute::<Data>())
        else {
            return;
        };
        let peer = peer.addr(msg.transaction_id());
        self.relay_to_peer(port, peer, data.data(), now, out);
    }

    fn on_channel_data(
        &mut self,
        client: Client,
        number: u16,
        data: &[u8],
        now: Instant,
        out: &mut Vec<Output>,
    ) {
        let Some(port) = self.by_client.get(&client).copied() else {
            return;
        };
        let Some(peer) = self
            .allocations
            .get(&port)
            .and_then(|a| a.channels.get(&number))
            .filter(|(_, until)| *until > now)
            .map(|(peer, _)| *peer)
        else {
            return;
        };
        self.relay_to_peer(port, peer, data, now, out);
    }

    /// Client → peer, through allocation `port`.
    fn relay_to_peer(
        &mut self,
        port: u16,
        peer: SocketAddr,
        data: &[u8],
        now: Instant,
        out: &mut Vec<Output>,
    ) {
        let peer = SocketAddr::new(canonical(peer.ip()), peer.port());
        // The permission first: it is cheap, and only permitted peers get a verdict.
        let permitted = self.allocations.get(&port).is_some_and(|alloc| {
            alloc
                .permissions
                .get(&peer.ip())
                .is_some_and(|until| *until > now)
        });
        if !permitted {
            return;
        }
        let verdict = self.verdict(peer);
        let rate = self.settings.bandwidth;
        let Some(alloc) = self.allocations.get_mut(&port) else {
            return;
        };
        if !alloc.up.take(data.len(), rate, now) {
            self.metrics.bandwidth_drop();
            return;
        }
        match verdict {
            Verdict::Allowed => {
                self.metrics.relayed_up(data.len());
                out.push(Output::ToPeer {
                    relay_port: port,
                    to: peer,
                    bytes: data.to_vec(),
                });
            }
            Verdict::OwnRelay(other) => {
                // Two allocations on this server: delivered inside the process
                // (no hairpin through a 1:1 NAT needed).
                self.metrics.relayed_up(data.len());
                let from = SocketAddr::new(self.settings.relay_ip, port);
                self.deliver_from_peer(other, from, data, now, out);
            }
            Verdict::Denied(why) => self.metrics.refused(Refusal::Peer(why)),
        }
    }

    /// Peer → client, for allocation `port`.
    fn deliver_from_peer(
        &mut self,
        port: u16,
        from: SocketAddr,
        data: &[u8],
        now: Instant,
        out: &mut Vec<Output>,
    ) {
        // What does not fit into one STUN message or ChannelData is dropped.
        if data.len() > MAX_RELAYED {
            return;
        }
        let rate = self.settings.bandwidth;
        let Some(alloc) = self.allocations.get_mut(&port) else {
            return;
        };
        let from = SocketAddr::new(canonical(from.ip()), from.port());
        if alloc
            .permissions
            .get(&from.ip())
            .is_none_or(|until| *until <= now)
        {
            return;
        }
        if !alloc.down.take(data.len(), rate, now) {
            self.metrics.bandwidth_drop();
            return;
        }
        let client = alloc.client;
        let bytes = match alloc.channel_of.get(&from) {
            Some(&number) if alloc.channels.get(&number).is_some_and(|(_, t)| *t > now) => {
                channel_data(number, data, matches!(client.transport, Transport::Tcp(_)))
            }
            _ => {
                let mut w = Message::builder_indication(
                    DATA,
                    MessageWriteVec::with_capacity(data.len() + 40),
                );
                let txid = w.transaction_id();
                let _ = w.add_attribute(&XorPeerAddress::new(from, txid));
                let _ = w.add_attribute(&Data::new(data));
                w.finish()
            }
        };
        self.metrics.relayed_down(data.len());
        out.push(Output::ToClient { client, bytes });
    }

    /// An unsigned error with REALM and a fresh NONCE (401, 438).
    fn answer_challenge(
        &self,
        client: Client,
        msg: &Message<'_>,
        code: u16,
        unix: u64,
        out: &mut Vec<Output>,
    ) {
        let mut w = Message::builder_error(msg, MessageWriteVec::new());
        if let Ok(error) = ErrorCode::builder(code).build() {
            let _ = w.add_attribute(&error);
        }
        if let Ok(realm) = Realm::new(&self.settings.realm) {
            let _ = w.add_attribute(&realm);
        }
        if let Ok(nonce) = Nonce::new(&self.make_nonce(client.addr.ip(), unix)) {
            let _ = w.add_attribute(&nonce);
        }
        let _ = w.add_fingerprint();
        out.push(Output::ToClient {
            client,
            bytes: w.finish(),
        });
    }

    /// An unsigned error (before authentication, or when TURN is off).
    fn answer_error(&self, client: Client, msg: &Message<'_>, code: u16, out: &mut Vec<Output>) {
        let mut w = Message::builder_error(msg, MessageWriteVec::new());
        if let Ok(error) = ErrorCode::builder(code).build() {
            let _ = w.add_attribute(&error);
        }
        let _ = w.add_fingerprint();
        out.push(Output::ToClient {
            client,
            bytes: w.finish(),
        });
    }

    /// An error signed with the request's credentials.
    fn answer_signed(
        &self,
        client: Client,
        msg: &Message<'_>,
        auth: &Auth,
        code: u16,
        out: &mut Vec<Output>,
    ) {
        let mut w = Message::builder_error(msg, MessageWriteVec::new());
        if let Ok(error) = ErrorCode::builder(code).build() {
            let _ = w.add_attribute(&error);
        }
        out.push(Output::ToClient {
            client,
            bytes: sign(w, auth),
        });
    }
}

fn requested_lifetime(msg: &Message<'_>) -> Duration {
    match msg.attribute::<Lifetime>() {
        Ok(l) => {
            Duration::from_secs(l.seconds() as u64).clamp(DEFAULT_LIFETIME, MAX_REFRESH_LIFETIME)
        }
        Err(_) => DEFAULT_LIFETIME,
    }
}

fn sign(mut w: MessageWriteVec, auth: &Auth) -> Vec<u8> {
    let _ = w.add_message_integrity(&auth.credentials, auth.algorithm);
    let _ = w.add_fingerprint();
    w.finish()
}

/// A ChannelData message; over TCP padded to a multiple of four bytes.
fn channel_data(number: u16, data: &[u8], pad: bool) -> Vec<u8> {
    let len = 4 + data.len();
    let total = if pad { len.div_ceil(4) * 4 } else { len };
    let mut bytes = vec![0; total];
    ChannelData::new(number, data).write_into_unchecked(&mut bytes[..len]);
    bytes
}
