//! JSON value → the YAML kube-apiserver and `kubectl get -o yaml` print.
//!
//! Both go through sigs.k8s.io/yaml: the object's JSON is read back as YAML 1.1 (so numbers
//! become ints or floats, strings stay strings) and written by the go-yaml v2 emitter. This module
//! reproduces that output byte for byte; it was written from the observable format, not ported.
//!
//! What the output looks like:
//! - Mappings are block style, two spaces per level, keys sorted in go-yaml's "natural" order
//!   (see [`key_less`]). A sequence that is the value of a mapping key is not indented
//!   (`key:\n- item`); a mapping inside a sequence starts on the dash line (`- a: 1\n  b: 2`).
//!   Empty collections are `{}` and `[]`. Keys longer than 128 bytes, or holding a line break,
//!   are written as complex keys (`? key\n: value`); their value starts on the `:` line.
//! - `null`, `true`, `false`; integers as written; whole floats below 1e21 as integers (`1` for
//!   `1.0`, `1000000` for `1e6`: Go's JSON writes them so), other floats in Go's `%g` shortest
//!   form (`1.5`, `1.2345675e+06`, `1e-05`, `1e+21`).
//! - Strings are plain unless read back they would not be strings: anything YAML 1.1 resolves
//!   to null, a bool (`yes`, `Off`, `~`, `""`…), an int (`0x1F`, `0o17`, `1_000`), a float
//!   (`1e3`, `.5`, `-.inf`), a timestamp (`2026-01-01`, `2026-1-2T3:04:05Z`) or a base-60
//!   number (`1:20`) is double-quoted. Strings holding `\n` use a literal block (`|`, `|-`,
//!   `|+`, with an indentation indicator when they start with a space or a break).
//! - The emitter then downgrades the style when the text does not allow it: indicators at the
//!   start (`- x`, `*a`, `'q'`, `[`…), `: ` or ` #` inside, leading or trailing spaces → single
//!   quotes (`''` doubles a quote); non-printable characters (controls, tab, DEL, C1, BOM,
//!   anything outside the BMP), a space next to a line break (a space after a break still allows
//!   a literal block), or a literal block that is not possible (trailing space) → double quotes
//!   with `\t`, `\n`, `\xXX`, `\uXXXX`, `\UXXXXXXXX` escapes.
//! - Long plain and quoted scalars are folded at the first single space after column 80 (not in
//!   keys, except complex ones), continuation lines indented two spaces more than their key or
//!   dash. A double-quoted scalar may also fold before a run of spaces, protecting the run with
//!   a `\` at the start of the continuation line.
//!
//! How it is built: `Style::for_string` decides each string's style from a `TextFacts`
//! summary of what the text contains; `Writer` then walks the value recursively, knowing only
//! its column and what is already on the current line (`Spot`), which is enough to decide
//! whether a nested block starts on the same line (after `- `, `? `, `: `) or on the next one.

use serde_json::{Map, Number, Value};

/// The YAML kube-apiserver / kubectl prints for this JSON value (ends with a newline).
pub fn to_yaml(value: &Value) -> String {
    let mut w = Writer { text: String::new(), col: 0, spot: Spot::Fresh };
    w.node(value, 0, Slot::Document);
    w.finish_line();
    w.text
}

/// Columns per nesting level; also the indentation indicator of a literal block.
const STEP: usize = 2;
/// A space found after this many characters on a line may become a line break.
const FOLD_AFTER: usize = 80;
/// Longest key (in bytes) written as `key: value`; longer ones are `? key`.
const SIMPLE_KEY_MAX: usize = 128;

// ---- choosing a scalar style ----

/// The four scalar styles the output uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

impl Style {
    /// The style go-yaml ends up with for a string: the one it asks for (literal for text with
    /// `\n`, double quotes for text that would not read back as a string, plain otherwise),
    /// downgraded until the text allows it.
    fn for_string(s: &str) -> Style {
        let facts = TextFacts::of(s);
        let wanted = if s.contains('\n') {
            Style::Literal
        } else if resolves_to_non_string(s) || is_base60_float(s) {
            Style::Double
        } else {
            Style::Plain
        };
        match wanted {
            Style::Plain if facts.plain_ok() => Style::Plain,
            Style::Plain if facts.single_ok() => Style::Single,
            Style::Literal if facts.literal_ok() => Style::Literal,
            _ => Style::Double,
        }
    }
}

