//! Continue tokens: where the next page of a list starts. The API server's token is base64url of
//! `{"v":"meta.k8s.io/v1","rv":R,"start":"<next key after the resource prefix>"}`; ours carries
//! the same fields and a MAC keyed per process, bound to the context and the listed range, so a
//! token is opaque to clients, every page of one list reads the same revision, and a forged or
//! foreign token is refused instead of steering a read.
//!
//! A token this process did not make (another server, a restart) is answered as the API server
//! answers a token whose revision was compacted: 410 Expired, start a new list.

use super::status::Status;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Longest token read.
const MAX_TOKEN: usize = 8 << 10;
/// MAC bytes kept in a token.
const MAC_LEN: usize = 16;

/// The API server's text for a continue token it can no longer honour.
pub const TOO_OLD: &str =
    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.";

/// Where a list resumes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resume {
    /// The revision the first page read; every page reads it.
    pub revision: i64,
    /// The first key of the next page.
    pub start: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct Payload {
    v: String,
    rv: i64,
    /// The next key, after the listed range's prefix (base64 when not UTF-8).
    start: String,
}

/// The per-process key tokens are signed with.
pub struct Tokens {
    key: [u8; 32],
}

/// Fills `buf` from the operating system's randomness; without it, from the process's hash
/// seeds, which clients cannot know either.
pub fn random_bytes(buf: &mut [u8]) {
    if getrandom::getrandom(buf).is_err() {
        use std::hash::{BuildHasher, Hasher};
        for chunk in buf.chunks_mut(8) {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(std::process::id().into());
            let bytes = h.finish().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

impl Tokens {
    /// A fresh key from the operating system's randomness.
    pub fn new() -> Tokens {
        let mut key = [0u8; 32];
        random_bytes(&mut key);
        Tokens { key }
    }

    fn mac(&self, scope: &[u8], payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(&(scope.len() as u64).to_le_bytes());
        mac.update(scope);
        mac.update(payload);
        mac
    }

    /// The token for resuming at `start` (a key inside `range_key`'s range) at `revision`.
    /// `scope` names what is listed (context and range), so the token works for nothing else.
    pub fn encode(&self, scope: &[u8], range_key: &[u8], revision: i64, start: &[u8]) -> String {
        let rest = start.strip_prefix(range_key).unwrap_or(start);
        let text = match std::str::from_utf8(rest) {
            Ok(t) => format!("/{t}"),
            Err(_) => format!("#{}", URL_SAFE_NO_PAD.encode(rest)),
        };
        let payload = serde_json::to_vec(&Payload { v: "meta.k8s.io/v1".into(), rv: revision, start: text }).expect("a small struct serializes");
        let tag = self.mac(scope, &payload).finalize().into_bytes();
        format!("{}.{}", URL_SAFE_NO_PAD.encode(&payload), URL_SAFE_NO_PAD.encode(&tag[..MAC_LEN]))
    }

    /// Reads a token made by [`Tokens::encode`] for the same `scope` and range.
    pub fn decode(&self, scope: &[u8], range_key: &[u8], token: &str) -> Result<Resume, Status> {
        let invalid = |why: &str| Status::bad_request(format!("continue key is not valid: {why}"));
        if token.len() > MAX_TOKEN {
            return Err(invalid("too long"));
        }
        let (payload, tag) = token.split_once('.').ok_or_else(|| invalid("not a token this server made"))?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid("not base64url"))?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid("not base64url"))?;
        if tag.len() != MAC_LEN {
            return Err(invalid("not a token this server made"));
        }
        // Only what this process signed is parsed: a token from elsewhere is not read at all.
        if self.mac(scope, &payload).verify_truncated_left(&tag).is_err() {
            return Err(Status::expired(TOO_OLD));
        }
        let parsed: Payload = serde_json::from_slice(&payload).map_err(|_| invalid("not a continue token"))?;
        if parsed.v != "meta.k8s.io/v1" {
            return Err(invalid("server does not recognize this encoded key version"));
        }
        if parsed.rv <= 0 {
            return Err(invalid("incorrect encoded start resourceVersion (version meta.k8s.io/v1)"));
        }
        let rest = if let Some(t) = parsed.start.strip_prefix('/') {
            t.as_bytes().to_vec()
        } else if let Some(b) = parsed.start.strip_prefix('#') {
            URL_SAFE_NO_PAD.decode(b).map_err(|_| invalid("not base64url"))?
        } else {
            return Err(invalid("encoded start key is empty"));
        };
        let mut start = range_key.to_vec();
        start.extend_from_slice(&rest);
        Ok(Resume { revision: parsed.rv, start })
    }
}

impl Default for Tokens {
    fn default() -> Self {
        Tokens::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_resumes_where_it_was_made_and_nowhere_else() {
        let t = Tokens::new();
        let token = t.encode(b"ctx/pods", b"/registry/pods/", 42, b"/registry/pods/default/web\0");
        assert_eq!(t.decode(b"ctx/pods", b"/registry/pods/", &token), Ok(Resume { revision: 42, start: b"/registry/pods/default/web\0".to_vec() }));
        // Another scope, another process's key: 410, start again.
        assert_eq!(t.decode(b"ctx/secrets", b"/registry/pods/", &token).unwrap_err().code, 410);
        assert_eq!(Tokens::new().decode(b"ctx/pods", b"/registry/pods/", &token).unwrap_err().code, 410);
        // Malformed: 400.
        for bad in ["", "x", "a.b", "eyJ2IjoxfQ.AAAA", &"A".repeat(10_000)] {
            assert_eq!(t.decode(b"ctx/pods", b"/registry/pods/", bad).unwrap_err().code, 400, "{bad}");
        }
        // A forged start key with a made-up MAC.
        let (payload, _) = token.split_once('.').unwrap();
        let forged = format!("{payload}.{}", URL_SAFE_NO_PAD.encode([0u8; MAC_LEN]));
        assert_eq!(t.decode(b"ctx/pods", b"/registry/pods/", &forged).unwrap_err().code, 410);
        // Keys that are not UTF-8 round-trip.
        let token = t.encode(b"s", b"/r/", 7, b"/r/\xff\x00");
        assert_eq!(t.decode(b"s", b"/r/", &token).unwrap().start, b"/r/\xff\x00");
    }
}
