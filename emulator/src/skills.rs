//! Skills: team and system skills with their files (`SKILL.md` plus references and scripts).
//!
//! - `createSkill` builds SKILL.md from JSON fields; `uploadSkill` takes multipart/form-data with
//!   one file part (the first part with a filename, else a part named `file`): a ZIP archive
//!   (detected by its `PK` magic bytes) with SKILL.md at the root or inside one top-level folder,
//!   or else the SKILL.md text itself. Uploads are capped at 10 MB (400, as the spec has no 413),
//!   archives at 500 files and 50 MB unpacked; entries with `..` or absolute paths are refused.
//!   Both upsert by the frontmatter `name` within the team: 201 created, 200 updated (an upload
//!   replaces every file, `createSkill` replaces only SKILL.md).
//! - Frontmatter problems answer 400 with `validationErrors: [{field, message}]`.
//! - System skills (`team_id: null`) are readable by every team but not editable, downloadable
//!   or deletable (403). Another team's skill is 404. A non-UUID id is 404.
//! - `updateSkillFile` creates or overwrites one text file; a new SKILL.md is re-validated and a
//!   rename onto another skill's name is 409.

mod archive;
mod frontmatter;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use self::frontmatter::{Extras, FieldError, Identity};
use super::auth::TeamCaller;
use super::errors::ApiError;
use super::model::{Skill, SkillFile, StoredSkill, ts};
use super::sandboxes::{CappedPart, read_parts};
use super::seed::{DEMO_USER_ID, sid};
use super::state::{AppState, Caller, Store};
use super::validate as v;
use super::{created, ok};

/// Largest accepted skill upload (the ZIP or SKILL.md part), in bytes.
const MAX_UPLOAD: u64 = 10 * 1024 * 1024;
/// Largest request body of an upload (the part plus form overhead and stray parts).
const UPLOAD_BODY_LIMIT: usize = 32 * 1024 * 1024;
/// Largest file written with `updateSkillFile`, in bytes.
const MAX_TEXT_FILE: usize = 1024 * 1024;

impl StoredSkill {
    fn summary(&self) -> Value {
        json!({
            "id": self.meta.id,
            "name": self.meta.name,
            "description": self.meta.description,
            "team_id": self.meta.team_id,
        })
    }
}

/// The routes of this module.
pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/v2/teams/{teamId}/skills",
            get(list_skills).post(create_skill),
        )
        .route(
            "/v2/teams/{teamId}/skills/upload",
            post(upload_skill).layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)),
        )
        .route("/v2/skills/system", get(list_system_skills))
        .route("/v2/skills/{skill_id}", delete(delete_skill))
        .route("/v2/skills/{skill_id}/download", get(download_skill))
        .route("/v2/skills/{skill_id}/files", get(list_files))
        .route(
            "/v2/skills/{skill_id}/files/{*path}",
            get(get_file).put(put_file),
        )
        .route("/v2/skills/{skill_id}/assignments", get(list_assignments))
}

/// A skill handler failure: an API error, or frontmatter problems (400 with `validationErrors`).
#[derive(Debug)]
enum SkillError {
    Api(ApiError),
    Invalid(Vec<FieldError>),
}

