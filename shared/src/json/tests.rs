//! The parser and writer against serde_json on the JSON level.

use super::corpus::Rng;
use super::*;

/// Ours as serde_json's tree (`None` if it holds a number we do not keep).
fn as_serde(value: &Value) -> Option<serde_json::Value> {
    Some(match value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Integer(n) => serde_json::Value::from(*n),
        Value::OtherNumber => return None,
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(as_serde).collect::<Option<_>>()?)
        }
        Value::Object(o) => {
            let mut map = serde_json::Map::new();
            for (k, v) in &o.0 {
                // serde_json keeps the last of duplicate keys.
                map.insert(k.clone(), as_serde(v)?);
            }
            serde_json::Value::Object(map)
        }
    })
}

#[track_caller]
fn same_as_serde_json(text: &str) -> bool {
    let ours = parse(text);
    let theirs = serde_json::from_str::<serde_json::Value>(text);
    match (&ours, &theirs) {
        (Ok(a), Ok(b)) => {
            if let Some(a) = as_serde(a) {
                assert_eq!(&a, b, "{text}");
            }
            true
        }
        (Err(_), Err(_)) => false,
        _ => panic!("parsers disagree on {text:?}: ours {ours:?}, serde_json {theirs:?}"),
    }
}

const CASES: &[&str] = &[
    "{}",
    "[]",
    " { } ",
    "{\"a\":1}",
    "{\"a\":1,}",
    "{,}",
    "[1,]",
    "[,1]",
    "{\"a\" 1}",
    "{\"a\":}",
    "{a:1}",
    "{'a':1}",
    "\"\\u00e9\\u20ac\\ud83d\\ude00\"",
    "\"\\ud83d\"",
    "\"\\ude00\"",
    "\"\\ud83d\\u0041\"",
    "\"\\ud83dx\"",
    "\"\\u12\"",
    "\"\\u12G4\"",
    "\"\\x\"",
    "\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"",
    "\"tab\there\"",
    "\"nul\u{0}\"",
    "\"del\u{7f}\"",
    "\"é€😀\"",
    "\"unterminated",
    "0",
    "-0",
    "01",
    "-01",
    "1.",
    ".5",
    "1.5e",
    "1e+",
    "1E-2",
    "-",
    "+1",
    "18446744073709551615",
    "18446744073709551616",
    "123456789012345678901234567890",
    "true",
    "tru",
    "truex",
    "nul",
    "null null",
    "[1 2]",
    "[true,false,null,\"x\",{},[]]",
    "\u{feff}{}",
    "{\"a\":1}\u{0}",
    "{\"a\":1} \t\r\n",
    "{\"a\":1}\u{a0}",
    "",
    " ",
    "{\"a\":{\"b\":{\"c\":[[[]]]}}}",
];

#[test]
fn parses_and_refuses_like_serde_json() {
    for text in CASES {
        same_as_serde_json(text);
    }
}

#[test]
fn nesting_is_bounded_at_serde_jsons_depth() {
    let mut accepted = 0;
    for depth in [1, 64, MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, 10_000] {
        for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
            let text = format!("{}1{}", open.repeat(depth), close.repeat(depth));
            accepted += usize::from(same_as_serde_json(&text));
        }
    }
    assert_eq!(
        accepted, 8,
        "depths 1, 64, MAX_DEPTH - 1 and MAX_DEPTH read, deeper refused"
    );
}

#[test]
fn random_texts_parse_like_serde_json() {
    const ALPHABET: &[&str] = &[
        "{", "}", "[", "]", ":", ",", "\"", "\"a\"", "\"b\":", "1", "0", "-", ".", "e", "true",
        "null", " ", "\\", "\\u", "d83d", "de00", "x", "é",
    ];
    let mut rng = Rng::new(0x5eed_0001);
    let mut accepted = 0;
    for _ in 0..20_000 {
        let text: String = (0..1 + rng.below(12))
            .map(|_| ALPHABET[rng.below(ALPHABET.len())])
            .collect();
        accepted += usize::from(same_as_serde_json(&text));
    }
    assert!(
        accepted > 100,
        "the random texts hit valid JSON too ({accepted})"
    );
}

