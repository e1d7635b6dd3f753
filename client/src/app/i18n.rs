//! All user-visible text, German (default) and English.
//!
//! One struct with a field per text: the compiler makes sure both languages have
//! every text. Plain, calm words; no technical jargon. German has a second
//! table for guests whose link says "du" ([`DE_DU`]); no text has a slash
//! form (a screen reader reads the slash aloud as "Schrägstrich").
//!
//! The counsellor's own texts are a second struct, [`HostStrings`],
//! reached through [`Strings::host`], so that the guest's module, which
//! never shows her screens, does not carry them.

use confide_shared::link::Address;
use yew::prelude::*;

use super::model::FailureKind;

/// The UI language.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    De,
    En,
}

const STORAGE_KEY: &str = "confide-lang";

/// The ready message around an invite link: (link, the appointment's day and
/// time with the minutes before it the link opens, centre's name, centre's phone).
pub type InviteMessage = fn(&str, Option<(&str, u32)>, Option<&str>, Option<&str>) -> String;

impl Lang {
    /// The BCP 47 tag for `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::De => "de",
            Lang::En => "en",
        }
    }

    /// The other language (for the toggle button).
    pub fn other(self) -> Lang {
        match self {
            Lang::De => Lang::En,
            Lang::En => Lang::De,
        }
    }

    /// The remembered choice, German if none.
    pub fn load() -> Lang {
        let stored = web_sys::window()
            .and_then(|w| w.local_storage().ok().flatten())
            .and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
        match stored.as_deref() {
            Some("en") => Lang::En,
            _ => Lang::De,
        }
    }

    /// Remembers the choice and updates `<html lang>` so screen readers switch voice.
    pub fn apply(self) {
        let Some(window) = web_sys::window() else {
            return;
        };
        if let Ok(Some(storage)) = window.local_storage() {
            let _ = storage.set_item(STORAGE_KEY, self.tag());
        }
        if let Some(root) = window.document().and_then(|d| d.document_element()) {
            let _ = root.set_attribute("lang", self.tag());
        }
    }

    pub fn strings(self) -> &'static Strings {
        match self {
            Lang::De => &DE,
            Lang::En => &EN,
        }
    }
}

/// The texts of `lang`; German says "du" if the guest's link chose it
/// (the counsellor's own screens are always given [`Address::Formal`]).
pub fn strings_for(lang: Lang, address: Address) -> &'static Strings {
    match (lang, address) {
        (Lang::De, Address::Informal) => &DE_DU,
        _ => lang.strings(),
    }
}

/// The current language's texts (language and form of address are
/// provided by the app as contexts).
#[hook]
pub fn use_strings() -> &'static Strings {
    let lang = use_context::<Lang>().unwrap_or_default();
    strings_for(lang, use_context::<Address>().unwrap_or_default())
}

/// The texts of one failure page.
#[derive(Clone, Copy)]
pub struct FailureText {
    pub title: &'static str,
    /// What happened.
    pub body: &'static str,
    /// What to do now.
    pub todo: &'static str,
    /// Optional numbered steps (e.g. how to allow the microphone).
    pub steps: &'static [&'static str],
}

