//! The counsellor's next connection, made before its guest is known.
//!
//! When she lets a guest in, the guest's handshake takes a round trip
//! through the relay before either side knows the other's participant id.
//! Only then could the connection be made and its offer asked for, and the
//! browser's offer (and its ICE gathering) took as long again. A prepared
//! connection is made at the click instead: transceivers, transforms and
//! tracks as for any offerer, its transforms under a random placeholder
//! tag, and `setLocalDescription()` already asked for. When the handshake
//! ends, [`Mesh::add_peer`](super::Mesh::add_peer) takes it: the worker
//! learns that the placeholder's streams are the guest's (`retag`, before
//! any frame can flow: none does before the offer is sent), the handlers
//! are installed, and the offer leaves at once, with the candidates the
//! browser gathered meanwhile in it (docs/BENCHMARKS.md §12.14).

use rand_core::{OsRng, RngCore};

use super::*;

/// A connection waiting for its guest.
pub(super) struct Prepared {
    pc: RtcPeerConnection,
    /// The tag its transforms were made under.
    pub(super) placeholder: ParticipantId,
    policy: TransportPolicy,
    /// What it was made to send.
    sending: Sending,
    pub(super) slots: Vec<Slot>,
    /// The one-step `setLocalDescription()`: settles once the offer is set.
    offer: js_sys::Promise,
    /// Candidates gathered so far, as the signals that would carry them.
    gathered: Rc<RefCell<Vec<Signal>>>,
    _on_candidate: Handler,
}

impl Prepared {
    /// A connection with `policy`, or nothing if a transform or the offer
    /// could not be made (the guest's connection is then made as before).
    pub(super) fn make(inner: &Inner, policy: TransportPolicy) -> Option<Prepared> {
        let mut bytes = [0u8; 16];
        OsRng.fill_bytes(&mut bytes);
        let placeholder = ParticipantId::from_bytes(bytes);
        let pc = inner.new_connection(policy).ok()?;
        let (slots, failed) = inner.offerer_slots(&pc, &peer_tag(&placeholder), false);
        let gathered: Rc<RefCell<Vec<Signal>>> = Rc::default();
        let on_candidate = {
            let gathered = gathered.clone();
            Handler::new(move |event: JsValue| {
                let event: RtcPeerConnectionIceEvent = event.unchecked_into();
                if let Some(candidate) = event.candidate()
                    && !candidate.candidate().is_empty()
                {
                    gathered.borrow_mut().push(Signal::Ice {
                        candidate: candidate.candidate(),
                        sdp_mid: candidate.sdp_mid(),
                        sdp_m_line_index: candidate.sdp_m_line_index(),
                    });
                }
            })
        };
        pc.set_onicecandidate(Some(on_candidate.as_ref().unchecked_ref()));
        let offer = if failed.is_empty() {
            make_and_set_local(&pc).ok()
        } else {
            None
        };
        let Some(offer) = offer else {
            let _ = inner.crypto.forget_peer(&placeholder);
            pc.set_onicecandidate(None);
            pc.close();
            return None;
        };
        Some(Prepared {
            pc,
            placeholder,
            policy,
            sending: inner.sending,
            slots,
            offer,
            gathered,
            _on_candidate: on_candidate,
        })
    }

    /// Whether a connection to a peer with `policy` may be this one: made
    /// for the same candidates and the same kinds sent.
    pub(super) fn fits(&self, policy: TransportPolicy, sending: Sending) -> bool {
        self.policy == policy && self.sending == sending
    }

    /// The connection, its slots, its offer and the candidates gathered
    /// so far, for its peer (whose handlers replace ours).
    pub(super) fn take_over(self) -> (RtcPeerConnection, Vec<Slot>, js_sys::Promise, Vec<Signal>) {
        self.pc.set_onicecandidate(None);
        let gathered = self.gathered.take();
        (self.pc, self.slots, self.offer, gathered)
    }

    /// Closes it unused, and its streams in the worker.
    pub(super) fn discard(self, crypto: &FrameCrypto) {
        let _ = crypto.forget_peer(&self.placeholder);
        self.pc.set_onicecandidate(None);
        self.pc.close();
    }
}
