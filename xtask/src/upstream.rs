//! The upstream Kubernetes sources the schemas follow: named, pinned and checked.
//!
//! `schemas/upstream/sources.txt` lists them, highest priority first: Kubernetes releases, newest
//! first (older ones only add the types and fields newer ones removed), then `master` at the
//! commit whose round-trip fixtures the tests use (it adds what no release has yet). A source is
//! five repositories at one ref each: kubernetes/api, apimachinery, apiextensions-apiserver,
//! kube-aggregator and metrics (the staging repositories tag Kubernetes v1.X.Y as v0.X.Y).
//!
//! Only what the learners read is taken from a repository: every `generated.proto`, `go.mod`, and
//! the Go files of the packages that hold a `generated.proto` and of the packages of these modules
//! they import, transitively (tests, generated code, API docs, testdata and vendor left out): a
//! few hundred files per source. `schemas/upstream/<source>.sha256` pins them: the commit of each
//! repository and every file's SHA-256. Files that differ from their manifest are refused.
//!
//! The files are kept in a cache laid out as Go import paths (`<cache>/<source>/k8s.io/api/...`),
//! the paths the `.proto` files import each other by. They are read with git from `--k8s-git`
//! (a template, `{repo}` replaced by the repository name): an existing directory is read as a git
//! directory holding the refs (a clone or mirror), anything else is a URL fetched from, one
//! commit deep, into `<cache>/git/<repo>.git`. The default is GitHub.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

/// The list of sources, relative to the repository root.
pub const SOURCES: &str = "schemas/upstream/sources.txt";
/// Where the manifests (`<source>.sha256`) and the learned fact files live.
pub const DIR: &str = "schemas/upstream";

/// The repositories of a source (github.com/kubernetes/<name>) and the Go module each one is.
pub const REPOS: [(&str, &str); 5] = [
    ("api", "k8s.io/api"),
    ("apimachinery", "k8s.io/apimachinery"),
    ("apiextensions-apiserver", "k8s.io/apiextensions-apiserver"),
    ("kube-aggregator", "k8s.io/kube-aggregator"),
    ("metrics", "k8s.io/metrics"),
];

/// Where the repositories are read from when `--k8s-git` and `ETCDSCOPE_K8S_GIT` are not given.
pub const DEFAULT_GIT: &str = "https://github.com/kubernetes/{repo}.git";

// ---------------------------------------------------------------------------------------------
// The list of sources.

/// One repository of a source: the ref asked for and, once read, the commit it named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pin {
    pub repo: String,
    pub git_ref: String,
    pub commit: Option<String>,
}

impl Pin {
    pub fn module(&self) -> &'static str {
        REPOS.iter().find(|(r, _)| *r == self.repo).map(|(_, m)| *m).expect("pins are of known repositories")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// `v1.36.3` for a release, `master` for the fixtures' commit.
    pub name: String,
    /// One per repository, in [`REPOS`] order.
    pub pins: Vec<Pin>,
}

/// `v1.36.3` → (1, 36, 3); `None` for anything that is not a release tag.
pub fn release_version(tag: &str) -> Option<(u32, u32, u32)> {
    let mut parts = tag.strip_prefix('v')?.split('.');
    let mut num = || -> Option<u32> {
        let p = parts.next()?;
        (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())).then(|| p.parse().ok()).flatten()
    };
    let v = (num()?, num()?, num()?);
    parts.next().is_none().then_some(v)
}

impl Source {
    /// Kubernetes release `v1.X.Y`: each repository at its `v0.X.Y` tag, unless `refs` names
    /// another ref for it (a mirror that lacks the tag).
    pub fn release(tag: &str, refs: &BTreeMap<String, String>) -> Result<Source> {
        let (major, minor, patch) = release_version(tag).with_context(|| format!("{tag}: not a Kubernetes release tag (vMAJOR.MINOR.PATCH)"))?;
        if major != 1 {
            bail!("{tag}: only Kubernetes 1.x releases are known (their repositories are tagged v0.MINOR.PATCH)");
        }
        for r in refs.keys() {
            if !REPOS.iter().any(|(n, _)| n == r) {
                bail!("--k8s-ref {r}=...: no such repository (one of {})", repo_names());
            }
        }
        let pins = REPOS
            .iter()
            .map(|(repo, _)| Pin { repo: (*repo).to_owned(), git_ref: refs.get(*repo).cloned().unwrap_or_else(|| format!("v0.{minor}.{patch}")), commit: None })
            .collect();
        Ok(Source { name: tag.to_owned(), pins })
    }

