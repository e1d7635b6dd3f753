//! Times as people read them: the browser's own calendar and clock, in the
//! app's language and the device's time zone (never a hand-rolled calendar).

use crate::app::i18n::Lang;

fn date(unix_secs: u64) -> js_sys::Date {
    js_sys::Date::new(&(unix_secs as f64 * 1000.0).into())
}

fn options(json: &str) -> wasm_bindgen::JsValue {
    js_sys::JSON::parse(json).unwrap_or_default()
}

/// `"Donnerstag, 3. Dezember"` (`"Thursday, December 3"`).
pub fn day(unix_secs: u64, lang: Lang) -> String {
    date(unix_secs)
        .to_locale_date_string(
            lang.tag(),
            &options(r#"{"weekday":"long","day":"numeric","month":"long"}"#),
        )
        .into()
}

/// `"14:00"` (`"2:00 PM"`).
pub fn clock(unix_secs: u64, lang: Lang) -> String {
    date(unix_secs)
        .to_locale_time_string_with_options(
            lang.tag(),
            &options(r#"{"hour":"numeric","minute":"2-digit"}"#),
        )
        .into()
}

/// Days from today to the day of `unix_secs`, in local time (0 = today).
pub fn days_from_today(unix_secs: u64) -> i64 {
    let midnight = |d: js_sys::Date| {
        js_sys::Date::new_with_year_month_day(
            d.get_full_year(),
            d.get_month() as i32,
            d.get_date() as i32,
        )
        .get_time()
    };
    let today = midnight(js_sys::Date::new_0());
    let then = midnight(date(unix_secs));
    ((then - today) / 86_400_000.0).round() as i64
}

/// `"Heute, 14:00"`, `"Morgen, 9:30"`, `"Donnerstag, 3. Dezember, 14:00"`
/// (`days`: the words for today and tomorrow).
pub fn day_and_clock(unix_secs: u64, lang: Lang, days: [&str; 2]) -> String {
    let day = match days_from_today(unix_secs) {
        0 => days[0].to_owned(),
        1 => days[1].to_owned(),
        _ => day(unix_secs, lang),
    };
    day + ", " + &clock(unix_secs, lang)
}

/// A date and a time typed into `<input type="date">`/`<input type="time">`
/// ("2026-12-03", "14:00"), read as local time; `None` if not a time.
pub fn parse_local(day: &str, time: &str) -> Option<u64> {
    let ms = js_sys::Date::new(&(day.to_owned() + "T" + time).into()).get_time();
    (ms.is_finite() && ms > 0.0).then(|| (ms / 1000.0) as u64)
}

/// The form's first suggestion: today, the next full hour
/// (`("2026-12-03", "14:00")`).
pub fn next_full_hour() -> (String, String) {
    let d = js_sys::Date::new(&(js_sys::Date::now() + 3_600_000.0).into());
    let two = |n: u32| {
        if n < 10 {
            "0".to_owned() + &n.to_string()
        } else {
            n.to_string()
        }
    };
    (
        d.get_full_year().to_string() + "-" + &two(d.get_month() + 1) + "-" + &two(d.get_date()),
        two(d.get_hours()) + ":00",
    )
}
