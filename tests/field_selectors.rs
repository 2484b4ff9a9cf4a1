//! `get --field-selector` over real snapshots (testdata/, written by real etcd): each selector
//! must return exactly the objects whose JSON, as `get -o json` prints them unfiltered, has
//! the value the API server's registry would render for that field. The expected sets are
//! computed here with serde_json from the unfiltered objects, never with our selector.

mod common;

use common::*;
use serde_json::Value;

fn db(name: &str) -> String {
    repo().join("testdata").join(name).to_string_lossy().into_owned()
}

/// Every object `get SRC TYPE -A -o json` prints.
fn all(src: &str, resource: &str) -> Vec<Value> {
    let (code, stdout, stderr) = out(&["get", src, resource, "-A", "-o", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let list: Value = serde_json::from_str(&stdout).unwrap();
    list["items"].as_array().unwrap().clone()
}

/// `namespace/name` of each object, sorted.
fn names<'a>(objects: impl IntoIterator<Item = &'a Value>) -> Vec<String> {
    let mut names: Vec<String> = objects
        .into_iter()
        .map(|o| format!("{}/{}", o.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or(""), o["metadata"]["name"].as_str().unwrap()))
        .collect();
    names.sort();
    names
}

/// The objects `get SRC TYPE -A --field-selector SELECTOR -o json` prints, by name.
fn selected(src: &str, resource: &str, selector: &str) -> Vec<String> {
    let (code, stdout, stderr) = out(&["get", src, resource, "-A", "--field-selector", selector, "-o", "json"]);
    assert_eq!(code, 0, "{selector}: {stderr}");
    let list: Value = serde_json::from_str(&stdout).unwrap();
    names(list["items"].as_array().unwrap())
}

/// The text at a JSON pointer, "" when absent (how the registries render a missing field).
fn text<'a>(o: &'a Value, pointer: &str) -> &'a str {
    o.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn expect(src: &str, resource: &str, selector: &str, keep: impl Fn(&Value) -> bool) -> usize {
    let objects = all(src, resource);
    let wanted = names(objects.iter().filter(|o| keep(o)));
    assert_eq!(selected(src, resource, selector), wanted, "{resource} --field-selector {selector}");
    wanted.len()
}

#[test]
fn pods_by_phase_and_node() {
    let src = db("diff-3.5.1/new.db");
    let running = expect(&src, "pods", "status.phase=Running", |p| text(p, "/status/phase") == "Running");
    let not_running = expect(&src, "pods", "status.phase!=Running", |p| text(p, "/status/phase") != "Running");
    assert!(running > 0 && not_running > 0, "the snapshot has pods on both sides");
    for node in ["node-1", "node-2", "node-3", "nowhere"] {
        expect(&src, "pods", &format!("spec.nodeName={node}"), |p| text(p, "/spec/nodeName") == node);
    }
    // What `kubectl describe node node-2` asks for: its pods that have not terminated.
    let on_node = expect(&src, "pods", "spec.nodeName=node-2,status.phase!=Succeeded,status.phase!=Failed", |p| {
        text(p, "/spec/nodeName") == "node-2" && !matches!(text(p, "/status/phase"), "Succeeded" | "Failed")
    });
    assert!(on_node > 0);
    // spec.hostNetwork is the boolean as text.
    expect(&src, "pods", "spec.hostNetwork=true", |p| p.pointer("/spec/hostNetwork").and_then(Value::as_bool) == Some(true));
    expect(&src, "pods", "spec.restartPolicy==restartPolicyValue,metadata.namespace=team-a", |p| {
        text(p, "/spec/restartPolicy") == "restartPolicyValue" && text(p, "/metadata/namespace") == "team-a"
    });
}

