//! uploadSandboxFiles, runAssignment with files, syncSkillDirectory and downloadSkill over MCP:
//! local files only below --allow-dir, presigned uploads above 10 MB, skills round-tripped.

// Test helpers outside #[test] fns may unwrap/expect/panic too (the crate denies them in src).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::Engine;
use common::*;
use serde_json::{Value, json};
use std::path::Path;

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

/// `listSandboxFiles` of `dir`, as `path → size_bytes`.
async fn sandbox_files(client: &Client, sandbox: &str, dir: &str) -> Vec<(String, u64)> {
    let listed = call_ok(
        client,
        "listSandboxFiles",
        json!({"sandbox_id": sandbox, "path": dir}),
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

fn count_requests(log: &[Value], method: &str, path_part: &str) -> usize {
    log.iter()
        .filter(|r| {
            r["method"] == method && r["path"].as_str().is_some_and(|p| p.contains(path_part))
        })
        .count()
}

#[tokio::test]
async fn local_base64_and_text_files_land_in_a_new_sandbox() {
    let emu = start_emulator().await;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("data.csv"), "a,b\n1,2\n").expect("write");
    let client = connect_allowing(&emu, dir.path()).await;

    let bytes = [0u8, 159, 146, 150, 7];
    let out = call_ok(
        &client,
        "uploadSandboxFiles",
        json!({"files": [
            {"path": dir.path().join("data.csv").to_str().expect("utf-8")},
            {"name": "blob.bin", "content_base64": base64::engine::general_purpose::STANDARD.encode(bytes)},
            {"name": "notes.md", "text": "# Notes\n", "destination": "docs/"}
        ]}),
    )
    .await;
    assert_eq!(out["complete"], true, "{out}");
    assert_eq!(out["sandbox_created"], true);
    let sandbox = out["sandbox_id"].as_str().expect("sandbox id").to_owned();
    let uploaded = out["uploaded"].as_array().expect("uploaded");
    assert_eq!(uploaded.len(), 3);
    assert!(uploaded.iter().all(|u| u["via"] == "direct"), "{out}");
    assert_eq!(out["not_uploaded"], json!([]));

    let mut top = sandbox_files(&client, &sandbox, "/workspace").await;
    top.sort();
    assert_eq!(
        top,
        vec![
            ("/workspace/blob.bin".to_owned(), 5),
            ("/workspace/data.csv".to_owned(), 8)
        ]
    );
    let docs = sandbox_files(&client, &sandbox, "/workspace/docs").await;
    assert_eq!(docs, vec![("/workspace/docs/notes.md".to_owned(), 8)]);

    // A second call adds to the same Sandbox.
    let more = call_ok(
        &client,
        "uploadSandboxFiles",
        json!({"sandbox_id": sandbox, "files": [{"name": "more.txt", "text": "x"}]}),
    )
    .await;
    assert_eq!(more["sandbox_created"], false);
    assert_eq!(more["sandbox_id"], sandbox.as_str());
}

#[tokio::test]
async fn a_file_over_10_mb_goes_through_the_presigned_url() {
    let emu = start_emulator().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let size: usize = 11 * 1024 * 1024 + 3;
    let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.path().join("big.bin"), &data).expect("write");
    let client = connect_allowing(&emu, dir.path()).await;

    let out = call_ok(
        &client,
        "uploadSandboxFiles",
        json!({"files": [{"path": "big.bin", "destination": "/workspace/in/big.bin"}]}),
    )
    .await;
    assert_eq!(out["complete"], true, "{out}");
    assert_eq!(out["uploaded"][0]["via"], "presigned", "{out}");
    assert_eq!(out["uploaded"][0]["size_bytes"], size as u64);
    let sandbox = out["sandbox_id"].as_str().expect("sandbox id");
    let files = sandbox_files(&client, sandbox, "/workspace/in").await;
    assert_eq!(
        files,
        vec![("/workspace/in/big.bin".to_owned(), size as u64)]
    );

    let log = request_log(&emu).await;
    assert_eq!(count_requests(&log, "POST", "/upload-urls"), 1, "{log:?}");
    assert_eq!(
        count_requests(&log, "POST", &format!("/v2/sandboxes/{sandbox}/files")),
        0,
        "the big file must not be sent directly"
    );
}

#[tokio::test]
async fn paths_outside_the_allowed_directory_are_refused() {
    let emu = start_emulator().await;
    let root = tempfile::tempdir().expect("tempdir");
    let allowed = root.path().join("allowed");
    let outside = root.path().join("outside");
    std::fs::create_dir_all(&allowed).expect("mkdir");
    std::fs::create_dir_all(&outside).expect("mkdir");
    std::fs::write(outside.join("secret.txt"), "secret").expect("write");
    std::fs::write(allowed.join("ok.txt"), "ok").expect("write");
    let client = connect_allowing(&emu, &allowed).await;

    let dotdot = format!("{}/../outside/secret.txt", allowed.display());
    let text = call_err(
        &client,
        "uploadSandboxFiles",
        json!({"files": [{"path": "ok.txt"}, {"path": dotdot}]}),
    )
    .await;
    assert!(text.contains("outside the allowed directories"), "{text}");
    assert!(text.contains("files[1]"), "{text}");
    assert!(text.contains("Nothing uploaded"), "{text}");

    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(outside.join("secret.txt"), allowed.join("link.txt"))
            .expect("symlink");
        let text = call_err(
            &client,
            "uploadSandboxFiles",
            json!({"files": [{"path": "link.txt"}]}),
        )
        .await;
        assert!(text.contains("outside the allowed directories"), "{text}");
    }

    // Refused calls send nothing: no Sandbox was created.
    let log = request_log(&emu).await;
    assert_eq!(count_requests(&log, "POST", "/v2/sandboxes"), 0, "{log:?}");
}

