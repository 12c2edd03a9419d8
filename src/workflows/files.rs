//! `uploadSandboxFiles`: put local files, base64 content or text into a Sandbox (a new one unless
//! given), each through `uploadSandboxFile` up to the API's 10 MB limit and through
//! `createSandboxUploadUrl` + an HTTP PUT of the bytes above it.
//!
//! Every file is checked before anything is sent (sources, names, destinations, sizes, local path
//! rules); one bad item refuses the whole call and creates nothing. During the upload a failed
//! file does not stop the others: the result lists what was uploaded and what was not, and why.
//! It is an error (`isError`) only when nothing was uploaded; a partial result says `PARTIAL` in
//! its first line and `complete: false`.

use super::common::{self, Hints};
use super::{Call, parse_args};
use crate::catalog::mapping::content_type_for;
use crate::client::ApiBody;
use crate::render::results::failure_text;
use crate::render::schema::inline_schema;
use base64::Engine;
use rmcp::model::{CallToolResponse, CallToolResult, ErrorData, JsonObject, Tool};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use std::io::Read;

/// Largest file one call uploads, in bytes (100 MB).
pub const MAX_FILE_BYTES: u64 = 100 * 1024 * 1024;
/// Largest total one call uploads, in bytes (500 MB).
pub const MAX_TOTAL_BYTES: u64 = 500 * 1024 * 1024;
/// Most files one call uploads.
pub const MAX_FILES: usize = 100;
/// The API's cap on a direct upload (`uploadSandboxFile`), in bytes (10 MB).
pub const API_DIRECT_LIMIT: u64 = 10 * 1024 * 1024;
/// Largest file sent directly: the API's cap less room for the multipart form around it.
/// Bigger files go through a presigned upload URL.
pub const DIRECT_MAX_BYTES: u64 = API_DIRECT_LIMIT - 64 * 1024;
/// Where files land when no destination is given.
const WORKSPACE: &str = "/workspace";

/// One file to upload: exactly one of `path`, `content_base64` or `text`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileItem {
    /// Local file to upload (stdio server with --allow-dir only): absolute, or relative to the
    /// first allowed directory.
    #[schemars(length(min = 1))]
    pub path: Option<String>,
    /// File name; required with content_base64 or text (default for path: the file's own name).
    #[schemars(length(min = 1, max = 255))]
    pub name: Option<String>,
    /// The file's bytes, base64-encoded.
    pub content_base64: Option<String>,
    /// The file's content as UTF-8 text.
    pub text: Option<String>,
    /// Where it lands in the Sandbox (default /workspace/<name>; relative = under /workspace;
    /// ending in / = that directory).
    #[schemars(length(min = 1, max = 1024))]
    pub destination: Option<String>,
}

/// Arguments of `uploadSandboxFiles`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadSandboxFilesArgs {
    /// Files (1–100), each {path} (a local file), {name, content_base64} or {name, text}, with an
    /// optional destination.
    #[schemars(length(min = 1, max = 100))]
    pub files: Vec<FileItem>,
    /// Sandbox to upload into (from createSandbox or an earlier call); omit to create a new one.
    #[schemars(length(min = 1))]
    pub sandbox_id: Option<String>,
}

/// `uploadSandboxFiles`: definition and handler, for the composition root.
pub fn upload_sandbox_files_composite() -> super::Composite {
    super::Composite {
        toolset: "sandboxes",
        tool: upload_sandbox_files_tool(),
        run: |call, args| Box::pin(upload_sandbox_files(call, args)),
    }
}

/// The `uploadSandboxFiles` definition.
pub fn upload_sandbox_files_tool() -> Tool {
    common::tool(
        "uploadSandboxFiles",
        "Upload files to a Sandbox",
        "The way to upload files for a Job: one or many files into a Sandbox (creates one unless \
         sandbox_id is given), from local files (stdio with --allow-dir only), base64 or text; up \
         to 100 MB a file, 500 MB and 100 files a call (files over 10 MB go through a presigned \
         URL for you). Returns sandbox_id (pass it to runAssignment or startRun) and each file's \
         path and size, or why it was not uploaded.",
        inline_schema::<UploadSandboxFilesArgs>(),
        Hints {
            read_only: false,
            destructive: false,
            idempotent: false,
            open_world: true,
        },
    )
}

