//! What this tab keeps in `sessionStorage` so that a reload rejoins the call.
//!
//! `sessionStorage` belongs to this one tab, survives a reload and is gone
//! when the tab closes. It holds the session snapshot of
//! `confide_shared::resume` (as secret as the invite link) and the media
//! choice, never a key. Hang-up, the end of the session and quick exit clear
//! it.

use confide_shared::resume::Resume;
use serde::{Deserialize, Serialize};
use web_sys::Storage;

const SESSION_KEY: &str = "confide.session";
const MEDIA_KEY: &str = "confide.media";

/// How the tab took part, to take part the same way after a reload.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct MediaChoice {
    /// The user was in the call (not on the invite or waiting screen).
    pub in_call: bool,
    pub audio_only: bool,
    pub camera_id: Option<String>,
    pub microphone_id: Option<String>,
    /// The counsellor chose "IP-Adresse verbergen" (kept across a reload).
    #[serde(default)]
    pub hide_address: bool,
}

fn storage() -> Option<Storage> {
    web_sys::window()?.session_storage().ok()?
}

/// Keeps the snapshot (replacing the previous one).
pub fn save(resume: &Resume, media: &MediaChoice) {
    let Some(storage) = storage() else { return };
    let _ = storage.set_item(SESSION_KEY, &resume.to_json());
    if let Ok(json) = serde_json::to_string(media) {
        let _ = storage.set_item(MEDIA_KEY, &json);
    }
}

/// The kept snapshot, if there is a usable one (a damaged one is deleted).
pub fn load() -> Option<(Resume, MediaChoice)> {
    let storage = storage()?;
    let json = storage.get_item(SESSION_KEY).ok()??;
    match Resume::from_json(&json) {
        Ok(resume) => {
            let media = storage
                .get_item(MEDIA_KEY)
                .ok()
                .flatten()
                .and_then(|m| serde_json::from_str(&m).ok())
                .unwrap_or_default();
            Some((resume, media))
        }
        Err(_) => {
            clear();
            None
        }
    }
}

/// Forgets everything this tab kept.
pub fn clear() {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(SESSION_KEY);
        let _ = storage.remove_item(MEDIA_KEY);
    }
}
