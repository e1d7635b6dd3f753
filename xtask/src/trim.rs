//! Drops what browsers ignore from the JavaScript glue and the style sheet
//! (docs/BENCHMARKS.md §5): indentation, blank lines, comments.
//!
//! Not a minifier: nothing is renamed, no line is joined to another (so
//! JavaScript's automatic semicolons stay where they were), and the text
//! inside strings is never touched. Each function refuses input whose
//! lines it could not tell apart safely, instead of guessing.

/// wasm-bindgen's glue without indentation, blank lines and lines that are
/// only a `//` comment.
///
/// A line can be trimmed on its own when no literal runs on over a line
/// break: no template literal does (every line has an even number of
/// backticks) and no string continues with a backslash at the line's end.
/// Regular expressions and quoted strings cannot span lines in JavaScript.
pub fn js(js: &str) -> Result<String, String> {
    let mut out = String::with_capacity(js.len());
    for (number, line) in js.lines().enumerate() {
        let line = line.trim();
        if line.matches('`').count() % 2 == 1 || line.ends_with('\\') {
            return Err(format!(
                "line {} of the glue starts or continues a literal over a line break; \
                 xtask/src/trim.rs cannot trim it line by line: {line}",
                number + 1
            ));
        }
        if line.starts_with("//") && line.contains("*/") {
            return Err(format!(
                "line {} of the glue is a line comment that ends a block comment; \
                 xtask/src/trim.rs leaves such glue alone: {line}",
                number + 1
            ));
        }
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    Ok(out)
}

/// The style sheet without comments, with each run of white space outside
/// strings as one space, and none next to `{`, `}` and `;`.
pub fn css(css: &str) -> Result<String, String> {
    let mut out = String::with_capacity(css.len());
    let mut chars = css.chars().peekable();
    // A run of white space (or a comment) waiting to be written as one space.
    let mut space = false;
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' => {
                flush_space(&mut out, &mut space, c);
                out.push(c);
                loop {
                    let Some(inner) = chars.next() else {
                        return Err("the style sheet ends inside a string".into());
                    };
                    out.push(inner);
                    if inner == '\\' {
                        let escaped = chars.next().ok_or("the style sheet ends in an escape")?;
                        out.push(escaped);
                    } else if inner == c {
                        break;
                    } else if inner == '\n' {
                        return Err("a string in the style sheet runs over a line break".into());
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                loop {
                    let inner = chars
                        .next()
                        .ok_or("the style sheet ends inside a comment")?;
                    if last == '*' && inner == '/' {
                        break;
                    }
                    last = inner;
                }
                space = true;
            }
            c if c.is_whitespace() => space = true,
            c => {
                flush_space(&mut out, &mut space, c);
                out.push(c);
            }
        }
    }
    Ok(out)
}

/// Writes the pending space before `next`, unless a space there is never
/// needed (at the start, or next to `{`, `}` or `;`).
fn flush_space(out: &mut String, space: &mut bool, next: char) {
    let after_brace = out.ends_with(['{', '}', ';']) || out.is_empty();
    if *space && !after_brace && !matches!(next, '{' | '}' | ';') {
        out.push(' ');
    }
    *space = false;
}

/// A style sheet `name` of Trunk's output trimmed, and the `integrity`
/// Trunk gave it in `index` (the page's text) updated to match.
pub fn style_sheet(name: &str, before: &str, index: &mut String) -> Result<String, String> {
    let after = css(before).map_err(|e| format!("{name}: {e}"))?;
    let (old, new) = (
        crate::integrity::sri(before.as_bytes()),
        crate::integrity::sri(after.as_bytes()),
    );
    if index.matches(&old).count() != 1 {
        return Err(format!(
            "index.html does not give {name} its integrity {old} once; \
             xtask/src/trim.rs cannot update it"
        ));
    }
    *index = index.replacen(&old, &new, 1);
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glue_loses_indentation_blank_lines_and_line_comments() {
        let glue =
            "function f(a) {\n    // why\n\n    const s = 'a  // b';\n    return `x ${a}`;\n}\n";
        assert_eq!(
            js(glue),
            Ok("function f(a) {\nconst s = 'a  // b';\nreturn `x ${a}`;\n}\n".to_string())
        );
    }

    #[test]
    fn glue_with_a_literal_over_a_line_break_is_refused() {
        let template = "const t = `one\n    two`;\n";
        assert!(js(template).is_err_and(|e| e.contains("line 1")));
        let continued = "const s = 'one \\\n    two';\n";
        assert!(js(continued).is_err_and(|e| e.contains("line 1")));
        let comment = "/* a\n// b */ x();\n";
        assert!(js(comment).is_err_and(|e| e.contains("line 2")));
    }

    #[test]
    fn style_sheets_lose_comments_and_white_space_but_not_strings() {
        let sheet = "/* calm */\n:root {\n  --bg: #fff;\n}\n\n.a .b:hover,\n.c::after { content: \"  /* x */  \"; margin: 0  auto; }\n[x='a  b'] { width: calc(1px + 2px) }\n";
        assert_eq!(
            css(sheet),
            Ok(":root{--bg: #fff;}.a .b:hover, .c::after{content: \"  /* x */  \";margin: 0 auto;}[x='a  b']{width: calc(1px + 2px)}".to_string())
        );
    }

    #[test]
    fn a_comment_between_two_words_leaves_a_space() {
        assert_eq!(css("a/**/b{}"), Ok("a b{}".to_string()));
        assert_eq!(
            css("@media screen/* x */and (x){}"),
            Ok("@media screen and (x){}".to_string())
        );
    }

    #[test]
    fn unfinished_style_sheets_are_refused() {
        assert!(css("a { content: \"x }").is_err());
        assert!(css("a { } /* x").is_err());
        assert!(css("a { content: \"x\\").is_err());
        assert!(css("a { content: \"x\n\" }").is_err());
    }

    #[test]
    fn a_style_sheet_takes_its_new_integrity_into_the_page() {
        let sheet = "a {  color: red;  }";
        let link = |css: &str| {
            format!(
                "<link href=\"/s.css\" integrity=\"{}\"/>",
                crate::integrity::sri(css.as_bytes())
            )
        };
        let mut index = link(sheet);
        let trimmed = style_sheet("s.css", sheet, &mut index).unwrap_or_default();
        assert_eq!(trimmed, "a{color: red;}");
        assert_eq!(index, link(&trimmed));
        let mut other = link("b {}");
        let error = style_sheet("s.css", sheet, &mut other)
            .err()
            .unwrap_or_default();
        assert!(error.contains("s.css"), "{error}");
    }

    #[test]
    fn the_workspace_style_sheet_keeps_its_rules() {
        let sheet = include_str!("../../client/style.css");
        let trimmed = css(sheet).unwrap_or_default();
        assert!(trimmed.len() < sheet.len() * 9 / 10, "{}", trimmed.len());
        // Every rule and every declaration is still there.
        for mark in ['{', '}', ';', '"'] {
            let count = |text: &str| text.matches(mark).count();
            let in_comments: usize = sheet
                .split("/*")
                .skip(1)
                .filter_map(|part| part.split("*/").next())
                .map(count)
                .sum();
            assert_eq!(count(&trimmed), count(sheet) - in_comments, "{mark}");
        }
    }
}
