//! Assignment folders: list (with direct agent and subfolder counts), create (201), rename/move,
//! delete, and moving Assignments between folders.
//!
//! Names are unique among siblings (same parent): 409 `folder_name_taken`. A folder cannot move
//! into itself or its own subtree (400). Deleting a folder that holds Assignments or subfolders
//! needs `force=true`, otherwise 400 `{error: "folder_not_empty", message, has_contents: true,
//! agent_count}` where `agent_count` counts the Assignments of the whole subtree; with `force` the
//! subtree is deleted and its Assignments move to the root. A parent folder named in a body that
//! does not exist is a 400 naming the field; a folder or Assignment named in the path (or in
//! moveAgentsToFolder) that does not exist is a 404.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use chrono::Utc;
use serde_json::{Value, json};
use uuid::Uuid;

use super::auth::TeamCaller;
use super::errors::{ApiError, ApiResult};
use super::json_fields as f;
use super::model::AgentFolder;
use super::state::{AppState, Caller, Store};
use super::validate::{self as v, Query};
use super::{created, ok};

/// Routes of Assignment folders.
pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/v2/teams/{teamId}/agent-folders",
            get(list_folders).post(create_folder),
        )
        .route(
            "/v2/teams/{teamId}/agent-folders/move-agents",
            post(move_agents),
        )
        .route(
            "/v2/agent-folders/{folder_id}",
            patch(update_folder).delete(delete_folder),
        )
}

fn folder_index(store: &Store, team: Uuid, id: Uuid) -> ApiResult<usize> {
    store
        .folders
        .iter()
        .position(|x| x.id == id && x.team_id == team)
        .ok_or_else(|| ApiError::not_found("Folder", id))
}

fn path_folder(store: &Store, caller: &Caller, raw: &str) -> ApiResult<usize> {
    let id = v::uuid("folder_id", raw)?;
    folder_index(store, caller.team_id, id)
}

/// A body-referenced parent folder must exist in the team (400 otherwise).
fn check_parent(store: &Store, team: Uuid, parent: Option<Uuid>) -> ApiResult<()> {
    match parent {
        Some(p) if folder_index(store, team, p).is_err() => Err(ApiError::field(
            "parent_folder_id",
            format!("Folder {p} not found"),
        )),
        _ => Ok(()),
    }
}

fn name_taken(
    store: &Store,
    team: Uuid,
    parent: Option<Uuid>,
    name: &str,
    except: Option<Uuid>,
) -> ApiResult<()> {
    if store.folders.iter().any(|x| {
        x.team_id == team && x.parent_folder_id == parent && x.name == name && Some(x.id) != except
    }) {
        let place = parent.map_or_else(|| "the root level".to_string(), |p| format!("folder {p}"));
        return Err(ApiError::conflict(
            "folder_name_taken",
            format!("A folder named '{name}' already exists in {place}"),
        ));
    }
    Ok(())
}

/// `root` and every folder below it.
fn subtree(store: &Store, root: Uuid) -> Vec<Uuid> {
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let current = out[i];
        out.extend(
            store
                .folders
                .iter()
                .filter(|x| x.parent_folder_id == Some(current))
                .map(|x| x.id),
        );
        i += 1;
    }
    out
}

/// `GET /v2/teams/{teamId}/agent-folders` (listAgentFolders).
pub async fn list_folders(
    State(st): State<Arc<AppState>>,
    TeamCaller(caller): TeamCaller,
) -> ApiResult<Response> {
    let store = st.store();
    let folders: Vec<Value> = store
        .folders
        .iter()
        .filter(|x| x.team_id == caller.team_id)
        .map(|x| {
            let agents = store
                .agents
                .iter()
                .filter(|a| a.team_id == caller.team_id && a.folder_id == Some(x.id))
                .count();
            let subfolders = store
                .folders
                .iter()
                .filter(|c| c.parent_folder_id == Some(x.id))
                .count();
            let mut item = x.to_json();
            if let Value::Object(m) = &mut item {
                m.insert("agent_count".into(), json!(agents));
                m.insert("subfolder_count".into(), json!(subfolders));
            }
            item
        })
        .collect();
    Ok(ok(json!({ "folders": folders })))
}

