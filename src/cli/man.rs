//! `etcdscope man`: the man pages, generated from the command line's own definition. Without
//! `--out` the top page is printed; with `--out DIR` one page per command is written
//! (etcdscope.1, etcdscope-status.1, etcdscope-kv.1, etcdscope-kv-get.1, …), each whole or not
//! at all, so every page another one names in its SUBCOMMANDS section is there.

use super::{CliResult, EXIT_OK};
use etcdscope::output::{refuse_existing, PendingFile};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct ManArgs {
    /// Write the top page and one page per command into DIR (made if missing), and print the
    /// path of each, instead of printing the top page.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Replace pages that already exist in DIR.
    #[arg(long, requires = "out")]
    force: bool,
}

/// One rendered page: its file name (`etcdscope-kv-get.1`) and its roff text.
struct Page {
    file_name: String,
    roff: Vec<u8>,
}

/// `cmd` and its subcommands without clap's `help` subcommand, which has no page of its own
/// (`etcdscope help CMD` still works: this copy is only rendered).
fn without_help_subcommand(cmd: clap::Command) -> clap::Command {
    cmd.disable_help_subcommand(true).mut_subcommands(without_help_subcommand)
}

/// The pages of `cmd` and every visible subcommand under it, the top page first.
fn pages(cmd: clap::Command) -> std::io::Result<Vec<Page>> {
    let mut cmd = without_help_subcommand(cmd);
    // Building names each subcommand after its path (etcdscope-kv-get), as its page is named.
    cmd.build();
    let mut all = Vec::new();
    collect(&cmd, &mut all)?;
    Ok(all)
}

fn collect(cmd: &clap::Command, all: &mut Vec<Page>) -> std::io::Result<()> {
    // Every page from the same release (a subcommand has no version of its own to show).
    let man = clap_mangen::Man::new(cmd.clone()).source(format!("etcdscope {}", env!("CARGO_PKG_VERSION")));
    let mut roff = Vec::new();
    man.render(&mut roff)?;
    all.push(Page { file_name: man.get_filename(), roff });
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect(sub, all)?;
    }
    Ok(())
}

pub fn run(a: &ManArgs, cmd: clap::Command, out: &mut impl Write) -> CliResult {
    let pages = pages(cmd)?;
    let Some(dir) = &a.out else {
        out.write_all(&pages[0].roff)?;
        return Ok(EXIT_OK);
    };
    // Every refusal before anything is written.
    for page in &pages {
        refuse_existing(&dir.join(&page.file_name), a.force)?;
    }
    std::fs::create_dir_all(dir).map_err(|e| etcdscope::Error::io(dir, e))?;
    for page in &pages {
        let target = dir.join(&page.file_name);
        write_page(&target, &page.roff, a.force)?;
        writeln!(out, "{}", target.display())?;
    }
    Ok(EXIT_OK)
}

/// One page, written whole under a temporary name and renamed into place, readable by all as
/// man pages are (outputs are 0600 until then).
fn write_page(target: &Path, roff: &[u8], replace: bool) -> etcdscope::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut pending = PendingFile::beside(target)?;
    let written = pending.file().write_all(roff).and_then(|()| std::fs::set_permissions(pending.path(), std::fs::Permissions::from_mode(0o644)));
    written.map_err(|e| pending.name_target(etcdscope::Error::io(pending.path(), e)))?;
    pending.commit(replace)
}