#[test]
fn writes_strings_like_serde_json() {
    let mut rng = Rng::new(0x5eed_0002);
    let mut texts: Vec<String> = (0u32..0x80)
        .filter_map(char::from_u32)
        .map(String::from)
        .collect();
    texts.extend(["é€😀\u{2028}\u{fffd}".to_owned(), String::new()]);
    for _ in 0..2000 {
        texts.push(
            (0..rng.below(16))
                .filter_map(|_| char::from_u32(rng.below(0x300) as u32))
                .collect(),
        );
    }
    for s in texts {
        let mut ours = String::new();
        write_str(&mut ours, &s);
        assert_eq!(ours, serde_json::to_string(&s).unwrap(), "{s:?}");
        assert_eq!(parse(&ours).unwrap().into_string().unwrap(), s);
    }
}

#[test]
fn writes_numbers_like_serde_json() {
    let mut rng = Rng::new(0x5eed_0003);
    for n in [0, 1, 9, 10, 99, 100, u64::from(u32::MAX), u64::MAX]
        .into_iter()
        .chain((0..1000).map(|_| rng.next() >> rng.below(64)))
    {
        let mut ours = String::new();
        write_u64(&mut ours, n);
        assert_eq!(ours, n.to_string());
        assert_eq!(parse(&ours).unwrap().as_u64(), Ok(n));
    }
}

#[test]
fn debug_output_leaves_strings_out() {
    let value = parse(r#"{"secret":"c2VjcmV0","n":[1,null,true]}"#).unwrap();
    let shown = format!("{value:?}");
    assert!(
        !shown.contains("c2VjcmV0") && !shown.contains("secret"),
        "{shown}"
    );
    assert!(shown.contains("String(8 bytes)") && shown.contains("Integer(1)"));
}

#[test]
fn objects_refuse_duplicates_and_unknown_fields() {
    let mut o = parse(r#"{"a":1,"b":null,"a":2}"#)
        .unwrap()
        .into_object()
        .unwrap();
    assert_eq!(o.take("a").err(), Some(JsonError("duplicate field")));
    let mut o = parse(r#"{"a":1,"b":null,"c":true}"#)
        .unwrap()
        .into_object()
        .unwrap();
    assert_eq!(o.optional("b", u64_of), Ok(None));
    assert_eq!(o.optional("x", u64_of), Ok(None));
    assert_eq!(o.required("a", u64_of), Ok(1));
    assert_eq!(o.required("a", u64_of), Err(JsonError("missing field")));
    assert_eq!(o.keys().collect::<Vec<_>>(), ["c"]);
    assert_eq!(o.end(), Err(JsonError("unknown field")));
    let mut o = parse(r#"{"d":null}"#).unwrap().into_object().unwrap();
    assert!(
        o.or_default("d", bool_of).is_err(),
        "null is not the default"
    );
    assert_eq!(o.or_default("e", bool_of), Ok(false));
}

#[test]
fn integers_out_of_range_are_refused() {
    let v = |t: &str| parse(t).unwrap();
    assert_eq!(v("65535").as_u16(), Ok(u16::MAX));
    assert!(v("65536").as_u16().is_err());
    assert_eq!(v("4294967295").as_u32(), Ok(u32::MAX));
    assert!(v("4294967296").as_u32().is_err());
    assert!(v("18446744073709551616").as_u64().is_err());
    for t in ["-1", "-0", "1.0", "1e0", "\"1\"", "true", "null"] {
        assert!(v(t).as_u64().is_err(), "{t}");
    }
}

#[test]
fn the_writer_builds_compact_objects() {
    let mut out = String::new();
    let mut w = ObjectWriter::new(&mut out);
    w.str("a", "x\"y")
        .u64("b", 7)
        .bool("c", true)
        .u64_or_null("d", None)
        .str_or_null("e", None)
        .array("f", &[1u64, 2], |out, n| write_u64(out, *n));
    w.end();
    assert_eq!(
        out,
        r#"{"a":"x\"y","b":7,"c":true,"d":null,"e":null,"f":[1,2]}"#
    );
}

/// The second deliberate difference (module docs): a number too large for
/// `f64` (`1e400`, 400 digits) is read as [`Value::OtherNumber`] where
/// serde_json refuses the whole text. No field takes such a number, so a
/// message with one in a known field is refused all the same.
#[test]
fn numbers_beyond_f64_are_read_but_never_taken() {
    let huge = format!("[1e400,{}]", "9".repeat(400));
    assert!(serde_json::from_str::<serde_json::Value>(&huge).is_err());
    assert!(matches!(
        parse(&huge),
        Ok(Value::Array(ref items)) if items.iter().all(|v| matches!(v, Value::OtherNumber))
    ));
    let Ok(mut o) = parse(r#"{"n":1e400}"#).and_then(Value::into_object) else {
        panic!("read as an object");
    };
    assert!(
        o.required("n", u64_of).is_err(),
        "no integer field takes it"
    );
}