/// Every text of the UI in one language.
pub struct Strings {
    // Frame
    pub brand_tagline: &'static str,
    pub lang_switch: &'static str,
    pub lang_switch_label: &'static str,
    pub quick_exit: &'static str,
    pub quick_exit_label: &'static str,
    pub loading: &'static str,
    // Release line (start and guest pages)
    pub release_version: &'static str,
    pub release_checksum: &'static str,
    pub release_note: &'static str,
    // Invite
    pub unnamed: &'static str,
    /// The knock notification's text (no name: it may show on a locked
    /// screen). Here, not in `HostStrings`: the hook that shows it runs on
    /// every page.
    pub notify_body: &'static str,
    /// The phone's other camera.
    pub flip_camera: &'static str,
    // Guest welcome
    pub welcome_title: &'static str,
    pub welcome_lead: &'static str,
    pub privacy_points: [&'static str; 4],
    pub welcome_next: &'static str,
    pub welcome_next_hint: &'static str,
    pub quick_exit_note: &'static str,
    // How the guest takes part (welcome page), and what the others see of it
    pub entry_legend: &'static str,
    /// (choice, what it needs) for "Mit Video", "Nur Ton", "Nur schreiben".
    pub entry_choices: [(&'static str, &'static str); 3],
    pub entry_next_audio: &'static str,
    pub entry_next_chat: &'static str,
    pub chat_only_title: &'static str,
    pub chat_only_lead: &'static str,
    pub tile_writes_only: &'static str,
    pub tile_sound_only: &'static str,
    /// The toast for a chat message while the chat is closed.
    pub chat_toast: fn(&str) -> String,
    // Device check
    pub check_title: &'static str,
    pub check_lead: &'static str,
    pub check_starting: &'static str,
    pub preview_label: &'static str,
    pub sound_only: &'static str,
    pub mic_level: &'static str,
    pub mic_hint: &'static str,
    pub mic_ok: &'static str,
    pub camera: &'static str,
    pub microphone: &'static str,
    pub camera_n: fn(usize) -> String,
    pub microphone_n: fn(usize) -> String,
    pub name_label: &'static str,
    pub name_hint: &'static str,
    pub knock: &'static str,
    // Waiting
    pub waiting_title: &'static str,
    pub waiting_lead: &'static str,
    pub waiting_calm: &'static str,
    pub waiting_status: &'static str,
    // Call
    pub call_title: &'static str,
    pub encrypted: &'static str,
    pub encrypted_detail: &'static str,
    pub securing: &'static str,
    pub sas_title: &'static str,
    /// The counsellor leads the comparison: she asks for the number.
    pub sas_explain: &'static str,
    /// The guest is told she will be asked (`None` = no counsellor name known).
    pub sas_lead_guest: fn(Option<&str>) -> String,
    pub sas_silent_guest: &'static str,
    /// Before the centre's phone number (guest pages).
    pub centre_phone: &'static str,
    /// Above the crisis lines on the end page.
    pub crisis_title: &'static str,
    /// The waiting page: minutes waited, after 10 minutes whom to call,
    /// and leaving the waiting room (asks once more).
    pub waited: fn(u32) -> String,
    pub waiting_long: &'static str,
    pub leave_waiting: &'static str,
    pub leave_waiting_confirm: &'static str,
    pub sas_pending: &'static str,
    pub sas_confirm: &'static str,
    pub sas_deny: &'static str,
    pub sas_confirmed: &'static str,
    pub sas_with: fn(&str) -> String,
    pub sas_code_label: fn(&str, &str) -> String,
    pub sas_confirm_label: fn(&str) -> String,
    pub sas_deny_label: fn(&str) -> String,
    /// After "does not match": read it again before anything ends.
    pub sas_recheck: &'static str,
    pub sas_is_different: &'static str,
    pub back: &'static str,
    pub sas_renewed: &'static str,
    pub refused_notice: &'static str,
    pub sharing_now: &'static str,
    pub stop_sharing: &'static str,
    pub you: &'static str,
    pub counsellor: &'static str,
    pub alone: &'static str,
    pub remote_video_label: fn(&str) -> String,
    pub mute: &'static str,
    pub camera_off: &'static str,
    /// The microphone and camera buttons say what is on now, not what a tap does.
    pub mic_on: &'static str,
    pub camera_on: &'static str,
    /// The other person's picture: fill a portrait screen, or show it whole.
    pub fit_fill: &'static str,
    pub fit_whole: &'static str,
    pub devices: &'static str,
    pub devices_title: &'static str,
    pub share_screen: &'static str,
    pub chat: &'static str,
    pub hang_up: &'static str,
    /// Guest: the hang-up button after a first click.
    pub hang_up_confirm: &'static str,
    pub participant_muted: &'static str,
    pub reconnecting: &'static str,
    /// Picture and sound from one participant do not get through.
    pub media_trouble: &'static str,
    /// What the person can do about it (the tile names the other person).
    pub media_trouble_hint: &'static str,
    pub participant_away: &'static str,
    pub participant_away_hint: &'static str,
    pub counsellor_away: &'static str,
    pub paused_guest: &'static str,
    pub chat_paused: &'static str,
    pub media_retry: &'static str,
    pub media_sound_only: &'static str,
    /// Stands for a person without a name in a sentence.
    pub someone: &'static str,
    pub renewal_refused_guest: &'static str,
    pub roster_not_acknowledged: fn(&str) -> String,
    pub messages_lost: &'static str,
    /// Counsellor in a group: why to confirm each guest's code.
    pub group_confirm_hint: fn(&str) -> String,
    pub dismiss: &'static str,
    pub enable_sound: &'static str,
    pub controls_label: &'static str,
    pub close: &'static str,
    // Chat
    pub chat_note: &'static str,
    pub chat_empty: &'static str,
    pub chat_input_label: &'static str,
    pub chat_placeholder: &'static str,
    pub chat_send: &'static str,
    pub chat_unread: fn(usize) -> String,
    // Failure pages
    pub retry: &'static str,
    pub audio_only: &'static str,
    pub new_session: &'static str,
    pub failure_invalid_link: FailureText,
    pub failure_link_used: FailureText,
    pub failure_rejected: FailureText,
    pub failure_removed: FailureText,
    pub failure_session_ended: FailureText,
    pub failure_left: FailureText,
    pub failure_camera_denied: FailureText,
    pub failure_camera_missing: FailureText,
    pub failure_microphone_denied: FailureText,
    pub failure_microphone_missing: FailureText,
    pub failure_unsupported: FailureText,
    pub failure_connection_lost: FailureText,
    pub failure_security: FailureText,
    // Counsellor sign-in (access)
    pub failure_sign_in: FailureText,
    // ----- Appointments (guest): too early, not there yet, too late -----
    /// Before the appointment's day and time.
    pub appt_title: &'static str,
    /// After a clock time (" Uhr"; nothing in English).
    pub appt_clock: &'static str,
    pub appt_early_lead: &'static str,
    /// Around the time the link opens.
    pub appt_opens: [&'static str; 2],
    pub appt_wait_title: &'static str,
    pub appt_wait_lead: &'static str,
    /// After some minutes: a used link looks the same, only the centre can help.
    pub appt_wait_long: &'static str,
    pub appt_over_title: &'static str,
    /// Before the day and time it was.
    pub appt_over_was: &'static str,
    pub appt_over_todo: &'static str,
    /// Which [`HostStrings`] go with these texts.
    host: HostTable,
}

/// The counsellor's texts that go with a table of [`Strings`].
#[derive(Clone, Copy)]
enum HostTable {
    De,
    DeDu,
    En,
}

impl Strings {
    /// The counsellor's texts in the same language (and, for the message
    /// with a "du" link, the same form of address).
    pub fn host(&self) -> &'static HostStrings {
        match self.host {
            HostTable::De => &HOST_DE,
            HostTable::DeDu => &HOST_DE_DU,
            HostTable::En => &HOST_EN,
        }
    }

    pub fn failure(&self, kind: FailureKind) -> &FailureText {
        match kind {
            FailureKind::InvalidLink => &self.failure_invalid_link,
            FailureKind::LinkUsed => &self.failure_link_used,
            FailureKind::Rejected => &self.failure_rejected,
            FailureKind::Removed => &self.failure_removed,
            FailureKind::SessionEnded => &self.failure_session_ended,
            FailureKind::Left => &self.failure_left,
            FailureKind::CameraUnavailable { denied: true } => &self.failure_camera_denied,
            FailureKind::CameraUnavailable { denied: false } => &self.failure_camera_missing,
            FailureKind::MicrophoneUnavailable { denied: true } => &self.failure_microphone_denied,
            FailureKind::MicrophoneUnavailable { denied: false } => {
                &self.failure_microphone_missing
            }
            FailureKind::UnsupportedBrowser => &self.failure_unsupported,
            FailureKind::ConnectionLost { .. } => &self.failure_connection_lost,
            FailureKind::SecurityWarning => &self.failure_security,
            FailureKind::SignInNeeded => &self.failure_sign_in,
        }
    }
}

static DE: Strings = Strings {
    brand_tagline: "Vertrauliche Videoberatung",
    lang_switch: "English",
    lang_switch_label: "Switch to English",
    quick_exit: "Schnell verlassen",
    quick_exit_label: "Schnell verlassen: Seite sofort schließen (auch: zweimal Escape drücken)",
    loading: "Wird geladen…",
    release_version: "Version",
    release_checksum: "Prüfsumme",
    release_note: "Zum Vergleich mit der Prüfsumme, die Ihre Beratungsstelle veröffentlicht. \
                   Auch eine veränderte Seite könnte diese Zahl zeigen: Was ausgeliefert wird, \
                   beweist nur eine Prüfung von außen.",
    unnamed: "Ohne Namen",
    notify_body: "Jemand wartet im Warteraum.",
    flip_camera: "Kamera wechseln",
    welcome_title: "Willkommen",
    welcome_lead: "Sie wurden zu einem vertraulichen Videogespräch eingeladen.",
    privacy_points: [
        "Bild, Ton und Chat werden in Ihrem Browser verschlüsselt und erst bei Ihrem Gegenüber \
         wieder lesbar (Ende-zu-Ende-Verschlüsselung).",
        "Unser Server leitet nur verschlüsselte Daten weiter. Er kann nichts sehen und nichts hören.",
        "Nichts wird aufgezeichnet oder gespeichert. Chatnachrichten verschwinden, wenn das \
         Gespräch endet.",
        "Sie brauchen kein Konto und müssen nichts installieren.",
    ],
    welcome_next: "Weiter zur Kamera- und Mikrofonprüfung",
    welcome_next_hint: "Ihr Browser fragt gleich, ob diese Seite Kamera und Mikrofon verwenden darf. \
                        Bitte erlauben Sie das.",
    quick_exit_note: "Mit „Schnell verlassen“ oben rechts verlassen Sie die Seite jederzeit sofort.",
    entry_legend: "Wie möchten Sie teilnehmen?",
    entry_choices: [
        ("Mit Video", "Kamera und Mikrofon"),
        ("Nur Ton", "Nur das Mikrofon, keine Kamera"),
        (
            "Nur schreiben",
            "Ohne Kamera und Mikrofon. Sie sehen und hören Ihr Gegenüber und schreiben im Chat.",
        ),
    ],
    entry_next_audio: "Weiter zur Mikrofonprüfung",
    entry_next_chat: "Weiter",
    chat_only_title: "Nur schreiben",
    chat_only_lead: "Ihre Kamera und Ihr Mikrofon bleiben aus, der Browser fragt nicht danach. \
                     Sie sehen und hören Ihr Gegenüber und schreiben im Chat.",
    tile_writes_only: "Schreibt nur",
    tile_sound_only: "Nur Ton",
    chat_toast: |name| format!("Neue Nachricht von {name}"),
    check_title: "Kamera und Mikrofon prüfen",
    check_lead: "So sieht und hört man Sie. Diese Vorschau sehen nur Sie.",
    check_starting: "Kamera und Mikrofon werden gestartet…",
    preview_label: "Vorschau Ihrer Kamera",
    sound_only: "Ohne Kamera – nur Ton",
    mic_level: "Mikrofon-Pegel",
    mic_hint: "Sprechen Sie kurz: Der Balken bewegt sich, wenn man Sie hört.",
    mic_ok: "Ihr Mikrofon funktioniert.",
    camera: "Kamera",
    microphone: "Mikrofon",
    camera_n: |n| format!("Kamera {n}"),
    microphone_n: |n| format!("Mikrofon {n}"),
    name_label: "Wie möchten Sie genannt werden? (freiwillig)",
    name_hint: "Zum Beispiel Ihr Vorname oder ein Spitzname. Sie können das Feld auch leer lassen.",
    knock: "Anklopfen",
    waiting_title: "Sie haben angeklopft",
    waiting_lead: "Ihre Beratung weiß, dass Sie da sind, und lässt Sie gleich herein.",
    waiting_calm: "Sie können diese Seite einfach geöffnet lassen. Nehmen Sie sich einen Moment Zeit \
                   und atmen Sie ruhig durch.",
    waiting_status: "Warten auf Einlass",
    call_title: "Gespräch",
    encrypted: "Ende-zu-Ende verschlüsselt",
    encrypted_detail: "Bild, Ton und Chat sind Ende-zu-Ende verschlüsselt.",
    securing: "Verbindung wird gesichert…",
    sas_title: "Sicherheitscode",
    sas_explain: "Bitten Sie Ihr Gegenüber, die Zahl vorzulesen. Ist es dieselbe wie hier, hört niemand mit.",
    sas_lead_guest: |name| {
        format!(
            "{} fragt Sie gleich nach dieser Zahl. Ist es dieselbe, hört niemand mit.",
            name.unwrap_or("Ihre Beratung")
        )
    },
    sas_silent_guest: "Lieber nicht laut sprechen? Schreiben Sie die Zahl auf einen Zettel und halten Sie ihn in die Kamera.",
    centre_phone: "Telefon:",
    crisis_title: "Wenn Sie jetzt mit jemandem sprechen möchten, kostenlos und anonym:",
    waited: |minutes| match minutes {
        0 => "Sie warten seit weniger als einer Minute.".into(),
        1 => "Sie warten seit einer Minute.".into(),
        n => format!("Sie warten seit {n} Minuten."),
    },
    waiting_long: "Es dauert länger als gedacht. Sie können Ihre Beratungsstelle auch anrufen:",
    leave_waiting: "Warteraum verlassen",
    leave_waiting_confirm: "Wirklich gehen? Der Link gilt dann nicht mehr.",
    sas_pending: "Der Sicherheitscode wird berechnet…",
    sas_confirm: "Gleiche Zahl",
    sas_deny: "Andere Zahl",
    sas_confirmed: "Code bestätigt",
    sas_with: |name| format!("Mit {name}:"),
    sas_code_label: |name, code| format!("Sicherheitscode mit {name}: {}", spaced(code)),
    sas_confirm_label: |name| format!("Die Zahl mit {name} ist gleich"),
    sas_deny_label: |name| format!("Die Zahl mit {name} ist anders"),
    sas_recheck: "Bitte lesen Sie die Zahl noch einmal langsam vor. Ist sie wirklich anders?",
    sas_is_different: "Sie ist anders",
    back: "Zurück",
    sas_renewed: "Die Verbindung wurde neu aufgebaut. Bitte vergleichen Sie den neuen Sicherheitscode.",
    sharing_now: "Sie teilen gerade Ihren Bildschirm. Die anderen sehen ihn statt Ihrer Kamera.",
    stop_sharing: "Teilen beenden",
    refused_notice: "Eine veränderte oder wiederholte Nachricht wurde erkannt und verworfen. Das Gespräch bleibt geschützt.",
    you: "Sie",
    counsellor: "Beratung",
    alone: "Noch ist niemand im Gespräch. Sobald jemand hereinkommt, erscheint das Bild hier.",
    remote_video_label: |name| format!("Video von {name}"),
    mute: "Mikro aus",
    camera_off: "Kamera aus",
    mic_on: "Mikro an",
    camera_on: "Kamera an",
    fit_fill: "Bild füllen",
    fit_whole: "Ganzes Bild",
    devices: "Geräte",
    devices_title: "Kamera und Mikrofon wechseln",
    share_screen: "Bildschirm teilen",
    chat: "Chat",
    hang_up: "Auflegen",
    hang_up_confirm: "Wirklich auflegen?",
    participant_muted: "Mikrofon aus",
    reconnecting: "Verbindung unterbrochen – wird wiederhergestellt…",
    media_trouble: "Bild und Ton kommen nicht durch.",
    media_trouble_hint: "Die Verbindung steht noch nicht. Versuchen Sie es noch einmal – der Chat funktioniert weiter.",
    participant_away: "Verbindung unterbrochen",
    participant_away_hint: "Das Bild ist stehen geblieben. Sobald die Verbindung wieder steht, geht es von selbst weiter.",
    counsellor_away: "Die Beratung ist gerade nicht verbunden. Das Gespräch geht weiter, sobald sie zurück ist.",
    paused_guest: "Angehalten, bis die Beratung zurück ist",
    chat_paused: "Der Chat ist angehalten, bis die Beratung zurück ist.",
    media_retry: "Erneut versuchen",
    media_sound_only: "Nur Ton",
    someone: "Eine Person",
    renewal_refused_guest: "Die Verbindung zur Beratung wurde mehrfach neu gestartet und abgebrochen. Weitere Versuche werden abgelehnt; das laufende Gespräch bleibt geschützt.",
    roster_not_acknowledged: |name| {
        format!(
            "{name} hat die aktuelle Teilnehmerliste nicht bestätigt. Die Person ist möglicherweise noch mit jemandem verbunden, der entfernt wurde. Im Zweifel entfernen."
        )
    },
    messages_lost: "Einige Nachrichten sind unterwegs verloren gegangen.",
    group_confirm_hint: |name| {
        format!("Erst wenn Sie den Code bestätigen, wird {name} mit den anderen verbunden.")
    },
    dismiss: "Verstanden",
    enable_sound: "Ton einschalten",
    controls_label: "Gesprächssteuerung",
    close: "Schließen",
    chat_note: "Nachrichten werden nirgends gespeichert.",
    chat_empty: "Noch keine Nachrichten.",
    chat_input_label: "Nachricht schreiben",
    chat_placeholder: "Nachricht…",
    chat_send: "Senden",
    chat_unread: |n| {
        if n == 1 {
            "1 neue Nachricht".to_string()
        } else {
            format!("{n} neue Nachrichten")
        }
    },
    retry: "Erneut versuchen",
    audio_only: "Nur mit Ton teilnehmen",
    new_session: "Neue Sitzung starten",
    failure_invalid_link: FailureText {
        title: "Dieser Link ist nicht vollständig",
        body: "Der Einladungslink ist ungültig oder wurde beim Kopieren abgeschnitten.",
        todo: "Öffnen Sie den Link bitte noch einmal direkt aus der Nachricht, die Sie bekommen haben. \
               Klappt das nicht, bitten Sie Ihre Beratungsstelle um einen neuen Link.",
        steps: &[],
    },
    failure_link_used: FailureText {
        title: "Dieser Link funktioniert nicht (mehr)",
        body: "Jeder Einladungslink funktioniert zu Ihrer Sicherheit nur einmal, nur für kurze \
               Zeit und nur, solange die Sitzung geöffnet ist. Wenn Sie ihn nicht selbst schon \
               geöffnet haben, hat ihn vielleicht jemand anderes benutzt.",
        todo: "Melden Sie sich bitte auf dem üblichen Weg bei Ihrer Beratungsstelle und bitten \
               Sie um einen neuen Link. Sagen Sie dort auch, wenn Sie den Link nicht selbst \
               geöffnet haben.",
        steps: &[],
    },
    failure_rejected: FailureText {
        title: "Sie wurden nicht hereingelassen",
        body: "Ihre Beratung hat die Anfrage abgelehnt.",
        todo: "Wenn das ein Versehen war, melden Sie sich bitte auf dem üblichen Weg bei Ihrer \
               Beratungsstelle.",
        steps: &[],
    },
    failure_removed: FailureText {
        title: "Sie wurden aus dem Gespräch genommen",
        body: "Ihre Beratung hat Sie aus dem Gespräch entfernt.",
        todo: "Wenn das ein Versehen war, melden Sie sich bitte auf dem üblichen Weg bei Ihrer \
               Beratungsstelle.",
        steps: &[],
    },
    failure_session_ended: FailureText {
        title: "Das Gespräch ist beendet",
        body: "Die Sitzung wurde beendet. Es wurde nichts aufgezeichnet oder gespeichert.",
        todo: "Sie können dieses Fenster jetzt schließen.",
        steps: &[],
    },
    failure_left: FailureText {
        title: "Sie haben das Gespräch verlassen",
        body: "Es wurde nichts aufgezeichnet oder gespeichert.",
        todo: "Sie können dieses Fenster jetzt schließen.",
        steps: &[],
    },
    failure_camera_denied: FailureText {
        title: "Die Kamera ist blockiert",
        body: "Ihr Browser hat den Zugriff auf die Kamera nicht erlaubt.",
        todo: "Sie können auch nur mit Ton teilnehmen. Oder Sie erlauben die Kamera:",
        steps: &[
            "Tippen oder klicken Sie links neben der Adresse auf das Schloss- oder Kamera-Symbol.",
            "Stellen Sie „Kamera“ auf „Erlauben“.",
            "Wählen Sie „Erneut versuchen“.",
        ],
    },
    failure_camera_missing: FailureText {
        title: "Keine Kamera gefunden",
        body: "Wir haben keine Kamera gefunden, oder sie wird gerade von einem anderen Programm benutzt.",
        todo: "Schließen Sie andere Programme, die die Kamera verwenden, und versuchen Sie es erneut. \
               Sie können auch nur mit Ton teilnehmen.",
        steps: &[],
    },
    failure_microphone_denied: FailureText {
        title: "Das Mikrofon ist blockiert",
        body: "Ihr Browser hat den Zugriff auf das Mikrofon nicht erlaubt. Ohne Mikrofon kann man Sie \
               im Gespräch nicht hören.",
        todo: "So erlauben Sie das Mikrofon:",
        steps: &[
            "Tippen oder klicken Sie links neben der Adresse auf das Schloss- oder Einstellungs-Symbol.",
            "Stellen Sie „Mikrofon“ (und wenn Sie möchten „Kamera“) auf „Erlauben“.",
            "Auf dem Smartphone finden Sie das auch in den Browser-Einstellungen unter \
             „Website-Einstellungen“.",
            "Wählen Sie dann „Erneut versuchen“.",
        ],
    },
    failure_microphone_missing: FailureText {
        title: "Kein Mikrofon gefunden",
        body: "Wir haben kein Mikrofon gefunden, oder es wird gerade von einem anderen Programm benutzt.",
        todo: "Schließen Sie ein Headset oder Mikrofon an, oder beenden Sie andere Programme, die es \
               verwenden. Versuchen Sie es dann erneut.",
        steps: &[],
    },
    failure_unsupported: FailureText {
        title: "Dieser Browser wird nicht unterstützt",
        body: "Ihr Browser kann das Gespräch nicht Ende-zu-Ende verschlüsseln. Ohne diesen Schutz \
               starten wir das Gespräch nicht.",
        todo: "Bitte verwenden Sie einen aktuellen Chrome, Edge, Firefox oder Safari und öffnen Sie \
               den Link dort noch einmal.",
        steps: &[],
    },
    failure_connection_lost: FailureText {
        title: "Die Verbindung ist unterbrochen",
        body: "Die Internetverbindung ist abgebrochen.",
        todo: "Bitte lassen Sie diese Seite geöffnet. Klappt es nicht, prüfen Sie Ihre \
               Internetverbindung und wählen Sie „Erneut versuchen“.",
        steps: &[],
    },
    failure_security: FailureText {
        title: "Gespräch aus Sicherheitsgründen beendet",
        body: "Die Verbindung konnte nicht als sicher bestätigt werden. Es ist möglich, dass sich \
               jemand dazwischengeschaltet hat. Darum haben wir das Gespräch beendet.",
        todo: "Bitte nehmen Sie auf einem anderen Weg Kontakt auf, zum Beispiel telefonisch, und \
               vereinbaren Sie ein neues Gespräch.",
        steps: &[],
    },
    failure_sign_in: FailureText {
        title: "Anmeldung für Beratende",
        body: "Sitzungen öffnen hier nur die Beraterinnen und Berater dieser Beratungsstelle. \
               Dieses Gerät ist nicht (mehr) angemeldet. Gäste brauchen keine Anmeldung: Sie \
               öffnen einfach den Link, den Sie von Ihrer Beratung bekommen haben.",
        todo: "Bitten Sie die Verwaltung Ihrer Beratungsstelle um Ihren persönlichen \
               Anmeldelink und öffnen Sie ihn auf diesem Gerät. Danach bleibt es angemeldet, bis \
               Sie sich abmelden.",
        steps: &[],
    },
    // ----- Appointments (guest) -----
    appt_title: "Ihr Termin: ",
    appt_clock: " Uhr",
    appt_early_lead: "Diese Seite verbindet Sie zur Terminzeit von selbst. Sie können sie offen \
                      lassen.",
    appt_opens: ["Eintreten können Sie ab ", "."],
    appt_wait_title: "Das Gespräch hat noch nicht begonnen",
    appt_wait_lead: "Diese Seite versucht es weiter. Sie können sie offen lassen.",
    appt_wait_long: "Falls Ihr Link schon von jemand anderem benutzt wurde, kann nur Ihre \
                     Beratungsstelle helfen.",
    appt_over_title: "Dieser Termin ist vorbei",
    appt_over_was: "Ihr Termin war am ",
    appt_over_todo: "Bitten Sie Ihre Beratungsstelle um einen neuen Termin. Dazu bekommen Sie \
                     einen neuen Link.",
    host: HostTable::De,
};

/// German with "du", for the guest's pages of a link that says so (youth
/// services). Only what the guest sees is here; everything else (the
/// counsellor's screens, texts without a form of address) is [`DE`]'s.
static DE_DU: Strings = Strings {
    release_note: "Zum Vergleich mit der Prüfsumme, die deine Beratungsstelle veröffentlicht. \
                   Auch eine veränderte Seite könnte diese Zahl zeigen: Was ausgeliefert wird, \
                   beweist nur eine Prüfung von außen.",
    welcome_lead: "Du wurdest zu einem vertraulichen Videogespräch eingeladen.",
    privacy_points: [
        "Bild, Ton und Chat werden in deinem Browser verschlüsselt und erst bei deinem Gegenüber \
         wieder lesbar (Ende-zu-Ende-Verschlüsselung).",
        "Unser Server leitet nur verschlüsselte Daten weiter. Er kann nichts sehen und nichts hören.",
        "Nichts wird aufgezeichnet oder gespeichert. Chatnachrichten verschwinden, wenn das \
         Gespräch endet.",
        "Du brauchst kein Konto und musst nichts installieren.",
    ],
    welcome_next_hint: "Dein Browser fragt gleich, ob diese Seite Kamera und Mikrofon verwenden \
                        darf. Bitte erlaube das.",
    quick_exit_note: "Mit „Schnell verlassen“ oben rechts verlässt du die Seite jederzeit sofort.",
    entry_legend: "Wie möchtest du teilnehmen?",
    entry_choices: [
        ("Mit Video", "Kamera und Mikrofon"),
        ("Nur Ton", "Nur das Mikrofon, keine Kamera"),
        (
            "Nur schreiben",
            "Ohne Kamera und Mikrofon. Du siehst und hörst dein Gegenüber und schreibst im Chat.",
        ),
    ],
    chat_only_lead: "Deine Kamera und dein Mikrofon bleiben aus, der Browser fragt nicht danach. \
                     Du siehst und hörst dein Gegenüber und schreibst im Chat.",
    check_lead: "So sieht und hört man dich. Diese Vorschau siehst nur du.",
    preview_label: "Vorschau deiner Kamera",
    mic_hint: "Sag kurz etwas: Der Balken bewegt sich, wenn man dich hört.",
    mic_ok: "Dein Mikrofon funktioniert.",
    name_label: "Wie möchtest du genannt werden? (freiwillig)",
    name_hint: "Zum Beispiel dein Vorname oder ein Spitzname. Du kannst das Feld auch leer lassen.",
    waiting_title: "Du hast angeklopft",
    waiting_lead: "Deine Beratung weiß, dass du da bist, und lässt dich gleich herein.",
    waiting_calm: "Du kannst diese Seite einfach offen lassen. Nimm dir einen Moment Zeit und \
                   atme ruhig durch.",
    sas_lead_guest: |name| {
        format!(
            "{} fragt dich gleich nach dieser Zahl. Ist es dieselbe, hört niemand mit.",
            name.unwrap_or("Deine Beratung")
        )
    },
    sas_silent_guest: "Lieber nicht laut sprechen? Schreib die Zahl auf einen Zettel und halte \
                       ihn in die Kamera.",
    crisis_title: "Wenn du jetzt mit jemandem sprechen möchtest, kostenlos und anonym:",
    waited: |minutes| match minutes {
        0 => "Du wartest seit weniger als einer Minute.".into(),
        1 => "Du wartest seit einer Minute.".into(),
        n => format!("Du wartest seit {n} Minuten."),
    },
    waiting_long: "Es dauert länger als gedacht. Du kannst deine Beratungsstelle auch anrufen:",
    sas_recheck: "Bitte lies die Zahl noch einmal langsam vor. Ist sie wirklich anders?",
    sas_renewed: "Die Verbindung wurde neu aufgebaut. Bitte vergleiche den neuen Sicherheitscode.",
    sharing_now: "Du teilst gerade deinen Bildschirm. Die anderen sehen ihn statt deiner Kamera.",
    you: "Du",
    media_trouble_hint: "Die Verbindung steht noch nicht. Versuch es noch einmal – der Chat \
                         funktioniert weiter.",
    failure_invalid_link: FailureText {
        title: "Dieser Link ist nicht vollständig",
        body: "Der Einladungslink ist ungültig oder wurde beim Kopieren abgeschnitten.",
        todo: "Öffne den Link bitte noch einmal direkt aus der Nachricht, die du bekommen hast. \
               Klappt das nicht, bitte deine Beratungsstelle um einen neuen Link.",
        steps: &[],
    },
    failure_link_used: FailureText {
        title: "Dieser Link funktioniert nicht (mehr)",
        body: "Jeder Einladungslink funktioniert zu deiner Sicherheit nur einmal, nur für kurze \
               Zeit und nur, solange die Sitzung geöffnet ist. Wenn du ihn nicht selbst schon \
               geöffnet hast, hat ihn vielleicht jemand anderes benutzt.",
        todo: "Melde dich bitte auf dem üblichen Weg bei deiner Beratungsstelle und bitte um einen \
               neuen Link. Sag dort auch, wenn du den Link nicht selbst geöffnet hast.",
        steps: &[],
    },
    failure_rejected: FailureText {
        title: "Du wurdest nicht hereingelassen",
        body: "Deine Beratung hat die Anfrage abgelehnt.",
        todo: "Wenn das ein Versehen war, melde dich bitte auf dem üblichen Weg bei deiner \
               Beratungsstelle.",
        steps: &[],
    },
    failure_removed: FailureText {
        title: "Du wurdest aus dem Gespräch genommen",
        body: "Deine Beratung hat dich aus dem Gespräch entfernt.",
        todo: "Wenn das ein Versehen war, melde dich bitte auf dem üblichen Weg bei deiner \
               Beratungsstelle.",
        steps: &[],
    },
    failure_session_ended: FailureText {
        title: "Das Gespräch ist beendet",
        body: "Die Sitzung wurde beendet. Es wurde nichts aufgezeichnet oder gespeichert.",
        todo: "Du kannst dieses Fenster jetzt schließen.",
        steps: &[],
    },
    failure_left: FailureText {
        title: "Du hast das Gespräch verlassen",
        body: "Es wurde nichts aufgezeichnet oder gespeichert.",
        todo: "Du kannst dieses Fenster jetzt schließen.",
        steps: &[],
    },
    failure_camera_denied: FailureText {
        title: "Die Kamera ist blockiert",
        body: "Dein Browser hat den Zugriff auf die Kamera nicht erlaubt.",
        todo: "Du kannst auch nur mit Ton teilnehmen. Oder du erlaubst die Kamera:",
        steps: &[
            "Tippe oder klicke links neben der Adresse auf das Schloss- oder Kamera-Symbol.",
            "Stell „Kamera“ auf „Erlauben“.",
            "Wähle „Erneut versuchen“.",
        ],
    },
    failure_camera_missing: FailureText {
        title: "Keine Kamera gefunden",
        body: "Wir haben keine Kamera gefunden, oder sie wird gerade von einem anderen Programm \
               benutzt.",
        todo: "Schließ andere Programme, die die Kamera verwenden, und versuch es noch einmal. \
               Du kannst auch nur mit Ton teilnehmen.",
        steps: &[],
    },
    failure_microphone_denied: FailureText {
        title: "Das Mikrofon ist blockiert",
        body: "Dein Browser hat den Zugriff auf das Mikrofon nicht erlaubt. Ohne Mikrofon kann man \
               dich im Gespräch nicht hören.",
        todo: "So erlaubst du das Mikrofon:",
        steps: &[
            "Tippe oder klicke links neben der Adresse auf das Schloss- oder Einstellungs-Symbol.",
            "Stell „Mikrofon“ (und wenn du möchtest „Kamera“) auf „Erlauben“.",
            "Auf dem Smartphone findest du das auch in den Browser-Einstellungen unter \
             „Website-Einstellungen“.",
            "Wähle dann „Erneut versuchen“.",
        ],
    },
    failure_microphone_missing: FailureText {
        title: "Kein Mikrofon gefunden",
        body: "Wir haben kein Mikrofon gefunden, oder es wird gerade von einem anderen Programm \
               benutzt.",
        todo: "Schließ ein Headset oder Mikrofon an, oder beende andere Programme, die es \
               verwenden. Versuch es dann noch einmal.",
        steps: &[],
    },
    failure_unsupported: FailureText {
        title: "Dieser Browser wird nicht unterstützt",
        body: "Dein Browser kann das Gespräch nicht Ende-zu-Ende verschlüsseln. Ohne diesen Schutz \
               starten wir das Gespräch nicht.",
        todo: "Nimm bitte einen aktuellen Chrome, Edge, Firefox oder Safari und öffne den Link \
               dort noch einmal.",
        steps: &[],
    },
    failure_connection_lost: FailureText {
        title: "Die Verbindung ist unterbrochen",
        body: "Die Internetverbindung ist abgebrochen.",
        todo: "Lass diese Seite bitte geöffnet. Klappt es nicht, prüf deine Internetverbindung \
               und wähle „Erneut versuchen“.",
        steps: &[],
    },
    failure_security: FailureText {
        title: "Gespräch aus Sicherheitsgründen beendet",
        body: "Die Verbindung konnte nicht als sicher bestätigt werden. Es ist möglich, dass sich \
               jemand dazwischengeschaltet hat. Darum haben wir das Gespräch beendet.",
        todo: "Nimm bitte auf einem anderen Weg Kontakt auf, zum Beispiel telefonisch, und \
               vereinbare ein neues Gespräch.",
        steps: &[],
    },
    appt_title: "Dein Termin: ",
    appt_early_lead: "Diese Seite verbindet dich zur Terminzeit von selbst. Du kannst sie offen \
                      lassen.",
    appt_opens: ["Eintreten kannst du ab ", "."],
    appt_wait_lead: "Diese Seite versucht es weiter. Du kannst sie offen lassen.",
    appt_wait_long: "Falls dein Link schon von jemand anderem benutzt wurde, kann nur deine \
                     Beratungsstelle helfen.",
    appt_over_was: "Dein Termin war am ",
    appt_over_todo: "Bitte deine Beratungsstelle um einen neuen Termin. Dazu bekommst du einen \
                     neuen Link.",
    host: HostTable::DeDu,
    ..DE
};

static EN: Strings = Strings {
    brand_tagline: "Confidential video counselling",
    lang_switch: "Deutsch",
    lang_switch_label: "Auf Deutsch umschalten",
    quick_exit: "Quick exit",
    quick_exit_label: "Quick exit: leave this page immediately (or press Escape twice)",
    loading: "Loading…",
    release_version: "Version",
    release_checksum: "Checksum",
    release_note: "To compare with the checksum your counselling centre publishes. A modified \
                   page could show the genuine number too: only a check from outside proves \
                   what is served.",
    unnamed: "No name",
    notify_body: "Someone is waiting in the waiting room.",
    flip_camera: "Switch camera",
    welcome_title: "Welcome",
    welcome_lead: "You have been invited to a confidential video conversation.",
    privacy_points: [
        "Video, sound and chat are encrypted in your browser and only become readable again \
         on the other person's device (end-to-end encryption).",
        "Our server only passes on encrypted data. It cannot see or hear anything.",
        "Nothing is recorded or stored. Chat messages disappear when the conversation ends.",
        "You need no account and nothing to install.",
    ],
    welcome_next: "Continue to the camera and microphone check",
    welcome_next_hint: "Your browser will ask whether this page may use your camera and \
                        microphone. Please allow it.",
    quick_exit_note: "With “Quick exit” at the top right you can leave this page at any time.",
    entry_legend: "How would you like to take part?",
    entry_choices: [
        ("With video", "Camera and microphone"),
        ("Audio only", "Only the microphone, no camera"),
        (
            "Chat only",
            "No camera or microphone. You see and hear the other person and write in the chat.",
        ),
    ],
    entry_next_audio: "Continue to the microphone check",
    entry_next_chat: "Continue",
    chat_only_title: "Chat only",
    chat_only_lead: "Your camera and microphone stay off; the browser does not ask for them. \
                     You see and hear the other person and write in the chat.",
    tile_writes_only: "Chat only",
    tile_sound_only: "Audio only",
    chat_toast: |name| format!("New message from {name}"),
    check_title: "Check your camera and microphone",
    check_lead: "This is how others will see and hear you. Only you see this preview.",
    check_starting: "Starting camera and microphone…",
    preview_label: "Preview of your camera",
    sound_only: "No camera – sound only",
    mic_level: "Microphone level",
    mic_hint: "Say something: the bar moves when you can be heard.",
    mic_ok: "Your microphone works.",
    camera: "Camera",
    microphone: "Microphone",
    camera_n: |n| format!("Camera {n}"),
    microphone_n: |n| format!("Microphone {n}"),
    name_label: "What would you like to be called? (optional)",
    name_hint: "For example your first name or a nickname. You can also leave this empty.",
    knock: "Knock",
    waiting_title: "You have knocked",
    waiting_lead: "Your counsellor has been notified and will let you in shortly.",
    waiting_calm: "You can simply keep this page open. Take a moment and breathe calmly.",
    waiting_status: "Waiting to be let in",
    call_title: "Call",
    encrypted: "End-to-end encrypted",
    encrypted_detail: "Video, sound and chat are end-to-end encrypted.",
    securing: "Securing the connection…",
    sas_title: "Safety code",
    sas_explain: "Ask the other person to read the number out. If it is the same as here, nobody is listening in.",
    sas_lead_guest: |name| {
        format!(
            "{} will ask you for this number in a moment. If it is the same, nobody is listening in.",
            name.unwrap_or("Your counsellor")
        )
    },
    sas_silent_guest: "Rather not speak aloud? Write the number on paper and hold it up to the camera.",
    centre_phone: "Phone:",
    crisis_title: "If you want to talk to someone now, free and anonymous:",
    waited: |minutes| match minutes {
        0 => "You have been waiting for less than a minute.".into(),
        1 => "You have been waiting for one minute.".into(),
        n => format!("You have been waiting for {n} minutes."),
    },
    waiting_long: "It is taking longer than expected. You can also call your counselling centre:",
    leave_waiting: "Leave the waiting room",
    leave_waiting_confirm: "Really leave? The link will no longer work.",
    sas_pending: "Calculating the safety code…",
    sas_confirm: "Same number",
    sas_deny: "Different number",
    sas_confirmed: "Code confirmed",
    sas_with: |name| format!("With {name}:"),
    sas_code_label: |name, code| format!("Safety code with {name}: {}", spaced(code)),
    sas_confirm_label: |name| format!("The number with {name} is the same"),
    sas_deny_label: |name| format!("The number with {name} is different"),
    sas_recheck: "Please read the number out again, slowly. Is it really different?",
    sas_is_different: "It is different",
    back: "Back",
    sas_renewed: "The connection was re-established. Please compare the new safety code.",
    sharing_now: "You are sharing your screen. The others see it instead of your camera.",
    stop_sharing: "Stop sharing",
    refused_notice: "An altered or repeated message was detected and discarded. The call stays protected.",
    you: "You",
    counsellor: "Counsellor",
    alone: "Nobody else is in the call yet. As soon as someone joins, their video appears here.",
    remote_video_label: |name| format!("Video of {name}"),
    mute: "Mic off",
    camera_off: "Camera off",
    mic_on: "Mic on",
    camera_on: "Camera on",
    fit_fill: "Fill screen",
    fit_whole: "Whole picture",
    devices: "Devices",
    devices_title: "Change camera and microphone",
    share_screen: "Share screen",
    chat: "Chat",
    hang_up: "Hang up",
    hang_up_confirm: "Really hang up?",
    participant_muted: "Microphone off",
    reconnecting: "Connection interrupted – reconnecting…",
    media_trouble: "Picture and sound are not getting through.",
    media_trouble_hint: "The connection is not up yet. Please try again – the chat keeps working.",
    participant_away: "Connection lost",
    participant_away_hint: "The picture has frozen. As soon as the connection is back, the call goes on by itself.",
    counsellor_away: "Your counsellor is not connected right now. The conversation goes on as soon as they are back.",
    paused_guest: "Paused until your counsellor is back",
    chat_paused: "The chat is paused until your counsellor is back.",
    media_retry: "Try again",
    media_sound_only: "Sound only",
    someone: "Someone",
    renewal_refused_guest: "The connection to your counsellor was restarted and abandoned several times. Further attempts are refused; the current conversation stays protected.",
    roster_not_acknowledged: |name| {
        format!(
            "{name} has not confirmed the current list of participants. They may still be connected to someone who was removed. Remove them if in doubt."
        )
    },
    messages_lost: "Some messages were lost on the way.",
    group_confirm_hint: |name| format!("{name} joins the others only after you confirm the code."),
    dismiss: "Got it",
    enable_sound: "Turn on sound",
    controls_label: "Call controls",
    close: "Close",
    chat_note: "Messages are not stored anywhere.",
    chat_empty: "No messages yet.",
    chat_input_label: "Write a message",
    chat_placeholder: "Message…",
    chat_send: "Send",
    chat_unread: |n| {
        if n == 1 {
            "1 new message".to_string()
        } else {
            format!("{n} new messages")
        }
    },
    retry: "Try again",
    audio_only: "Join with sound only",
    new_session: "Start a new session",
    failure_invalid_link: FailureText {
        title: "This link is incomplete",
        body: "The invite link is not valid or was cut off when it was copied.",
        todo: "Please open the link again directly from the message you received. If that does \
               not work, ask your counsellor for a new link.",
        steps: &[],
    },
    failure_link_used: FailureText {
        title: "This link does not work (any more)",
        body: "For your safety, every invite link works only once, for a short time, and only \
               while the session is open. If you did not open it yourself before, someone else \
               may have used it.",
        todo: "Please contact your counselling service the usual way and ask for a new link. \
               Tell them too if you did not open the link yourself.",
        steps: &[],
    },
    failure_rejected: FailureText {
        title: "You were not let in",
        body: "Your counsellor declined the request.",
        todo: "If this was a mistake, please contact your counselling service the usual way.",
        steps: &[],
    },
    failure_removed: FailureText {
        title: "You were taken out of the call",
        body: "Your counsellor removed you from the call.",
        todo: "If this was a mistake, please contact your counselling service the usual way.",
        steps: &[],
    },
    failure_session_ended: FailureText {
        title: "The conversation has ended",
        body: "The session was ended. Nothing was recorded or stored.",
        todo: "You can close this window now.",
        steps: &[],
    },
    failure_left: FailureText {
        title: "You left the conversation",
        body: "Nothing was recorded or stored.",
        todo: "You can close this window now.",
        steps: &[],
    },
    failure_camera_denied: FailureText {
        title: "The camera is blocked",
        body: "Your browser did not allow access to the camera.",
        todo: "You can take part with sound only. Or allow the camera:",
        steps: &[
            "Tap or click the lock or camera icon to the left of the address.",
            "Set “Camera” to “Allow”.",
            "Choose “Try again”.",
        ],
    },
    failure_camera_missing: FailureText {
        title: "No camera found",
        body: "We could not find a camera, or another program is using it.",
        todo: "Close other programs that use the camera and try again. You can also take part \
               with sound only.",
        steps: &[],
    },
    failure_microphone_denied: FailureText {
        title: "The microphone is blocked",
        body: "Your browser did not allow access to the microphone. Without a microphone nobody \
               can hear you in the call.",
        todo: "How to allow the microphone:",
        steps: &[
            "Tap or click the lock or settings icon to the left of the address.",
            "Set “Microphone” (and, if you like, “Camera”) to “Allow”.",
            "On a phone you also find this in the browser settings under “Site settings”.",
            "Then choose “Try again”.",
        ],
    },
    failure_microphone_missing: FailureText {
        title: "No microphone found",
        body: "We could not find a microphone, or another program is using it.",
        todo: "Connect a headset or microphone, or close other programs that use it. Then try again.",
        steps: &[],
    },
    failure_unsupported: FailureText {
        title: "This browser is not supported",
        body: "Your browser cannot encrypt the conversation end to end. Without this protection we \
               do not start the conversation.",
        todo: "Please use a current Chrome, Edge, Firefox or Safari and open the link there again.",
        steps: &[],
    },
    failure_connection_lost: FailureText {
        title: "The connection was interrupted",
        body: "The internet connection dropped.",
        todo: "Please keep this page open. If it does not come back, check your internet \
               connection and choose “Try again”.",
        steps: &[],
    },
    failure_security: FailureText {
        title: "Call ended for your safety",
        body: "The connection could not be confirmed as secure. Someone may have been listening \
               in, so we ended the call.",
        todo: "Please get in touch another way, for example by phone, and arrange a new \
               conversation.",
        steps: &[],
    },
    failure_sign_in: FailureText {
        title: "Sign-in for counsellors",
        body: "Only the counsellors of this centre open sessions here. This device is not (or no \
               longer) signed in. Guests need no sign-in: just open the link you received from \
               your counsellor.",
        todo: "Ask your centre's administration for your personal sign-in link and open it on \
               this device. It then stays signed in until you sign out.",
        steps: &[],
    },
    // ----- Appointments (guest) -----
    appt_title: "Your appointment: ",
    appt_clock: "",
    appt_early_lead: "This page connects you by itself when it is time. You can leave it open.",
    appt_opens: ["You can come in from ", "."],
    appt_wait_title: "Your counsellor is not here yet",
    appt_wait_lead: "This page keeps trying. You can leave it open.",
    appt_wait_long: "If someone else has already used your link, only your counselling centre \
                     can help.",
    appt_over_title: "This appointment is over",
    appt_over_was: "Your appointment was on ",
    appt_over_todo: "Please ask your counselling centre for a new appointment. You will get a new \
                     link for it.",
    host: HostTable::En,
};

/// Digits separated by spaces, so screen readers read them one by one.
fn spaced(code: &str) -> String {
    code.chars()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The counsellor's texts (her start, invite and planning screens, and her
/// parts of the call). Apart from [`Strings`] so that the guest's module
/// (`crate::GUEST_MODULE`), whose code never reaches these screens, leaves
/// them out: only code behind `hosting()` or on her screens may call
/// [`Strings::host`] (docs/BENCHMARKS.md §5).
pub struct HostStrings {
    // Start
    pub start_title: &'static str,
    pub start_lead: &'static str,
    pub start_points: [&'static str; 3],
    pub start_button: &'static str,
    // Invite and waiting room
    pub invite_title: &'static str,
    pub invite_lead: &'static str,
    pub invite_link_n: fn(usize) -> String,
    pub copy_link: &'static str,
    pub copy_failed: &'static str,
    pub link_once: &'static str,
    /// "Dieser Link funktioniert einmal, bis ", " Uhr." (a day or "heute" between).
    pub link_until: [&'static str; 2],
    /// "heute", "morgen" inside a sentence.
    pub until_days: [&'static str; 2],
    pub link_used: &'static str,
    pub qr_label: &'static str,
    pub qr_show: &'static str,
    pub invite_more: &'static str,
    pub invite_limit: &'static str,
    pub hide_address_hint: &'static str,
    pub waiting_room: &'static str,
    pub waiting_room_empty: &'static str,
    /// Knocks are noticed (issue 16 item 8): the counsellor's notification
    /// switch and what her browser said (the text is `Strings::notify_body`).
    pub notify_switch: &'static str,
    pub notify_blocked: &'static str,
    /// "Hereinlassen" from the invite page while her camera is not ready yet.
    pub admit_enter_pending: &'static str,
    /// The phone's share sheet.
    pub share_link: &'static str,
    /// A note per link, for her only, shown on its knock ("Link für M.").
    pub invite_note: &'static str,
    pub invite_note_placeholder: &'static str,
    pub knock_via: &'static str,
    pub own_devices: &'static str,
    pub enter_call_hint: &'static str,
    /// "Nachricht kopieren": the link in a ready message (link, centre, phone).
    pub copy_message: &'static str,
    /// The ready message: link, the appointment ("Donnerstag, 3. Dezember, 14:00" and
    /// the minutes before it the link opens), centre, phone.
    pub invite_message: InviteMessage,
    /// "Abmelden", its question, and the two answers.
    pub sign_out: [&'static str; 4],
    // Planned sessions (start page)
    pub plan_button: &'static str,
    /// "Anrede im Link": how a link's German guest pages address the guest.
    pub address_legend: &'static str,
    pub address_formal: &'static str,
    pub address_informal: &'static str,
    /// The name her guests see for her (start page).
    pub own_name_label: &'static str,
    pub own_name_hint: &'static str,
    pub plan_date: &'static str,
    pub plan_time: &'static str,
    pub plan_length: &'static str,
    pub plan_opens: &'static str,
    pub plan_opens_before: &'static str,
    pub plan_minutes: &'static str,
    pub plan_label: &'static str,
    pub plan_label_hint: &'static str,
    pub plan_submit: &'static str,
    pub plan_cancel: &'static str,
    pub plan_in_past: &'static str,
    pub planned_title: &'static str,
    /// "Heute", "Morgen".
    pub planned_days: [&'static str; 2],
    /// "Der Link funktioniert von ", " bis ", " Uhr."
    pub planned_window: [&'static str; 3],
    pub planned_knocking: &'static str,
    pub planned_open: &'static str,
    pub planned_delete: [&'static str; 4],
    pub planned_delete_all: [&'static str; 4],
    pub planned_device_note: &'static str,
    pub planned_none: &'static str,
    pub planned_unreadable: &'static str,
    // Her parts of the call: knocks, removing, inviting, ending, sharing
    pub invite_link_label: &'static str,
    pub undo: &'static str,
    pub remove_confirm: &'static str,
    pub remove_label: fn(&str) -> String,
    pub admit_label: fn(&str) -> String,
    pub reject_label: fn(&str) -> String,
    pub knock_in_call: fn(&str) -> String,
    /// A seat asks for a new key exchange; the argument is a name or [`Strings::someone`].
    pub renewal_request: fn(&str) -> String,
    pub renewal_accept: &'static str,
    pub invite_in_call: &'static str,
    pub invite_in_call_title: &'static str,
    pub end_for_all: &'static str,
    pub end_for_all_confirm: &'static str,
    pub renewal_refused_host: fn(&str) -> String,
    pub guest_left: fn(&str) -> String,
    pub new_link: &'static str,
    pub new_link_copied: fn(&str) -> String,
    pub new_link_made: fn(&str) -> String,
    pub share_advice: &'static str,
    pub share_choose_window: &'static str,
    pub share_cancel: &'static str,
    pub hide_address: &'static str,
    pub declining: &'static str,
    pub knocking: &'static str,
    pub admit: &'static str,
    pub reject: &'static str,
    pub admitted: &'static str,
    pub enter_call: &'static str,
    pub copied: &'static str,
    pub remove: &'static str,
    /// A way to compare without speaking aloud. Not the chat: whoever could
    /// sit in the middle could also rewrite a typed number.
    pub sas_silent_host: &'static str,
}

static HOST_DE: HostStrings = HostStrings {
    start_title: "Vertrauliche Videoberatung",
    start_lead: "confide verbindet Sie per Video mit den Menschen, die Sie beraten – \
                 Ende-zu-Ende verschlüsselt, ohne Installation und ohne Konto.",
    start_points: [
        "Bild, Ton und Chat sind Ende-zu-Ende verschlüsselt.",
        "Nichts wird aufgezeichnet oder gespeichert.",
        "Ihr Gegenüber braucht nur einen Browser und Ihren Einladungslink.",
    ],
    start_button: "Neue Sitzung starten",
    invite_title: "Person einladen",
    invite_lead: "Senden Sie diesen Link an die Person, mit der Sie sprechen möchten.",
    invite_link_n: |n| format!("Einladungslink {n}"),
    copy_link: "Link kopieren",
    copy_failed: "Kopieren nicht möglich – bitte markieren Sie den Link und kopieren Sie ihn selbst.",
    link_once: "Dieser Link funktioniert nur einmal.",
    link_until: ["Dieser Link funktioniert einmal, bis ", " Uhr."],
    until_days: ["heute", "morgen"],
    link_used: "Bereits geöffnet",
    qr_label: "QR-Code des Einladungslinks",
    qr_show: "QR-Code anzeigen",
    invite_more: "Weitere Person einladen",
    invite_limit: "Sie können bis zu drei Personen einladen.",
    hide_address_hint: "Bild und Ton laufen dann immer über den Server dieser Beratungsstelle \
        (weiterhin verschlüsselt). Gäste sehen Ihre IP-Adresse nicht. Zwischen Gästen \
        gilt das immer.",
    waiting_room: "Warteraum",
    waiting_room_empty: "Noch hat niemand angeklopft. Sobald jemand den Link öffnet und anklopft, \
                         erscheint die Person hier.",
    notify_switch: "Bei Klopfen benachrichtigen",
    notify_blocked: "Ihr Browser erlaubt dieser Seite keine Benachrichtigungen. Sie können das in \
                     den Einstellungen der Seite ändern; der Ton und das Zeichen im Tab bleiben.",
    admit_enter_pending: "Eingelassen. Sie betreten das Gespräch, sobald Ihre Kamera bereit ist.",
    share_link: "Teilen",
    invite_note: "Notiz zum Link (nur für Sie)",
    invite_note_placeholder: "z. B. für M., 14 Uhr",
    knock_via: "Link",
    own_devices: "Ihre Kamera und Ihr Mikrofon",
    enter_call_hint: "Sie können das Gespräch schon jetzt betreten. Hereingelassene Personen kommen dazu.",
    copy_message: "Nachricht kopieren",
    invite_message: |link, when, centre, phone| {
        let with = centre.map(|c| format!(" mit {c}")).unwrap_or_default();
        let when = when
            .map(|(w, m)| format!("Ihr Termin ist am {w} Uhr. Der Link funktioniert ab {m} Minuten vorher bis zum Ende des Termins. "))
            .unwrap_or_default();
        let call = phone
            .map(|p| format!("\nFragen? Rufen Sie uns an: {p}\n"))
            .unwrap_or_default();
        format!(
            "Guten Tag,\n\nhier ist Ihr Link für das Video-Gespräch{with}:\n{link}\n\n\
             {when}Der Link funktioniert nur einmal. Sie brauchen ein Handy oder einen Computer mit \
             aktuellem Browser; Kamera und Mikrofon, wenn Sie möchten. Sie müssen nichts \
             installieren.\n{call}"
        )
    },
    sign_out: [
        "Abmelden",
        "Dieses Gerät abmelden? Zum erneuten Anmelden brauchen Sie wieder Ihren Anmeldelink.",
        "Ja, abmelden",
        "Angemeldet bleiben",
    ],
    plan_button: "Termin planen",
    address_legend: "Anrede im Link",
    address_formal: "Sie",
    address_informal: "du",
    own_name_label: "Ihr Name für Gäste (freiwillig)",
    own_name_hint: "Zum Beispiel Frau Berger oder Anna. Ihre Gäste sehen ihn im Gespräch \
                    statt „Beratung“. Er bleibt auf diesem Gerät gespeichert.",
    plan_date: "Datum",
    plan_time: "Uhrzeit",
    plan_length: "Dauer",
    plan_opens: "Link gilt ab",
    plan_opens_before: " Minuten vorher",
    plan_minutes: " Minuten",
    plan_label: "Für wen? (freiwillig)",
    plan_label_hint: "Nur für Sie, z. B. „für M.“ – steht nicht im Link.",
    plan_submit: "Termin anlegen",
    plan_cancel: "Abbrechen",
    plan_in_past: "Diese Zeit ist schon vorbei. Bitte wählen Sie eine spätere Zeit.",
    planned_title: "Geplante Termine",
    planned_days: ["Heute", "Morgen"],
    planned_window: ["Der Link funktioniert von ", " bis ", " Uhr, einmal."],
    planned_knocking: "Jemand wartet",
    planned_open: "Termin öffnen",
    planned_delete: [
        "Termin löschen",
        "Termin löschen? Der Link funktioniert dann nicht mehr.",
        "Löschen",
        "Behalten",
    ],
    planned_delete_all: [
        "Alle Termine auf diesem Gerät löschen",
        "Alle Termine auf diesem Gerät löschen? Ihre Links funktionieren dann nicht mehr.",
        "Alle löschen",
        "Behalten",
    ],
    planned_device_note: "Termine werden nur auf diesem Gerät gespeichert, nicht auf dem Server; \
        auf einem anderen Gerät sehen Sie sie nicht. Öffnen Sie confide am Termintag hier: \
        Wer vorher anklopft, wartet, bis Sie da sind.",
    planned_none: "Auf diesem Gerät sind keine Termine geplant. Termine, die Sie auf einem \
        anderen Gerät geplant haben, sehen und öffnen Sie nur dort.",
    planned_unreadable: "Einige gespeicherte Termine kann diese Version nicht lesen. Sie bleiben \
        gespeichert.",
    invite_link_label: "Einladungslink",
    undo: "Rückgängig",
    remove_confirm: "Wirklich entfernen?",
    remove_label: |name| format!("{name} aus dem Gespräch entfernen"),
    admit_label: |name| format!("{name} hereinlassen"),
    reject_label: |name| format!("{name} ablehnen"),
    knock_in_call: |name| format!("{name} klopft an"),
    renewal_request: |name| {
        format!(
            "{name} möchte die Verbindung neu aufbauen. Danach vergleichen Sie einen neuen Sicherheitscode."
        )
    },
    renewal_accept: "Neu verbinden",
    invite_in_call: "Einladen",
    invite_in_call_title: "Weitere Person einladen",
    end_for_all: "Gespräch beenden",
    end_for_all_confirm: "Wirklich für alle beenden?",
    renewal_refused_host: |name| {
        format!(
            "Die Verbindung mit {name} wurde mehrfach neu gestartet und abgebrochen. Weitere Versuche werden abgelehnt – möglicherweise versucht jemand, sich einzuschalten. Entfernen Sie die Person, wenn Sie unsicher sind."
        )
    },
    guest_left: |name| format!("{name} hat das Gespräch verlassen."),
    new_link: "Neuen Link erstellen",
    new_link_copied: |name| {
        format!("Neuer Link kopiert – senden Sie ihn an {name}. Er funktioniert einmal.")
    },
    new_link_made: |name| {
        format!(
            "Neuer Link – kopieren Sie ihn und senden Sie ihn an {name}. Er funktioniert einmal."
        )
    },
    share_advice: "Teilen Sie am besten nur ein Fenster. Ein ganzer Bildschirm kann Namen anderer \
                   Klientinnen und Klienten zeigen.",
    share_choose_window: "Fenster wählen",
    share_cancel: "Abbrechen",
    hide_address: "Meine IP-Adresse verbergen",
    declining: "Wird abgelehnt …",
    knocking: "klopft an",
    admit: "Hereinlassen",
    reject: "Ablehnen",
    admitted: "Hereingelassen",
    enter_call: "Gespräch betreten",
    copied: "Kopiert",
    remove: "Entfernen",
    sas_silent_host: "Ihr Gegenüber kann die Zahl auch auf einen Zettel schreiben und in die Kamera halten.",
};

/// The counsellor's own screens are formal; only the message she sends
/// with a "du" link says "du".
static HOST_DE_DU: HostStrings = HostStrings {
    invite_message: |link, when, centre, phone| {
        let with = centre.map(|c| format!(" mit {c}")).unwrap_or_default();
        let when = when
            .map(|(w, m)| format!("Dein Termin ist am {w} Uhr. Der Link funktioniert ab {m} Minuten vorher bis zum Ende des Termins. "))
            .unwrap_or_default();
        let call = phone
            .map(|p| format!("\nFragen? Ruf uns an: {p}\n"))
            .unwrap_or_default();
        format!(
            "Hallo,\n\nhier ist dein Link für das Video-Gespräch{with}:\n{link}\n\n\
             {when}Der Link funktioniert nur einmal. Du brauchst ein Handy oder einen Computer mit \
             aktuellem Browser; Kamera und Mikrofon, wenn du möchtest. Du musst nichts \
             installieren.\n{call}"
        )
    },
    ..HOST_DE
};

static HOST_EN: HostStrings = HostStrings {
    start_title: "Confidential video counselling",
    start_lead: "confide connects you by video with the people you counsel – end-to-end \
                 encrypted, with nothing to install and no account.",
    start_points: [
        "Video, sound and chat are end-to-end encrypted.",
        "Nothing is recorded or stored.",
        "The other person only needs a browser and your invite link.",
    ],
    start_button: "Start a new session",
    invite_title: "Invite someone",
    invite_lead: "Send this link to the person you want to talk to.",
    invite_link_n: |n| format!("Invite link {n}"),
    copy_link: "Copy link",
    copy_failed: "Copying is not possible – please select the link and copy it yourself.",
    link_once: "This link works only once.",
    link_until: ["This link works once, until ", "."],
    until_days: ["today", "tomorrow"],
    link_used: "Already opened",
    qr_label: "QR code of the invite link",
    qr_show: "Show QR code",
    invite_more: "Invite another person",
    invite_limit: "You can invite up to three people.",
    hide_address_hint: "Picture and sound then always go through this centre's server \
        (still encrypted). Guests do not see your IP address. Between guests this \
        always applies.",
    waiting_room: "Waiting room",
    waiting_room_empty: "Nobody has knocked yet. As soon as someone opens the link and knocks, \
                         they appear here.",
    notify_switch: "Notify me when someone knocks",
    notify_blocked: "Your browser does not allow this page to show notifications. You can change \
                     that in the page's settings; the sound and the mark on the tab remain.",
    admit_enter_pending: "Let in. You enter the call as soon as your camera is ready.",
    share_link: "Share",
    invite_note: "Note for this link (only for you)",
    invite_note_placeholder: "e.g. for M., 2 pm",
    knock_via: "link",
    own_devices: "Your camera and microphone",
    enter_call_hint: "You can enter the call now. People you let in will join you.",
    copy_message: "Copy message",
    invite_message: |link, when, centre, phone| {
        let with = centre.map(|c| format!(" with {c}")).unwrap_or_default();
        let when = when
            .map(|(w, m)| format!("Your appointment is on {w}. The link works from {m} minutes before until the end of the appointment. "))
            .unwrap_or_default();
        let call = phone
            .map(|p| format!("\nQuestions? Call us: {p}\n"))
            .unwrap_or_default();
        format!(
            "Hello,\n\nhere is your link for the video call{with}:\n{link}\n\n\
             {when}The link works only once. You need a phone or computer with an up-to-date \
             browser; camera and microphone if you like. Nothing to install.\n{call}"
        )
    },
    sign_out: [
        "Sign out",
        "Sign out this device? To sign in again you will need your sign-in link.",
        "Yes, sign out",
        "Stay signed in",
    ],
    plan_button: "Plan an appointment",
    address_legend: "How the link's German pages address your guest",
    address_formal: "Sie (formal)",
    address_informal: "du (informal)",
    own_name_label: "Your name for guests (optional)",
    own_name_hint: "For example Ms Berger or Anna. Your guests see it in the call instead of \
                    “Counsellor”. It stays saved on this device.",
    plan_date: "Date",
    plan_time: "Time",
    plan_length: "Length",
    plan_opens: "Link works from",
    plan_opens_before: " minutes before",
    plan_minutes: " minutes",
    plan_label: "For whom? (optional)",
    plan_label_hint: "Only for you, e.g. “for M.” – it is not in the link.",
    plan_submit: "Create appointment",
    plan_cancel: "Cancel",
    plan_in_past: "This time has already passed. Please choose a later time.",
    planned_title: "Planned appointments",
    planned_days: ["Today", "Tomorrow"],
    planned_window: ["The link works from ", " to ", ", once."],
    planned_knocking: "Someone is waiting",
    planned_open: "Open appointment",
    planned_delete: [
        "Delete appointment",
        "Delete this appointment? Its link will stop working.",
        "Delete",
        "Keep",
    ],
    planned_delete_all: [
        "Delete all appointments on this device",
        "Delete all appointments on this device? Their links will stop working.",
        "Delete all",
        "Keep",
    ],
    planned_device_note: "Appointments are stored only on this device, not on the server; \
        you will not see them on another device. Open confide here on the day: whoever \
        knocks earlier waits until you are there.",
    planned_none: "No appointments are planned on this device. Appointments you planned on \
        another device can only be seen and opened there.",
    planned_unreadable: "Some stored appointments cannot be read by this version. They stay \
        stored.",
    invite_link_label: "Invite link",
    undo: "Undo",
    remove_confirm: "Really remove?",
    remove_label: |name| format!("Remove {name} from the call"),
    admit_label: |name| format!("Let {name} in"),
    reject_label: |name| format!("Decline {name}"),
    knock_in_call: |name| format!("{name} is knocking"),
    renewal_request: |name| {
        format!("{name} wants to reconnect. You will compare a new safety code afterwards.")
    },
    renewal_accept: "Reconnect",
    invite_in_call: "Invite",
    invite_in_call_title: "Invite another person",
    end_for_all: "End the session",
    end_for_all_confirm: "Really end for everyone?",
    renewal_refused_host: |name| {
        format!(
            "The connection with {name} was restarted and abandoned several times. Further attempts are refused – someone may be trying to listen in. Remove the person if in doubt."
        )
    },
    guest_left: |name| format!("{name} left the call."),
    new_link: "Create a new link",
    new_link_copied: |name| format!("New link copied – send it to {name}. It works once."),
    new_link_made: |name| format!("New link – copy it and send it to {name}. It works once."),
    share_advice: "Best share a single window only. A whole screen can show the names of \
                   other clients.",
    share_choose_window: "Choose a window",
    share_cancel: "Cancel",
    hide_address: "Hide my IP address",
    declining: "Turning away …",
    knocking: "is knocking",
    admit: "Let in",
    reject: "Decline",
    admitted: "Already let in",
    enter_call: "Enter the call",
    copied: "Copied",
    remove: "Remove",
    sas_silent_host: "They can also write the number on paper and hold it up to the camera.",
};
