//! The UI's data model: everything a screen shows, and everything a user can ask for.
//!
//! The session controller owns the truth (who is connected, what is encrypted) and
//! pushes a [`Screen`]; the UI only renders it and reports [`UiAction`]s. Keeping
//! this a plain data model means screens can be rendered with sample data (gallery)
//! and the controller never touches the DOM.

pub use confide_shared::link::Address;
use web_sys::MediaStream;

pub use confide_shared::media_watch::Trouble;

use super::i18n::Lang;

/// A participant's id as the controller numbers them (stable for one session).
pub type PeerId = u32;

/// An invite link's id as the controller numbers them.
pub type InviteId = u32;

/// At most this many guests can be invited into one session.
pub const MAX_GUESTS: usize = 3;

/// The whole screen the app shows.
#[derive(Clone, Debug, PartialEq)]
pub enum Screen {
    /// Nothing decided yet (the controller is still parsing the URL).
    Loading,
    /// Counsellor: what confide is, "start a session", her planned sessions.
    Start(StartView),
    /// Counsellor: invite links, QR code, own camera check and the waiting room.
    Invite(InviteView),
    /// Guest: plain-language privacy note before the browser asks for the camera.
    GuestWelcome(GuestView),
    /// Guest: camera and microphone check, optional name, "knock".
    DeviceCheck(GuestView),
    /// Guest: knocked, waiting to be admitted.
    Waiting,
    /// Guest with an appointment link: too early, the counsellor not there
    /// yet, or too late.
    Appointment(AppointmentView),
    /// Both: the call.
    Call(CallView),
    /// Something went wrong or ended; says what happened and what to do.
    Failure(FailureKind),
}

impl Screen {
    /// Screens only a guest ever sees (used to keep "quick exit" visible).
    pub fn is_guest_screen(&self) -> bool {
        match self {
            Screen::GuestWelcome(_)
            | Screen::DeviceCheck(_)
            | Screen::Waiting
            | Screen::Appointment(_) => true,
            Screen::Call(call) => !call.is_host,
            _ => false,
        }
    }
}

/// The counsellor's start page: her planned sessions on this device.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StartView {
    /// In start order.
    pub planned: Vec<PlannedView>,
    /// Stored sessions this version cannot read (kept, not shown).
    pub unreadable: usize,
    /// The last "Termin anlegen" could not be used (a time in the past).
    pub plan_refused: bool,
    /// Her last "Anrede im Link" (the plan form starts with it).
    pub address: Address,
    /// The name her guests see for her ("" if none).
    pub own_name: String,
}

/// One planned session (times in unix seconds).
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedView {
    /// The room id (base64url): names the session in actions.
    pub room: String,
    pub starts: u64,
    /// The link works from here…
    pub opens: u64,
    /// …until here.
    pub closes: u64,
    /// "für M.": for her only.
    pub label: String,
    /// The guest's link, with the appointment.
    pub link: String,
    /// Someone knocked and waits (the relay holds the knock).
    pub knocking: bool,
    /// Just planned: shown opened, with the link to send.
    pub fresh: bool,
}

/// What the guest screens need to know.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GuestView {
    /// The guest already chose to take part without camera.
    pub audio_only: bool,
    /// The guest chose "Nur schreiben": no camera, no microphone, no permission asked.
    pub chat_only: bool,
}

/// A guest's appointment (times in unix seconds) and which page of it to show.
#[derive(Clone, Debug, PartialEq)]
pub struct AppointmentView {
    pub starts: u64,
    /// When the link starts to work.
    pub opens: u64,
    pub page: AppointmentPage,
    /// Knocking again for some minutes: also the centre's phone, and that
    /// only the centre can help if the link was used.
    pub long: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppointmentPage {
    /// Before the window: the page waits and continues by itself.
    Early,
    /// Inside the window, but the knock was refused: the counsellor's
    /// confide has not opened the room yet (or the link was used). The page
    /// knocks again.
    NotThereYet,
    /// The window has closed.
    Over,
}

/// The counsellor's invite screen.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InviteView {
    /// One link per guest, oldest first. Each works exactly once.
    pub invites: Vec<InviteLink>,
    /// Guests who knocked and wait for a decision.
    pub knocks: Vec<KnockView>,
    /// Guests already admitted (shown so the counsellor knows whom to expect in the call).
    pub admitted: Vec<KnockView>,
    /// "IP-Adresse verbergen": the counsellor's links go through the relay's
    /// TURN server only, so guests never see her address.
    pub hide_address: bool,
}

