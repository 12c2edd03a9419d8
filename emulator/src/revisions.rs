//! Revision operations addressed by build id, and the remaining Assignment operations:
//! updateRevision, promoteRevision, moveAgent, getRevisionCaseQueueSetup.
//!
//! - The *live* revision of an Assignment is the promoted one, else its newest (`Store::latest_build`);
//!   runs, schedules and `status: "live"` follow it. promoteRevision on the live revision → 409
//!   `revision_already_live`; promoting repoints the Assignment's schedules to the new live build.
//!   Creating a revision makes the new one live again (the emulator has no drafts).
//! - updateRevision validates `config` as BuildConfigV2 and `handoverTargetIds` (camelCase) as
//!   Assignments of the team other than the revision's own.
//! - moveAgent: an API key sees only its own team, so a move can never be applied here: the
//!   caller's own team as target → 400 (already there); any other team → 403 (the key is not
//!   authorized for it), also for `dry_run`.
//! - getRevisionCaseQueueSetup: one entry per case-queue-producer/consumer integration of the
//!   Assignment, counting the linked queues that exist.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, patch, post};
use chrono::Utc;
use serde_json::{Value, json};
use uuid::Uuid;

use super::agents::build_json;
use super::errors::{ApiError, ApiResult};
use super::json_fields as f;
use super::ok;
use super::state::{AppState, Caller, Store};
use super::validate::{self as v, Query};

/// Routes of revision-by-id and Assignment move/validation operations.
pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v2/revisions/{build_id}", patch(update_revision))
        .route("/v2/revisions/{build_id}/promote", post(promote_revision))
        .route("/v2/agents/{agent_id}/move", post(move_agent))
        .route(
            "/v2/agents/{agent_id}/revisions/{build_id}/case-queue-validation",
            get(case_queue_setup),
        )
}

/// Index of a build whose Assignment belongs to `team`, or 404.
fn build_index(store: &Store, team: Uuid, id: Uuid) -> ApiResult<usize> {
    store
        .builds
        .iter()
        .position(|b| b.id == id && store.agent(team, b.agent_id).is_ok())
        .ok_or_else(|| ApiError::not_found("Build", id))
}

