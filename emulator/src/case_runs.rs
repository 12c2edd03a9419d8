//! The Jobs (runs) of a case and its history: listCaseRuns, listCaseRunRecentMessages and the
//! `events` of getCase.
//!
//! Events are derived from the case and the runs that worked on it (`created`, `claimed`,
//! `human_request_created`, `human_request_responded`, `completed`, `failed`, `released`) plus the
//! ones case operations record (`status_changed`, `priority_changed`, `reprocessed`), oldest first.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::cases::{case_index, path_id};
use super::errors::{ApiError, ApiResult};
use super::model::{Case, Message, Run, RunStatus, id_opt, ts, ts_opt};
use super::ok;
use super::seed::sid;
use super::state::{AppState, Caller, Store};
use super::validate::Query;

/// listCaseRuns returns at most this many runs.
const MAX_CASE_RUNS: usize = 50;

/// One history entry before rendering.
struct Event<'a> {
    id: Uuid,
    kind: &'a str,
    reason: Option<String>,
    at: DateTime<Utc>,
    run_id: Option<Uuid>,
    agent_id: Option<Uuid>,
    user_id: Option<Uuid>,
    request: Option<(Uuid, String)>,
}

fn agent_name(store: &Store, run: Option<&Run>, agent_id: Option<Uuid>) -> Value {
    let id = match agent_id {
        Some(id) => id,
        None => return Value::Null,
    };
    store
        .agents
        .iter()
        .find(|a| a.id == id)
        .map(|a| a.name.clone())
        .or_else(|| run.map(|r| r.agent_name.clone()))
        .map_or(Value::Null, Value::String)
}

fn derived_events<'a>(store: &'a Store, case: &Case) -> Vec<Event<'a>> {
    let mut out = vec![Event {
        id: sid(&format!("case-event:{}:created", case.id)),
        kind: "created",
        reason: None,
        at: case.created_at,
        run_id: None,
        agent_id: None,
        user_id: case.created_by_user_id,
        request: None,
    }];
    for run in store.runs.iter().filter(|r| r.case_id == Some(case.id)) {
        let base = |kind: &'a str, at: DateTime<Utc>, extra: &str| Event {
            id: sid(&format!("case-event:{}:{}:{kind}{extra}", case.id, run.id)),
            kind,
            reason: None,
            at,
            run_id: Some(run.id),
            agent_id: Some(run.agent_id),
            user_id: run.user_id,
            request: None,
        };
        out.push(base("claimed", run.created_at, ""));
        for hr in &run.human_requests {
            let mut e = base("human_request_created", hr.created_at, &hr.id.to_string());
            e.request = Some((hr.id, hr.title.clone()));
            out.push(e);
            if let Some(at) = hr.responded_at {
                let mut e = base("human_request_responded", at, &hr.id.to_string());
                e.request = Some((hr.id, hr.title.clone()));
                e.reason = hr.response.clone();
                out.push(e);
            }
        }
        if let Some(at) = run.completed_at {
            let kind = match run.status {
                RunStatus::Completed => "completed",
                RunStatus::Failed => "failed",
                _ => "released",
            };
            let mut e = base(kind, at, "");
            if kind == "released" {
                e.reason = Some(format!("Job {}", run.status.as_str()));
            }
            out.push(e);
        }
    }
    for e in store.case_events.iter().filter(|e| e.case_id == case.id) {
        out.push(Event {
            id: e.id,
            kind: e.kind,
            reason: e.reason.clone(),
            at: e.created_at,
            run_id: e.agent_run_id,
            agent_id: e.agent_id,
            user_id: e.user_id,
            request: e.human_request_id.map(|id| (id, String::new())),
        });
    }
    out.sort_by_key(|e| e.at);
    out
}

/// getCase `events`: the case's history, oldest first.
pub fn events_json(store: &Store, case: &Case) -> Vec<Value> {
    derived_events(store, case)
        .into_iter()
        .map(|e| {
            let run = e
                .run_id
                .and_then(|id| store.runs.iter().find(|r| r.id == id));
            let user = e.user_id.and_then(|id| store.user(id));
            let title = e
                .request
                .as_ref()
                .map(|(_, t)| t.clone())
                .filter(|t| !t.is_empty());
            json!({
                "id": e.id,
                "case_queue_item_id": case.id,
                "agent_run_id": id_opt(&e.run_id),
                "human_request_id": id_opt(&e.request.as_ref().map(|(id, _)| *id)),
                "type": e.kind,
                "reason": e.reason,
                "created_at": ts(&e.at),
                "agent_id": id_opt(&e.agent_id),
                "agent_name": agent_name(store, run, e.agent_id),
                "user_id": id_opt(&e.user_id),
                "user_name": user.map(|u| u.name.clone()),
                "user_email": user.map(|u| u.email.clone()),
                "human_request_title": title,
            })
        })
        .collect()
}

