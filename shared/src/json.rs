//! The one JSON codec of confide's text formats (relay messages, signals,
//! knocks, the reload snapshot), written by hand so that the browser does
//! not carry serde and serde_json (docs/BENCHMARKS.md §5).
//!
//! The subset read is all of RFC 8259 except that numbers are only useful as
//! unsigned integers: `0` or `[1-9][0-9]*` up to `u64::MAX`. Any other valid
//! number (negative, fraction, exponent, larger) parses, but no field takes
//! it, exactly as serde refused it for the integer fields. Strings take every
//! escape (`\uXXXX` with surrogate pairs; a lone surrogate is refused), raw
//! control characters in strings are refused, whitespace is space, tab, CR,
//! LF, nesting is bounded by [`MAX_DEPTH`], and nothing but whitespace may
//! follow the value. [`Object`] gives the rules of serde's derive: a field
//! named twice is refused, a missing `Option` field or `null` is `None`,
//! and [`Object::end`] refuses fields the format does not know. One
//! deliberate difference to serde: a struct or enum value is only read from
//! its JSON object or string form (serde also took arrays and `{"Variant":
//! null}`, forms no writer ever produced). A second one: a number beyond
//! `f64` (`1e400`) is read as [`Value::OtherNumber`] where serde_json refused
//! the whole text; no field takes it, so only ignored values can hold one.
//!
//! The writer produces what serde_json's compact writer produced: no spaces,
//! fields in the order written, strings with `"`, `\` and control characters
//! escaped (`\b \f \n \r \t`, else `\u00xx`), everything else verbatim.

use zeroize::Zeroize;

/// Deepest nesting of arrays and objects read (as deep as serde_json read).
pub const MAX_DEPTH: usize = 127;

/// Why a text is not the JSON expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JsonError(pub &'static str);

/// A parsed JSON value. Strings are wiped when dropped and left out of
/// `Debug`: some hold secrets.
pub enum Value {
    Null,
    Bool(bool),
    /// An unsigned integer that fits `u64`.
    Integer(u64),
    /// Any other valid number; no confide field takes one.
    OtherNumber,
    String(String),
    Array(Vec<Value>),
    Object(Object),
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Null => f.write_str("Null"),
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::Integer(n) => write!(f, "Integer({n})"),
            Value::OtherNumber => f.write_str("OtherNumber"),
            Value::String(s) => write!(f, "String({} bytes)", s.len()),
            Value::Array(items) => f.debug_list().entries(items).finish(),
            Value::Object(o) => f
                .debug_map()
                .entries(o.0.iter().map(|(k, v)| (k.len(), v)))
                .finish(),
        }
    }
}

impl Drop for Value {
    fn drop(&mut self) {
        if let Value::String(s) = self {
            s.zeroize();
        }
    }
}

/// Parses one JSON text.
pub fn parse(text: &str) -> Result<Value, JsonError> {
    let mut reader = Reader {
        bytes: text.as_bytes(),
        at: 0,
    };
    let value = reader.value(0)?;
    reader.skip_whitespace();
    if reader.at != reader.bytes.len() {
        return Err(JsonError("trailing characters"));
    }
    Ok(value)
}

