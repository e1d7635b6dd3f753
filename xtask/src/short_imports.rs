//! Short names for the imports wasm-bindgen generates (docs/BENCHMARKS.md §5).
//!
//! wasm-bindgen names each JavaScript function a module imports
//! `__wbg_<name>_<16 hex digits>`, and its module name is the glue's file
//! (`./confide-guest_bg.js`). Every name is written twice, as a key of the
//! glue's `import0` object and in the WASM's import section, and the hex
//! digits do not compress: in a guest's page the 275 names cost 9 KB gzip.
//! [`rewrite`] gives every import of the glue's module a name of one or two
//! letters, in both files; the code itself does not change.
//!
//! The rewrite relies on the shape of wasm-bindgen's `--target web` and
//! `no-modules` glue: each import is one key `name:` of `import0`, and the
//! glue hands `import0` to the module as `"<module>": import0`. If a new
//! wasm-bindgen writes them differently, [`rewrite`] fails with a message
//! naming what it did not find, instead of building a page that cannot start.

use std::collections::BTreeMap;

/// The WASM import section's id.
const IMPORT_SECTION: u8 = 2;

/// The module name the rewritten imports come from (one letter, as the
/// JS object key `"<module>": import0`).
const MODULE: &str = "a";

/// `js` and `wasm` (wasm-bindgen's output for one module, after wasm-opt)
/// with every import of the glue's module renamed to a short name.
pub fn rewrite(js: &str, wasm: &[u8]) -> Result<(String, Vec<u8>), String> {
    let mut sections = Sections::read(wasm)?;
    let Some(index) = sections
        .list
        .iter()
        .position(|(id, _)| *id == IMPORT_SECTION)
    else {
        return Ok((js.to_string(), wasm.to_vec()));
    };
    let mut imports = read_imports(&sections.list[index].1)?;
    let module = glue_module(&imports)?;
    // One short name per distinct field, in the order of first import.
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for import in &imports {
        if !names.contains_key(&import.field) {
            let short = short_name(names.len());
            names.insert(import.field.clone(), short);
        }
    }
    let mut js = js.to_string();
    for (long, short) in &names {
        js = replace_key(&js, long, short)?;
    }
    js = replace_once(
        &js,
        &format!("\"{module}\": import0"),
        &format!("\"{MODULE}\": import0"),
    )?;
    for import in &mut imports {
        import.module = MODULE.to_string();
        import.field = names[&import.field].clone();
    }
    sections.list[index].1 = write_imports(&imports);
    Ok((js, sections.write()))
}

/// The `n`th short name: `a` … `z`, `A` … `Z`, then `aa`, `ab`, …
/// (letters only, so every name is a plain JS object key).
fn short_name(n: usize) -> String {
    const LETTERS: &[u8; 52] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut name = Vec::new();
    let mut rest = n;
    loop {
        name.push(LETTERS[rest % 52]);
        rest /= 52;
        if rest == 0 {
            break;
        }
        rest -= 1;
    }
    name.reverse();
    String::from_utf8_lossy(&name).into_owned()
}

/// The one module every import comes from (the glue's file).
fn glue_module(imports: &[Import]) -> Result<String, String> {
    let module = imports
        .first()
        .map(|import| import.module.clone())
        .unwrap_or_default();
    if let Some(other) = imports.iter().find(|import| import.module != module) {
        return Err(format!(
            "the WASM imports from {module:?} and from {:?}; xtask/src/short_imports.rs \
             expects wasm-bindgen's one glue module",
            other.module
        ));
    }
    Ok(module)
}

/// `js` with the object key `long:` (a whole word, once in the file)
/// renamed to `short:`.
fn replace_key(js: &str, long: &str, short: &str) -> Result<String, String> {
    let mut found = None;
    for (at, _) in js.match_indices(long) {
        let in_word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
        let after = &js[at + long.len()..];
        let whole_word = !js[..at].chars().next_back().is_some_and(in_word)
            && !after.chars().next().is_some_and(in_word);
        if whole_word {
            if found.is_some() || !after.starts_with(':') {
                return Err(format!(
                    "the glue names the import {long} other than as one key `{long}:`; \
                     xtask/src/short_imports.rs cannot rename it"
                ));
            }
            found = Some(at);
        }
    }
    let at = found.ok_or_else(|| {
        format!("the WASM imports {long}, which the glue's import object does not have")
    })?;
    Ok(format!("{}{short}{}", &js[..at], &js[at + long.len()..]))
}

/// `text` with `from`, which must occur exactly once, replaced by `to`.
fn replace_once(text: &str, from: &str, to: &str) -> Result<String, String> {
    match text.match_indices(from).count() {
        1 => Ok(text.replacen(from, to, 1)),
        n => Err(format!(
            "the glue has `{from}` {n} times, not once; xtask/src/short_imports.rs \
             expects wasm-bindgen's import object"
        )),
    }
}

