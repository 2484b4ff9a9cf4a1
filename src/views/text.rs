//! Text from a file, made safe and short for a person: printable keys (every byte that could
//! break a table or send a terminal escape spelled out), messages whose characters cannot forge
//! or hide text, and human sizes. Shared by the command line's printers and the web UI.

/// Go's unicode.IsPrint: letters, marks, numbers, punctuation and symbols, plus the ASCII
/// space. Unassigned code points, controls, format characters, private use and other spaces are
/// not printable. (Go 1.16 uses Unicode 13 tables; code points assigned later may differ.)
pub fn go_is_print(c: char) -> bool {
    use unicode_general_category::{get_general_category, GeneralCategory as G};
    if c == ' ' {
        return true;
    }
    !matches!(
        get_general_category(c),
        G::Control | G::Format | G::Unassigned | G::PrivateUse | G::Surrogate | G::SpaceSeparator | G::LineSeparator | G::ParagraphSeparator
    )
}

/// A key for a table cell: printable text as it is, every other byte or character as `\xNN`
/// (or `\u{…}`), so a key can neither break the table nor send terminal escapes.
pub fn printable_key(key: &[u8]) -> String {
    let mut out = String::with_capacity(key.len());
    for chunk in key.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
                c if go_is_print(c) => out.push(c),
                c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// A message or cell for a person with every character escaped that could forge or hide text
/// ([`hides_text`]): `\x1b` → `\x1b` as text, U+202E → `\u{202e}`. Bytes from a file can then
/// neither forge log lines, send terminal escapes, nor reorder what a reader sees.
pub fn one_line(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    for c in msg.chars() {
        if c.is_control() {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else if hides_text(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `c` changes or hides what a terminal shows around it: control characters, format
/// characters (bidi overrides and isolates such as U+202E, zero-width spaces and joiners) and
/// line or paragraph separators.
pub fn hides_text(c: char) -> bool {
    use unicode_general_category::{get_general_category, GeneralCategory as G};
    c.is_control() || (!c.is_ascii() && matches!(get_general_category(c), G::Format | G::LineSeparator | G::ParagraphSeparator))
}

/// Bytes as a short human size with binary units: 4.0 KiB, 1.5 MiB.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}
