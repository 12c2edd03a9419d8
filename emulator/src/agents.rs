//! Assignments (agents) and their revisions (builds).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use chrono::Utc;
use serde_json::{Value, json};
use uuid::Uuid;

use super::auth::TeamCaller;
use super::errors::{ApiError, ApiResult};
use super::model::{Agent, Build, RunStatus, ts_opt};
use super::runs;
use super::state::{AppState, Caller, Store};
use super::validate::{self as v, Query};
use super::{created, ok};

/// A BuildConfigV2 with the given SOP text and agent model.
pub fn config_v2(sop: &str, model: &str) -> Value {
    json!({
        "version": "v2",
        "data": {
            "models": {
                "agent": {"model": model},
                "browsing": {"provider": "anthropic", "model": "claude-sonnet-4-5"}
            },
            "input": sop,
            "files": [],
            "skills": [],
            "plugins": [],
            "subAgents": []
        }
    })
}

/// Render a build, marking it `live` when it is the agent's latest.
pub fn build_json(store: &Store, b: &Build, schedules: Option<Vec<Value>>) -> Value {
    let latest = store.latest_build(b.agent_id).is_some_and(|l| l.id == b.id);
    b.to_json(latest, &store.users, schedules)
}

/// listAgents item: the agent object plus the list-only fields.
fn list_item(store: &Store, a: &Agent, user: Uuid, include_schedules: bool) -> Value {
    let mut item = a.to_json(&store.users);
    let last_run = store
        .runs
        .iter()
        .filter(|r| r.agent_id == a.id)
        .map(|r| r.created_at)
        .max();
    let latest = store.latest_build(a.id).map(|b| {
        let schedules = include_schedules.then(|| {
            store
                .schedules
                .iter()
                .filter(|s| s.agent_id == a.id && s.user_id == user)
                .map(|s| s.to_json(&store.users))
                .collect()
        });
        b.to_json(true, &store.users, schedules)
    });
    let queue_name = a
        .case_queue_id
        .and_then(|q| store.queues.iter().find(|x| x.id == q))
        .map(|q| q.name.clone());
    if let Value::Object(m) = &mut item {
        m.insert("pinned_at".into(), ts_opt(&a.pins.get(&user).copied()));
        m.insert("last_run_at".into(), ts_opt(&last_run));
        m.insert("latest_build".into(), latest.unwrap_or(Value::Null));
        m.insert(
            "integration_configs".into(),
            Value::Array(a.integration_configs.clone()),
        );
        m.insert(
            "user_triggers".into(),
            json!({
                "slack_mention": a.user_triggers[0],
                "slack_channel": a.user_triggers[1],
                "teams_mention": a.user_triggers[2],
            }),
        );
        m.insert("case_trigger_enabled".into(), json!(a.case_trigger_enabled));
        m.insert("case_trigger_has_conflict".into(), json!(false));
        m.insert("case_trigger_conflicting_agents".into(), json!([]));
        m.insert("case_queue_name".into(), json!(queue_name));
    }
    item
}

/// `GET /v2/teams/{teamId}/agents` (listAgents). Pinned agents first, then newest first.
pub async fn list_agents(
    State(st): State<Arc<AppState>>,
    TeamCaller(caller): TeamCaller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let q = Query::parse(raw.as_deref());
    let page = q.page(100, 20)?;
    let include = q.one_of("include_schedules", &["true", "false"], Some("false"))? == Some("true");
    let automation = q.uuid("automation_id")?;
    let store = st.store();
    let mut agents: Vec<&Agent> = store
        .agents
        .iter()
        .filter(|a| a.team_id == caller.team_id)
        .filter(|a| automation.is_none_or(|x| a.automation_id == Some(x)))
        .collect();
    agents.sort_by(|a, b| {
        let pa = a.pins.get(&caller.user_id);
        let pb = b.pins.get(&caller.user_id);
        pb.cmp(&pa).then(b.created_at.cmp(&a.created_at))
    });
    Ok(ok(v::page_envelope("agents", agents, page, |a| {
        list_item(&store, a, caller.user_id, include)
    })))
}

