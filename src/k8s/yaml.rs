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
//!   are written as complex keys (`? key\n: value`).
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
//!   anything outside the BMP), a space before a line break, or a literal block that is not
//!   possible → double quotes with `\t`, `\n`, `\xXX`, `\uXXXX`, `\UXXXXXXXX` escapes.
//! - Long plain and quoted scalars are folded at the first single space after column 80 (not in
//!   keys), continuation lines indented two spaces more than their key or dash.

use serde_json::{Number, Value};

/// The YAML kube-apiserver / kubectl prints for this JSON value (ends with a newline).
pub fn to_yaml(value: &Value) -> String {
    let mut e = Emitter::new();
    e.node(value, false, false);
    // Implicit document end: finish the last line.
    e.write_indent();
    e.out
}

const BEST_INDENT: isize = 2;
const BEST_WIDTH: usize = 80;
const MAX_SIMPLE_KEY_BYTES: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

struct Emitter {
    out: String,
    /// Characters (not bytes) written on the current line.
    column: usize,
    indent: isize,
    indents: Vec<isize>,
    /// The last thing written was whitespace (or nothing on this line needs a separator).
    whitespace: bool,
    /// Only indentation (and indicators such as `- `) has been written on this line.
    indention: bool,
}

impl Emitter {
    fn new() -> Self {
        Emitter { out: String::new(), column: 0, indent: -1, indents: Vec::new(), whitespace: true, indention: true }
    }

    // ---- nodes ----

    fn node(&mut self, value: &Value, mapping_context: bool, simple_key: bool) {
        match value {
            Value::Null => self.scalar("null", Style::Plain, simple_key),
            Value::Bool(b) => self.scalar(if *b { "true" } else { "false" }, Style::Plain, simple_key),
            Value::Number(n) => self.scalar(&format_number(n), Style::Plain, simple_key),
            Value::String(s) => self.string(s, simple_key),
            Value::Array(items) if items.is_empty() => self.empty_flow("[", "]"),
            Value::Object(map) if map.is_empty() => self.empty_flow("{", "}"),
            Value::Array(items) => {
                let indentless = mapping_context && !self.indention;
                self.increase_indent(false, indentless);
                for item in items {
                    self.write_indent();
                    self.write_indicator("-", true, false, true);
                    self.node(item, false, false);
                }
                self.pop_indent();
            }
            Value::Object(map) => {
                self.increase_indent(false, false);
                let mut keys: Vec<&String> = map.keys().collect();
                merge_sort(&mut keys, |a, b| key_less(a, b));
                for key in keys {
                    self.write_indent();
                    let analysis = analyze(key);
                    if !analysis.multiline && key.len() <= MAX_SIMPLE_KEY_BYTES {
                        self.string(key, true);
                        self.write_indicator(":", false, false, false);
                    } else {
                        self.write_indicator("?", true, false, true);
                        self.string(key, false);
                        self.write_indent();
                        self.write_indicator(":", true, false, true);
                    }
                    self.node(&map[key.as_str()], true, false);
                }
                self.pop_indent();
            }
        }
    }

    fn empty_flow(&mut self, open: &str, close: &str) {
        self.write_indicator(open, true, true, false);
        self.write_indicator(close, false, false, false);
    }

    fn string(&mut self, s: &str, simple_key: bool) {
        let style = if s.contains('\n') {
            Style::Literal
        } else if resolves_to_non_string(s) || is_base60_float(s) {
            Style::Double
        } else {
            Style::Plain
        };
        self.scalar(s, style, simple_key);
    }

    fn scalar(&mut self, value: &str, requested: Style, simple_key: bool) {
        let a = analyze(value);
        let mut style = requested;
        if simple_key && a.multiline {
            style = Style::Double;
        }
        if style == Style::Plain && (!a.block_plain_allowed || (value.is_empty() && simple_key)) {
            style = Style::Single;
        }
        if style == Style::Single && !a.single_quoted_allowed {
            style = Style::Double;
        }
        if style == Style::Literal && (!a.block_allowed || simple_key) {
            style = Style::Double;
        }
        self.increase_indent(true, false);
        let allow_breaks = !simple_key;
        match style {
            Style::Plain => self.write_plain(value, allow_breaks),
            Style::Single => self.write_single_quoted(value, allow_breaks),
            Style::Double => self.write_double_quoted(value, allow_breaks),
            Style::Literal => self.write_literal(value),
        }
        self.pop_indent();
    }

