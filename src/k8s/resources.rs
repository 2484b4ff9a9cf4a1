//! Built-in Kubernetes resources as kube-apiserver stores them: group, resource (plural), kind,
//! scope, the etcd key segment it lives under when that differs from the plural, and kubectl's
//! singular and short names. Custom resources are learned from the CRDs in the snapshot itself.

/// One resource type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceInfo {
    /// API group; "" for the core group.
    pub group: String,
    /// Plural, lowercase (as in URLs): "pods", "deployments".
    pub resource: String,
    pub kind: String,
    pub namespaced: bool,
    /// Key segment(s) under the etcd prefix: "pods", "services/specs", "apiextensions.k8s.io/customresourcedefinitions".
    pub key_prefix: String,
    pub short_names: Vec<String>,
    /// For custom resources: the table columns their CRD declares (additionalPrinterColumns of
    /// the storage version, or the API server's default AGE column). `None` for built-ins.
    pub printer_columns: Option<Vec<PrinterColumn>>,
    /// The version its objects are stored in, when the catalogue knows it: a CRD's storage
    /// version. `None` for built-ins, whose version the schemas say ([`crate::k8s::schema::Schemas::newest_version`]).
    pub version: Option<String>,
    /// The categories it belongs to (`all` for what `kubectl get all` lists).
    pub categories: Vec<String>,
    /// For custom resources: the fields lists may select on besides metadata's (the
    /// `selectableFields` of the version the table columns come from, as `spec.color`). Empty
    /// for built-ins, whose fields [`crate::k8s::select::FieldSelector::for_resource`] knows.
    pub selectable_fields: Vec<String>,
}

/// One column of a CRD's table (`additionalPrinterColumns`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterColumn {
    pub name: String,
    /// integer, number, string, boolean or date.
    pub kind: String,
    pub json_path: String,
    /// Columns above 0 are shown only in wide output.
    pub priority: i64,
}

impl ResourceInfo {
    /// `deployments.apps`, `pods`: the resource as kubectl qualifies it.
    pub fn group_resource(&self) -> String {
        if self.group.is_empty() {
            self.resource.clone()
        } else {
            format!("{}.{}", self.resource, self.group)
        }
    }

    pub fn singular(&self) -> String {
        self.kind.to_lowercase()
    }
    /// `pod`, `deployment.apps`: the name kubectl prints with `-o name`.
    pub fn qualified_singular(&self) -> String {
        if self.group.is_empty() {
            self.singular()
        } else {
            format!("{}.{}", self.singular(), self.group)
        }
    }
}

/// (group, resource, kind, namespaced, key prefix if not the plural, short names)
type Row = (&'static str, &'static str, &'static str, bool, Option<&'static str>, &'static [&'static str]);

