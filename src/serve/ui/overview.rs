//! The first pages: every served input (`/ui/`), and one input's overview (`/ui/CTX/`) — what
//! `status` and `check` say: revision and compaction, the file against etcd's 2 and 8 GiB
//! quotas, free pages, the trailer, members and quorum, findings, leases.

use super::page::{self, bytes, count, facts, Nav, Tab};
use super::{blocking, context_at, ok_page, UiError, UiRequest, UiResult};
use crate::bolt::check::Severity;
use crate::serve::Server;
use crate::views::analyze::{DEFAULT_QUOTA, MAX_QUOTA};
use crate::views::check::CheckReport;
use crate::views::status::Status;
use maud::{html, Markup};
use std::sync::Arc;

/// Leases listed on the overview (the count is always whole).
const LEASES_SHOWN: usize = 200;

/// `/ui/`: the inputs, what each is, and where to go.
pub fn home(server: &'static Server) -> Result<maud::Markup, UiError> {
    let body = html! {
        h1 { "Served inputs" }
        table.data data-keyboard {
            thead { tr { th { "Input" } th { "File" } th.num { "Revision" } th.num { "Compacted at" } th { "Views" } } }
            tbody {
                @for (c, _) in &server.contexts {
                    tr {
                        td { a href=(page::context_href(c)) { (c.name) } }
                        td.key { (c.snapshot.file().display().to_string()) }
                        td.num { (c.revision) }
                        td.num { (c.compacted) }
                        td {
                            a href=(page::space_href(c, None)) { "space" } " · "
                            a href=(page::keys_href(c, b"")) { "keys" } " · "
                            a href=(format!("/ui/{}/search", c.name)) { "search" }
                        }
                    }
                }
            }
        }
        @if server.contexts.len() > 1 {
            h2 { "Compare two inputs" }
            p.muted { "What serving (restoring) the second instead of the first would lose, bring back or revert." }
            ul {
                @for (a, _) in &server.contexts {
                    @for (b, _) in &server.contexts {
                        @if a.name != b.name {
                            li { a href=(page::diff_href(a, b)) { (a.name) " → " (b.name) } }
                        }
                    }
                }
            }
        }
    };
    Ok(page::layout(Some(server), &Nav::none(), "Served inputs", body))
}

/// `/ui/CTX/`: status and check of one input.
pub async fn page(req: UiRequest) -> UiResult {
    let (server, index) = (req.server, req.index);
    let (status, check, leases) = blocking(move || {
        let (context, state) = context_at(server, index);
        let leases = context.snapshot.leases().map_err(UiError::from)?;
        Ok(std::thread::scope(|scope| {
            let check = scope.spawn(|| state.check.get(|| crate::views::check::check(context.snapshot.source(), false, &server.shutdown)));
            let status = state.status.get(|| crate::views::status::status(&context.snapshot));
            (status, check.join().unwrap_or_else(|_| Err("the check failed".into())), leases)
        }))
    })
    .await?;
    let status = status.map_err(UiError::internal)?;
    let (context, _) = context_at(server, index);
    let body = html! {
        h1 { "Overview of " span.mono { (context.name) } }
        p.muted.key { (context.snapshot.file().display().to_string()) }
        div.cards {
            (revisions_card(&status, context.revision))
            (space_card(context, &status))
            (integrity_card(&status, &check))
            (members_card(&status))
        }
        (leases_section(&leases))
    };
    Ok(ok_page(page::layout(Some(server), &Nav::of(context, Tab::Overview), "Overview", body)))
}

fn revisions_card(s: &Status, served: i64) -> Markup {
    let compaction = match (s.scheduled_compact_revision, s.finished_compact_revision) {
        (None, None) => "never compacted".to_string(),
        (sch, fin) => {
            format!("{} (scheduled {}, finished {})", s.compact_revision, sch.map_or("-".into(), |r| r.to_string()), fin.map_or("-".into(), |r| r.to_string()))
        }
    };
    html! {
        section.card #revisions {
            h2 { "Revisions" }
            (facts(&[
                ("revision", html! { span data-fact="revision" { (s.current_revision) } }),
                ("served at", html! { span data-fact="served" { (served) } @if served != s.current_revision { " " span.badge.warn { "older revision" } } }),
                ("compaction", html! { span data-fact="compaction" { (compaction) } }),
                ("live keys", count(s.live_keys)),
                ("revisions", count(s.revisions)),
                ("tombstones", count(s.tombstones)),
                ("leases", count(s.leases)),
                ("consistent index", html! { (s.consistent_index.map_or("-".into(), |i| i.to_string())) }),
                ("term", html! { (s.term.map_or("-".into(), |i| i.to_string())) }),
                ("etcd version", html! { (s.cluster_version.clone().unwrap_or_else(|| s.version.clone())) }),
            ]))
        }
    }
}