impl From<ApiError> for SkillError {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

impl From<FieldError> for SkillError {
    fn from(e: FieldError) -> Self {
        Self::Invalid(vec![e])
    }
}

impl IntoResponse for SkillError {
    fn into_response(self) -> Response {
        match self {
            Self::Api(e) => e.into_response(),
            Self::Invalid(errors) => {
                let summary: Vec<String> = errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect();
                let items: Vec<Value> = errors
                    .iter()
                    .map(|e| json!({"field": e.field, "message": e.message}))
                    .collect();
                let body = json!({
                    "error": "invalid_request",
                    "message": format!("Invalid skill: {}", summary.join("; ")),
                    "validationErrors": items,
                });
                (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
            }
        }
    }
}

type SkillResult = Result<Response, SkillError>;

fn not_found(raw: &str) -> ApiError {
    ApiError::not_found("Skill", raw)
}

/// Index of a skill the caller can see (its team's or a system skill), or 404.
fn visible(store: &Store, caller: &Caller, raw: &str) -> Result<usize, ApiError> {
    let id = Uuid::parse_str(raw.trim()).map_err(|_| not_found(raw))?;
    store
        .skills
        .iter()
        .position(|s| s.meta.id == id && s.meta.team_id.is_none_or(|t| t == caller.team_id))
        .ok_or_else(|| not_found(raw))
}

/// Index of a skill the caller may change: 403 for system skills, 404 for unknown ones.
fn editable(store: &Store, caller: &Caller, raw: &str, action: &str) -> Result<usize, ApiError> {
    let idx = visible(store, caller, raw)?;
    if store.skills[idx].meta.team_id.is_none() {
        return Err(ApiError::forbidden(format!(
            "Skill {} is a system skill; system skills cannot be {action}",
            store.skills[idx].meta.name
        )));
    }
    Ok(idx)
}

fn content_type(path: &str) -> &'static str {
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "md" | "markdown" => "text/markdown",
        "txt" => "text/plain",
        "json" => "application/json",
        "yaml" | "yml" => "application/yaml",
        "csv" => "text/csv",
        "py" => "text/x-python",
        "js" | "mjs" => "text/javascript",
        "ts" => "text/typescript",
        "sh" => "application/x-sh",
        "html" | "htm" => "text/html",
        "xml" => "application/xml",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "svg" => "image/svg+xml",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

/// Upsert a team skill by name; `replace_all` swaps every file, otherwise only the given ones.
fn upsert(
    store: &mut Store,
    caller: &Caller,
    identity: Identity,
    files: BTreeMap<String, Vec<u8>>,
    replace_all: bool,
) -> (Value, bool) {
    let now = Utc::now();
    let stamp = |data: Vec<u8>| SkillFile {
        data,
        updated_at: now,
    };
    if let Some(s) = store
        .skills
        .iter_mut()
        .find(|s| s.meta.team_id == Some(caller.team_id) && s.meta.name == identity.name)
    {
        if replace_all {
            s.files.clear();
        }
        s.files
            .extend(files.into_iter().map(|(k, d)| (k, stamp(d))));
        s.meta.description = identity.description;
        s.meta.updated_at = now;
        s.meta.updated_by_user_id = Some(caller.user_id);
        return (s.summary(), false);
    }
    let skill = StoredSkill {
        meta: Skill {
            id: Uuid::new_v4(),
            team_id: Some(caller.team_id),
            name: identity.name,
            description: identity.description,
            updated_at: now,
            updated_by_user_id: Some(caller.user_id),
        },
        files: files.into_iter().map(|(k, d)| (k, stamp(d))).collect(),
    };
    let out = skill.summary();
    store.skills.push(skill);
    (out, true)
}

fn respond(skill: Value, is_new: bool) -> Response {
    let body = json!({ "skill": skill });
    if is_new { created(body) } else { ok(body) }
}

/// `GET /v2/teams/{teamId}/skills` (listSkills): the team's skills, then system skills.
async fn list_skills(
    State(st): State<Arc<AppState>>,
    TeamCaller(caller): TeamCaller,
) -> SkillResult {
    let store = st.store();
    let mut mine: Vec<&StoredSkill> = store
        .skills
        .iter()
        .filter(|s| s.meta.team_id.is_none_or(|t| t == caller.team_id))
        .collect();
    mine.sort_by_key(|s| (s.meta.team_id.is_none(), s.meta.name.clone()));
    let skills: Vec<Value> = mine.iter().map(|s| s.meta.to_json(&store.users)).collect();
    Ok(ok(json!({ "skills": skills })))
}

/// `GET /v2/skills/system` (listSystemSkills).
async fn list_system_skills(State(st): State<Arc<AppState>>) -> SkillResult {
    let store = st.store();
    let mut skills: Vec<&StoredSkill> = store
        .skills
        .iter()
        .filter(|s| s.meta.team_id.is_none())
        .collect();
    skills.sort_by(|a, b| a.meta.name.cmp(&b.meta.name));
    let skills: Vec<Value> = skills
        .iter()
        .map(|s| json!({"id": s.meta.id, "name": s.meta.name, "description": s.meta.description}))
        .collect();
    Ok(ok(json!({ "skills": skills })))
}

/// A string field of the createSkill body, recording a problem when it has the wrong type.
fn body_str(
    map: &Map<String, Value>,
    field: &str,
    required: bool,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    match map.get(field) {
        Some(Value::String(s)) => Some(s.clone()),
        None | Some(Value::Null) if !required => None,
        None | Some(Value::Null) => {
            errors.push(FieldError::new(field, "is required"));
            None
        }
        Some(other) => {
            errors.push(FieldError::new(
                field,
                format!("must be a string, got {}", v::type_name(other)),
            ));
            None
        }
    }
}

/// `POST /v2/teams/{teamId}/skills` (createSkill): build SKILL.md from fields and upsert by name.
async fn create_skill(
    State(st): State<Arc<AppState>>,
    TeamCaller(caller): TeamCaller,
    body: Bytes,
) -> SkillResult {
    let map = v::json_object(&body)?;
    let mut errors = Vec::new();
    let name = body_str(&map, "name", true, &mut errors);
    let description = body_str(&map, "description", true, &mut errors);
    let content = body_str(&map, "content", true, &mut errors);
    let extras = Extras {
        license: body_str(&map, "license", false, &mut errors),
        compatibility: body_str(&map, "compatibility", false, &mut errors),
        allowed_tools: body_str(&map, "allowed-tools", false, &mut errors),
        metadata: match map.get("metadata") {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some(m.clone()),
            Some(other) => {
                errors.push(FieldError::new(
                    "metadata",
                    format!("must be an object, got {}", v::type_name(other)),
                ));
                None
            }
        },
    };
    if let Some(n) = &name {
        errors.extend(
            frontmatter::name_problems(n)
                .into_iter()
                .map(|m| FieldError::new("name", m)),
        );
    }
    if let Some(d) = &description {
        errors.extend(
            frontmatter::description_problems(d)
                .into_iter()
                .map(|m| FieldError::new("description", m)),
        );
    }
    if let Some(c) = &extras.compatibility {
        let len = c.chars().count();
        if len == 0 || len > 500 {
            errors.push(FieldError::new(
                "compatibility",
                format!("must be 1-500 characters (got {len})"),
            ));
        }
    }
    if content.as_ref().is_some_and(|c| c.len() > MAX_TEXT_FILE) {
        errors.push(FieldError::new("content", "must be at most 1 MB"));
    }
    let (Some(name), Some(description), Some(content), true) =
        (name, description, content, errors.is_empty())
    else {
        return Err(SkillError::Invalid(errors));
    };
    let identity = Identity { name, description };
    let text = frontmatter::build(&identity, &extras, &content);
    let files = BTreeMap::from([("SKILL.md".to_string(), text.into_bytes())]);
    let mut store = st.store();
    let (skill, is_new) = upsert(&mut store, &caller, identity, files, false);
    Ok(respond(skill, is_new))
}

/// Pick the uploaded file among the parts: the first with a filename, else one named `file`,
/// else the only part.
fn pick_upload(parts: Vec<CappedPart>) -> Option<CappedPart> {
    let count = parts.len();
    let mut parts = parts.into_iter();
    let mut named_file = None;
    let mut only = None;
    for p in parts.by_ref() {
        if p.file_name.is_some() {
            return Some(p);
        }
        if named_file.is_none() && p.name.as_deref() == Some("file") {
            named_file = Some(p);
        } else if count == 1 {
            only = Some(p);
        }
    }
    named_file.or(only)
}

/// `POST /v2/teams/{teamId}/skills/upload` (uploadSkill): a ZIP or a SKILL.md file, upsert by name.
async fn upload_skill(
    State(st): State<Arc<AppState>>,
    TeamCaller(caller): TeamCaller,
    multipart: Result<Multipart, MultipartRejection>,
) -> SkillResult {
    let parts = read_parts(multipart, MAX_UPLOAD).await.map_err(|e| {
        if e.status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::field("file", "the upload is larger than 10 MB")
        } else {
            e
        }
    })?;
    let Some(part) = pick_upload(parts) else {
        return Err(ApiError::field(
            "file",
            "is required: send multipart/form-data with a part 'file' holding a .zip or SKILL.md",
        )
        .into());
    };
    if part.size > MAX_UPLOAD {
        return Err(ApiError::field(
            "file",
            format!("{} bytes is larger than the 10 MB upload limit", part.size),
        )
        .into());
    }
    let files = if part.data.starts_with(b"PK") {
        archive::read_zip(&part.data).map_err(|e| ApiError::field("file", e))?
    } else {
        BTreeMap::from([("SKILL.md".to_string(), part.data)])
    };
    let skill_md = files.get("SKILL.md").map(Vec::as_slice).unwrap_or_default();
    let Ok(text) = std::str::from_utf8(skill_md) else {
        return Err(ApiError::field("file", "SKILL.md is not UTF-8 text").into());
    };
    let doc = frontmatter::parse(text)?;
    let identity = frontmatter::validate(&doc).map_err(SkillError::Invalid)?;
    let mut store = st.store();
    let (skill, is_new) = upsert(&mut store, &caller, identity, files, true);
    Ok(respond(skill, is_new))
}

/// `DELETE /v2/skills/{skill_id}` (deleteSkill).
async fn delete_skill(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(skill_id): Path<String>,
) -> SkillResult {
    let mut store = st.store();
    let idx = editable(&store, &caller, &skill_id, "deleted")?;
    let skill = store.skills.remove(idx);
    Ok(ok(json!({
        "success": true,
        "message": format!("Skill {} deleted", skill.meta.name),
    })))
}

/// `GET /v2/skills/{skill_id}/download` (downloadSkill): a ZIP of every file, SKILL.md at the root.
async fn download_skill(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(skill_id): Path<String>,
) -> SkillResult {
    let (name, bytes) = {
        let store = st.store();
        let idx = editable(&store, &caller, &skill_id, "downloaded")?;
        let skill = &store.skills[idx];
        let zip = archive::write_zip(
            skill
                .files
                .iter()
                .map(|(p, f)| (p.as_str(), f.data.as_slice())),
        )
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                format!("could not build the archive: {e}"),
            )
        })?;
        (skill.meta.name.clone(), zip)
    };
    let resp = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/zip")
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}.zip\""),
        )
        .body(Body::from(bytes))
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                e.to_string(),
            )
        })?;
    Ok(resp)
}

