//! The invite link as a QR code, drawn as one SVG path (no image crate, CSP-safe).

use qrcode::{Color, EcLevel, QrCode};
use yew::prelude::*;

/// Modules of white margin around the code (the standard asks for 4).
const QUIET: usize = 4;

#[derive(Properties, PartialEq)]
pub struct QrProps {
    pub data: AttrValue,
    pub label: AttrValue,
}

/// Renders `data` as a QR code, or nothing if it is too long to encode.
#[component(QrCodeSvg)]
pub fn qr_code_svg(props: &QrProps) -> Html {
    let path = use_memo(props.data.clone(), |data| {
        let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M).ok()?;
        let width = code.width();
        let mut d = String::new();
        for (i, color) in code.to_colors().into_iter().enumerate() {
            if color == Color::Dark {
                let (x, y) = (i % width + QUIET, i / width + QUIET);
                d.push_str(&format!("M{x} {y}h1v1h-1z"));
            }
        }
        Some((width + 2 * QUIET, d))
    });
    let Some((size, d)) = (*path).clone() else {
        return Html::default();
    };
    html! {
        <svg class="qr" viewBox={format!("0 0 {size} {size}")} role="img"
            aria-label={props.label.clone()} shape-rendering="crispEdges"
            data-testid="invite-qr">
            <rect width={size.to_string()} height={size.to_string()} fill="#fff" />
            <path d={d} fill="#000" />
        </svg>
    }
}