    fn manifest_path(&self, root: &Path) -> PathBuf {
        root.join(DIR).join(format!("{}.sha256", self.name))
    }

    /// `api v0.36.3 (3fde3c43c3cf), apimachinery ...`, for messages and headers.
    pub fn describe(&self) -> String {
        self.pins.iter().map(|p| format!("{} {} ({})", p.repo, p.git_ref, p.commit.as_deref().map_or("not read yet", short))).collect::<Vec<_>>().join(", ")
    }
}

pub fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}

fn repo_names() -> String {
    REPOS.iter().map(|(r, _)| *r).collect::<Vec<_>>().join(", ")
}

fn is_commit(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceList(pub Vec<Source>);

const SOURCES_HEADER: &str = "\
# The upstream Kubernetes sources of schemas/kubernetes, highest priority first (docs/schemas.md).
# Written by `cargo xtask schemas --k8s-tag`; each source's files are pinned by
# schemas/upstream/<source>.sha256. A message, and each of its fields, comes from the first source
# that has it: the newest release, then older releases (what later ones removed), then `master`
# (at the commit whose testdata scripts/k8s-fixtures.sh fetches: what no release has yet).
# columns: source, repository (github.com/kubernetes/<repository>), ref, commit
";

impl SourceList {
    pub fn load(path: &Path) -> Result<SourceList> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        SourceList::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    pub fn parse(text: &str) -> Result<SourceList> {
        let mut sources: Vec<Source> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let cols: Vec<&str> = line.split_whitespace().collect();
            let [name, repo, git_ref, commit] = cols.as_slice() else { bail!("line {}: expected source, repository, ref, commit", i + 1) };
            if !REPOS.iter().any(|(r, _)| r == repo) {
                bail!("line {}: unknown repository {repo} (one of {})", i + 1, repo_names());
            }
            let commit = match *commit {
                "-" => None,
                c if is_commit(c) => Some(c.to_owned()),
                c => bail!("line {}: {c} is not a commit id (40 lowercase hex digits, or - before the first read)", i + 1),
            };
            let pin = Pin { repo: (*repo).to_owned(), git_ref: (*git_ref).to_owned(), commit };
            match sources.iter_mut().find(|s| s.name == *name) {
                Some(s) if s.pins.iter().any(|p| p.repo == pin.repo) => bail!("line {}: {name} lists {repo} twice", i + 1),
                Some(s) => s.pins.push(pin),
                None => sources.push(Source { name: (*name).to_owned(), pins: vec![pin] }),
            }
        }
        for s in &mut sources {
            if s.pins.len() != REPOS.len() {
                bail!("source {} lists {} of the repositories {}", s.name, s.pins.len(), repo_names());
            }
            s.pins.sort_by_key(|p| REPOS.iter().position(|(r, _)| *r == p.repo));
            if s.name.contains(['/', '\\']) || s.name.starts_with('.') {
                bail!("source name {} cannot be a file name", s.name);
            }
        }
        if sources.is_empty() {
            bail!("no sources listed");
        }
        Ok(SourceList(sources))
    }

    pub fn render(&self) -> String {
        let mut o = SOURCES_HEADER.to_owned();
        let w = |f: &dyn Fn(&Source, &Pin) -> usize| self.0.iter().flat_map(|s| s.pins.iter().map(move |p| f(s, p))).max().unwrap_or(0);
        let (wn, wr, wf) = (w(&|s, _| s.name.len()), w(&|_, p| p.repo.len()), w(&|_, p| p.git_ref.len()));
        for s in &self.0 {
            for p in &s.pins {
                let line = format!("{:wn$}  {:wr$}  {:wf$}  {}", s.name, p.repo, p.git_ref, p.commit.as_deref().unwrap_or("-"));
                writeln!(o, "{}", line.trim_end()).unwrap();
            }
        }
        o
    }

    /// How new each source is (0 = newest), in list order: `master` (any source that is not a
    /// release) is newer than every release, as it is kept at a commit after the newest one;
    /// releases go by version.
    pub fn ages(&self) -> Vec<usize> {
        let key = |s: &Source| std::cmp::Reverse(release_version(&s.name).map_or((u32::MAX, 0, 0), |v| v));
        let mut order: Vec<usize> = (0..self.0.len()).collect();
        order.sort_by_key(|&i| key(&self.0[i]));
        let mut ages = vec![0; self.0.len()];
        for (age, i) in order.into_iter().enumerate() {
            ages[i] = age;
        }
        ages
    }

    /// The list with `release` as its newest release: it replaces the listed release of the same
    /// minor version, or is added in front of the older ones.
    pub fn with_release(&self, release: Source) -> Result<SourceList> {
        let (_, minor, _) = release_version(&release.name).context("not a release")?;
        let mut out = Vec::new();
        let mut placed = false;
        for s in &self.0 {
            match release_version(&s.name) {
                Some((_, m, _)) if m == minor => {
                    if !placed {
                        // The same release with the same refs keeps the commits it was pinned at.
                        let same = s.name == release.name && s.pins.iter().zip(&release.pins).all(|(a, b)| a.repo == b.repo && a.git_ref == b.git_ref);
                        out.push(if same { s.clone() } else { release.clone() });
                        placed = true;
                    }
                }
                Some((_, m, _)) if m > minor => bail!("{} is listed, newer than {}: the refresh is for the newest release", s.name, release.name),
                Some(_) | None if !placed => {
                    out.push(release.clone());
                    placed = true;
                    out.push(s.clone());
                }
                _ => out.push(s.clone()),
            }
        }
        if !placed {
            out.push(release);
        }
        Ok(SourceList(out))
    }
}

