//! End-to-end media frame encryption: SFrame (RFC 9605) plus confide's
//! codec-aware framing for WebRTC encoded transforms.
//!
//! Sending: one [`SenderKey`] per local participant and epoch;
//! [`SenderKey::encrypt_frame`] for every outgoing audio and video frame.
//! Receiving: one [`ReceiverKeyStore`] per remote sender and one
//! [`ReceiveStream`] per receiving track; [`ReceiveStream::decrypt_frame`]
//! for every incoming frame. Any error means: drop the frame.
//!
//! Pure: no clocks, no randomness. Callers pass base keys and `now_ms`.
//! Spec: `docs/PROTOCOL.md (section 4)`.

mod codec;
mod error;
mod frame;
mod header;
mod keys;
mod receiver;
mod replay;
mod sender;
mod suite;

pub use codec::{Codec, MAX_CLEAR_PREFIX};
pub use error::SframeError;
pub use header::{EncodedHeader, MAX_HEADER_LEN, SframeHeader};
pub use keys::{FrameKeys, key_label, salt_label, sframe_secret};
pub use receiver::{KEY_OVERLAP_MS, MAX_KEYS_PER_SENDER, ReceiveStream, ReceiverKeyStore};
pub use replay::{REPLAY_WINDOW, ReplayWindow};
pub use sender::{BASE_KEY_LEN, COUNTER_LIMIT, ROTATION_THRESHOLD, SenderKey};
pub use suite::{CipherSuite, NONCE_LEN, TAG_LEN};