#[test]
fn missing_fields_are_the_empty_text() {
    // These pods have metadata only: no spec, no status.
    let src = db("etcd-3.5.1/snapshot.db");
    let pods = all(&src, "pods");
    assert!(!pods.is_empty() && pods.iter().all(|p| p.get("status").is_none()));
    let every = names(&pods);
    assert_eq!(selected(&src, "pods", "status.phase="), every);
    assert_eq!(selected(&src, "pods", "spec.nodeName!=node-1"), every);
    assert_eq!(selected(&src, "pods", "spec.hostNetwork=false"), every);
    assert_eq!(selected(&src, "pods", "status.phase=Running"), Vec::<String>::new());
}

#[test]
fn events_by_involved_object() {
    let src = db("diff-3.5.1/old.db");
    for kind in ["Pod", "Deployment", "Node"] {
        expect(&src, "events", &format!("involvedObject.kind={kind}"), |e| text(e, "/involvedObject/kind") == kind);
    }
    let events = all(&src, "events");
    assert!(events.len() >= 2);
    for e in &events {
        let (kind, name, uid) = (text(e, "/involvedObject/kind"), text(e, "/involvedObject/name"), text(e, "/involvedObject/uid"));
        let ns = text(e, "/involvedObject/namespace");
        // What `kubectl describe` asks for about one object.
        let selector = format!("involvedObject.kind={kind},involvedObject.name={name},involvedObject.namespace={ns},involvedObject.uid={uid}");
        expect(&src, "events", &selector, |o| {
            text(o, "/involvedObject/kind") == kind
                && text(o, "/involvedObject/name") == name
                && text(o, "/involvedObject/namespace") == ns
                && text(o, "/involvedObject/uid") == uid
        });
        let source = text(e, "/source/component");
        expect(&src, "events", &format!("source={source},reason={}", text(e, "/reason")), |o| {
            text(o, "/source/component") == source && text(o, "/reason") == text(e, "/reason")
        });
    }
}

#[test]
fn secrets_by_type_and_nodes_by_schedulability() {
    let src = db("diff-3.5.1/old.db");
    assert_eq!(expect(&src, "secrets", "type=Opaque", |s| text(s, "/type") == "Opaque"), 1);
    assert_eq!(expect(&src, "secrets", "type=kubernetes.io/tls", |s| text(s, "/type") == "kubernetes.io/tls"), 0);
    let flag = |n: &Value| n.pointer("/spec/unschedulable").and_then(Value::as_bool).unwrap_or(false);
    expect(&src, "nodes", "spec.unschedulable=true", |n| flag(n));
    expect(&src, "nodes", "spec.unschedulable=false", |n| !flag(n));
}

#[test]
fn a_type_that_refuses_the_selector_is_reported_and_the_others_listed() {
    let src = db("diff-3.5.1/old.db");
    let (code, stdout, stderr) = out(&["get", &src, "pods,events", "-A", "--field-selector", "involvedObject.kind=Pod", "-o", "name"]);
    assert_eq!(code, 1, "{stderr}");
    let wanted: Vec<String> =
        all(&src, "events").iter().filter(|e| text(e, "/involvedObject/kind") == "Pod").map(|e| format!("event/{}", text(e, "/metadata/name"))).collect();
    assert!(!wanted.is_empty());
    assert_eq!(stdout.lines().collect::<Vec<_>>(), wanted);
    assert_eq!(
        stderr.trim_end(),
        r#"Error from server (BadRequest): Unable to find "pods" that match label selector "", field selector "involvedObject.kind=Pod": field label not supported: involvedObject.kind"#
    );
    // apps/v1 registers no field labels: ReplicaSets refuse status.replicas.
    let (code, stdout, stderr) = out(&["get", &src, "rs", "-A", "-l", "app=web", "--field-selector", "status.replicas=1"]);
    assert_eq!((code, stdout.as_str()), (1, ""), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        r#"Error from server (BadRequest): Unable to find "replicasets.apps" that match label selector "app=web", field selector "status.replicas=1": "status.replicas" is not a known field selector: only "metadata.name", "metadata.namespace""#
    );
}