/// One one-time invite link.
#[derive(Clone, Debug, PartialEq)]
pub struct InviteLink {
    pub id: InviteId,
    /// The full URL including the secret fragment.
    pub url: String,
    /// Somebody already opened it (it cannot be used again).
    pub used: bool,
    /// It works until then (unix seconds), as far as we know: the relay's
    /// answer, or a planned session's window.
    pub until: Option<u64>,
    /// Her note ("für M., 14 Uhr"): in this tab only, never in the link.
    pub note: String,
}

/// A knock in the waiting room.
#[derive(Clone, Debug, PartialEq)]
pub struct KnockView {
    pub id: PeerId,
    /// The name the guest typed, if any.
    pub name: Option<String>,
    /// An admitted guest's seat asks for a new key exchange that the
    /// counsellor did not start (a reload — or someone trying to get into the
    /// middle): "… möchte die Verbindung neu aufbauen" instead of a knock.
    pub renewal: bool,
    /// "Ablehnen" was clicked: the guest is turned away in a few seconds
    /// unless the counsellor takes it back ("Rückgängig").
    pub declining: bool,
    /// Her note on the link this guest came with, to tell two unnamed apart.
    pub note: Option<String>,
}

/// A security warning on the call screen, until the person dismisses it.
#[derive(Clone, Debug, PartialEq)]
pub struct Warning {
    pub id: u32,
    pub kind: WarningKind,
    /// Whom it is about (the counsellor's view of a guest), if anyone.
    pub peer: Option<PeerId>,
    pub name: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WarningKind {
    /// Renewals with this seat were abandoned too often and are refused now.
    RenewalRefused,
    /// A guest did not confirm the current list of participants.
    RosterNotAcknowledged,
    /// Messages were lost on the way.
    MessagesLost,
}

/// Everything the call screen shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallView {
    /// This browser is the counsellor's (may admit, remove, end for all).
    pub is_host: bool,
    /// Remote participants (1–3 are laid out as a grid).
    pub participants: Vec<ParticipantView>,
    /// Our own camera/microphone stream for the self-view (never played with sound).
    pub local_stream: Option<MediaStream>,
    /// The safety codes to compare: a guest has one (with the counsellor); the
    /// counsellor has one per guest. Empty while they are being computed.
    pub codes: Vec<SafetyCode>,
    /// Every sent and received track is end-to-end encrypted. Only then does the UI
    /// claim so; otherwise it says "securing the connection…".
    pub all_encrypted: bool,
    /// Chat lines, oldest first.
    pub chat: Vec<ChatLine>,
    /// Our microphone is muted.
    pub muted: bool,
    /// Our camera is switched off.
    pub camera_off: bool,
    /// We have no camera at all (joined with sound only).
    pub audio_only: bool,
    /// We send nothing at all (a guest who chose "Nur schreiben").
    pub chat_only: bool,
    /// We are sharing our screen.
    pub sharing_screen: bool,
    /// Counsellor: guests knocking while the call runs.
    pub knocks: Vec<KnockView>,
    /// Counsellor: the invite links, to invite someone from inside the call.
    pub invites: Vec<InviteLink>,
    /// The connection dropped and the controller is reconnecting.
    pub reconnecting: bool,
    /// Security warnings, newest last.
    pub warnings: Vec<Warning>,
    /// Messages that arrived altered, replayed or forged and were thrown away
    /// (the call goes on; the user is told calmly).
    pub refused: u32,
    /// Guest: the counsellor's connection is lost. Picture, sound and chat
    /// with the other guests are paused until she is back.
    pub counsellor_away: bool,
    /// Counsellor: guests who left the call, each with a way back in.
    pub departures: Vec<Departure>,
}

/// Counsellor: a guest left the call (hung up, quick exit, or gone for good).
#[derive(Clone, Debug, PartialEq)]
pub struct Departure {
    pub id: PeerId,
    pub name: Option<String>,
    /// The new one-time link made for them ("Neuen Link erstellen").
    pub link: Option<String>,
}

/// The safety code shared with one participant.
#[derive(Clone, Debug, PartialEq)]
pub struct SafetyCode {
    /// The participant this code is shared with.
    pub peer: PeerId,
    /// Their display name (for the counsellor's list), `None` = no name.
    pub name: Option<String>,
    /// Whether the code is shared with the counsellor (the guest's one code).
    pub with_host: bool,
    /// Six digits, e.g. "123456".
    pub code: String,
    /// "We compared it, it matches" was clicked.
    pub confirmed: bool,
    /// It replaced an earlier code (someone reloaded): compare it again.
    pub renewed: bool,
}

