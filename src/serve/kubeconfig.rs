//! The kubeconfig that points kubectl (and every client-go or Python client) at the served
//! contexts: one cluster, context and user per served input, the URL carrying the context's
//! path prefix so each input gets its own discovery cache. Context names come from the input
//! file names, made unique and kept clear of the API's own top-level paths.

use serde::Serialize;
use std::path::Path;

/// Names a context must not take: they are the API's own first path segments.
const RESERVED: &[&str] = &["api", "apis", "version", "healthz", "readyz", "livez", "openapi", "metrics", "ui", "static", "diff", "login"];

/// A context name for each input path, unique and URL-safe: `snapshot.db` → `snapshot`, a
/// member dir `…/node1/member` → `node1`, repeated names get `-2`, `-3`.
pub fn context_names(paths: &[&Path]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for p in paths {
        let base = base_name(p);
        let mut name = base.clone();
        let mut n = 2;
        while names.contains(&name) || RESERVED.contains(&name.as_str()) {
            name = format!("{base}-{n}");
            n += 1;
        }
        names.push(name);
    }
    names
}

fn base_name(p: &Path) -> String {
    let generic = |s: &str| matches!(s, "member" | "snap" | "db" | "data" | "" | "." | "..");
    let mut stem = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let mut up = p.parent();
    // `data/member/snap/db`, `node1/member`: climb past the parts every member has.
    while generic(&stem) {
        match up {
            Some(parent) if parent.file_name().is_some() => {
                stem = parent.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                up = parent.parent();
            }
            _ => break,
        }
    }
    let cleaned: String =
        stem.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_' { c.to_ascii_lowercase() } else { '-' }).collect();
    let cleaned = cleaned.trim_matches(|c| c == '-' || c == '.').to_string();
    if cleaned.is_empty() {
        "snapshot".into()
    } else {
        cleaned
    }
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Config<'a> {
    api_version: &'static str,
    kind: &'static str,
    clusters: Vec<Named<Cluster>>,
    users: Vec<Named<User<'a>>>,
    contexts: Vec<Named<ContextRef<'a>>>,
    current_context: &'a str,
}

#[derive(Serialize)]
struct Named<T> {
    name: String,
    #[serde(flatten)]
    inner: T,
}

#[derive(Serialize)]
struct Cluster {
    cluster: ClusterSpec,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct ClusterSpec {
    server: String,
    /// The CA's PEM, base64 (a generated certificate's).
    #[serde(skip_serializing_if = "Option::is_none")]
    certificate_authority_data: Option<String>,
}

#[derive(Serialize)]
struct User<'a> {
    user: UserSpec<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct UserSpec<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<&'a str>,
}

#[derive(Serialize)]
struct ContextRef<'a> {
    context: ContextSpec<'a>,
}

#[derive(Serialize)]
struct ContextSpec<'a> {
    cluster: &'a str,
    user: &'a str,
}

/// The kubeconfig YAML: `base_url` is `http://127.0.0.1:PORT` (or https), each context served
/// under `/<name>`; `token` is the bearer token clients must send, if any; `ca_pem` the
/// certificate clients should trust for https (the one generated for this process).
pub fn render(base_url: &str, names: &[String], token: Option<&str>, ca_pem: Option<&str>) -> String {
    use base64::Engine;
    let ca = ca_pem.map(|pem| base64::engine::general_purpose::STANDARD.encode(pem));
    let user = "etcdscope";
    let config = Config {
        api_version: "v1",
        kind: "Config",
        clusters: names
            .iter()
            .map(|n| Named {
                name: n.clone(),
                inner: Cluster { cluster: ClusterSpec { server: format!("{base_url}/{n}"), certificate_authority_data: ca.clone() } },
            })
            .collect(),
        users: vec![Named { name: user.into(), inner: User { user: UserSpec { token } } }],
        contexts: names.iter().map(|n| Named { name: n.clone(), inner: ContextRef { context: ContextSpec { cluster: n, user } } }).collect(),
        current_context: names.first().map(String::as_str).unwrap_or(""),
    };
    serde_yaml_ng::to_string(&config).expect("a kubeconfig serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_files_unique_and_clear_of_api_paths() {
        let paths = [Path::new("/b/prod.db"), Path::new("/c/prod.db"), Path::new("/d/node1/member"), Path::new("/e/x/member/snap/db"), Path::new("api")];
        assert_eq!(context_names(&paths), ["prod", "prod-2", "node1", "x", "api-2"]);
        // The web UI's own first segments too: an input named diff.db must not hide /ui/diff/.
        let ui = [Path::new("ui.db"), Path::new("static.db"), Path::new("diff.db"), Path::new("login.db")];
        assert_eq!(context_names(&ui), ["ui-2", "static-2", "diff-2", "login-2"]);
    }

    #[test]
    fn kubeconfig_points_each_context_at_its_path() {
        let y = render("http://127.0.0.1:8080", &["a".into(), "b".into()], Some("t"), None);
        let v: serde_json::Value = serde_yaml_ng::from_str(&y).unwrap();
        assert_eq!(v["clusters"][1]["cluster"]["server"], "http://127.0.0.1:8080/b");
        assert_eq!(v["current-context"], "a");
        assert_eq!(v["users"][0]["user"]["token"], "t");
        assert_eq!(v["contexts"][0]["context"]["cluster"], "a");
    }
}
