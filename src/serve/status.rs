//! metav1.Status: how the Kubernetes API server says a request failed. Clients read `code` and
//! `reason` (kubectl prints `Error from server (<reason>): <message>`), so each refusal names the
//! reason the API server would give for the same request.

use serde::Serialize;

/// A failed request's answer, serialized as the API server writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    pub kind: &'static str,
    #[serde(rename = "apiVersion")]
    pub api_version: &'static str,
    pub metadata: Empty,
    pub status: &'static str,
    pub message: String,
    pub reason: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Box<Details>>,
    pub code: u16,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Empty {}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Details {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub group: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<Cause>,
    #[serde(rename = "retryAfterSeconds", skip_serializing_if = "is_zero")]
    pub retry_after_seconds: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// One field's error, as `details.causes` lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cause {
    pub reason: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub field: String,
}

impl Status {
    fn failure(code: u16, reason: &'static str, message: String) -> Status {
        Status { kind: "Status", api_version: "v1", metadata: Empty {}, status: "Failure", message, reason, details: None, code }
    }

    /// 400: the request itself is malformed.
    pub fn bad_request(message: impl Into<String>) -> Status {
        Status::failure(400, "BadRequest", message.into())
    }

    /// 404: no such path, resource or object.
    pub fn not_found(message: impl Into<String>) -> Status {
        Status::failure(404, "NotFound", message.into())
    }

    /// 405: a write, or a verb the resource does not have.
    pub fn method_not_supported(message: impl Into<String>) -> Status {
        Status::failure(405, "MethodNotAllowed", message.into())
    }

    /// 406: no representation the client accepts.
    pub fn not_acceptable(message: impl Into<String>) -> Status {
        Status::failure(406, "NotAcceptable", message.into())
    }

    /// 410: a resource version or continue token older than what is kept.
    pub fn expired(message: impl Into<String>) -> Status {
        Status::failure(410, "Expired", message.into())
    }

    /// 404 for one object, with the details the API server gives (`pods "web" not found`).
    pub fn object_not_found(group: &str, resource: &str, name: &str) -> Status {
        let what = if group.is_empty() { resource.to_string() } else { format!("{resource}.{group}") };
        let mut s = Status::failure(404, "NotFound", format!("{what} \"{name}\" not found"));
        s.details = Some(Box::new(Details { name: name.into(), group: group.into(), kind: resource.into(), ..Details::default() }));
        s
    }

    /// 504 for a revision newer than the one served, as the API server answers a resource
    /// version its cache has not reached (clients retry).
    pub fn too_large_resource_version(asked: i64, current: i64) -> Status {
        let mut s = Status::failure(504, "Timeout", format!("Too large resource version: {asked}, current: {current}"));
        let cause = Cause { reason: "ResourceVersionTooLarge", message: "Too large resource version".into(), field: String::new() };
        s.details = Some(Box::new(Details { causes: vec![cause], retry_after_seconds: 1, ..Details::default() }));
        s
    }

    /// 500: reading the input failed (a damaged page, an I/O error), with the reason.
    pub fn internal(message: impl Into<String>) -> Status {
        Status::failure(500, "InternalError", message.into())
    }

    /// 429: too many requests at once; clients retry.
    pub fn too_many_requests() -> Status {
        let mut s = Status::failure(429, "TooManyRequests", "too many requests at once; try again shortly".into());
        s.details = Some(Box::new(Details { retry_after_seconds: 1, ..Details::default() }));
        s
    }

    /// 401: a bearer token was required and not given, or wrong.
    /// 403 for a request whose `Host:` is not a loopback name on a server without a token.
    pub fn forbidden_host() -> Status {
        Status::failure(
            403,
            "Forbidden",
            "this server answers only requests addressed to a loopback host (127.0.0.1, ::1, localhost): start it with --token to serve other names".into(),
        )
    }

    pub fn unauthorized() -> Status {
        Status::failure(401, "Unauthorized", "Unauthorized".into())
    }

    /// 422 on `ListOptions` (group meta.k8s.io), one cause per field error, as the API server
    /// refuses list options that contradict each other.
    pub fn invalid_list_options(causes: Vec<Cause>) -> Status {
        let errors: Vec<String> = causes.iter().map(|c| c.message.clone()).collect();
        let message = match errors.as_slice() {
            [one] => format!("ListOptions.meta.k8s.io \"\" is invalid: {one}"),
            many => format!("ListOptions.meta.k8s.io \"\" is invalid: [{}]", many.join(", ")),
        };
        let mut s = Status::failure(422, "Invalid", message);
        s.details = Some(Box::new(Details { group: "meta.k8s.io".into(), kind: "ListOptions".into(), causes, ..Details::default() }));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_serialize_as_the_api_server_writes_them() {
        let s = serde_json::to_string(&Status::expired("The resourceVersion for the provided list is too old.")).unwrap();
        assert_eq!(
            s,
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"The resourceVersion for the provided list is too old.","reason":"Expired","code":410}"#
        );
        let cause = Cause { reason: "FieldValueForbidden", message: "resourceVersionMatch: Forbidden: x".into(), field: "resourceVersionMatch".into() };
        let v = serde_json::to_value(Status::invalid_list_options(vec![cause])).unwrap();
        assert_eq!(v["code"], 422);
        assert_eq!(v["message"], "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: x");
        assert_eq!(v["details"]["kind"], "ListOptions");
        assert_eq!(v["details"]["causes"][0]["field"], "resourceVersionMatch");
    }
}