/// `GET /v2/skills/{skill_id}/files` (listSkillFiles).
async fn list_files(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(skill_id): Path<String>,
) -> SkillResult {
    let store = st.store();
    let idx = visible(&store, &caller, &skill_id)?;
    let files: Vec<Value> = store.skills[idx]
        .files
        .iter()
        .map(|(path, f)| {
            json!({
                "name": path.rsplit('/').next().unwrap_or(path),
                "path": path,
                "size": f.data.len(),
                "contentType": content_type(path),
                "updatedAt": ts(&f.updated_at),
            })
        })
        .collect();
    Ok(ok(json!({ "files": files })))
}

fn file_path(raw: &str) -> Result<String, ApiError> {
    archive::clean_path(raw).map_err(|e| ApiError::field("path", e))
}

/// `GET /v2/skills/{skill_id}/files/{*}` (getSkillFileContent): UTF-8 content of one file.
async fn get_file(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path((skill_id, raw_path)): Path<(String, String)>,
) -> SkillResult {
    let store = st.store();
    let idx = visible(&store, &caller, &skill_id)?;
    let path = file_path(&raw_path)?;
    let skill = &store.skills[idx];
    let file = skill.files.get(&path).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "File {path} not found in skill {}; listSkillFiles shows its files",
                skill.meta.name
            ),
        )
    })?;
    let Ok(content) = std::str::from_utf8(&file.data) else {
        return Err(ApiError::field(
            "path",
            format!("{path} is a binary file; use downloadSkill to get it"),
        )
        .into());
    };
    Ok(ok(json!({
        "content": content,
        "path": path,
        "contentType": content_type(&path),
    })))
}

