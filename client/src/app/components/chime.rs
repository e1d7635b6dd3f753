//! A soft two-note chime when someone knocks, so a counsellor in another tab
//! or looking away notices (issue 16 item 8). Made with WebAudio, no sound
//! file to download; quiet (gain 0.12) and short (0.7 s).

use wasm_bindgen::JsCast;
use web_sys::AudioContext;

/// Plays the chime; silently nothing where the browser has no WebAudio or
/// does not allow sound yet (no click on the page so far).
pub fn chime() {
    let Ok(context) = AudioContext::new() else {
        return;
    };
    let now = context.current_time();
    for (i, frequency) in [660.0f32, 880.0].into_iter().enumerate() {
        let start = now + 0.18 * i as f64;
        let (Ok(oscillator), Ok(gain)) = (context.create_oscillator(), context.create_gain())
        else {
            return;
        };
        oscillator.frequency().set_value(frequency);
        let level = gain.gain();
        let _ = level.set_value_at_time(0.0001, start);
        let _ = level.exponential_ramp_to_value_at_time(0.12, start + 0.03);
        let _ = level.exponential_ramp_to_value_at_time(0.0001, start + 0.5);
        let _ = oscillator
            .connect_with_audio_node(&gain)
            .and_then(|_| gain.connect_with_audio_node(&context.destination()));
        let _ = oscillator.start_with_when(start);
        let _ = oscillator.stop_with_when(start + 0.55);
    }
    // Close the context once the notes are over (contexts are limited).
    let closer = context.clone();
    let close = wasm_bindgen::closure::Closure::once_into_js(move || {
        let _ = closer.close();
    });
    if let Some(window) = web_sys::window() {
        let _ = window
            .set_timeout_with_callback_and_timeout_and_arguments_0(close.unchecked_ref(), 1000);
    }
}