/// `uploadSandboxFiles`.
pub async fn upload_sandbox_files(
    call: &Call<'_>,
    args: JsonObject,
) -> Result<CallToolResponse, ErrorData> {
    let args: UploadSandboxFilesArgs = match parse_args("uploadSandboxFiles", args) {
        Ok(a) => a,
        Err(e) => return Ok(e.into()),
    };
    let outcome = upload(call, &args.files, args.sandbox_id).await;
    Ok(outcome.into_result().into())
}

/// Where a file's bytes come from.
#[derive(Debug)]
enum Source {
    /// Already in memory (decoded base64 or text).
    Bytes(Vec<u8>),
    /// A local file, opened and checked (regular, size) once; read only through this handle.
    Local(super::allowed_dirs::LocalFile),
}

/// A file that passed every check.
#[derive(Debug)]
struct Prepared {
    index: usize,
    name: String,
    destination: String,
    size: u64,
    source: Source,
}

/// What an upload did.
#[derive(Debug, Default)]
pub struct UploadOutcome {
    /// The Sandbox used (created or given); `None` when none could be created.
    pub sandbox_id: Option<String>,
    /// True when this call created the Sandbox.
    pub sandbox_created: bool,
    /// Files uploaded: `{index, name, path, size_bytes, via}`.
    pub uploaded: Vec<Value>,
    /// Files not uploaded: `{index, name, destination, reason}`.
    pub not_uploaded: Vec<Value>,
    /// Set when the call was refused before anything was sent (every problem, one a line).
    pub refused: Option<String>,
}

impl UploadOutcome {
    /// True when every file was uploaded.
    pub fn complete(&self) -> bool {
        self.refused.is_none() && self.not_uploaded.is_empty() && self.sandbox_id.is_some()
    }

    /// The summary line and the failures, for text answers.
    pub fn summary(&self) -> String {
        if let Some(why) = &self.refused {
            return format!("Nothing uploaded and no Sandbox created:\n{why}");
        }
        let total = self.uploaded.len() + self.not_uploaded.len();
        let bytes: u64 = self
            .uploaded
            .iter()
            .filter_map(|u| u["size_bytes"].as_u64())
            .sum();
        let sandbox = self.sandbox_id.as_deref().unwrap_or("(none)");
        let mut text = if self.complete() {
            format!(
                "Uploaded {total} file(s) ({}) to Sandbox {sandbox}; pass sandbox_id {sandbox:?} to startRun or runAssignment.",
                common::human_bytes(bytes)
            )
        } else if self.uploaded.is_empty() {
            format!("Nothing uploaded: all {total} file(s) failed (Sandbox {sandbox}).")
        } else {
            format!(
                "PARTIAL: uploaded {} of {total} file(s) to Sandbox {sandbox}; {} failed (below). \
                 Fix them and call again with sandbox_id {sandbox:?} and only the failed files.",
                self.uploaded.len(),
                self.not_uploaded.len()
            )
        };
        for u in &self.uploaded {
            text.push_str(&format!(
                "\n- uploaded files[{}] → {} ({}, {})",
                u["index"],
                u["path"].as_str().unwrap_or(""),
                common::human_bytes(u["size_bytes"].as_u64().unwrap_or(0)),
                u["via"].as_str().unwrap_or("")
            ));
        }
        for f in &self.not_uploaded {
            text.push_str(&format!(
                "\n- NOT uploaded files[{}] ({}): {}",
                f["index"],
                f["name"].as_str().unwrap_or(""),
                f["reason"].as_str().unwrap_or("")
            ));
        }
        text
    }

