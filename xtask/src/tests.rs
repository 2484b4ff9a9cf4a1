//! Generates the schemas in memory from the committed facts, compiles them with protox, and
//! checks a few fields by hand; the upstream sources' pinning, file selection and fact merging on
//! small hand-made repositories and facts (not Kubernetes code).

use protox::prost_reflect::{Cardinality, DescriptorPool, Kind};

fn generated() -> std::collections::BTreeMap<String, String> {
    let root = crate::repo_root();
    let inputs = crate::gen::Inputs::load(&root).unwrap();
    let overlay = crate::overlay::Overlay::load(&root.join(crate::overlay::PATH)).unwrap();
    crate::gen::generate(&inputs, &overlay).unwrap()
}

fn pool() -> DescriptorPool {
    crate::compile_in_memory(&generated()).unwrap()
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
    // hostIP is 5 (3 is `message`), as Kubernetes' own generated.proto numbers it.
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
    // Kubernetes' own spellings.
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
    let tsv = "# source\tk8s.io/x\tv1.2.3 v0.2.3\tabc\t2\n# custom-json\tp.T\np.M\t1\tname\tomitempty,pointer\np.M\t2\t\tinline\np.M\t3\tn\t-\n";
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
    let files = generated();
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

/// Fields keep Kubernetes' declaration order (Go's, which JSON output follows), not number order.
#[test]
fn fields_keep_their_declaration_order() {
    let p = pool();
    let spec = p.get_message_by_name("k8s.io.api.core.v1.PodSpec").unwrap();
    let numbers: Vec<i32> = spec.descriptor_proto().field.iter().map(|f| f.number()).take(4).collect();
    assert_eq!(numbers, [1, 20, 2, 34]); // volumes, initContainers, containers, ephemeralContainers
}

/// The `master` source is the commit whose testdata the fixture tests use.
#[test]
fn master_source_is_the_fixtures_commit() {
    let root = crate::repo_root();
    let list = crate::upstream::SourceList::load(&root.join(crate::upstream::SOURCES)).unwrap();
    let master = list.0.iter().find(|s| s.name == "master").expect("a master source");
    let script = std::fs::read_to_string(root.join("scripts/k8s-fixtures.sh")).unwrap();
    let commit = script.lines().find_map(|l| l.strip_prefix("COMMIT=")).expect("COMMIT= in scripts/k8s-fixtures.sh");
    assert_eq!(master.pins[0].repo, "api");
    assert_eq!(master.pins[0].commit.as_deref(), Some(commit));
    // Releases come first, newest first.
    let releases: Vec<(u32, u32, u32)> = list.0.iter().map_while(|s| crate::upstream::release_version(&s.name)).collect();
    assert!(!releases.is_empty() && releases.windows(2).all(|w| w[0] > w[1]), "{releases:?}");
}

#[test]
fn source_list_round_trip_and_new_release() {
    use crate::upstream::{Source, SourceList};
    let text = "\
v1.35.7 api v0.35.7 -
v1.35.7 apimachinery v0.35.7 -
v1.35.7 apiextensions-apiserver v0.35.7 -
v1.35.7 kube-aggregator v0.35.6 -
v1.35.7 metrics v0.35.6 0123456789abcdef0123456789abcdef01234567
";
    let list = SourceList::parse(text).unwrap();
    assert_eq!(list.0.len(), 1);
    assert_eq!(list.0[0].pins[3].git_ref, "v0.35.6");
    assert_eq!(SourceList::parse(&list.render()).unwrap(), list);
    assert!(SourceList::parse("v1.35.7 api v0.35.7 -\n").is_err(), "four repositories missing");
    assert!(SourceList::parse(&text.replace("-\n", "xyz\n")).is_err(), "not a commit");
    assert!(SourceList::parse(&text.replace("metrics", "kubernetes")).is_err(), "unknown repository");

    let none = Default::default();
    // A new minor goes in front; a new patch replaces its minor; an older one is refused.
    let newer = list.with_release(Source::release("v1.36.3", &none).unwrap()).unwrap();
    assert_eq!(newer.0.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["v1.36.3", "v1.35.7"]);
    assert!(newer.0[0].pins.iter().all(|p| p.git_ref == "v0.36.3" && p.commit.is_none()));
    let patched = list.with_release(Source::release("v1.35.8", &none).unwrap()).unwrap();
    assert_eq!(patched.0.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["v1.35.8"]);
    assert!(list.with_release(Source::release("v1.34.1", &none).unwrap()).is_err());
    // The same release with the same refs keeps its pins.
    let refs = [("kube-aggregator".to_owned(), "v0.35.6".to_owned()), ("metrics".to_owned(), "v0.35.6".to_owned())].into();
    assert_eq!(list.with_release(Source::release("v1.35.7", &refs).unwrap()).unwrap(), list);
    assert!(Source::release("v1.36", &none).is_err());
    // master counts as newer than every release, whatever its place in the list.
    let master = Source { name: "master".into(), pins: newer.0[0].pins.clone() };
    assert_eq!(SourceList(vec![newer.0[0].clone(), master, newer.0[1].clone()]).ages(), [1, 0, 2]);
    assert!(Source::release("v1.36.3", &[("nope".to_owned(), "x".to_owned())].into()).is_err());
}

/// What is read of a repository: protos, go.mod, and the Go files of the proto packages and of
/// the packages they import (transitively); not tests, generated code, testdata or the rest.
#[test]
fn selection_follows_imports() {
    use crate::upstream::{candidate, select};
    for (path, want) in [
        ("core/v1/generated.proto", true),
        ("core/v1/types.go", true),
        ("core/v1/types_test.go", false),
        ("core/v1/generated.pb.go", false),
        ("core/v1/zz_generated.deepcopy.go", false),
        ("core/v1/types_swagger_doc_generated.go", false),
        ("testdata/HEAD/x.go", false),
        ("vendor/a/b.go", false),
        ("go.mod", true),
        ("README.md", false),
    ] {
        assert_eq!(candidate(path), want, "{path}");
    }
    let files: std::collections::BTreeMap<String, Vec<u8>> = [
        ("k8s.io/api/go.mod", "module k8s.io/api\n"),
        ("k8s.io/api/core/v1/generated.proto", "syntax = \"proto2\";\n"),
        ("k8s.io/api/core/v1/types.go", "package v1\n\nimport (\n\tmetav1 \"k8s.io/apimachinery/pkg/apis/meta/v1\"\n\t\"fmt\"\n)\n"),
        ("k8s.io/api/unrelated/x.go", "package unrelated\n\nimport \"k8s.io/apimachinery/pkg/other\"\n"),
        (
            "k8s.io/apimachinery/pkg/apis/meta/v1/types.go",
            "package v1\n\n// import \"k8s.io/apimachinery/pkg/commented\"\nimport \"k8s.io/apimachinery/pkg/types\"\n",
        ),
        ("k8s.io/apimachinery/pkg/types/uid.go", "package types\n\ntype UID string\n"),
        ("k8s.io/apimachinery/pkg/commented/c.go", "package commented\n"),
        ("k8s.io/apimachinery/pkg/other/o.go", "package other\n"),
    ]
    .into_iter()
    .map(|(p, s)| (p.to_owned(), s.as_bytes().to_vec()))
    .collect();
    let chosen: Vec<String> = select(&files).into_iter().collect();
    assert_eq!(
        chosen,
        [
            "k8s.io/api/core/v1/generated.proto",
            "k8s.io/api/core/v1/types.go",
            "k8s.io/api/go.mod",
            "k8s.io/apimachinery/pkg/apis/meta/v1/types.go",
            "k8s.io/apimachinery/pkg/types/uid.go",
        ]
    );
}

fn field(number: u32, name: &str, ty: &str) -> crate::protofacts::FieldFact {
    crate::protofacts::FieldFact { number, name: name.into(), label: crate::protofacts::Label::Optional, ty: ty.into(), source: None }
}

/// The first source that has a message gives it, in its order; lower sources add only numbers
/// it lacks (placed by number) and their disagreements are listed, not used.
#[test]
fn facts_merge_by_priority() {
    use crate::protofacts::{merge, MessageFact, ProtoFacts, SourceLine};
    let src = |name: &str, msgs: Vec<(&str, Vec<crate::protofacts::FieldFact>)>| {
        let line = SourceLine { name: name.into(), commits: vec![("api".into(), "v0.1.0".into(), "c".repeat(40))] };
        (line, msgs.into_iter().map(|(m, fields)| (m.to_owned(), MessageFact { source: name.into(), fields })).collect())
    };
    let facts = merge(vec![
        src("new", vec![("p.A", vec![field(1, "a", "string"), field(5, "e", "int32"), field(2, "b", "p.B")]), ("p.B", vec![])]),
        src("old", vec![("p.A", vec![field(1, "a", "string"), field(2, "bee", "p.B"), field(3, "c", "bool")]), ("p.Gone", vec![field(1, "x", "bytes")])]),
    ]);
    let a = &facts.messages["p.A"];
    assert_eq!(a.source, "new");
    let order: Vec<(u32, Option<&str>)> = a.fields.iter().map(|f| (f.number, f.source.as_deref())).collect();
    assert_eq!(order, [(1, None), (3, Some("old")), (5, None), (2, None)]);
    assert_eq!(facts.messages["p.Gone"].source, "old");
    assert_eq!(facts.differs.len(), 1, "{:?}", facts.differs);
    assert!(facts.differs[0].starts_with("p.A 2: optional p.B b from new; old has optional p.B bee"), "{}", facts.differs[0]);
    // The committed file's format round-trips.
    assert_eq!(ProtoFacts::parse(&facts.render()).unwrap(), facts);
    assert!(ProtoFacts::parse(&facts.render().replace("\toptional\t", "\tsometimes\t")).is_err());
}

/// A scratch directory under the system temp dir, removed when dropped.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("etcdscope-xtask-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn git(dir: &std::path::Path, args: &[&str]) {
    let st = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"])
        .args(args)
        .output()
        .unwrap();
    assert!(st.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&st.stderr));
}

