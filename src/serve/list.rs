//! Get and list bodies: objects as the API server returns them, in the form negotiated (the
//! object or list itself, a meta.k8s.io Table, or PartialObjectMetadata), written as they are
//! decoded so a list of every object costs one page of memory, not the keyspace.
//!
//! Everything that can fail as a whole (the resource, the revision, the selectors, the continue
//! token) is checked in [`plan_list`] / [`get_object`] before the first byte, because a status
//! code cannot change once the body has begun. An object that does not decode is, as in
//! `etcdscope get`, not fatal: it is listed as a stub carrying its name and the reason.

use super::accept::Negotiated;
use super::context::Context;
use super::continue_::{Tokens, TOO_OLD};
use super::discovery::Served;
use super::request::{ListOptions, VersionMatch};
use super::slots::Slots;
use super::status::Status;
use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::etcd::mvcc::RevisionEntry;
use crate::etcd::KeyRange;
use crate::k8s::decoder::Decoded;
use crate::k8s::key::keys_of;
use crate::k8s::resources::ResourceInfo;
use crate::k8s::select::{FieldSelector, LabelSelector, ResourceFieldSelector};
use crate::views::table::{table_columns, table_row};
use serde_json::{json, Value};
use std::borrow::Cow;
use std::io::Write;

/// Largest page a client may ask for; larger limits are cut to it (the API server caps too).
pub const MAX_LIMIT: usize = 10_000;
/// Keys decoded per batch: a request holds at most one batch of decoded objects.
const BATCH: usize = 64;

/// `includeObject` of a Table request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Include {
    None,
    Metadata,
    Object,
}

impl Include {
    pub fn parse(v: Option<&str>) -> std::result::Result<Include, Status> {
        match v.unwrap_or("") {
            "" | "Metadata" => Ok(Include::Metadata),
            "Object" => Ok(Include::Object),
            "None" => Ok(Include::None),
            other => Err(Status::bad_request(format!("unrecognized includeObject value: {other:?}"))),
        }
    }
}

/// How each object is written.
#[derive(Clone)]
pub struct Shape {
    pub served: Served,
    pub form: Negotiated,
    pub include: Include,
    pub labels: LabelSelector,
    pub fields: ResourceFieldSelector,
}

impl Shape {
    pub(super) fn selects(&self) -> bool {
        !(self.labels.is_empty() && self.fields.is_empty())
    }
}

/// A list, checked and ready to stream.
pub struct ListPlan {
    ctx: &'static Context,
    tokens: &'static Tokens,
    slots: &'static Slots,
    shape: Shape,
    entries: Cow<'static, [RevisionEntry<'static>]>,
    revision: i64,
    limit: usize,
    /// What the continue token is bound to: the context and the listed range.
    scope: Vec<u8>,
    range_key: Vec<u8>,
}

/// Reads the selectors of a request on `info`: a field the resource cannot be selected on is
/// 400, in the API server's words for that resource.
pub fn selectors(label_selector: &str, field_selector: &str, info: &ResourceInfo) -> std::result::Result<(LabelSelector, ResourceFieldSelector), Status> {
    let labels = LabelSelector::parse(label_selector).map_err(Status::bad_request)?;
    let fields = FieldSelector::parse(field_selector).and_then(|f| f.for_resource(info)).map_err(|e| Status::bad_request(e.message))?;
    Ok((labels, fields))
}

/// The revision a list or get reads, from `resourceVersion`/`resourceVersionMatch`: the served
/// one unless an exact older one is asked; newer than served is 504 "too large", older than the
/// compaction 410.
pub fn read_revision(ctx: &Context, o: &ListOptions) -> std::result::Result<i64, Status> {
    let asked = o.resource_version.map(|r| i64::try_from(r).unwrap_or(i64::MAX));
    match (asked, o.resource_version_match) {
        (None | Some(0), _) => Ok(ctx.revision),
        (Some(r), _) if r > ctx.revision => Err(Status::too_large_resource_version(r, ctx.revision)),
        (Some(r), Some(VersionMatch::Exact)) if r < ctx.compacted => Err(Status::expired("The resourceVersion for the provided list is too old.")),
        (Some(r), Some(VersionMatch::Exact)) => Ok(r),
        (Some(_), _) => Ok(ctx.revision),
    }
}

