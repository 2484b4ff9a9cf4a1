//! Types the newest Kubernetes release the schemas follow (schemas/upstream/sources.txt) adds:
//! scheduling.k8s.io/v1alpha2 PodGroup and Workload, new in 1.36, stored as protobuf and decoded
//! by `etcdscope decode`. The objects are built by hand with the field numbers of Kubernetes'
//! v1.36 Go types (their `protobuf:` tags), and the JSON expected is written from the same
//! types' `json:` tags: names, and what Go shows of an absent field (`omitempty` or not,
//! pointer or not). Kubernetes' own round-trip fixtures of the release cover the same types
//! (docs/schemas.md).

mod common;

use common::k8s_wire::{stored, Msg};
use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Stdio};

/// `etcdscope decode -` on a stored value: the JSON, or the error it printed.
fn decode(value: &[u8]) -> Result<Value, String> {
    let mut child = Command::new(common::bin()).args(["decode", "-"]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(value).unwrap();
    let out = child.wait_with_output().unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(serde_json::from_slice(&out.stdout).expect("decode prints JSON"))
}

/// ObjectMeta: name 1, namespace 3, uid 5, creationTimestamp 8 (Time: seconds 1).
fn meta(name: &str) -> Msg {
    Msg::new().str(1, name).str(3, "ml").str(5, "0b9c4d5e-1111-2222-3333-444455556666").msg(8, &Msg::new().int(1, 1_782_864_000))
}

fn expected_meta(name: &str) -> Value {
    json!({ "name": name, "namespace": "ml", "uid": "0b9c4d5e-1111-2222-3333-444455556666", "creationTimestamp": "2026-07-01T00:00:00Z" })
}

#[test]
fn a_v1alpha2_pod_group_decodes_with_the_json_names_of_its_go_type() {
    // PodGroupSpec: podGroupTemplateRef 1 (workload 1: workloadName 1, podGroupTemplateName 2),
    // schedulingPolicy 2 (gang 2: minCount 1), schedulingConstraints 3 (topology 1: key 1),
    // resourceClaims 4 (name 1, resourceClaimName 2, resourceClaimTemplateName 3),
    // disruptionMode 5, priorityClassName 6, priority 7.
    let spec = Msg::new()
        .msg(1, &Msg::new().msg(1, &Msg::new().str(1, "trainer").str(2, "workers")))
        .msg(2, &Msg::new().msg(2, &Msg::new().int(1, 4)))
        .msg(3, &Msg::new().msg(1, &Msg::new().str(1, "topology.kubernetes.io/zone")))
        .msg(4, &Msg::new().str(1, "gpu").str(3, "gpu-template"))
        .str(5, "PodGroup")
        .str(6, "high")
        .int(7, 1000);
    // PodGroupStatus: conditions 1 (metav1.Condition: type 1, status 2, observedGeneration 3,
    // lastTransitionTime 4, reason 5, message 6), resourceClaimStatuses 2 (name 1, resourceClaimName 2).
    let condition =
        Msg::new().str(1, "PodGroupScheduled").str(2, "True").int(3, 1).msg(4, &Msg::new().int(1, 1_782_864_060)).str(5, "Scheduled").str(6, "4 of 4 placed");
    let status = Msg::new().msg(1, &condition).msg(2, &Msg::new().str(1, "gpu").str(2, "gang-1-gpu"));
    let object = Msg::new().msg(1, &meta("gang-1")).msg(2, &spec).msg(3, &status);

    let got = decode(&stored("scheduling.k8s.io/v1alpha2", "PodGroup", &object)).expect("a 1.36 PodGroup decodes");
    assert_eq!(
        got,
        json!({
            "apiVersion": "scheduling.k8s.io/v1alpha2",
            "kind": "PodGroup",
            "metadata": expected_meta("gang-1"),
            "spec": {
                "podGroupTemplateRef": { "workload": { "workloadName": "trainer", "podGroupTemplateName": "workers" } },
                "schedulingPolicy": { "gang": { "minCount": 4 } },
                "schedulingConstraints": { "topology": [{ "key": "topology.kubernetes.io/zone" }] },
                // resourceClaimName is a *string with omitempty: absent, not shown.
                "resourceClaims": [{ "name": "gpu", "resourceClaimTemplateName": "gpu-template" }],
                "disruptionMode": "PodGroup",
                "priorityClassName": "high",
                "priority": 1000
            },
            "status": {
                "conditions": [{
                    "type": "PodGroupScheduled",
                    "status": "True",
                    "observedGeneration": 1,
                    "lastTransitionTime": "2026-07-01T00:01:00Z",
                    "reason": "Scheduled",
                    "message": "4 of 4 placed"
                }],
                "resourceClaimStatuses": [{ "name": "gpu", "resourceClaimName": "gang-1-gpu" }]
            }
        })
    );
}

#[test]
fn a_v1alpha2_workload_decodes_with_the_json_names_of_its_go_type() {
    // WorkloadSpec: controllerRef 1 (TypedLocalObjectReference: apiGroup 1, kind 2, name 3),
    // podGroupTemplates 2 (PodGroupTemplate: name 1, schedulingPolicy 2 (basic 1),
    // schedulingConstraints 3, resourceClaims 4, disruptionMode 5, priorityClassName 6, priority 7).
    let template = Msg::new().str(1, "workers").msg(2, &Msg::new().msg(1, &Msg::new())).str(6, "high");
    let spec = Msg::new().msg(1, &Msg::new().str(1, "batch").str(2, "Job").str(3, "trainer")).msg(2, &template);
    let object = Msg::new().msg(1, &meta("trainer")).msg(2, &spec);

    let got = decode(&stored("scheduling.k8s.io/v1alpha2", "Workload", &object)).expect("a 1.36 Workload decodes");
    assert_eq!(
        got,
        json!({
            "apiVersion": "scheduling.k8s.io/v1alpha2",
            "kind": "Workload",
            "metadata": expected_meta("trainer"),
            "spec": {
                "controllerRef": { "apiGroup": "batch", "kind": "Job", "name": "trainer" },
                "podGroupTemplates": [{
                    "name": "workers",
                    // An empty BasicSchedulingPolicy on the wire is a set pointer: shown as {}.
                    "schedulingPolicy": { "basic": {} },
                    // *PodGroupSchedulingConstraints without omitempty: Go writes null.
                    "schedulingConstraints": null,
                    "priorityClassName": "high"
                }]
            }
        })
    );
}
