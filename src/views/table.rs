//! The columns of a Kubernetes table, as the API server's printers make them and kubectl shows
//! them: per built-in type its default and `-o wide` columns (between NAME and AGE), a CRD's
//! additionalPrinterColumns, and kubectl's AGE. `get` lays them out; the API server `serve`
//! will answer with the same rows.

use crate::k8s::resources::{PrinterColumn, ResourceInfo};
use crate::views::clock::parse_rfc3339;
use serde_json::Value;

fn s<'a>(o: &'a Value, ptr: &str) -> &'a str {
    o.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

fn n(o: &Value, ptr: &str) -> i64 {
    o.pointer(ptr).and_then(Value::as_i64).unwrap_or(0)
}

fn len(o: &Value, ptr: &str) -> usize {
    match o.pointer(ptr) {
        Some(Value::Object(m)) => m.len(),
        Some(Value::Array(a)) => a.len(),
        _ => 0,
    }
}

fn or_none(v: String) -> String {
    if v.is_empty() {
        "<none>".into()
    } else {
        v
    }
}

/// (headers, cells, where AGE goes) for `info`'s table: kubectl's columns, then with `wide` its
/// wide columns, which kubectl prints after AGE. Cells are empty when `o` is a placeholder.
pub fn columns(info: &ResourceInfo, o: &Value, wide: bool) -> (Vec<String>, Vec<String>, usize) {
    let (mut head, mut cells) = default_columns(info, o);
    // kubectl puts AGE last among the default columns, except for nodes: STATUS ROLES AGE VERSION.
    let age_at = if (info.group.as_str(), info.resource.as_str()) == ("", "nodes") { 2 } else { head.len() };
    if wide {
        let (h, c) = wide_columns(info, o);
        head.extend(h);
        cells.extend(c);
    }
    (head, cells, age_at)
}

/// kubectl's `-o wide` extra columns.
fn wide_columns(info: &ResourceInfo, o: &Value) -> (Vec<String>, Vec<String>) {
    let h = |names: &[&str]| names.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let workload = |template: &str, selector: Option<String>| {
        let (names, images) = containers(o, template);
        let mut head = h(&["CONTAINERS", "IMAGES"]);
        let mut cells = vec![names, images];
        if let Some(sel) = selector {
            head.push("SELECTOR".into());
            cells.push(sel);
        }
        (head, cells)
    };
    match (info.group.as_str(), info.resource.as_str()) {
        ("", "pods") => (
            h(&["IP", "NODE", "NOMINATED NODE", "READINESS GATES"]),
            vec![
                or_none(s(o, "/status/podIP").into()),
                or_none(s(o, "/spec/nodeName").into()),
                or_none(s(o, "/status/nominatedNodeName").into()),
                readiness_gates(o),
            ],
        ),
        ("apps", "deployments") | ("apps", "replicasets") | ("apps", "daemonsets") => {
            workload("/spec/template/spec", Some(label_selector(o.pointer("/spec/selector"))))
        }
        ("", "replicationcontrollers") => workload("/spec/template/spec", Some(map_selector(o.pointer("/spec/selector")))),
        ("apps", "statefulsets") => workload("/spec/template/spec", None),
        ("batch", "jobs") => workload("/spec/template/spec", Some(label_selector(o.pointer("/spec/selector")))),
        ("batch", "cronjobs") => workload("/spec/jobTemplate/spec/template/spec", Some(label_selector(o.pointer("/spec/jobTemplate/spec/selector")))),
        ("", "services") => (h(&["SELECTOR"]), vec![map_selector(o.pointer("/spec/selector"))]),
        ("", "nodes") => {
            let address = |kind: &str| {
                o.pointer("/status/addresses")
                    .and_then(Value::as_array)
                    .and_then(|a| a.iter().find(|x| x.get("type").and_then(Value::as_str) == Some(kind)))
                    .and_then(|x| x.get("address").and_then(Value::as_str))
                    .unwrap_or("<none>")
                    .to_string()
            };
            (
                h(&["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"]),
                vec![
                    address("InternalIP"),
                    address("ExternalIP"),
                    or_unknown(s(o, "/status/nodeInfo/osImage")),
                    or_unknown(s(o, "/status/nodeInfo/kernelVersion")),
                    or_unknown(s(o, "/status/nodeInfo/containerRuntimeVersion")),
                ],
            )
        }
        _ => (Vec::new(), Vec::new()),
    }
}

