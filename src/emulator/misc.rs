//! Team, profile, skills and schedules (read-only in the emulator).

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::auth::check_team;
use super::errors::{ApiError, ApiResult};
use super::ok;
use super::state::{AppState, Caller};
use super::validate as v;

/// `GET /v2/teams` (listMyTeams): the key's single team.
pub async fn list_my_teams(
    State(st): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Response> {
    let store = st.store();
    let teams: Vec<Value> = store
        .team(caller.team_id)
        .map(|t| json!({"id": t.id, "name": t.name, "organization_id": t.organization_id}))
        .into_iter()
        .collect();
    Ok(ok(json!({ "teams": teams })))
}

/// `GET /v2/teams/{teamId}` (getTeam): 403 for any id other than the key's team.
pub async fn get_team(
    State(st): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(team): Path<String>,
) -> ApiResult<Response> {
    check_team(&caller, &team)?;
    let store = st.store();
    let t = store
        .team(caller.team_id)
        .ok_or_else(|| ApiError::not_found("Team", caller.team_id))?;
    Ok(ok(json!({ "team": t.to_json() })))
}

/// `GET /v2/profile` (getProfile; note camelCase `teamId`).
pub async fn get_profile(
    State(st): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Response> {
    let store = st.store();
    let u = store
        .user(caller.user_id)
        .ok_or_else(|| ApiError::not_found("User", caller.user_id))?;
    Ok(ok(json!({
        "profile": {"id": u.id, "name": u.name, "email": u.email, "teamId": caller.team_id}
    })))
}

/// `GET /v2/teams/{teamId}/skills` (listSkills): team skills plus system skills.
pub async fn list_skills(
    State(st): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(team): Path<String>,
) -> ApiResult<Response> {
    check_team(&caller, &team)?;
    let store = st.store();
    let skills: Vec<Value> = store
        .skills
        .iter()
        .filter(|s| s.team_id.is_none_or(|t| t == caller.team_id))
        .map(|s| s.to_json(&store.users))
        .collect();
    Ok(ok(json!({ "skills": skills })))
}

/// `GET /v2/agents/{agent_id}/schedules` (listAgentSchedules): the caller's own schedules.
pub async fn list_schedules(
    State(st): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(agent_id): Path<String>,
) -> ApiResult<Response> {
    let id = v::uuid("agent_id", &agent_id)?;
    let store = st.store();
    store.agent(caller.team_id, id)?;
    let schedules: Vec<Value> = store
        .schedules
        .iter()
        .filter(|s| s.agent_id == id && s.user_id == caller.user_id)
        .map(|s| s.to_json(&store.users))
        .collect();
    Ok(ok(json!({ "schedules": schedules })))
}