/// `POST /v2/teams/{teamId}/agents` (createAgent, 201).
pub async fn create_agent(
    State(st): State<Arc<AppState>>,
    TeamCaller(caller): TeamCaller,
    body: Bytes,
) -> ApiResult<Response> {
    let b = v::json_object(&body)?;
    let name = v::req_str(&b, "name", 1)?;
    let thread_id = v::opt_nullable_uuid(&b, "thread_id")?.flatten();
    let source_build = v::opt_nullable_uuid(&b, "source_build_id")?.flatten();
    let automation_id = v::opt_nullable_uuid(&b, "automation_id")?.flatten();
    let build = match b.get("build") {
        None | Some(Value::Null) => None,
        Some(Value::Object(bm)) => {
            let bname = v::req_str(bm, "name", 1).map_err(|e| e.prefixed("build."))?;
            let cfg = match bm.get("config") {
                None | Some(Value::Null) => {
                    return Err(ApiError::field("build.config", "is required"));
                }
                Some(c) => v::build_config_v2(c, "build.config")?,
            };
            Some((bname, cfg))
        }
        Some(other) => {
            return Err(ApiError::field(
                "build",
                format!("must be an object, got {}", v::type_name(other)),
            ));
        }
    };
    let now = Utc::now();
    let mut store = st.store();
    if let Some(src) = source_build {
        let found = store.builds.iter().any(|bb| {
            bb.id == src
                && store
                    .agents
                    .iter()
                    .any(|a| a.id == bb.agent_id && a.team_id == caller.team_id)
        });
        if !found {
            return Err(ApiError::field(
                "source_build_id",
                format!("Build {src} not found"),
            ));
        }
    }
    let agent = Agent {
        id: Uuid::new_v4(),
        team_id: caller.team_id,
        name,
        slack_enabled: Some(false),
        microsoft_teams_enabled: Some(false),
        agentic_memory_enabled: Some(false),
        thread_id,
        folder_id: None,
        automation_id,
        created_at: now,
        updated_at: now,
        created_by: caller.user_id,
        updated_by: caller.user_id,
        pins: Default::default(),
        integration_configs: Vec::new(),
        user_triggers: [false; 3],
        case_trigger_enabled: false,
        case_queue_id: None,
    };
    let mut resp = json!({ "agent": agent.to_json(&store.users) });
    if let Some((bname, config)) = build {
        let build = Build {
            id: Uuid::new_v4(),
            agent_id: agent.id,
            name: bname,
            config,
            revision_number: 1,
            parent_build_id: None,
            created_by: caller.user_id,
            created_at: now,
            meta: Default::default(),
        };
        if let Value::Object(m) = &mut resp {
            m.insert("build".into(), build.to_json(true, &store.users, None));
        }
        store.builds.push(build);
    }
    store.agents.push(agent);
    Ok(created(resp))
}

/// `GET /v2/agents/{agent_id}` (getAgent).
pub async fn get_agent(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(agent_id): Path<String>,
) -> ApiResult<Response> {
    let id = v::uuid("agent_id", &agent_id)?;
    let store = st.store();
    let a = store.agent(caller.team_id, id)?;
    Ok(ok(agent_answer(&store, a, caller.user_id)))
}

/// getAgent's and updateAgent's answer: the Assignment and the caller's view of it.
fn agent_answer(store: &Store, a: &Agent, user_id: Uuid) -> Value {
    json!({
        "agent": a.to_json(&store.users),
        "user_context": a.user_context(user_id),
    })
}