// ---------------------------------------------------------------------------------------------
// Manifests.

/// `schemas/upstream/<source>.sha256`: the commits read and every file's SHA-256.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// (repository, ref, commit), in [`REPOS`] order.
    pub commits: Vec<(String, String, String)>,
    /// Path under the source's directory (`k8s.io/api/core/v1/generated.proto`) -> SHA-256 (hex).
    pub files: BTreeMap<String, String>,
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().fold(String::with_capacity(64), |mut s, b| {
        write!(s, "{b:02x}").unwrap();
        s
    })
}

impl Manifest {
    pub fn of(source: &Source, files: &BTreeMap<String, Vec<u8>>) -> Manifest {
        Manifest {
            commits: source.pins.iter().map(|p| (p.repo.clone(), p.git_ref.clone(), p.commit.clone().unwrap_or_default())).collect(),
            files: files.iter().map(|(p, b)| (p.clone(), sha256_hex(b))).collect(),
        }
    }

    pub fn parse(text: &str) -> Result<Manifest> {
        let mut m = Manifest { commits: Vec::new(), files: BTreeMap::new() };
        for (i, line) in text.lines().enumerate() {
            if let Some(c) = line.strip_prefix("# commit\t") {
                let cols: Vec<&str> = c.split('\t').collect();
                let [repo, git_ref, commit] = cols.as_slice() else { bail!("line {}: `# commit` wants repository, ref, commit", i + 1) };
                m.commits.push(((*repo).to_owned(), (*git_ref).to_owned(), (*commit).to_owned()));
                continue;
            }
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (hash, path) = line.split_once("  ").with_context(|| format!("line {}: expected `<sha256>  <path>`", i + 1))?;
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                bail!("line {}: {hash} is not a SHA-256", i + 1);
            }
            if m.files.insert(path.to_owned(), hash.to_ascii_lowercase()).is_some() {
                bail!("line {}: {path} listed twice", i + 1);
            }
        }
        Ok(m)
    }

    pub fn render(&self, source: &str) -> String {
        let mut o = String::new();
        writeln!(o, "# The files of Kubernetes source `{source}` (schemas/upstream/sources.txt) that `cargo xtask schemas --upstream`").unwrap();
        writeln!(o, "# reads, with their SHA-256; files that differ are refused (docs/schemas.md). Written when the source is pinned.").unwrap();
        writeln!(o, "# Check a copy by hand: grep -v '^#' {source}.sha256 | (cd <cache>/{source} && sha256sum --strict -c)").unwrap();
        for (repo, git_ref, commit) in &self.commits {
            writeln!(o, "# commit\t{repo}\t{git_ref}\t{commit}").unwrap();
        }
        for (path, hash) in &self.files {
            writeln!(o, "{hash}  {path}").unwrap();
        }
        o
    }

    fn commits_of(source: &Source) -> Vec<(String, String, String)> {
        source.pins.iter().map(|p| (p.repo.clone(), p.git_ref.clone(), p.commit.clone().unwrap_or_default())).collect()
    }

    /// What differs between the files of `self` (the manifest) and `other` (what was read), at
    /// most a few names, for the error message.
    fn differences(&self, other: &Manifest) -> Vec<String> {
        let mut out = Vec::new();
        for (p, h) in &self.files {
            match other.files.get(p) {
                None => out.push(format!("{p}: missing")),
                Some(g) if g != h => out.push(format!("{p}: SHA-256 {g}, the manifest says {h}")),
                Some(_) => {}
            }
        }
        for p in other.files.keys().filter(|p| !self.files.contains_key(*p)) {
            out.push(format!("{p}: not in the manifest"));
        }
        out
    }

    /// Whether `dir` holds exactly the manifest's files with the manifest's contents.
    fn matches_dir(&self, dir: &Path) -> Result<bool> {
        if !dir.is_dir() {
            return Ok(false);
        }
        let mut found = BTreeMap::new();
        for path in walk_files(dir)? {
            let rel = path.strip_prefix(dir).unwrap().to_string_lossy().replace('\\', "/");
            if rel == MARKER {
                continue;
            }
            found.insert(rel, sha256_hex(&std::fs::read(&path)?));
        }
        Ok(found == self.files)
    }
}