/// `PUT /v2/skills/{skill_id}/files/{*}` (updateSkillFile): create or overwrite one text file.
async fn put_file(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path((skill_id, raw_path)): Path<(String, String)>,
    body: Bytes,
) -> SkillResult {
    let map = v::json_object(&body)?;
    let content = v::req_str(&map, "content", 0)?;
    let path = file_path(&raw_path)?;
    if content.len() > MAX_TEXT_FILE {
        return Err(ApiError::field("content", "must be at most 1 MB").into());
    }
    let mut store = st.store();
    let idx = editable(&store, &caller, &skill_id, "edited")?;
    let identity = if path == "SKILL.md" {
        let doc = frontmatter::parse(&content)?;
        let identity = frontmatter::validate(&doc).map_err(SkillError::Invalid)?;
        let clash = store.skills.iter().any(|s| {
            s.meta.team_id == Some(caller.team_id)
                && s.meta.name == identity.name
                && s.meta.id != store.skills[idx].meta.id
        });
        if clash {
            return Err(ApiError::conflict(
                "conflict",
                format!(
                    "Another skill in this team is already named {}",
                    identity.name
                ),
            )
            .into());
        }
        Some(identity)
    } else {
        None
    };
    let skill = &mut store.skills[idx];
    if !skill.files.contains_key(&path) && skill.files.len() >= archive::MAX_FILES {
        return Err(ApiError::field(
            "path",
            format!("a skill holds at most {} files", archive::MAX_FILES),
        )
        .into());
    }
    let now = Utc::now();
    let existed = skill
        .files
        .insert(
            path.clone(),
            SkillFile {
                data: content.into_bytes(),
                updated_at: now,
            },
        )
        .is_some();
    skill.meta.updated_at = now;
    skill.meta.updated_by_user_id = Some(caller.user_id);
    let mut out = json!({
        "success": true,
        "message": format!("File {path} {}", if existed { "updated" } else { "created" }),
    });
    if let Some(id) = identity {
        skill.meta.name = id.name;
        skill.meta.description = id.description;
        if let Value::Object(m) = &mut out {
            m.insert(
                "skill".into(),
                json!({"id": skill.meta.id, "name": skill.meta.name, "description": skill.meta.description}),
            );
        }
    }
    Ok(ok(out))
}

