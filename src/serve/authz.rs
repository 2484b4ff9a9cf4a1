//! The reviews clients post to learn what they may do: SelfSubjectAccessReview (`kubectl auth
//! can-i`), SelfSubjectRulesReview (`kubectl auth can-i --list`, k9s) and SelfSubjectReview
//! (`kubectl auth whoami`). A backup is read-only: get, list and watch are allowed on every
//! resource, every other verb is not. The review is answered, not stored: 201 with the posted
//! object and its status.

use super::status::Status;
use serde_json::{json, Value};

/// Largest review body read.
pub const MAX_BODY: usize = 64 << 10;

/// The user every client is, as `kubectl auth whoami` shows it.
pub const USER: &str = "etcdscope:reader";

/// The answer to a review posted to `resource` (authorization.k8s.io / authentication.k8s.io),
/// or `None` when `resource` is not a review.
pub fn review(group: &str, version: &str, resource: &str, body: &[u8]) -> Option<Result<Value, Status>> {
    let kind = match (group, resource) {
        ("authorization.k8s.io", "selfsubjectaccessreviews") => "SelfSubjectAccessReview",
        ("authorization.k8s.io", "selfsubjectrulesreviews") => "SelfSubjectRulesReview",
        ("authentication.k8s.io", "selfsubjectreviews") => "SelfSubjectReview",
        _ => return None,
    };
    Some(answer(group, version, kind, body))
}

fn answer(group: &str, version: &str, kind: &str, body: &[u8]) -> Result<Value, Status> {
    if body.len() > MAX_BODY {
        return Err(Status::bad_request(format!("the review is {} bytes; at most {MAX_BODY} are read", body.len())));
    }
    let mut posted: Value =
        if body.is_empty() { json!({}) } else { serde_json::from_slice(body).map_err(|e| Status::bad_request(format!("the review is not JSON: {e}")))? };
    if !posted.is_object() {
        return Err(Status::bad_request("the review is not a JSON object"));
    }
    posted["apiVersion"] = json!(format!("{group}/{version}"));
    posted["kind"] = json!(kind);
    if posted.get("metadata").is_none() {
        posted["metadata"] = json!({});
    }
    posted["status"] = match kind {
        "SelfSubjectAccessReview" => access(&posted),
        "SelfSubjectRulesReview" => json!({
            "resourceRules": [{"verbs": ["get", "list", "watch"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["get"], "nonResourceURLs": ["*"]}],
            "incomplete": false
        }),
        _ => json!({"userInfo": {"username": USER, "groups": ["system:authenticated"]}}),
    };
    Ok(posted)
}

/// Allowed for reads, denied for everything else, with the reason.
fn access(review: &Value) -> Value {
    let spec = review.get("spec");
    let verb =
        spec.and_then(|s| s.pointer("/resourceAttributes/verb").or_else(|| s.pointer("/nonResourceAttributes/verb"))).and_then(Value::as_str).unwrap_or("");
    if matches!(verb, "get" | "list" | "watch") {
        json!({"allowed": true, "reason": "etcdscope serves a backup: reads are allowed"})
    } else {
        json!({"allowed": false, "denied": true, "reason": format!("etcdscope serves a backup read-only: {verb:?} is not allowed")})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_allowed_writes_denied() {
        let ask = |verb: &str| {
            let body = json!({"spec": {"resourceAttributes": {"verb": verb, "resource": "pods"}}}).to_string();
            review("authorization.k8s.io", "v1", "selfsubjectaccessreviews", body.as_bytes()).unwrap().unwrap()
        };
        assert_eq!(ask("list")["status"]["allowed"], true);
        assert_eq!(ask("delete")["status"]["allowed"], false);
        assert_eq!(ask("get")["kind"], "SelfSubjectAccessReview");
        assert!(review("", "v1", "pods", b"").is_none());
        assert_eq!(review("authorization.k8s.io", "v1", "selfsubjectaccessreviews", b"[1]").unwrap().unwrap_err().code, 400);
    }
}