impl CallView {
    /// This page is the counsellor's. Always false in the guest's module
    /// (`crate::GUEST_MODULE`), so that the compiler leaves her parts of the
    /// call screen (knocks, remove, invite, end for all) out of it.
    pub fn hosting(&self) -> bool {
        self.is_host && !crate::GUEST_MODULE
    }

    /// Every safety code was compared and confirmed.
    pub fn all_codes_confirmed(&self) -> bool {
        !self.codes.is_empty() && self.codes.iter().all(|c| c.confirmed)
    }
}

/// One remote participant in the call.
#[derive(Clone, Debug, PartialEq)]
pub struct ParticipantView {
    pub id: PeerId,
    /// The display name (guest's chosen name, or the counsellor's label); `None` = no name.
    pub name: Option<String>,
    /// This participant is the counsellor.
    pub is_host: bool,
    /// Their audio and video, once it arrives.
    pub stream: Option<MediaStream>,
    /// They have no video (or switched it off): show an avatar instead.
    pub audio_only: bool,
    /// They chose to send nothing ("Nur schreiben"), as their description says.
    pub chat_only: bool,
    /// They muted their microphone (if the controller knows).
    pub muted: bool,
    /// Every track from and to this participant is end-to-end encrypted.
    pub encrypted: bool,
    /// Picture and sound from this participant do not come through; the
    /// tile says so, with a way to try again.
    pub trouble: Option<Trouble>,
    /// Their connection to the relay is lost; they may come back.
    pub away: bool,
    /// Guest: another guest, with whom nothing is exchanged while the
    /// counsellor is away (no group goes on without her).
    pub paused: bool,
}

/// One chat message.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatLine {
    pub id: u64,
    /// Written by us.
    pub mine: bool,
    /// The sender's display name (ignored when `mine`).
    pub sender: Option<String>,
    /// Sent by the counsellor (shown as "Beratung" when `sender` is `None`).
    pub from_host: bool,
    /// When it was sent or received, milliseconds since the epoch (`Date.now()`).
    pub at_ms: f64,
    pub text: String,
}

/// Every way a session can fail or end, each with its own explanation page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// The link is malformed or incomplete.
    InvalidLink,
    /// The relay refused the link: used, expired, unknown or its room gone (one
    /// answer on purpose, docs/PROTOCOL.md "Close codes").
    LinkUsed,
    /// The counsellor declined the knock.
    Rejected,
    /// The counsellor removed us from the call.
    Removed,
    /// The counsellor ended the session.
    SessionEnded,
    /// We left the call ourselves.
    Left,
    /// No camera could be used; `denied` = the user or browser blocked it.
    CameraUnavailable { denied: bool },
    /// No microphone could be used either; `denied` = blocked.
    MicrophoneUnavailable { denied: bool },
    /// The browser lacks end-to-end encryption support.
    UnsupportedBrowser,
    /// The connection dropped; `retrying` = the controller is reconnecting by itself.
    ConnectionLost { retrying: bool },
    /// The safety codes did not match or the connection could not be verified.
    SecurityWarning,
    /// A counsellor without a (valid) sign-in on this device.
    SignInNeeded,
}

impl FailureKind {
    /// The stable `data-kind` value for tests.
    pub fn test_kind(self) -> &'static str {
        match self {
            FailureKind::InvalidLink => "invalid-link",
            FailureKind::LinkUsed => "link-used",
            FailureKind::Rejected => "rejected",
            FailureKind::Removed => "removed",
            FailureKind::SessionEnded => "session-ended",
            FailureKind::Left => "left",
            FailureKind::CameraUnavailable { denied: true } => "camera-denied",
            FailureKind::CameraUnavailable { denied: false } => "camera-missing",
            FailureKind::MicrophoneUnavailable { denied: true } => "microphone-denied",
            FailureKind::MicrophoneUnavailable { denied: false } => "microphone-missing",
            FailureKind::UnsupportedBrowser => "unsupported-browser",
            FailureKind::ConnectionLost { .. } => "connection-lost",
            FailureKind::SecurityWarning => "security-warning",
            FailureKind::SignInNeeded => "sign-in-needed",
        }
    }
}

/// The camera/microphone the user checked, handed to the controller. The controller
/// owns the stream from then on (and stops its tracks when the call ends).
#[derive(Clone, Debug, PartialEq)]
pub struct LocalMedia {
    pub stream: MediaStream,
    pub camera_id: Option<String>,
    pub microphone_id: Option<String>,
    /// No video track (the user chose "sound only" or has no camera).
    pub audio_only: bool,
}

