//! Build script: compiles the curated catalog (`tools/*.json`, checked, into Rust data: see
//! `catalog.rs`) and records the git commit and the build date for `duvo-mcp --version`.
//!
//! `vergen-gitcl` runs the `git` command line (no libgit2). Outside a git checkout (a source
//! tarball, a container build without `.git`) it emits placeholders instead of failing, and the
//! release pipeline can pin the values with the `VERGEN_GIT_SHA` / `SOURCE_DATE_EPOCH`
//! environment variables.

mod catalog;

use std::process::Command;
use vergen_gitcl::{BuildBuilder, Emitter, GitclBuilder};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=tools");
    println!("cargo:rerun-if-changed=build");
    println!("cargo:rerun-if-changed=src/catalog/format.rs");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?).join("embedded_catalog.rs");
    catalog::compile(std::path::Path::new("tools"), &out)?;
    println!("cargo:rerun-if-changed=spec/openapi.json");
    deflate(
        std::path::Path::new("spec/openapi.json"),
        &std::path::PathBuf::from(std::env::var("OUT_DIR")?).join("openapi.json.deflate"),
    )?;
    let build = BuildBuilder::default().build_date(true).build()?;
    let git = GitclBuilder::default().sha(true).dirty(false).build()?;
    Emitter::default()
        .add_instructions(&build)?
        .add_instructions(&git)?
        .emit()?;
    rerun_on_commit();
    Ok(())
}

/// Stores the bundled OpenAPI snapshot deflated (read back by `catalog::source::bundled`): it is
/// only parsed by `catalog diff`, `tools --generate-all` and the generator's tests, so it should
/// not cost a megabyte of every binary.
fn deflate(from: &std::path::Path, to: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    use std::io::Write as _;
    let bytes = std::fs::read(from)?;
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(&bytes)?;
    std::fs::write(to, enc.finish()?)?;
    Ok(())
}

/// vergen watches `HEAD` and the branch's ref file below the git dir, which in a linked worktree
/// is not where the branch ref lives (that is in the common dir), so a commit there would leave
/// the recorded commit stale. Watch the files git itself names for HEAD, the branch and packed
/// refs.
fn rerun_on_commit() {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git").args(args).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let Some(branch) = git(&["rev-parse", "--symbolic-full-name", "HEAD"]) else {
        return;
    };
    let mut watched = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
    if branch.starts_with("refs/") {
        watched.push(branch);
    }
    for name in watched {
        if let Some(path) = git(&["rev-parse", "--path-format=absolute", "--git-path", &name])
            && std::path::Path::new(&path).exists()
        {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}
