//! The counselling centre's own identity (`--centre-name`, `--centre-phone`,
//! `--centre-url`, `--crisis-line`), served as `/centre.json` for the app
//! to show guests on the welcome, waiting, failure and end pages.
//!
//! A separate file rather than text injected into `index.html`: the page
//! stays byte-identical to the sealed build (its release digest,
//! docs/VERIFY.md, is unchanged) and the Content-Security-Policy needs no
//! new source (`connect-src 'self'`). The app shows these values as plain
//! text only. Like everything the relay says, they are the operator's
//! words: a guest should know her centre's number from elsewhere too.

use serde::Serialize;

/// Crisis lines shown on the end page when none are configured (Germany).
pub const DEFAULT_CRISIS_LINES: [(&str, &str); 3] = [
    ("Telefonseelsorge", "0800 111 0 111"),
    ("Telefonseelsorge", "0800 111 0 222"),
    ("Nummer gegen Kummer", "116 111"),
];

/// What `/centre.json` holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Centre {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub crisis: Vec<CrisisLine>,
}

/// One crisis line: who answers and the number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CrisisLine {
    pub name: String,
    pub phone: String,
}

impl Centre {
    /// From `--centre-name`, `--centre-phone`, `--centre-url`, `--crisis-line`
    /// and `--no-crisis-lines`.
    pub fn from_config(config: &crate::config::Config) -> Centre {
        Centre {
            name: config.centre_name.clone(),
            phone: config.centre_phone.clone(),
            url: config.centre_url.clone(),
            crisis: crisis_lines(&config.crisis_line, config.no_crisis_lines),
        }
    }

    /// The JSON the relay serves (built once at start).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{\"crisis\":[]}"))
    }
}

/// The German defaults unless lines are given; `none` shows none.
pub fn crisis_lines(given: &[CrisisLine], none: bool) -> Vec<CrisisLine> {
    if none {
        Vec::new()
    } else if given.is_empty() {
        DEFAULT_CRISIS_LINES
            .iter()
            .map(|(name, phone)| CrisisLine {
                name: (*name).into(),
                phone: (*phone).into(),
            })
            .collect()
    } else {
        given.to_vec()
    }
}

/// A display name: 1 to 80 characters, no control characters.
pub fn parse_name(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > 80 || value.chars().any(char::is_control) {
        return Err("a name of 1 to 80 characters without control characters".into());
    }
    Ok(value.to_string())
}

/// A phone number as people write it: digits, spaces, +, -, /, ( and ),
/// at least three digits, at most 30 characters.
pub fn parse_phone(value: &str) -> Result<String, String> {
    let value = value.trim();
    let allowed = |c: char| c.is_ascii_digit() || " +-/()".contains(c);
    let digits = value.chars().filter(char::is_ascii_digit).count();
    if value.len() > 30 || digits < 3 || !value.chars().all(allowed) {
        return Err(format!(
            "{value:?} is not a phone number (digits, spaces, + - / ( ); like 0800 111 0 111)"
        ));
    }
    Ok(value.to_string())
}

/// The centre's web address: https:// (or http://), at most 200
/// characters, no spaces, quotes or angle brackets.
pub fn parse_url(value: &str) -> Result<String, String> {
    let value = value.trim();
    let scheme = value.starts_with("https://") || value.starts_with("http://");
    let clean = !value
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || "\"'<>\\".contains(c));
    if !scheme || !clean || value.len() > 200 || value.ends_with("//") {
        return Err(format!(
            "{value:?} is not a web address (like https://beratung.example.org)"
        ));
    }
    Ok(value.to_string())
}

/// `Name: number`, like `Nummer gegen Kummer: 116 111`.
pub fn parse_crisis_line(value: &str) -> Result<CrisisLine, String> {
    let (name, phone) = value
        .rsplit_once(':')
        .ok_or_else(|| format!("{value:?}: write a crisis line as 'Name: number'"))?;
    Ok(CrisisLine {
        name: parse_name(name)?,
        phone: parse_phone(phone)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers() {
        assert_eq!(parse_phone(" 030 123 45-6 ").as_deref(), Ok("030 123 45-6"));
        assert!(parse_phone("+49 (30) 1234/56").is_ok());
        for bad in ["", "12", "call me", "030<b>", &"1".repeat(31)] {
            assert!(parse_phone(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn web_addresses() {
        assert!(parse_url("https://beratung.example.org/kontakt").is_ok());
        for bad in [
            "beratung.example.org",
            "javascript:alert(1)",
            "https://",
            "https://a b",
            "https://a\"onclick=x",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_and_crisis_lines() {
        assert!(parse_name("").is_err());
        assert!(parse_name("a\u{7}b").is_err());
        assert!(parse_name(&"x".repeat(81)).is_err());
        assert_eq!(
            parse_crisis_line("Nummer gegen Kummer: 116 111"),
            Ok(CrisisLine {
                name: "Nummer gegen Kummer".into(),
                phone: "116 111".into()
            })
        );
        assert!(parse_crisis_line("116 111").is_err());
        assert!(parse_crisis_line("Hilfe: jetzt").is_err());
    }

    #[test]
    fn defaults_given_or_none() {
        let own = [CrisisLine {
            name: "Krisendienst".into(),
            phone: "0800 655 3000".into(),
        }];
        assert_eq!(crisis_lines(&[], false).len(), 3);
        assert_eq!(crisis_lines(&[], false)[2].phone, "116 111");
        assert_eq!(crisis_lines(&own, false), own.to_vec());
        assert!(crisis_lines(&own, true).is_empty());
    }

    #[test]
    fn json_leaves_out_what_is_not_set() {
        let centre = Centre {
            name: Some("Beratungsstelle Nord".into()),
            phone: None,
            url: None,
            crisis: crisis_lines(&[], true),
        };
        assert_eq!(
            centre.to_json(),
            r#"{"name":"Beratungsstelle Nord","crisis":[]}"#
        );
    }
}