/// `POST /v2/teams/{teamId}/agent-folders` (createAgentFolder, 201).
pub async fn create_folder(
    State(st): State<Arc<AppState>>,
    TeamCaller(caller): TeamCaller,
    body: Bytes,
) -> ApiResult<Response> {
    let b = v::json_object(&body)?;
    let name = f::req_str(&b, "name", 1, 100)?;
    let parent = v::opt_nullable_uuid(&b, "parent_folder_id")?.flatten();
    let mut store = st.store();
    check_parent(&store, caller.team_id, parent)?;
    name_taken(&store, caller.team_id, parent, &name, None)?;
    let now = Utc::now();
    let folder = AgentFolder {
        id: Uuid::new_v4(),
        team_id: caller.team_id,
        name,
        parent_folder_id: parent,
        created_at: now,
        updated_at: now,
    };
    let rendered = folder.to_json();
    store.folders.push(folder);
    Ok(created(json!({ "folder": rendered })))
}

/// `PATCH /v2/agent-folders/{folder_id}` (updateAgentFolder): rename and/or move; no cycles.
pub async fn update_folder(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(folder_id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let b = v::json_object(&body)?;
    let name = f::opt_str(&b, "name", 1, 100)?;
    let parent = v::opt_nullable_uuid(&b, "parent_folder_id")?;
    let mut store = st.store();
    let idx = path_folder(&store, &caller, &folder_id)?;
    let id = store.folders[idx].id;
    if let Some(Some(p)) = parent {
        check_parent(&store, caller.team_id, Some(p))?;
        if subtree(&store, id).contains(&p) {
            return Err(ApiError::field(
                "parent_folder_id",
                "cannot move a folder into itself or one of its subfolders",
            ));
        }
    }
    let final_parent = parent.unwrap_or(store.folders[idx].parent_folder_id);
    let final_name = name
        .clone()
        .unwrap_or_else(|| store.folders[idx].name.clone());
    name_taken(&store, caller.team_id, final_parent, &final_name, Some(id))?;
    let folder = &mut store.folders[idx];
    if name.is_some() || parent.is_some() {
        folder.name = final_name;
        folder.parent_folder_id = final_parent;
        folder.updated_at = Utc::now();
    }
    Ok(ok(json!({ "folder": folder.to_json() })))
}

/// `DELETE /v2/agent-folders/{folder_id}` (deleteAgentFolder; `force=true` for non-empty folders).
pub async fn delete_folder(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(folder_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let q = Query::parse(raw.as_deref());
    let force = q.one_of("force", &["true", "false"], Some("false"))? == Some("true");
    let mut store = st.store();
    let idx = path_folder(&store, &caller, &folder_id)?;
    let id = store.folders[idx].id;
    let tree = subtree(&store, id);
    let in_tree = |a: &super::model::Agent| {
        a.team_id == caller.team_id && a.folder_id.is_some_and(|x| tree.contains(&x))
    };
    let agent_count = store.agents.iter().filter(|a| in_tree(a)).count();
    if !force && (agent_count > 0 || tree.len() > 1) {
        let name = store.folders[idx].name.clone();
        let body = json!({
            "error": "folder_not_empty",
            "message": format!(
                "Folder '{name}' contains {agent_count} Assignment(s) and {} subfolder(s); pass force=true to delete it and move its Assignments to the root level",
                tree.len() - 1
            ),
            "has_contents": true,
            "agent_count": agent_count,
        });
        return Ok((StatusCode::BAD_REQUEST, Json(body)).into_response());
    }
    let now = Utc::now();
    for a in store.agents.iter_mut().filter(|a| in_tree(a)) {
        a.folder_id = None;
        a.updated_at = now;
    }
    store.folders.retain(|x| !tree.contains(&x.id));
    Ok(ok(json!({ "success": true })))
}

/// `POST /v2/teams/{teamId}/agent-folders/move-agents` (moveAgentsToFolder; `folder_id: null` = root).
pub async fn move_agents(
    State(st): State<Arc<AppState>>,
    TeamCaller(caller): TeamCaller,
    body: Bytes,
) -> ApiResult<Response> {
    let b = v::json_object(&body)?;
    let ids = f::opt_uuid_list(&b, "agent_ids", 1, usize::MAX, true)?
        .ok_or_else(|| ApiError::field("agent_ids", "is required"))?;
    let target = v::opt_nullable_uuid(&b, "folder_id")?.ok_or_else(|| {
        ApiError::field(
            "folder_id",
            "is required (a folder id, or null for the root level)",
        )
    })?;
    let mut store = st.store();
    if let Some(fid) = target {
        folder_index(&store, caller.team_id, fid)?;
    }
    for id in &ids {
        store.agent(caller.team_id, *id)?;
    }
    let now = Utc::now();
    for a in store
        .agents
        .iter_mut()
        .filter(|a| a.team_id == caller.team_id && ids.contains(&a.id))
    {
        a.folder_id = target;
        a.updated_at = now;
    }
    Ok(ok(json!({ "success": true, "moved_count": ids.len() })))
}
