//! What a Kubernetes API request asks, read from its method, path and query alone: a pure
//! function with no I/O, so every request `serve` answers is parsed (and fuzzed) the same way.
//! Paths follow the API server's grammar (`/api/v1/namespaces/NS/pods/NAME/log`, `/apis/G/V/…`,
//! the legacy `/api/v1/watch/…`), query options its rules (ListOptions: selectors, `limit`,
//! `continue`, `resourceVersion` and `resourceVersionMatch`, `watch`, bookmarks,
//! `sendInitialEvents`, `timeoutSeconds`). A request that cannot be parsed is a [`Status`] the
//! API server would give (400, 404, 405, 422), never a panic: lengths and counts are bounded
//! before anything is decoded.

use super::status::{Cause, Status};
use std::borrow::Cow;

/// Longest path read (the API server's own limit on a request line is of this order).
pub const MAX_PATH: usize = 8 << 10;
/// Longest query string read.
pub const MAX_QUERY: usize = 16 << 10;
/// Most path segments: `/apis/G/V/namespaces/NS/RESOURCE/NAME/SUB` has eight.
const MAX_SEGMENTS: usize = 9;

/// One parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `/version`.
    Version,
    /// `/healthz`, `/readyz`, `/livez` and their named checks (`/healthz/ping`).
    Health,
    Discovery(Discovery),
    /// `/openapi/v2`, `/openapi/v3` and `/openapi/v3/<group-version path>`.
    OpenApi(String),
    Resource(Box<ResourceRequest>),
}

/// The discovery documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Discovery {
    /// `/api`: the core group's versions (or, aggregated, its resources).
    Api,
    /// `/apis`: every other group (or, aggregated, their resources).
    Apis,
    /// `/api/v1` or `/apis/G/V`: one group version's resources.
    GroupVersion { group: String, version: String },
    /// `/apis/G`: one group's versions.
    Group(String),
}

/// What a request does to a resource (the API server's verbs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    List,
    Watch,
    Create,
    Update,
    Patch,
    Delete,
    DeleteCollection,
}

impl Verb {
    /// The verbs a read-only server answers.
    pub fn is_read(self) -> bool {
        matches!(self, Verb::Get | Verb::List | Verb::Watch)
    }

    pub fn name(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Watch => "watch",
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Patch => "patch",
            Verb::Delete => "delete",
            Verb::DeleteCollection => "deletecollection",
        }
    }
}

/// A request on a resource, a collection or one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRequest {
    pub verb: Verb,
    /// `""` for the core group.
    pub group: String,
    pub version: String,
    /// The plural resource name (`pods`).
    pub resource: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    /// `status`, `log`, `exec`, … after the name.
    pub subresource: Option<String>,
    pub options: ListOptions,
}

/// The query options the API server reads on get, list and watch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    /// 0: no limit.
    pub limit: u64,
    pub continue_token: Option<String>,
    /// The revision asked for (`resourceVersion`), parsed: `None` when absent or empty.
    pub resource_version: Option<u64>,
    pub resource_version_match: Option<VersionMatch>,
    pub allow_watch_bookmarks: bool,
    pub send_initial_events: Option<bool>,
    pub timeout_seconds: Option<u64>,
    /// A Table's `includeObject` (`None`, `Metadata`, `Object`), as given.
    pub include_object: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionMatch {
    Exact,
    NotOlderThan,
}

/// Reads one request. `query` is the raw query string (without `?`), `method` the HTTP method.
pub fn parse(method: &str, path: &str, query: &str) -> Result<Request, Status> {
    if path.len() > MAX_PATH {
        return Err(Status::bad_request(format!("the path is {} bytes long; at most {MAX_PATH} are read", path.len())));
    }
    if query.len() > MAX_QUERY {
        return Err(Status::bad_request(format!("the query is {} bytes long; at most {MAX_QUERY} are read", query.len())));
    }
    let segments = segments(path)?;
    let s: Vec<&str> = segments.iter().map(|c| c.as_ref()).collect();
    let read_only = |r: Request| match method {
        "GET" | "HEAD" => Ok(r),
        _ => Err(Status::method_not_supported(format!("the server does not allow this method on the requested resource ({method} {path})"))),
    };
    match s.as_slice() {
        ["version"] => read_only(Request::Version),
        ["healthz" | "readyz" | "livez", ..] => read_only(Request::Health),
        ["openapi", "v2" | "v3", ..] => read_only(Request::OpenApi(s[1..].join("/"))),
        ["api"] => read_only(Request::Discovery(Discovery::Api)),
        ["apis"] => read_only(Request::Discovery(Discovery::Apis)),
        ["api", version] => read_only(Request::Discovery(Discovery::GroupVersion { group: String::new(), version: version.to_string() })),
        ["apis", group] => read_only(Request::Discovery(Discovery::Group(group.to_string()))),
        ["apis", group, version] => read_only(Request::Discovery(Discovery::GroupVersion { group: group.to_string(), version: version.to_string() })),
        ["api", version, rest @ ..] => resource(method, "", version, rest, query),
        ["apis", group, version, rest @ ..] => resource(method, group, version, rest, query),
        _ => Err(Status::not_found("the server could not find the requested resource")),
    }
}

