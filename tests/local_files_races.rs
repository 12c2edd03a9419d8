//! Local files under attack, over the real stdio transport: a symlink or a FIFO swapped in while
//! a call runs, directory symlinks on the way to a download destination, paths outside the
//! allowed directories (exist or not: one answer), and a huge sparse file in a Skill folder.

// Test helpers outside #[test] fns may unwrap/expect/panic too (the crate denies them in src).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(target_os = "linux")]

mod common;

use common::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Stands in for `/proc/self/environ`: a secret file outside the allowed directory, of a length no
/// harmless file in these tests has.
const SECRET: &str = "DUVO_API_KEY=dv_secret_standin_0123456789\n";
/// What the racing file holds while it is a regular file.
const HARMLESS: &str = "harmless";
/// Calls per racing test.
const ROUNDS: usize = 40;
/// Longest any single call may take (a hang fails the test instead of stalling it).
const CALL_BOUND: Duration = Duration::from_secs(15);

/// Connects with `--allow-dir dir` (and `DUVO_ALLOW_DIRS` cleared).
async fn connect_allowing(emu: &duvo_emulator::RunningEmulator, dir: &Path) -> Client {
    let dir = dir.to_str().expect("utf-8 temp path");
    connect(
        emu,
        emu.demo_key(),
        &["--allow-dir", dir],
        &[("DUVO_ALLOW_DIRS", "")],
    )
    .await
}

/// `allowed/` and `outside/secret` below a fresh temp dir.
struct Tree {
    _tmp: tempfile::TempDir,
    allowed: PathBuf,
    outside: PathBuf,
    secret: PathBuf,
}

fn tree() -> Tree {
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = tmp.path().canonicalize().expect("canonical");
    let allowed = base.join("allowed");
    let outside = base.join("outside");
    std::fs::create_dir_all(&allowed).expect("mkdir");
    std::fs::create_dir_all(&outside).expect("mkdir");
    let secret = outside.join("environ");
    std::fs::write(&secret, SECRET).expect("write");
    Tree {
        _tmp: tmp,
        allowed,
        outside,
        secret,
    }
}

/// A thread that keeps replacing `target` (atomically, by rename) with a regular file holding
/// [`HARMLESS`] and then with `other()` (a symlink out, a FIFO), until dropped.
struct Swapper {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<usize>>,
}

impl Swapper {
    fn start(target: PathBuf, other: impl Fn(&Path) + Send + 'static) -> Self {
        std::fs::write(&target, HARMLESS).expect("write");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let dir = target.parent().expect("parent").to_path_buf();
            let (tmp_file, tmp_other) = (dir.join(".swap-file"), dir.join(".swap-other"));
            let mut swaps = 0;
            while !flag.load(Ordering::Relaxed) {
                std::fs::write(&tmp_file, HARMLESS).expect("write");
                std::fs::rename(&tmp_file, &target).expect("rename file");
                std::thread::sleep(Duration::from_micros(300));
                let _ = std::fs::remove_file(&tmp_other);
                other(&tmp_other);
                std::fs::rename(&tmp_other, &target).expect("rename other");
                std::thread::sleep(Duration::from_micros(300));
                swaps += 1;
            }
            swaps
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .map(|t| t.join().expect("swapper"))
            .unwrap_or(0)
    }
}

impl Drop for Swapper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn mkfifo(at: &Path) {
    rustix::fs::mkfifoat(rustix::fs::CWD, at, rustix::fs::Mode::from_raw_mode(0o600))
        .expect("mkfifo");
}

/// Calls `name` with a bound, so a hang fails the test.
async fn bounded_call(client: &Client, name: &str, args: Value) -> rmcp::model::CallToolResult {
    tokio::time::timeout(CALL_BOUND, call(client, name, args))
        .await
        .unwrap_or_else(|_| panic!("{name} hung for {CALL_BOUND:?}"))
}