    /// The tool result: an error only when nothing was uploaded.
    pub fn into_result(self) -> CallToolResult {
        let text = self.summary();
        let is_error = self.uploaded.is_empty();
        let body = json!({
            "sandbox_id": self.sandbox_id,
            "sandbox_created": self.sandbox_created,
            "complete": self.complete(),
            "uploaded": self.uploaded,
            "not_uploaded": self.not_uploaded,
        });
        common::result(text, body, is_error)
    }
}

/// The answer of `runAssignment` when its files did not all upload: an error, no Job started.
pub fn job_not_started(outcome: UploadOutcome) -> CallToolResult {
    let summary = outcome.summary();
    let mut result = outcome.into_result();
    result.is_error = Some(true);
    result.content = vec![rmcp::model::ContentBlock::text(format!(
        "Job not started: not every file was uploaded, so the Assignment was not run.\n{summary}"
    ))];
    result
}

/// Checks every file, creates the Sandbox when none is given, and uploads file by file.
pub async fn upload(
    call: &Call<'_>,
    files: &[FileItem],
    sandbox_id: Option<String>,
) -> UploadOutcome {
    let prepared = match prepare(call, files) {
        Ok(p) => p,
        Err(problems) => {
            return UploadOutcome {
                refused: Some(problems.join("\n")),
                ..UploadOutcome::default()
            };
        }
    };
    let mut outcome = UploadOutcome::default();
    let sandbox = match sandbox_id {
        Some(id) => id,
        None => match call.op("createSandbox", json!({})).await {
            Ok(v) => match v["sandbox_id"].as_str() {
                Some(id) => {
                    outcome.sandbox_created = true;
                    id.to_owned()
                }
                None => {
                    outcome.refused = Some("createSandbox answered without a sandbox_id.".into());
                    return outcome;
                }
            },
            Err(e) => {
                outcome.refused = Some(format!("createSandbox failed: {}", failure_text(&e)));
                return outcome;
            }
        },
    };
    outcome.sandbox_id = Some(sandbox.clone());
    let total = prepared.len() as u64;
    let mut stop: Option<String> = None;
    for (done, file) in prepared.into_iter().enumerate() {
        let (index, name, dest) = (file.index, file.name.clone(), file.destination.clone());
        let failed = |reason: String| {
            json!({
                "index": index,
                "name": name,
                "destination": dest,
                "reason": reason,
            })
        };
        if let Some(why) = &stop {
            outcome
                .not_uploaded
                .push(failed(format!("not attempted: {why}")));
            continue;
        }
        if call.cx.ct.is_cancelled() {
            stop = Some("the call was cancelled".into());
            outcome
                .not_uploaded
                .push(failed("not attempted: the call was cancelled".into()));
            continue;
        }
        match send_one(call, &sandbox, file).await {
            Ok(done_file) => outcome.uploaded.push(done_file),
            Err(fail) => {
                if fail.fatal {
                    stop = Some(format!("an earlier file failed with: {}", fail.reason));
                }
                outcome.not_uploaded.push(failed(fail.reason));
            }
        }
        common::progress(
            call,
            done as u64 + 1,
            total,
            format!("{} of {total} file(s) processed", done + 1),
        )
        .await;
    }
    outcome
}

