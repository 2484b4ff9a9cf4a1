//! Kubernetes objects in etcd: keys mapped to (group, resource, namespace, name), values
//! unwrapped (protobuf envelope, JSON, CBOR, encryption at rest).

pub mod cbor;
pub mod crd;
pub mod decoder;
pub mod encryption;
pub mod envelope;
pub mod facts;
pub mod fields;
pub mod json;
pub mod jsonpath;
pub mod key;
pub mod plan;
pub mod required;
pub mod resources;
pub mod schema;
pub mod secret;
pub mod select;
pub mod selectable;
pub mod yaml;
