//! The two builds of `duvo-mcp`: the binary's size on disk and its idle RSS (`stdio`, waiting
//! after `initialize`), for the default build (with the `demo` feature: the built-in emulator)
//! and the slim one (`cargo build --release --no-default-features`).
//!
//! The default build is the binary cargo built for this bench. The slim one is
//! `DUVO_BENCH_SLIM_BIN`, else `<target>/slim/release/duvo-mcp` when it exists (build it with
//! `cargo build --release --no-default-features --target-dir target/slim`); without either the
//! row says how to get it.

use crate::procs;
use crate::stdio_client::StdioSession;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Pause before reading RSS, so the allocator settles.
const SETTLE: Duration = Duration::from_millis(500);

/// One build's figures.
pub struct Build {
    /// `default (demo)` or `slim (--no-default-features)`.
    pub name: &'static str,
    /// The binary measured.
    pub path: PathBuf,
    /// What was measured, or why nothing was.
    pub figures: Result<Figures, String>,
}

/// Size and idle memory of one binary.
pub struct Figures {
    /// Bytes on disk.
    pub bytes: u64,
    /// VmRSS of `stdio` after `initialize`, in KiB.
    pub idle_rss_kib: u64,
}

/// Where the slim binary is expected when `DUVO_BENCH_SLIM_BIN` is not set.
fn slim_default() -> PathBuf {
    let bin = PathBuf::from(procs::BINARY);
    let target = bin
        .parent()
        .and_then(Path::parent)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    target.join("slim").join("release").join("duvo-mcp")
}

/// Measures both builds against the emulator at `emulator_base`.
pub async fn measure(emulator_base: &str) -> Vec<Build> {
    let default_name = if cfg!(feature = "demo") {
        "default (demo)"
    } else {
        "this bench's build (no demo)"
    };
    let mut out = vec![Build {
        name: default_name,
        path: PathBuf::from(procs::BINARY),
        figures: figures(Path::new(procs::BINARY), emulator_base).await,
    }];
    let slim = std::env::var_os("DUVO_BENCH_SLIM_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(slim_default);
    let figures = if slim.is_file() {
        figures(&slim, emulator_base).await
    } else {
        Err(format!(
            "not built: `cargo build --release --no-default-features --target-dir target/slim` \
             (or set DUVO_BENCH_SLIM_BIN); looked for {}",
            slim.display()
        ))
    };
    out.push(Build {
        name: "slim (--no-default-features)",
        path: slim,
        figures,
    });
    out
}

async fn figures(binary: &Path, emulator_base: &str) -> Result<Figures, String> {
    let bytes = std::fs::metadata(binary)
        .map_err(|e| format!("{}: {e}", binary.display()))?
        .len();
    let mut stdio =
        StdioSession::spawn_binary(binary, emulator_base).map_err(|e| format!("{e:#}"))?;
    stdio.initialize().await.map_err(|e| format!("{e:#}"))?;
    tokio::time::sleep(SETTLE).await;
    let idle_rss_kib =
        procs::rss_kib(stdio.child.id().unwrap_or(0)).map_err(|e| format!("{e:#}"))?;
    stdio.close().await;
    Ok(Figures {
        bytes,
        idle_rss_kib,
    })
}