    // ---- low-level output ----

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { BEST_INDENT } else { 0 };
        } else if !indentless {
            self.indent += BEST_INDENT;
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().expect("indent stack");
    }

    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(&mut self, indicator: &str, need_whitespace: bool, is_whitespace: bool, is_indention: bool) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        for c in indicator.chars() {
            self.put(c);
        }
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    fn write_plain(&mut self, value: &str, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        let chars: Vec<char> = value.chars().collect();
        let mut spaces = false;
        let mut breaks = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let next_is_space = chars.get(i + 1) == Some(&' ');
                if allow_breaks && !spaces && self.column > BEST_WIDTH && !next_is_space {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_single_quoted(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        let n = chars.len();
        let mut spaces = false;
        let mut breaks = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let next_is_space = chars.get(i + 1) == Some(&' ');
                if allow_breaks && !spaces && self.column > BEST_WIDTH && i > 0 && i + 1 < n && !next_is_space {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double_quoted(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("\"", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        let n = chars.len();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if !is_printable(c) || c == '\u{FEFF}' || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                match c {
                    '\0' => self.put('0'),
                    '\u{7}' => self.put('a'),
                    '\u{8}' => self.put('b'),
                    '\t' => self.put('t'),
                    '\n' => self.put('n'),
                    '\u{b}' => self.put('v'),
                    '\u{c}' => self.put('f'),
                    '\r' => self.put('r'),
                    '\u{1b}' => self.put('e'),
                    '"' => self.put('"'),
                    '\\' => self.put('\\'),
                    '\u{85}' => self.put('N'),
                    '\u{a0}' => self.put('_'),
                    '\u{2028}' => self.put('L'),
                    '\u{2029}' => self.put('P'),
                    _ => {
                        let v = c as u32;
                        let (letter, digits) = if v <= 0xFF {
                            ('x', 2)
                        } else if v <= 0xFFFF {
                            ('u', 4)
                        } else {
                            ('U', 8)
                        };
                        self.put(letter);
                        for k in (0..digits).rev() {
                            let d = (v >> (4 * k)) & 0xF;
                            self.put(char::from_digit(d, 16).unwrap().to_ascii_uppercase());
                        }
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && i > 0 && i + 1 < n {
                    self.write_indent();
                    if chars.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_literal(&mut self, value: &str) {
        self.write_indicator("|", true, false, false);
        // Block scalar hints: indentation indicator, then chomping.
        let chars: Vec<char> = value.chars().collect();
        if chars.first().is_some_and(|&c| c == ' ' || is_break(c)) {
            self.write_indicator(&BEST_INDENT.to_string(), false, false, false);
        }
        let chomp = match chars.as_slice() {
            [] => Some('-'),
            [.., last] if !is_break(*last) => Some('-'),
            [_] => Some('+'),
            [.., prev, _] if is_break(*prev) => Some('+'),
            _ => None,
        };
        if let Some(c) = chomp {
            self.write_indicator(&c.to_string(), false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for &c in &chars {
            if is_break(c) {
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

// ---- scalar analysis (which styles the text allows) ----

#[derive(Debug, Clone, Copy)]
struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn analyze(value: &str) -> Analysis {
    if value.is_empty() {
        return Analysis { multiline: false, block_plain_allowed: true, single_quoted_allowed: true, block_allowed: false };
    }
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len();
    let mut block_indicators = value.starts_with("---") || value.starts_with("...");
    let (mut special, mut line_breaks) = (false, false);
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) = (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    let mut preceded_by_whitespace = true;
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_whitespace = i + 1 >= n || is_blank(chars[i + 1]);
        let (first, last) = (i == 0, i + 1 == n);
        if first {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%' | '@' | '`' => {
                    block_indicators = true
                }
                '?' | ':' | '-' if followed_by_whitespace => block_indicators = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_whitespace => block_indicators = true,
                '#' if preceded_by_whitespace => block_indicators = true,
                _ => {}
            }
        }
        if !is_printable(c) {
            special = true;
        }
        if is_break(c) {
            line_breaks = true;
        }
        if c == ' ' {
            leading_space |= first;
            trailing_space |= last;
            break_space |= previous_break;
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            leading_break |= first;
            trailing_break |= last;
            space_break |= previous_space;
            previous_break = true;
            previous_space = false;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = is_blank(c) || is_break(c) || c == '\0';
    }
    let mut a = Analysis { multiline: line_breaks, block_plain_allowed: true, single_quoted_allowed: true, block_allowed: true };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks || block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

/// Characters YAML may carry unescaped: LF, printable ASCII, and the BMP outside the
/// surrogates, U+FEFF, U+FFFE and U+FFFF. (Nothing beyond the BMP.)
fn is_printable(c: char) -> bool {
    matches!(c as u32, 0x0A | 0x20..=0x7E | 0xA0..=0xD7FF | 0xE000..=0xFFFD) && c != '\u{FEFF}'
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
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
            if (-9.223372036854775808e18..9.223372036854775808e18).contains(&f) {
                return (f as i64).to_string();
            }
            if (0.0..1.8446744073709551616e19).contains(&f) {
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
    [Layout::DateTimeZone(b'T'), Layout::DateTimeZone(b't'), Layout::DateSpaceTime, Layout::Date]
        .into_iter()
        .any(|layout| parse_time(b, layout))
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
        for s in ["2026-01-01", "2026-1-1", "2008-01-01T01:01:01Z", "2002-01-01T01:01:01.000002Z", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10", "2001-12-14  1:2:3", "2024-02-29"] {
            assert!(is_timestamp(s), "{s}");
        }
        for s in ["2026-13-01", "2023-02-29", "2026-01-01T", "2026-01-01 ", "20260-01-01", "2026-01-01T01:01:01", "2026-001-01", "2026-01-01T24:00:00Z", "2026-01-01T01:01:01+0100"] {
            assert!(!is_timestamp(s), "{s}");
        }
    }

    #[test]
    fn key_order() {
        let mut keys = vec!["b", "a10", "a2", "A", "a", "_x", "a1", "a01", "1", "10", "9"];
        merge_sort(&mut keys, |a, b| key_less(a, b));
        assert_eq!(keys, ["_x", "1", "9", "10", "A", "a", "a1", "a01", "a2", "a10", "b"]);
    }
}
