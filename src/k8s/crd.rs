//! Custom resources, learned from the CustomResourceDefinition objects in the snapshot itself:
//! group, plural, kind, short names and scope become catalogue entries, so `get widgets` works
//! and `/registry/example.com/widgets/…` keys map to objects.

use super::resources::ResourceInfo;
use serde_json::Value;

/// The resource a decoded CRD defines; `None` if it lacks the fields a CRD must have.
pub fn resource_from_crd(crd: &Value) -> Option<ResourceInfo> {
    let spec = crd.get("spec")?;
    let names = spec.get("names")?;
    let group = spec.get("group")?.as_str()?.to_string();
    let plural = names.get("plural")?.as_str()?.to_string();
    let kind = names.get("kind")?.as_str()?.to_string();
    let short_names = names
        .get("shortNames")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    let namespaced = spec.get("scope").and_then(Value::as_str) != Some("Cluster");
    Some(ResourceInfo { key_prefix: format!("{group}/{plural}"), group, resource: plural, kind, namespaced, short_names })
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
    }
}