/// The live entries of `range` at `revision`: a slice of the context's index at the served
/// revision, else one read of the store.
pub(super) fn entries_at(
    ctx: &'static Context,
    range: &KeyRange,
    revision: i64,
    start: Option<&[u8]>,
    cancel: &Cancel,
) -> Result<Cow<'static, [RevisionEntry<'static>]>> {
    if revision == ctx.revision {
        let index = ctx.index().map_err(Error::Usage)?;
        return Ok(Cow::Borrowed(index.slice(range, start)));
    }
    let mut all = ctx.snapshot.store().range_until(range, revision, cancel)?;
    if let Some(s) = start {
        all.retain(|e| e.key >= s);
    }
    Ok(Cow::Owned(all))
}

/// Plans a list of `shape.served` in `namespace` (every namespace when `None`).
pub fn plan_list(
    ctx: &'static Context,
    tokens: &'static Tokens,
    slots: &'static Slots,
    shape: Shape,
    namespace: Option<&str>,
    o: &ListOptions,
    cancel: &Cancel,
) -> std::result::Result<ListPlan, Status> {
    let range = keys_of(&ctx.prefix, &shape.served.info, namespace, None);
    let scope = format!("{}\0{}\0{}", ctx.name, shape.served.info.group, shape.served.info.resource).into_bytes();
    let (revision, start) = match &o.continue_token {
        Some(token) => {
            let resume = tokens.decode(&scope, &range.key, token)?;
            if resume.revision < ctx.compacted {
                return Err(Status::expired(TOO_OLD));
            }
            (resume.revision, Some(resume.start))
        }
        None => (read_revision(ctx, o)?, None),
    };
    let entries = entries_at(ctx, &range, revision, start.as_deref(), cancel).map_err(internal)?;
    let limit = usize::try_from(o.limit).unwrap_or(MAX_LIMIT).min(MAX_LIMIT);
    Ok(ListPlan { ctx, tokens, slots, shape, entries, revision, limit, scope, range_key: range.key })
}

/// A failure of our own while answering (the file, not the request): 500 with the reason.
pub fn internal(e: Error) -> Status {
    Status::internal(e.to_string())
}

/// A page's entries, and the key the next page starts at.
type Page<'p> = (Cow<'p, [RevisionEntry<'static>]>, Option<&'p [u8]>);

impl ListPlan {
    /// Writes the list: envelope, then items (or rows) as they are decoded.
    pub fn write(self, out: &mut dyn Write, cancel: &Cancel) -> Result<()> {
        let (page, next) = self.page(cancel)?;
        let continue_token = next.map(|key| self.tokens.encode(&self.scope, &self.range_key, self.revision, key));
        let remaining = match (&continue_token, self.shape.selects()) {
            (Some(_), false) => Some(self.entries.len() - page.len()),
            _ => None,
        };
        let mut meta = json!({"resourceVersion": self.revision.to_string()});
        if let Some(t) = &continue_token {
            meta["continue"] = json!(t);
        }
        if let Some(n) = remaining {
            meta["remainingItemCount"] = json!(n);
        }
        let info = &self.shape.served.info;
        let api_version = group_version(&info.group, &self.shape.served.version);
        match self.shape.form {
            Negotiated::Table(v) => {
                write!(
                    out,
                    r#"{{"kind":"Table","apiVersion":"meta.k8s.io/{v}","metadata":{meta},"columnDefinitions":{},"rows":["#,
                    column_definitions(&self.shape)
                )
                .map_err(sent)?;
            }
            Negotiated::Metadata(v) => {
                write!(out, r#"{{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/{v}","metadata":{meta},"items":["#).map_err(sent)?
            }
            _ => write!(out, r#"{{"kind":"{}List","apiVersion":"{api_version}","metadata":{meta},"items":["#, info.kind).map_err(sent)?,
        }
        let mut first = true;
        for batch in page.chunks(BATCH) {
            cancel.check()?;
            for item in self.slots.map(batch, |e| render(self.ctx, &self.shape, e)) {
                if let Some(text) = item? {
                    if !first {
                        out.write_all(b",").map_err(sent)?;
                    }
                    first = false;
                    out.write_all(text.as_bytes()).map_err(sent)?;
                }
            }
        }
        out.write_all(b"]}").map_err(sent)?;
        Ok(())
    }

    /// The entries of this page, and the key the next page starts at. Without selectors the page
    /// is the first `limit` entries; with them, the first `limit` that match (decoded once here
    /// to select, again when written, so a page's memory stays its keys).
    fn page(&self, cancel: &Cancel) -> Result<Page<'_>> {
        let all = &self.entries[..];
        if self.limit == 0 || (!self.shape.selects() && all.len() <= self.limit) {
            return Ok((Cow::Borrowed(all), None));
        }
        if !self.shape.selects() {
            return Ok((Cow::Borrowed(&all[..self.limit]), Some(all[self.limit].key)));
        }
        let mut picked = Vec::new();
        let mut scanned = 0;
        'batches: for batch in all.chunks(BATCH) {
            cancel.check()?;
            let kept = self.slots.map(batch, |e| matches(self.ctx, &self.shape, e)).into_iter().enumerate();
            for (i, ok) in kept {
                if ok {
                    picked.push(batch[i]);
                }
                scanned += 1;
                if picked.len() == self.limit {
                    break 'batches;
                }
            }
        }
        let next = all.get(scanned).map(|e| e.key);
        Ok((Cow::Owned(picked), next))
    }
}

