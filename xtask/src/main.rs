//! Developer tasks for etcdscope: the Kubernetes schemas (docs/schemas.md).
//!
//! `schemas/kubernetes/*.proto` (with `go-json.txt` and `SOURCES.md`) are generated from facts
//! committed under `schemas/upstream/`, which are learned from Kubernetes' own sources:
//!
//! * `cargo xtask schemas [--check]` renders schemas/kubernetes from the committed facts
//!   (`protobuf.tsv`, `go-json-tags.tsv`) and the overlay, offline; `--check` (run by
//!   scripts/test.sh) fails if anything on disk differs. Both compile the result with protox.
//! * `cargo xtask schemas --upstream [--check]` learns the facts again from the upstream sources
//!   pinned in `schemas/upstream/sources.txt` (each checked against its `<source>.sha256`), drops
//!   the overlay entries the sources now have, and regenerates; with `--check` it writes nothing
//!   and fails if any committed file differs from what the sources give.
//! * `cargo xtask schemas --k8s-tag vX.Y.Z` is the refresh: the same, with `vX.Y.Z` made the newest
//!   release (replacing the listed release of its minor version); a source new to the list is
//!   pinned (its manifest written) when first read.
//!
//! Upstream sources are read from the cache, else from git (`--k8s-git`, `ETCDSCOPE_K8S_GIT`,
//! default GitHub): see [`upstream`]. The protobuf facts come from `generated.proto` (compiled with
//! protox, see [`protofacts`]), the Go facts from the Go struct tags ([`gotags`]).
//!
//! `cargo xtask learn-overlay` learns overlay entries from Kubernetes' round-trip fixtures for
//! whatever the fixtures have that no source has (see [`learn`]).

mod gen;
mod gotags;
mod learn;
mod openapi;
mod overlay;
mod protofacts;
mod upstream;
mod wire;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};

const USAGE: &str = "\
usage: cargo xtask schemas [--check]
       cargo xtask schemas --upstream [--check] [--k8s-git TEMPLATE] [--cache DIR]
       cargo xtask schemas --k8s-tag vX.Y.Z [--k8s-ref REPO=REF]... [--k8s-git TEMPLATE] [--cache DIR]
       cargo xtask learn-overlay [--dry-run]
(docs/schemas.md)";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["schemas", rest @ ..] => schemas(&SchemaArgs::parse(rest)?),
        ["learn-overlay"] => learn::run(false),
        ["learn-overlay", "--dry-run"] => learn::run(true),
        _ => bail!("{USAGE}"),
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask/ has a parent").to_path_buf()
}

#[derive(Debug, Default)]
struct SchemaArgs {
    check: bool,
    upstream: bool,
    k8s_tag: Option<String>,
    /// `--k8s-ref REPO=REF`: a ref other than v0.X.Y for one repository of the new release.
    refs: BTreeMap<String, String>,
    git: Option<String>,
    cache: Option<PathBuf>,
}

impl SchemaArgs {
    fn parse(args: &[&str]) -> Result<SchemaArgs> {
        let mut a = SchemaArgs::default();
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let mut value = || it.next().copied().with_context(|| format!("{arg} needs a value\n{USAGE}"));
            match *arg {
                "--check" => a.check = true,
                "--upstream" => a.upstream = true,
                "--k8s-tag" => a.k8s_tag = Some(value()?.to_owned()),
                "--k8s-ref" => {
                    let v = value()?;
                    let (repo, git_ref) = v.split_once('=').with_context(|| format!("--k8s-ref {v}: expected REPO=REF"))?;
                    a.refs.insert(repo.to_owned(), git_ref.to_owned());
                }
                "--k8s-git" => a.git = Some(value()?.to_owned()),
                "--cache" => a.cache = Some(PathBuf::from(value()?)),
                _ => bail!("unknown argument {arg}\n{USAGE}"),
            }
        }
        if a.k8s_tag.is_some() {
            if a.check {
                bail!("--k8s-tag changes the sources; check with --upstream --check\n{USAGE}");
            }
            a.upstream = true;
        } else if !a.refs.is_empty() {
            bail!("--k8s-ref goes with --k8s-tag\n{USAGE}");
        }
        if !a.upstream && (a.git.is_some() || a.cache.is_some()) {
            bail!("--k8s-git and --cache go with --upstream or --k8s-tag\n{USAGE}");
        }
        Ok(a)
    }
}

/// What `schemas` writes (or, with `--check`, compares): relative path -> contents.
#[derive(Default)]
struct Outputs {
    files: BTreeMap<String, String>,
}

