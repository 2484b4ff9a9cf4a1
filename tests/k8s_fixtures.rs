//! Kubernetes' own API round-trip fixtures (scripts/k8s-fixtures.sh, Apache-2.0, not copied into
//! this repository): the `.pb` files are the bytes kube-apiserver writes to etcd.

mod common;

use etcdscope::k8s::envelope::{classify, Value};
use std::path::PathBuf;

fn fixtures() -> PathBuf {
    common::k8s_fixtures()
}

/// `<group>.<version>.<Kind>` from a fixture file name (core types are `core.v1.Pod` or `v1.Pod`).
fn api_version_and_kind(stem: &str) -> (String, String) {
    let (rest, kind) = stem.rsplit_once('.').unwrap();
    let (group, version) = rest.rsplit_once('.').unwrap_or(("", rest));
    let group = if group == "core" { "" } else { group };
    let api_version = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
    (api_version, kind.to_string())
}

#[test]
fn every_protobuf_fixture_has_the_envelope_its_name_says() {
    let mut checked = 0;
    for release in ["v1.33.0", "v1.34.0", "v1.35.0", "HEAD"] {
        for entry in std::fs::read_dir(fixtures().join(release)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "pb") {
                continue;
            }
            let name = path.file_stem().unwrap().to_string_lossy().to_string();
            let stem = name.trim_end_matches(".after_roundtrip");
            let bytes = std::fs::read(&path).unwrap();
            let Ok(Value::Protobuf(u)) = classify(&bytes) else { panic!("{}: not a k8s protobuf envelope", path.display()) };
            let (api_version, kind) = api_version_and_kind(stem);
            // A few wrapper types (WatchEvent) are encoded without type meta.
            if !(u.api_version.is_empty() && u.kind.is_empty()) {
                assert_eq!((u.api_version.as_str(), u.kind.as_str()), (api_version.as_str(), kind.as_str()), "{}", path.display());
            }
            assert!(!u.raw.is_empty(), "{}", path.display());
            checked += 1;
        }
    }
    println!("{checked} protobuf fixtures checked");
    assert!(checked > 500);
}

/// The first path where two JSON values differ, for readable failures.
fn first_difference(a: &serde_json::Value, b: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value::*;
    match (a, b) {
        (Object(x), Object(y)) => {
            let mut keys: Vec<&std::string::String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|k| match (x.get(k), y.get(k)) {
                (Some(p), Some(q)) => first_difference(p, q, &format!("{path}.{k}")),
                (Some(p), None) => Some(format!("{path}.{k}: ours {p}, missing in the fixture")),
                (None, Some(q)) => Some(format!("{path}.{k}: missing in ours, fixture {q}")),
                (None, None) => None,
            })
        }
        (Array(x), Array(y)) if x.len() == y.len() => x.iter().zip(y).enumerate().find_map(|(i, (p, q))| first_difference(p, q, &format!("{path}[{i}]"))),
        _ if a == b => None,
        _ => Some(format!("{path}: ours {a}, fixture {b}")),
    }
}

/// Decodes every `.pb` fixture with the embedded schemas and compares it, as a JSON value, with
/// the `.json` the API server showed for the same object. Prints the tally per release.
#[test]
fn protobuf_fixtures_render_as_the_api_server_shows_them() {
    use etcdscope::k8s::json::{render_message_bytes, render_object, RenderOptions};
    use etcdscope::k8s::schema::Schemas;
    let schemas = Schemas::embedded().expect("embedded schemas load");
    let mut report = Vec::new();
    let (mut all_covered, mut all_passed) = (0, 0);
    let (mut head_total, mut head_covered) = (0, 0);
    for release in ["v1.33.0", "v1.34.0", "v1.35.0", "HEAD"] {
        let dir = fixtures().join(release);
        let mut names: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        names.sort();
        let (mut total, mut covered, mut passed) = (0, 0, 0);
        let mut uncovered = Vec::new();
        for pb in names.iter().filter(|p| p.extension().is_some_and(|e| e == "pb")) {
            let stem = pb.file_stem().unwrap().to_string_lossy().to_string();
            if stem.ends_with(".after_roundtrip") {
                continue;
            }
            total += 1;
            let bytes = std::fs::read(pb).unwrap();
            let Ok(Value::Protobuf(u)) = classify(&bytes) else { continue };
            // Without type meta in the envelope (WatchEvent) there is none in the JSON either.
            let rendered = if u.kind.is_empty() {
                let (api_version, kind) = api_version_and_kind(&stem);
                schemas
                    .for_type(&api_version, &kind)
                    .ok_or_else(|| format!("no schema for {api_version} {kind}"))
                    .and_then(|d| render_message_bytes(&schemas, &d, u.raw, RenderOptions::default()))
            } else {
                render_object(&schemas, &u.api_version, &u.kind, u.raw, RenderOptions::default()).map_err(|e| e.to_string())
            };
            let rendered = match rendered {
                Ok(r) => r,
                Err(e) => {
                    uncovered.push(format!("{stem}: {e}"));
                    continue;
                }
            };
            covered += 1;
            let expected: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join(format!("{stem}.json"))).unwrap()).unwrap();
            let roundtrip = dir.join(format!("{stem}.after_roundtrip.json"));
            let alternative: Option<serde_json::Value> = std::fs::read(&roundtrip).ok().and_then(|b| serde_json::from_slice(&b).ok());
            if rendered.json == expected || alternative.as_ref() == Some(&rendered.json) {
                // …and its YAML is the API server's YAML text, byte for byte.
                let ours = etcdscope::k8s::yaml::to_yaml(&rendered.json);
                let want = std::fs::read_to_string(dir.join(format!("{stem}.yaml"))).unwrap();
                let want_rt = std::fs::read_to_string(dir.join(format!("{stem}.after_roundtrip.yaml"))).ok();
                if ours != want && want_rt.as_deref() != Some(ours.as_str()) {
                    report.push(format!("  {release} {stem}: JSON equal but YAML differs"));
                    continue;
                }
                passed += 1;
            } else {
                let diff = first_difference(&rendered.json, &expected, "").unwrap_or_default();
                report.push(format!("  {release} {stem}: {diff}"));
            }
        }
        println!("{release}: {total} types, {covered} covered by the schemas, {passed} render exactly as the API server shows them (JSON and YAML)");
        for u in &uncovered {
            println!("  not covered: {u}");
        }
        if release == "HEAD" {
            (head_total, head_covered) = (total, covered);
        }
        all_covered += covered;
        all_passed += passed;
    }
    println!("{} mismatches:\n{}", report.len(), report.join("\n"));
    // The bar: every covered fixture renders exactly, and the schemas cover at least 95% of the
    // newest release's types.
    assert_eq!(all_passed, all_covered, "{all_passed} of {all_covered} covered fixtures render exactly");
    assert!(head_total > 150, "HEAD has {head_total} fixture types: the fixtures look incomplete");
    assert!(head_covered * 100 >= head_total * 95, "HEAD: only {head_covered} of {head_total} types covered");
}