/// What a scalar's text contains, as far as the choice of style cares.
#[derive(Debug, Default, Clone, Copy)]
struct TextFacts {
    /// A line break (LF, CR, NEL, LS, PS) anywhere.
    line_break: bool,
    /// A character that must be escaped (see [`is_printable`]).
    unprintable: bool,
    /// A space directly before a line break: no style but double quotes keeps it.
    space_then_break: bool,
    /// A space directly after a line break: a literal block keeps it, flow styles do not.
    break_then_space: bool,
    leading_space: bool,
    trailing_space: bool,
    /// Plain text here would be read as YAML syntax (`- x`, `#x`, `a: b`, `a #b`, `---`…).
    looks_like_syntax: bool,
}

impl TextFacts {
    fn of(s: &str) -> TextFacts {
        let chars: Vec<char> = s.chars().collect();
        let blank_or_end = |i: usize| matches!(chars.get(i), None | Some(' ' | '\t'));
        let mut facts = TextFacts {
            leading_space: chars.first() == Some(&' '),
            trailing_space: chars.last() == Some(&' '),
            looks_like_syntax: s.starts_with("---") || s.starts_with("..."),
            ..TextFacts::default()
        };
        if let Some(&first) = chars.first() {
            facts.looks_like_syntax |= "#,[]{}&*!|>'\"%@`".contains(first) || ("?:-".contains(first) && blank_or_end(1));
        }
        for (i, &c) in chars.iter().enumerate() {
            facts.line_break |= is_line_break(c);
            facts.unprintable |= !is_printable(c);
            if i > 0 {
                let prev = chars[i - 1];
                facts.looks_like_syntax |= (c == ':' && blank_or_end(i + 1)) || (c == '#' && prev == ' ');
                facts.space_then_break |= prev == ' ' && is_line_break(c);
                facts.break_then_space |= is_line_break(prev) && c == ' ';
            }
        }
        facts
    }

    fn plain_ok(&self) -> bool {
        !(self.line_break || self.unprintable || self.leading_space || self.trailing_space || self.looks_like_syntax)
    }

    fn single_ok(&self) -> bool {
        !(self.unprintable || self.space_then_break || self.break_then_space)
    }

    fn literal_ok(&self) -> bool {
        !(self.unprintable || self.space_then_break || self.trailing_space)
    }
}

/// Characters YAML may carry unescaped: LF, printable ASCII, and the BMP outside the
/// surrogates, U+FEFF, U+FFFE and U+FFFF. (Nothing beyond the BMP.)
fn is_printable(c: char) -> bool {
    matches!(c as u32, 0x0A | 0x20..=0x7E | 0xA0..=0xD7FF | 0xE000..=0xFFFD) && c != '\u{FEFF}'
}

fn is_line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// The escape a double-quoted scalar uses for `c`, if it needs one.
fn escape(c: char) -> Option<String> {
    let named = match c {
        '\0' => "0",
        '\u{7}' => "a",
        '\u{8}' => "b",
        '\t' => "t",
        '\n' => "n",
        '\u{b}' => "v",
        '\u{c}' => "f",
        '\r' => "r",
        '\u{1b}' => "e",
        '"' => "\"",
        '\\' => "\\",
        '\u{85}' => "N",
        '\u{2028}' => "L",
        '\u{2029}' => "P",
        _ if is_printable(c) => return None,
        _ => {
            let code = c as u32;
            return Some(match code {
                0..=0xFF => format!("\\x{code:02X}"),
                0x100..=0xFFFF => format!("\\u{code:04X}"),
                _ => format!("\\U{code:08X}"),
            });
        }
    };
    Some(format!("\\{named}"))
}

// ---- writing ----

/// Where a node sits in its parent, which decides its indentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Document,
    /// After `- `.
    Item,
    /// After `key:`.
    KeyValue,
    /// After the `: ` that follows a complex key.
    ComplexValue,
}

/// What the current line holds so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spot {
    /// Nothing but indentation (or nothing at all).
    Fresh,
    /// Indentation and block markers (`-`, `?`, the `:` of a complex key): a nested block may
    /// still start on this line.
    Marker,
    /// A key, scalar or `{}`/`[]`: what follows needs a separating space or a new line.
    Text,
}