fn or_unknown(v: &str) -> String {
    if v.is_empty() {
        "<unknown>".into()
    } else {
        v.into()
    }
}

/// Container names and images of a pod template, comma-joined, as kubectl's wide columns.
fn containers(o: &Value, spec: &str) -> (String, String) {
    let list = o.pointer(&format!("{spec}/containers")).and_then(Value::as_array).cloned().unwrap_or_default();
    let field = |f: &str| list.iter().map(|c| c.get(f).and_then(Value::as_str).unwrap_or("").to_string()).collect::<Vec<_>>().join(",");
    (field("name"), field("image"))
}

/// A `matchLabels`/`matchExpressions` selector as kubectl prints it: `k=v,k2 in (a,b),!k3`;
/// `<none>` when empty.
fn label_selector(sel: Option<&Value>) -> String {
    let Some(sel) = sel else { return "<none>".into() };
    let mut parts: Vec<String> = Vec::new();
    if let Some(labels) = sel.get("matchLabels").and_then(Value::as_object) {
        let mut kv: Vec<(&String, &Value)> = labels.iter().collect();
        kv.sort_by(|a, b| a.0.cmp(b.0));
        parts.extend(kv.into_iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))));
    }
    for e in sel.get("matchExpressions").and_then(Value::as_array).into_iter().flatten() {
        let key = e.get("key").and_then(Value::as_str).unwrap_or("");
        let values: Vec<&str> = e.get("values").and_then(Value::as_array).map(|v| v.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        parts.push(match e.get("operator").and_then(Value::as_str).unwrap_or("") {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            other => format!("{key} {other} ({})", values.join(",")),
        });
    }
    if parts.is_empty() {
        "<none>".into()
    } else {
        parts.join(",")
    }
}

/// A plain map selector (Services, ReplicationControllers): `k=v,…` sorted by key.
fn map_selector(sel: Option<&Value>) -> String {
    let Some(map) = sel.and_then(Value::as_object) else { return "<none>".into() };
    let mut kv: Vec<String> = map.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect();
    kv.sort();
    if kv.is_empty() {
        "<none>".into()
    } else {
        kv.join(",")
    }
}

/// kubectl's READINESS GATES: `ready/total` of the gates the Pod declares, or `<none>`.
fn readiness_gates(o: &Value) -> String {
    let gates = o.pointer("/spec/readinessGates").and_then(Value::as_array).cloned().unwrap_or_default();
    if gates.is_empty() {
        return "<none>".into();
    }
    let conditions = o.pointer("/status/conditions").and_then(Value::as_array).cloned().unwrap_or_default();
    let ready = gates
        .iter()
        .filter(|g| {
            let t = g.get("conditionType").and_then(Value::as_str);
            conditions.iter().any(|c| c.get("type").and_then(Value::as_str) == t && c.get("status").and_then(Value::as_str) == Some("True"))
        })
        .count();
    format!("{ready}/{}", gates.len())
}

