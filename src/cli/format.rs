//! Small text helpers shared by printers: Go-compatible string quoting (etcdctl prints with
//! Go's %q), etcdctl's KeyValue JSON, printable keys and human-readable sizes.

use etcdscope::etcd::mvcc::KeyValueRef;
pub use etcdscope::views::text::{go_is_print, hides_text, human_size, one_line, printable_key};

/// Quotes `bytes` as Go's `strconv.Quote(string(bytes))` does: printable runes as they are,
/// invalid UTF-8 bytes as \xNN, non-printable runes as \a \b \f \n \r \t \v or \xNN, \uNNNN, \UNNNNNNNN.
pub fn go_quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\x07' => out.push_str("\\a"),
                '\x08' => out.push_str("\\b"),
                '\x0c' => out.push_str("\\f"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\x0b' => out.push_str("\\v"),
                c if go_is_print(c) => out.push(c),
                // Go before 1.18 (etcdctl 3.5.1 is built with 1.16) quotes only runes below a
                // space as \xNN, so DEL comes out as \u007f.
                c if (c as u32) < 0x20 => out.push_str(&format!("\\x{:02x}", c as u32)),
                c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push_str(&format!("\\U{:08x}", c as u32)),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out.push('"');
    out
}

/// One mvccpb.KeyValue as Go's encoding/json writes it: fields in struct order, zero values
/// omitted.
pub fn kv_json(kv: &KeyValueRef<'_>, out: &mut String) {
    use base64::Engine;
    use std::fmt::Write as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    out.push('{');
    let mut sep = "";
    if !kv.key.is_empty() {
        out.push_str("\"key\":\"");
        b64.encode_string(kv.key, out);
        out.push('"');
        sep = ",";
    }
    for (name, v) in [("create_revision", kv.create_revision), ("mod_revision", kv.mod_revision), ("version", kv.version)] {
        if v != 0 {
            let _ = write!(out, "{sep}\"{name}\":{v}");
            sep = ",";
        }
    }
    if !kv.value.is_empty() {
        out.push_str(sep);
        out.push_str("\"value\":\"");
        b64.encode_string(kv.value, out);
        out.push('"');
        sep = ",";
    }
    if kv.lease != 0 {
        let _ = write!(out, "{sep}\"lease\":{}", kv.lease);
    }
    out.push('}');
}

/// Text from the data (names, paths, uids) for a table cell, escaped as [`printable_key`] does.
pub fn cell(text: &str) -> String {
    printable_key(text.as_bytes())
}

/// Left-aligned columns padded to the widest cell plus two spaces; the last column is not padded.
pub fn table(rows: &[Vec<String>]) -> String {
    aligned(rows, 2, 0, Trailing::Trimmed)
}

/// kubectl's table layout (its tabwriter: cells padded by 3 spaces, columns at least 6 wide).
pub fn kubectl_table(rows: &[Vec<String>]) -> String {
    aligned(rows, 3, 6, Trailing::Trimmed)
}

/// kubectl's table exactly as its tabwriter writes it, for `get`: like [`kubectl_table`], and a
/// cell before an empty last cell (a `-L` label the object lacks) keeps its padding.
pub fn kubectl_printed(rows: &[Vec<String>]) -> String {
    aligned(rows, 3, 6, Trailing::Padded)
}

/// What happens to the spaces at the end of a line.
#[derive(PartialEq, Eq)]
enum Trailing {
    Trimmed,
    /// Every cell but the last is padded, whatever follows it (Go's text/tabwriter).
    Padded,
}

fn aligned(rows: &[Vec<String>], padding: usize, min_width: usize, trailing: Trailing) -> String {
    // No cell may carry a control or invisible character from the data: it would break the
    // table, the terminal, or the order a reader sees. (Borrowed when clean: tables can have
    // hundreds of thousands of rows.)
    let escaped: Vec<Vec<std::borrow::Cow<'_, str>>> =
        rows.iter().map(|r| r.iter().map(|c| if c.chars().any(hides_text) { one_line(c).into() } else { c.as_str().into() }).collect()).collect();
    let rows = &escaped;
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> =
        (0..cols).map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count() + padding).max().unwrap_or(0).max(min_width)).collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 < row.len() {
                line.push_str(&format!("{cell:<w$}", w = widths[c]));
            } else {
                line.push_str(cell);
            }
        }
        out.push_str(if trailing == Trailing::Trimmed { line.trim_end() } else { &line });
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_for_a_person_shows_invisible_characters_escaped() {
        assert_eq!(one_line("a\u{1b}[0m\u{202e}b\u{200b}c\u{2028}é ✓"), "a\\x1b[0m\\u{202e}b\\u{200b}c\\u{2028}é ✓");
        let t = table(&[vec!["x\u{2066}y".into(), "z".into()]]);
        assert_eq!(t, "x\\u{2066}y  z\n");
    }

    #[test]
    fn quotes_like_go() {
        assert_eq!(go_quote(b"foo"), "\"foo\"");
        assert_eq!(go_quote(b"a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(go_quote(b"\x00\xff\x7f"), "\"\\x00\\xff\\u007f\"");
        assert_eq!(go_quote("héllo ✓".as_bytes()), "\"héllo ✓\"");
        assert_eq!(go_quote("\u{a0}".as_bytes()), "\"\\u00a0\"");
        assert_eq!(go_quote("\u{b97}".as_bytes()), "\"\\u0b97\"", "unassigned code points are escaped");
        assert_eq!(go_quote("\u{1F600}".as_bytes()), "\"\u{1F600}\"");
    }

    #[test]
    fn tables_and_messages_escape_control_characters() {
        let t = table(&[vec!["a\x1b[31mred".into(), "b\nc".into()]]);
        assert_eq!(t, "a\\x1b[31mred  b\\x0ac\n");
        assert_eq!(one_line("x\ry\u{85}"), "x\\x0dy\\x85");
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(4096), "4.0 KiB");
        assert_eq!(human_size(3 << 20), "3.0 MiB");
    }
}
