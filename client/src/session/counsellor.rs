//! The counsellor's sign-in, kept in `localStorage` on her own device (it
//! outlives the tab: she signs in once). It arrives in the fragment of the
//! sign-in link from the centre's admin, which the browser never sends to a
//! server; the relay checks it on every `create_room` (docs/PROTOCOL.md,
//! "Counsellor sign-in"). Guests never have one.

use confide_shared::wire::CounsellorToken;

const KEY: &str = "confide.counsellor";
const FRAGMENT: &str = "#counsellor=";

fn parse(text: &str) -> Option<CounsellorToken> {
    CounsellorToken::from_base64(text).ok()
}

/// Keeps the sign-in of a sign-in link in the address bar and removes it from
/// there (and from the history entry). A damaged link signs nobody in.
pub fn take_from_link() {
    if crate::GUEST_MODULE {
        return;
    }
    let Some(window) = web_sys::window() else {
        return;
    };
    // A sign-in link opened in a tab that already shows the app changes only
    // the fragment: load the page again so that it is taken.
    let reload = wasm_bindgen::closure::Closure::<dyn Fn()>::new(|| {
        if let Some(window) = web_sys::window()
            && window
                .location()
                .hash()
                .is_ok_and(|hash| hash.starts_with(FRAGMENT))
        {
            let _ = window.location().reload();
        }
    });
    window.set_onhashchange(Some(wasm_bindgen::JsCast::unchecked_ref(reload.as_ref())));
    reload.forget();
    let hash = window.location().hash().unwrap_or_default();
    let Some(text) = hash.strip_prefix(FRAGMENT) else {
        return;
    };
    if let (Some(token), Some(storage)) = (parse(text), super::device_storage()) {
        let _ = storage.set_item(KEY, &token.to_base64());
    }
    // Keep the path and query, drop the fragment.
    let location = window.location();
    let url = location.pathname().unwrap_or_default() + &location.search().unwrap_or_default();
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
}

/// The kept sign-in, if any.
pub fn load() -> Option<CounsellorToken> {
    if crate::GUEST_MODULE {
        return None;
    }
    parse(&super::device_storage()?.get_item(KEY).ok()??)
}

/// "Abmelden", or the relay refused the sign-in (revoked, or a new key).
pub fn forget() {
    if let Some(storage) = super::device_storage() {
        let _ = storage.remove_item(KEY);
    }
}
