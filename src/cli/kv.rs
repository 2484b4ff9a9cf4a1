//! `etcdscope kv get`: etcdctl's flags and its three output formats (simple, json, fields).

use super::format::{go_quote, kv_json};
use super::{CliError, CliResult, EXIT_FINDINGS, EXIT_OK};
use clap::{Args, ValueEnum};
use etcdscope::etcd::KeyRange;
use etcdscope::snapshot::Snapshot;
use etcdscope::source::Source;
use etcdscope::views::kv_get::{get, GetRequest, GetResponse, SortOrder, SortTarget};
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

#[derive(Args)]
pub struct GetArgs {
    /// Snapshot file, member db, member dir or data dir.
    src: PathBuf,
    /// Key bytes as given (any bytes but NUL; not required to be UTF-8).
    key: OsString,
    /// End of the range [KEY, RANGE_END).
    range_end: Option<OsString>,
    /// Get every key with KEY as prefix.
    #[arg(long)]
    prefix: bool,
    /// Get every key >= KEY.
    #[arg(long)]
    from_key: bool,
    /// Read at this revision (0 = current).
    #[arg(long, default_value_t = 0)]
    rev: i64,
    /// Read at the newest revision whose time evidence (timestamps the Kubernetes objects
    /// carry) is not after TIME (RFC 3339); the revision and the evidence are said on stderr.
    #[arg(long, value_name = "TIME", conflicts_with = "rev")]
    at: Option<String>,
    /// Where --at finds Kubernetes objects: kube-apiserver's `--etcd-prefix`.
    #[arg(long, default_value = "/registry", requires = "at")]
    etcd_prefix: String,
    /// Keys only, no values.
    #[arg(long)]
    keys_only: bool,
    /// Only the count of keys (-o json or fields).
    #[arg(long)]
    count_only: bool,
    /// At most N keys (0 = no limit).
    #[arg(long, default_value_t = 0)]
    limit: i64,
    /// ASCEND or DESCEND (case-insensitive).
    #[arg(long, default_value = "")]
    order: String,
    /// CREATE, KEY, MODIFY, VALUE or VERSION (case-insensitive).
    #[arg(long, default_value = "")]
    sort_by: String,
    /// Print values only (simple format).
    #[arg(long)]
    print_value_only: bool,
    /// Print keys and values as hex (simple and fields formats).
    #[arg(long)]
    hex: bool,
    /// Output format; etcdctl's -w is accepted too.
    #[arg(short = 'o', long = "output", value_name = "FORMAT", visible_alias = "write-out", short_alias = 'w', value_enum, default_value_t = Format::Simple)]
    output: Format,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Simple,
    Json,
    Fields,
}

fn request(a: &GetArgs) -> Result<GetRequest, CliError> {
    let usage = |m: &str| Err(CliError::Usage(m.into()));
    if a.prefix && a.from_key {
        return usage("`--prefix` and `--from-key` cannot be set at the same time, choose one");
    }
    if a.range_end.is_some() && (a.prefix || a.from_key) {
        return usage("too many arguments, only accept one argument when `--prefix` or `--from-key` is set");
    }
    // etcdctl 3.5's restrictions, kept so scripts behave the same with either tool.
    if a.count_only && a.output != Format::Fields {
        return usage("`--count-only` is only for `--write-out=fields`");
    }
    if a.print_value_only && a.output != Format::Simple {
        return usage("print-value-only is only for `--write-out=simple`");
    }
    let key = a.key.as_bytes();
    let end = a.range_end.as_ref().map(|e| e.as_bytes().to_vec()).unwrap_or_default();
    let range = if a.prefix {
        KeyRange::prefix(key)
    } else if a.from_key {
        KeyRange::from_key(key)
    } else {
        KeyRange { key: key.to_vec(), end }
    };
    let mut sort_order = match a.order.to_ascii_uppercase().as_str() {
        "" => SortOrder::None,
        "ASCEND" => SortOrder::Ascend,
        "DESCEND" => SortOrder::Descend,
        _ => return Err(CliError::Usage(format!("bad sort order {}", a.order))),
    };
    let sort_target = match a.sort_by.to_ascii_uppercase().as_str() {
        "" | "KEY" => SortTarget::Key,
        "CREATE" => SortTarget::Create,
        "MODIFY" => SortTarget::Modify,
        "VALUE" => SortTarget::Value,
        "VERSION" => SortTarget::Version,
        _ => return Err(CliError::Usage(format!("bad sort target {}", a.sort_by))),
    };
    // As etcd's client: results already come in ascending key order.
    if sort_target == SortTarget::Key && sort_order == SortOrder::Ascend {
        sort_order = SortOrder::None;
    }
    Ok(GetRequest {
        range,
        revision: a.rev,
        limit: a.limit,
        keys_only: a.keys_only,
        count_only: a.count_only,
        sort_target,
        sort_order,
        cancel: super::interrupt::watch(),
    })
}

