//! The counsellor's choices about how she speaks to guests, kept on her
//! device: "Sie" or "du" in her links (her last choice, per device) and the
//! name her guests see for her (per sign-in). Guests keep nothing here:
//! their form of address is in their link.

use confide_shared::link::Address;
use confide_shared::wire::CounsellorToken;

const ADDRESS_KEY: &str = "confide.address";
const NAME_PREFIX: &str = "confide.name.";
const INFORMAL: &str = "du";

/// Her last choice for new links; "Sie" if none.
pub fn address() -> Address {
    match super::device_storage().and_then(|s| s.get_item(ADDRESS_KEY).ok().flatten()) {
        Some(text) if text == INFORMAL => Address::Informal,
        _ => Address::Formal,
    }
}

pub fn remember_address(address: Address) {
    if let Some(storage) = super::device_storage() {
        let _ = match address {
            Address::Informal => storage.set_item(ADDRESS_KEY, INFORMAL),
            Address::Formal => storage.remove_item(ADDRESS_KEY),
        };
    }
}

/// The name her guests see for her ("" if none).
pub fn own_name(counsellor: &CounsellorToken) -> String {
    super::device_storage()
        .and_then(|s| {
            s.get_item(&super::planner::keyed(NAME_PREFIX, counsellor))
                .ok()
                .flatten()
        })
        .unwrap_or_default()
}

pub fn remember_own_name(counsellor: &CounsellorToken, name: &str) {
    let key = super::planner::keyed(NAME_PREFIX, counsellor);
    if let Some(storage) = super::device_storage() {
        let _ = match name.trim() {
            "" => storage.remove_item(&key),
            name => storage.set_item(&key, name),
        };
    }
}