/// Every regular file under `dir`, sorted.
pub fn walk_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let e = e?;
            let t = e.file_type()?;
            if t.is_dir() {
                dirs.push(e.path());
            } else if t.is_file() {
                out.push(e.path());
            }
        }
    }
    out.sort();
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Which files are read.

/// Directories Go and the learners leave out.
fn in_skipped_dir(path: &str) -> bool {
    let mut dirs: Vec<&str> = path.split('/').collect();
    dirs.pop();
    dirs.iter().any(|d| matches!(*d, "vendor" | "testdata" | "third_party") || d.starts_with('.') || d.starts_with('_'))
}

/// A Go file the Go tag learner reads: not a test, not generated code, not the API docs.
fn is_go_source(name: &str) -> bool {
    name.ends_with(".go")
        && !name.ends_with("_test.go")
        && !name.ends_with(".pb.go")
        && !name.starts_with("zz_generated")
        && name != "types_swagger_doc_generated.go"
}

fn dir_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

fn name_of(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(_, n)| n)
}

/// Whether a file of a repository tree is a candidate at all (the selection reads these).
pub fn candidate(path: &str) -> bool {
    if path == "go.mod" {
        return true;
    }
    let name = name_of(path);
    !in_skipped_dir(path) && (name == "generated.proto" || is_go_source(name))
}

/// The files taken from the candidates (keyed `<module>/<path in the repository>`): every
/// `generated.proto` and `go.mod`, and the Go files of the packages holding a `generated.proto`
/// and of every package of these modules they import, transitively.
pub fn select(candidates: &BTreeMap<String, Vec<u8>>) -> BTreeSet<String> {
    let mut by_dir: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut chosen = BTreeSet::new();
    let mut todo = Vec::new();
    for path in candidates.keys() {
        let name = name_of(path);
        if name == "generated.proto" {
            chosen.insert(path.clone());
            todo.push(dir_of(path));
        } else if name == "go.mod" {
            chosen.insert(path.clone());
        } else {
            by_dir.entry(dir_of(path)).or_default().push(path);
        }
    }
    let mut seen = BTreeSet::new();
    while let Some(dir) = todo.pop() {
        if !seen.insert(dir) {
            continue;
        }
        for path in by_dir.get(dir).into_iter().flatten() {
            chosen.insert((*path).to_owned());
            let src = String::from_utf8_lossy(&candidates[*path]);
            for imported in crate::gotags::parse_go(&src).imports.into_values() {
                if let Some((d, _)) = by_dir.get_key_value(imported.as_str()) {
                    todo.push(d);
                }
            }
        }
    }
    chosen
}

// ---------------------------------------------------------------------------------------------
// Git.

struct Git {
    dir: PathBuf,
}