/// `PATCH /v2/agents/{agent_id}` (updateAgent).
pub async fn update_agent(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(agent_id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let id = v::uuid("agent_id", &agent_id)?;
    let b = v::json_object(&body)?;
    let name = v::opt_str(&b, "name", 1)?;
    let slack = v::opt_bool(&b, "slack_enabled")?;
    let teams = v::opt_bool(&b, "microsoft_teams_enabled")?;
    let memory = v::opt_bool(&b, "agentic_memory_enabled")?;
    let thread = v::opt_nullable_uuid(&b, "thread_id")?;
    let pinned = v::opt_bool(&b, "pinned")?;
    let now = Utc::now();
    let mut store = st.store();
    let a = store.agent_mut(caller.team_id, id)?;
    let mut changed = false;
    if let Some(n) = name {
        a.name = n;
        changed = true;
    }
    if let Some(x) = slack {
        a.slack_enabled = Some(x);
        changed = true;
    }
    if let Some(x) = teams {
        a.microsoft_teams_enabled = Some(x);
        changed = true;
    }
    if let Some(x) = memory {
        a.agentic_memory_enabled = Some(x);
        changed = true;
    }
    if let Some(x) = thread {
        a.thread_id = x;
        changed = true;
    }
    match pinned {
        Some(true) => {
            a.pins.entry(caller.user_id).or_insert(now);
        }
        Some(false) => {
            a.pins.remove(&caller.user_id);
        }
        None => {}
    }
    if changed {
        a.updated_at = now;
        a.updated_by = caller.user_id;
    }
    let a = store.agent(caller.team_id, id)?;
    Ok(ok(agent_answer(&store, a, caller.user_id)))
}

/// `DELETE /v2/agents/{agent_id}` (deleteAgent): removes builds and schedules, interrupts active runs.
pub async fn delete_agent(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(agent_id): Path<String>,
) -> ApiResult<Response> {
    let id = v::uuid("agent_id", &agent_id)?;
    let now = Utc::now();
    let hooks = {
        let mut store = st.store();
        store.agent(caller.team_id, id)?;
        let active: Vec<Uuid> = store
            .runs
            .iter()
            .filter(|r| r.agent_id == id && r.status.is_active())
            .map(|r| r.id)
            .collect();
        let hooks: Vec<_> = active
            .into_iter()
            .filter_map(|rid| runs::halt(&mut store, rid, RunStatus::Interrupted, now))
            .collect();
        store.agents.retain(|a| a.id != id);
        store.builds.retain(|b| b.agent_id != id);
        store.live_builds.remove(&id);
        store.schedules.retain(|s| s.agent_id != id);
        hooks
    };
    for (url, payload) in hooks {
        runs::deliver(&st, url, payload);
    }
    Ok(ok(json!({ "success": true })))
}

/// `GET /v2/agents/{agent_id}/revisions` (listAgentRevisions), newest first.
pub async fn list_revisions(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(agent_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let id = v::uuid("agent_id", &agent_id)?;
    let q = Query::parse(raw.as_deref());
    let page = q.page(100, 20)?;
    let store = st.store();
    store.agent(caller.team_id, id)?;
    let mut builds: Vec<&Build> = store.builds.iter().filter(|b| b.agent_id == id).collect();
    builds.sort_by_key(|b| std::cmp::Reverse(b.revision_number));
    Ok(ok(v::page_envelope("builds", builds, page, |b| {
        build_json(&store, b, None)
    })))
}

/// `POST /v2/agents/{agent_id}/revisions` (createRevision, 201). Without `config` the latest config is copied.
pub async fn create_revision(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(agent_id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let id = v::uuid("agent_id", &agent_id)?;
    let b = v::json_object(&body)?;
    let name = v::req_str(&b, "name", 1)?;
    let config = match b.get("config") {
        None => None,
        Some(c) => Some(v::build_config_v2(c, "config")?),
    };
    let mut handover = Vec::new();
    match b.get("handover_target_ids") {
        None => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let f = format!("handover_target_ids[{i}]");
                let s = item
                    .as_str()
                    .ok_or_else(|| ApiError::field(&f, "must be a UUID"))?;
                handover.push((f.clone(), v::uuid(&f, s)?));
            }
        }
        Some(other) => {
            return Err(ApiError::field(
                "handover_target_ids",
                format!("must be an array of UUIDs, got {}", v::type_name(other)),
            ));
        }
    }
    let source = v::opt_uuid(&b, "source_build_id")?;
    let now = Utc::now();
    let mut store = st.store();
    store.agent(caller.team_id, id)?;
    for (f, target) in &handover {
        if store.agent(caller.team_id, *target).is_err() {
            return Err(ApiError::field(f, format!("Agent {target} not found")));
        }
    }
    if let Some(src) = source {
        let ok_src = store
            .builds
            .iter()
            .any(|bb| bb.id == src && store.agent(caller.team_id, bb.agent_id).is_ok());
        if !ok_src {
            return Err(ApiError::not_found("Build", src));
        }
    }
    let latest = store.latest_build(id);
    let parent = latest.map(|l| l.id);
    // Numbering follows the highest revision, even when an older one was promoted live.
    let number = store
        .builds
        .iter()
        .filter(|b| b.agent_id == id)
        .map(|b| b.revision_number)
        .max()
        .map_or(1, |n| n + 1);
    let config = config.unwrap_or_else(|| {
        latest.map_or_else(|| config_v2("", "claude-sonnet-4-6"), |l| l.config.clone())
    });
    let mut build = Build {
        id: Uuid::new_v4(),
        agent_id: id,
        name,
        config,
        revision_number: number,
        parent_build_id: parent,
        created_by: caller.user_id,
        created_at: now,
        meta: Default::default(),
    };
    build.meta.handover_target_ids = handover.iter().map(|(_, t)| *t).collect();
    let rendered = build.to_json(true, &store.users, None);
    store.builds.push(build);
    // A new revision goes live, replacing any earlier promotion.
    store.live_builds.remove(&id);
    if let Ok(a) = store.agent_mut(caller.team_id, id) {
        a.updated_at = now;
    }
    Ok(created(json!({ "build": rendered, "agent": { "id": id } })))
}

/// `GET /v2/agents/{agent_id}/revisions/{build_id}` (getRevision).
pub async fn get_revision(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path((agent_id, build_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let id = v::uuid("agent_id", &agent_id)?;
    let bid = v::uuid("build_id", &build_id)?;
    let store = st.store();
    store.agent(caller.team_id, id)?;
    let b = store
        .builds
        .iter()
        .find(|b| b.id == bid && b.agent_id == id)
        .ok_or_else(|| ApiError::not_found("Build", bid))?;
    Ok(ok(json!({ "build": build_json(&store, b, None) })))
}