/// A WASM module as its header and its sections (id, content), in order.
struct Sections {
    header: Vec<u8>,
    list: Vec<(u8, Vec<u8>)>,
}

impl Sections {
    fn read(wasm: &[u8]) -> Result<Sections, String> {
        if wasm.len() < 8 || &wasm[..4] != b"\0asm" {
            return Err("not a WebAssembly module".into());
        }
        let mut reader = Reader { bytes: wasm, at: 8 };
        let mut list = Vec::new();
        while !reader.done() {
            let id = reader.byte()?;
            let size = reader.u32()? as usize;
            list.push((id, reader.take(size)?.to_vec()));
        }
        Ok(Sections {
            header: wasm[..8].to_vec(),
            list,
        })
    }

    fn write(&self) -> Vec<u8> {
        let mut out = self.header.clone();
        for (id, content) in &self.list {
            out.push(*id);
            write_u32(&mut out, content.len() as u32);
            out.extend_from_slice(content);
        }
        out
    }
}

/// One entry of the import section; `desc` is kept as it was.
struct Import {
    module: String,
    field: String,
    desc: Vec<u8>,
}

fn read_imports(section: &[u8]) -> Result<Vec<Import>, String> {
    let mut reader = Reader {
        bytes: section,
        at: 0,
    };
    let count = reader.u32()?;
    let mut imports = Vec::new();
    for _ in 0..count {
        let module = reader.name()?;
        let field = reader.name()?;
        let start = reader.at;
        match reader.byte()? {
            // function, tag: a type index (a tag's after its attribute byte)
            0 => drop(reader.u32()?),
            4 => {
                reader.byte()?;
                reader.u32()?;
            }
            // table: element type, then limits
            1 => {
                reader.byte()?;
                reader.limits()?;
            }
            2 => reader.limits()?,
            // global: value type, mutability
            3 => drop(reader.take(2)?),
            kind => return Err(format!("import {field}: unknown import kind {kind}")),
        }
        imports.push(Import {
            module,
            field,
            desc: section[start..reader.at].to_vec(),
        });
    }
    if !reader.done() {
        return Err("the import section has bytes after its last import".into());
    }
    Ok(imports)
}

fn write_imports(imports: &[Import]) -> Vec<u8> {
    let mut out = Vec::new();
    write_u32(&mut out, imports.len() as u32);
    for import in imports {
        for name in [&import.module, &import.field] {
            write_u32(&mut out, name.len() as u32);
            out.extend_from_slice(name.as_bytes());
        }
        out.extend_from_slice(&import.desc);
    }
    out
}