impl Git {
    fn output(&self, args: &[&str]) -> Result<Vec<u8>> {
        let out = Command::new("git").arg("-C").arg(&self.dir).args(args).stdin(Stdio::null()).output().context("running git")?;
        if !out.status.success() {
            bail!("git -C {} {}: {}", self.dir.display(), args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
        }
        Ok(out.stdout)
    }

    fn commit_of(&self, rev: &str) -> Result<String> {
        let out = self.output(&["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")])?;
        Ok(String::from_utf8(out)?.trim().to_owned())
    }

    /// Blobs of the tree at `commit`: path -> object id.
    fn tree(&self, commit: &str) -> Result<Vec<(String, String)>> {
        let out = self.output(&["ls-tree", "-r", "-z", "--full-tree", commit])?;
        let mut files = Vec::new();
        for entry in out.split(|b| *b == 0).filter(|e| !e.is_empty()) {
            let entry = std::str::from_utf8(entry).context("a path that is not UTF-8")?;
            let (meta, path) = entry.split_once('\t').context("ls-tree output")?;
            let cols: Vec<&str> = meta.split(' ').collect();
            if let [_, "blob", oid] = cols.as_slice() {
                files.push((path.to_owned(), (*oid).to_owned()));
            }
        }
        Ok(files)
    }

    /// The contents of the given blobs, in order, from one `git cat-file --batch`.
    fn blobs(&self, oids: &[&str]) -> Result<Vec<Vec<u8>>> {
        let mut child = Command::new("git")
            .arg("-C")
            .arg(&self.dir)
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("running git cat-file")?;
        let mut stdin = child.stdin.take().unwrap();
        let requests: String = oids.iter().map(|o| format!("{o}\n")).collect();
        let writer = std::thread::spawn(move || stdin.write_all(requests.as_bytes()));
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut blobs = Vec::with_capacity(oids.len());
        for oid in oids {
            let mut header = String::new();
            out.read_line(&mut header)?;
            let cols: Vec<&str> = header.split_whitespace().collect();
            let [_, "blob", size] = cols.as_slice() else { bail!("git cat-file: {oid}: {}", header.trim()) };
            let size: usize = size.parse()?;
            let mut body = vec![0; size + 1];
            out.read_exact(&mut body)?;
            body.pop(); // the newline after each object
            blobs.push(body);
        }
        writer.join().map_err(|_| anyhow::anyhow!("git cat-file writer panicked"))??;
        if !child.wait()?.success() {
            bail!("git cat-file failed");
        }
        Ok(blobs)
    }
}

/// Where to read the repositories from, and the cache.
pub struct Options {
    /// `{repo}` is replaced by the repository name.
    pub git: String,
    pub cache: PathBuf,
}

impl Options {
    /// `ETCDSCOPE_K8S_GIT` (else GitHub) and `$XDG_CACHE_HOME/etcdscope/k8s-upstream` (else
    /// `~/.cache/...`).
    pub fn from_env() -> Options {
        let git = std::env::var("ETCDSCOPE_K8S_GIT").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| DEFAULT_GIT.to_owned());
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        Options { git, cache: base.join("etcdscope/k8s-upstream") }
    }

    /// The repository at `git_ref`: from a local git directory, or fetched into the cache.
    fn open(&self, repo: &str, git_ref: &str) -> Result<(Git, String)> {
        let place = self.git.replace("{repo}", repo);
        if Path::new(&place).is_dir() {
            let git = Git { dir: PathBuf::from(&place) };
            let commit = git.commit_of(git_ref).with_context(|| format!("{place} has no {git_ref} (a git directory of kubernetes/{repo} holding that ref)"))?;
            return Ok((git, commit));
        }
        let bare = self.cache.join("git").join(format!("{repo}.git"));
        let git = Git { dir: bare.clone() };
        if !bare.join("HEAD").exists() {
            std::fs::create_dir_all(&bare)?;
            git.output(&["init", "--bare", "--quiet"])?;
        }
        eprintln!("fetching kubernetes/{repo} {git_ref} from {place}");
        git.output(&["fetch", "--quiet", "--depth", "1", "--no-tags", &place, git_ref])
            .with_context(|| format!("fetching {git_ref} from {place} (offline? give --k8s-git a local clone or mirror, `{{repo}}` standing for the name)"))?;
        let commit = git.commit_of("FETCH_HEAD")?;
        Ok((git, commit))
    }
}