/// `PATCH /v2/revisions/{build_id}` (updateRevision).
pub async fn update_revision(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(build_id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let id = v::uuid("build_id", &build_id)?;
    let b = v::json_object(&body)?;
    let config = match b.get("config") {
        None => None,
        Some(c) => Some(v::build_config_v2(c, "config")?),
    };
    let handover = f::opt_uuid_list(&b, "handoverTargetIds", 0, usize::MAX, true)?;
    let name = f::opt_nullable_str(&b, "revision_name", 1, 80)?;
    let description = f::opt_nullable_str(&b, "revision_description", 0, 500)?;
    let now = Utc::now();
    let mut store = st.store();
    let idx = build_index(&store, caller.team_id, id)?;
    let agent_id = store.builds[idx].agent_id;
    if let Some(targets) = &handover {
        for (i, t) in targets.iter().enumerate() {
            let field = format!("handoverTargetIds[{i}]");
            if *t == agent_id {
                return Err(ApiError::field(
                    &field,
                    "an Assignment cannot hand over to itself",
                ));
            }
            if store.agent(caller.team_id, *t).is_err() {
                return Err(ApiError::field(&field, format!("Agent {t} not found")));
            }
        }
    }
    let changed = config.is_some() || handover.is_some() || name.is_some() || description.is_some();
    let build = &mut store.builds[idx];
    if let Some(c) = config {
        build.config = c;
    }
    if let Some(t) = handover {
        build.meta.handover_target_ids = t;
    }
    if let Some(n) = name {
        build.meta.revision_name = n;
    }
    if let Some(d) = description {
        build.meta.revision_description = d;
    }
    if changed {
        build.meta.updated_at = Some(now);
    }
    let build = &store.builds[idx];
    Ok(ok(json!({ "build": build_json(&store, build, None) })))
}

/// `POST /v2/revisions/{build_id}/promote` (promoteRevision): make it the live revision.
pub async fn promote_revision(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(build_id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let id = v::uuid("build_id", &build_id)?;
    let b = v::json_object(&body)?;
    let name = f::opt_str(&b, "revision_name", 1, 80)?;
    let description = f::opt_nullable_str(&b, "revision_description", 0, 500)?;
    let now = Utc::now();
    let mut store = st.store();
    let idx = build_index(&store, caller.team_id, id)?;
    let agent_id = store.builds[idx].agent_id;
    if store.latest_build(agent_id).is_some_and(|l| l.id == id) {
        return Err(ApiError::conflict(
            "revision_already_live",
            format!("Revision {id} is already the live revision of Assignment {agent_id}"),
        ));
    }
    let build = &mut store.builds[idx];
    if let Some(n) = name {
        build.meta.revision_name = Some(n);
    }
    if let Some(d) = description {
        build.meta.revision_description = d;
    }
    build.meta.updated_at = Some(now);
    store.live_builds.insert(agent_id, id);
    for s in store
        .schedules
        .iter_mut()
        .filter(|s| s.agent_id == agent_id)
    {
        s.build_id = id;
    }
    if let Ok(a) = store.agent_mut(caller.team_id, agent_id) {
        a.updated_at = now;
        a.updated_by = caller.user_id;
    }
    tracing::debug!(agent = %agent_id, build = %id, "revision promoted");
    Ok(ok(json!({ "success": true })))
}

/// `POST /v2/agents/{agent_id}/move` (moveAgent): never applicable with a team-scoped key.
pub async fn move_agent(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(agent_id): Path<String>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    let id = v::uuid("agent_id", &agent_id)?;
    let q = Query::parse(raw.as_deref());
    q.one_of("dry_run", &["true", "false"], Some("false"))?;
    let b = v::json_object(&body)?;
    let target_raw = v::req_str(&b, "target_team_id", 0)?;
    let target = v::uuid("target_team_id", &target_raw)?;
    v::opt_bool(&b, "move_learnings")?;
    v::opt_bool(&b, "bypass_standalone_gate")?;
    let store = st.store();
    let agent = store.agent(caller.team_id, id)?;
    if target == caller.team_id {
        return Err(ApiError::field(
            "target_team_id",
            format!(
                "Assignment '{}' already belongs to team {target}",
                agent.name
            ),
        ));
    }
    Err(ApiError::forbidden(format!(
        "This API key is not authorized for team {target}; moving an Assignment needs access to both teams"
    )))
}

/// `GET /v2/agents/{agent_id}/revisions/{build_id}/case-queue-validation` (getRevisionCaseQueueSetup).
pub async fn case_queue_setup(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path((agent_id, build_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let id = v::uuid("agent_id", &agent_id)?;
    let bid = v::uuid("build_id", &build_id)?;
    let store = st.store();
    let agent = store.agent(caller.team_id, id)?;
    if !store.builds.iter().any(|b| b.id == bid && b.agent_id == id) {
        return Err(ApiError::not_found("Build", bid));
    }
    let team_queues: Vec<&str> = store
        .queues
        .iter()
        .filter(|q| q.team_id == caller.team_id)
        .map(|q| q.name.as_str())
        .collect();
    let configs: Vec<Value> = agent
        .integration_configs
        .iter()
        .filter_map(|c| {
            let kind = c.get("integration_type").and_then(Value::as_str)?;
            if !matches!(kind, "case-queue-producer" | "case-queue-consumer") {
                return None;
            }
            let linked = c
                .get("linked_queue_names")
                .and_then(Value::as_array)
                .map_or(0, |names| {
                    names
                        .iter()
                        .filter_map(Value::as_str)
                        .filter(|n| team_queues.contains(n))
                        .count()
                });
            Some(json!({
                "config_id": c.get("id").cloned().unwrap_or(Value::Null),
                "integration_type": kind,
                "linked_queue_count": linked,
            }))
        })
        .collect();
    Ok(ok(json!({
        "configs": configs,
        "has_available_queues": !team_queues.is_empty(),
    })))
}
