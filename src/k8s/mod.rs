//! Kubernetes objects in etcd: keys mapped to (group, resource, namespace, name), values
//! unwrapped (protobuf envelope, JSON, CBOR, encryption at rest).

pub mod decoder;
pub mod envelope;
pub mod facts;
pub mod fields;
pub mod key;
pub mod resources;
pub mod encryption;
pub mod schema;
pub mod secret;
pub mod json;
pub mod jsonpath;
pub mod plan;
pub mod select;
pub mod crd;
pub mod cbor;
pub mod required;
pub mod yaml;
