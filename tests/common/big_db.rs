//! Large, plain dbs made with our bbolt writer, for tests that need a command to run long enough
//! to be interrupted or disturbed mid-run (a real etcd would take minutes to write as much).

use std::path::Path;

/// A stored `mvccpb.KeyValue` (key, create and mod revision, version 1, value).
pub fn key_value(key: &[u8], revision: i64, value: &[u8]) -> Vec<u8> {
    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push(v as u8 | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    let mut out = Vec::with_capacity(key.len() + value.len() + 24);
    for (field, bytes) in [(1u64, key), (5, value)] {
        varint(field << 3 | 2, &mut out);
        varint(bytes.len() as u64, &mut out);
        out.extend_from_slice(bytes);
    }
    for (field, v) in [(2u64, revision), (3, revision), (4, 1)] {
        varint(field << 3, &mut out);
        varint(v as u64, &mut out);
    }
    out
}

/// A db of `revisions` puts (one key each, 160-byte values) in its `key` bucket, and an empty
/// `meta` bucket: about 230 MB for a million revisions.
pub fn big_db(path: &Path, revisions: i64) {
    let mut w = etcdscope::bolt::write::FileWriter::create(path, 4096).unwrap();
    let value = vec![b'v'; 160];
    let rows: Vec<(Vec<u8>, Vec<u8>)> = (2..revisions + 2)
        .map(|rev| {
            let mut k = rev.to_be_bytes().to_vec();
            k.push(b'_');
            k.extend_from_slice(&0i64.to_be_bytes());
            (k, key_value(format!("/big/{rev:09}").as_bytes(), rev, &value))
        })
        .collect();
    w.bucket(b"key", 0, rows.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))).unwrap();
    w.bucket(b"meta", 0, std::iter::empty()).unwrap();
    w.finish(false).unwrap();
}
