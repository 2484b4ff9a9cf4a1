//! kubectl's selectors: label selectors (`a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x,y)`,
//! `a`, `!a`, comma-separated, all must hold) and field selectors (`=`, `==`, `!=`,
//! comma-separated) with the API server's grammar, its per-resource fields
//! ([`crate::k8s::selectable`]) and its error messages, so `get` and `serve` accept and refuse
//! exactly what kube-apiserver would.

use super::resources::ResourceInfo;
use super::selectable::{self, Reading};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed label selector.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

impl LabelSelector {
    /// Parses kubectl's `-l` syntax: requirements separated by commas, each `key`, `!key`,
    /// `key=value`, `key==value`, `key!=value`, `key in (a,b)` or `key notin (a,b)`. An error
    /// says at which byte the text stops making sense.
    pub fn parse(text: &str) -> Result<LabelSelector, String> {
        if text.trim().is_empty() {
            return Ok(LabelSelector::default());
        }
        match grammar::selector(text) {
            Ok((rest, requirements)) if rest.trim().is_empty() => Ok(LabelSelector { requirements }),
            Ok((rest, _)) => match rest.trim_start().strip_prefix(',') {
                Some(after) => {
                    Err(grammar::error_at("label selector", text, after, "a requirement: key, !key, key=value, key!=value, key in (…), key notin (…)"))
                }
                None => Err(grammar::error_at("label selector", text, rest, "a comma and another requirement")),
            },
            Err(nom::Err::Failure(e)) => {
                Err(grammar::error_at("label selector", text, e.input, "the set of an in/notin requirement: values separated by commas, then ')'"))
            }
            Err(nom::Err::Error(e)) => {
                Err(grammar::error_at("label selector", text, e.input, "a requirement: key, !key, key=value, key!=value, key in (…), key notin (…)"))
            }
            Err(nom::Err::Incomplete(_)) => Err(format!("invalid label selector {text:?}: it ends too soon")),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    pub fn matches(&self, object: &Value) -> bool {
        let labels = object.pointer("/metadata/labels").and_then(Value::as_object);
        self.matches_with(|k| labels.and_then(|l| l.get(k)).and_then(Value::as_str))
    }

    /// Whether labels read by `get` (a label's value, `None` when the object lacks it) meet
    /// every requirement: for callers that read labels without decoding the whole object
    /// (`k8s::facts`).
    pub fn matches_with<'v>(&self, get: impl Fn(&str) -> Option<&'v str>) -> bool {
        self.requirements.iter().all(|r| match r {
            Requirement::Equals(k, v) => get(k) == Some(v.as_str()),
            Requirement::NotEquals(k, v) => get(k) != Some(v.as_str()),
            Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::NotIn(k, vs) => get(k).map_or(true, |x| !vs.iter().any(|v| v == x)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::NotExists(k) => get(k).is_none(),
        })
    }
}

/// The selector grammars, as nom combinators.
mod grammar {
    use super::Requirement;
    use nom::branch::alt;
    use nom::bytes::complete::{tag, take_while, take_while1};
    use nom::character::complete::{char, multispace0, multispace1};
    use nom::combinator::{cut, map, opt};
    use nom::multi::separated_list1;
    use nom::sequence::{delimited, preceded, terminated, tuple};
    use nom::IResult;

    fn ws<'a, O>(inner: impl FnMut(&'a str) -> IResult<&'a str, O>) -> impl FnMut(&'a str) -> IResult<&'a str, O> {
        delimited(multispace0, inner, multispace0)
    }

    /// A label key: an optional DNS prefix and `/`, then a name of letters, digits, `-`, `_`, `.`.
    fn key(i: &str) -> IResult<&str, String> {
        map(take_while1(|c: char| c.is_ascii_alphanumeric() || "-_./".contains(c)), str::to_string)(i)
    }

    /// A label value (may be empty).
    fn value(i: &str) -> IResult<&str, String> {
        map(take_while(|c: char| c.is_ascii_alphanumeric() || "-_.".contains(c)), str::to_string)(i)
    }

    fn set(i: &str) -> IResult<&str, Vec<String>> {
        delimited(ws(char('(')), separated_list1(ws(char(',')), value), ws(char(')')))(i)
    }

    fn requirement(i: &str) -> IResult<&str, Requirement> {
        alt((
            map(preceded(ws(char('!')), key), Requirement::NotExists),
            // Once `in`/`notin` is read, the set must follow: an error there is where it is.
            map(tuple((key, delimited(multispace1, tag("notin"), multispace0), cut(set))), |(k, _, v)| Requirement::NotIn(k, v)),
            map(tuple((key, delimited(multispace1, tag("in"), multispace0), cut(set))), |(k, _, v)| Requirement::In(k, v)),
            map(tuple((key, ws(tag("!=")), value)), |(k, _, v)| Requirement::NotEquals(k, v)),
            map(tuple((key, ws(alt((tag("=="), tag("=")))), value)), |(k, _, v)| Requirement::Equals(k, v)),
            map(key, Requirement::Exists),
        ))(i)
    }

    pub fn selector(i: &str) -> IResult<&str, Vec<Requirement>> {
        terminated(separated_list1(ws(char(',')), ws(requirement)), opt(ws(char(','))))(i)
    }

    /// "invalid WHAT at byte N (…): expected EXPECTED".
    pub fn error_at(what: &str, text: &str, rest: &str, expected: &str) -> String {
        let at = text.len().saturating_sub(rest.len());
        let near: String = rest.chars().take(20).collect();
        format!("invalid {what} {text:?} at byte {at} (at {near:?}): expected {expected}")
    }
}