/// `GET /v2/skills/{skill_id}/assignments` (listSkillAssignments): team agents whose live build uses it.
async fn list_assignments(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(skill_id): Path<String>,
) -> SkillResult {
    let store = st.store();
    let idx = visible(&store, &caller, &skill_id)?;
    let id = store.skills[idx].meta.id.to_string();
    let name = store.skills[idx].meta.name.clone();
    let assignments: Vec<Value> = store
        .agents
        .iter()
        .filter(|a| a.team_id == caller.team_id)
        .filter(|a| {
            store.latest_build(a.id).is_some_and(|b| {
                b.config
                    .pointer("/data/skills")
                    .and_then(Value::as_array)
                    .is_some_and(|l| {
                        l.iter()
                            .any(|s| s.as_str().is_some_and(|s| s == id || s == name))
                    })
            })
        })
        .map(|a| json!({"id": a.id, "name": a.name}))
        .collect();
    let total = assignments.len();
    Ok(ok(json!({ "assignments": assignments, "total": total })))
}

const INVOICE_SKILL_MD: &str = "---\nname: invoice-matching\ndescription: Match invoice lines against purchase orders and goods receipts (3-way match) and explain every deviation.\n---\n\n# Invoice matching\n\nUse this skill when an invoice has to be checked against its purchase order (PO) and goods receipt (GR).\n\n1. Extract supplier, invoice number, date, currency, line items and total from the invoice.\n2. Find the PO by the number on the invoice; if none is printed, search open POs of the supplier by amount.\n3. Match every invoice line to a PO line and a GR line by item code, quantity and unit price.\n4. Apply the tolerances in `references/tolerances.md` and list every deviation with its size.\n5. Summarize: matched, matched within tolerance, or blocked (with the reason).\n";
const INVOICE_TOLERANCES_MD: &str = "# Matching tolerances\n\n| check | tolerance |\n| --- | --- |\n| unit price | 2% per line |\n| quantity | exact (services: 5%) |\n| invoice total | EUR 10 or 0.5%, whichever is lower |\n\nFreight and packaging lines without a PO line are always a deviation.\n";
const INVOICE_SCRIPT_PY: &str = "\"\"\"Compare invoice lines with PO lines and print the deviations.\"\"\"\n\nimport json\nimport sys\n\n\ndef deviation(invoiced: float, ordered: float) -> float:\n    return 0.0 if ordered == 0 else abs(invoiced - ordered) / ordered\n\n\nif __name__ == \"__main__\":\n    data = json.load(sys.stdin)\n    for line in data[\"lines\"]:\n        d = deviation(line[\"invoice_price\"], line[\"po_price\"])\n        print(f\"{line['item']}: {d:.2%}\")\n";
const PDF_SKILL_MD: &str = "---\nname: pdf-extraction\ndescription: Extract text, tables and form fields from PDF documents.\nlicense: Proprietary\n---\n\n# PDF extraction\n\nUse this skill to read PDF documents: invoices, delivery notes, contracts and forms.\n\n- Text: extract page by page and keep the reading order.\n- Tables: return rows as JSON objects keyed by the header row.\n- Forms: return every field name with its value.\n- Scanned pages: run OCR first (see `references/ocr.md`).\n";
const PDF_OCR_MD: &str = "# OCR of scanned pages\n\nA page without a text layer is scanned: render it at 300 dpi, run OCR, then extract as usual.\nReport the OCR confidence of every extracted value below 0.9.\n";

