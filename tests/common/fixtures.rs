//! Where Kubernetes' API round-trip fixtures are: `ETCDSCOPE_K8S_FIXTURES` (scripts/test.sh sets
//! it after finding or fetching them and checking them against testdata/k8s-fixtures.sha256),
//! else `../shared/k8s-fixtures` beside the repository. Missing fixtures fail the test that needs
//! them: run `scripts/k8s-fixtures.sh` (or the whole suite through scripts/test.sh).

use std::path::PathBuf;

pub fn k8s_fixtures() -> PathBuf {
    let dir = match std::env::var_os("ETCDSCOPE_K8S_FIXTURES") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/k8s-fixtures"),
    };
    assert!(dir.join("HEAD").is_dir(), "{}: Kubernetes' fixtures are not there; run scripts/k8s-fixtures.sh and set ETCDSCOPE_K8S_FIXTURES to the directory it prints (scripts/test.sh does both)", dir.display());
    dir
}
