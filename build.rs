//! Build script: records the git commit and the build date for `duvo-mcp --version`.
//!
//! `vergen-gitcl` runs the `git` command line (no libgit2). Outside a git checkout (a source
//! tarball, a container build without `.git`) it emits placeholders instead of failing, and the
//! release pipeline can pin the values with the `VERGEN_GIT_SHA` / `SOURCE_DATE_EPOCH`
//! environment variables.

use vergen_gitcl::{BuildBuilder, Emitter, GitclBuilder};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let build = BuildBuilder::default().build_date(true).build()?;
    let git = GitclBuilder::default().sha(true).dirty(false).build()?;
    Emitter::default()
        .add_instructions(&build)?
        .add_instructions(&git)?
        .emit()?;
    Ok(())
}
