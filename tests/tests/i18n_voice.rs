//! The texts themselves (client/src/app/i18n.rs, read as source: the client
//! crate builds only for wasm32): the "du" table says "du" wherever a guest
//! reads, and no text in any table has a slash form ("Ihre Beraterin / Ihr
//! Berater" is read aloud with "Schrägstrich").

use std::collections::BTreeMap;

const SOURCE: &str = include_str!("../../client/src/app/i18n.rs");

/// Every field a guest can see. The counsellor's own screens are not here:
/// she is "Sie".
const GUEST_FIELDS: &[&str] = &[
    "brand_tagline",
    "quick_exit",
    "quick_exit_label",
    "loading",
    "release_version",
    "release_checksum",
    "release_note",
    "welcome_title",
    "welcome_lead",
    "privacy_points",
    "welcome_next",
    "welcome_next_hint",
    "quick_exit_note",
    "check_title",
    "check_lead",
    "check_starting",
    "preview_label",
    "sound_only",
    "mic_level",
    "mic_hint",
    "mic_ok",
    "camera",
    "microphone",
    "camera_n",
    "microphone_n",
    "name_label",
    "name_hint",
    "knock",
    "waiting_title",
    "waiting_lead",
    "waiting_calm",
    "waiting_status",
    "call_title",
    "encrypted",
    "encrypted_detail",
    "securing",
    "sas_title",
    "sas_lead_guest",
    "sas_silent_guest",
    "centre_phone",
    "crisis_title",
    "waited",
    "waiting_long",
    "leave_waiting",
    "leave_waiting_confirm",
    "sas_pending",
    "sas_confirm",
    "sas_deny",
    "sas_confirmed",
    "sas_with",
    "sas_code_label",
    "sas_confirm_label",
    "sas_deny_label",
    "sas_recheck",
    "back",
    "sas_renewed",
    "sharing_now",
    "stop_sharing",
    "you",
    "counsellor",
    "alone",
    "remote_video_label",
    "mute",
    "camera_off",
    "mic_on",
    "camera_on",
    "fit_fill",
    "fit_whole",
    "devices",
    "devices_title",
    "share_screen",
    "chat",
    "hang_up",
    "hang_up_confirm",
    "reconnecting",
    "media_trouble",
    "media_trouble_hint",
    "participant_away",
    "participant_away_hint",
    "counsellor_away",
    "paused_guest",
    "chat_paused",
    "media_retry",
    "media_sound_only",
    "renewal_refused_guest",
    "messages_lost",
    "dismiss",
    "enable_sound",
    "controls_label",
    "close",
    "chat_note",
    "chat_empty",
    "chat_input_label",
    "chat_placeholder",
    "chat_send",
    "chat_unread",
    "retry",
    "audio_only",
    "failure_invalid_link",
    "failure_link_used",
    "failure_rejected",
    "failure_removed",
    "failure_session_ended",
    "failure_left",
    "failure_camera_denied",
    "failure_camera_missing",
    "failure_microphone_denied",
    "failure_microphone_missing",
    "failure_unsupported",
    "failure_connection_lost",
    "failure_security",
    "appt_title",
    "appt_clock",
    "appt_early_lead",
    "appt_opens",
    "appt_wait_title",
    "appt_wait_lead",
    "appt_wait_long",
    "appt_over_title",
    "appt_over_was",
    "appt_over_todo",
    // How the guest takes part (issue 16 item 10, entry).
    "entry_legend",
    "entry_choices",
    "entry_next_audio",
    "entry_next_chat",
    "chat_only_title",
    "chat_only_lead",
    "tile_writes_only",
    "tile_sound_only",
];

/// The counsellor's texts (`HostStrings`) a guest reads: the ready message
/// she copies for a "du" link.
const GUEST_READS_OF_HERS: &[&str] = &["invite_message"];

/// Forms that address someone with "Sie". Capitalised inside a sentence
/// they are always the formal "you" ("she" and "her" are lower case there).
/// At a sentence's start they could mean "she" or "it": the only such text
/// a guest sees is "Sie ist anders" (the number), not in `GUEST_FIELDS`'
/// du-checked list because it names no one.
const SIE_FORMS: [&str; 8] = [
    "Sie", "Ihnen", "Ihr", "Ihre", "Ihrem", "Ihren", "Ihrer", "Ihres",
];

fn sie_forms_in(text: &str) -> Vec<&str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| SIE_FORMS.contains(word))
        .collect()
}