/// Five small repositories (not Kubernetes' files) tagged v0.99.1.
fn make_repos(base: &std::path::Path) {
    let api: &[(&str, &str)] = &[
        ("core/v1/generated.proto", "syntax = \"proto2\";\npackage k8s.io.api.core.v1;\nimport \"k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto\";\nmessage Pod {\n  optional k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta metadata = 1;\n  optional string nodeName = 3;\n  repeated string tags = 2;\n}\n"),
        ("core/v1/types.go", "package v1\n\nimport metav1 \"k8s.io/apimachinery/pkg/apis/meta/v1\"\n\ntype Pod struct {\n\tmetav1.ObjectMeta `json:\"metadata,omitempty\" protobuf:\"bytes,1,opt,name=metadata\"`\n\tNodeName string `json:\"nodeName,omitempty\" protobuf:\"bytes,3,opt,name=nodeName\"`\n\tTags []string `json:\"tags\" protobuf:\"bytes,2,rep,name=tags\"`\n}\n"),
        ("core/v1/types_test.go", "package v1\n"),
        ("unrelated/x.go", "package unrelated\n"),
    ];
    let machinery: &[(&str, &str)] = &[
        ("pkg/apis/meta/v1/generated.proto", "syntax = \"proto2\";\npackage k8s.io.apimachinery.pkg.apis.meta.v1;\nmessage ObjectMeta {\n  optional string name = 1;\n  optional string uid = 2;\n}\n"),
        ("pkg/apis/meta/v1/types.go", "package v1\n\nimport \"k8s.io/apimachinery/pkg/types\"\n\ntype ObjectMeta struct {\n\tName string `json:\"name,omitempty\" protobuf:\"bytes,1,opt,name=name\"`\n\tUID types.UID `json:\"uid,omitempty\" protobuf:\"bytes,2,opt,name=uid,casttype=k8s.io/kubernetes/pkg/types.UID\"`\n}\n"),
        ("pkg/types/uid.go", "package types\n\ntype UID string\n"),
        ("pkg/util/other/other.go", "package other\n"),
    ];
    for (repo, module) in crate::upstream::REPOS {
        let dir = base.join(repo);
        std::fs::create_dir_all(&dir).unwrap();
        git(&dir, &["init", "-q"]);
        let files = match repo {
            "api" => api,
            "apimachinery" => machinery,
            _ => &[],
        };
        for (p, text) in files.iter().copied().chain([("go.mod", &*format!("module {module}\n"))]) {
            let path = dir.join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        git(&dir, &["add", "-A"]);
        git(&dir, &["commit", "-q", "-m", "one"]);
        git(&dir, &["tag", "-a", "-m", "release", "v0.99.1"]);
    }
}

/// A release read from local git directories is pinned by a manifest; the cache is checked
/// against it and rebuilt from git when it differs; changed files, a changed manifest and a moved
/// tag are refused; the same files fetched over a URL (one commit deep) match the pins.
#[test]
fn sources_are_pinned_and_checked() {
    use crate::upstream::{prepare, Options, Source, SourceList};
    let tmp = Scratch::new("pins");
    let repos = tmp.0.join("repos");
    make_repos(&repos);
    let root = tmp.0.join("root");
    let opts = Options { git: format!("{}/{{repo}}", repos.display()), cache: tmp.0.join("cache") };
    let list = SourceList(vec![Source::release("v1.99.1", &Default::default()).unwrap()]);

    let err = prepare(&root, &list, &opts, false).err().expect("no manifest yet: refused unless pinning");
    assert!(format!("{err:#}").contains("does not pin"), "{err:#}");
    let (pinned, ready) = prepare(&root, &list, &opts, true).unwrap();
    assert!(pinned.0[0].pins.iter().all(|p| p.commit.is_some()));
    let manifest = std::fs::read_to_string(root.join("schemas/upstream/v1.99.1.sha256")).unwrap();
    let listed: Vec<&str> = manifest.lines().filter(|l| !l.starts_with('#')).map(|l| l.split_once("  ").unwrap().1).collect();
    assert_eq!(
        listed,
        [
            "k8s.io/api/core/v1/generated.proto",
            "k8s.io/api/core/v1/types.go",
            "k8s.io/api/go.mod",
            "k8s.io/apiextensions-apiserver/go.mod",
            "k8s.io/apimachinery/go.mod",
            "k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto",
            "k8s.io/apimachinery/pkg/apis/meta/v1/types.go",
            "k8s.io/apimachinery/pkg/types/uid.go",
            "k8s.io/kube-aggregator/go.mod",
            "k8s.io/metrics/go.mod",
        ]
    );

    // What the learners make of it.
    let msgs = crate::protofacts::read_source(&ready[0]).unwrap();
    let pod: Vec<(u32, &str, &str)> = msgs["k8s.io.api.core.v1.Pod"].fields.iter().map(|f| (f.number, f.name.as_str(), f.ty.as_str())).collect();
    assert_eq!(pod, [(1, "metadata", "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta"), (3, "nodeName", "string"), (2, "tags", "string")]);
    let go = crate::gotags::learn_text(&crate::gotags::Source::of(&ready[0], 0)).unwrap();
    assert!(go.lines().any(|l| l == "k8s.io.api.core.v1.Pod\t1\tmetadata\tomitempty"), "{go}");
    assert!(go.lines().any(|l| l == "k8s.io.api.core.v1.Pod\t2\ttags\tslice"), "{go}");
    assert!(go.lines().any(|l| l == "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta\t2\tuid\tomitempty"), "{go}");

    // A damaged cache is read again from git.
    let cached = opts.cache.join("v1.99.1/k8s.io/api/core/v1/types.go");
    std::fs::write(&cached, "package v1\n").unwrap();
    prepare(&root, &pinned, &opts, false).unwrap();
    assert!(std::fs::read_to_string(&cached).unwrap().contains("NodeName"));

    // A manifest that disagrees with the files is an error, pinning or not.
    let mpath = root.join("schemas/upstream/v1.99.1.sha256");
    let (line, _) = manifest.lines().enumerate().find(|(_, l)| l.ends_with("k8s.io/api/go.mod")).unwrap();
    let bad: String =
        manifest.lines().enumerate().map(|(i, l)| if i == line { format!("{}{}\n", "0".repeat(64), &l[64..]) } else { format!("{l}\n") }).collect();
    std::fs::write(&mpath, &bad).unwrap();
    let err = prepare(&root, &pinned, &opts, true).err().expect("changed file refused");
    assert!(format!("{err:#}").contains("k8s.io/api/go.mod: SHA-256"), "{err:#}");
    std::fs::write(&mpath, &manifest).unwrap();

    // The same files over a URL, fetched one commit deep into the cache.
    let over_url = Options { git: format!("file://{}/{{repo}}", repos.display()), cache: tmp.0.join("cache2") };
    prepare(&root, &pinned, &over_url, false).unwrap();
    assert!(tmp.0.join("cache2/git/api.git").is_dir());

    // A tag moved to another commit.
    let api = repos.join("api");
    std::fs::write(api.join("core/v1/types.go"), "package v1\n// changed\n").unwrap();
    git(&api, &["commit", "-q", "-am", "two"]);
    git(&api, &["tag", "-f", "-a", "-m", "moved", "v0.99.1"]);
    std::fs::remove_dir_all(&opts.cache).unwrap();
    let err = prepare(&root, &pinned, &opts, true).err().expect("moved tag refused");
    assert!(format!("{err:#}").contains("the ref moved?"), "{err:#}");
}
