//! Test inputs for the equivalence tests of the hand-written codec against
//! the serde implementation it replaced: systematic variants of a valid
//! message (every field dropped, doubled, retyped, unknown fields, reordered,
//! cut, trailing garbage, escaped keys) and seeded random edits.

use std::fmt::Debug;

use super::{Value, parse};

/// A small deterministic PRNG (xorshift64*), so that every run checks the same inputs.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The text of a value (valid inputs only hold integers that fit `u64`).
pub(crate) fn to_text(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Integer(n) => super::write_u64(out, *n),
        Value::OtherNumber => out.push_str("1.5"),
        Value::String(s) => super::write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(o) => out.push_str(&object_text(
            &o.0.iter()
                .map(|(k, v)| (k.clone(), to_text(v)))
                .collect::<Vec<_>>(),
        )),
    }
}

fn object_text(fields: &[(String, String)]) -> String {
    let mut out = String::from("{");
    for (i, (key, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        super::write_str(&mut out, key);
        out.push(':');
        out.push_str(value);
    }
    out.push('}');
    out
}

/// Values that are wrong for most fields (and right for some).
const VALUES: [&str; 22] = [
    "null",
    "true",
    "false",
    "0",
    "1",
    "-1",
    "-0",
    "1.5",
    "1.0",
    "1e2",
    "4294967295",
    "4294967296",
    "65536",
    "18446744073709551615",
    "18446744073709551616",
    "\"\"",
    "\"x\"",
    "\"AAAAAAAAAAAAAAAAAAAAAA\"",
    "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"",
    "[]",
    "[1,2]",
    "{}",
];

/// Systematic variants of the valid object `valid`; `others` are fields the
/// format knows elsewhere (e.g. of another message type).
pub(crate) fn variants(valid: &str, others: &[&str]) -> Vec<String> {
    let Ok(o) = parse(valid).and_then(Value::into_object) else {
        panic!("not a valid object: {valid}");
    };
    let fields: Vec<(String, String)> = o.0.iter().map(|(k, v)| (k.clone(), to_text(v))).collect();
    let mut out = vec![valid.to_owned()];
    for i in 0..fields.len() {
        let mut dropped = fields.clone();
        dropped.remove(i);
        out.push(object_text(&dropped));
        let mut doubled = fields.clone();
        doubled.push(fields[i].clone());
        out.push(object_text(&doubled));
        let mut doubled_null = fields.clone();
        doubled_null.push((fields[i].0.clone(), "null".into()));
        out.push(object_text(&doubled_null));
        for value in VALUES {
            let mut changed = fields.clone();
            changed[i].1 = value.to_owned();
            out.push(object_text(&changed));
        }
        // The key written with escapes means the same key.
        let mut escaped = fields.clone();
        let key = escaped[i].0.clone();
        let mut text = String::from("{");
        for (j, (k, v)) in escaped.drain(..).enumerate() {
            if j > 0 {
                text.push(',');
            }
            if k == key {
                text.push('"');
                for c in k.chars() {
                    text.push_str(&format!("\\u{:04x}", u32::from(c)));
                }
                text.push('"');
            } else {
                super::write_str(&mut text, &k);
            }
            text.push(':');
            text.push_str(&v);
        }
        text.push('}');
        out.push(text);
    }
    let mut reversed = fields.clone();
    reversed.reverse();
    out.push(object_text(&reversed));
    for (name, value) in [("bogus", "1"), ("bogus", "null"), ("", "1")] {
        let mut extra = fields.clone();
        extra.push((name.into(), value.into()));
        out.push(object_text(&extra));
    }
    for name in others {
        for value in ["null", "1", "\"AA\"", "[]", "{}"] {
            let mut extra = fields.clone();
            extra.push(((*name).into(), value.into()));
            out.push(object_text(&extra));
        }
    }
    // Text around the object.
    out.push(format!(" \t\r\n{valid} \n"));
    out.push(format!("{valid} x"));
    out.push(format!("{valid}{valid}"));
    out.push(format!("{valid},"));
    out.push(valid.replacen(':', " : ", 1).replacen(',', " , ", 1));
    for cut in [1, valid.len() / 2, valid.len() - 1] {
        if valid.is_char_boundary(cut) {
            out.push(valid[..cut].to_owned());
        }
    }
    for other in ["", "null", "[]", "\"x\"", "1", "{", "}", "{}"] {
        out.push(other.to_owned());
    }
    out
}

/// `valid` with a few random single-character edits.
pub(crate) fn random_edit(rng: &mut Rng, valid: &str) -> String {
    const ALPHABET: &[u8] = b"{}[]:,\"\\ 0123456789-+.eEtrufalsn_abcxyzAZ/u";
    let mut text: Vec<u8> = valid.bytes().collect();
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(text.len() + 1);
        let c = ALPHABET[rng.below(ALPHABET.len())];
        match rng.below(3) {
            0 => text.insert(at, c),
            1 if at < text.len() => {
                text.remove(at);
            }
            _ if at < text.len() => text[at] = c,
            _ => text.push(c),
        }
    }
    // Edits touch ASCII only; a multi-byte character may have been cut.
    String::from_utf8_lossy(&text).into_owned()
}

/// Both readers agree: both refuse, or both read the same.
#[track_caller]
pub(crate) fn agree<T: PartialEq + Debug, A: Debug, B: Debug>(
    text: &str,
    new: Result<T, A>,
    old: Result<T, B>,
) -> bool {
    match (new, old) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b, "read differently: {text}");
            true
        }
        (Err(_), Err(_)) => false,
        (new, old) => panic!("readers disagree on {text}\n  new: {new:?}\n  old: {old:?}"),
    }
}