/// Checks every item; all problems at once, or the files ready to send.
fn prepare(call: &Call<'_>, files: &[FileItem]) -> Result<Vec<Prepared>, Vec<String>> {
    let local = &call.services.local_files;
    let mut problems = Vec::new();
    let mut prepared = Vec::new();
    if files.is_empty() {
        problems.push("- files: give at least one file".to_owned());
    }
    if files.len() > MAX_FILES {
        problems.push(format!(
            "- files: at most {MAX_FILES} files per call, got {}; split them over several calls with the same sandbox_id",
            files.len()
        ));
    }
    if files.iter().any(|f| f.path.is_some())
        && let Some(why) = local.unavailable()
    {
        problems.push(format!(
            "{why} Or pass each file as {{name, content_base64}} or {{name, text}} instead."
        ));
        return Err(problems);
    }
    for (index, item) in files.iter().enumerate() {
        match prepare_one(local, index, item) {
            Ok(p) => prepared.push(p),
            Err(why) => problems.push(format!("- files[{index}]: {why}")),
        }
    }
    let total: u64 = prepared.iter().map(|p| p.size).sum();
    if total > MAX_TOTAL_BYTES {
        problems.push(format!(
            "- files: {} in total is over the {} limit of one call; split them over several calls with the same sandbox_id",
            common::human_bytes(total),
            common::human_bytes(MAX_TOTAL_BYTES)
        ));
    }
    let mut seen: Vec<(&str, usize)> = Vec::new();
    for p in &prepared {
        if let Some((_, first)) = seen.iter().find(|(d, _)| *d == p.destination) {
            problems.push(format!(
                "- files[{}]: destination {} is also the destination of files[{first}]; give one of them another destination",
                p.index, p.destination
            ));
        } else {
            seen.push((&p.destination, p.index));
        }
    }
    if problems.is_empty() {
        Ok(prepared)
    } else {
        Err(problems)
    }
}

fn prepare_one(
    local: &super::allowed_dirs::LocalFiles,
    index: usize,
    item: &FileItem,
) -> Result<Prepared, String> {
    let sources = [
        item.path.is_some(),
        item.content_base64.is_some(),
        item.text.is_some(),
    ]
    .iter()
    .filter(|s| **s)
    .count();
    if sources != 1 {
        return Err("give exactly one of path (a local file), content_base64 or text".to_owned());
    }
    let too_big = |size: u64| {
        format!(
            "{} is over the {} limit per file",
            common::human_bytes(size),
            common::human_bytes(MAX_FILE_BYTES)
        )
    };
    let (default_name, size, source) = if let Some(raw) = &item.path {
        let opened = local.open_file(raw)?;
        if opened.size > MAX_FILE_BYTES {
            return Err(too_big(opened.size));
        }
        let name = std::path::Path::new(raw.trim())
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_owned)
            .ok_or_else(|| format!("{raw}: the file name is not UTF-8; give a name"))?;
        (Some(name), opened.size, Source::Local(opened))
    } else if let Some(encoded) = &item.content_base64 {
        let compact: String = encoded.chars().filter(|c| !c.is_whitespace()).collect();
        let data = base64::engine::general_purpose::STANDARD
            .decode(compact.as_bytes())
            .map_err(|e| format!("content_base64 is not valid base64 ({e})"))?;
        let size = data.len() as u64;
        if size > MAX_FILE_BYTES {
            return Err(too_big(size));
        }
        (None, size, Source::Bytes(data))
    } else {
        let data = item.text.clone().unwrap_or_default().into_bytes();
        let size = data.len() as u64;
        if size > MAX_FILE_BYTES {
            return Err(too_big(size));
        }
        (None, size, Source::Bytes(data))
    };
    let name = match (&item.name, default_name) {
        (Some(n), _) => n.trim().to_owned(),
        (None, Some(n)) => n,
        (None, None) => return Err("name is required with content_base64 or text".to_owned()),
    };
    check_name(&name)?;
    let destination = destination(item.destination.as_deref(), &name)?;
    Ok(Prepared {
        index,
        name,
        destination,
        size,
        source,
    })
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name == "." || name == ".." {
        return Err(format!("name {name:?} is not a file name"));
    }
    if name.contains(['/', '\\']) || name.chars().any(char::is_control) {
        return Err(format!(
            "name {name:?} must be a plain file name (no slashes); put directories in destination"
        ));
    }
    Ok(())
}