/// The path's segments, percent-decoded; empty segments (`//`, a trailing `/`) are dropped as
/// the API server's router drops them.
fn segments(path: &str) -> Result<Vec<Cow<'_, str>>, Status> {
    let path = path.strip_prefix('/').ok_or_else(|| Status::bad_request("the path does not start with /"))?;
    let mut out = Vec::new();
    for raw in path.split('/').filter(|s| !s.is_empty()) {
        if out.len() == MAX_SEGMENTS {
            return Err(Status::not_found("the server could not find the requested resource"));
        }
        let decoded = percent_encoding::percent_decode_str(raw).decode_utf8().map_err(|_| Status::bad_request("the path is not UTF-8 once percent-decoded"))?;
        out.push(decoded);
    }
    Ok(out)
}

/// `rest`: what follows `/api/V` or `/apis/G/V`.
fn resource(method: &str, group: &str, version: &str, rest: &[&str], query: &str) -> Result<Request, Status> {
    // The legacy watch prefix: `/api/v1/watch/namespaces/NS/pods`.
    let (legacy_watch, rest) = match rest {
        ["watch", tail @ ..] if !tail.is_empty() => (true, tail),
        _ => (false, rest),
    };
    let (namespace, resource, name, subresource) = match rest {
        // `namespaces/NS` alone is the Namespace object; `namespaces/NS/status` its subresource.
        ["namespaces", ns] => (None, "namespaces", Some(*ns), None),
        ["namespaces", ns, sub @ ("status" | "finalize")] => (None, "namespaces", Some(*ns), Some(*sub)),
        ["namespaces", ns, res] => (Some(*ns), *res, None, None),
        ["namespaces", ns, res, name] => (Some(*ns), *res, Some(*name), None),
        ["namespaces", ns, res, name, sub] => (Some(*ns), *res, Some(*name), Some(*sub)),
        [res] => (None, *res, None, None),
        [res, name] => (None, *res, Some(*name), None),
        [res, name, sub] => (None, *res, Some(*name), Some(*sub)),
        _ => return Err(Status::not_found("the server could not find the requested resource")),
    };
    for part in [namespace, Some(resource), name, subresource].into_iter().flatten() {
        if matches!(part, "." | "..") || part.contains(['/', '%']) {
            return Err(Status::bad_request(format!("invalid name in the path: {part:?}")));
        }
    }
    let options = list_options(query)?;
    let watch = legacy_watch || options.1;
    let verb = match (method, name.is_some(), watch) {
        ("GET" | "HEAD", _, true) => Verb::Watch,
        ("GET" | "HEAD", true, false) => Verb::Get,
        ("GET" | "HEAD", false, false) => Verb::List,
        ("POST", _, _) => Verb::Create,
        ("PUT", _, _) => Verb::Update,
        ("PATCH", _, _) => Verb::Patch,
        ("DELETE", true, _) => Verb::Delete,
        ("DELETE", false, _) => Verb::DeleteCollection,
        _ => return Err(Status::method_not_supported(format!("the server does not allow this method on the requested resource ({method})"))),
    };
    let options = options.0;
    validate(verb, &options)?;
    Ok(Request::Resource(Box::new(ResourceRequest {
        verb,
        group: group.to_string(),
        version: version.to_string(),
        resource: resource.to_string(),
        namespace: namespace.map(str::to_string),
        name: name.map(str::to_string),
        subresource: subresource.map(str::to_string),
        options,
    })))
}

