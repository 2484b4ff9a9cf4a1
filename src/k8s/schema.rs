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
    /// The `--proto-path` files read (root joined with each name), for commands that must never
    /// write over an input.
    proto_files: Vec<std::path::PathBuf>,
}

impl Schemas {
    /// The schemas built into the binary.
    pub fn embedded() -> Result<Schemas, SchemaError> {
        let pool = DescriptorPool::decode(EMBEDDED).map_err(|e| SchemaError::Embedded(e.to_string()))?;
        Ok(Schemas::index(pool))
    }

    /// The built-in schemas plus every .proto file under `dir` (imports resolved against `dir`
    /// and Google's well-known files). `dir` is walked with bounds ([`proto_tree`]) and every
    /// file is read once, before compiling: the compiler opens nothing itself.
    pub fn with_proto_path(dir: &Path) -> Result<Schemas, SchemaError> {
        let mut pool = DescriptorPool::decode(EMBEDDED).map_err(|e| SchemaError::Embedded(e.to_string()))?;
        let err = |reason: String| SchemaError::ProtoPath { dir: dir.display().to_string(), reason };
        let tree = proto_tree::read(dir).map_err(err)?;
        let names: Vec<String> = tree.names().map(str::to_string).collect();
        let mut resolver = protox::file::ChainFileResolver::new();
        resolver.add(tree);
        resolver.add(protox::file::GoogleFileResolver::new());
        let mut compiler = protox::Compiler::with_file_resolver(resolver);
        compiler.include_imports(true);
        for f in &names {
            compiler.open_file(f).map_err(|e| err(e.to_string()))?;
        }
        for file in compiler.file_descriptor_set().file {
            if pool.get_file_by_name(file.name()).is_none() {
                pool.add_file_descriptor_proto(file).map_err(|e| err(e.to_string()))?;
            }
        }
        let mut schemas = Schemas::index(pool);
        schemas.proto_files = names.iter().map(|n| dir.join(n)).collect();
        Ok(schemas)
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
        Schemas { pool, by_type, plans, proto_files: Vec::new() }
    }

