//! Envelope and signal decoding must never panic; a failed open must leave
//! the channel able to open the next genuine envelope; any change to a
//! genuine envelope must fail.
//!
//! Input: used as an envelope (must fail: the attacker has no key), then
//! as an XOR mask over a genuine envelope (must fail unless all-zero).

#![no_main]

use confide_shared::envelope::Channel;
use confide_shared::handshake::{Initiator, Responder, SessionKeypair};
use confide_shared::link::{InviteSecret, Invite, SessionSecret};
use confide_shared::signal::{Knock, Signal};
use libfuzzer_sys::fuzz_target;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn pair() -> (Channel, Channel) {
    let mut rng = ChaCha20Rng::from_seed([7; 32]);
    let ss = SessionSecret::from_bytes([1; 32]);
    let inv = Invite::new(ss.room_id(), InviteSecret::from_bytes([2; 32]));
    let (room, psk) = (ss.room_id(), inv.psk());
    let g = SessionKeypair::generate(&mut rng);
    let h = SessionKeypair::generate(&mut rng);
    let (gi, m1) = Initiator::start(&mut rng, &g, &psk, &room);
    let (hr, m2) = Responder::accept(&mut rng, &h, &psk, &room, &m1).expect("m1");
    let (gc, m3) = gi.on_reveal(&mut rng, &m2).expect("m2");
    let (he, m4) = hr.on_reveal(&mut rng, &m3).expect("m3");
    let ge = gc.on_confirm(&m4).expect("m4");
    (ge.into_channel(), he.into_channel())
}

fuzz_target!(|data: &[u8]| {
    let _ = Signal::decode(data);
    let _ = Knock::from_json(data);

    let (mut g, mut h) = pair();
    assert!(h.open(data).is_err(), "forged envelope accepted");
    let genuine = g.seal(b"{\"t\":\"Bye\"}").expect("seal");
    let mut tampered = genuine.clone();
    for (b, m) in tampered.iter_mut().zip(data) {
        *b ^= m;
    }
    if tampered != genuine {
        assert!(h.open(&tampered).is_err(), "tampered envelope accepted");
    }
    assert!(Signal::open(&mut h, &genuine).is_ok());
});
