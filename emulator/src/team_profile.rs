//! Team and profile (read-only in the emulator).

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};

use super::auth::TeamCaller;
use super::errors::{ApiError, ApiResult};
use super::ok;
use super::state::{AppState, Caller};

/// `GET /v2/teams` (listMyTeams): the key's single team.
pub async fn list_my_teams(State(st): State<Arc<AppState>>, caller: Caller) -> ApiResult<Response> {
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
    TeamCaller(caller): TeamCaller,
) -> ApiResult<Response> {
    let store = st.store();
    let t = store
        .team(caller.team_id)
        .ok_or_else(|| ApiError::not_found("Team", caller.team_id))?;
    Ok(ok(json!({ "team": t.to_json() })))
}

/// `GET /v2/profile` (getProfile; note camelCase `teamId`).
pub async fn get_profile(State(st): State<Arc<AppState>>, caller: Caller) -> ApiResult<Response> {
    let store = st.store();
    let u = store
        .user(caller.user_id)
        .ok_or_else(|| ApiError::not_found("User", caller.user_id))?;
    Ok(ok(json!({
        "profile": {"id": u.id, "name": u.name, "email": u.email, "teamId": caller.team_id}
    })))
}