/// kubectl's default columns for `info`.
fn default_columns(info: &ResourceInfo, o: &Value) -> (Vec<String>, Vec<String>) {
    let h = |names: &[&str]| names.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    match (info.group.as_str(), info.resource.as_str()) {
        ("", "pods") => {
            let head = h(&["READY", "STATUS", "RESTARTS"]);
            let statuses = o.pointer("/status/containerStatuses").and_then(Value::as_array).cloned().unwrap_or_default();
            let ready = statuses.iter().filter(|c| c.get("ready").and_then(Value::as_bool) == Some(true)).count();
            let total = len(o, "/spec/containers");
            // Saturating: the counts are whatever the stored object says (a JSON Pod can hold
            // any int64), and a plain sum panics with overflow checks on.
            let restarts = statuses.iter().map(|c| c.get("restartCount").and_then(Value::as_i64).unwrap_or(0)).fold(0i64, i64::saturating_add);
            (head, vec![format!("{ready}/{total}"), pod_status(o), restarts.to_string()])
        }
        ("apps", "deployments") => (
            h(&["READY", "UP-TO-DATE", "AVAILABLE"]),
            vec![
                format!("{}/{}", n(o, "/status/readyReplicas"), o.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1)),
                n(o, "/status/updatedReplicas").to_string(),
                n(o, "/status/availableReplicas").to_string(),
            ],
        ),
        ("apps", "statefulsets") => {
            (h(&["READY"]), vec![format!("{}/{}", n(o, "/status/readyReplicas"), o.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1))])
        }
        ("apps", "replicasets") => (
            h(&["DESIRED", "CURRENT", "READY"]),
            vec![n(o, "/spec/replicas").to_string(), n(o, "/status/replicas").to_string(), n(o, "/status/readyReplicas").to_string()],
        ),
        ("apps", "daemonsets") => {
            let mut cells: Vec<String> = ["desiredNumberScheduled", "currentNumberScheduled", "numberReady", "updatedNumberScheduled", "numberAvailable"]
                .iter()
                .map(|f| n(o, &format!("/status/{f}")).to_string())
                .collect();
            cells.push(map_selector(o.pointer("/spec/template/spec/nodeSelector")));
            (h(&["DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR"]), cells)
        }
        ("", "replicationcontrollers") => (
            h(&["DESIRED", "CURRENT", "READY"]),
            vec![n(o, "/spec/replicas").to_string(), n(o, "/status/replicas").to_string(), n(o, "/status/readyReplicas").to_string()],
        ),
        ("", "services") => (
            h(&["TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)"]),
            vec![s(o, "/spec/type").to_string(), or_none(s(o, "/spec/clusterIP").into()), external_ips(o), or_none(ports(o))],
        ),
        ("", "namespaces") => (h(&["STATUS"]), vec![s(o, "/status/phase").to_string()]),
        ("", "configmaps") => (h(&["DATA"]), vec![(len(o, "/data") + len(o, "/binaryData")).to_string()]),
        ("", "secrets") => (h(&["TYPE", "DATA"]), vec![s(o, "/type").to_string(), (len(o, "/data") + len(o, "/stringData")).to_string()]),
        ("", "serviceaccounts") => (h(&["SECRETS"]), vec![len(o, "/secrets").to_string()]),
        ("", "nodes") => {
            let ready = o
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .and_then(|c| c.iter().find(|c| c.get("type").and_then(Value::as_str) == Some("Ready")))
                .map(|c| if c.get("status").and_then(Value::as_str) == Some("True") { "Ready" } else { "NotReady" })
                .unwrap_or("Unknown");
            let roles: Vec<&str> = o
                .pointer("/metadata/labels")
                .and_then(Value::as_object)
                .map(|l| l.keys().filter_map(|k| k.strip_prefix("node-role.kubernetes.io/")).collect())
                .unwrap_or_default();
            (h(&["STATUS", "ROLES", "VERSION"]), vec![ready.into(), or_none(roles.join(",")), s(o, "/status/nodeInfo/kubeletVersion").into()])
        }
        ("batch", "jobs") => {
            (h(&["COMPLETIONS"]), vec![format!("{}/{}", n(o, "/status/succeeded"), o.pointer("/spec/completions").and_then(Value::as_i64).unwrap_or(1))])
        }
        ("batch", "cronjobs") => (
            h(&["SCHEDULE", "SUSPEND", "ACTIVE"]),
            vec![
                s(o, "/spec/schedule").into(),
                if o.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true) { "True" } else { "False" }.into(),
                len(o, "/status/active").to_string(),
            ],
        ),
        _ => (Vec::new(), Vec::new()),
    }
}