/// Parses JSON bytes; bytes that are not UTF-8 are refused.
pub fn parse_bytes(bytes: &[u8]) -> Result<Value, JsonError> {
    parse(std::str::from_utf8(bytes).map_err(|_| JsonError("not UTF-8"))?)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn next(&mut self) -> Result<u8, JsonError> {
        let b = self.peek().ok_or(JsonError("unexpected end"))?;
        self.at += 1;
        Ok(b)
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    fn literal(&mut self, word: &'static [u8], value: Value) -> Result<Value, JsonError> {
        if self.bytes[self.at..].starts_with(word) {
            self.at += word.len();
            Ok(value)
        } else {
            Err(JsonError("expected a value"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, JsonError> {
        self.skip_whitespace();
        match self.peek().ok_or(JsonError("unexpected end"))? {
            b'n' => self.literal(b"null", Value::Null),
            b't' => self.literal(b"true", Value::Bool(true)),
            b'f' => self.literal(b"false", Value::Bool(false)),
            b'"' => self.string().map(Value::String),
            b'-' | b'0'..=b'9' => self.number(),
            b'[' => {
                let depth = enter(depth)?;
                self.at += 1;
                let mut items = Vec::new();
                self.skip_whitespace();
                if self.peek() == Some(b']') {
                    self.at += 1;
                    return Ok(Value::Array(items));
                }
                loop {
                    items.push(self.value(depth)?);
                    self.skip_whitespace();
                    match self.next()? {
                        b',' => {}
                        b']' => return Ok(Value::Array(items)),
                        _ => return Err(JsonError("expected , or ]")),
                    }
                }
            }
            b'{' => {
                let depth = enter(depth)?;
                self.at += 1;
                let mut fields = Vec::new();
                self.skip_whitespace();
                if self.peek() == Some(b'}') {
                    self.at += 1;
                    return Ok(Value::Object(Object(fields)));
                }
                loop {
                    self.skip_whitespace();
                    if self.peek() != Some(b'"') {
                        return Err(JsonError("expected a key"));
                    }
                    let key = self.string()?;
                    self.skip_whitespace();
                    if self.next()? != b':' {
                        return Err(JsonError("expected :"));
                    }
                    fields.push((key, self.value(depth)?));
                    self.skip_whitespace();
                    match self.next()? {
                        b',' => {}
                        b'}' => return Ok(Value::Object(Object(fields))),
                        _ => return Err(JsonError("expected , or }")),
                    }
                }
            }
            _ => Err(JsonError("expected a value")),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
        self.at - start
    }

    fn number(&mut self) -> Result<Value, JsonError> {
        let negative = self.peek() == Some(b'-');
        if negative {
            self.at += 1;
        }
        let start = self.at;
        let n = self.digits();
        if n == 0 || (n > 1 && self.bytes[start] == b'0') {
            return Err(JsonError("malformed number"));
        }
        let mut integer = !negative;
        if self.peek() == Some(b'.') {
            self.at += 1;
            integer = false;
            if self.digits() == 0 {
                return Err(JsonError("malformed number"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            integer = false;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            if self.digits() == 0 {
                return Err(JsonError("malformed number"));
            }
        }
        if !integer {
            return Ok(Value::OtherNumber);
        }
        let mut value: u64 = 0;
        for &d in &self.bytes[start..start + n] {
            match value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(d - b'0')))
            {
                Some(v) => value = v,
                None => return Ok(Value::OtherNumber),
            }
        }
        Ok(Value::Integer(value))
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut v = 0;
        for _ in 0..4 {
            let d = char::from(self.next()?)
                .to_digit(16)
                .ok_or(JsonError("bad \\u escape"))?;
            v = v * 16 + d;
        }
        Ok(v)
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.at += 1; // the opening quote
        let mut out = String::new();
        loop {
            let start = self.at;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.at += 1;
            }
            // The input is a &str and the run stops only at ASCII bytes: a
            // whole number of UTF-8 characters.
            out.push_str(
                std::str::from_utf8(&self.bytes[start..self.at])
                    .map_err(|_| JsonError("not UTF-8"))?,
            );
            match self.next()? {
                b'"' => return Ok(out),
                b'\\' => {}
                _ => return Err(JsonError("control character in string")),
            }
            let c = match self.next()? {
                b'"' => '"',
                b'\\' => '\\',
                b'/' => '/',
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                b'u' => {
                    let first = self.hex4()?;
                    let code = match first {
                        0xD800..=0xDBFF => {
                            if self.next()? != b'\\' || self.next()? != b'u' {
                                return Err(JsonError("lone surrogate"));
                            }
                            let second = self.hex4()?;
                            if !(0xDC00..=0xDFFF).contains(&second) {
                                return Err(JsonError("lone surrogate"));
                            }
                            0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                        }
                        0xDC00..=0xDFFF => return Err(JsonError("lone surrogate")),
                        _ => first,
                    };
                    char::from_u32(code).ok_or(JsonError("bad \\u escape"))?
                }
                _ => return Err(JsonError("bad escape")),
            };
            out.push(c);
        }
    }
}

fn enter(depth: usize) -> Result<usize, JsonError> {
    if depth >= MAX_DEPTH {
        return Err(JsonError("nested too deeply"));
    }
    Ok(depth + 1)
}

impl Value {
    /// The object, read field by field.
    pub fn into_object(mut self) -> Result<Object, JsonError> {
        match &mut self {
            Value::Object(o) => Ok(Object(std::mem::take(&mut o.0))),
            _ => Err(JsonError("expected an object")),
        }
    }

    pub fn into_string(mut self) -> Result<String, JsonError> {
        match &mut self {
            Value::String(s) => Ok(std::mem::take(s)),
            _ => Err(JsonError("expected a string")),
        }
    }

    pub fn into_array(mut self) -> Result<Vec<Value>, JsonError> {
        match &mut self {
            Value::Array(items) => Ok(std::mem::take(items)),
            _ => Err(JsonError("expected an array")),
        }
    }

    pub fn as_str(&self) -> Result<&str, JsonError> {
        match self {
            Value::String(s) => Ok(s),
            _ => Err(JsonError("expected a string")),
        }
    }

    pub fn as_bool(&self) -> Result<bool, JsonError> {
        match self {
            Value::Bool(b) => Ok(*b),
            _ => Err(JsonError("expected true or false")),
        }
    }

    pub fn as_u64(&self) -> Result<u64, JsonError> {
        match self {
            Value::Integer(n) => Ok(*n),
            _ => Err(JsonError("expected an unsigned integer")),
        }
    }

    pub fn as_u32(&self) -> Result<u32, JsonError> {
        u32::try_from(self.as_u64()?).map_err(|_| JsonError("number out of range"))
    }

    pub fn as_u16(&self) -> Result<u16, JsonError> {
        u16::try_from(self.as_u64()?).map_err(|_| JsonError("number out of range"))
    }

    /// Each element of an array, read by `read`.
    pub fn array_of<T>(
        self,
        mut read: impl FnMut(Value) -> Result<T, JsonError>,
    ) -> Result<Vec<T>, JsonError> {
        self.into_array()?.into_iter().map(&mut read).collect()
    }
}

/// An object's fields, taken one by one as a format reads them.
pub struct Object(Vec<(String, Value)>);

impl Object {
    /// Removes and returns the field `key`, if present; a key given twice is refused.
    pub fn take(&mut self, key: &str) -> Result<Option<Value>, JsonError> {
        let Some(i) = self.0.iter().position(|(k, _)| k == key) else {
            return Ok(None);
        };
        let (_, value) = self.0.remove(i);
        if self.0[i..].iter().any(|(k, _)| k == key) {
            return Err(JsonError("duplicate field"));
        }
        Ok(Some(value))
    }

    /// An optional field: absent or `null` is `None`.
    pub fn optional<T>(
        &mut self,
        key: &str,
        read: impl FnOnce(Value) -> Result<T, JsonError>,
    ) -> Result<Option<T>, JsonError> {
        match self.take(key)? {
            None | Some(Value::Null) => Ok(None),
            Some(value) => read(value).map(Some),
        }
    }

    /// A field that must be present (and not `null`).
    pub fn required<T>(
        &mut self,
        key: &str,
        read: impl FnOnce(Value) -> Result<T, JsonError>,
    ) -> Result<T, JsonError> {
        self.optional(key, read)?.ok_or(JsonError("missing field"))
    }

    /// A field with a default when absent (`null` is not the default).
    pub fn or_default<T: Default>(
        &mut self,
        key: &str,
        read: impl FnOnce(Value) -> Result<T, JsonError>,
    ) -> Result<T, JsonError> {
        match self.take(key)? {
            None => Ok(T::default()),
            Some(value) => read(value),
        }
    }

    /// The names of the fields not taken yet.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    /// Refuses any field not taken: the format does not know it.
    pub fn end(self) -> Result<(), JsonError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(JsonError("unknown field"))
        }
    }
}

impl Drop for Object {
    fn drop(&mut self) {
        for (key, _) in &mut self.0 {
            key.zeroize();
        }
    }
}

/// Readers for the field helpers: `obj.required("v", u32_of)`.
pub fn string_of(value: Value) -> Result<String, JsonError> {
    value.into_string()
}
pub fn u64_of(value: Value) -> Result<u64, JsonError> {
    value.as_u64()
}
pub fn u32_of(value: Value) -> Result<u32, JsonError> {
    value.as_u32()
}
pub fn u16_of(value: Value) -> Result<u16, JsonError> {
    value.as_u16()
}
pub fn bool_of(value: Value) -> Result<bool, JsonError> {
    value.as_bool()
}

/// Appends `s` as a JSON string.
pub fn write_str(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Appends an unsigned integer.
pub fn write_u64(out: &mut String, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(char::from(d));
    }
}

/// Writes one object: `{"a":1,"b":"x"}`, fields in the order given.
pub struct ObjectWriter<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> ObjectWriter<'a> {
    pub fn new(out: &'a mut String) -> Self {
        out.push('{');
        Self { out, first: true }
    }

    /// Starts the field `key`; the caller appends its value to the returned buffer.
    pub fn key(&mut self, key: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        write_str(self.out, key);
        self.out.push(':');
        self.out
    }

    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        write_str(self.key(key), value);
        self
    }

    pub fn u64(&mut self, key: &str, value: u64) -> &mut Self {
        write_u64(self.key(key), value);
        self
    }

    pub fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.key(key).push_str(if value { "true" } else { "false" });
        self
    }

    /// `null` for `None` (a field serde wrote without `skip_serializing_if`).
    pub fn str_or_null(&mut self, key: &str, value: Option<&str>) -> &mut Self {
        match value {
            Some(v) => self.str(key, v),
            None => {
                self.key(key).push_str("null");
                self
            }
        }
    }

    /// `null` for `None`, like [`ObjectWriter::str_or_null`].
    pub fn u64_or_null(&mut self, key: &str, value: Option<u64>) -> &mut Self {
        match value {
            Some(v) => self.u64(key, v),
            None => {
                self.key(key).push_str("null");
                self
            }
        }
    }

    /// An array, each element appended by `write`.
    pub fn array<T>(
        &mut self,
        key: &str,
        items: &[T],
        mut write: impl FnMut(&mut String, &T),
    ) -> &mut Self {
        let out = self.key(key);
        out.push('[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write(out, item);
        }
        out.push(']');
        self
    }

    pub fn end(self) {
        self.out.push('}');
    }
}

#[cfg(test)]
pub(crate) mod corpus;
#[cfg(test)]
mod tests;
