//! The fields a list may select on, per resource, as kube-apiserver decides it, and how each
//! field's value is read from the object's JSON.
//!
//! The API server accepts a field selector in two steps, and this module is the second: every
//! label in the selector must be one its resource's version registers (a "field label
//! conversion" per group/version/kind; kinds that register none accept `metadata.name` and
//! `metadata.namespace`), and the value each object has for a label is the text its registry
//! renders from the object (its "selectable fields"): booleans as `true`/`false`, counts in
//! decimal, a field the object lacks as the empty text. A refused label is a 400 BadRequest
//! whose message is the conversion's own error, whose wording differs from kind to kind.
//!
//! Learned from the Kubernetes sources (our own table, written from what they do):
//! `pkg/apis/core/v1/conversion.go` (Pod, Node, ReplicationController, Event, Namespace, Secret,
//! Service), `pkg/apis/events/v1/conversion.go` (events.k8s.io's names for the same fields),
//! `pkg/apis/batch/v1/conversion.go` (Job), `pkg/apis/certificates/v1/conversion.go`,
//! `pkg/apis/resource/v1/conversion.go` (ResourceSlice), apimachinery's
//! `runtime.DefaultMetaV1FieldSelectorConversion` (every other kind — apps/v1 ReplicaSet
//! included: its registry renders `status.replicas` but apps/v1 never registers the label, so the
//! API server refuses it, kubernetes/kubernetes#135136), the registries' `ToSelectableFields` /
//! `GetAttrs` in `pkg/registry/**/strategy.go` and `pkg/apis/events/selection.go` (the values),
//! and for custom resources apiextensions-apiserver's CR converter (`metadata.name`,
//! `metadata.namespace` when namespaced, and the version's `selectableFields`).

use super::resources::ResourceInfo;
use serde_json::Value;
use std::borrow::Cow;

/// How one field's value is read from an object as its registry renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reading {
    /// Text at a JSON pointer; absent or not text: "".
    Text(&'static str),
    /// The first non-empty text among JSON pointers (a field and its older or newer name).
    FirstText(&'static [&'static str]),
    /// A boolean at a JSON pointer: "true" or "false"; absent: "false".
    Flag(&'static str),
    /// An integer at a JSON pointer, in decimal; absent: "0".
    Count(&'static str),
    /// A pod's primary IP: `status.podIP`, else `status.podIPs[0].ip`.
    PodIp,
    /// An event's source: `source.component` (or events.k8s.io's `deprecatedSource.component`),
    /// else its reporting controller.
    EventSource,
    /// A label the conversion accepts but the registry never renders: always "".
    Unset,
    /// A custom resource's selectable field (a JSON pointer): text as is, booleans and numbers
    /// as Go prints them; absent: "".
    Custom(String),
}

impl Reading {
    /// This field's value on `object`.
    pub(crate) fn read<'a>(&self, object: &'a Value) -> Cow<'a, str> {
        let text = |pointer: &str| object.pointer(pointer).and_then(Value::as_str);
        match self {
            Reading::Text(p) => Cow::Borrowed(text(p).unwrap_or("")),
            Reading::FirstText(ps) => Cow::Borrowed(ps.iter().filter_map(|p| text(p)).find(|t| !t.is_empty()).unwrap_or("")),
            Reading::Flag(p) => Cow::Borrowed(if object.pointer(p).and_then(Value::as_bool).unwrap_or(false) { "true" } else { "false" }),
            Reading::Count(p) => Cow::Owned(object.pointer(p).and_then(Value::as_i64).unwrap_or(0).to_string()),
            Reading::PodIp => {
                let first_of_list = object.pointer("/status/podIPs/0/ip").and_then(Value::as_str);
                Cow::Borrowed(text("/status/podIP").filter(|ip| !ip.is_empty()).or(first_of_list).unwrap_or(""))
            }
            Reading::EventSource => {
                let component = ["/source/component", "/deprecatedSource/component", "/reportingComponent", "/reportingController"];
                Cow::Borrowed(component.iter().filter_map(|p| text(p)).find(|t| !t.is_empty()).unwrap_or(""))
            }
            Reading::Unset => Cow::Borrowed(""),
            Reading::Custom(p) => match object.pointer(p) {
                Some(Value::String(s)) => Cow::Borrowed(s.as_str()),
                Some(v @ (Value::Bool(_) | Value::Number(_))) => Cow::Owned(v.to_string()),
                _ => Cow::Borrowed(""),
            },
        }
    }
}