/// The string literals in `code`.
fn literals(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = code.chars();
    let mut current: Option<String> = None;
    while let Some(c) = chars.next() {
        match (&mut current, c) {
            (None, '"') => current = Some(String::new()),
            (Some(text), '\\') => {
                if let Some(next) = chars.next() {
                    text.push('\\');
                    text.push(next);
                }
            }
            (Some(_), '"') => out.extend(current.take()),
            (Some(text), c) => text.push(c),
            (None, _) => {}
        }
    }
    out
}

/// One table (`static NAME: Strings = Strings { … };`, or of `HostStrings`
/// for the `HOST_` tables) as field → its text (all literals of the field's
/// value, joined).
fn table(name: &str) -> BTreeMap<String, String> {
    let kind = if name.starts_with("HOST_") {
        "HostStrings"
    } else {
        "Strings"
    };
    let start = format!("static {name}: {kind} = {kind} {{\n");
    let begin = SOURCE
        .find(&start)
        .unwrap_or_else(|| panic!("no table {name}"))
        + start.len();
    let end = begin
        + SOURCE[begin..]
            .find("\n};")
            .unwrap_or_else(|| panic!("{name} ends"));
    let mut fields = BTreeMap::new();
    let mut field: Option<(String, String)> = None;
    for line in SOURCE[begin..end].lines() {
        let starts_field = line.strip_prefix("    ").and_then(|rest| {
            let (ident, _) = rest.split_once(':')?;
            (!rest.starts_with(' ')
                && ident
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .then(|| ident.to_owned())
        });
        if let Some(ident) = starts_field {
            fields.extend(field.take());
            field = Some((ident, String::new()));
        }
        if let Some((_, text)) = &mut field {
            text.push_str(line);
            text.push('\n');
        }
    }
    fields.extend(field);
    fields
        .into_iter()
        .map(|(k, code)| (k, literals(&code).join(" ")))
        .collect()
}

#[test]
fn the_du_table_says_du_wherever_a_guest_reads() {
    let mut missing = Vec::new();
    for (de_name, du_name, fields) in [
        ("DE", "DE_DU", GUEST_FIELDS),
        ("HOST_DE", "HOST_DE_DU", GUEST_READS_OF_HERS),
    ] {
        let (de, du) = (table(de_name), table(du_name));
        assert!(
            SOURCE.contains(&format!("    ..{de_name}\n}};")),
            "{du_name} takes the rest from {de_name}"
        );
        for field in fields {
            // What a du guest reads: the du table's own text, or the other's.
            let (text, from) = match du.get(*field) {
                Some(text) => (text, du_name.to_owned()),
                None => (
                    de.get(*field)
                        .unwrap_or_else(|| panic!("{de_name} has no {field}")),
                    format!("{de_name} (not overridden)"),
                ),
            };
            let found = sie_forms_in(text);
            if !found.is_empty() {
                missing.push(format!("{field} from {from} says {found:?}: {text}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "Sie in the du table:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_check_sees_sie_where_it_is() {
    // The "Sie" table fails it in many places, so the check is not blind.
    let de = table("DE");
    let formal = GUEST_FIELDS
        .iter()
        .filter(|f| !sie_forms_in(&de[**f]).is_empty())
        .count();
    assert!(formal > 30, "only {formal} guest texts with Sie in DE");
    assert_eq!(sie_forms_in("Bitte erlauben Sie das."), vec!["Sie"]);
    assert_eq!(sie_forms_in("„Ihre Beratung“"), vec!["Ihre"]);
    assert!(sie_forms_in("sobald sie zurück ist; ihr Link").is_empty());
    // And the table reader sees fields and their texts.
    assert_eq!(
        table("DE_DU")["welcome_lead"],
        "Du wurdest zu einem vertraulichen Videogespräch eingeladen."
    );
    assert!(table("EN").len() > 120);
    assert!(table("HOST_EN").len() > 80);
    let hers = table("HOST_DE");
    assert!(!sie_forms_in(&hers["invite_message"]).is_empty());
}

#[test]
fn no_text_has_a_slash_form() {
    let texts = literals(SOURCE);
    assert!(
        texts.iter().any(|t| t == "Anklopfen"),
        "the scanner reads the texts"
    );
    for text in &texts {
        for slash in [
            " / ", "/in ", "/innen", "/r ", "/e ", "/n ", "/Berater", "/Ihr",
        ] {
            assert!(
                !text.contains(slash),
                "a slash form ({slash:?}) in {text:?}"
            );
        }
    }
    // The scanner would see one.
    assert!(
        literals(r#"x: "Ihre Beraterin / Ihr Berater","#)
            .iter()
            .any(|t| t.contains(" / "))
    );
}