/// Written beside the files in the cache: the source's commits, so a stale copy is not taken.
const MARKER: &str = ".etcdscope-source";

/// A source whose files are in the cache and match its manifest.
pub struct Ready {
    pub source: Source,
    pub dir: PathBuf,
}

impl Ready {
    /// The Go module's directory in this source.
    pub fn module_dir(&self, module: &str) -> PathBuf {
        self.dir.join(module)
    }
}

/// Makes every source of `list` ready: the cache when it matches the manifest, else the files
/// read from git, checked against the manifest (or pinned by a new one when the source has none
/// or its commits changed, when `pin` is set; without it that is an error). Returns the list
/// with every commit filled in.
pub fn prepare(root: &Path, list: &SourceList, opts: &Options, pin: bool) -> Result<(SourceList, Vec<Ready>)> {
    let mut sources = Vec::new();
    let mut ready = Vec::new();
    for s in &list.0 {
        let r = prepare_one(root, s, opts, pin).with_context(|| format!("source {}", s.name))?;
        sources.push(r.source.clone());
        ready.push(r);
    }
    Ok((SourceList(sources), ready))
}

fn prepare_one(root: &Path, s: &Source, opts: &Options, pin: bool) -> Result<Ready> {
    let manifest_path = s.manifest_path(root);
    let manifest = match std::fs::read_to_string(&manifest_path) {
        Ok(t) => Some(Manifest::parse(&t).with_context(|| format!("in {}", manifest_path.display()))?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading {}", manifest_path.display())),
    };
    let dir = opts.cache.join(&s.name);
    let pinned = s.pins.iter().all(|p| p.commit.is_some());
    if let Some(m) = manifest.as_ref().filter(|m| pinned && m.commits == Manifest::commits_of(s)) {
        if m.matches_dir(&dir)? {
            return Ok(Ready { source: s.clone(), dir });
        }
    }

    // Read the candidates of every repository from git.
    let mut source = s.clone();
    let mut candidates: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for pin in &mut source.pins {
        let (git, commit) = opts.open(&pin.repo, &pin.git_ref)?;
        if let Some(want) = &pin.commit {
            if *want != commit {
                bail!(
                    "kubernetes/{} {} is commit {commit}, but {SOURCES} pins {want} (the ref moved? fix the pin by hand if that is intended)",
                    pin.repo,
                    pin.git_ref
                );
            }
        }
        pin.commit = Some(commit.clone());
        let tree: Vec<(String, String)> = git.tree(&commit)?.into_iter().filter(|(p, _)| candidate(p)).collect();
        let oids: Vec<&str> = tree.iter().map(|(_, o)| o.as_str()).collect();
        for ((path, _), body) in tree.iter().zip(git.blobs(&oids)?) {
            candidates.insert(format!("{}/{path}", pin.module()), body);
        }
    }
    let chosen = select(&candidates);
    let files: BTreeMap<String, Vec<u8>> = candidates.into_iter().filter(|(p, _)| chosen.contains(p)).collect();
    let read = Manifest::of(&source, &files);
    match &manifest {
        Some(m) if m.commits == read.commits => {
            let diff = m.differences(&read);
            if !diff.is_empty() {
                bail!("what was read differs from {}:\n  {}", manifest_path.display(), diff.iter().take(20).cloned().collect::<Vec<_>>().join("\n  "));
            }
        }
        _ if !pin => {
            bail!("{} does not pin {} (commits {}); pin it with `cargo xtask schemas --upstream`", manifest_path.display(), source.name, source.describe())
        }
        _ => {
            std::fs::create_dir_all(manifest_path.parent().unwrap())?;
            std::fs::write(&manifest_path, read.render(&source.name))?;
            eprintln!("pinned {}: {} files of {} ({})", source.name, files.len(), source.describe(), manifest_path.display());
        }
    }

    // Into the cache, whole: a temporary directory renamed over the old copy.
    std::fs::create_dir_all(&opts.cache)?;
    let tmp = opts.cache.join(format!(".{}.{}", source.name, std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)?;
    }
    for (path, body) in &files {
        let p = tmp.join(path);
        std::fs::create_dir_all(p.parent().unwrap())?;
        std::fs::write(&p, body)?;
    }
    std::fs::write(tmp.join(MARKER), source.describe())?;
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::rename(&tmp, &dir)?;
    Ok(Ready { source, dir })
}