/// How a kind's conversion words its refusal of a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// `field label not supported: LABEL` (core/v1, events.k8s.io, certificates, custom resources).
    NotSupported,
    /// `field label "LABEL" not supported for KIND` (batch/v1 Job).
    QuotedFor(&'static str),
    /// `field label not supported for GVK: LABEL` (resource.k8s.io/v1 ResourceSlice).
    NotSupportedFor(&'static str),
    /// `"LABEL" is not a known field selector: only "metadata.name", "metadata.namespace"`: kinds
    /// that register no conversion.
    NotKnown,
}

impl Refusal {
    fn message(self, label: &str) -> String {
        match self {
            Refusal::NotSupported => format!("field label not supported: {label}"),
            Refusal::QuotedFor(kind) => format!("field label {} not supported for {kind}", go_quote(label)),
            Refusal::NotSupportedFor(gvk) => format!("field label not supported for {gvk}: {label}"),
            Refusal::NotKnown => format!("{} is not a known field selector: only \"metadata.name\", \"metadata.namespace\"", go_quote(label)),
        }
    }
}

/// Text quoted as Go's `%q` quotes it (the API server's messages are made with it).
fn go_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

const NAME: (&str, Reading) = ("metadata.name", Reading::Text("/metadata/name"));
const NAMESPACE: (&str, Reading) = ("metadata.namespace", Reading::Text("/metadata/namespace"));

/// An event's fields, under the names core/v1 gives them (the registry's own names).
const EVENT_FIELDS: &[(&str, Reading)] = &[
    ("involvedObject.kind", Reading::FirstText(&["/involvedObject/kind", "/regarding/kind"])),
    ("involvedObject.namespace", Reading::FirstText(&["/involvedObject/namespace", "/regarding/namespace"])),
    ("involvedObject.name", Reading::FirstText(&["/involvedObject/name", "/regarding/name"])),
    ("involvedObject.uid", Reading::FirstText(&["/involvedObject/uid", "/regarding/uid"])),
    ("involvedObject.apiVersion", Reading::FirstText(&["/involvedObject/apiVersion", "/regarding/apiVersion"])),
    ("involvedObject.resourceVersion", Reading::FirstText(&["/involvedObject/resourceVersion", "/regarding/resourceVersion"])),
    ("involvedObject.fieldPath", Reading::FirstText(&["/involvedObject/fieldPath", "/regarding/fieldPath"])),
    ("reason", Reading::Text("/reason")),
    ("reportingComponent", Reading::FirstText(&["/reportingComponent", "/reportingController"])),
    ("source", Reading::EventSource),
    ("type", Reading::Text("/type")),
    NAMESPACE,
    NAME,
];

/// events.k8s.io/v1's names for the same fields: each maps to the core/v1 field it reads.
const EVENTS_K8S_IO_NAMES: &[(&str, &str)] = &[
    ("reason", "reason"),
    ("regarding.kind", "involvedObject.kind"),
    ("regarding.namespace", "involvedObject.namespace"),
    ("regarding.name", "involvedObject.name"),
    ("regarding.uid", "involvedObject.uid"),
    ("regarding.apiVersion", "involvedObject.apiVersion"),
    ("regarding.resourceVersion", "involvedObject.resourceVersion"),
    ("regarding.fieldPath", "involvedObject.fieldPath"),
    ("reportingController", "reportingComponent"),
    ("source", "source"),
    ("type", "type"),
    ("metadata.namespace", "metadata.namespace"),
    ("metadata.name", "metadata.name"),
];

/// One built-in kind that registers its own field labels.
struct KindFields {
    group: &'static str,
    resource: &'static str,
    fields: &'static [(&'static str, Reading)],
    refusal: Refusal,
}