    /// The `.proto` files read from `--proto-path` (none for the embedded schemas).
    pub fn proto_files(&self) -> &[std::path::PathBuf] {
        &self.proto_files
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

    /// The newest version (in Kubernetes' order: GA, then beta, then alpha; higher numbers
    /// first) in which the schemas know `kind` of `group`: the version `serve` advertises for a
    /// built-in resource, the one kube-apiserver stores it in for every type it still serves.
    pub fn newest_version(&self, group: &str, kind: &str) -> Option<String> {
        let segment = package_segment(group);
        self.by_type.keys().filter(|(s, _, k)| s == segment && k == kind).map(|(_, v, _)| v).max_by_key(|v| kube_version_order(v)).cloned()
    }

    /// Number of messages known.
    pub fn len(&self) -> usize {
        self.pool.all_messages().count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A sort key for Kubernetes version names, larger = preferred: `v2` > `v1` > `v1beta2` >
/// `v1beta1` > `v1alpha1` > anything that is not a version name (apimachinery's kube-aware order).
pub fn kube_version_order(v: &str) -> (u8, u64, u64) {
    let Some(rest) = v.strip_prefix('v') else { return (0, 0, 0) };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let Ok(major) = rest[..digits].parse::<u64>() else { return (0, 0, 0) };
    let tail = &rest[digits..];
    let (rank, minor) = match tail {
        "" => return (3, major, 0),
        t if t.starts_with("beta") => (2, &t[4..]),
        t if t.starts_with("alpha") => (1, &t[5..]),
        _ => return (0, 0, 0),
    };
    match minor.parse::<u64>() {
        Ok(m) => (rank, major, m),
        Err(_) => (0, 0, 0),
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

/// The `--proto-path` walk: every `*.proto` regular file under a directory, read into memory,
/// with bounds, so a mistaken or hostile path (a symlink loop, `/dev`, `/`, a FIFO named
/// `x.proto`) ends at once with a message instead of hanging or reading without end.
///
/// Symlinks are followed, but each directory (device and inode) is entered once: a link back
/// to a directory already entered is a loop and is not followed again. A `*.proto` that is not
/// a regular file (a FIFO, a device, a socket, a dangling link) is refused, and files are
/// opened non-blocking and checked again once open, so one swapped for a FIFO cannot block
/// the read. Other non-regular files are never opened.
pub mod proto_tree {
    use std::collections::{BTreeMap, HashSet};
    use std::io::Read as _;
    use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
    use std::path::Path;

    /// Directories below the root: Go module paths of proto trees nest about 10 deep
    /// (`github.com/org/repo/pkg/apis/group/v1`).
    pub const MAX_DEPTH: usize = 32;
    /// `.proto` files: kubernetes/api holds about 60, all of Kubernetes about 200.
    pub const MAX_FILES: usize = 10_000;
    /// Bytes of `.proto` source in all: Kubernetes' own are about 5 MiB.
    pub const MAX_BYTES: u64 = 64 << 20;
    /// Directory entries looked at: a proto tree holds a few thousand; a home directory, `/` or
    /// `/proc` given by mistake would otherwise be walked for minutes.
    pub const MAX_ENTRIES: usize = 100_000;

    /// The files read, by their name relative to the root (as imports name them).
    pub struct Tree {
        files: BTreeMap<String, String>,
    }

    impl Tree {
        pub fn names(&self) -> impl Iterator<Item = &str> {
            self.files.keys().map(String::as_str)
        }
    }

    impl protox::file::FileResolver for Tree {
        fn open_file(&self, name: &str) -> Result<protox::file::File, protox::Error> {
            match self.files.get(name) {
                Some(source) => protox::file::File::from_source(name, source),
                None => Err(protox::Error::file_not_found(name)),
            }
        }
    }

    struct Walk {
        entered: HashSet<(u64, u64)>,
        entries: usize,
        bytes: u64,
        files: BTreeMap<String, String>,
    }

    /// Reads every `*.proto` regular file under `root`; the error says which bound or file.
    pub fn read(root: &Path) -> Result<Tree, String> {
        let meta = std::fs::metadata(root).map_err(|e| e.to_string())?;
        if !meta.is_dir() {
            return Err("not a directory".into());
        }
        let mut walk = Walk { entered: HashSet::new(), entries: 0, bytes: 0, files: BTreeMap::new() };
        walk.dir(root, "", &meta, 0)?;
        if walk.files.is_empty() {
            return Err("no .proto file under it (give the directory that holds the .proto files)".into());
        }
        Ok(Tree { files: walk.files })
    }

    impl Walk {
        fn dir(&mut self, dir: &Path, name: &str, meta: &std::fs::Metadata, depth: usize) -> Result<(), String> {
            if !self.entered.insert((meta.dev(), meta.ino())) {
                return Ok(());
            }
            if depth > MAX_DEPTH {
                return Err(format!("{}: more than {MAX_DEPTH} directories deep", dir.display()));
            }
            let mut children = Vec::new();
            for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
                let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
                self.entries += 1;
                if self.entries > MAX_ENTRIES {
                    return Err(format!("more than {MAX_ENTRIES} entries under it (give the directory that holds the .proto files)"));
                }
                children.push(entry.file_name());
            }
            children.sort();
            for child in children {
                let path = dir.join(&child);
                let child = child.to_string_lossy();
                let name = if name.is_empty() { child.into_owned() } else { format!("{name}/{child}") };
                let is_proto = name.ends_with(".proto");
                // Follows a symlink; a dangling or looping link has no metadata.
                let meta = match std::fs::metadata(&path) {
                    Ok(m) => m,
                    Err(e) if is_proto => return Err(format!("{}: {e}", path.display())),
                    Err(_) => continue,
                };
                if meta.is_dir() {
                    self.dir(&path, &name, &meta, depth + 1)?;
                } else if is_proto {
                    self.file(&path, name, &meta)?;
                }
            }
            Ok(())
        }

        fn file(&mut self, path: &Path, name: String, meta: &std::fs::Metadata) -> Result<(), String> {
            crate::source::require_regular(path, meta).map_err(|e| e.to_string())?;
            if self.files.len() >= MAX_FILES {
                return Err(format!("more than {MAX_FILES} .proto files under it"));
            }
            let too_big = || format!("{}: more than {} MiB of .proto files under it", path.display(), MAX_BYTES >> 20);
            let left = MAX_BYTES - self.bytes;
            if meta.len() > left {
                return Err(too_big());
            }
            let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let opened = file.metadata().map_err(|e| format!("{}: {e}", path.display()))?;
            crate::source::require_regular(path, &opened).map_err(|e| e.to_string())?;
            if opened.is_dir() {
                return Err(format!("{}: is a directory", path.display()));
            }
            let mut source = String::new();
            file.take(left + 1).read_to_string(&mut source).map_err(|e| format!("{}: {e}", path.display()))?;
            if source.len() as u64 > left {
                return Err(too_big());
            }
            self.bytes += source.len() as u64;
            self.files.insert(name, source);
            Ok(())
        }
    }
}