fn schemas(args: &SchemaArgs) -> Result<()> {
    let start = Instant::now();
    let root = repo_root();
    let mut out = Outputs::default();
    let mut overlay = overlay::Overlay::load(&root.join(overlay::PATH))?;
    let inputs = if args.upstream {
        let (inputs, sources, pruned, dropped) = learn_upstream(&root, args, &overlay)?;
        out.files.insert(upstream::SOURCES.into(), sources.render());
        out.files.insert(protofacts::PATH.into(), inputs.inputs.proto.render());
        out.files.insert(gotags::PATH.into(), inputs.go_text.clone());
        if !dropped.is_empty() {
            eprintln!("overlay: {} entries the upstream sources now have:", dropped.len());
            for d in &dropped {
                eprintln!("  {d}");
            }
            out.files.insert(overlay::PATH.into(), pruned.to_json());
            overlay = pruned;
        }
        inputs.inputs
    } else {
        gen::Inputs::load(&root)?
    };
    let generated = gen::generate(&inputs, &overlay)?;
    let generated_in = start.elapsed();
    // Compile what was generated, from memory, so a broken output is never accepted.
    compile_in_memory(&generated).context("generated .proto files do not compile with protox")?;

    let out_dir = root.join("schemas/kubernetes");
    let on_disk = read_dir_outputs(&out_dir)?;
    let differs: Vec<&String> = generated.iter().filter(|(n, t)| on_disk.get(*n) != Some(t)).map(|(n, _)| n).collect();
    let stale: Vec<&String> = on_disk.keys().filter(|k| !generated.contains_key(*k)).collect();
    let facts_differ: Vec<&String> = out.files.iter().filter(|(p, t)| std::fs::read_to_string(root.join(p)).ok().as_ref() != Some(t)).map(|(p, _)| p).collect();

    if args.check {
        if !facts_differ.is_empty() {
            bail!("{facts_differ:?} differ from what the upstream sources give; run `cargo xtask schemas --upstream`");
        }
        if !differs.is_empty() || !stale.is_empty() {
            bail!("schemas/kubernetes is out of date (differs: {differs:?}; not generated: {stale:?}); run `cargo xtask schemas`");
        }
        compile_dir(&out_dir)?;
        eprintln!("schemas/kubernetes is up to date: {} files, compiled with protox ({:.1?})", generated.len(), start.elapsed());
        return Ok(());
    }

    for p in &facts_differ {
        let path = root.join(p);
        std::fs::create_dir_all(path.parent().unwrap())?;
        std::fs::write(&path, &out.files[*p])?;
        eprintln!("wrote {p}");
    }
    std::fs::create_dir_all(&out_dir)?;
    for name in &stale {
        std::fs::remove_file(out_dir.join(name))?;
    }
    for name in &differs {
        std::fs::write(out_dir.join(name), &generated[*name])?;
    }
    compile_dir(&out_dir)?;
    eprintln!(
        "schemas/kubernetes: {} files ({} changed, {} removed); generated in {:.1?}, total {:.1?}",
        generated.len(),
        differs.len(),
        stale.len(),
        generated_in,
        start.elapsed()
    );
    Ok(())
}

/// The facts learned from the upstream sources, with the Go facts' text as written.
struct Learned {
    inputs: gen::Inputs,
    go_text: String,
}

/// Prepares the sources (pinning new ones unless checking), learns their protobuf and Go facts,
/// and prunes the overlay. Returns the facts, the source list with its commits, the pruned
/// overlay and what was pruned.
fn learn_upstream(root: &Path, args: &SchemaArgs, overlay: &overlay::Overlay) -> Result<(Learned, upstream::SourceList, overlay::Overlay, Vec<String>)> {
    let mut list = upstream::SourceList::load(&root.join(upstream::SOURCES))?;
    if let Some(tag) = &args.k8s_tag {
        list = list.with_release(upstream::Source::release(tag, &args.refs)?)?;
    }
    let mut opts = upstream::Options::from_env();
    if let Some(g) = &args.git {
        opts.git = g.clone();
    }
    if let Some(c) = &args.cache {
        opts.cache = c.clone();
    }
    let (list, ready) = upstream::prepare(root, &list, &opts, !args.check)?;
    let mut per_source = Vec::new();
    for r in &ready {
        let messages = protofacts::read_source(r).with_context(|| format!("source {}", r.source.name))?;
        eprintln!("{}: {} messages ({})", r.source.name, messages.len(), r.dir.display());
        per_source.push((protofacts::SourceLine::of(&r.source), messages));
    }
    let proto = protofacts::merge(per_source);
    let ages = list.ages();
    let go_sources: Vec<gotags::Source> = ready.iter().zip(ages).flat_map(|(r, age)| gotags::Source::of(r, age)).collect();
    let go_text = gotags::learn_text(&go_sources)?;
    let go = gotags::GoFacts::parse(&go_text)?;
    let inputs = gen::Inputs { proto, go };
    let (pruned, dropped) = gen::prune_overlay(&inputs, overlay)?;
    Ok((Learned { inputs, go_text }, list, pruned, dropped))
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