pub fn run(a: &GetArgs, out: &mut impl Write) -> CliResult {
    let mut req = request(a)?;
    let source = Source::open(&a.src)?;
    let snap = Snapshot::open(&source)?;
    if let Some(at) = &a.at {
        let schemas = etcdscope::k8s::schema::Schemas::embedded().map_err(|e| CliError::Usage(e.to_string()))?;
        let decoder = etcdscope::k8s::decoder::Decoder { schemas, options: Default::default(), encryption: None, etcd_prefix: a.etcd_prefix.clone() };
        req.revision = super::at::resolve(&snap, &decoder, &a.etcd_prefix, &[("--at", at)])?[0].revision;
    }
    let resp = get(&snap, &req)?;
    match a.output {
        Format::Simple => print_simple(&resp, a, out)?,
        Format::Json => print_json(&resp, out)?,
        Format::Fields => print_fields(&resp, a.hex, out)?,
    }
    for w in &resp.warnings {
        say!("etcdscope: warning: {w}");
    }
    Ok(if resp.warnings.is_empty() { EXIT_OK } else { EXIT_FINDINGS })
}

fn hex(b: &[u8]) -> Vec<u8> {
    b.iter().flat_map(|x| format!("\\x{x:02x}").into_bytes()).collect()
}

fn print_simple(resp: &GetResponse<'_>, a: &GetArgs, out: &mut impl Write) -> Result<(), CliError> {
    for kv in resp.key_values() {
        let kv = kv?;
        let (k, v) = if a.hex { (hex(&kv.key), hex(&kv.value)) } else { (kv.key, kv.value) };
        if !a.print_value_only {
            out.write_all(&k)?;
            out.write_all(b"\n")?;
        }
        out.write_all(&v)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

fn print_fields(resp: &GetResponse<'_>, hex_mode: bool, out: &mut impl Write) -> Result<(), CliError> {
    writeln!(out, "\"ClusterID\" : {}", resp.cluster_id)?;
    writeln!(out, "\"MemberID\" : {}", resp.member_id)?;
    writeln!(out, "\"Revision\" : {}", resp.revision)?;
    writeln!(out, "\"RaftTerm\" : {}", resp.raft_term)?;
    let q = |b: &[u8]| if hex_mode { format!("\"{}\"", String::from_utf8_lossy(&hex(b))) } else { go_quote(b) };
    for kv in resp.key_values() {
        let kv = kv?;
        writeln!(out, "\"Key\" : {}", q(&kv.key))?;
        writeln!(out, "\"CreateRevision\" : {}", kv.create_revision)?;
        writeln!(out, "\"ModRevision\" : {}", kv.mod_revision)?;
        writeln!(out, "\"Version\" : {}", kv.version)?;
        writeln!(out, "\"Value\" : {}", q(&kv.value))?;
        if hex_mode {
            writeln!(out, "\"Lease\" : {:016x}", kv.lease)?;
        } else {
            writeln!(out, "\"Lease\" : {}", kv.lease)?;
        }
    }
    writeln!(out, "\"More\" : {}", resp.more)?;
    writeln!(out, "\"Count\" : {}", resp.count)?;
    Ok(())
}

/// etcdctl's JSON: Go's encoding of the RangeResponse struct (bytes as base64, zero fields
/// omitted, 64-bit integers as plain numbers), written one key-value at a time. Written by hand:
/// base64 text never needs JSON escaping, and a generic serializer spends most of a dump
/// checking that it doesn't.
fn print_json(resp: &GetResponse<'_>, out: &mut impl Write) -> Result<(), CliError> {
    write!(
        out,
        "{{\"header\":{{\"cluster_id\":{},\"member_id\":{},\"revision\":{},\"raft_term\":{}}}",
        resp.cluster_id, resp.member_id, resp.revision, resp.raft_term
    )?;
    // Base64 and JSON for each key-value are made on every core, written in order.
    let mut first = true;
    let to_json = |state: etcdscope::etcd::mvcc::RevisionEntry<'_>| -> etcdscope::Result<String> {
        let mut text = String::new();
        kv_json(&resp.key_value(&state)?, &mut text);
        Ok(text)
    };
    etcdscope::views::parallel::ordered_map(resp.kvs.clone(), to_json, |text| {
        let text = text?;
        out.write_all(if first { b",\"kvs\":[" } else { b"," }).and_then(|()| out.write_all(text.as_bytes())).map_err(super::stdout_error)?;
        first = false;
        Ok(())
    })?;
    if !first {
        out.write_all(b"]")?;
    }
    if resp.more {
        out.write_all(b",\"more\":true")?;
    }
    if resp.count != 0 {
        write!(out, ",\"count\":{}", resp.count)?;
    }
    out.write_all(b"}\n")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use etcdscope::etcd::mvcc::KeyValueRef;
    use etcdscope::etcd::pb::mvccpb::KeyValue;

    fn borrowed(kv: &KeyValue) -> KeyValueRef<'_> {
        KeyValueRef { key: &kv.key, create_revision: kv.create_revision, mod_revision: kv.mod_revision, version: kv.version, value: &kv.value, lease: kv.lease }
    }

    #[test]
    fn key_value_json_omits_zero_fields() {
        let mut s = String::new();
        kv_json(&borrowed(&KeyValue { key: b"foo".to_vec(), create_revision: 2, mod_revision: 3, version: 0, value: vec![], lease: 7 }), &mut s);
        assert_eq!(s, r#"{"key":"Zm9v","create_revision":2,"mod_revision":3,"lease":7}"#);
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["lease"], 7);
    }
}