/// Why the API server refuses a field selector: its own message, which it answers with a
/// 400 `metav1.Status` of reason `BadRequest` (the list handler, `ListResource` in apiserver's
/// `pkg/endpoints/handlers/get.go`, wraps both a selector it cannot parse and a label the
/// resource does not register in `errors.NewBadRequest(err.Error())`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FieldSelectorError {
    /// The Status's `message`, verbatim.
    pub message: String,
}

impl FieldSelectorError {
    /// The Status's `reason`.
    pub const REASON: &'static str = "BadRequest";
    /// The Status's `code` (and the HTTP status).
    pub const CODE: u16 = 400;

    fn new(message: String) -> FieldSelectorError {
        FieldSelectorError { message }
    }
}

/// One `label=value`, `label==value` or `label!=value` of a field selector.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FieldTerm {
    label: String,
    value: String,
    negated: bool,
}

/// A field selector as written, parsed with the API server's grammar but not yet checked
/// against a resource: [`FieldSelector::for_resource`] does that, as the server does per list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    /// In byte order of their text, the order the server reads (and refuses) them in.
    terms: Vec<FieldTerm>,
}

impl FieldSelector {
    /// Parses `--field-selector` / `?fieldSelector=` as apimachinery's `fields.ParseSelector`
    /// does: terms split at commas not escaped by `\`, each split at its first `!=`, `==` or
    /// `=` (nothing is trimmed: ` a=b` names the label " a"); in a value `\\`, `\,` and `\=`
    /// stand for the character, any other escape and a bare `=` are errors. Empty terms are
    /// skipped; an empty selector selects everything. Errors carry the server's messages.
    pub fn parse(text: &str) -> Result<FieldSelector, FieldSelectorError> {
        let mut parts = split_terms(text);
        parts.sort_unstable();
        let mut terms = Vec::with_capacity(parts.len());
        for part in parts.into_iter().filter(|p| !p.is_empty()) {
            let Some((label, operator, raw)) = split_term(part) else {
                return Err(FieldSelectorError::new(format!("invalid selector: '{text}'; can't understand '{part}'")));
            };
            terms.push(FieldTerm { label: label.to_string(), value: unescape_value(raw)?, negated: operator == "!=" });
        }
        Ok(FieldSelector { terms })
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The value a `label=value` (or `==`) term requires, the first in byte order, as the API
    /// server's `RequiresExactMatch` finds it: how a list by `metadata.name` (a single-object
    /// watch) or `metadata.namespace` narrows to one key or one namespace.
    pub fn exact(&self, label: &str) -> Option<&str> {
        self.terms.iter().find(|t| !t.negated && t.label == label).map(|t| t.value.as_str())
    }

    /// The selector for lists of `resource`: every label must be one the API server accepts
    /// for it (see [`crate::k8s::selectable`]); the first that is not, in byte order, is
    /// refused with the server's message for that kind.
    pub fn for_resource(&self, resource: &ResourceInfo) -> Result<ResourceFieldSelector, FieldSelectorError> {
        self.bind(|label| selectable::reading_for(resource, label))
    }

    /// The selector for a listing across every resource (`get --all-objects`): metadata.name
    /// and metadata.namespace only, the labels every kind without its own accepts.
    pub fn for_any_resource(&self) -> Result<ResourceFieldSelector, FieldSelectorError> {
        self.bind(selectable::metadata_reading)
    }

    fn bind(&self, reading: impl Fn(&str) -> Result<Reading, String>) -> Result<ResourceFieldSelector, FieldSelectorError> {
        let terms =
            self.terms.iter().map(|t| Ok((reading(&t.label).map_err(FieldSelectorError::new)?, t.value.clone(), t.negated))).collect::<Result<_, _>>()?;
        Ok(ResourceFieldSelector { terms })
    }
}

/// A field selector checked against one resource: how each term's field is read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceFieldSelector {
    terms: Vec<(Reading, String, bool)>,
}