fn write_u32(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }

    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or("the WASM module ends in the middle of a section")?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    /// An unsigned LEB128 number of at most 32 bits.
    fn u32(&mut self) -> Result<u32, String> {
        let mut value: u64 = 0;
        for shift in (0..35).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return u32::try_from(value).map_err(|_| "a number above 32 bits".to_string());
            }
        }
        Err("a number longer than 5 bytes".into())
    }

    fn name(&mut self) -> Result<String, String> {
        let len = self.u32()? as usize;
        String::from_utf8(self.take(len)?.to_vec()).map_err(|_| "a name that is not UTF-8".into())
    }

    /// Limits: a flag byte, the minimum, and a maximum if the flag's low bit says so.
    fn limits(&mut self) -> Result<(), String> {
        let flags = self.byte()?;
        self.u32()?;
        if flags & 1 == 1 {
            self.u32()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODULE_NAME: &str = "./app_bg.js";
    const LOG: &str = "__wbg_log_0123456789abcdef";
    const NOW: &str = "__wbg_now_fedcba9876543210";

    /// A module with a type section, an import section (`imports`, each a
    /// function of type 0) and a custom section after it.
    fn module(imports: &[(&str, &str)]) -> Vec<u8> {
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        // type section: one type, () -> ()
        wasm.extend_from_slice(&[1, 4, 1, 0x60, 0, 0]);
        let mut section = Vec::new();
        write_u32(&mut section, imports.len() as u32);
        for (module, field) in imports {
            for name in [module, field] {
                write_u32(&mut section, name.len() as u32);
                section.extend_from_slice(name.as_bytes());
            }
            section.extend_from_slice(&[0, 0]);
        }
        wasm.push(IMPORT_SECTION);
        write_u32(&mut wasm, section.len() as u32);
        wasm.extend_from_slice(&section);
        wasm.extend_from_slice(&[0, 5, 4, b'n', b'o', b't', b'e']);
        wasm
    }

    fn glue(keys: &[&str]) -> String {
        let mut js =
            "function __wbg_get_imports() {\n    const import0 = {\n        __proto__: null,\n"
                .to_string();
        for key in keys {
            js.push_str(&format!(
                "        {key}: function(arg0) {{ return arg0; }},\n"
            ));
        }
        js.push_str(&format!(
            "    }};\n    return {{ __proto__: null, \"{MODULE_NAME}\": import0 }};\n}}\n"
        ));
        js
    }

    #[test]
    fn imports_get_short_names_in_both_files() {
        let wasm = module(&[(MODULE_NAME, LOG), (MODULE_NAME, NOW), (MODULE_NAME, LOG)]);
        let (js, out) = rewrite(&glue(&[LOG, NOW]), &wasm).unwrap_or_default();
        assert!(js.contains("        a: function(arg0)"), "{js}");
        assert!(js.contains("        b: function(arg0)"), "{js}");
        assert!(js.contains("\"a\": import0"), "{js}");
        assert!(
            !js.contains("__wbg_log") && !js.contains(MODULE_NAME),
            "{js}"
        );
        assert_eq!(
            out,
            module(&[("a", "a"), ("a", "b"), ("a", "a")]),
            "the same module with the short names, the other sections unchanged"
        );
    }

    #[test]
    fn a_module_without_imports_is_left_as_it_is() {
        let wasm = b"\0asm\x01\0\0\0\x01\x04\x01\x60\0\0".to_vec();
        assert_eq!(
            rewrite("let x = 1;", &wasm),
            Ok(("let x = 1;".to_string(), wasm))
        );
    }

    #[test]
    fn the_section_size_grows_to_two_bytes_when_needed() {
        // 60 imports need two-letter names after the 52nd; the section stays valid.
        let fields: Vec<String> = (0..60)
            .map(|i| format!("__wbg_f{i}_0123456789abcdef"))
            .collect();
        let imports: Vec<(&str, &str)> = fields.iter().map(|f| (MODULE_NAME, f.as_str())).collect();
        let keys: Vec<&str> = fields.iter().map(String::as_str).collect();
        let (js, out) = rewrite(&glue(&keys), &module(&imports)).unwrap_or_default();
        let sections = Sections::read(&out).map(|s| s.list).unwrap_or_default();
        let names: Vec<String> = read_imports(&sections[1].1)
            .unwrap_or_default()
            .into_iter()
            .map(|i| i.field)
            .collect();
        assert_eq!(names.len(), 60);
        assert_eq!(names[51], "Z");
        assert_eq!(names[52], "aa");
        assert!(js.contains("        aa: function"), "{js}");
    }

    #[test]
    fn short_names_are_distinct_letters() {
        let names: Vec<String> = (0..3000).map(short_name).collect();
        let distinct: std::collections::BTreeSet<&String> = names.iter().collect();
        assert_eq!(distinct.len(), names.len());
        assert!(
            names
                .iter()
                .all(|n| n.bytes().all(|b| b.is_ascii_alphabetic()))
        );
        assert_eq!((names[0].as_str(), names[53].as_str()), ("a", "ab"));
    }

    #[test]
    fn an_import_the_glue_does_not_have_is_an_error() {
        let wasm = module(&[(MODULE_NAME, LOG), (MODULE_NAME, NOW)]);
        let error = rewrite(&glue(&[LOG]), &wasm).err().unwrap_or_default();
        assert!(error.contains(NOW), "{error}");
    }

    #[test]
    fn an_import_named_twice_in_the_glue_is_an_error() {
        let wasm = module(&[(MODULE_NAME, LOG)]);
        let js = glue(&[LOG]) + &format!("wasm.{LOG}();\n");
        let error = rewrite(&js, &wasm).err().unwrap_or_default();
        assert!(error.contains("other than as one key"), "{error}");
    }

    #[test]
    fn a_second_import_module_is_an_error() {
        let wasm = module(&[(MODULE_NAME, LOG), ("env", NOW)]);
        let error = rewrite(&glue(&[LOG, NOW]), &wasm).err().unwrap_or_default();
        assert!(error.contains("\"env\""), "{error}");
    }

    #[test]
    fn glue_without_the_module_key_is_an_error() {
        let wasm = module(&[(MODULE_NAME, LOG)]);
        let js = glue(&[LOG]).replace(MODULE_NAME, "./other_bg.js");
        let error = rewrite(&js, &wasm).err().unwrap_or_default();
        assert!(error.contains("0 times"), "{error}");
    }

    #[test]
    fn a_cut_module_is_an_error() {
        let wasm = module(&[(MODULE_NAME, LOG)]);
        assert!(rewrite(&glue(&[LOG]), &wasm[..wasm.len() - 3]).is_err());
        assert!(rewrite("", b"not wasm").is_err());
    }
}