/// `listSandboxFiles` of /workspace as `(path, size)`.
async fn sandbox_files(client: &Client, sandbox: &str) -> Vec<(String, u64)> {
    let listed = call_ok(
        client,
        "listSandboxFiles",
        json!({"sandbox_id": sandbox, "path": "/workspace"}),
    )
    .await;
    listed["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter(|f| f["type"] == "file")
        .map(|f| {
            (
                f["path"].as_str().expect("path").to_owned(),
                f["size_bytes"].as_u64().expect("size"),
            )
        })
        .collect()
}

/// Every regular entry below `dir`, recursively (to prove nothing was written there).
fn entries_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.push(path.clone());
            out.extend(entries_below(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn a_symlink_swapped_in_never_uploads_a_file_from_outside() {
    let emu = start_emulator().await;
    let t = tree();
    let client = connect_allowing(&emu, &t.allowed).await;
    let secret = t.secret.clone();
    let swapper = Swapper::start(t.allowed.join("race.txt"), move |at| {
        std::os::unix::fs::symlink(&secret, at).expect("symlink");
    });

    let (mut uploaded, mut refused) = (0, 0);
    for _ in 0..ROUNDS {
        // No sandbox_id: the Sandbox is created between the checks and the upload, the widest
        // window a check-then-reopen would leave.
        let r = bounded_call(
            &client,
            "uploadSandboxFiles",
            json!({"files": [{"path": "race.txt"}]}),
        )
        .await;
        if r.is_error == Some(true) {
            let text = text(&r);
            assert!(
                text.contains("outside the allowed directories"),
                "unexpected refusal: {text}"
            );
            refused += 1;
            continue;
        }
        let body = r.structured_content.clone().expect("structured");
        assert_eq!(
            body["uploaded"][0]["size_bytes"],
            HARMLESS.len(),
            "the secret was uploaded: {body}"
        );
        let sandbox = body["sandbox_id"].as_str().expect("sandbox id");
        // What the emulator stored (the secret's length differs from the harmless file's).
        assert_eq!(
            sandbox_files(&client, sandbox).await,
            vec![("/workspace/race.txt".to_owned(), HARMLESS.len() as u64)]
        );
        uploaded += 1;
    }
    let swaps = swapper.finish();
    eprintln!("{uploaded} uploaded, {refused} refused, {swaps} swaps");
    assert!(swaps > 0, "the swapper never ran");
}

#[tokio::test]
async fn a_symlink_swapped_into_a_skill_folder_never_reaches_the_skill() {
    let emu = start_emulator().await;
    let t = tree();
    let folder = t.allowed.join("racer");
    std::fs::create_dir_all(&folder).expect("mkdir");
    std::fs::write(
        folder.join("SKILL.md"),
        "---\nname: racer\ndescription: Races.\n---\nBody\n",
    )
    .expect("write");
    // Read and zipped before data.txt (sorted), so a check-then-reopen has a wide window.
    std::fs::write(folder.join("bulk.bin"), vec![7u8; 2 * 1024 * 1024]).expect("write");
    let client = connect_allowing(&emu, &t.allowed).await;
    let secret = t.secret.clone();
    let swapper = Swapper::start(folder.join("data.txt"), move |at| {
        std::os::unix::fs::symlink(&secret, at).expect("symlink");
    });

    let (mut synced, mut refused) = (0, 0);
    for _ in 0..ROUNDS {
        let r = bounded_call(
            &client,
            "syncSkillDirectory",
            json!({"path": "racer", "replace": true}),
        )
        .await;
        if r.is_error == Some(true) {
            let text = text(&r);
            assert!(text.contains("symlink"), "unexpected refusal: {text}");
            refused += 1;
            continue;
        }
        let body = r.structured_content.clone().expect("structured");
        let skill_id = body["skill"]["id"].as_str().expect("skill id");
        // What the emulator stored.
        let stored = call_ok(
            &client,
            "getSkillFileContent",
            json!({"skill_id": skill_id, "path": "data.txt"}),
        )
        .await;
        let stored = stored.to_string();
        assert!(
            !stored.contains("dv_secret_standin"),
            "secret stored: {stored}"
        );
        assert!(stored.contains(HARMLESS), "{stored}");
        synced += 1;
    }
    let swaps = swapper.finish();
    eprintln!("{synced} synced, {refused} refused, {swaps} swaps");
    assert!(swaps > 0, "the swapper never ran");
}

#[tokio::test]
async fn a_fifo_swapped_in_is_refused_instead_of_hanging() {
    let emu = start_emulator().await;
    let t = tree();
    let client = connect_allowing(&emu, &t.allowed).await;
    let swapper = Swapper::start(t.allowed.join("pipe.txt"), mkfifo);

    let mut refused = 0;
    for _ in 0..ROUNDS {
        let r = bounded_call(
            &client,
            "uploadSandboxFiles",
            json!({"files": [{"path": "pipe.txt"}]}),
        )
        .await;
        if r.is_error == Some(true) {
            let text = text(&r);
            assert!(text.contains("not a regular file"), "{text}");
            refused += 1;
        }
    }
    let swaps = swapper.finish();
    eprintln!("{refused} of {ROUNDS} refused, {swaps} swaps");
    assert!(swaps > 0, "the swapper never ran");

    // A FIFO that stays put is refused at once too (never opened for a blocking read).
    mkfifo(&t.allowed.join("still.fifo"));
    let text = text(
        &bounded_call(
            &client,
            "uploadSandboxFiles",
            json!({"files": [{"path": "still.fifo"}]}),
        )
        .await,
    );
    assert!(text.contains("not a regular file"), "{text}");
}

#[tokio::test]
async fn download_skill_never_writes_through_a_directory_symlink() {
    let emu = start_emulator().await;
    let t = tree();
    let source = t.allowed.join("deep-skill");
    std::fs::create_dir_all(source.join("references/deep")).expect("mkdir");
    std::fs::write(
        source.join("SKILL.md"),
        "---\nname: deep-skill\ndescription: Has a nested file.\n---\nBody\n",
    )
    .expect("write");
    std::fs::write(source.join("references/deep/style.md"), "Short.").expect("write");
    let client = connect_allowing(&emu, &t.allowed).await;
    let created = call_ok(&client, "syncSkillDirectory", json!({"path": "deep-skill"})).await;
    let skill_id = created["skill"]["id"]
        .as_str()
        .expect("skill id")
        .to_owned();

    // A destination whose `references` is a symlink to a directory outside.
    let target = t.outside.join("target");
    std::fs::create_dir_all(&target).expect("mkdir");
    std::fs::create_dir_all(t.allowed.join("dest")).expect("mkdir");
    std::os::unix::fs::symlink(&target, t.allowed.join("dest/references")).expect("symlink");
    let err = call_err(
        &client,
        "downloadSkill",
        json!({"skill_id": skill_id, "destination": "dest"}),
    )
    .await;
    assert!(err.contains("symlink"), "{err}");
    assert_eq!(
        entries_below(&target),
        Vec::<PathBuf>::new(),
        "nothing may be created outside"
    );

    // A destination that is itself a symlink out.
    std::os::unix::fs::symlink(&target, t.allowed.join("linked")).expect("symlink");
    let err = call_err(
        &client,
        "downloadSkill",
        json!({"skill_id": skill_id, "destination": "linked/copy"}),
    )
    .await;
    assert!(err.contains("outside the allowed directories"), "{err}");
    assert_eq!(entries_below(&target), Vec::<PathBuf>::new());

    // The same download into a plain directory works.
    let ok = call_ok(
        &client,
        "downloadSkill",
        json!({"skill_id": skill_id, "destination": "plain"}),
    )
    .await;
    assert_eq!(ok["written"].as_array().map(Vec::len), Some(2), "{ok}");
    assert_eq!(
        std::fs::read_to_string(t.allowed.join("plain/references/deep/style.md")).expect("read"),
        "Short."
    );
}

#[tokio::test]
async fn outside_paths_get_the_same_answer_whether_they_exist_or_not() {
    let emu = start_emulator().await;
    let t = tree();
    let client = connect_allowing(&emu, &t.allowed).await;
    let pairs = [
        ("/etc/shadow".to_owned(), "/etc/nonexistent".to_owned()),
        (
            t.secret.display().to_string(),
            t.outside.join("missing").display().to_string(),
        ),
    ];
    for (there, missing) in pairs {
        let a = call_err(
            &client,
            "uploadSandboxFiles",
            json!({"files": [{"path": there}]}),
        )
        .await;
        let b = call_err(
            &client,
            "uploadSandboxFiles",
            json!({"files": [{"path": missing}]}),
        )
        .await;
        assert!(a.contains("outside the allowed directories"), "{a}");
        assert_eq!(a.replace(&there, "PATH"), b.replace(&missing, "PATH"));
        let a = call_err(&client, "syncSkillDirectory", json!({"path": there})).await;
        let b = call_err(&client, "syncSkillDirectory", json!({"path": missing})).await;
        assert_eq!(a.replace(&there, "PATH"), b.replace(&missing, "PATH"));
    }
}

#[tokio::test]
async fn a_huge_sparse_file_is_refused_from_its_size_before_reading() {
    let emu = start_emulator().await;
    let t = tree();
    let folder = t.allowed.join("sparse");
    std::fs::create_dir_all(&folder).expect("mkdir");
    std::fs::write(
        folder.join("SKILL.md"),
        "---\nname: sparse\ndescription: Too big.\n---\nBody\n",
    )
    .expect("write");
    let big = std::fs::File::create(folder.join("big.bin")).expect("create");
    big.set_len(200 * 1024 * 1024).expect("set_len");
    drop(big);
    let client = connect_allowing(&emu, &t.allowed).await;

    let text = call_err(&client, "syncSkillDirectory", json!({"path": "sparse"})).await;
    assert!(text.contains("big.bin"), "{text}");
    assert!(text.contains("before reading"), "{text}");
    let log = request_log(&emu).await;
    assert!(
        !log.iter().any(|r| r["path"]
            .as_str()
            .is_some_and(|p| p.contains("/skills/upload"))),
        "nothing may be uploaded"
    );
}

#[tokio::test]
async fn a_directory_swapped_for_a_symlink_never_leads_a_download_outside() {
    let emu = start_emulator().await;
    let t = tree();
    let source = t.allowed.join("src-skill");
    std::fs::create_dir_all(source.join("references")).expect("mkdir");
    std::fs::write(
        source.join("SKILL.md"),
        "---\nname: src-skill\ndescription: Downloaded while racing.\n---\nBody\n",
    )
    .expect("write");
    std::fs::write(source.join("references/style.md"), "Short.").expect("write");
    let client = connect_allowing(&emu, &t.allowed).await;
    let created = call_ok(&client, "syncSkillDirectory", json!({"path": "src-skill"})).await;
    let skill_id = created["skill"]["id"]
        .as_str()
        .expect("skill id")
        .to_owned();

    // `slot` keeps trading places (renameat2 RENAME_EXCHANGE) between a real directory and a
    // symlink to a directory outside.
    let target = t.outside.join("target");
    std::fs::create_dir_all(&target).expect("mkdir");
    let (slot, other) = (t.allowed.join("slot"), t.allowed.join(".slot-other"));
    std::fs::create_dir_all(&slot).expect("mkdir");
    std::os::unix::fs::symlink(&target, &other).expect("symlink");
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let swapper = std::thread::spawn(move || {
        let mut swaps = 0usize;
        while !flag.load(Ordering::Relaxed) {
            let exchanged = rustix::fs::renameat_with(
                rustix::fs::CWD,
                &slot,
                rustix::fs::CWD,
                &other,
                rustix::fs::RenameFlags::EXCHANGE,
            );
            if exchanged.is_err() {
                break; // the test ended and removed the tree
            }
            swaps += 1;
            std::thread::sleep(Duration::from_micros(200));
        }
        swaps
    });

    let (mut written, mut refused) = (0, 0);
    for round in 0..ROUNDS {
        let r = bounded_call(
            &client,
            "downloadSkill",
            json!({"skill_id": skill_id, "destination": format!("slot/copy{round}/skill")}),
        )
        .await;
        if r.is_error == Some(true) {
            let text = text(&r);
            assert!(
                text.contains("outside") || text.contains("symlink"),
                "unexpected refusal: {text}"
            );
            refused += 1;
        } else {
            written += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let swaps = swapper.join().expect("swapper");
    eprintln!("{written} written, {refused} refused, {swaps} swaps");
    assert!(swaps > 0, "the swapper never ran");
    assert_eq!(
        entries_below(&target),
        Vec::<PathBuf>::new(),
        "nothing may be created outside"
    );
}