impl ResourceFieldSelector {
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether `object` (its JSON as stored) has every term: values compare as exact text, a
    /// field the object lacks as the text its registry gives it (mostly "").
    pub fn matches(&self, object: &Value) -> bool {
        self.terms.iter().all(|(reading, value, negated)| (reading.read(object) == value.as_str()) != *negated)
    }
}

/// The terms of a field selector: split at every comma a backslash does not escape (the
/// backslash stays, for [`unescape_value`]).
fn split_terms(text: &str) -> Vec<&str> {
    if text.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let (mut start, mut escaped) = (0, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            ',' => {
                terms.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    terms.push(&text[start..]);
    terms
}

/// `(label, operator, raw value)` split at the first place an operator starts, `!=` and `==`
/// tried before `=`.
fn split_term(term: &str) -> Option<(&str, &'static str, &str)> {
    term.char_indices().find_map(|(i, _)| {
        let rest = &term[i..];
        ["!=", "==", "="].into_iter().find(|op| rest.starts_with(op)).map(|op| (&term[..i], op, &rest[op.len()..]))
    })
}

/// A value with its escapes resolved, or the server's error for a bad one.
fn unescape_value(raw: &str) -> Result<String, FieldSelectorError> {
    if !raw.contains(['\\', ',', '=']) {
        return Ok(raw.to_string());
    }
    let mut value = String::with_capacity(raw.len());
    let mut escaped = false;
    for c in raw.chars() {
        match c {
            '\\' | ',' | '=' if escaped => {
                value.push(c);
                escaped = false;
            }
            c if escaped => return Err(FieldSelectorError::new(format!("invalid field selector: invalid escape sequence: \\{c}"))),
            '\\' => escaped = true,
            // Go prints the rune as its number.
            ',' | '=' => return Err(FieldSelectorError::new(format!("invalid field selector: unescaped character in value: {}", c as u32))),
            c => value.push(c),
        }
    }
    if escaped {
        return Err(FieldSelectorError::new("invalid field selector: invalid escape sequence: \\".to_string()));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selectors() {
        let o = json!({"metadata": {"name": "web", "namespace": "prod", "labels": {"app": "web", "tier": "front"}}});
        let m = |s: &str| LabelSelector::parse(s).unwrap().matches(&o);
        assert!(m("app=web") && m("app==web") && m("app!=db") && m("tier") && m("!missing"));
        assert!(m("app in (web,db)") && m("tier notin (back)") && m("app=web,tier in (front)"));
        assert!(!m("app=db") && !m("!app") && !m("app notin (web)") && !m("missing in (x)"));
        assert!(LabelSelector::parse("app in web").is_err());
        assert!(m(" app = web , tier in ( front , back ) ") && m("app.kubernetes.io/part-of notin (x)"));
        let e = LabelSelector::parse("app=web,tier in (front").unwrap_err();
        assert!(e.contains("at byte 22"), "{e}");
        let e = LabelSelector::parse("app=web,%").unwrap_err();
        assert!(e.contains("at byte 8"), "{e}");
        assert!(LabelSelector::parse("").unwrap().matches(&o));
    }

    use crate::k8s::resources::built_in;

    fn info(group: &str, resource: &str) -> ResourceInfo {
        built_in().into_iter().find(|r| r.group == group && r.resource == resource).unwrap()
    }

    /// Whether `selector` selects `object` among `resource`'s (group, plural).
    fn selects(resource: (&str, &str), selector: &str, object: &Value) -> bool {
        FieldSelector::parse(selector).unwrap().for_resource(&info(resource.0, resource.1)).unwrap().matches(object)
    }

    fn refusal(resource: (&str, &str), selector: &str) -> String {
        FieldSelector::parse(selector).unwrap().for_resource(&info(resource.0, resource.1)).unwrap_err().message
    }

    fn parse_error(selector: &str) -> String {
        FieldSelector::parse(selector).unwrap_err().message
    }

    #[test]
    fn field_selector_grammar_is_the_api_servers() {
        let o = json!({"metadata": {"name": "web", "namespace": "prod"}});
        let m = |s: &str| selects(("", "configmaps"), s, &o);
        assert!(m("metadata.name=web") && m("metadata.namespace!=dev") && m("metadata.name==web,metadata.namespace=prod"));
        assert!(!m("metadata.name=db") && !m("metadata.name!=web") && !m("metadata.name==web,metadata.namespace=dev"));
        assert!(m("") && m(",") && m("metadata.name=web,") && FieldSelector::parse(",,").unwrap().is_empty());
        // Nothing is trimmed: a space is part of the label or the value.
        assert!(!m("metadata.name=web "));
        assert_eq!(
            refusal(("", "configmaps"), " metadata.name=web"),
            r#"" metadata.name" is not a known field selector: only "metadata.name", "metadata.namespace""#
        );
        // Escapes in values: \, \= \\ stand for the character.
        let odd = json!({"metadata": {"name": "a,b=c\\d"}});
        assert!(selects(("", "configmaps"), r"metadata.name=a\,b\=c\\d", &odd));
        // The first operator splits: `a!=b=c` is `a != "b=c"`, whose bare `=` is refused.
        assert_eq!(parse_error("metadata.name!=b=c"), "invalid field selector: unescaped character in value: 61");
        assert_eq!(parse_error(r"metadata.name=a\x"), r"invalid field selector: invalid escape sequence: \x");
        assert_eq!(parse_error(r"metadata.name=a\"), r"invalid field selector: invalid escape sequence: \");
        assert_eq!(parse_error("metadata.name"), "invalid selector: 'metadata.name'; can't understand 'metadata.name'");
        // Terms are read in byte order: the first bad one in that order is the one named.
        assert_eq!(parse_error("x,metadata.name=a,b"), "invalid selector: 'x,metadata.name=a,b'; can't understand 'b'");
        assert_eq!(refusal(("", "pods"), "zzz=1,spec.nodeName=n,aaa=2"), "field label not supported: aaa");
        let exact = FieldSelector::parse("metadata.namespace!=a,metadata.name==web,metadata.name=zz").unwrap();
        assert_eq!((exact.exact("metadata.name"), exact.exact("metadata.namespace")), (Some("web"), None));
        // Set-based requirements are a label selector's, not a field selector's.
        assert_eq!(parse_error("status.phase in (a)"), "invalid selector: 'status.phase in (a)'; can't understand 'status.phase in (a)'");
    }

    #[test]
    fn pod_fields() {
        let pod = json!({"metadata": {"name": "web", "namespace": "prod"},
            "spec": {"nodeName": "n1", "restartPolicy": "Always", "schedulerName": "default-scheduler", "serviceAccountName": "sa", "hostNetwork": true},
            "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.7"}, {"ip": "fd00::7"}], "nominatedNodeName": "n2"}});
        let bare = json!({"metadata": {"name": "bare", "namespace": "prod"}, "spec": {"serviceAccount": "old-sa"}});
        let m = |s: &str| selects(("", "pods"), s, &pod);
        let b = |s: &str| selects(("", "pods"), s, &bare);
        assert!(m("spec.nodeName=n1") && m("spec.host=n1") && m("spec.restartPolicy=Always") && m("spec.schedulerName=default-scheduler"));
        assert!(m("spec.serviceAccountName=sa") && b("spec.serviceAccountName=old-sa"));
        assert!(m("spec.hostNetwork=true") && !m("spec.hostNetwork=false") && b("spec.hostNetwork=false") && !b("spec.hostNetwork=true"));
        assert!(m("status.phase=Running") && m("status.phase!=Succeeded") && !m("status.phase!=Running"));
        assert!(m("status.podIP=10.0.0.7") && !m("status.podIP=fd00::7") && b("status.podIP="));
        let legacy = json!({"status": {"podIP": "10.1.1.1", "podIPs": [{"ip": "10.9.9.9"}]}});
        assert!(selects(("", "pods"), "status.podIP=10.1.1.1", &legacy));
        // Accepted, never rendered: empty on every pod.
        assert!(m("status.podIPs=") && !m("status.podIPs=10.0.0.7"));
        assert!(m("status.nominatedNodeName=n2") && b("status.nominatedNodeName="));
        // Missing fields are the empty text, so `!=` selects them.
        assert!(b("spec.nodeName=") && b("spec.nodeName!=n1") && b("status.phase!=Running") && !b("status.phase=Running"));
        // What `kubectl describe node n1` asks for.
        assert!(m("spec.nodeName=n1,status.phase!=Succeeded,status.phase!=Failed"));
        assert_eq!(refusal(("", "pods"), "spec.containers=x"), "field label not supported: spec.containers");
    }

    #[test]
    fn event_fields() {
        let event = json!({"metadata": {"name": "web.1", "namespace": "prod"},
            "involvedObject": {"kind": "Pod", "namespace": "prod", "name": "web", "uid": "u1", "apiVersion": "v1", "resourceVersion": "7", "fieldPath": "spec.containers{c}"},
            "reason": "Pulled", "reportingComponent": "kubelet", "source": {"component": "kubelet-src", "host": "n1"}, "type": "Normal"});
        let m = |s: &str| selects(("", "events"), s, &event);
        assert!(m("involvedObject.kind=Pod,involvedObject.namespace=prod,involvedObject.name=web,involvedObject.uid=u1"));
        assert!(m("involvedObject.apiVersion=v1,involvedObject.resourceVersion=7,involvedObject.fieldPath=spec.containers{c}"));
        assert!(m("reason=Pulled,reportingComponent=kubelet,type=Normal,metadata.name=web.1,metadata.namespace=prod"));
        assert!(m("source=kubelet-src") && !m("source=kubelet"));
        // No source component: the reporting controller stands in.
        let reported = json!({"reportingComponent": "ctrl", "involvedObject": {"kind": "Node"}});
        assert!(selects(("", "events"), "source=ctrl,involvedObject.namespace=", &reported));
        assert_eq!(refusal(("", "events"), "message=x"), "field label not supported: message");
        // events.k8s.io names the same fields its own way and refuses core/v1's names.
        let events_v1 = ResourceInfo { group: "events.k8s.io".into(), ..info("", "events") };
        let new = |s: &str| FieldSelector::parse(s).unwrap().for_resource(&events_v1);
        assert!(new("regarding.kind=Pod,regarding.name=web,reportingController=kubelet,source=kubelet-src").unwrap().matches(&event));
        assert_eq!(new("involvedObject.kind=Pod").unwrap_err().message, "field label not supported: involvedObject.kind");
    }

    #[test]
    fn other_kinds_fields() {
        let secret = json!({"metadata": {"name": "s", "namespace": "prod"}, "type": "kubernetes.io/tls"});
        assert!(selects(("", "secrets"), "type=kubernetes.io/tls", &secret) && !selects(("", "secrets"), "type=Opaque", &secret));
        let node = json!({"metadata": {"name": "n1"}, "spec": {"unschedulable": true}});
        assert!(selects(("", "nodes"), "spec.unschedulable=true,metadata.name=n1", &node));
        assert!(selects(("", "nodes"), "spec.unschedulable=false", &json!({"metadata": {"name": "n2"}})));
        assert_eq!(refusal(("", "nodes"), "metadata.namespace="), "field label not supported: metadata.namespace");
        assert!(selects(("", "namespaces"), "status.phase=Terminating", &json!({"status": {"phase": "Terminating"}})));
        assert_eq!(refusal(("", "namespaces"), "metadata.namespace=x"), "field label not supported: metadata.namespace");
        let rc = json!({"status": {"replicas": 3}});
        assert!(selects(("", "replicationcontrollers"), "status.replicas=3", &rc));
        assert!(selects(("", "replicationcontrollers"), "status.replicas=0", &json!({})));
        let svc = json!({"spec": {"clusterIP": "10.96.0.1", "type": "ClusterIP"}});
        assert!(selects(("", "services"), "spec.clusterIP=10.96.0.1,spec.type=ClusterIP", &svc));
        assert_eq!(refusal(("", "services"), "spec.ports=1"), "field label not supported: spec.ports");
        // Jobs: status.successful is status.succeeded in decimal; refusals in batch/v1's words.
        assert!(selects(("batch", "jobs"), "status.successful=2", &json!({"status": {"succeeded": 2}})));
        assert!(selects(("batch", "jobs"), "status.successful=0", &json!({"status": {}})));
        assert_eq!(refusal(("batch", "jobs"), "status.active=1"), r#"field label "status.active" not supported for Job"#);
        let csr = json!({"metadata": {"name": "c"}, "spec": {"signerName": "kubernetes.io/kubelet-serving"}});
        assert!(selects(("certificates.k8s.io", "certificatesigningrequests"), "spec.signerName=kubernetes.io/kubelet-serving", &csr));
        assert_eq!(refusal(("certificates.k8s.io", "certificatesigningrequests"), "metadata.namespace="), "field label not supported: metadata.namespace");
        assert!(selects(("resource.k8s.io", "resourceslices"), "spec.driver=gpu.example.com,spec.nodeName=", &json!({"spec": {"driver": "gpu.example.com"}})));
        assert_eq!(
            refusal(("resource.k8s.io", "resourceslices"), "spec.pool.name=p"),
            "field label not supported for resource.k8s.io/v1, Kind=ResourceSlice: spec.pool.name"
        );
        // apps/v1 registers no labels: ReplicaSets refuse the status.replicas their registry has.
        assert_eq!(
            refusal(("apps", "replicasets"), "status.replicas=0"),
            r#""status.replicas" is not a known field selector: only "metadata.name", "metadata.namespace""#
        );
        // Cluster-scoped kinds without their own labels accept metadata.namespace, which is "".
        assert!(selects(("", "persistentvolumes"), "metadata.namespace=", &json!({"metadata": {"name": "pv"}})));
        assert!(!selects(("", "persistentvolumes"), "metadata.namespace=x", &json!({"metadata": {"name": "pv"}})));
    }

    #[test]
    fn custom_resource_fields() {
        let crd = json!({"spec": {"group": "example.com", "scope": "Namespaced", "names": {"plural": "widgets", "kind": "Widget"},
            "versions": [{"name": "v1", "storage": true, "selectableFields": [{"jsonPath": ".spec.color"}, {"jsonPath": ".spec.size"}, {"jsonPath": ".spec.on"}]}]}});
        let widgets = crate::k8s::crd::resource_from_crd(&crd).unwrap();
        let w = json!({"metadata": {"name": "w", "namespace": "prod"}, "spec": {"color": "red", "size": 3, "on": false}});
        let m = |s: &str| FieldSelector::parse(s).unwrap().for_resource(&widgets).unwrap().matches(&w);
        assert!(m("spec.color=red,spec.size=3,spec.on=false,metadata.name=w,metadata.namespace=prod"));
        assert!(FieldSelector::parse("spec.color=red").unwrap().for_resource(&widgets).unwrap().matches(&w));
        assert!(!m("spec.color=blue"));
        let refused = FieldSelector::parse("spec.shape=x").unwrap().for_resource(&widgets).unwrap_err();
        assert_eq!(refused.message, "field label not supported: spec.shape");
        let cluster = crate::k8s::crd::resource_from_crd(&json!({"spec": {"group": "g", "scope": "Cluster", "names": {"plural": "cs", "kind": "C"}}})).unwrap();
        let refused = FieldSelector::parse("metadata.namespace=").unwrap().for_resource(&cluster).unwrap_err();
        assert_eq!(refused.message, "field label not supported: metadata.namespace");
    }

    #[test]
    fn any_resource_takes_metadata_only() {
        let any = |s: &str| FieldSelector::parse(s).unwrap().for_any_resource();
        assert!(any("metadata.name=a,metadata.namespace!=b").unwrap().matches(&json!({"metadata": {"name": "a"}})));
        assert_eq!(any("status.phase=x").unwrap_err().message, r#""status.phase" is not a known field selector: only "metadata.name", "metadata.namespace""#);
    }
}
