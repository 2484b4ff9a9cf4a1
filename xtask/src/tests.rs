//! Generates the schemas in memory, compiles them with protox, and checks a few fields by hand.

use protox::prost_reflect::{Cardinality, DescriptorPool, Kind};

fn pool() -> DescriptorPool {
    let sources = crate::gen::Sources::locate(&crate::repo_root().join("xtask/Cargo.toml")).unwrap();
    let overlay = crate::overlay::Overlay::load(&crate::repo_root().join(crate::overlay::PATH)).unwrap();
    let files = crate::gen::generate(&sources, &overlay).unwrap();
    crate::compile_in_memory(&files).unwrap()
}

fn check(pool: &DescriptorPool, msg: &str, num: u32, name: &str, json: &str, ty: &str) {
    let m = pool.get_message_by_name(msg).unwrap_or_else(|| panic!("no message {msg}"));
    let f = m.get_field(num).unwrap_or_else(|| panic!("{msg} has no field {num}"));
    assert_eq!(f.name(), name, "{msg} field {num}");
    assert_eq!(f.json_name(), json, "{msg} field {num}");
    let got = match f.kind() {
        Kind::Message(m) => m.full_name().to_owned(),
        k => format!("{k:?}").to_lowercase(),
    };
    assert_eq!(got, ty, "{msg} field {num} type");
}

#[test]
fn hand_checked_fields() {
    let p = pool();
    let core = "k8s.io.api.core.v1";
    let meta = "k8s.io.apimachinery.pkg.apis.meta.v1";
    // k8s-pb numbers hostIP 5 (3 is `message`), as Kubernetes' own generated.proto does.
    check(&p, &format!("{core}.PodStatus"), 3, "message", "message", "string");
    check(&p, &format!("{core}.PodStatus"), 5, "hostIP", "hostIP", "string");
    check(&p, &format!("{core}.PodStatus"), 6, "podIP", "podIP", "string");
    let om = format!("{meta}.ObjectMeta");
    check(&p, &om, 1, "name", "name", "string");
    check(&p, &om, 2, "generateName", "generateName", "string");
    check(&p, &om, 3, "namespace", "namespace", "string");
    check(&p, &om, 8, "creationTimestamp", "creationTimestamp", &format!("{meta}.Time"));
    let labels = p.get_message_by_name(&om).unwrap().get_field_by_name("labels").unwrap();
    assert!(labels.is_map());
    let unknown = "k8s.io.apimachinery.pkg.runtime.Unknown";
    check(&p, unknown, 1, "typeMeta", "typeMeta", "k8s.io.apimachinery.pkg.runtime.TypeMeta");
    check(&p, unknown, 2, "raw", "raw", "bytes");
    check(&p, unknown, 3, "contentEncoding", "contentEncoding", "string");
    check(&p, unknown, 4, "contentType", "contentType", "string");
    let ios = "k8s.io.apimachinery.pkg.util.intstr.IntOrString";
    check(&p, ios, 1, "type", "type", "int64");
    check(&p, ios, 2, "intVal", "intVal", "int32");
    check(&p, ios, 3, "strVal", "strVal", "string");
    // Original spellings recovered from k8s-openapi, not prost's.
    assert!(p.get_message_by_name(&format!("{core}.AWSElasticBlockStoreVolumeSource")).is_some());
    let containers = p.get_message_by_name(&format!("{core}.PodSpec")).unwrap().get_field(2).unwrap();
    assert_eq!(containers.cardinality(), Cardinality::Repeated);
    assert_eq!(containers.json_name(), "containers");
    for pkg in [
        "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1",
        "k8s.io.kube_aggregator.pkg.apis.apiregistration.v1",
        "k8s.io.apimachinery.pkg.api.resource",
    ] {
        assert!(p.get_file_by_name(&format!("{pkg}.proto")).is_some(), "{pkg}");
    }
}