#[tokio::test]
async fn without_allow_dir_local_paths_say_how_to_allow_them() {
    let emu = start_emulator().await;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.txt"), "a").expect("write");
    let client = connect(&emu, emu.demo_key(), &[], &[("DUVO_ALLOW_DIRS", "")]).await;

    let path = dir.path().join("a.txt");
    let text = call_err(
        &client,
        "uploadSandboxFiles",
        json!({"files": [{"path": path.to_str().expect("utf-8")}]}),
    )
    .await;
    assert!(text.contains("--allow-dir"), "{text}");
    assert!(text.contains("DUVO_ALLOW_DIRS"), "{text}");

    // Content passed inline still works.
    let out = call_ok(
        &client,
        "uploadSandboxFiles",
        json!({"files": [{"name": "a.txt", "text": "a"}]}),
    )
    .await;
    assert_eq!(out["complete"], true);

    let skill = call_err(&client, "syncSkillDirectory", json!({"path": "/tmp"})).await;
    assert!(skill.contains("--allow-dir"), "{skill}");
}

/// `--allow-dir A B` (one flag, several directories: how an MCP Bundle's directory picker with
/// `multiple: true` expands into the arguments) allows both; a third directory stays refused.
#[tokio::test]
async fn one_allow_dir_flag_takes_several_directories() {
    let emu = start_emulator().await;
    let (a, b, other) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    for d in [&a, &b, &other] {
        std::fs::write(d.path().join("f.txt"), "x").expect("write");
    }
    let utf8 = |d: &tempfile::TempDir| d.path().to_str().expect("utf-8").to_owned();
    let (a_dir, b_dir) = (utf8(&a), utf8(&b));
    let client = connect(
        &emu,
        emu.demo_key(),
        &["--allow-dir", &a_dir, &b_dir],
        &[("DUVO_ALLOW_DIRS", "")],
    )
    .await;
    for d in [&a, &b] {
        let path = d.path().join("f.txt");
        let out = call_ok(
            &client,
            "uploadSandboxFiles",
            json!({"files": [{"path": path.to_str().expect("utf-8")}]}),
        )
        .await;
        assert_eq!(out["complete"], true, "{out}");
    }
    let outside = other.path().join("f.txt");
    let refused = call_err(
        &client,
        "uploadSandboxFiles",
        json!({"files": [{"path": outside.to_str().expect("utf-8")}]}),
    )
    .await;
    assert!(refused.contains("--allow-dir"), "{refused}");
}

#[tokio::test]
async fn run_assignment_uploads_files_first_or_does_not_start() {
    let emu = start_emulator().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let client = connect_allowing(&emu, dir.path()).await;
    let agent = create_agent(&client, "Files reader", "Read the files.").await;

    let started = call_ok(
        &client,
        "runAssignment",
        json!({"agent_id": agent, "message": "go", "wait_seconds": 0,
               "files": [{"name": "input.txt", "text": "hello"}]}),
    )
    .await;
    let run_id = started["run_id"].as_str().expect("run id");
    let run = call_ok(&client, "getRun", json!({"run_id": run_id})).await;
    let sandbox = run["run"]["sandbox_id"]
        .as_str()
        .expect("the Job has a sandbox");
    let files = sandbox_files(&client, sandbox, "/workspace").await;
    assert_eq!(files, vec![("/workspace/input.txt".to_owned(), 5)]);

    let before = call_ok(&client, "listRuns", json!({"agent_id": agent})).await;
    let text = call_err(
        &client,
        "runAssignment",
        json!({"agent_id": agent, "wait_seconds": 0,
               "files": [{"path": "missing.txt"}]}),
    )
    .await;
    assert!(text.starts_with("Job not started"), "{text}");
    assert!(text.contains("missing.txt"), "{text}");
    let after = call_ok(&client, "listRuns", json!({"agent_id": agent})).await;
    assert_eq!(before["total"], after["total"], "no Job may start");
}

fn write_skill(root: &Path, description: &str, guide: &str) {
    std::fs::create_dir_all(root.join("references")).expect("mkdir");
    std::fs::write(
        root.join("SKILL.md"),
        format!("---\nname: report-writer\ndescription: {description}\n---\n# Report writer\nWrite reports.\n"),
    )
    .expect("write");
    std::fs::write(root.join("references/style.md"), guide).expect("write");
    std::fs::write(root.join(".env"), "SECRET=do-not-upload").expect("write");
}

