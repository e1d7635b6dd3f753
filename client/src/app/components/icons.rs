//! Small line icons drawn inline as SVG (no icon font, no extra requests).
//! Always decorative: the button next to them carries the text or `aria-label`.

use yew::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Icon {
    Mic,
    MicOff,
    Camera,
    CameraOff,
    Screen,
    Chat,
    HangUp,
    Devices,
    Lock,
    Check,
    Warning,
    Copy,
    Exit,
    Person,
    Close,
    Send,
    Plus,
}

/// Renders an icon (24×24 viewBox, drawn with `currentColor`).
pub fn icon(kind: Icon) -> Html {
    let shapes = match kind {
        Icon::Mic => html! {<>
            <rect x="9" y="3" width="6" height="11" rx="3" />
            <path d="M5 11a7 7 0 0 0 14 0M12 18v3" />
        </>},
        Icon::MicOff => html! {<>
            <rect x="9" y="3" width="6" height="11" rx="3" />
            <path d="M5 11a7 7 0 0 0 14 0M12 18v3M4 4l16 16" />
        </>},
        Icon::Camera => html! {<>
            <rect x="3" y="7" width="12" height="10" rx="2" />
            <path d="M15 11l6-3v8l-6-3z" />
        </>},
        Icon::CameraOff => html! {<>
            <rect x="3" y="7" width="12" height="10" rx="2" />
            <path d="M15 11l6-3v8l-6-3zM3 4l17 17" />
        </>},
        Icon::Screen => html! {<>
            <rect x="3" y="4" width="18" height="12" rx="2" />
            <path d="M8 20h8M12 16v4" />
        </>},
        Icon::Chat => html! { <path d="M4 5h16v11H9l-5 4z" /> },
        Icon::HangUp => html! {
            <path d="M3 14c5-5 13-5 18 0l-2 3-4-1v-2.5c-2-.7-4-.7-6 0V16l-4 1z" />
        },
        Icon::Devices => html! {<>
            <path d="M4 7h10M18 7h2M4 17h4M12 17h8" />
            <circle cx="16" cy="7" r="2" />
            <circle cx="10" cy="17" r="2" />
        </>},
        Icon::Lock => html! {<>
            <rect x="5" y="11" width="14" height="9" rx="2" />
            <path d="M8 11V8a4 4 0 0 1 8 0v3" />
        </>},
        Icon::Check => html! { <path d="M5 12l4 4 10-10" /> },
        Icon::Warning => html! { <path d="M12 3l10 18H2zM12 10v5M12 18v.5" /> },
        Icon::Copy => html! {<>
            <rect x="9" y="9" width="11" height="11" rx="2" />
            <path d="M5 15V5a1 1 0 0 1 1-1h9" />
        </>},
        Icon::Exit => html! { <path d="M14 4h5v16h-5M10 8l-4 4 4 4M6 12h10" /> },
        Icon::Person => html! {<>
            <circle cx="12" cy="8" r="4" />
            <path d="M4 21c1-5 15-5 16 0" />
        </>},
        Icon::Close => html! { <path d="M6 6l12 12M18 6L6 18" /> },
        Icon::Send => html! { <path d="M4 12l16-8-6 16-3-7z" /> },
        Icon::Plus => html! { <path d="M12 5v14M5 12h14" /> },
    };
    html! {
        <svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false"
            fill="none" stroke="currentColor" stroke-width="2"
            stroke-linecap="round" stroke-linejoin="round">
            { shapes }
        </svg>
    }
}
