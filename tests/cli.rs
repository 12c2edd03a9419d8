//! The command line: `tools`, filters, configuration errors.

// Test helpers outside #[test] fns may unwrap/expect/panic too (the crate denies them in src).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::process::{Command, Output};

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_duvo-mcp"));
    cmd.args(args)
        .env_remove("DUVO_TOOLSETS")
        .env_remove("DUVO_TOOLS")
        .env_remove("DUVO_EXCLUDE_TOOLS")
        .env_remove("DUVO_READ_ONLY")
        // The bundled snapshot unless a test names another spec (no internet in tests).
        .env("DUVO_OPENAPI_URL", "off");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run duvo-mcp")
}

fn tools_json(args: &[&str], env: &[(&str, &str)]) -> Vec<Value> {
    let mut all = vec!["tools", "--json"];
    all.extend_from_slice(args);
    let out = run(&all, env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout)
        .expect("JSON")
        .as_array()
        .cloned()
        .expect("array")
}

fn names(tools: &[Value]) -> Vec<String> {
    tools
        .iter()
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn tools_json_lists_name_toolset_annotations_and_schema() {
    let tools = tools_json(&[], &[]);
    assert!(names(&tools).contains(&"startRun".to_owned()));
    for t in &tools {
        assert!(t["toolset"].is_string() && t["title"].is_string(), "{t}");
        assert!(t["annotations"]["readOnlyHint"].is_boolean(), "{t}");
        assert_eq!(t["inputSchema"]["type"], "object", "{t}");
    }
}

#[test]
fn filters_apply_from_flags_and_environment() {
    let jobs = tools_json(&["--toolsets", "jobs"], &[]);
    assert!(
        jobs.iter()
            .all(|t| t["toolset"] == "jobs" || t["toolset"] == "meta")
    );
    assert_eq!(jobs.iter().filter(|t| t["toolset"] == "meta").count(), 3);
    let ro = tools_json(&["--read-only"], &[]);
    assert!(!ro.is_empty());
    assert!(ro.iter().all(|t| t["annotations"]["readOnlyHint"] == true));
    let env_ro = tools_json(&[], &[("DUVO_READ_ONLY", "true")]);
    assert_eq!(names(&env_ro), names(&ro));
    let excluded = tools_json(&["--exclude-tools", "getRun"], &[]);
    assert!(!names(&excluded).contains(&"getRun".to_owned()));
    let flag_wins = tools_json(&["--toolsets", "assignments"], &[("DUVO_TOOLSETS", "jobs")]);
    assert!(
        flag_wins
            .iter()
            .all(|t| t["toolset"] == "assignments" || t["toolset"] == "meta")
    );
}

#[test]
fn unknown_names_stop_with_the_valid_list() {
    let out = run(&["tools", "--toolsets", "jobz"], &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("jobz") && err.contains("jobs"), "{err}");
    let out = run(&["stdio", "--tools", "getRunn", "--demo"], &[]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("getRun"));
}

#[test]
fn table_and_stats_are_printed() {
    let out = run(&["tools"], &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("startRun") && text.contains("tools"),
        "{text}"
    );
    let out = run(&["tools", "--stats"], &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("jobs") && text.contains("total"), "{text}");
}

#[test]
fn bad_base_url_is_rejected() {
    let out = run(
        &["stdio"],
        &[
            ("DUVO_API_KEY", "dv_x"),
            ("DUVO_API_BASE_URL", "ftp://nope"),
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("DUVO_API_BASE_URL"));
}

#[test]
fn readme_lists_every_tool() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let tools = tools_json(&["--toolsets", "all"], &[]);
    for name in names(&tools) {
        assert!(
            readme.contains(&format!("`{name}`")),
            "README.md does not list the tool {name}"
        );
    }
}

/// A build without the `demo` feature (`cargo test --no-default-features -p duvo-mcp --test cli`)
/// has no emulator: `--demo` and `emulator` stop at once and say how to get them.
#[cfg(not(feature = "demo"))]
#[test]
fn the_slim_build_says_how_to_get_the_demo() {
    use std::time::{Duration, Instant};
    let cases: [&[&str]; 3] = [
        &["stdio", "--demo"],
        &["http", "--demo", "--listen", "127.0.0.1:0"],
        &["emulator", "--listen", "127.0.0.1:0"],
    ];
    for args in cases {
        let mut child = Command::new(env!("CARGO_BIN_EXE_duvo-mcp"))
            .args(args)
            .env_remove("DUVO_API_KEY")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn duvo-mcp");
        // An old build would serve (or wait for Ctrl-C): bound the wait, then fail.
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            if started.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                panic!("{args:?}: still running; the slim build should refuse at once");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err)
            .expect("read stderr");
        assert_eq!(status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("--no-default-features") && err.contains("cargo build --release"),
            "{args:?} does not say how to get the emulator: {err}"
        );
    }
}

/// `--version` names the version, the git commit (hex, or `unknown` outside a checkout) and the
/// build date.
#[test]
fn version_names_commit_and_build_date() {
    let out = run(&["--version"], &[]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let rest = text
        .strip_prefix(&format!("duvo-mcp {} (commit ", env!("CARGO_PKG_VERSION")))
        .unwrap_or_else(|| panic!("version and commit expected: {text}"));
    let (commit, rest) = rest.split_once(", built ").expect("build date");
    assert!(
        commit == "unknown" || (commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{text}"
    );
    // In a git checkout (as in CI) it is this checkout's commit.
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if let Some(head) = head {
        assert!(head.starts_with(commit), "HEAD is {head}: {text}");
    }
    let date = rest.strip_suffix(')').expect("closing parenthesis");
    assert!(
        chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok(),
        "build date YYYY-MM-DD expected: {text}"
    );
}
