//! Kubernetes' own API round-trip fixtures (../shared/k8s-fixtures, Apache-2.0, not copied into
//! this repository): the `.pb` files are the bytes kube-apiserver writes to etcd.

mod common;

use etcdscope::k8s::envelope::{classify, Value};
use std::path::PathBuf;

fn fixtures() -> PathBuf {
    let dir = common::repo().join("../shared/k8s-fixtures");
    assert!(dir.is_dir(), "{} is missing: the fixtures live beside the repository", dir.display());
    dir
}

/// `<group>.<version>.<Kind>` from a fixture file name (core types are `core.v1.Pod` or `v1.Pod`).
fn api_version_and_kind(stem: &str) -> (String, String) {
    let (rest, kind) = stem.rsplit_once('.').unwrap();
    let (group, version) = rest.rsplit_once('.').map(|(g, v)| (g, v)).unwrap_or(("", rest));
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