#[tokio::test]
async fn a_skill_folder_syncs_refuses_overwrite_replaces_and_downloads() {
    let emu = start_emulator().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = dir.path().join("report-writer");
    write_skill(&folder, "Writes weekly reports.", "Use short sentences.");
    let client = connect_allowing(&emu, dir.path()).await;

    let created = call_ok(
        &client,
        "syncSkillDirectory",
        json!({"path": "report-writer"}),
    )
    .await;
    assert_eq!(created["action"], "created", "{created}");
    assert_eq!(created["files"], json!(["SKILL.md", "references/style.md"]));
    assert_eq!(created["skipped"], json!([".env"]));
    let skill_id = created["skill"]["id"]
        .as_str()
        .expect("skill id")
        .to_owned();

    let refused = call_err(
        &client,
        "syncSkillDirectory",
        json!({"path": "report-writer"}),
    )
    .await;
    assert!(refused.contains("already exists"), "{refused}");
    assert!(refused.contains("replace: true"), "{refused}");

    write_skill(&folder, "Writes weekly reports.", "Use active voice.");
    let updated = call_ok(
        &client,
        "syncSkillDirectory",
        json!({"path": "report-writer", "replace": true}),
    )
    .await;
    assert_eq!(updated["action"], "updated", "{updated}");
    assert_eq!(updated["skill"]["id"], skill_id.as_str());

    // Read back as contents (fenced as untrusted in the text).
    let r = call(&client, "downloadSkill", json!({"skill_id": skill_id})).await;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    assert!(text(&r).contains("<untrusted-duvo-data>"), "{}", text(&r));
    let body = r.structured_content.clone().expect("structured");
    let files = body["files"].as_array().expect("files");
    let content = |p: &str| {
        files
            .iter()
            .find(|f| f["path"] == p)
            .and_then(|f| f["content"].as_str())
            .unwrap_or_else(|| panic!("{p} missing in {body}"))
            .to_owned()
    };
    assert_eq!(content("references/style.md"), "Use active voice.");
    assert!(content("SKILL.md").contains("name: report-writer"));
    assert!(files.iter().all(|f| f["path"] != ".env"));

    // Read back to a local destination; a second download never overwrites.
    let written = call_ok(
        &client,
        "downloadSkill",
        json!({"skill_id": skill_id, "destination": "copy/report-writer"}),
    )
    .await;
    assert_eq!(
        written["written"].as_array().map(Vec::len),
        Some(2),
        "{written}"
    );
    let copy = dir.path().join("copy/report-writer");
    assert_eq!(
        std::fs::read_to_string(copy.join("references/style.md")).expect("written"),
        "Use active voice."
    );
    let again = call_err(
        &client,
        "downloadSkill",
        json!({"skill_id": skill_id, "destination": "copy/report-writer"}),
    )
    .await;
    assert!(again.contains("never overwritten"), "{again}");

    let outside = call_err(
        &client,
        "downloadSkill",
        json!({"skill_id": skill_id, "destination": "../escaped"}),
    )
    .await;
    assert!(
        outside.contains("outside the allowed directories"),
        "{outside}"
    );
    assert!(!dir.path().join("../escaped").exists());
}

#[tokio::test]
async fn an_invalid_skill_folder_is_refused_before_upload() {
    let emu = start_emulator().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = dir.path().join("bad");
    std::fs::create_dir_all(&folder).expect("mkdir");
    std::fs::write(folder.join("SKILL.md"), "---\nname: Bad--Name\n---\nbody\n").expect("write");
    let client = connect_allowing(&emu, dir.path()).await;

    let text = call_err(&client, "syncSkillDirectory", json!({"path": "bad"})).await;
    assert!(text.contains("lowercase"), "{text}");
    assert!(text.contains("description is required"), "{text}");
    let log = request_log(&emu).await;
    assert_eq!(count_requests(&log, "POST", "/skills/upload"), 0);
}

#[tokio::test]
async fn a_repeated_run_assignment_reuses_its_job_until_a_local_file_changes() {
    let emu = start_emulator().await;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("orders.csv"), "id\n1\n").expect("write");
    let client = connect_allowing(&emu, dir.path()).await;
    let agent = create_agent(&client, "Files reader", "Read the files.").await;
    let args = json!({"agent_id": agent, "message": "go", "wait_seconds": 0,
                      "files": [{"path": "orders.csv"}]});
    let first = call_ok(&client, "runAssignment", args.clone()).await;
    let again = call_ok(&client, "runAssignment", args.clone()).await;
    assert_eq!(first["run_id"], again["run_id"], "a repeat reuses the Job");
    // The user fixes the file and runs again: that is a new Job with the new content.
    std::fs::write(dir.path().join("orders.csv"), "id\n1\n2\n").expect("write");
    let edited = call_ok(&client, "runAssignment", args).await;
    assert_ne!(first["run_id"], edited["run_id"], "{edited}");
    let runs = call_ok(&client, "listRuns", json!({"agent_id": agent})).await;
    assert_eq!(runs["total"], 2, "{runs}");
}
