//! Watch: what happened to a collection after a revision, replayed from the snapshot's retained
//! history in revision order, as the API server streams it: one JSON event per line
//! (`{"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":…}`).
//!
//! - `resourceVersion=R`: the changes after R, up to the snapshot's newest revision (a served
//!   `--rev` older than the newest makes `kubectl get -w` replay what came after it).
//! - no `resourceVersion` (or `0`): ADDED for every object at the served revision first.
//! - `sendInitialEvents=true`: ADDED for every object at R, then a BOOKMARK annotated
//!   `k8s.io/initial-events-end` (what client-go's watch-list waits for), then the changes.
//!
//! A DELETED event carries the object's last state with the deletion's revision, as the API
//! server sends it. With selectors, an object that starts matching is ADDED and one that stops
//! is DELETED, as the API server filters a watch. After the replay the stream stays open, idle,
//! until `timeoutSeconds` (the router's business), as a quiet cluster's would.

use super::accept::Negotiated;
use super::context::Context;
use super::list::{column_definitions, decode, entries_at, group_version, sent, Object, Shape};
use super::request::ListOptions;
use super::status::Status;
use crate::cancel::Cancel;
use crate::error::Result;
use crate::etcd::mvcc::RevisionEntry;
use crate::k8s::key::keys_of;
use rustc_hash::FxHashMap as HashMap;
use serde_json::json;
use std::io::Write;

/// A watch, checked and ready to replay.
pub struct WatchPlan {
    ctx: &'static Context,
    shape: Shape,
    namespace: Option<String>,
    /// Changes after this revision are replayed.
    after: i64,
    /// Whether ADDED events for the state at `after` come first.
    initial: bool,
    /// Whether the initial state ends with the annotated bookmark.
    initial_bookmark: bool,
    bookmarks: bool,
    /// Set when the start point is refused: the one ERROR event sent.
    refused: Option<Status>,
}

/// Plans a watch of `shape` in `namespace` from the request's options.
pub fn plan_watch(ctx: &'static Context, shape: Shape, namespace: Option<&str>, o: &ListOptions) -> WatchPlan {
    let asked = o.resource_version.map(|r| i64::try_from(r).unwrap_or(i64::MAX)).filter(|r| *r > 0);
    let newest = ctx.snapshot.store().current_revision();
    let send_initial = o.send_initial_events.unwrap_or(asked.is_none());
    let after = asked.unwrap_or(ctx.revision);
    let refused = if after < ctx.compacted {
        Some(Status::expired(format!("too old resource version: {after} ({})", ctx.compacted)))
    } else if after > newest {
        Some(Status::too_large_resource_version(after, newest))
    } else {
        None
    };
    WatchPlan {
        ctx,
        shape,
        namespace: namespace.map(str::to_string),
        after,
        initial: send_initial,
        initial_bookmark: o.send_initial_events == Some(true) && o.allow_watch_bookmarks,
        bookmarks: o.allow_watch_bookmarks,
        refused,
    }
}

/// Writes events as [`WatchPlan::replay`] finds them; the Table form sends its column
/// definitions with the first event only, as the API server does.
struct Events<'w> {
    out: &'w mut dyn Write,
    ctx: &'static Context,
    shape: &'w Shape,
    headers_sent: bool,
}

impl Events<'_> {
    fn send(&mut self, kind: &str, object: &str) -> Result<()> {
        writeln!(self.out, r#"{{"type":"{kind}","object":{object}}}"#).and_then(|()| self.out.flush()).map_err(sent)
    }

    fn object(&mut self, kind: &str, o: &Object) -> Result<()> {
        let shaped = o.shaped(self.ctx, self.shape);
        match self.shape.form {
            Negotiated::Table(v) => {
                let columns = if self.headers_sent { String::new() } else { format!(r#","columnDefinitions":{}"#, column_definitions(self.shape)) };
                self.headers_sent = true;
                let table = format!(r#"{{"kind":"Table","apiVersion":"meta.k8s.io/{v}","metadata":{{}}{columns},"rows":[{shaped}]}}"#);
                self.send(kind, &table)
            }
            _ => self.send(kind, &shaped),
        }
    }

    fn bookmark(&mut self, revision: i64, initial_end: bool) -> Result<()> {
        let info = &self.shape.served.info;
        let mut metadata = json!({"resourceVersion": revision.to_string()});
        if initial_end {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let object = json!({"kind": info.kind, "apiVersion": group_version(&info.group, &self.shape.served.version), "metadata": metadata});
        self.send("BOOKMARK", &object.to_string())
    }
}

impl WatchPlan {
    /// Writes the events: the initial state if asked, then every change after the start
    /// revision up to the snapshot's newest, in revision order.
    pub fn replay(self, out: &mut dyn Write, cancel: &Cancel) -> Result<()> {
        let mut events = Events { out, ctx: self.ctx, shape: &self.shape, headers_sent: false };
        if let Some(refused) = &self.refused {
            let status = serde_json::to_string(refused).expect("a Status serializes");
            return events.send("ERROR", &status);
        }
        let ctx = self.ctx;
        let store = ctx.snapshot.store();
        let file = ctx.snapshot.file();
        let range = keys_of(&ctx.prefix, &self.shape.served.info, self.namespace.as_deref(), None);
        let start = entries_at(ctx, &range, self.after, None, cancel)?;
        // The live keys at the start and whether each passed the selectors.
        let mut live: HashMap<&'static [u8], (RevisionEntry<'static>, bool)> = HashMap::default();
        for e in start.iter() {
            cancel.check()?;
            let passes = if self.shape.selects() || self.initial {
                let kv = e.kv(file)?;
                let o = decode(ctx, &self.shape, kv.key, kv.value, kv.mod_revision)?;
                let passes = o.passes(&self.shape);
                if self.initial && passes {
                    events.object("ADDED", &o)?;
                }
                passes
            } else {
                true
            };
            live.insert(e.key, (*e, passes));
        }
        if self.initial_bookmark {
            events.bookmark(self.after, true)?;
        }
        let newest = store.current_revision();
        for entry in store.revisions(Some(&range), self.after + 1..=newest).until(cancel) {
            let entry = entry?;
            let revision = entry.main();
            let before = live.get(entry.key).copied();
            if entry.tombstone {
                if let Some((last, passed)) = before {
                    live.remove(entry.key);
                    if passed {
                        let kv = last.kv(file)?;
                        events.object("DELETED", &decode(ctx, &self.shape, kv.key, kv.value, revision)?)?;
                    }
                }
                continue;
            }
            let kv = entry.kv(file)?;
            let o = decode(ctx, &self.shape, kv.key, kv.value, kv.mod_revision)?;
            let passes = o.passes(&self.shape);
            match (before.map(|(_, p)| p), passes) {
                (Some(true), true) => events.object("MODIFIED", &o)?,
                (None | Some(false), true) => events.object("ADDED", &o)?,
                (Some(true), false) => events.object("DELETED", &o)?,
                (_, false) => {}
            }
            live.insert(entry.key, (entry, passes));
        }
        if self.bookmarks {
            events.bookmark(newest, false)?;
        }
        Ok(())
    }
}