/// Every built-in kind that registers its own labels (the rest accept only metadata.name and
/// metadata.namespace). `spec.host` is an old pod clients' name for `spec.nodeName`.
const KINDS: &[KindFields] = &[
    KindFields {
        group: "",
        resource: "pods",
        fields: &[
            NAME,
            NAMESPACE,
            ("spec.nodeName", Reading::Text("/spec/nodeName")),
            ("spec.restartPolicy", Reading::Text("/spec/restartPolicy")),
            ("spec.schedulerName", Reading::Text("/spec/schedulerName")),
            ("spec.serviceAccountName", Reading::FirstText(&["/spec/serviceAccountName", "/spec/serviceAccount"])),
            ("spec.hostNetwork", Reading::Flag("/spec/hostNetwork")),
            ("status.phase", Reading::Text("/status/phase")),
            ("status.podIP", Reading::PodIp),
            ("status.podIPs", Reading::Unset),
            ("status.nominatedNodeName", Reading::Text("/status/nominatedNodeName")),
            ("spec.host", Reading::Text("/spec/nodeName")),
        ],
        refusal: Refusal::NotSupported,
    },
    KindFields { group: "", resource: "nodes", fields: &[NAME, ("spec.unschedulable", Reading::Flag("/spec/unschedulable"))], refusal: Refusal::NotSupported },
    KindFields {
        group: "",
        resource: "replicationcontrollers",
        fields: &[NAME, NAMESPACE, ("status.replicas", Reading::Count("/status/replicas"))],
        refusal: Refusal::NotSupported,
    },
    KindFields { group: "", resource: "events", fields: EVENT_FIELDS, refusal: Refusal::NotSupported },
    KindFields { group: "", resource: "namespaces", fields: &[("status.phase", Reading::Text("/status/phase")), NAME], refusal: Refusal::NotSupported },
    KindFields { group: "", resource: "secrets", fields: &[("type", Reading::Text("/type")), NAMESPACE, NAME], refusal: Refusal::NotSupported },
    KindFields {
        group: "",
        resource: "services",
        fields: &[NAMESPACE, NAME, ("spec.clusterIP", Reading::Text("/spec/clusterIP")), ("spec.type", Reading::Text("/spec/type"))],
        refusal: Refusal::NotSupported,
    },
    KindFields {
        group: "batch",
        resource: "jobs",
        fields: &[NAME, NAMESPACE, ("status.successful", Reading::Count("/status/succeeded"))],
        refusal: Refusal::QuotedFor("Job"),
    },
    KindFields {
        group: "certificates.k8s.io",
        resource: "certificatesigningrequests",
        fields: &[NAME, ("spec.signerName", Reading::Text("/spec/signerName"))],
        refusal: Refusal::NotSupported,
    },
    KindFields {
        group: "certificates.k8s.io",
        resource: "clustertrustbundles",
        fields: &[NAME, ("spec.signerName", Reading::Text("/spec/signerName"))],
        refusal: Refusal::NotSupported,
    },
    KindFields {
        group: "certificates.k8s.io",
        resource: "podcertificaterequests",
        fields: &[
            NAME,
            ("spec.signerName", Reading::Text("/spec/signerName")),
            ("spec.podName", Reading::Text("/spec/podName")),
            ("spec.nodeName", Reading::Text("/spec/nodeName")),
        ],
        refusal: Refusal::NotSupported,
    },
    KindFields {
        group: "resource.k8s.io",
        resource: "resourceslices",
        fields: &[NAME, ("spec.nodeName", Reading::Text("/spec/nodeName")), ("spec.driver", Reading::Text("/spec/driver"))],
        refusal: Refusal::NotSupportedFor("resource.k8s.io/v1, Kind=ResourceSlice"),
    },
];

/// What every kind without its own labels accepts.
const DEFAULT_FIELDS: &[(&str, Reading)] = &[NAME, NAMESPACE];

/// How `label` is read on objects of `resource`, or the API server's message refusing it.
pub(crate) fn reading_for(resource: &ResourceInfo, label: &str) -> Result<Reading, String> {
    if resource.printer_columns.is_some() {
        return custom_reading(resource, label);
    }
    if resource.group == "events.k8s.io" && resource.resource == "events" {
        let core_name = EVENTS_K8S_IO_NAMES.iter().find(|(name, _)| *name == label).map(|(_, core)| *core);
        return match core_name.and_then(|core| find(EVENT_FIELDS, core)) {
            Some(reading) => Ok(reading),
            None => Err(Refusal::NotSupported.message(label)),
        };
    }
    let (fields, refusal) = match KINDS.iter().find(|k| k.group == resource.group && k.resource == resource.resource) {
        Some(kind) => (kind.fields, kind.refusal),
        None => (DEFAULT_FIELDS, Refusal::NotKnown),
    };
    find(fields, label).ok_or_else(|| refusal.message(label))
}

/// How `label` is read on objects of any resource: metadata.name and metadata.namespace only.
pub(crate) fn metadata_reading(label: &str) -> Result<Reading, String> {
    find(DEFAULT_FIELDS, label).ok_or_else(|| Refusal::NotKnown.message(label))
}

fn find(fields: &[(&str, Reading)], label: &str) -> Option<Reading> {
    fields.iter().find(|(name, _)| *name == label).map(|(_, reading)| reading.clone())
}

/// A custom resource: metadata.name, metadata.namespace when namespaced, and the CRD's
/// `selectableFields`; anything else in the converter's words.
fn custom_reading(resource: &ResourceInfo, label: &str) -> Result<Reading, String> {
    if label == "metadata.name" || (resource.namespaced && label == "metadata.namespace") {
        return Ok(find(DEFAULT_FIELDS, label).unwrap_or(Reading::Unset));
    }
    if resource.selectable_fields.iter().any(|f| f == label) {
        return Ok(Reading::Custom(json_pointer(label)));
    }
    Err(Refusal::NotSupported.message(label))
}

/// `spec.color` as the JSON pointer `/spec/color` (`~` and `/` in a name escaped).
fn json_pointer(dotted: &str) -> String {
    dotted.split('.').map(|segment| format!("/{}", segment.replace('~', "~0").replace('/', "~1"))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_quoting_escapes_what_go_escapes() {
        assert_eq!(go_quote("spec.foo"), "\"spec.foo\"");
        assert_eq!(go_quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(go_quote("\u{1}"), "\"\\x01\"");
    }

    #[test]
    fn json_pointers_from_selectable_field_paths() {
        assert_eq!(json_pointer("spec.color"), "/spec/color");
        assert_eq!(json_pointer("spec.a/b~c"), "/spec/a~1b~0c");
    }
}