/// The absolute Sandbox path a file goes to.
fn destination(raw: Option<&str>, name: &str) -> Result<String, String> {
    let raw = raw.map(str::trim).unwrap_or("");
    let full = if raw.is_empty() {
        format!("{WORKSPACE}/{name}")
    } else if raw.starts_with('/') {
        raw.to_owned()
    } else {
        format!("{WORKSPACE}/{raw}")
    };
    let full = if full.ends_with('/') {
        format!("{full}{name}")
    } else {
        full
    };
    if full.chars().any(char::is_control) {
        return Err("destination must not contain control characters".to_owned());
    }
    let mut segments = Vec::new();
    for seg in full.split('/') {
        match seg {
            "" | "." => {}
            ".." => return Err(format!("destination {raw:?} must not contain '..'")),
            s => segments.push(s),
        }
    }
    if segments.is_empty() || segments == ["workspace"] {
        return Err(format!("destination {raw:?} is a directory; name a file"));
    }
    Ok(format!("/{}", segments.join("/")))
}

/// Why one file failed; `fatal` stops the remaining ones (the key or the Sandbox is unusable).
struct Failure {
    reason: String,
    fatal: bool,
}

async fn send_one(call: &Call<'_>, sandbox: &str, file: Prepared) -> Result<Value, Failure> {
    let Prepared {
        index,
        name,
        destination,
        source,
        ..
    } = file;
    let data = match source {
        Source::Bytes(b) => b,
        Source::Local(file) => read_local(file).await.map_err(|reason| Failure {
            reason,
            fatal: false,
        })?,
    };
    let size = data.len() as u64;
    if size > MAX_FILE_BYTES {
        return Err(Failure {
            reason: format!(
                "the file grew to {} since it was checked; over the {} limit",
                common::human_bytes(size),
                common::human_bytes(MAX_FILE_BYTES)
            ),
            fatal: false,
        });
    }
    let uploaded = |path: Option<&str>, via: &str| {
        json!({
            "index": index,
            "name": name,
            "path": path.unwrap_or(&destination),
            "size_bytes": size,
            "via": via,
        })
    };
    // Read or decoded once; every attempt and the presigned fallback share these bytes.
    let data = bytes::Bytes::from(data);
    if size <= DIRECT_MAX_BYTES {
        let args = json!({
            "sandbox_id": sandbox,
            "file_name": name,
            "path": destination,
        });
        match call
            .op_upload("uploadSandboxFile", args, data.clone())
            .await
        {
            Ok(resp) => {
                let path = match &resp.body {
                    ApiBody::Json(v) => v["path"].as_str().map(str::to_owned),
                    ApiBody::Bytes { .. } => None,
                };
                return Ok(uploaded(path.as_deref(), "direct"));
            }
            Err(f) if f.status() == Some(413) => {
                tracing::debug!(file = %name, "direct upload too large; using an upload URL");
            }
            Err(f) => {
                return Err(Failure {
                    fatal: matches!(f.status(), Some(401 | 403 | 404)),
                    reason: failure_text(&f),
                });
            }
        }
    }
    let granted = call
        .op_raw(
            "createSandboxUploadUrl",
            json!({ "sandbox_id": sandbox, "path": destination }),
            None,
        )
        .await
        .map_err(|f| Failure {
            fatal: matches!(f.status(), Some(401 | 403 | 404)),
            reason: failure_text(&f),
        })?;
    let body = match granted.body {
        ApiBody::Json(v) => v,
        ApiBody::Bytes { .. } => Value::Null,
    };
    let Some(url) = body["upload_url"].as_str() else {
        return Err(Failure {
            reason: "createSandboxUploadUrl answered without an upload_url".into(),
            fatal: false,
        });
    };
    let path = body["path"].as_str().map(str::to_owned);
    call.services
        .gateway
        .put_presigned(url, data, content_type_for(&name))
        .await
        .map_err(|e| Failure {
            reason: format!("the PUT to the presigned upload URL failed: {e}"),
            fatal: false,
        })?;
    Ok(uploaded(path.as_deref(), "presigned"))
}

