//! Revision keys of the `key` bucket: 8-byte big-endian main revision, `_`, 8-byte big-endian
//! sub revision, and a trailing `t` on tombstones (17 or 18 bytes). Big-endian makes bbolt's byte
//! order the (main, sub) order.

use serde::Serialize;

pub const REVISION_KEY_LEN: usize = 17;
pub const TOMBSTONE_KEY_LEN: usize = 18;
const SEPARATOR: u8 = b'_';
const TOMBSTONE_MARK: u8 = b't';

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Revision {
    pub main: i64,
    pub sub: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RevisionKey {
    pub revision: Revision,
    pub tombstone: bool,
}

/// Why a `key` bucket key is not a revision key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevisionKeyError {
    Length(usize),
    Separator(u8),
    Marker(u8),
    Negative,
}

impl std::fmt::Display for RevisionKeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RevisionKeyError::Length(n) => write!(f, "revision key is {n} bytes, expected 17 or 18"),
            RevisionKeyError::Separator(b) => write!(f, "revision key byte 8 is 0x{b:02x}, expected '_'"),
            RevisionKeyError::Marker(b) => write!(f, "revision key byte 17 is 0x{b:02x}, expected 't'"),
            RevisionKeyError::Negative => write!(f, "revision key holds a negative revision"),
        }
    }
}

impl RevisionKey {
    pub fn parse(key: &[u8]) -> Result<RevisionKey, RevisionKeyError> {
        if key.len() != REVISION_KEY_LEN && key.len() != TOMBSTONE_KEY_LEN {
            return Err(RevisionKeyError::Length(key.len()));
        }
        if key[8] != SEPARATOR {
            return Err(RevisionKeyError::Separator(key[8]));
        }
        let tombstone = key.len() == TOMBSTONE_KEY_LEN;
        if tombstone && key[17] != TOMBSTONE_MARK {
            return Err(RevisionKeyError::Marker(key[17]));
        }
        let main = i64::from_be_bytes(key[0..8].try_into().expect("8 bytes"));
        let sub = i64::from_be_bytes(key[9..17].try_into().expect("8 bytes"));
        if main < 0 || sub < 0 {
            return Err(RevisionKeyError::Negative);
        }
        Ok(RevisionKey { revision: Revision { main, sub }, tombstone })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut k = Vec::with_capacity(TOMBSTONE_KEY_LEN);
        k.extend_from_slice(&self.revision.main.to_be_bytes());
        k.push(SEPARATOR);
        k.extend_from_slice(&self.revision.sub.to_be_bytes());
        if self.tombstone {
            k.push(TOMBSTONE_MARK);
        }
        k
    }
}

/// The smallest `key` bucket key with main revision `main` (for seeking).
pub fn main_revision_start(main: i64) -> [u8; REVISION_KEY_LEN] {
    let mut k = [0u8; REVISION_KEY_LEN];
    k[..8].copy_from_slice(&main.to_be_bytes());
    k[8] = SEPARATOR;
    k
}
