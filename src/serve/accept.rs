//! Content negotiation: which of the API server's JSON forms a request's `Accept` header asks
//! for. Clients name the form with media-type parameters (`as`, `v`, `g`) in any order:
//! kubectl's tables send `application/json;as=Table;v=v1;g=meta.k8s.io`, client-go's discovery
//! `application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`. The first range we
//! can answer wins, in the client's order, as the API server picks; `q` weights are ignored, as
//! it ignores them. Protobuf and YAML are not served: a client that accepts nothing else gets
//! 406.

use super::status::Status;

/// Most media ranges read from one header.
const MAX_RANGES: usize = 64;

/// The representation chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Negotiated {
    /// The object, list or document itself.
    Json,
    /// A meta.k8s.io Table (`v1` or `v1beta1`): server-side printing.
    Table(&'static str),
    /// Objects reduced to their metadata (meta.k8s.io PartialObjectMetadata, `v1` or `v1beta1`).
    Metadata(&'static str),
    /// The aggregated discovery document (apidiscovery.k8s.io `v2` or `v2beta1`).
    Discovery(&'static str),
}

/// The form to answer `accept` with; `discovery` says whether the path is `/api` or `/apis`
/// (the only paths with an aggregated form).
pub fn negotiate(accept: Option<&str>, discovery: bool) -> Result<Negotiated, Status> {
    let Some(accept) = accept.map(str::trim).filter(|a| !a.is_empty()) else { return Ok(Negotiated::Json) };
    for range in accept.split(',').take(MAX_RANGES) {
        if let Some(form) = form(range, discovery) {
            return Ok(form);
        }
    }
    Err(Status::not_acceptable(
        "only the following media types are accepted: application/json (and its Table, PartialObjectMetadata and aggregated discovery forms); \
         etcdscope serve does not write protobuf or YAML",
    ))
}

/// What one media range asks for, if we can answer it.
fn form(range: &str, discovery: bool) -> Option<Negotiated> {
    let mut parts = range.split(';');
    let media = parts.next()?.trim().to_ascii_lowercase();
    if !matches!(media.as_str(), "application/json" | "application/*" | "*/*") {
        return None;
    }
    let (mut as_, mut v, mut g) = (None, None, None);
    for p in parts {
        let (k, val) = p.split_once('=').unwrap_or((p, ""));
        let val = val.trim().trim_matches('"');
        match k.trim() {
            "as" => as_ = Some(val),
            "v" => v = Some(val),
            "g" => g = Some(val),
            _ => {}
        }
    }
    let Some(as_) = as_ else { return Some(Negotiated::Json) };
    let version = |allowed: [&'static str; 2]| allowed.into_iter().find(|a| Some(*a) == v);
    match (as_, g) {
        ("Table", Some("meta.k8s.io")) if !discovery => version(["v1", "v1beta1"]).map(Negotiated::Table),
        ("PartialObjectMetadata" | "PartialObjectMetadataList", Some("meta.k8s.io")) if !discovery => version(["v1", "v1beta1"]).map(Negotiated::Metadata),
        ("APIGroupDiscoveryList", Some("apidiscovery.k8s.io")) if discovery => version(["v2", "v2beta1"]).map(Negotiated::Discovery),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_and_client_go_headers() {
        let table = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(negotiate(Some(table), false), Ok(Negotiated::Table("v1")));
        let discovery = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(negotiate(Some(discovery), true), Ok(Negotiated::Discovery("v2")));
        // The same header on a path without an aggregated form falls through to plain JSON.
        assert_eq!(negotiate(Some(discovery), false), Ok(Negotiated::Json));
        assert_eq!(negotiate(Some("application/json, */*"), false), Ok(Negotiated::Json));
        assert_eq!(negotiate(None, false), Ok(Negotiated::Json));
        assert_eq!(negotiate(Some("application/json;g=meta.k8s.io;v=v1beta1;as=Table"), false), Ok(Negotiated::Table("v1beta1")));
        assert_eq!(negotiate(Some("application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"), false), Ok(Negotiated::Metadata("v1")));
    }

    #[test]
    fn what_cannot_be_answered_is_406() {
        assert_eq!(negotiate(Some("application/vnd.kubernetes.protobuf"), false).unwrap_err().code, 406);
        assert_eq!(negotiate(Some("application/json;as=Table;v=v1alpha1;g=meta.k8s.io"), false).unwrap_err().code, 406);
        assert_eq!(negotiate(Some("application/vnd.kubernetes.protobuf,application/json"), false), Ok(Negotiated::Json));
        assert_eq!(negotiate(Some(&"x/y,".repeat(100_000)), false).unwrap_err().code, 406);
    }
}