/// A bar: in-use part dark, the rest of the file light, against `quota`.
pub fn quota_meter(file: u64, in_use: u64, quota: u64) -> Markup {
    let w = |n: u64| (n as f64 / quota as f64 * 1000.0).min(1000.0);
    html! {
        span.meter role="img" aria-label=(format!("file {:.1}% and in use {:.1}% of {}", 100.0 * file as f64 / quota as f64, 100.0 * in_use as f64 / quota as f64, crate::views::text::human_size(quota))) {
            svg viewBox="0 0 1000 10" preserveAspectRatio="none" {
                rect.file x="0" y="0" height="10" width=(format!("{:.1}", w(file))) {}
                rect.used x="0" y="0" height="10" width=(format!("{:.1}", w(in_use))) {}
            }
        }
    }
}

fn space_card(context: &crate::serve::context::Context, s: &Status) -> Markup {
    html! {
        section.card #space {
            h2 { "Space" }
            (facts(&[
                ("file", bytes(s.file_size)),
                ("in use", bytes(s.in_use_bytes)),
                ("free pages", html! { (bytes(s.free_bytes)) " (" (count(s.free_pages)) " pages; a defragmentation gives these back)" }),
                ("page size", bytes(s.page_size)),
                ("2 GiB quota", html! { (quota_meter(s.file_size, s.in_use_bytes, DEFAULT_QUOTA)) " " (format!("{:.1}%", 100.0 * s.file_size as f64 / DEFAULT_QUOTA as f64)) }),
                ("8 GiB quota", html! { (quota_meter(s.file_size, s.in_use_bytes, MAX_QUOTA)) " " (format!("{:.1}%", 100.0 * s.file_size as f64 / MAX_QUOTA as f64)) }),
            ]))
            p { a href=(page::space_href(context, None)) { "Where the bytes are →" } }
        }
    }
}

fn integrity_card(s: &Status, check: &Result<Arc<CheckReport>, String>) -> Markup {
    let trailer_class = match s.trailer {
        crate::source::Trailer::Ok => "ok",
        crate::source::Trailer::Missing => "muted",
        _ => "error",
    };
    html! {
        section.card #integrity {
            h2 { "Integrity" }
            (facts(&[
                ("trailer", html! { span class=(trailer_class) data-fact="trailer" { (s.trailer.sentence()) } }),
                ("meta", html! { (s.active_meta.reason) }),
                ("hash", html! { span.mono { (format!("{:x}", s.hash)) } }),
            ]))
            @for w in &s.warnings { p.warning { (w) } }
            @match check {
                Ok(report) => {
                    @if report.findings.is_empty() {
                        p { span.ok data-fact="check" { "check: no findings" } " (" (count(report.key_entries)) " key entries read)" }
                    } @else {
                        p data-fact="check" { "check: " (report.errors) " errors, " (report.warnings) " warnings" }
                        table.data {
                            thead { tr { th { "Severity" } th { "Layer" } th.num { "Page" } th.num { "Offset" } th { "Finding" } } }
                            tbody {
                                @for f in &report.findings {
                                    tr {
                                        td { span class=(severity_class(f.severity)) { (format!("{:?}", f.severity).to_lowercase()) } }
                                        td { (f.layer) }
                                        td.num { (f.page.map_or(String::new(), |p| p.to_string())) }
                                        td.num { (f.offset.map_or(String::new(), |o| o.to_string())) }
                                        td { (f.what) }
                                    }
                                }
                            }
                        }
                    }
                }
                Err(e) => { p.error role="alert" { "check could not run: " (e) } }
            }
        }
    }
}

fn severity_class(s: Severity) -> &'static str {
    match s {
        Severity::Error => "finding-error",
        Severity::Warning => "finding-warning",
        Severity::Info => "muted",
    }
}

fn members_card(s: &Status) -> Markup {
    html! {
        section.card.wide #members {
            h2 { "Members" }
            (facts(&[
                ("cluster ID", html! { span.mono { (format!("{:x}", s.cluster_id)) } }),
                ("quorum", html! { span data-fact="quorum" { (s.quorum) } " (tolerates " (s.fault_tolerance) " failed)" }),
            ]))
            table.data {
                thead { tr { th { "ID" } th { "Name" } th { "Peer URLs" } th { "Client URLs" } th { "Role" } } }
                tbody {
                    @for m in &s.members {
                        tr {
                            td.mono { (format!("{:x}", m.id)) }
                            td { (m.name) }
                            td.key { (m.peer_urls.join(", ")) }
                            td.key { (m.client_urls.join(", ")) }
                            td { @if m.is_learner { "learner" } @else { "voter" } }
                        }
                    }
                }
            }
            @for d in &s.member_damage { p.error { "unreadable member entry: " (format!("{d:?}")) } }
        }
    }
}

fn leases_section(leases: &[crate::etcd::lease::Lease]) -> Markup {
    html! {
        section #leases {
            h2 { "Leases (" (count(leases.len() as u64)) ")" }
            @if leases.is_empty() {
                p.muted { "No leases." }
            } @else {
                table.data {
                    thead { tr { th { "ID" } th.num { "TTL (s)" } th.num { "Remaining TTL (s)" } } }
                    tbody {
                        @for l in leases.iter().take(LEASES_SHOWN) {
                            tr { td.mono { (format!("{:016x}", l.id)) } td.num { (l.ttl) } td.num { (l.remaining_ttl) } }
                        }
                    }
                }
                @if leases.len() > LEASES_SHOWN { p.muted { "The first " (LEASES_SHOWN) " are shown." } }
            }
        }
    }
}
