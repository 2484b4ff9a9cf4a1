//! WAL segments from a recipe: correct framing (length words, padding) and a correct CRC chain
//! across segments, the records etcd writes (crc, metadata, snapshot, entries, hard states), and
//! raft entries carrying v3 requests (puts of Kubernetes values, deletes, txns, leases,
//! compactions), v2 requests and membership changes. Now and then the recipe tears or damages
//! the log, so the reader's torn/corrupt logic and best-effort resynchronisation run too.

use super::etcd_builder::{backend_file, history_from_recipe, value_from_recipe, Object};
use super::recipe::*;

const CRC: u64 = 4;
const METADATA: u64 = 1;
const ENTRY: u64 = 2;
const STATE: u64 = 3;
const SNAPSHOT: u64 = 5;

pub struct WalWriter {
    /// (seq, first index, bytes)
    pub segments: Vec<(u64, u64, Vec<u8>)>,
    crc: u32,
}

impl Default for WalWriter {
    fn default() -> WalWriter {
        WalWriter::new()
    }
}

impl WalWriter {
    pub fn new() -> WalWriter {
        WalWriter { segments: vec![(0, 0, Vec::new())], crc: 0 }
    }

    pub fn record(&mut self, rtype: u64, data: &[u8], bad_crc: bool) {
        let crc = if rtype == CRC { self.crc } else { crc32c_append(self.crc, data) };
        if rtype != CRC {
            self.crc = crc;
        }
        let mut rec = Vec::new();
        field_varint(&mut rec, 1, rtype);
        field_varint(&mut rec, 2, u64::from(crc ^ u32::from(bad_crc)));
        if !data.is_empty() {
            field_bytes(&mut rec, 3, data);
        }
        let n = rec.len() as u64;
        let pad = (8 - n % 8) % 8;
        let word = if pad > 0 { n | ((0x80 | pad) << 56) } else { n };
        let seg = &mut self.segments.last_mut().expect("a segment").2;
        seg.extend_from_slice(&word.to_le_bytes());
        seg.extend_from_slice(&rec);
        seg.resize(seg.len() + pad as usize, 0);
    }

    /// Starts the next segment, which opens with a crc record carrying the chain over.
    pub fn cut(&mut self, index: u64) {
        let seq = self.segments.len() as u64;
        self.segments.push((seq, index, Vec::new()));
        self.record(CRC, &[], false);
    }
}

fn header(id: u64) -> Vec<u8> {
    let mut h = Vec::new();
    field_varint(&mut h, 1, id);
    h
}

/// A raft entry's type and data.
pub fn entry_payload(r: &mut Recipe<'_>, id: u64) -> (u64, Vec<u8>) {
    let mut irr = Vec::new();
    match r.below(12) {
        0 => return (0, Vec::new()),
        1..=4 => {
            let obj = Object::from_recipe(r);
            let key = obj.key();
            let mut put = Vec::new();
            field_bytes(&mut put, 1, &key);
            field_bytes(&mut put, 2, &value_from_recipe(r, &obj, &key));
            if r.below(4) == 0 {
                field_varint(&mut put, 3, u64::from(r.u8()));
            }
            field_bytes(&mut irr, 4, &put);
        }
        5 => {
            let mut del = Vec::new();
            field_bytes(&mut del, 1, b"/registry/pods/");
            if r.bool() {
                field_bytes(&mut del, 2, b"/registry/pods0");
            }
            field_bytes(&mut irr, 5, &del);
        }
        6 => {
            let obj = Object::from_recipe(r);
            let key = obj.key();
            let mut put = Vec::new();
            field_bytes(&mut put, 1, &key);
            field_bytes(&mut put, 2, &value_from_recipe(r, &obj, &key));
            let mut cmp = Vec::new();
            field_varint(&mut cmp, 1, 0);
            field_varint(&mut cmp, 2, 1);
            field_bytes(&mut cmp, 3, &key);
            field_varint(&mut cmp, 6, u64::from(r.u8()));
            let mut txn = Vec::new();
            field_bytes(&mut txn, 1, &cmp);
            field_bytes(&mut txn, 2, &message(2, &put));
            let mut del = Vec::new();
            field_bytes(&mut del, 1, &key);
            field_bytes(&mut txn, 3, &message(3, &del));
            field_bytes(&mut irr, 6, &txn);
        }
        7 => {
            let (field, body) = match r.below(5) {
                0 => (7, {
                    let mut c = Vec::new();
                    field_varint(&mut c, 1, u64::from(r.u8()));
                    c
                }),
                1 => (8, {
                    let mut g = Vec::new();
                    field_varint(&mut g, 1, 60);
                    field_varint(&mut g, 2, u64::from(r.u8()));
                    g
                }),
                2 => (9, {
                    let mut v = Vec::new();
                    field_varint(&mut v, 1, u64::from(r.u8()));
                    v
                }),
                3 => (3, message(1, b"/registry/")),
                _ => (1000 + r.below(40) as u32, r.bytes(8).to_vec()),
            };
            field_bytes(&mut irr, field, &body);
        }
        8 => {
            let mut v2 = Vec::new();
            field_varint(&mut v2, 1, id);
            field_bytes(&mut v2, 2, r.pick(&["PUT", "DELETE", "QGET", "SYNC"]).as_bytes());
            field_bytes(&mut v2, 3, b"/0/members/8e9e05c52164694d/attributes");
            field_bytes(&mut v2, 4, r.bytes(24));
            field_varint(&mut v2, 5, 0);
            return (0, v2);
        }
        9 => {
            let mut cc = Vec::new();
            if r.bool() {
                field_varint(&mut cc, 2, r.below(4) as u64);
                field_varint(&mut cc, 3, u64::from(r.u8()));
                field_bytes(&mut cc, 4, r.bytes(16));
                return (1, cc);
            }
            let mut change = Vec::new();
            field_varint(&mut change, 1, r.below(4) as u64);
            field_varint(&mut change, 2, u64::from(r.u8()));
            field_varint(&mut cc, 1, r.below(3) as u64);
            field_bytes(&mut cc, 2, &change);
            return (2, cc);
        }
        10 => return (r.below(4) as u64, r.bytes(32).to_vec()),
        _ => {
            let mut put = Vec::new();
            field_bytes(&mut put, 1, r.bytes(12));
            field_bytes(&mut put, 2, r.bytes(12));
            field_bytes(&mut irr, 4, &put);
        }
    }
    field_bytes(&mut irr, 100, &header(id));
    (0, irr)
}