/// The output being built, with the column of its last line (in characters).
struct Writer {
    text: String,
    col: usize,
    spot: Spot,
}

impl Writer {
    // -- structure --

    /// Writes `value`, whose parent entry (key or dash) is at column `owner`.
    fn node(&mut self, value: &Value, owner: usize, slot: Slot) {
        // Nested scalars and blocks go one step right of their owner; at the top the blocks
        // start at column 0, and a sequence under `key:` stays level with the key.
        let inner = owner + STEP;
        match value {
            Value::Null => self.word("null"),
            Value::Bool(b) => self.word(if *b { "true" } else { "false" }),
            Value::Number(n) => self.word(&format_number(n)),
            Value::String(s) => self.string(s, inner, true),
            Value::Array(items) if items.is_empty() => self.word("[]"),
            Value::Object(map) if map.is_empty() => self.word("{}"),
            Value::Array(items) => {
                let column = match slot {
                    Slot::Document => 0,
                    Slot::KeyValue => owner,
                    _ => inner,
                };
                for item in items {
                    self.start_entry(column);
                    self.marker('-');
                    self.node(item, column, Slot::Item);
                }
            }
            Value::Object(map) => self.mapping(map, if slot == Slot::Document { 0 } else { inner }),
        }
    }

    /// A block mapping whose keys are at `column`.
    fn mapping(&mut self, map: &Map<String, Value>, column: usize) {
        let mut keys: Vec<&String> = map.keys().collect();
        merge_sort(&mut keys, |a, b| key_less(a, b));
        for key in keys {
            let value = &map[key.as_str()];
            self.start_entry(column);
            if key.len() > SIMPLE_KEY_MAX || key.chars().any(is_line_break) {
                self.marker('?');
                self.string(key, column + STEP, true);
                self.start_entry(column);
                self.marker(':');
                self.node(value, column, Slot::ComplexValue);
            } else {
                // Simple keys never fold: they must stay on one line.
                self.string(key, column + STEP, false);
                self.put(':');
                self.node(value, column, Slot::KeyValue);
            }
        }
    }

    /// Gets to `column` for a new entry: on this line if only indentation and markers left of
    /// it are there, otherwise on the next.
    fn start_entry(&mut self, column: usize) {
        let stay = match self.spot {
            Spot::Fresh => self.col <= column,
            Spot::Marker => self.col < column,
            Spot::Text => false,
        };
        if !stay {
            self.newline();
        }
        self.pad_to(column);
        self.spot = Spot::Fresh;
    }

    /// Ends the document: the last line gets its newline unless a literal block already did.
    fn finish_line(&mut self) {
        if self.spot != Spot::Fresh || self.col > 0 {
            self.newline();
        }
    }

    // -- scalars --

    /// A string scalar; continuation and block lines go at `indent`.
    fn string(&mut self, s: &str, indent: usize, may_fold: bool) {
        let chars: Vec<char> = s.chars().collect();
        match Style::for_string(s) {
            Style::Plain => self.plain(&chars, indent, may_fold),
            Style::Single => self.single_quoted(&chars, indent, may_fold),
            Style::Double => self.double_quoted(&chars, indent, may_fold),
            Style::Literal => self.literal(&chars, indent),
        }
    }

    /// A token that never folds: `null`, a number, `[]`…
    fn word(&mut self, w: &str) {
        self.separate();
        w.chars().for_each(|c| self.put(c));
    }

    fn plain(&mut self, chars: &[char], indent: usize, may_fold: bool) {
        self.separate();
        for (i, &c) in chars.iter().enumerate() {
            if may_fold && self.folds_at(chars, i, false) {
                self.fold(indent);
            } else {
                self.put(c);
            }
        }
    }