const BUILT_IN: &[Row] = &[
    ("", "bindings", "Binding", true, None, &[]),
    ("", "configmaps", "ConfigMap", true, None, &["cm"]),
    ("", "endpoints", "Endpoints", true, Some("services/endpoints"), &["ep"]),
    ("", "events", "Event", true, None, &["ev"]),
    ("", "limitranges", "LimitRange", true, None, &["limits"]),
    ("", "namespaces", "Namespace", false, None, &["ns"]),
    ("", "nodes", "Node", false, Some("minions"), &["no"]),
    ("", "persistentvolumeclaims", "PersistentVolumeClaim", true, None, &["pvc"]),
    ("", "persistentvolumes", "PersistentVolume", false, None, &["pv"]),
    ("", "pods", "Pod", true, None, &["po"]),
    ("", "podtemplates", "PodTemplate", true, None, &[]),
    ("", "replicationcontrollers", "ReplicationController", true, Some("controllers"), &["rc"]),
    ("", "resourcequotas", "ResourceQuota", true, None, &["quota"]),
    ("", "secrets", "Secret", true, None, &[]),
    ("", "serviceaccounts", "ServiceAccount", true, None, &["sa"]),
    ("", "services", "Service", true, Some("services/specs"), &["svc"]),
    ("admissionregistration.k8s.io", "mutatingadmissionpolicies", "MutatingAdmissionPolicy", false, None, &[]),
    ("admissionregistration.k8s.io", "mutatingadmissionpolicybindings", "MutatingAdmissionPolicyBinding", false, None, &[]),
    ("admissionregistration.k8s.io", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration", false, None, &[]),
    ("admissionregistration.k8s.io", "validatingadmissionpolicies", "ValidatingAdmissionPolicy", false, None, &[]),
    ("admissionregistration.k8s.io", "validatingadmissionpolicybindings", "ValidatingAdmissionPolicyBinding", false, None, &[]),
    ("admissionregistration.k8s.io", "validatingwebhookconfigurations", "ValidatingWebhookConfiguration", false, None, &[]),
    (
        "apiextensions.k8s.io",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        false,
        Some("apiextensions.k8s.io/customresourcedefinitions"),
        &["crd", "crds"],
    ),
    ("apiregistration.k8s.io", "apiservices", "APIService", false, Some("apiregistration.k8s.io/apiservices"), &[]),
    ("apps", "controllerrevisions", "ControllerRevision", true, None, &[]),
    ("apps", "daemonsets", "DaemonSet", true, None, &["ds"]),
    ("apps", "deployments", "Deployment", true, None, &["deploy"]),
    ("apps", "replicasets", "ReplicaSet", true, None, &["rs"]),
    ("apps", "statefulsets", "StatefulSet", true, None, &["sts"]),
    ("autoscaling", "horizontalpodautoscalers", "HorizontalPodAutoscaler", true, None, &["hpa"]),
    ("batch", "cronjobs", "CronJob", true, None, &["cj"]),
    ("batch", "jobs", "Job", true, None, &[]),
    ("certificates.k8s.io", "certificatesigningrequests", "CertificateSigningRequest", false, None, &["csr"]),
    ("certificates.k8s.io", "clustertrustbundles", "ClusterTrustBundle", false, None, &[]),
    ("certificates.k8s.io", "podcertificaterequests", "PodCertificateRequest", true, None, &[]),
    ("coordination.k8s.io", "leases", "Lease", true, None, &[]),
    ("coordination.k8s.io", "leasecandidates", "LeaseCandidate", true, None, &[]),
    ("discovery.k8s.io", "endpointslices", "EndpointSlice", true, None, &[]),
    ("flowcontrol.apiserver.k8s.io", "flowschemas", "FlowSchema", false, None, &[]),
    ("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations", "PriorityLevelConfiguration", false, None, &[]),
    ("internal.apiserver.k8s.io", "storageversions", "StorageVersion", false, None, &[]),
    ("networking.k8s.io", "ingressclasses", "IngressClass", false, None, &[]),
    ("networking.k8s.io", "ingresses", "Ingress", true, Some("ingress"), &["ing"]),
    ("networking.k8s.io", "ipaddresses", "IPAddress", false, None, &["ip"]),
    ("networking.k8s.io", "networkpolicies", "NetworkPolicy", true, None, &["netpol"]),
    ("networking.k8s.io", "servicecidrs", "ServiceCIDR", false, None, &[]),
    ("node.k8s.io", "runtimeclasses", "RuntimeClass", false, None, &[]),
    ("policy", "poddisruptionbudgets", "PodDisruptionBudget", true, None, &["pdb"]),
    ("policy", "podsecuritypolicies", "PodSecurityPolicy", false, Some("podsecuritypolicy"), &["psp"]),
    ("rbac.authorization.k8s.io", "clusterrolebindings", "ClusterRoleBinding", false, None, &[]),
    ("rbac.authorization.k8s.io", "clusterroles", "ClusterRole", false, None, &[]),
    ("rbac.authorization.k8s.io", "rolebindings", "RoleBinding", true, None, &[]),
    ("rbac.authorization.k8s.io", "roles", "Role", true, None, &[]),
    ("resource.k8s.io", "deviceclasses", "DeviceClass", false, None, &[]),
    ("resource.k8s.io", "devicetaintrules", "DeviceTaintRule", false, None, &[]),
    ("resource.k8s.io", "resourceclaims", "ResourceClaim", true, None, &[]),
    ("resource.k8s.io", "resourceclaimtemplates", "ResourceClaimTemplate", true, None, &[]),
    ("resource.k8s.io", "resourceslices", "ResourceSlice", false, None, &[]),
    ("scheduling.k8s.io", "podgroups", "PodGroup", true, None, &[]),
    ("scheduling.k8s.io", "priorityclasses", "PriorityClass", false, None, &["pc"]),
    ("scheduling.k8s.io", "workloads", "Workload", true, None, &[]),
    ("storage.k8s.io", "csidrivers", "CSIDriver", false, None, &[]),
    ("storage.k8s.io", "csinodes", "CSINode", false, None, &[]),
    ("storage.k8s.io", "csistoragecapacities", "CSIStorageCapacity", true, None, &[]),
    ("storage.k8s.io", "storageclasses", "StorageClass", false, None, &["sc"]),
    ("storage.k8s.io", "volumeattachments", "VolumeAttachment", false, None, &[]),
    ("storage.k8s.io", "volumeattributesclasses", "VolumeAttributesClass", false, None, &["vac"]),
    ("storagemigration.k8s.io", "storageversionmigrations", "StorageVersionMigration", false, None, &[]),
];

/// The built-in resources kube-apiserver stores in etcd.
pub fn built_in() -> Vec<ResourceInfo> {
    BUILT_IN
        .iter()
        .map(|&(group, resource, kind, namespaced, prefix, short)| ResourceInfo {
            group: group.into(),
            resource: resource.into(),
            kind: kind.into(),
            namespaced,
            key_prefix: prefix.unwrap_or(resource).into(),
            short_names: short.iter().map(|s| s.to_string()).collect(),
            printer_columns: None,
            version: None,
            categories: if IN_ALL.contains(&(group, resource)) { vec!["all".to_string()] } else { Vec::new() },
            selectable_fields: Vec::new(),
        })
        .collect()
}

/// The built-in resources in the category `all`, as the API server's registries declare it
/// (what `kubectl get all` lists).
const IN_ALL: &[(&str, &str)] = &[
    ("", "pods"),
    ("", "replicationcontrollers"),
    ("", "services"),
    ("apps", "daemonsets"),
    ("apps", "deployments"),
    ("apps", "replicasets"),
    ("apps", "statefulsets"),
    ("autoscaling", "horizontalpodautoscalers"),
    ("batch", "cronjobs"),
    ("batch", "jobs"),
];
