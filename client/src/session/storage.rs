//! What this tab keeps in `sessionStorage` so that a reload rejoins the call.
//!
//! `sessionStorage` belongs to this one tab, survives a reload and is gone
//! when the tab closes. It holds the session snapshot of
//! `confide_shared::resume` (as secret as the invite link) and the media
//! choice, never a key. Hang-up, the end of the session and quick exit clear
//! it.

use confide_shared::json::{self, JsonError, ObjectWriter, bool_of, string_of};
use confide_shared::resume::Resume;
use web_sys::Storage;

const SESSION_KEY: &str = "confide.session";
const MEDIA_KEY: &str = "confide.media";

/// How the tab took part, to take part the same way after a reload.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MediaChoice {
    /// The user was in the call (not on the invite or waiting screen).
    pub in_call: bool,
    pub audio_only: bool,
    /// The guest chose "Nur schreiben": a reload asks for nothing either.
    pub chat_only: bool,
    pub camera_id: Option<String>,
    pub microphone_id: Option<String>,
    /// The counsellor chose "IP-Adresse verbergen" (kept across a reload).
    pub hide_address: bool,
}

impl MediaChoice {
    /// `{"in_call":…,"audio_only":…,"chat_only":…,"camera_id":…|null,"microphone_id":…|null,"hide_address":…}`
    fn to_json(&self) -> String {
        let mut out = String::new();
        let mut w = ObjectWriter::new(&mut out);
        w.bool("in_call", self.in_call)
            .bool("audio_only", self.audio_only)
            .bool("chat_only", self.chat_only)
            .str_or_null("camera_id", self.camera_id.as_deref())
            .str_or_null("microphone_id", self.microphone_id.as_deref())
            .bool("hide_address", self.hide_address);
        w.end();
        out
    }

    /// Fields it does not know are ignored; `hide_address` and `chat_only` may
    /// be absent (older tabs).
    fn from_json(text: &str) -> Result<Self, JsonError> {
        let mut o = json::parse(text)?.into_object()?;
        Ok(MediaChoice {
            in_call: o.required("in_call", bool_of)?,
            audio_only: o.required("audio_only", bool_of)?,
            chat_only: o.or_default("chat_only", bool_of)?,
            camera_id: o.optional("camera_id", string_of)?,
            microphone_id: o.optional("microphone_id", string_of)?,
            hide_address: o.or_default("hide_address", bool_of)?,
        })
    }
}

fn storage() -> Option<Storage> {
    web_sys::window()?.session_storage().ok()?
}

/// Keeps the snapshot (replacing the previous one).
pub fn save(resume: &Resume, media: &MediaChoice) {
    let Some(storage) = storage() else { return };
    let _ = storage.set_item(SESSION_KEY, &resume.to_json());
    let _ = storage.set_item(MEDIA_KEY, &media.to_json());
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
                .and_then(|m| MediaChoice::from_json(&m).ok())
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
