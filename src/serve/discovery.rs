//! Discovery: what resources a served snapshot has, in the two forms clients read. kubectl ≥
//! 1.26 asks `/api` and `/apis` for the aggregated form (apidiscovery.k8s.io/v2, every resource
//! of every group in two requests) and believes it only when the response's Content-Type names
//! it; older clients read the legacy lists (`/api` APIVersions, `/apis` APIGroupList, then one
//! APIResourceList per group version).
//!
//! Each resource is advertised in the one version its objects are stored in (a CRD's storage
//! version; for built-ins the newest version the schemas know, which is the version
//! kube-apiserver stores them in), so objects are served as stored and never converted. The
//! verbs are the read ones: get, list, watch. Built once per context.

use super::accept::Negotiated;
use crate::k8s::key::Catalog;
use crate::k8s::resources::ResourceInfo;
use crate::k8s::schema::{kube_version_order, Schemas};
use serde::Serialize;
use sha2::{Digest, Sha512};
use std::collections::BTreeMap;

/// The verbs every served resource has.
pub const VERBS: [&str; 3] = ["get", "list", "watch"];

/// One resource in one group version.
#[derive(Debug, Clone)]
pub struct Served {
    pub info: ResourceInfo,
    pub version: String,
}

/// The resources of a context by group, versions newest first; the core group is `""`.
pub struct Discovery {
    pub groups: BTreeMap<String, Vec<(String, Vec<Served>)>>,
}

impl Discovery {
    /// Every resource of `catalog` whose version is known (CRD storage version, or the schemas').
    pub fn build(catalog: &Catalog, schemas: &Schemas) -> Discovery {
        let mut by_gv: BTreeMap<(String, String), Vec<Served>> = BTreeMap::new();
        for info in catalog.resources() {
            let Some(version) = info.version.clone().or_else(|| schemas.newest_version(&info.group, &info.kind)) else { continue };
            by_gv.entry((info.group.clone(), version.clone())).or_default().push(Served { info: info.clone(), version });
        }
        let mut groups: BTreeMap<String, Vec<(String, Vec<Served>)>> = BTreeMap::new();
        for ((group, version), mut resources) in by_gv {
            resources.sort_by(|a, b| a.info.resource.cmp(&b.info.resource));
            groups.entry(group).or_default().push((version, resources));
        }
        for versions in groups.values_mut() {
            versions.sort_by_key(|(v, _)| std::cmp::Reverse(kube_version_order(v)));
        }
        Discovery { groups }
    }

    /// The resource served at `group`/`version`/`resource`.
    pub fn find(&self, group: &str, version: &str, resource: &str) -> Option<&Served> {
        self.groups.get(group)?.iter().find(|(v, _)| v == version)?.1.iter().find(|s| s.info.resource == resource)
    }

    fn named_groups(&self) -> impl Iterator<Item = (&String, &Vec<(String, Vec<Served>)>)> {
        self.groups.iter().filter(|(g, _)| !g.is_empty())
    }

    /// `/api` or `/apis` (`core`), in the form negotiated: the document and its Content-Type.
    pub fn root(&self, core: bool, form: Negotiated, server_address: &str) -> (Vec<u8>, String) {
        match form {
            Negotiated::Discovery(v) => {
                let items: Vec<AggregatedGroup<'_>> = if core {
                    self.groups.get("").map(|versions| aggregated_group("", versions)).into_iter().collect()
                } else {
                    self.named_groups().map(|(g, versions)| aggregated_group(g, versions)).collect()
                };
                let doc = AggregatedList { kind: "APIGroupDiscoveryList", api_version: format!("apidiscovery.k8s.io/{v}"), metadata: Empty {}, items };
                (to_json(&doc), format!("application/json;g=apidiscovery.k8s.io;v={v};as=APIGroupDiscoveryList"))
            }
            _ if core => {
                let versions = self.groups.get("").map(|vs| vs.iter().map(|(v, _)| v.as_str()).collect()).unwrap_or_default();
                let doc = ApiVersions {
                    kind: "APIVersions",
                    versions,
                    server_address_by_client_cidrs: vec![ServerAddress { client_cidr: "0.0.0.0/0", server_address: server_address.to_string() }],
                };
                (to_json(&doc), "application/json".into())
            }
            _ => {
                let groups = self.named_groups().map(|(g, versions)| api_group(g, versions)).collect();
                (to_json(&ApiGroupList { kind: "APIGroupList", api_version: "v1", groups }), "application/json".into())
            }
        }
    }

    /// `/apis/G`: one group's versions.
    pub fn group(&self, group: &str) -> Option<Vec<u8>> {
        let versions = self.groups.get(group).filter(|_| !group.is_empty())?;
        Some(to_json(&api_group(group, versions)))
    }

    /// `/api/v1` or `/apis/G/V`: one group version's resources.
    pub fn group_version(&self, group: &str, version: &str) -> Option<Vec<u8>> {
        let (_, resources) = self.groups.get(group)?.iter().find(|(v, _)| v == version)?;
        let group_version = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
        let resources = resources.iter().map(|s| api_resource(&s.info)).collect();
        Some(to_json(&ApiResourceList { kind: "APIResourceList", api_version: "v1", group_version, resources }))
    }
}

/// A discovery document's ETag: the hex SHA-512 of its body, quoted, as the API server makes it.
pub fn etag(body: &[u8]) -> String {
    let digest = Sha512::digest(body);
    let mut hex = String::with_capacity(130);
    hex.push('"');
    for b in digest {
        hex.push_str(&format!("{b:02x}"));
    }
    hex.push('"');
    hex
}