/// `decode` takes what `etcdctl get KEY --print-value-only` prints: the stored value followed by
/// the newline etcdctl adds. Every fixture decodes the same with and without it, from stdin.
#[test]
fn decode_takes_etcdctl_print_value_only_output() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let decode = |bytes: &[u8]| {
        let mut child = Command::new(common::bin()).args(["decode", "-"]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(bytes).unwrap();
        let out = child.wait_with_output().unwrap();
        (out.status.code(), out.stdout)
    };
    let mut checked = 0;
    for entry in std::fs::read_dir(fixtures().join("v1.35.0")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "pb") || checked >= 40 {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let plain = decode(&bytes);
        if plain.0 != Some(0) {
            continue; // types the embedded schemas do not hold are another test's business
        }
        let mut with_newline = bytes.clone();
        with_newline.push(b'\n');
        assert_eq!(decode(&with_newline), plain, "{}: etcdctl's trailing newline changes the decode", path.display());
        checked += 1;
    }
    assert!(checked >= 20, "{checked} fixtures decoded");
}

/// The facts `diff` and `export` read off the wire (uid, generation, timestamps, labels,
/// annotations, owner references, spec.nodeName, status.phase) are what the API server's own
/// JSON of each fixture says.
#[test]
fn facts_read_off_the_wire_are_what_the_api_servers_json_says() {
    use etcdscope::k8s::facts::{from_value, stored_facts, Wants};
    use etcdscope::k8s::schema::Schemas;
    let schemas = Schemas::embedded().expect("embedded schemas load");
    let (mut checked, mut with_labels, mut with_owners, mut mismatches) = (0, 0, 0, Vec::new());
    for release in ["v1.33.0", "v1.34.0", "v1.35.0", "HEAD"] {
        let dir = fixtures().join(release);
        for entry in std::fs::read_dir(&dir).unwrap() {
            let pb = entry.unwrap().path();
            let stem = pb.file_stem().unwrap().to_string_lossy().to_string();
            if pb.extension().is_none_or(|e| e != "pb") || stem.ends_with(".after_roundtrip") {
                continue;
            }
            let bytes = std::fs::read(&pb).unwrap();
            let Ok(Value::Protobuf(u)) = classify(&bytes) else { continue };
            if u.kind.is_empty() || schemas.plan_for_type(&u.api_version, &u.kind).is_none() {
                continue;
            }
            let json: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join(format!("{stem}.json"))).unwrap()).unwrap();
            if json.pointer("/metadata").is_none_or(|m| !m.is_object()) {
                continue;
            }
            let wire = stored_facts(&schemas, &bytes, Wants::ALL).unwrap_or_else(|| panic!("{release} {stem}: no facts"));
            let expected = from_value(json, Wants::ALL);
            if wire != expected {
                mismatches.push(format!("{release} {stem}:\n  wire {wire:?}\n  json {expected:?}"));
            }
            checked += 1;
            with_labels += usize::from(!expected.labels.is_empty());
            with_owners += usize::from(!expected.owners.is_empty());
        }
    }
    println!("{checked} objects, {with_labels} with labels, {with_owners} with owner references");
    assert!(mismatches.is_empty(), "{} of {checked} differ:\n{}", mismatches.len(), mismatches.join("\n"));
    assert!(checked > 500 && with_labels > 400 && with_owners > 400, "{checked} {with_labels} {with_owners}: the fixtures look incomplete");
}
