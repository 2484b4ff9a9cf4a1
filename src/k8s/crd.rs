//! Custom resources, learned from the CustomResourceDefinition objects in the snapshot itself:
//! group, plural, kind, short names and scope become catalogue entries, so `get widgets` works
//! and `/registry/example.com/widgets/…` keys map to objects.

use super::resources::{PrinterColumn, ResourceInfo};
use serde_json::Value;

/// The resource a decoded CRD defines; `None` if it lacks the fields a CRD must have.
pub fn resource_from_crd(crd: &Value) -> Option<ResourceInfo> {
    let spec = crd.get("spec")?;
    let names = spec.get("names")?;
    let group = spec.get("group")?.as_str()?.to_string();
    let plural = names.get("plural")?.as_str()?.to_string();
    let kind = names.get("kind")?.as_str()?.to_string();
    let short_names =
        names.get("shortNames").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect()).unwrap_or_default();
    let namespaced = spec.get("scope").and_then(Value::as_str) != Some("Cluster");
    let printer_columns = Some(printer_columns(spec));
    let selectable_fields = selectable_fields(spec);
    let categories =
        names.get("categories").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect()).unwrap_or_default();
    let version = table_version(spec).and_then(|v| v.get("name")).and_then(Value::as_str).or_else(|| spec.get("version").and_then(Value::as_str));
    Some(ResourceInfo {
        key_prefix: format!("{group}/{plural}"),
        group,
        resource: plural,
        kind,
        namespaced,
        short_names,
        printer_columns,
        version: version.map(str::to_string),
        categories,
        selectable_fields,
    })
}

/// The version a table and field selectors follow, and the one objects are stored in: the
/// storage version, else the first listed.
fn table_version(spec: &Value) -> Option<&Value> {
    let versions = spec.get("versions").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    versions.iter().find(|v| v.get("storage").and_then(Value::as_bool) == Some(true)).or_else(|| versions.first())
}

/// That version's `selectableFields` (Kubernetes 1.30+), as field labels: `.spec.color` →
/// `spec.color`, the leading dot dropped as the API server drops it.
fn selectable_fields(spec: &Value) -> Vec<String> {
    let declared = table_version(spec).and_then(|v| v.get("selectableFields")).and_then(Value::as_array);
    declared.into_iter().flatten().filter_map(|f| f.get("jsonPath")?.as_str()).map(|p| p.strip_prefix('.').unwrap_or(p).to_string()).collect()
}

/// The storage version's `additionalPrinterColumns` (v1: per version; v1beta1: also on the
/// spec, with `JSONPath`), or, when there are none, the API server's default: AGE from
/// `.metadata.creationTimestamp`.
fn printer_columns(spec: &Value) -> Vec<PrinterColumn> {
    let declared =
        table_version(spec).and_then(|v| v.get("additionalPrinterColumns")).or_else(|| spec.get("additionalPrinterColumns")).and_then(Value::as_array);
    let columns: Vec<PrinterColumn> = declared
        .into_iter()
        .flatten()
        .filter_map(|c| {
            Some(PrinterColumn {
                name: c.get("name")?.as_str()?.to_string(),
                kind: c.get("type").and_then(Value::as_str).unwrap_or("string").to_string(),
                json_path: c.get("jsonPath").or_else(|| c.get("JSONPath"))?.as_str()?.to_string(),
                priority: c.get("priority").and_then(Value::as_i64).unwrap_or(0),
            })
        })
        .collect();
    if columns.is_empty() {
        return vec![PrinterColumn { name: "Age".into(), kind: "date".into(), json_path: ".metadata.creationTimestamp".into(), priority: 0 }];
    }
    columns
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::key::Catalog;

    #[test]
    fn crd_becomes_a_resource() {
        let crd = serde_json::json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "spec": {"group": "example.com", "scope": "Namespaced",
                     "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wg"]}}});
        let info = resource_from_crd(&crd).unwrap();
        assert_eq!((info.key_prefix.as_str(), info.namespaced), ("example.com/widgets", true));
        let mut c = Catalog::built_in();
        c.add(info);
        assert_eq!(c.resolve("wg").unwrap().kind, "Widget");
        assert_eq!(c.resolve("widget.example.com").unwrap().resource, "widgets");
        assert_eq!(c.resolve("Widgets").unwrap().group, "example.com");
        assert_eq!(c.resolve("po").unwrap().resource, "pods");
        assert_eq!(c.resolve("deploy.apps").unwrap().resource, "deployments");
        assert_eq!(c.resolve("svc").unwrap().key_prefix, "services/specs");
        assert!(c.resolve("nosuch").is_err());
        assert_eq!(info_age(&crd), vec![("Age".to_string(), "date".to_string(), ".metadata.creationTimestamp".to_string(), 0)]);
    }

    fn info_age(crd: &Value) -> Vec<(String, String, String, i64)> {
        resource_from_crd(crd).unwrap().printer_columns.unwrap().into_iter().map(|c| (c.name, c.kind, c.json_path, c.priority)).collect()
    }

    #[test]
    fn printer_columns_of_the_storage_version() {
        let crd = serde_json::json!({"spec": {"group": "cert-manager.io", "names": {"plural": "certificates", "kind": "Certificate"},
            "versions": [
                {"name": "v1alpha1", "storage": false, "additionalPrinterColumns": [{"name": "Old", "type": "string", "jsonPath": ".x"}]},
                {"name": "v1", "storage": true, "additionalPrinterColumns": [
                    {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"},
                    {"name": "Secret", "type": "string", "jsonPath": ".spec.secretName", "priority": 1},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]}]}});
        let cols = info_age(&crd);
        assert_eq!(cols.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(), ["Ready", "Secret", "Age"]);
        assert_eq!(cols[1].3, 1);
        // v1beta1 CRDs: columns on the spec, `JSONPath`.
        let old = serde_json::json!({"spec": {"group": "g", "names": {"plural": "ps", "kind": "P"}, "version": "v1",
            "additionalPrinterColumns": [{"name": "Phase", "type": "string", "JSONPath": ".status.phase"}]}});
        assert_eq!(info_age(&old), vec![("Phase".into(), "string".into(), ".status.phase".into(), 0)]);
    }

    #[test]
    fn selectable_fields_of_the_storage_version() {
        let crd = serde_json::json!({"spec": {"group": "g", "scope": "Namespaced", "names": {"plural": "ws", "kind": "W"},
            "versions": [
                {"name": "v1alpha1", "storage": false, "selectableFields": [{"jsonPath": ".spec.old"}]},
                {"name": "v1", "storage": true, "selectableFields": [{"jsonPath": ".spec.color"}, {"jsonPath": ".status.ready"}]}]}});
        assert_eq!(resource_from_crd(&crd).unwrap().selectable_fields, ["spec.color", "status.ready"]);
        let none = serde_json::json!({"spec": {"group": "g", "names": {"plural": "ws", "kind": "W"}, "versions": [{"name": "v1"}]}});
        assert!(resource_from_crd(&none).unwrap().selectable_fields.is_empty());
    }
}