/// kubectl's pod STATUS: a container's waiting/terminated reason beats the phase; a deletion
/// timestamp shows Terminating.
fn pod_status(o: &Value) -> String {
    let mut reason = s(o, "/status/reason").to_string();
    if reason.is_empty() {
        reason = s(o, "/status/phase").to_string();
    }
    for c in o.pointer("/status/containerStatuses").and_then(Value::as_array).into_iter().flatten() {
        let st = c.get("state");
        if let Some(r) = st.and_then(|s| s.pointer("/waiting/reason")).and_then(Value::as_str).filter(|r| !r.is_empty()) {
            reason = r.to_string();
        } else if let Some(t) = st.and_then(|s| s.get("terminated")) {
            reason = match t.get("reason").and_then(Value::as_str).filter(|r| !r.is_empty()) {
                Some(r) => r.to_string(),
                None => format!("ExitCode:{}", t.get("exitCode").and_then(Value::as_i64).unwrap_or(0)),
            };
        }
    }
    if o.pointer("/metadata/deletionTimestamp").is_some_and(|v| !v.is_null()) {
        reason = "Terminating".into();
    }
    reason
}

fn ports(o: &Value) -> String {
    let ports = o.pointer("/spec/ports").and_then(Value::as_array).cloned().unwrap_or_default();
    ports
        .iter()
        .map(|p| {
            let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
            let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
            match p.get("nodePort").and_then(Value::as_i64) {
                Some(np) if np != 0 => format!("{port}:{np}/{proto}"),
                _ => format!("{port}/{proto}"),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn external_ips(o: &Value) -> String {
    let mut ips: Vec<String> = o
        .pointer("/status/loadBalancer/ingress")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|i| i.get("ip").or_else(|| i.get("hostname")).and_then(Value::as_str).map(str::to_string))
        .collect();
    ips.extend(o.pointer("/spec/externalIPs").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(str::to_string));
    match (ips.is_empty(), s(o, "/spec/type")) {
        (false, _) => ips.join(","),
        (true, "LoadBalancer") => "<pending>".into(),
        _ => "<none>".into(),
    }
}

/// One column of a resource's table, as the API server's Table declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Upper-cased, as kubectl shows it (`NAME`, `READY`, `NOMINATED NODE`).
    pub name: String,
    /// OpenAPI type: `string` for the built-in printers, a CRD column's declared type.
    pub kind: String,
    /// `name` for the NAME column, else empty.
    pub format: &'static str,
    /// 0: shown by default; above 0: only with `-o wide`.
    pub priority: i64,
}

/// The columns of `info`'s table: NAME, the type's columns with AGE where kubectl puts it, and
/// with `wide` the wide ones (priority 1) after them. Built-ins without a printer of their own
/// have NAME and AGE. Label columns are the caller's.
pub fn table_columns(info: &ResourceInfo, wide: bool) -> Vec<Column> {
    let column = |name: String, kind: &str, priority| Column { name, kind: kind.to_string(), format: "", priority };
    let mut out = vec![Column { name: "NAME".into(), kind: "string".into(), format: "name", priority: 0 }];
    match info.printer_columns.as_deref() {
        Some(cols) => out.extend(cols.iter().filter(|c| wide || c.priority == 0).map(|c| column(c.name.to_uppercase(), &c.kind, c.priority.max(0)))),
        None => {
            let placeholder = Value::Object(Default::default());
            let (normal, _, age_at) = columns(info, &placeholder, false);
            let (all, _, _) = columns(info, &placeholder, wide);
            for (i, name) in all.into_iter().enumerate() {
                if i == age_at {
                    out.push(column("AGE".into(), "string", 0));
                }
                out.push(column(name, "string", i64::from(i >= normal.len())));
            }
            if out.iter().all(|c| c.name != "AGE") {
                out.push(column("AGE".into(), "string", 0));
            }
        }
    }
    out
}

/// The cells of `o`'s row, one per [`table_columns`] (same `wide`), ages deferred.
pub fn table_row(info: &ResourceInfo, o: &Value, wide: bool) -> Vec<Cell> {
    let name = o.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string();
    let mut row = vec![Cell::Text(name)];
    match info.printer_columns.as_deref() {
        Some(cols) => row.extend(printer_cells_deferred(cols, o, wide)),
        None => {
            let (_, cells, age_at) = columns(info, o, wide);
            let mut cells: Vec<Cell> = cells.into_iter().map(Cell::Text).collect();
            let created = o.pointer("/metadata/creationTimestamp").and_then(Value::as_str).and_then(parse_rfc3339);
            cells.insert(age_at.min(cells.len()), Cell::Since(created));
            row.extend(cells);
        }
    }
    row
}

/// A CRD's columns shown in this output (priority 0, or all of them with `-o wide`).
#[cfg(test)]
pub fn printer_headers(cols: &[PrinterColumn], wide: bool) -> Vec<String> {
    cols.iter().filter(|c| wide || c.priority == 0).map(|c| c.name.to_uppercase()).collect()
}

/// A table cell, or an age, shown once every row is in (relative to `--now`, else to the
/// snapshot's clock, [`crate::views::clock`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Text(String),
    /// An age since this time; `None` shows as `<unknown>`.
    Since(Option<i64>),
}

impl Cell {
    pub fn show(self, now: i64) -> String {
        match self {
            Cell::Text(t) => t,
            Cell::Since(Some(t)) => human_duration(now - t),
            Cell::Since(None) => "<unknown>".into(),
        }
    }
}

/// [`printer_cells_deferred`] with the ages shown relative to `now`.
#[cfg(test)]
pub fn printer_cells(cols: &[PrinterColumn], o: &Value, now: i64, wide: bool) -> Vec<String> {
    printer_cells_deferred(cols, o, wide).into_iter().map(|c| c.show(now)).collect()
}

/// A custom resource's cells, as the API server's table for CRDs makes them: the first value the
/// column's JSONPath selects, typed by the column (a value of the wrong type, or none, is
/// `<none>`); `date` columns as an age, computed once every row is in ([`Cell::Since`]).
pub fn printer_cells_deferred(cols: &[PrinterColumn], o: &Value, wide: bool) -> Vec<Cell> {
    cols.iter()
        .filter(|c| wide || c.priority == 0)
        .map(|c| {
            let v = crate::k8s::jsonpath::first(&c.json_path, o).ok().flatten();
            let cell = match (c.kind.as_str(), v) {
                (_, None | Some(Value::Null)) => None,
                ("string", Some(Value::String(s))) => Some(s.clone()),
                ("string", Some(other)) => Some(other.to_string()),
                ("integer", Some(Value::Number(n))) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)).map(|i| i.to_string()),
                ("number", Some(Value::Number(n))) => n.as_f64().map(go_float),
                ("boolean", Some(Value::Bool(b))) => Some(b.to_string()),
                ("date", Some(Value::String(t))) => {
                    return match parse_rfc3339(t) {
                        Some(t) => Cell::Since(Some(t)),
                        None => Cell::Text("<invalid>".into()),
                    };
                }
                _ => None,
            };
            Cell::Text(cell.unwrap_or_else(|| "<none>".into()))
        })
        .collect()
}

