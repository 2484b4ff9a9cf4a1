//! `etcdscope serve` (issue 19, being built): a snapshot as a read-only Kubernetes API server.
//! This far: the request parser and the API server's failure statuses, pure code that the
//! server's handlers will stand on (docs/design/serve.md has the plan).

pub mod request;
pub mod status;