#[test]
fn a_malformed_selector_is_refused_per_type_with_the_api_servers_words() {
    // kubectl sends the text unparsed; the API server refuses it for each list.
    let src = db("diff-3.5.1/old.db");
    let (code, stdout, stderr) = out(&["get", &src, "pods,secrets", "-A", "--field-selector", "status.phase"]);
    assert_eq!((code, stdout.as_str()), (1, ""), "{stderr}");
    let refusal = |what: &str| {
        format!(
            r#"Error from server (BadRequest): Unable to find "{what}" that match label selector "", field selector "status.phase": invalid selector: 'status.phase'; can't understand 'status.phase'"#
        )
    };
    assert_eq!(stderr.lines().collect::<Vec<_>>(), [refusal("pods"), refusal("secrets")]);
    let (code, _, stderr) = out(&["get", &src, "pods", "-A", "--field-selector", "metadata.name=a=b"]);
    assert_eq!(code, 1);
    assert!(stderr.trim_end().ends_with(r#"field selector "metadata.name=a=b": invalid field selector: unescaped character in value: 61"#), "{stderr}");
}

#[test]
fn all_objects_take_metadata_fields() {
    let src = db("diff-3.5.1/old.db");
    let (code, stdout, stderr) = out(&["get", &src, "--all-objects", "--field-selector", "metadata.namespace=team-a,metadata.name=web", "-o", "name"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stdout.is_empty() && stdout.lines().all(|l| l.ends_with("/web")), "{stdout}");
    let (code, _, stderr) = out(&["get", &src, "--all-objects", "--field-selector", "status.phase=Running"]);
    assert_eq!(code, 2);
    assert!(stderr.contains(r#""status.phase" is not a known field selector"#), "{stderr}");
}

/// (fixture file, group, resource, [(field label, the value it must read)])
type FixtureCase = (&'static str, &'static str, &'static str, &'static [(&'static str, &'static str)]);

/// Kubernetes' own round-trip fixtures (scripts/k8s-fixtures.sh) fill every string field with
/// `<its JSON name>Value`: each field label must read the field its registry renders, so
/// `spec.nodeName` reads `nodeNameValue` from a real Pod, `source` an Event's `componentValue`.
#[test]
fn each_field_reads_its_own_field_of_kubernetes_fixtures() {
    let fixtures = k8s_fixtures().join("HEAD");
    let cases: &[FixtureCase] = &[
        (
            "core.v1.Pod",
            "",
            "pods",
            &[
                ("metadata.name", "nameValue"),
                ("metadata.namespace", "namespaceValue"),
                ("spec.nodeName", "nodeNameValue"),
                ("spec.host", "nodeNameValue"),
                ("spec.restartPolicy", "restartPolicyValue"),
                ("spec.schedulerName", "schedulerNameValue"),
                ("spec.serviceAccountName", "serviceAccountNameValue"),
                ("spec.hostNetwork", "true"),
                ("status.phase", "phaseValue"),
                // status.podIP is authoritative over status.podIPs when both are set and differ.
                ("status.podIP", "podIPValue"),
                ("status.podIPs", ""),
                ("status.nominatedNodeName", "nominatedNodeNameValue"),
            ],
        ),
        (
            "core.v1.Event",
            "",
            "events",
            &[
                ("involvedObject.kind", "kindValue"),
                ("involvedObject.namespace", "namespaceValue"),
                ("involvedObject.name", "nameValue"),
                ("involvedObject.uid", "uidValue"),
                ("involvedObject.apiVersion", "apiVersionValue"),
                ("involvedObject.resourceVersion", "resourceVersionValue"),
                ("involvedObject.fieldPath", "fieldPathValue"),
                ("reason", "reasonValue"),
                ("reportingComponent", "reportingComponentValue"),
                ("source", "componentValue"),
                ("type", "typeValue"),
            ],
        ),
        (
            "events.k8s.io.v1.Event",
            "events.k8s.io",
            "events",
            &[
                ("regarding.kind", "kindValue"),
                ("regarding.namespace", "namespaceValue"),
                ("regarding.name", "nameValue"),
                ("regarding.uid", "uidValue"),
                ("regarding.apiVersion", "apiVersionValue"),
                ("regarding.resourceVersion", "resourceVersionValue"),
                ("regarding.fieldPath", "fieldPathValue"),
                ("reason", "reasonValue"),
                ("reportingController", "reportingControllerValue"),
                ("source", "componentValue"),
                ("type", "typeValue"),
            ],
        ),
        ("core.v1.Secret", "", "secrets", &[("type", "typeValue"), ("metadata.namespace", "namespaceValue")]),
        ("core.v1.Namespace", "", "namespaces", &[("status.phase", "phaseValue"), ("metadata.name", "nameValue")]),
        ("core.v1.Node", "", "nodes", &[("spec.unschedulable", "true")]),
        ("core.v1.Service", "", "services", &[("spec.clusterIP", "clusterIPValue"), ("spec.type", "typeValue")]),
        ("certificates.k8s.io.v1.CertificateSigningRequest", "certificates.k8s.io", "certificatesigningrequests", &[("spec.signerName", "signerNameValue")]),
        ("certificates.k8s.io.v1.ClusterTrustBundle", "certificates.k8s.io", "clustertrustbundles", &[("spec.signerName", "signerNameValue")]),
        (
            "certificates.k8s.io.v1.PodCertificateRequest",
            "certificates.k8s.io",
            "podcertificaterequests",
            &[("spec.signerName", "signerNameValue"), ("spec.podName", "podNameValue"), ("spec.nodeName", "nodeNameValue")],
        ),
        ("resource.k8s.io.v1.ResourceSlice", "resource.k8s.io", "resourceslices", &[("spec.nodeName", "nodeNameValue"), ("spec.driver", "driverValue")]),
    ];
    let catalog = etcdscope::k8s::resources::built_in();
    for (file, group, resource, fields) in cases {
        let object: Value = serde_json::from_slice(&std::fs::read(fixtures.join(format!("{file}.json"))).unwrap()).unwrap();
        let core = catalog.iter().find(|r| r.resource == *resource && (r.group == *group || *group == "events.k8s.io")).unwrap();
        let info = etcdscope::k8s::resources::ResourceInfo { group: group.to_string(), ..core.clone() };
        for (label, value) in *fields {
            let select = |selector: &str| etcdscope::k8s::select::FieldSelector::parse(selector).and_then(|f| f.for_resource(&info)).unwrap().matches(&object);
            assert!(select(&format!("{label}={value}")), "{file}: {label}={value}");
            assert!(!select(&format!("{label}!={value}")), "{file}: {label}!={value}");
            assert!(!select(&format!("{label}={value}x")), "{file}: {label}={value}x");
        }
    }
    // Counts are the number in decimal.
    for (file, resource, group, label, pointer) in [
        ("core.v1.ReplicationController", "replicationcontrollers", "", "status.replicas", "/status/replicas"),
        ("batch.v1.Job", "jobs", "batch", "status.successful", "/status/succeeded"),
    ] {
        let object: Value = serde_json::from_slice(&std::fs::read(fixtures.join(format!("{file}.json"))).unwrap()).unwrap();
        let count = object.pointer(pointer).and_then(Value::as_i64).unwrap();
        let info = catalog.iter().find(|r| r.resource == resource && r.group == group).unwrap();
        let select = |selector: &str| etcdscope::k8s::select::FieldSelector::parse(selector).and_then(|f| f.for_resource(info)).unwrap().matches(&object);
        assert!(select(&format!("{label}={count}")) && !select(&format!("{label}={}", count + 1)), "{file}: {label}");
    }
}
