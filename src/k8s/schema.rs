//! Kubernetes message schemas: the descriptor set compiled from schemas/kubernetes at build time
//! and embedded in the binary, plus any .proto files a user adds at run time (`--proto-path`),
//! and the lookup from a stored object's apiVersion/kind to its message.

use super::plan::Plans;
use prost_reflect::{DescriptorPool, MessageDescriptor};
use std::collections::HashMap;
use std::path::Path;

static EMBEDDED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/kubernetes.fds"));

/// Why schemas could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("embedded Kubernetes schemas are unreadable: {0}")]
    Embedded(String),
    #[error("--proto-path {dir}: {reason}")]
    ProtoPath { dir: String, reason: String },
}

/// Messages by (package segment before the version, version, kind).
pub struct Schemas {
    pool: DescriptorPool,
    by_type: HashMap<(String, String, String), MessageDescriptor>,
    /// Rendering plans for every message of `pool`.
    plans: Plans,
}

impl Schemas {
    /// The schemas built into the binary.
    pub fn embedded() -> Result<Schemas, SchemaError> {
        let pool = DescriptorPool::decode(EMBEDDED).map_err(|e| SchemaError::Embedded(e.to_string()))?;
        Ok(Schemas::index(pool))
    }

    /// The built-in schemas plus every .proto file under `dir` (imports resolved against `dir`
    /// and the built-in files).
    pub fn with_proto_path(dir: &Path) -> Result<Schemas, SchemaError> {
        let mut pool = DescriptorPool::decode(EMBEDDED).map_err(|e| SchemaError::Embedded(e.to_string()))?;
        let err = |reason: String| SchemaError::ProtoPath { dir: dir.display().to_string(), reason };
        let mut files = Vec::new();
        collect_protos(dir, dir, &mut files).map_err(|e| err(e.to_string()))?;
        let mut compiler = protox::Compiler::new([dir]).map_err(|e| err(e.to_string()))?;
        compiler.include_imports(true);
        for f in &files {
            compiler.open_file(f).map_err(|e| err(e.to_string()))?;
        }
        for file in compiler.file_descriptor_set().file {
            if pool.get_file_by_name(file.name()).is_none() {
                pool.add_file_descriptor_proto(file).map_err(|e| err(e.to_string()))?;
            }
        }
        Ok(Schemas::index(pool))
    }

    fn index(pool: DescriptorPool) -> Schemas {
        let mut by_type = HashMap::new();
        for m in pool.all_messages() {
            let package: Vec<&str> = m.package_name().split('.').collect();
            if let [.., segment, version] = package.as_slice() {
                by_type.insert((segment.to_string(), version.to_string(), m.name().to_string()), m.clone());
            }
        }
        let plans = Plans::build(&pool);
        Schemas { pool, by_type, plans }
    }

    pub fn plans(&self) -> &Plans {
        &self.plans
    }

    /// The rendering plan index of a stored object's message.
    pub fn plan_for_type(&self, api_version: &str, kind: &str) -> Option<usize> {
        self.for_type(api_version, kind).and_then(|m| self.plans.index_of(m.full_name()))
    }

    pub fn pool(&self) -> &DescriptorPool {
        &self.pool
    }

    pub fn message(&self, full_name: &str) -> Option<MessageDescriptor> {
        self.pool.get_message_by_name(full_name)
    }

    /// The message for a stored object's `apiVersion` and `kind`.
    pub fn for_type(&self, api_version: &str, kind: &str) -> Option<MessageDescriptor> {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let key = |segment: &str| (segment.to_string(), version.to_string(), kind.to_string());
        // meta.v1 types (Status, APIGroup, *Options) are served under the core group's "v1".
        self.by_type.get(&key(package_segment(group))).or_else(|| group.is_empty().then(|| self.by_type.get(&key("meta"))).flatten()).cloned()
    }

    /// Number of messages known.
    pub fn len(&self) -> usize {
        self.pool.all_messages().count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The proto package segment that holds a group's types: `apps` for "apps", `rbac` for
/// "rbac.authorization.k8s.io", `core` for the core group.
fn package_segment(group: &str) -> &str {
    match group {
        "" => "core",
        "internal.apiserver.k8s.io" => "apiserverinternal",
        "meta.k8s.io" => "v1",
        g => g.split('.').next().unwrap_or(g),
    }
}

fn collect_protos(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            collect_protos(root, &p, out)?;
        } else if p.extension().is_some_and(|x| x == "proto") {
            out.push(p.strip_prefix(root).unwrap_or(&p).to_string_lossy().into_owned());
        }
    }
    Ok(())
}