/// listCaseRuns `status`: the spec's enum has no `stopped`, so a stopped run reads `interrupted`.
fn case_run_status(s: RunStatus) -> &'static str {
    match s {
        RunStatus::Stopped => "interrupted",
        other => other.as_str(),
    }
}

fn case_run_json(store: &Store, run: &Run) -> Value {
    let user = run.user_id.and_then(|id| store.user(id));
    let pending = run.pending();
    json!({
        "id": run.id,
        "case_queue_item_id": id_opt(&run.case_id),
        "agent_id": run.agent_id,
        "agent_name": agent_name(store, Some(run), Some(run.agent_id)),
        "status": case_run_status(run.status),
        "source": run.source,
        "created_at": ts(&run.created_at),
        "started_at": ts_opt(&run.started_at),
        "completed_at": ts_opt(&run.completed_at),
        "claimed_at": ts(&run.created_at),
        "has_pending_human_request": pending.is_some(),
        "pending_human_request_title": pending.map(|h| h.title.clone()),
        "evaluation": {"passed": 0, "total": 0, "status": "unavailable"},
        "user_id": id_opt(&run.user_id),
        "user_name": user.map(|u| u.name.clone()),
        "user_email": user.map(|u| u.email.clone()),
    })
}

/// `GET /v2/cases/{case_id}/runs` (listCaseRuns): newest first, at most 50.
pub async fn list_case_runs(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(case_id): Path<String>,
) -> ApiResult<Response> {
    let id = path_id("Case", &case_id)?;
    let store = st.store();
    case_index(&store, caller.team_id, id)?;
    let mut list: Vec<&Run> = store
        .runs
        .iter()
        .filter(|r| r.case_id == Some(id))
        .collect();
    list.sort_by_key(|r| std::cmp::Reverse(r.created_at));
    let runs: Vec<Value> = list
        .into_iter()
        .take(MAX_CASE_RUNS)
        .map(|r| case_run_json(&store, r))
        .collect();
    Ok(ok(json!({ "runs": runs })))
}

/// A run message in the recent-messages (runtime transcript) form, if it qualifies.
fn recent_message_json(run_id: Uuid, m: &Message) -> Option<Value> {
    if m.role != "assistant" {
        return None;
    }
    let mut v = json!({
        "id": m.id.to_string(),
        "runtime": "responses",
        "timestamp": ts(&m.timestamp),
        "raw_message": {"session_id": run_id.to_string(), "uuid": m.id.to_string()},
        "role": "assistant",
    });
    let Value::Object(obj) = &mut v else {
        return None;
    };
    match (m.kind, &m.text, &m.tool_call) {
        ("message", Some(text), _) => {
            obj.insert("type".into(), json!("text"));
            obj.insert("text_content".into(), json!(text));
        }
        ("tool_call", _, Some(call)) => {
            let mut tc = serde_json::Map::new();
            tc.insert(
                "id".into(),
                json!(call.get("id").and_then(Value::as_str).unwrap_or_default()),
            );
            tc.insert(
                "name".into(),
                json!(call.get("name").and_then(Value::as_str).unwrap_or_default()),
            );
            if let Some(args @ Value::Object(_)) = call.get("arguments") {
                tc.insert("arguments".into(), args.clone());
            }
            obj.insert("type".into(), json!("tool_call"));
            obj.insert("tool_call".into(), Value::Object(tc));
        }
        _ => return None,
    }
    Some(v)
}

/// `GET /v2/cases/{case_id}/runs/{run_id}/recent-messages` (listCaseRunRecentMessages):
/// the latest assistant texts and tool calls, newest last (limit 1–10, default 3).
pub async fn list_recent_messages(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path((case_id, run_id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let id = path_id("Case", &case_id)?;
    let rid = path_id("Run", &run_id)?;
    let limit = Query::parse(raw.as_deref()).int("limit", 1, 10, 3)?;
    let limit = usize::try_from(limit).unwrap_or(3);
    let store = st.store();
    case_index(&store, caller.team_id, id)?;
    let run = store
        .run(caller.team_id, rid)
        .ok()
        .filter(|r| r.case_id == Some(id))
        .ok_or_else(|| ApiError::not_found("Run", rid))?;
    let qualifying: Vec<Value> = run
        .messages
        .iter()
        .filter_map(|m| recent_message_json(run.id, m))
        .collect();
    let skip = qualifying.len().saturating_sub(limit);
    let messages: Vec<Value> = qualifying.into_iter().skip(skip).collect();
    Ok(ok(json!({ "messages": messages })))
}
