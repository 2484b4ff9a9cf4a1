//! Fields Go serializes without `omitempty` (required in the API): their zero values are shown.
//! The list is generated with the schemas (schemas/kubernetes/required.txt, one
//! `<message full name>.<json name>` per line, from k8s-openapi's non-optional fields).

use std::collections::HashSet;
use std::sync::OnceLock;

static REQUIRED: &str = include_str!("../../schemas/kubernetes/required.txt");

pub fn is_required(message: &str, json_name: &str) -> bool {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    let set = SET.get_or_init(|| REQUIRED.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect());
    set.contains(format!("{message}.{json_name}").as_str())
}

/// Go's encoding rule for a field, from its struct tag, when the generated facts have it.
pub fn rule(_message: &str, _number: u32) -> Option<super::plan::Rule> {
    None
}