fn raft_entry(entry_type: u64, term: u64, index: u64, data: &[u8]) -> Vec<u8> {
    let mut e = Vec::new();
    field_varint(&mut e, 1, entry_type);
    field_varint(&mut e, 2, term);
    field_varint(&mut e, 3, index);
    if !data.is_empty() {
        field_bytes(&mut e, 4, data);
    }
    e
}

/// The files of a member dir: `wal/<name>` segments and, sometimes, `snap/` files.
pub struct MemberFiles {
    pub wal: Vec<(String, Vec<u8>)>,
    pub snap: Vec<(String, Vec<u8>)>,
}

pub fn member_from_recipe(r: &mut Recipe<'_>) -> MemberFiles {
    let mut w = WalWriter::new();
    w.record(CRC, &[], false);
    let mut md = Vec::new();
    field_varint(&mut md, 1, 0x8e9e_05c5_2164_694d);
    field_varint(&mut md, 2, 0xcdf8_1819_4e3a_8c32);
    w.record(METADATA, &md, false);
    let mut snap = Vec::new();
    field_varint(&mut snap, 1, 0);
    w.record(SNAPSHOT, &snap, false);
    let (mut term, mut index, mut commit) = (1u64, 0u64, 0u64);
    let n = 1 + r.below(40);
    for _ in 0..n {
        if r.exhausted() {
            break;
        }
        let op = r.u8();
        let bad_crc = op == 0xff;
        match op % 16 {
            0 => {
                let mut hs = Vec::new();
                commit = index.min(commit + u64::from(r.u8() % 4));
                field_varint(&mut hs, 1, term);
                field_varint(&mut hs, 2, 1);
                field_varint(&mut hs, 3, commit);
                w.record(STATE, &hs, bad_crc);
            }
            1 => w.cut(index + 1),
            2 => {
                // A new leader overwrites the last few entries.
                term += 1;
                index = index.saturating_sub(r.below(3) as u64);
            }
            3 => {
                let mut s = Vec::new();
                field_varint(&mut s, 1, index);
                field_varint(&mut s, 2, term);
                w.record(SNAPSHOT, &s, bad_crc);
            }
            4 => w.record(u64::from(r.u8() % 8), r.bytes(12), bad_crc),
            _ => {
                index += 1;
                let (t, data) = entry_payload(r, index);
                w.record(ENTRY, &raft_entry(t, term, index, &data), bad_crc);
            }
        }
    }
    let mut wal: Vec<(String, Vec<u8>)> = w.segments.into_iter().map(|(seq, idx, bytes)| (format!("{seq:016x}-{idx:016x}.wal"), bytes)).collect();
    // Damage, rarely: a torn tail, a preallocated zero tail, flipped bytes, stray files.
    let damage = r.u8();
    if damage >= 0xc0 {
        let last = wal.len() - 1;
        let seg = &mut wal[last].1;
        match damage % 6 {
            0 => seg.truncate(seg.len().saturating_sub(1 + r.below(40))),
            1 => seg.resize(seg.len() + 512 * (1 + r.below(4)), 0),
            2 => {
                for _ in 0..1 + r.below(3) {
                    if !seg.is_empty() {
                        let at = r.u16() as usize % seg.len();
                        seg[at] ^= r.u8().max(1);
                    }
                }
            }
            3 => {
                // A torn write: the tail of the last record zeroed by sector.
                let keep = seg.len().saturating_sub(r.below(600));
                seg[keep..].fill(0);
            }
            4 => wal.push(("0000000000000000-0000000000000000.wal.tmp".into(), r.bytes(16).to_vec())),
            _ => {
                let i = r.below(wal.len());
                let seg = &mut wal[i].1;
                if !seg.is_empty() {
                    let at = r.u16() as usize % seg.len();
                    seg[at] ^= r.u8().max(1);
                }
            }
        }
    }
    let mut snap_files = Vec::new();
    if r.below(3) == 0 {
        let mut meta = Vec::new();
        field_bytes(&mut meta, 1, &message(1, &[8, 1]));
        field_varint(&mut meta, 2, index);
        field_varint(&mut meta, 3, term);
        let mut raft = Vec::new();
        field_bytes(&mut raft, 1, r.bytes(16));
        field_bytes(&mut raft, 2, &meta);
        let mut s = Vec::new();
        let crc = if r.below(4) == 3 { u32::from(r.u8()) } else { crc32c_append(0, &raft) };
        field_varint(&mut s, 1, u64::from(crc));
        field_bytes(&mut s, 2, &raft);
        snap_files.push((format!("{term:016x}-{index:016x}.snap"), s));
    }
    if r.below(4) == 0 {
        let writes = history_from_recipe(r, 0, 3);
        snap_files.push(("db".into(), backend_file(r, &writes)));
    }
    MemberFiles { wal, snap: snap_files }
}
