//! `--at TIME` (and `history --since/--until`): the time resolved to a revision by
//! [`etcdscope::views::timeline`], and the one note on stderr that says which and why.

use super::format::printable_key;
use super::CliError;
use etcdscope::k8s::decoder::Decoder;
use etcdscope::snapshot::Snapshot;
use etcdscope::views::timeline::{parse_time, resolve_each, AtResolution, Evidence};

/// Resolves each `(flag, time)` in one pass over the revisions, saying each on stderr.
pub fn resolve(snap: &Snapshot<'_>, decoder: &Decoder, etcd_prefix: &str, asked: &[(&str, &str)]) -> Result<Vec<AtResolution>, CliError> {
    let times = asked.iter().map(|(flag, text)| parse_time(flag, text)).collect::<Result<Vec<_>, _>>()?;
    let answers = resolve_each(snap, decoder, etcd_prefix, &times, &super::interrupt::watch())?;
    let mut resolved = Vec::with_capacity(answers.len());
    for ((flag, _), answer) in asked.iter().zip(answers) {
        let r = answer.map_err(|e| CliError::Usage(format!("{flag} {e}")))?;
        say!("{}", note(flag, &r));
        resolved.push(r);
    }
    Ok(resolved)
}

/// `TIME (FIELD of KEY, revision R)`, the key escaped for a terminal.
fn evidence(e: &Evidence) -> String {
    format!("{} ({} of {}, revision {})", e.time, e.field.as_str(), printable_key(&e.key), e.revision)
}

/// What a resolution says, in one line.
pub fn note(flag: &str, r: &AtResolution) -> String {
    match &r.hi {
        Some(hi) => format!(
            "note: {flag} {} is revision {}: time evidence {} is not after it; revision {} is, at or after {}",
            r.at,
            r.revision,
            evidence(&r.lo),
            hi.revision,
            evidence(hi)
        ),
        None => format!(
            "note: {flag} {} is revision {}, the current one: it is after all time evidence, the newest {}; what happened between then and {} is not in this file",
            r.at,
            r.revision,
            evidence(&r.lo),
            r.at
        ),
    }
}
