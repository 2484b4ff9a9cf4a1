//! Developer tasks for etcdscope.
//!
//! `cargo xtask schemas [--check]` regenerates `schemas/kubernetes/*.proto` (and `SOURCES.md`) from
//! two crates.io dependencies, without copying any upstream `.proto` file:
//!
//! * k8s-pb (prost-generated Rust) gives every message, field number, type and label, and the
//!   proto package (its module path `api::core::v1` is package `k8s.io.api.core.v1`);
//! * k8s-openapi (its newest release module, the one its `latest` feature enables) gives the exact
//!   JSON field names (from its `impl Serialize` bodies) and the original spelling of type names
//!   (prost turns `AWSElasticBlockStoreVolumeSource` into `AwsElasticBlockStoreVolumeSource`).
//!
//! Both crates are read as source with `syn`, never compiled: they are `cfg(any())` dependencies of
//! this package, so `cargo metadata` downloads them and tells where they are, and `Cargo.lock`
//! pins their versions. `--check` regenerates in memory and fails if anything on disk differs;
//! both modes compile the result with protox.
//!
//! k8s-pb trails Kubernetes. `schemas/overlay/kubernetes.json` adds what it lacks (see
//! [`overlay`]); `cargo xtask learn-overlay` learns those additions from Kubernetes' own
//! round-trip fixtures (`../shared/k8s-fixtures`, see [`learn`]), and `cargo xtask schemas`
//! merges them, each marked `// overlay: <provenance>`.
//!
//! The renderer also needs Go facts the protobuf schema cannot carry (which fields Go writes with
//! `omitempty`, which are pointers, slices or maps, which are inlined): `cargo xtask learn-go-tags`
//! reads them from Kubernetes' Go struct tags into the committed `schemas/overlay/go-json-tags.tsv`
//! (see [`gotags`]), and `cargo xtask schemas` turns that file into `schemas/kubernetes/go-json.txt`
//! (one rule per field of the generated messages) without needing the Go sources.

mod gen;
mod gotags;
mod learn;
mod overlay;
mod wire;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: cargo xtask schemas [--check] | cargo xtask learn-overlay [--dry-run] | \
                 cargo xtask learn-go-tags [--work DIR] [--out FILE] --from <git dir>@<ref>|<dir> ...";
    if args.first().is_some_and(|a| a == "learn-go-tags") {
        return gotags::run(&args[1..]);
    }
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["schemas"] => schemas(false),
        ["schemas", "--check"] => schemas(true),
        ["learn-overlay"] => learn::run(false),
        ["learn-overlay", "--dry-run"] => learn::run(true),
        _ => bail!("{usage}"),
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask/ has a parent").to_path_buf()
}

fn schemas(check: bool) -> Result<()> {
    let start = Instant::now();
    let root = repo_root();
    let out_dir = root.join("schemas/kubernetes");
    let sources = gen::Sources::locate(&root.join("xtask/Cargo.toml"))?;
    let overlay = overlay::Overlay::load(&root.join(overlay::PATH))?;
    let files = gen::generate(&sources, &overlay)?;
    let generated_in = start.elapsed();

    // Compile what was generated, from memory, so a broken output is never accepted.
    compile_in_memory(&files).context("generated .proto files do not compile with protox")?;

    let on_disk = read_dir_outputs(&out_dir)?;
    let mut differs = Vec::new();
    for (name, text) in &files {
        if on_disk.get(name) != Some(text) {
            differs.push(name.clone());
        }
    }
    let stale: Vec<&String> = on_disk.keys().filter(|k| !files.contains_key(*k)).collect();

    if check {
        if !differs.is_empty() || !stale.is_empty() {
            bail!("schemas/kubernetes is out of date (differs: {:?}; not generated: {:?}); run `cargo xtask schemas`", differs, stale);
        }
        compile_dir(&out_dir)?;
        eprintln!("schemas/kubernetes is up to date: {} files, compiled with protox ({:.1?})", files.len(), start.elapsed());
        return Ok(());
    }

    std::fs::create_dir_all(&out_dir)?;
    for name in &stale {
        std::fs::remove_file(out_dir.join(name))?;
    }
    for name in &differs {
        std::fs::write(out_dir.join(name), &files[name])?;
    }
    compile_dir(&out_dir)?;
    eprintln!(
        "schemas/kubernetes: {} files ({} changed, {} removed); generated in {:.1?}, total {:.1?}",
        files.len(),
        differs.len(),
        stale.len(),
        generated_in,
        start.elapsed()
    );
    Ok(())
}

/// Generated files on disk: every `*.proto` plus `SOURCES.md` and `go-json.txt`.
fn read_dir_outputs(dir: &Path) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    if !dir.exists() {
        return Ok(out);
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".proto") || name == "SOURCES.md" || name == gen::GO_JSON {
            out.insert(name, std::fs::read_to_string(&path)?);
        }
    }
    Ok(out)
}

fn proto_names<'a>(files: impl Iterator<Item = &'a String>) -> Vec<String> {
    files.filter(|n| n.ends_with(".proto")).cloned().collect()
}

fn compile_dir(dir: &Path) -> Result<()> {
    let names = proto_names(read_dir_outputs(dir)?.keys());
    protox::compile(&names, [dir]).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    Ok(())
}

struct MemResolver(BTreeMap<String, String>);

impl protox::file::FileResolver for MemResolver {
    fn open_file(&self, name: &str) -> Result<protox::file::File, protox::Error> {
        match self.0.get(name) {
            Some(src) => protox::file::File::from_source(name, src),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

/// Compiles the generated files from memory; returns the descriptor pool (used by the tests).
pub fn compile_in_memory(files: &BTreeMap<String, String>) -> Result<protox::prost_reflect::DescriptorPool> {
    let mut compiler = protox::Compiler::with_file_resolver(MemResolver(files.clone()));
    compiler.include_imports(true);
    for name in proto_names(files.keys()) {
        compiler.open_file(&name).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    }
    Ok(compiler.descriptor_pool())
}

#[cfg(test)]
mod tests;