/// The query's options, and whether it asks to watch. Unknown parameters are ignored, as the
/// API server ignores them; a repeated one takes its first value, as Go's `Query().Get` does.
fn list_options(query: &str) -> Result<(ListOptions, bool), Status> {
    let mut o = ListOptions::default();
    let mut seen: Vec<Cow<'_, str>> = Vec::new();
    let mut watch = false;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (form_decode(k)?, form_decode(v)?);
        if seen.contains(&k) {
            continue;
        }
        match k.as_ref() {
            "labelSelector" => o.label_selector = Some(v.into_owned()),
            "fieldSelector" => o.field_selector = Some(v.into_owned()),
            "limit" => o.limit = number("limit", &v)?.unwrap_or(0),
            "continue" => o.continue_token = (!v.is_empty()).then(|| v.into_owned()),
            "resourceVersion" => o.resource_version = resource_version(&v)?,
            "resourceVersionMatch" => {
                o.resource_version_match = match v.as_ref() {
                    "" => None,
                    "Exact" => Some(VersionMatch::Exact),
                    "NotOlderThan" => Some(VersionMatch::NotOlderThan),
                    other => {
                        return Err(Status::invalid_list_options(vec![Cause {
                            reason: "FieldValueNotSupported",
                            message: format!("resourceVersionMatch: Unsupported value: {other:?}: supported values: \"Exact\", \"NotOlderThan\", \"\""),
                            field: "resourceVersionMatch".into(),
                        }]))
                    }
                }
            }
            "watch" => watch = boolean("watch", &v)?,
            "allowWatchBookmarks" => o.allow_watch_bookmarks = boolean("allowWatchBookmarks", &v)?,
            "sendInitialEvents" => o.send_initial_events = if v.is_empty() { None } else { Some(boolean("sendInitialEvents", &v)?) },
            "timeoutSeconds" => o.timeout_seconds = number("timeoutSeconds", &v)?,
            "includeObject" => o.include_object = Some(v.into_owned()),
            _ => {}
        }
        seen.push(k);
    }
    Ok((o, watch))
}

/// A query component: `+` is a space, then percent-decoding, as URL query values are read.
fn form_decode(s: &str) -> Result<Cow<'_, str>, Status> {
    let plus = if s.contains('+') { Cow::Owned(s.replace('+', " ")) } else { Cow::Borrowed(s) };
    let decoded = match percent_encoding::percent_decode_str(&plus).decode_utf8() {
        Ok(d) => d.into_owned(),
        Err(_) => return Err(Status::bad_request("a query parameter is not UTF-8 once percent-decoded")),
    };
    Ok(if decoded == s { Cow::Borrowed(s) } else { Cow::Owned(decoded) })
}

fn number(name: &str, v: &str) -> Result<Option<u64>, Status> {
    if v.is_empty() {
        return Ok(None);
    }
    v.parse::<u64>().map(Some).map_err(|_| Status::bad_request(format!("{name}: {v:?} is not a non-negative integer")))
}

/// Go's `strconv.ParseBool`, which the API server's query conversion uses.
fn boolean(name: &str, v: &str) -> Result<bool, Status> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "" | "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(Status::bad_request(format!("{name}: {v:?} is not a boolean"))),
    }
}

/// A resource version is an etcd revision: a decimal uint64 (`""` and absent mean "none").
fn resource_version(v: &str) -> Result<Option<u64>, Status> {
    if v.is_empty() {
        return Ok(None);
    }
    v.parse::<u64>().map(Some).map_err(|_| Status::bad_request(format!("invalid resource version {v:?}: not a revision (a decimal number)")))
}