    fn single_quoted(&mut self, chars: &[char], indent: usize, may_fold: bool) {
        self.separate();
        self.put('\'');
        let mut line_start = false;
        for (i, &c) in chars.iter().enumerate() {
            if may_fold && self.folds_at(chars, i, false) {
                self.fold(indent);
            } else if is_line_break(c) {
                // Only LS and PS get here (LF asks for a literal block, CR and NEL are escaped);
                // should an LF ever come, an empty line is how a quoted scalar says it.
                if c == '\n' {
                    self.newline();
                }
                self.raw_break(c);
                line_start = true;
            } else {
                if line_start {
                    self.pad_to(indent);
                    line_start = false;
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
            }
        }
        self.put('\'');
    }

    fn double_quoted(&mut self, chars: &[char], indent: usize, may_fold: bool) {
        self.separate();
        self.put('"');
        for (i, &c) in chars.iter().enumerate() {
            if may_fold && self.folds_at(chars, i, true) {
                self.fold(indent);
                // Leading spaces of a continuation line are dropped on reading: escape the first.
                if chars.get(i + 1) == Some(&' ') {
                    self.put('\\');
                }
            } else if let Some(esc) = escape(c) {
                esc.chars().for_each(|e| self.put(e));
            } else {
                self.put(c);
            }
        }
        self.put('"');
    }

    /// `|` block: header, then the text at `indent`, empty lines left empty.
    fn literal(&mut self, chars: &[char], indent: usize) {
        self.separate();
        self.put('|');
        // Content starting with a space or an empty line cannot show its own indentation.
        if chars.first().is_some_and(|&c| c == ' ' || is_line_break(c)) {
            self.put(char::from(b'0' + STEP as u8));
        }
        // Chomping: no final break → strip; two or more (or only one break) → keep; one → clip.
        let final_breaks = chars.iter().rev().take(2).take_while(|&&c| is_line_break(c)).count();
        match final_breaks {
            0 => self.put('-'),
            1 if chars.len() > 1 => {}
            _ => self.put('+'),
        }
        self.newline();
        let mut line_start = true;
        for &c in chars {
            if is_line_break(c) {
                self.raw_break(c);
                line_start = true;
            } else {
                if line_start {
                    self.pad_to(indent);
                    line_start = false;
                }
                self.put(c);
            }
        }
    }

    /// Whether the character at `i` is a space to turn into a line break: past the fold column,
    /// neither first nor last, and not after another space. Plain and single-quoted text keeps
    /// runs of spaces whole; double-quoted text (`before_spaces`) may break before a run.
    fn folds_at(&self, chars: &[char], i: usize, before_spaces: bool) -> bool {
        let (Some(&prev), Some(&next)) = (i.checked_sub(1).and_then(|p| chars.get(p)), chars.get(i + 1)) else {
            return false;
        };
        chars[i] == ' ' && self.col > FOLD_AFTER && prev != ' ' && (before_spaces || next != ' ')
    }

    // -- characters --

    fn fold(&mut self, indent: usize) {
        self.newline();
        self.pad_to(indent);
    }

    /// The space between a key's `:`, or a marker and the scalar after it.
    fn separate(&mut self) {
        if self.spot != Spot::Fresh {
            self.put(' ');
        }
    }

    fn put(&mut self, c: char) {
        self.text.push(c);
        self.col += 1;
        self.spot = Spot::Text;
    }

    /// `-`, `?` or `:` at the start of an entry.
    fn marker(&mut self, c: char) {
        self.text.push(c);
        self.col += 1;
        self.spot = Spot::Marker;
    }

    fn pad_to(&mut self, column: usize) {
        while self.col < column {
            self.text.push(' ');
            self.col += 1;
        }
    }

    fn newline(&mut self) {
        self.raw_break('\n');
    }

    /// A line break written as itself (LF, or LS/PS inside text): a new line starts.
    fn raw_break(&mut self, c: char) {
        self.text.push(c);
        self.col = 0;
        self.spot = Spot::Fresh;
    }
}

// ---- numbers ----

fn format_number(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        i.to_string()
    } else if let Some(u) = n.as_u64() {
        u.to_string()
    } else {
        let f = n.as_f64().unwrap_or(f64::NAN);
        // The YAML is made from Go's JSON, which writes a whole float below 1e21 without fraction
        // or exponent (`1234567`, `-0`): read back, that is an integer when it fits 64 bits.
        if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e21 {
            // 2^63 and 2^64, exactly.
            let (two_63, two_64) = (-(i64::MIN as f64), u64::MAX as f64);
            if (-two_63..two_63).contains(&f) {
                return (f as i64).to_string();
            }
            if (0.0..two_64).contains(&f) {
                return (f as u64).to_string();
            }
        }
        format_float(f)
    }
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)` with YAML's names for the specials.
fn format_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf".into() } else { "-.inf".into() };
    }
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if f == 0.0 {
        return format!("{sign}0");
    }
    // Shortest round-trip digits d1.d2…dn and the decimal exponent.
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').expect("LowerExp has an exponent");
    let exp: i32 = exp.parse().expect("exponent");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if !(-4..6).contains(&exp) {
        let mut s = String::from(sign);
        s.push_str(&digits[..1]);
        if digits.len() > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        s.push('e');
        s.push(if exp < 0 { '-' } else { '+' });
        s.push_str(&format!("{:02}", exp.unsigned_abs()));
        s
    } else if exp >= 0 {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            format!("{sign}{digits}{}", "0".repeat(int_len - digits.len()))
        } else {
            format!("{sign}{}.{}", &digits[..int_len], &digits[int_len..])
        }
    } else {
        format!("{sign}0.{}{digits}", "0".repeat((-exp - 1) as usize))
    }
}

// ---- does a plain scalar read back as something other than a string? (YAML 1.1 rules) ----

fn resolves_to_non_string(s: &str) -> bool {
    let Some(&first) = s.as_bytes().first() else {
        return true; // the empty plain scalar is null
    };
    let hint = match first {
        b'+' | b'-' => b'S',
        b'0'..=b'9' => b'D',
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~' => b'M',
        b'.' => b'.',
        _ => return false,
    };
    const SPECIAL: &[&str] = &[
        "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", //
        "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", //
        "~", "null", "Null", "NULL", ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", //
        "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", "<<",
    ];
    if SPECIAL.contains(&s) {
        return true;
    }
    match hint {
        b'.' => is_dot_float(s) && is_finite_float(s),
        b'D' | b'S' => {
            if hint == b'D' && is_timestamp(s) {
                return true;
            }
            let plain: String = s.chars().filter(|&c| c != '_').collect();
            if parses_as_go_int(&plain) {
                return true;
            }
            if is_yaml_style_float(&plain) && is_finite_float(&plain) {
                return true;
            }
            if let Some(rest) = plain.strip_prefix("0b") {
                parse_signed(rest, 2, true)
            } else if let Some(rest) = plain.strip_prefix("-0b") {
                !rest.starts_with(['+', '-']) && parse_unsigned(rest, 2).is_some_and(|v| v <= 1u128 << 63)
            } else {
                false
            }
        }
        _ => false,
    }
}

/// Go's `ParseInt(s, 0, 64)` or `ParseUint(s, 0, 64)` succeeds.
fn parses_as_go_int(s: &str) -> bool {
    parse_signed(s, 0, true)
}

/// Signed parse (optionally also unsigned when there is no sign) in Go's 64-bit ranges.
fn parse_signed(s: &str, base: u32, allow_unsigned: bool) -> bool {
    let (neg, signed, body) = match s.as_bytes().first() {
        Some(b'-') => (true, true, &s[1..]),
        Some(b'+') => (false, true, &s[1..]),
        _ => (false, false, s),
    };
    let Some(v) = parse_unsigned(body, base) else { return false };
    if neg {
        v <= 1u128 << 63
    } else if signed || !allow_unsigned {
        v <= i64::MAX as u128
    } else {
        v <= u64::MAX as u128
    }
}

/// Digits of `s` in `base` (0: Go's prefixes 0x, 0o, 0b, leading 0 = octal); saturates far
/// above u64 so range checks stay correct.
fn parse_unsigned(s: &str, base: u32) -> Option<u128> {
    if s.is_empty() {
        return None;
    }
    let (base, digits) = if base == 0 {
        let b = s.as_bytes();
        if b[0] == b'0' {
            match b.get(1).map(|c| c.to_ascii_lowercase()) {
                Some(b'b') if b.len() >= 3 => (2, &s[2..]),
                Some(b'o') if b.len() >= 3 => (8, &s[2..]),
                Some(b'x') if b.len() >= 3 => (16, &s[2..]),
                _ => (8, &s[1..]),
            }
        } else {
            (10, s)
        }
    } else {
        (base, s)
    };
    let mut v: u128 = 0;
    for c in digits.chars() {
        let d = c.to_digit(base)?;
        v = (v * base as u128 + d as u128).min(1u128 << 100);
    }
    Some(v)
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i == int_start {
        if b.get(i) != Some(&b'.') {
            return false;
        }
        i += 1;
        let frac = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == frac {
            return false;
        }
    } else if b.get(i) == Some(&b'.') {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    exponent_to_end(b, i)
}

/// Go's ParseFloat syntax for text starting with a dot: `\.[0-9]+([eE][-+]?[0-9]+)?`.
fn is_dot_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 1;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    i > 1 && exponent_to_end(b, i)
}

/// Optional `[eE][-+]?[0-9]+` from `i`, then the end of the text.
fn exponent_to_end(b: &[u8], mut i: usize) -> bool {
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    i == b.len()
}

/// Go's ParseFloat fails (range error) where the value overflows to infinity.
fn is_finite_float(s: &str) -> bool {
    s.parse::<f64>().map(|f| f.is_finite()).unwrap_or(true)
}

/// YAML 1.1 base-60 numbers, quoted for older parsers:
/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    if !b.contains(&b':') {
        return false;
    }
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return false;
    }
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        match i - start {
            1 => {}
            2 if b[start] <= b'5' => {}
            _ => return false,
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// YAML timestamps as go-yaml v2 reads them (Go `time.Parse` with the layouts
/// `2006-1-2T15:4:5.999999999Z07:00`, the same with `t`, `2006-1-2 15:4:5.999999999`, `2006-1-2`).
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let year_digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if year_digits != 4 || b.get(4) != Some(&b'-') {
        return false;
    }
    [Layout::DateTimeZone(b'T'), Layout::DateTimeZone(b't'), Layout::DateSpaceTime, Layout::Date].into_iter().any(|layout| parse_time(b, layout))
}

#[derive(Clone, Copy)]
enum Layout {
    DateTimeZone(u8),
    DateSpaceTime,
    Date,
}

/// Go's `getnum(value, false)`: one or two digits.
fn getnum(b: &[u8], i: &mut usize) -> Option<u32> {
    let d0 = *b.get(*i).filter(|c| c.is_ascii_digit())?;
    *i += 1;
    match b.get(*i).filter(|c| c.is_ascii_digit()) {
        Some(&d1) => {
            *i += 1;
            Some((d0 - b'0') as u32 * 10 + (d1 - b'0') as u32)
        }
        None => Some((d0 - b'0') as u32),
    }
}

fn expect(b: &[u8], i: &mut usize, c: u8) -> Option<()> {
    (b.get(*i) == Some(&c)).then(|| *i += 1)
}

fn parse_time(b: &[u8], layout: Layout) -> bool {
    parse_time_inner(b, layout).is_some()
}

fn parse_time_inner(b: &[u8], layout: Layout) -> Option<()> {
    let year: u32 = std::str::from_utf8(&b[..4]).ok()?.parse().ok()?;
    let mut i = 4;
    expect(b, &mut i, b'-')?;
    let month = getnum(b, &mut i).filter(|m| (1..=12).contains(m))?;
    expect(b, &mut i, b'-')?;
    let day = getnum(b, &mut i)?;
    match layout {
        Layout::Date => {}
        Layout::DateTimeZone(sep) => {
            expect(b, &mut i, sep)?;
            clock(b, &mut i)?;
            if b.get(i) == Some(&b'Z') {
                i += 1;
            } else {
                // ±hh:mm
                let z = b.get(i..i + 6)?;
                if z[3] != b':' || !matches!(z[0], b'+' | b'-') || !z[1..3].iter().chain(&z[4..6]).all(u8::is_ascii_digit) {
                    return None;
                }
                let hh = (z[1] - b'0') as u32 * 10 + (z[2] - b'0') as u32;
                let mm = (z[4] - b'0') as u32 * 10 + (z[5] - b'0') as u32;
                if hh > 24 || mm > 60 {
                    return None;
                }
                i += 6;
            }
        }
        Layout::DateSpaceTime => {
            // A space in a Go layout matches one or more spaces.
            expect(b, &mut i, b' ')?;
            while b.get(i) == Some(&b' ') {
                i += 1;
            }
            clock(b, &mut i)?;
        }
    }
    if i != b.len() {
        return None;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    (1..=days).contains(&day).then_some(())
}

/// `15:4:5.999999999`: hour, minute, second, then an optional fraction (`.` or `,` and digits).
fn clock(b: &[u8], i: &mut usize) -> Option<()> {
    getnum(b, i).filter(|h| *h < 24)?;
    expect(b, i, b':')?;
    getnum(b, i).filter(|m| *m < 60)?;
    expect(b, i, b':')?;
    getnum(b, i).filter(|s| *s < 60)?;
    if matches!(b.get(*i), Some(b'.' | b',')) && b.get(*i + 1).is_some_and(u8::is_ascii_digit) {
        *i += 1;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
    }
    Some(())
}

// ---- key order ----

/// go-yaml's mapping key order: character by character; at the first difference letters sort
/// after everything else, two letters by code point, and otherwise the runs of digits starting
/// there compare as numbers (then by run length, then by code point). A prefix sorts first.
///
/// Approximation: a "letter" is Rust's `is_alphabetic` (Go: Unicode category L) and a digit
/// is an ASCII digit (Go: category Nd); they differ only outside ASCII.
pub fn key_less(a: &str, b: &str) -> bool {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    for i in 0..ar.len().min(br.len()) {
        if ar[i] == br[i] {
            continue;
        }
        let al = ar[i].is_alphabetic();
        let bl = br[i].is_alphabetic();
        if al && bl {
            return ar[i] < br[i];
        }
        if al || bl {
            return bl;
        }
        let (mut an, mut bn): (i64, i64) = (0, 0);
        if ar[i] == '0' || br[i] == '0' {
            // Inside a number (a non-zero digit before this one), zeros count.
            for j in (0..i).rev() {
                if !ar[j].is_ascii_digit() {
                    break;
                }
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].is_ascii_digit() {
            an = an.wrapping_mul(10).wrapping_add(ar[ai] as i64 - '0' as i64);
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].is_ascii_digit() {
            bn = bn.wrapping_mul(10).wrapping_add(br[bi] as i64 - '0' as i64);
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ar[i] < br[i];
    }
    ar.len() < br.len()
}

/// A merge sort that only asks `less` (never panics, even if `less` is not a total order).
fn merge_sort<T: Copy>(v: &mut [T], less: impl Fn(&T, &T) -> bool + Copy) {
    if v.len() <= 1 {
        return;
    }
    let mid = v.len() / 2;
    merge_sort(&mut v[..mid], less);
    merge_sort(&mut v[mid..], less);
    let mut merged = Vec::with_capacity(v.len());
    let (mut i, mut j) = (0, mid);
    while i < mid && j < v.len() {
        if less(&v[j], &v[i]) {
            merged.push(v[j]);
            j += 1;
        } else {
            merged.push(v[i]);
            i += 1;
        }
    }
    merged.extend_from_slice(&v[i..mid]);
    merged.extend_from_slice(&v[j..]);
    v.copy_from_slice(&merged);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_use_go_g_format() {
        for (f, s) in [
            (1.0, "1"),
            (1.5, "1.5"),
            (-2.25, "-2.25"),
            (1e6, "1e+06"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1e21, "1e+21"),
            (1e100, "1e+100"),
            (-0.0, "-0"),
            (0.1, "0.1"),
        ] {
            assert_eq!(format_float(f), s, "{f}");
        }
    }

    #[test]
    fn timestamps() {
        for s in [
            "2026-01-01",
            "2026-1-1",
            "2008-01-01T01:01:01Z",
            "2002-01-01T01:01:01.000002Z",
            "2001-12-14t21:59:43.10-05:00",
            "2001-12-14 21:59:43.10",
            "2001-12-14  1:2:3",
            "2024-02-29",
        ] {
            assert!(is_timestamp(s), "{s}");
        }
        for s in [
            "2026-13-01",
            "2023-02-29",
            "2026-01-01T",
            "2026-01-01 ",
            "20260-01-01",
            "2026-01-01T01:01:01",
            "2026-001-01",
            "2026-01-01T24:00:00Z",
            "2026-01-01T01:01:01+0100",
        ] {
            assert!(!is_timestamp(s), "{s}");
        }
    }

    fn words(n: usize) -> String {
        (1..=n).map(|i| format!("word{i:05}")).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn style_follows_text_facts() {
        for (s, style) in [
            ("plain text", Style::Plain),
            ("a\n b", Style::Literal),     // a space after a break is fine in a block…
            ("a \nb", Style::Double),      // …a space before one is not
            ("a\nb ", Style::Double),      // trailing space: no literal block
            ("a\u{2028}b", Style::Single), // LS is a break but printable
            ("a\u{2028} b", Style::Double),
            ("x: y", Style::Single),
            ("x:y", Style::Plain),
            ("a#b", Style::Plain),
            ("a #b", Style::Single),
            ("---x", Style::Single),
            ("", Style::Double),
        ] {
            assert_eq!(Style::for_string(s), style, "{s:?}");
        }
    }

    #[test]
    fn folding_counts_columns_from_the_line_start() {
        // The key's own width counts: a longer key folds the same text earlier.
        let text = words(8); // 79 characters: `k: ` and the text end at column 82, no space after 80
        assert_eq!(to_yaml(&serde_json::json!({ "k": text })), format!("k: {text}\n"));
        let long_key = "k".repeat(20);
        assert_eq!(to_yaml(&serde_json::json!({ long_key.clone(): text })), format!("{long_key}: {}\n  {}\n", words(6), "word00007 word00008"));
        // Column is counted in characters, not bytes.
        let wide = "é".repeat(85) + " tail";
        assert_eq!(to_yaml(&serde_json::json!([wide])), format!("- {}\n  tail\n", "é".repeat(85)));
        // A simple key of up to 128 bytes never folds, even far past column 80.
        let key = format!("{} x", "k".repeat(120));
        assert_eq!(to_yaml(&serde_json::json!({ key.clone(): 1 })), format!("{key}: 1\n"));
    }

    #[test]
    fn double_quoted_fold_before_a_run_of_spaces_escapes_it() {
        let text = format!("{}\t  end", "x".repeat(85));
        // The fold eats the first space; `\ ` on the next line is the second one, escaped.
        assert_eq!(to_yaml(&serde_json::json!(text)), format!("\"{}\\t\n  \\ end\"\n", "x".repeat(85)));
    }

    #[test]
    fn literal_blocks_with_leading_spaces_and_breaks() {
        let v = serde_json::json!({ "a": [{ "b": "  x\ny\n" }, "\n\nz\n\n"] });
        assert_eq!(to_yaml(&v), "a:\n- b: |2\n      x\n    y\n- |2+\n\n\n  z\n\n");
    }

    #[test]
    fn complex_keys_in_sequences_and_with_collections() {
        let key = "k".repeat(129);
        let v = serde_json::json!([{ key.clone(): [1, {}] , "a": { key.clone(): [] } }]);
        assert_eq!(to_yaml(&v), format!("- a:\n    ? {key}\n    : []\n  ? {key}\n  : - 1\n    - {{}}\n"));
        // A complex key (129 bytes here) folds, its continuation one step in from the `?`.
        let long = words(13);
        assert_eq!(to_yaml(&serde_json::json!({ "m": { long.clone(): "v" } })), format!("m:\n  ? {}\n    {}\n  : v\n", words(8), &long[80..]));
    }

    #[test]
    fn empty_collections_inside_sequences() {
        let v = serde_json::json!({ "l": [[], {}, [[]], [{}], { "x": [] }] });
        assert_eq!(to_yaml(&v), "l:\n- []\n- {}\n- - []\n- - {}\n- x: []\n");
    }

    #[test]
    fn awkward_input_does_not_panic() {
        for s in ["\u{2028}", "a\n\u{2029}", "\n\u{2028}\n", "'\u{2028}'", "\u{10FFFF}\n", "\r\n", " \n "] {
            for v in [serde_json::json!(s), serde_json::json!({ s: s }), serde_json::json!([[s]])] {
                assert!(!to_yaml(&v).is_empty());
            }
        }
    }

    #[test]
    fn key_order() {
        let mut keys = vec!["b", "a10", "a2", "A", "a", "_x", "a1", "a01", "1", "10", "9"];
        merge_sort(&mut keys, |a, b| key_less(a, b));
        assert_eq!(keys, ["_x", "1", "9", "10", "A", "a", "a1", "a01", "a2", "a10", "b"]);
    }
}
