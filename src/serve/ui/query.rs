//! Query strings of UI addresses, both ways. etcd keys are bytes, not always UTF-8, so a key
//! travels percent-encoded byte for byte and is read back as bytes; `/` stays readable.

use percent_encoding::{percent_decode, percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Bytes left as they are in a query value: letters, digits and `-._~/:`.
const VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b'/').remove(b':');

/// Most parameters a query may have; the rest are ignored.
const MAX_PARAMS: usize = 64;

/// A parsed query: names and byte values, in order.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pairs: Vec<(String, Vec<u8>)>,
}

impl Query {
    /// Reads `raw` (`a=1&b=%2F`): `+` is a space, then percent-decoding; a name that is not UTF-8
    /// is dropped. Never fails: a page says what it could not use.
    pub fn parse(raw: &str) -> Query {
        let mut pairs = Vec::new();
        for part in raw.split('&').filter(|p| !p.is_empty()).take(MAX_PARAMS) {
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            let decode = |s: &str| percent_decode(s.replace('+', " ").as_bytes()).collect::<Vec<u8>>();
            if let Ok(name) = String::from_utf8(decode(name)) {
                pairs.push((name, decode(value)));
            }
        }
        Query { pairs }
    }

    /// The first value of `name`.
    pub fn bytes(&self, name: &str) -> Option<&[u8]> {
        self.pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice())
    }

    /// The first value of `name` as text (lossy for bytes that are not UTF-8).
    pub fn text(&self, name: &str) -> Option<String> {
        self.bytes(name).map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// The first value of `name` as a number, if it is one.
    pub fn number<T: std::str::FromStr>(&self, name: &str) -> Option<T> {
        self.bytes(name).and_then(|v| std::str::from_utf8(v).ok()).and_then(|v| v.trim().parse().ok())
    }
}

/// `path?name=value&...`, each value percent-encoded byte for byte (empty values left out).
pub fn href(path: &str, params: &[(&str, &[u8])]) -> String {
    let mut out = String::from(path);
    let mut sep = '?';
    for (name, value) in params.iter().filter(|(_, v)| !v.is_empty()) {
        out.push(sep);
        sep = '&';
        out.push_str(name);
        out.push('=');
        out.extend(percent_encode(value, VALUE));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_byte_for_byte() {
        for key in [&b"/registry/pods/default/web"[..], b"/\xff\x00z", b"a b&c=d+e%", b"<script>\"'"] {
            let url = href("/ui/x/key", &[("key", key)]);
            let query = url.split_once('?').unwrap().1;
            assert_eq!(Query::parse(query).bytes("key"), Some(key), "{url}");
        }
        assert_eq!(href("/p", &[("key", b"/registry/pods"), ("as", b"")]), "/p?key=/registry/pods");
    }

    #[test]
    fn odd_queries_are_read_not_refused() {
        let q = Query::parse("a&&=x&b=%zz&c=1+2&n=%FF");
        assert_eq!(q.bytes("a"), Some(&b""[..]));
        assert_eq!(q.bytes("b"), Some(&b"%zz"[..]));
        assert_eq!(q.text("c").as_deref(), Some("1 2"));
        assert_eq!(q.number::<u32>("c"), None);
        assert_eq!(q.bytes("n"), Some(&b"\xff"[..]));
    }
}