fn to_json<T: Serialize>(doc: &T) -> Vec<u8> {
    serde_json::to_vec(doc).expect("discovery documents serialize")
}

fn scope(info: &ResourceInfo) -> &'static str {
    if info.namespaced {
        "Namespaced"
    } else {
        "Cluster"
    }
}

fn aggregated_group<'a>(group: &'a str, versions: &'a [(String, Vec<Served>)]) -> AggregatedGroup<'a> {
    AggregatedGroup {
        metadata: GroupMeta { name: group, creation_timestamp: None },
        versions: versions
            .iter()
            .map(|(version, resources)| AggregatedVersion {
                version,
                resources: resources
                    .iter()
                    .map(|s| AggregatedResource {
                        resource: &s.info.resource,
                        response_kind: Gvk { group, version, kind: &s.info.kind },
                        scope: scope(&s.info),
                        singular_resource: s.info.singular(),
                        verbs: VERBS,
                        short_names: &s.info.short_names,
                        categories: &s.info.categories,
                    })
                    .collect(),
                freshness: "Current",
            })
            .collect(),
    }
}

fn api_group<'a>(group: &'a str, versions: &'a [(String, Vec<Served>)]) -> ApiGroup<'a> {
    let gv = |v: &'a String| GroupVersion { group_version: format!("{group}/{v}"), version: v };
    ApiGroup {
        kind: "APIGroup",
        api_version: "v1",
        name: group,
        versions: versions.iter().map(|(v, _)| gv(v)).collect(),
        preferred_version: versions.first().map(|(v, _)| gv(v)),
    }
}

fn api_resource(info: &ResourceInfo) -> ApiResource<'_> {
    ApiResource {
        name: &info.resource,
        singular_name: info.singular(),
        namespaced: info.namespaced,
        kind: &info.kind,
        verbs: VERBS,
        short_names: &info.short_names,
        categories: &info.categories,
    }
}

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AggregatedList<'a> {
    kind: &'static str,
    api_version: String,
    metadata: Empty,
    items: Vec<AggregatedGroup<'a>>,
}

#[derive(Serialize)]
struct AggregatedGroup<'a> {
    metadata: GroupMeta<'a>,
    versions: Vec<AggregatedVersion<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupMeta<'a> {
    name: &'a str,
    creation_timestamp: Option<()>,
}

#[derive(Serialize)]
struct AggregatedVersion<'a> {
    version: &'a str,
    resources: Vec<AggregatedResource<'a>>,
    freshness: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AggregatedResource<'a> {
    resource: &'a str,
    response_kind: Gvk<'a>,
    scope: &'static str,
    singular_resource: String,
    verbs: [&'static str; 3],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    short_names: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    categories: &'a [String],
}

#[derive(Serialize)]
struct Gvk<'a> {
    group: &'a str,
    version: &'a str,
    kind: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApiVersions<'a> {
    kind: &'static str,
    versions: Vec<&'a str>,
    #[serde(rename = "serverAddressByClientCIDRs")]
    server_address_by_client_cidrs: Vec<ServerAddress>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ServerAddress {
    #[serde(rename = "clientCIDR")]
    client_cidr: &'static str,
    server_address: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApiGroupList<'a> {
    kind: &'static str,
    api_version: &'static str,
    groups: Vec<ApiGroup<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApiGroup<'a> {
    kind: &'static str,
    api_version: &'static str,
    name: &'a str,
    versions: Vec<GroupVersion<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    preferred_version: Option<GroupVersion<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupVersion<'a> {
    group_version: String,
    version: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApiResourceList<'a> {
    kind: &'static str,
    api_version: &'static str,
    group_version: String,
    resources: Vec<ApiResource<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApiResource<'a> {
    name: &'a str,
    singular_name: String,
    namespaced: bool,
    kind: &'a str,
    verbs: [&'static str; 3],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    short_names: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    categories: &'a [String],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_ins_are_advertised_in_their_stored_versions() {
        let d = Discovery::build(&Catalog::built_in(), &Schemas::embedded().unwrap());
        assert_eq!(d.find("", "v1", "pods").unwrap().info.kind, "Pod");
        assert!(d.find("apps", "v1", "deployments").is_some());
        assert!(d.find("apps", "v1beta1", "deployments").is_none());
        let v: serde_json::Value = serde_json::from_slice(&d.root(false, Negotiated::Discovery("v2"), "x").0).unwrap();
        let apps = v["items"].as_array().unwrap().iter().find(|g| g["metadata"]["name"] == "apps").unwrap();
        let deploy = apps["versions"][0]["resources"].as_array().unwrap().iter().find(|r| r["resource"] == "deployments").unwrap();
        assert_eq!(deploy["responseKind"], serde_json::json!({"group": "apps", "version": "v1", "kind": "Deployment"}));
        assert_eq!(deploy["categories"], serde_json::json!(["all"]));
        let legacy: serde_json::Value = serde_json::from_slice(&d.group_version("", "v1").unwrap()).unwrap();
        let pods = legacy["resources"].as_array().unwrap().iter().find(|r| r["name"] == "pods").unwrap();
        assert_eq!(pods["shortNames"], serde_json::json!(["po"]));
        assert_eq!(pods["namespaced"], true);
    }
}