/// Whether an entry's object passes the selectors (an undecodable one is kept, as `get` keeps it).
fn matches(ctx: &Context, shape: &Shape, e: &RevisionEntry<'static>) -> bool {
    let Ok(kv) = e.kv(ctx.snapshot.file()) else { return true };
    match ctx.decoder.decode_at(kv.key, kv.value, Some(kv.mod_revision)) {
        Decoded::Object { json, .. } => json.value().map(|v| shape.labels.matches(&v) && shape.fields.matches(&v)).unwrap_or(true),
        _ => true,
    }
}

/// A write to the response failed: the client went away (or the server is stopping).
pub(super) fn sent(e: std::io::Error) -> Error {
    Error::Io { path: "<response>".into(), source: e }
}

/// `apiVersion` of a group version.
pub fn group_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

/// The Table's column definitions for the shape's resource.
pub(super) fn column_definitions(shape: &Shape) -> Value {
    let columns = table_columns(&shape.served.info, true);
    Value::Array(columns.into_iter().map(|c| json!({"name": c.name, "type": c.kind, "format": c.format, "description": "", "priority": c.priority})).collect())
}

/// One object in the shape's form, or `None` when the selectors leave it out.
fn render(ctx: &Context, shape: &Shape, e: &RevisionEntry<'static>) -> Result<Option<String>> {
    let kv = e.kv(ctx.snapshot.file())?;
    let object = decode(ctx, shape, kv.key, kv.value, kv.mod_revision)?;
    Ok(object.passes(shape).then(|| object.shaped(ctx, shape)))
}

/// A stored value decoded for a response: its JSON text, and its parsed form when selectors or
/// the form need it.
pub(super) struct Object {
    text: String,
    value: Option<Value>,
}

/// Decodes `value` (stored at `key`) with `metadata.resourceVersion` = `revision`; a value that
/// does not decode becomes a stub ([`stub`]).
pub(super) fn decode(ctx: &Context, shape: &Shape, key: &[u8], value: &[u8], revision: i64) -> Result<Object> {
    let (text, value) = match ctx.decoder.decode_at(key, value, Some(revision)) {
        Decoded::Object { json, encoding, .. } => {
            // Protobuf values carry apiVersion and kind in their envelope; JSON and CBOR ones
            // may have been stored without them.
            if encoding != "protobuf" {
                let value = with_type_meta(shape, json.value().map_err(Error::Usage)?);
                (value.to_string(), Some(value))
            } else {
                let needs_value = shape.selects() || shape.form != Negotiated::Json;
                let value = if needs_value { Some(json.value().map_err(Error::Usage)?) } else { None };
                (json.into_string(), value)
            }
        }
        Decoded::Encrypted { provider, key_name, reason, .. } => stub(ctx, shape, key, revision, &format!("encrypted ({provider}, key {key_name}): {reason}")),
        Decoded::Raw { reason } => stub(ctx, shape, key, revision, &reason),
    };
    Ok(Object { text, value })
}

impl Object {
    /// Whether the selectors keep it.
    pub(super) fn passes(&self, shape: &Shape) -> bool {
        self.value.as_ref().map_or(true, |v| shape.labels.matches(v) && shape.fields.matches(v))
    }