/// Go's `%v` of a float64: shortest digits, exponent form below 1e-4 and from 1e6 on
/// (`0.5`, `123456`, `1.234567e+06`, `1e-05`).
fn go_float(f: f64) -> String {
    if !f.is_finite() {
        return if f.is_nan() {
            "NaN".into()
        } else if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return "0".into();
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..6).contains(&exp) {
        format!("{f}")
    } else {
        format!("{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    }
}

/// kubectl's human-readable duration (apimachinery's HumanDuration).
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 { format!("{minutes}m") } else { format!("{minutes}m{s}s") };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 { format!("{hours}h") } else { format!("{hours}h{m}m") };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 { format!("{}d", hours / 24) } else { format!("{}d{h}h", hours / 24) };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = hours / 24 % 365;
        return if dy == 0 { format!("{}y", hours / 24 / 365) } else { format!("{}y{dy}d", hours / 24 / 365) };
    }
    format!("{}y", hours / 24 / 365)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_float_format() {
        assert_eq!(go_float(0.5), "0.5");
        assert_eq!(go_float(3.0), "3");
        assert_eq!(go_float(123456.0), "123456");
        assert_eq!(go_float(1234567.0), "1.234567e+06");
        assert_eq!(go_float(0.00001), "1e-05");
        assert_eq!(go_float(0.0001), "0.0001");
    }

    #[test]
    fn restart_counts_near_i64_max_saturate() {
        let pods = crate::k8s::resources::built_in().into_iter().find(|r| r.group.is_empty() && r.resource == "pods").unwrap();
        let o = serde_json::json!({"status": {"containerStatuses": [
            {"restartCount": i64::MAX}, {"restartCount": i64::MAX}, {"restartCount": 1}]}});
        assert_eq!(columns(&pods, &o, false).1[2], i64::MAX.to_string());
        let o = serde_json::json!({"status": {"containerStatuses": [{"restartCount": i64::MIN}, {"restartCount": -1}]}});
        assert_eq!(columns(&pods, &o, false).1[2], i64::MIN.to_string());
    }

    #[test]
    fn crd_cells_are_typed() {
        let col = |name: &str, kind: &str, path: &str, priority| PrinterColumn { name: name.into(), kind: kind.into(), json_path: path.into(), priority };
        let cols = [
            col("Ready", "string", r#".status.conditions[?(@.type=="Ready")].status"#, 0),
            col("Replicas", "integer", ".spec.replicas", 0),
            col("Ratio", "number", ".spec.ratio", 0),
            col("Paused", "boolean", ".spec.paused", 0),
            col("Missing", "string", ".spec.nothing", 0),
            col("Wrong", "integer", ".spec.name", 0),
            col("Age", "date", ".metadata.creationTimestamp", 0),
            col("Detail", "string", ".spec.name", 1),
        ];
        let o = serde_json::json!({"metadata": {"creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"replicas": 3, "ratio": 0.25, "paused": false, "name": "x"},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        let now = parse_rfc3339("2026-01-01T00:05:00Z").unwrap();
        assert_eq!(printer_headers(&cols, false), ["READY", "REPLICAS", "RATIO", "PAUSED", "MISSING", "WRONG", "AGE"]);
        assert_eq!(printer_cells(&cols, &o, now, false), ["True", "3", "0.25", "false", "<none>", "<none>", "5m"]);
        assert_eq!(printer_cells(&cols, &o, now, true).last().unwrap(), "x");
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2023-11-14T22:13:20Z"), Some(1_700_000_000));
        assert_eq!(parse_rfc3339("2023-11-14T22:13:20.5+01:00"), Some(1_700_000_000 - 3600));
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn durations() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(150), "2m30s");
        assert_eq!(human_duration(900), "15m");
        assert_eq!(human_duration(3 * 3600 + 120), "3h2m");
        assert_eq!(human_duration(30 * 3600), "30h");
        assert_eq!(human_duration(3 * 86400 + 3600), "3d1h");
        assert_eq!(human_duration(100 * 86400), "100d");
        assert_eq!(human_duration(3 * 365 * 86400 + 86400 * 5), "3y5d");
    }
}