/// The API server's cross-field checks on list and watch options (422 Invalid).
fn validate(verb: Verb, o: &ListOptions) -> Result<(), Status> {
    let mut causes = Vec::new();
    let mut forbid =
        |field: &str, why: String| causes.push(Cause { reason: "FieldValueForbidden", message: format!("{field}: Forbidden: {why}"), field: field.into() });
    // A watch that asks for the initial events names the revision it wants them as of
    // (NotOlderThan), and "" means the newest: the one place resourceVersion may be left out.
    let initial_events = verb == Verb::Watch && o.send_initial_events == Some(true);
    if let Some(m) = o.resource_version_match {
        if o.resource_version.is_none() && !initial_events {
            forbid("resourceVersionMatch", "resourceVersionMatch is forbidden unless resourceVersion is provided".into());
        }
        if o.continue_token.is_some() {
            forbid("resourceVersionMatch", "resourceVersionMatch is forbidden when continue is provided".into());
        }
        if m == VersionMatch::Exact && o.resource_version == Some(0) {
            forbid("resourceVersionMatch", "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"".into());
        }
        if verb == Verb::Watch && m == VersionMatch::Exact {
            forbid("resourceVersionMatch", "resourceVersionMatch \"Exact\" is forbidden for watch".into());
        }
    }
    match (o.send_initial_events, verb) {
        (Some(_), Verb::Watch) => {
            if o.resource_version_match != Some(VersionMatch::NotOlderThan) {
                forbid("sendInitialEvents", "sendInitialEvents is forbidden for watch unless resourceVersionMatch is set to NotOlderThan".into());
            }
            if !o.allow_watch_bookmarks {
                forbid("allowWatchBookmarks", "sendInitialEvents requires setting allowWatchBookmarks to true".into());
            }
        }
        (Some(_), _) => forbid("sendInitialEvents", "sendInitialEvents is forbidden for list".into()),
        (None, _) => {}
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(Status::invalid_list_options(causes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str) -> Result<Request, Status> {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        parse("GET", path, query)
    }

    fn res(path: &str) -> ResourceRequest {
        match get(path) {
            Ok(Request::Resource(r)) => *r,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn discovery_and_server_paths() {
        assert_eq!(get("/version"), Ok(Request::Version));
        assert_eq!(get("/healthz/ping"), Ok(Request::Health));
        assert_eq!(get("/readyz?verbose"), Ok(Request::Health));
        assert_eq!(get("/api"), Ok(Request::Discovery(Discovery::Api)));
        assert_eq!(get("/apis/"), Ok(Request::Discovery(Discovery::Apis)));
        assert_eq!(get("/api/v1"), Ok(Request::Discovery(Discovery::GroupVersion { group: "".into(), version: "v1".into() })));
        assert_eq!(get("/apis/apps"), Ok(Request::Discovery(Discovery::Group("apps".into()))));
        assert_eq!(get("/apis/apps/v1"), Ok(Request::Discovery(Discovery::GroupVersion { group: "apps".into(), version: "v1".into() })));
        assert_eq!(get("/openapi/v3/apis/apps/v1"), Ok(Request::OpenApi("v3/apis/apps/v1".into())));
        assert_eq!(get("/metrics").unwrap_err().code, 404);
        assert_eq!(parse("POST", "/version", "").unwrap_err().code, 405);
    }

    #[test]
    fn resource_paths_as_the_api_server_reads_them() {
        let r = res("/api/v1/namespaces/default/pods/web");
        assert_eq!(
            (r.verb, r.group.as_str(), r.resource.as_str(), r.namespace.as_deref(), r.name.as_deref()),
            (Verb::Get, "", "pods", Some("default"), Some("web"))
        );
        let r = res("/api/v1/pods?limit=500");
        assert_eq!((r.verb, r.namespace, r.options.limit), (Verb::List, None, 500));
        let r = res("/apis/apps/v1/namespaces/team-a/deployments");
        assert_eq!((r.verb, r.group.as_str(), r.version.as_str(), r.resource.as_str()), (Verb::List, "apps", "v1", "deployments"));
        // The Namespace object and its subresources.
        let r = res("/api/v1/namespaces/kube-system");
        assert_eq!((r.resource.as_str(), r.namespace, r.name.as_deref()), ("namespaces", None, Some("kube-system")));
        let r = res("/api/v1/namespaces/kube-system/status");
        assert_eq!((r.resource.as_str(), r.name.as_deref(), r.subresource.as_deref()), ("namespaces", Some("kube-system"), Some("status")));
        let r = res("/api/v1/namespaces/default/pods/web/log");
        assert_eq!(r.subresource.as_deref(), Some("log"));
        let r = res("/api/v1/nodes/n1");
        assert_eq!((r.resource.as_str(), r.name.as_deref()), ("nodes", Some("n1")));
        // Watches: the query flag and the legacy prefix.
        assert_eq!(res("/api/v1/namespaces/default/pods?watch=true&resourceVersion=7").verb, Verb::Watch);
        assert_eq!(res("/api/v1/namespaces/default/pods?watch=1").verb, Verb::Watch);
        let r = res("/api/v1/watch/namespaces/default/pods");
        assert_eq!((r.verb, r.resource.as_str()), (Verb::Watch, "pods"));
        // Percent-encoded names are decoded once.
        assert_eq!(res("/api/v1/namespaces/default/configmaps/a%3Ab").name.as_deref(), Some("a:b"));
        assert_eq!(get("/api/v1/namespaces/default/configmaps/a%252Fb").unwrap_err().code, 400);
        assert_eq!(get("/api/v1/namespaces/default/pods/web/log/extra").unwrap_err().code, 404);
    }

    #[test]
    fn writes_are_verbs_a_read_only_server_refuses() {
        for (method, path, verb) in [
            ("POST", "/api/v1/namespaces/default/pods", Verb::Create),
            ("PUT", "/api/v1/namespaces/default/pods/web", Verb::Update),
            ("PATCH", "/api/v1/namespaces/default/pods/web", Verb::Patch),
            ("DELETE", "/api/v1/namespaces/default/pods/web", Verb::Delete),
            ("DELETE", "/api/v1/namespaces/default/pods", Verb::DeleteCollection),
            ("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", Verb::Create),
        ] {
            let Ok(Request::Resource(r)) = parse(method, path, "") else { panic!("{method} {path}") };
            assert_eq!(r.verb, verb);
            assert!(!r.verb.is_read());
        }
        assert_eq!(parse("TRACE", "/api/v1/pods", "").unwrap_err().code, 405);
    }

    #[test]
    fn list_options_are_read_as_the_api_server_reads_them() {
        let r = res("/api/v1/pods?labelSelector=app%3Dweb%2Ctier+in+(a%2Cb)&fieldSelector=spec.nodeName%3Dn1&limit=2&resourceVersion=42&resourceVersionMatch=NotOlderThan&timeoutSeconds=30&allowWatchBookmarks=true&unknown=x&limit=9");
        let o = r.options;
        assert_eq!(o.label_selector.as_deref(), Some("app=web,tier in (a,b)"));
        assert_eq!(o.field_selector.as_deref(), Some("spec.nodeName=n1"));
        assert_eq!((o.limit, o.resource_version, o.timeout_seconds), (2, Some(42), Some(30)));
        assert_eq!(res("/api/v1/pods?limit=2&continue=abc").options.continue_token.as_deref(), Some("abc"));
        assert_eq!((o.resource_version_match, o.allow_watch_bookmarks), (Some(VersionMatch::NotOlderThan), true));
        assert_eq!(res("/api/v1/pods?resourceVersion=").options.resource_version, None);
        for bad in ["limit=-1", "limit=x", "resourceVersion=abc", "watch=yes", "timeoutSeconds=1.5", "labelSelector=%ff"] {
            assert_eq!(get(&format!("/api/v1/pods?{bad}")).unwrap_err().code, 400, "{bad}");
        }
    }

    #[test]
    fn contradicting_options_are_invalid() {
        for (query, says) in [
            ("resourceVersionMatch=Exact", "forbidden unless resourceVersion is provided"),
            ("resourceVersion=5&resourceVersionMatch=Exact&continue=t", "forbidden when continue is provided"),
            ("resourceVersion=0&resourceVersionMatch=Exact", "\"exact\" is forbidden for resourceVersion \"0\""),
            ("resourceVersion=5&resourceVersionMatch=exact", "Unsupported value: \"exact\""),
            ("sendInitialEvents=true", "sendInitialEvents is forbidden for list"),
        ] {
            let s = get(&format!("/api/v1/pods?{query}")).unwrap_err();
            assert_eq!((s.code, s.reason), (422, "Invalid"), "{query}");
            assert!(s.message.contains(says), "{query}: {}", s.message);
        }
        // A watch asking for its initial events: NotOlderThan and bookmarks, any revision or none.
        let streaming = "/api/v1/pods?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan";
        assert_eq!(res(streaming).options.send_initial_events, Some(true));
        assert_eq!(res(&format!("{streaming}&resourceVersion=")).verb, Verb::Watch);
        assert_eq!(res(&format!("{streaming}&resourceVersion=12")).options.resource_version, Some(12));
        for bad in [
            "watch=true&sendInitialEvents=true&allowWatchBookmarks=true",
            "watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan",
            "watch=true&resourceVersion=3&resourceVersionMatch=Exact",
        ] {
            assert_eq!(get(&format!("/api/v1/pods?{bad}")).unwrap_err().code, 422, "{bad}");
        }
    }

    #[test]
    fn lengths_are_bounded_before_anything_is_decoded() {
        let long = format!("/api/v1/namespaces/{}/pods", "a".repeat(MAX_PATH));
        assert_eq!(get(&long).unwrap_err().code, 400);
        assert_eq!(parse("GET", "/api/v1/pods", &"a=b&".repeat(MAX_QUERY)).unwrap_err().code, 400);
        assert_eq!(get(&"/x".repeat(64)).unwrap_err().code, 404);
        assert_eq!(parse("GET", "api/v1/pods", "").unwrap_err().code, 400);
    }
}