/// Seed the sample skills: the team skill `invoice-matching` and the system skill `pdf-extraction`
/// (ids `sid("skill:invoice-matching")` and `sid("skill:pdf-extraction")`).
pub(super) fn seed(store: &mut Store, team: Uuid, now: DateTime<Utc>) {
    let files = |list: &[(&str, &str)], at: DateTime<Utc>| -> BTreeMap<String, SkillFile> {
        list.iter()
            .map(|(p, d)| {
                (
                    (*p).to_string(),
                    SkillFile {
                        data: d.as_bytes().to_vec(),
                        updated_at: at,
                    },
                )
            })
            .collect()
    };
    let team_at = now - Duration::days(9);
    store.skills.push(StoredSkill {
        meta: Skill {
            id: sid("skill:invoice-matching"),
            team_id: Some(team),
            name: "invoice-matching".into(),
            description: "Match invoice lines against purchase orders and goods receipts (3-way match) and explain every deviation.".into(),
            updated_at: team_at,
            updated_by_user_id: Some(DEMO_USER_ID),
        },
        files: files(
            &[
                ("SKILL.md", INVOICE_SKILL_MD),
                ("references/tolerances.md", INVOICE_TOLERANCES_MD),
                ("scripts/match_lines.py", INVOICE_SCRIPT_PY),
            ],
            team_at,
        ),
    });
    let system_at = now - Duration::days(60);
    store.skills.push(StoredSkill {
        meta: Skill {
            id: sid("skill:pdf-extraction"),
            team_id: None,
            name: "pdf-extraction".into(),
            description: "Extract text, tables and form fields from PDF documents.".into(),
            updated_at: system_at,
            updated_by_user_id: None,
        },
        files: files(
            &[
                ("SKILL.md", PDF_SKILL_MD),
                ("references/ocr.md", PDF_OCR_MD),
            ],
            system_at,
        ),
    });
}
