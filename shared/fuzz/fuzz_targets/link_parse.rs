//! Link parsing must never panic, and whatever it accepts must re-encode to
//! a link that parses to the same invite.

#![no_main]

use confide_shared::link::Invite;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(inv) = Invite::parse(s) {
        let again = Invite::parse(&inv.fragment()).expect("own fragment parses");
        assert_eq!(again.room_id(), inv.room_id());
        assert_eq!(again.secret().as_bytes(), inv.secret().as_bytes());
    }
});