/// Reads an opened local file through its handle, at most one byte over the per-file limit.
async fn read_local(local: super::allowed_dirs::LocalFile) -> Result<Vec<u8>, String> {
    let shown = local.shown.display().to_string();
    let read = tokio::task::spawn_blocking(move || {
        let capacity = usize::try_from(local.size.min(MAX_FILE_BYTES)).unwrap_or(0);
        let mut data = Vec::with_capacity(capacity);
        local
            .file
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut data)
            .map(|_| data)
    })
    .await;
    match read {
        Ok(Ok(data)) => Ok(data),
        Ok(Err(e)) => Err(format!(
            "{shown}: cannot be read ({})",
            super::allowed_dirs::describe(&e)
        )),
        Err(e) => Err(format!("{shown}: cannot be read ({e})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_descriptions_agree_with_the_enforced_limits() {
        let mb = |n: u64| format!("{} MB", n / (1024 * 1024));
        let catalog = crate::catalog::Catalog::embedded().expect("catalog");
        let desc = |name: &str| {
            catalog
                .get(name)
                .map(|e| e.tool().description.as_deref().unwrap_or("").to_owned())
                .expect(name)
        };
        let plural = upload_sandbox_files_tool()
            .description
            .map(|d| d.to_string())
            .unwrap_or_default();
        for limit in [MAX_FILE_BYTES, MAX_TOTAL_BYTES, API_DIRECT_LIMIT] {
            assert!(plural.contains(&mb(limit)), "{plural}");
        }
        for name in ["uploadSandboxFile", "createSandboxUploadUrl"] {
            let d = desc(name);
            assert!(d.contains(&mb(API_DIRECT_LIMIT)), "{name}: {d}");
            assert!(d.contains(&mb(MAX_FILE_BYTES)), "{name}: {d}");
            assert!(d.contains("uploadSandboxFiles"), "{name}: {d}");
        }
    }

    #[test]
    fn destinations_default_to_the_workspace() {
        assert_eq!(
            destination(None, "a.csv").as_deref(),
            Ok("/workspace/a.csv")
        );
        assert_eq!(
            destination(Some("in/"), "a.csv").as_deref(),
            Ok("/workspace/in/a.csv")
        );
        assert_eq!(
            destination(Some("/data//x.csv"), "a.csv").as_deref(),
            Ok("/data/x.csv")
        );
        assert!(destination(Some("/workspace/../etc/x"), "a").is_err());
        assert!(destination(Some("/"), "").is_err());
    }

    #[test]
    fn items_need_exactly_one_source_and_a_name() {
        let local = super::super::allowed_dirs::LocalFiles::disabled();
        let item =
            |path: Option<&str>, b64: Option<&str>, text: Option<&str>, name: Option<&str>| {
                FileItem {
                    path: path.map(str::to_owned),
                    name: name.map(str::to_owned),
                    content_base64: b64.map(str::to_owned),
                    text: text.map(str::to_owned),
                    destination: None,
                }
            };
        let none = prepare_one(&local, 0, &item(None, None, None, Some("a")));
        assert!(none.is_err());
        let two = prepare_one(&local, 0, &item(None, Some("aGk="), Some("hi"), Some("a")));
        assert!(two.is_err());
        let nameless = prepare_one(&local, 0, &item(None, None, Some("hi"), None));
        assert!(nameless.expect_err("needs a name").contains("name"));
        let ok =
            prepare_one(&local, 0, &item(None, Some("aGk="), None, Some("a.txt"))).expect("valid");
        assert_eq!(ok.size, 2);
        assert_eq!(ok.destination, "/workspace/a.txt");
        let bad = prepare_one(&local, 0, &item(None, Some("!!"), None, Some("a")));
        assert!(bad.expect_err("bad base64").contains("base64"));
        let slash = prepare_one(&local, 0, &item(None, None, Some("x"), Some("a/b")));
        assert!(slash.is_err());
        let local_off = prepare_one(&local, 0, &item(Some("/etc/hosts"), None, None, None));
        assert!(local_off.expect_err("disabled").contains("disabled"));
    }
}
