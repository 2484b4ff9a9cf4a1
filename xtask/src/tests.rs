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

/// The Go tag reader on a hand-written snippet (not Kubernetes code).
#[test]
fn go_struct_tags() {
    use crate::gotags::{field_fact, kind_of, parse_go, Kind};
    use std::collections::HashMap;

    let src = r#"
package zoo

import (
	"fmt"
	other "example.com/other/v1"
)

/* A block comment
type Hidden struct {
	X int `protobuf:"varint,1,opt,name=x"`
}
*/

// Names is a list.
type Names []string

type (
	Blob  []byte
	Level string
)

// Cage holds animals.
type Cage struct {
	other.Meta `json:",inline" protobuf:"bytes,1,opt,name=meta"`
	Base       `protobuf:"bytes,2,opt,name=base"`

	// Count is a counter; `json:"wrong" protobuf:"varint,99,opt"` in a comment is ignored.
	Count int32 `json:"count,omitempty" protobuf:"varint,3,opt,name=count"` // trailing comment
	Limit *int64 `json:"limit,omitempty" protobuf:"varint,4,opt,name=limit"`
	Size  *int32 `json:"size" protobuf:"varint,5,opt,name=size"`
	Names Names  `json:"names" patchStrategy:"merge" patchMergeKey:"name" protobuf:"bytes,6,rep,name=names"`
	Tags  map[string]string `json:"tags,omitempty" protobuf:"bytes,7,rep,name=tags" protobuf_key:"bytes,1,opt,name=key" protobuf_val:"bytes,2,opt,name=value"`
	Raw   Blob   `json:"raw" protobuf:"bytes,8,opt,name=raw"`
	Level Level  `json:"level" protobuf:"bytes,9,opt,name=level,casttype=Level"`
	When  other.Time `json:"when,omitzero" protobuf:"bytes,10,opt,name=when"`
	Internal string `json:"-"`
	NoProto  string `json:"noProto,omitempty"`
	Skipped  string `json:"-" protobuf:"bytes,11,opt,name=skipped"`
	Nested   struct {
		Inner string `json:"inner"`
	} `json:"nested,omitempty"`
	IntVal int32 `protobuf:"varint,12,opt,name=intVal"`
	A, B   string
}

type Base struct{}

func (c *Cage) MarshalJSON() ([]byte, error) { return nil, fmt.Errorf("x") }
"#;
    let f = parse_go(src);
    assert_eq!(f.package, "zoo");
    assert_eq!(f.imports.get("other").map(String::as_str), Some("example.com/other/v1"));
    assert_eq!(f.imports.get("fmt").map(String::as_str), Some("fmt"));
    assert_eq!(f.structs.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["Cage", "Base"]);
    assert_eq!(f.named, [("Names".into(), "[]string".into()), ("Blob".into(), "[]byte".into()), ("Level".into(), "string".into())]);
    assert_eq!(f.marshalers, ["Cage"]);

    let cage = &f.structs[0];
    let names: Vec<Option<&str>> = cage.fields.iter().map(|g| g.name.as_deref()).collect();
    assert_eq!(names.len(), 17, "{names:?}");
    assert_eq!(cage.fields[0].name, None);
    assert_eq!(cage.fields[0].ty, "other.Meta");
    assert_eq!(cage.fields[13].name.as_deref(), Some("Nested"));
    assert_eq!(cage.fields[13].ty, "struct{...}");
    assert_eq!(cage.fields[13].tag, r#"json:"nested,omitempty""#);
    assert_eq!(names[15..], [Some("A"), Some("B")]);

    // Named types of this package; `example.com/other/v1` is unknown here.
    let named: HashMap<&str, &str> = f.named.iter().map(|(n, u)| (n.as_str(), u.as_str())).chain([("Base", "struct{...}")]).collect();
    let lookup = |p: &str, n: &str| -> Option<(&str, &HashMap<String, String>)> {
        if p != "example.com/zoo" {
            return None;
        }
        named.get(n).map(|u| (*u, &f.imports))
    };
    let facts: Vec<(u32, String, String)> = cage
        .fields
        .iter()
        .filter_map(|g| field_fact(g, kind_of(&g.ty, "example.com/zoo", &f.imports, &lookup, 0)))
        .map(|(n, fact)| {
            let flags: Vec<&str> = crate::gotags::FLAGS.iter().copied().filter(|x| fact.has(x)).collect();
            (n, fact.json, flags.join(","))
        })
        .collect();
    let want: Vec<(u32, &str, &str)> = vec![
        (1, "", "inline"),
        (2, "", "inline"),
        (3, "count", "omitempty"),
        (4, "limit", "omitempty,pointer"),
        (5, "size", "pointer"),
        (6, "names", "slice"),
        (7, "tags", "omitempty,map"),
        (8, "raw", "bytes"),
        (9, "level", ""),
        (10, "when", "omitzero"),
        (11, "-", ""),
        (12, "IntVal", ""),
    ];
    let want: Vec<(u32, String, String)> = want.into_iter().map(|(n, j, f)| (n, j.to_owned(), f.to_owned())).collect();
    assert_eq!(facts, want);
    assert_eq!(kind_of("other.Time", "example.com/zoo", &f.imports, &lookup, 0), Kind::Unknown);
    assert_eq!(kind_of("Base", "example.com/zoo", &f.imports, &lookup, 0), Kind::Struct);

    // Tags with several keys, and the .tsv round trip.
    let tags = crate::gotags::parse_tag(r#"json:"a,omitempty" patchStrategy:"merge" protobuf:"bytes,3,rep,name=a""#);
    assert_eq!(tags.len(), 3);
    assert_eq!(tags[2], ("protobuf".into(), "bytes,3,rep,name=a".into()));
    let tsv = "# source\tk8s.io/x\tHEAD\tabc\t/tmp/x\t2\n# custom-json\tp.T\np.M\t1\tname\tomitempty,pointer\np.M\t2\t\tinline\np.M\t3\tn\t-\n";
    let g = crate::gotags::GoFacts::parse(tsv).unwrap();
    assert_eq!(g.fields.len(), 3);
    assert!(g.custom.contains("p.T"));
    assert!(g.fields[&("p.M".into(), 1)].has("pointer"));
    assert!(g.fields[&("p.M".into(), 3)].flags.is_empty());
    assert!(crate::gotags::GoFacts::parse("p.M\t1\tname\tbogus\n").is_err());
}

/// A few rules of go-json.txt, checked by hand against the Go types.
#[test]
fn go_json_rules() {
    let sources = crate::gen::Sources::locate(&crate::repo_root().join("xtask/Cargo.toml")).unwrap();
    let overlay = crate::overlay::Overlay::load(&crate::repo_root().join(crate::overlay::PATH)).unwrap();
    let files = crate::gen::generate(&sources, &overlay).unwrap();
    let txt = &files[crate::gen::GO_JSON];
    let has = |line: &str| assert!(txt.lines().any(|l| l == line), "missing `{line}`");
    let apps = "k8s.io.api.apps.v1";
    has(&format!("{apps}.DeploymentStatus 7 omit")); // readyReplicas int32 omitempty
    has(&format!("{apps}.DeploymentStatus 8 keep")); // collisionCount *int32 omitempty
    has(&format!("{apps}.DeploymentSpec 2 null")); // selector *LabelSelector, no omitempty
    has(&format!("{apps}.DeploymentSpec 4 keep")); // strategy: a struct by value
    has("k8s.io.api.core.v1.PodCondition 1 keep"); // type, no omitempty
    has("k8s.io.api.core.v1.PodCondition 5 omit"); // reason omitempty
    has("k8s.io.api.core.v1.Volume 2 inline"); // VolumeSource
    has("k8s.io.api.core.v1.PodSpec 2 null"); // containers []Container, no omitempty
    assert!(!txt.contains("k8s.io.apimachinery.pkg.apis.meta.v1.Time "), "Time has its own MarshalJSON");
}