    /// The object in the shape's form: itself, its metadata, or a Table row.
    pub(super) fn shaped(&self, ctx: &Context, shape: &Shape) -> String {
        match shape.form {
            Negotiated::Json | Negotiated::Discovery(_) => self.text.clone(),
            Negotiated::Metadata(v) => partial_metadata(v, self.value.as_ref()).to_string(),
            Negotiated::Table(v) => table_row_json(ctx, shape, v, &self.text, self.value.as_ref()).to_string(),
        }
    }
}

/// The object with the served apiVersion and kind where it has none, as the API server sets
/// them on every object it returns (kubectl refuses a list whose objects lack them).
fn with_type_meta(shape: &Shape, mut value: Value) -> Value {
    if let Some(object) = value.as_object_mut() {
        let info = &shape.served.info;
        object.entry("apiVersion").or_insert_with(|| json!(group_version(&info.group, &shape.served.version)));
        object.entry("kind").or_insert_with(|| json!(info.kind));
    }
    value
}

/// The API server's PartialObjectMetadata of an object.
fn partial_metadata(version: &str, value: Option<&Value>) -> Value {
    let metadata = value.and_then(|v| v.get("metadata")).cloned().unwrap_or_else(|| json!({}));
    json!({"kind": "PartialObjectMetadata", "apiVersion": format!("meta.k8s.io/{version}"), "metadata": metadata})
}

/// One Table row: the cells, and the object as `includeObject` asks.
fn table_row_json(ctx: &Context, shape: &Shape, version: &str, text: &str, value: Option<&Value>) -> Value {
    let empty = json!({});
    let o = value.unwrap_or(&empty);
    let now = ctx.now();
    let cells: Vec<Value> = table_row(&shape.served.info, o, true).into_iter().map(|c| Value::String(c.show(now))).collect();
    let object = match shape.include {
        Include::None => Value::Null,
        Include::Metadata => partial_metadata(version, value),
        Include::Object => serde_json::from_str(text).unwrap_or(Value::Null),
    };
    json!({"cells": cells, "object": object})
}

/// What an object that does not decode is listed as: its name, namespace and revision, and the
/// reason in an annotation, so clients still see it is there.
fn stub(ctx: &Context, shape: &Shape, key: &[u8], mod_revision: i64, reason: &str) -> (String, Option<Value>) {
    let info = &shape.served.info;
    let key = String::from_utf8_lossy(key);
    let rest = key.strip_prefix(&format!("{}/{}/", ctx.prefix, info.key_prefix)).unwrap_or(&key).to_string();
    let (namespace, name) = match rest.split_once('/') {
        Some((ns, name)) if info.namespaced => (Some(ns.to_string()), name.to_string()),
        _ => (None, rest),
    };
    let mut metadata = json!({"name": name, "resourceVersion": mod_revision.to_string(), "annotations": {"etcdscope.io/undecodable": reason}});
    if let Some(ns) = namespace {
        metadata["namespace"] = json!(ns);
    }
    let v = json!({"apiVersion": group_version(&info.group, &shape.served.version), "kind": info.kind, "metadata": metadata});
    (v.to_string(), Some(v))
}

/// One object by name, at the revision asked, in the shape's form; 404 when absent.
pub fn get_object(
    ctx: &'static Context,
    shape: &Shape,
    namespace: Option<&str>,
    name: &str,
    o: &ListOptions,
    cancel: &Cancel,
) -> std::result::Result<Vec<u8>, Status> {
    let info = &shape.served.info;
    let range = keys_of(&ctx.prefix, info, namespace, Some(name));
    let revision = read_revision(ctx, o)?;
    let entries = entries_at(ctx, &range, revision, None, cancel).map_err(internal)?;
    let not_found = || Status::object_not_found(&info.group, &info.resource, name);
    let entry = entries.first().ok_or_else(not_found)?;
    let text = render(ctx, shape, entry).map_err(internal)?.ok_or_else(not_found)?;
    Ok(match shape.form {
        Negotiated::Table(v) => format!(
            r#"{{"kind":"Table","apiVersion":"meta.k8s.io/{v}","metadata":{{"resourceVersion":"{}"}},"columnDefinitions":{},"rows":[{text}]}}"#,
            entry.main(),
            column_definitions(shape)
        )
        .into_bytes(),
        _ => text.into_bytes(),
    })
}