impl LocalMedia {
    /// "Nur schreiben": an empty stream, for which nothing was asked.
    pub fn chat_only() -> Option<LocalMedia> {
        Some(LocalMedia {
            stream: MediaStream::new().ok()?,
            camera_id: None,
            microphone_id: None,
            audio_only: true,
        })
    }

    /// Sends nothing (no track at all): the guest only writes.
    pub fn is_chat_only(&self) -> bool {
        self.stream.get_tracks().length() == 0
    }
}

/// Which kind of device a switch is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    Camera,
    Microphone,
}

/// A device switch during the call. The UI already acquired the new device:
/// `stream` holds exactly one new track of `kind`; the controller replaces the
/// sender's track with it and stops the old one.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceSwitch {
    pub kind: DeviceKind,
    pub device_id: String,
    pub stream: MediaStream,
}

/// Everything a user can ask for. The UI never acts on these itself (except
/// language, clipboard and device access); the controller decides.
#[derive(Clone, Debug, PartialEq)]
pub enum UiAction {
    /// Counsellor: "start a new session".
    StartSession,
    /// Counsellor: "Abmelden" (confirmed): forget her sign-in on this device.
    SignOut,
    /// Counsellor: "Termin anlegen" (start in unix seconds, length in minutes,
    /// when the link opens, an optional label for her own list).
    PlanSession {
        starts: u64,
        minutes: u32,
        /// Minutes before the start the link opens.
        opens_before: u32,
        label: String,
        /// "Anrede im Link": the guest's pages say "Sie" or "du".
        address: Address,
    },
    /// Counsellor: "Anrede im Link" for her open links and the next ones
    /// (remembered on this device).
    SetAddress(Address),
    /// Counsellor: the name her guests see for her (start page).
    SetOwnName(String),
    /// Counsellor: open a planned session now (its waiting room).
    OpenPlanned(String),
    /// Counsellor: delete one planned session (confirmed); its link stops working.
    DeletePlanned(String),
    /// Counsellor: "Alle Termine auf diesem Gerät löschen" (confirmed).
    DeleteAllPlanned,
    /// Counsellor: create another invite link.
    CreateInvite,
    /// Counsellor copied an invite link (the UI already wrote it to the clipboard).
    CopyLink(InviteId),
    /// Her note on a link ("für M., 14 Uhr"), shown on its knock.
    NoteInvite(InviteId, String),
    /// Counsellor admits a knocking guest.
    Admit(PeerId),
    /// Counsellor declines a knocking guest.
    Reject(PeerId),
    /// The person read a warning and closes it.
    DismissWarning(u32),
    /// Counsellor removes a participant from the call.
    Remove(PeerId),
    /// Counsellor enters the call with their checked camera/microphone.
    EnterCall(LocalMedia),
    /// Guest read the privacy note and continues to the camera check.
    ContinueToDeviceCheck,
    /// Guest chose "Nur schreiben": she knocks without camera or microphone.
    ChatOnly,
    /// Guest knocks with an optional name and the checked media.
    Knock {
        name: Option<String>,
        media: LocalMedia,
    },
    ToggleMute,
    ToggleCamera,
    SwitchDevice(DeviceSwitch),
    /// Start or stop screen sharing (emitted from a click: user activation is live).
    ShareScreen,
    SendChat(String),
    /// "The code shared with this participant matches."
    ConfirmSas(PeerId),
    /// "The code does not match": a guest leaves with a warning; the counsellor
    /// removes that participant and sees the warning.
    DenySas(PeerId),
    /// Leave the call (counsellor: the session continues for nobody else only if
    /// the controller says so; use `EndForAll` to end it explicitly).
    HangUp,
    /// Counsellor: end the session for everybody.
    EndForAll,
    /// Guest: leave immediately and hide the page from history.
    QuickExit,
    /// "Try again" on a failure page.
    Retry,
    /// "Erneut versuchen" where picture and sound from this participant do
    /// not come through (ICE restart / a new offer).
    RetryMedia(PeerId),
    /// "Nur Ton" where picture and sound do not come through: stop sending
    /// our picture (less to carry) and try the connection again.
    SoundOnly(PeerId),
    /// Continue without camera (from the camera failure page).
    AudioOnly,
    /// Counsellor: a new one-time link for a guest who left.
    NewLinkAfterLeave(PeerId),
    /// Counsellor: close the notice that a guest left.
    DismissDeparture(PeerId),
    /// Counsellor: take back a "Reject" within its grace time.
    UndoReject(PeerId),
    /// Counsellor: "IP-Adresse verbergen" switched on or off for this session.
    HideAddress(bool),
    /// The user switched the language (already applied by the UI).
    SetLanguage(Lang),
}
