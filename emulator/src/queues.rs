//! Queues: list, get, create, update, delete, and the Assignments bound to a queue.
//!
//! Queue names are unique within a team (409 `queue_name_taken`). `folder_id` and `automation_id`
//! are stored as given. An Assignment *consumes* a queue when its case trigger points at it or it
//! has a `case-queue-consumer` integration linked to the queue; it *produces* into a queue through
//! a `case-queue-producer` integration. Links by name follow a rename; deleting a queue interrupts
//! the active runs of its cases, deletes cases and labels, and unlinks consumers and producers.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use chrono::Utc;
use serde_json::{Value, json};
use uuid::Uuid;

use super::auth::TeamCaller;
use super::cases::{deliver_all, remove_queue_cases};
use super::errors::{ApiError, ApiResult};
use super::json_fields as f;
use super::model::{Agent, Queue};
use super::state::{AppState, Caller, Store};
use super::validate::{self as v, Query};
use super::{created, ok};

/// Routes of queues.
pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/v2/teams/{teamId}/queues",
            get(list_queues).post(create_queue),
        )
        .route(
            "/v2/queues/{queue_id}",
            get(get_queue).patch(update_queue).delete(delete_queue),
        )
        .route("/v2/queues/{queue_id}/agents", get(list_queue_agents))
}

/// Queue names an integration config is linked to (`linked_queue_names`).
fn linked_names(config: &Value) -> impl Iterator<Item = &str> {
    config
        .get("linked_queue_names")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

fn has_link(a: &Agent, kind: &str, queue: &Queue) -> bool {
    a.integration_configs.iter().any(|c| {
        c.get("integration_type").and_then(Value::as_str) == Some(kind)
            && linked_names(c).any(|n| n == queue.name)
    })
}

fn is_consumer(a: &Agent, queue: &Queue) -> bool {
    a.case_queue_id == Some(queue.id) || has_link(a, "case-queue-consumer", queue)
}

fn trigger_on(a: &Agent, queue: &Queue) -> bool {
    a.case_trigger_enabled && a.case_queue_id == Some(queue.id)
}

/// Consumers of `queue` as (agent id, case trigger enabled on this queue).
pub fn consumers(store: &Store, queue: &Queue) -> Vec<(Uuid, bool)> {
    store
        .agents
        .iter()
        .filter(|a| a.team_id == queue.team_id && is_consumer(a, queue))
        .map(|a| (a.id, trigger_on(a, queue)))
        .collect()
}

fn queue_index(store: &Store, team: Uuid, id: Uuid) -> ApiResult<usize> {
    store
        .queues
        .iter()
        .position(|q| q.id == id && q.team_id == team)
        .ok_or_else(|| ApiError::not_found("Queue", id))
}

fn name_taken(store: &Store, team: Uuid, name: &str, except: Option<Uuid>) -> ApiResult<()> {
    if store
        .queues
        .iter()
        .any(|q| q.team_id == team && q.name == name && Some(q.id) != except)
    {
        return Err(ApiError::conflict(
            "queue_name_taken",
            format!("A queue named '{name}' already exists in this team"),
        ));
    }
    Ok(())
}

/// Rewrite (or with `None`, drop) a queue name in every agent's `linked_queue_names`.
fn relink(store: &mut Store, team: Uuid, old: &str, new: Option<&str>) {
    for a in store.agents.iter_mut().filter(|a| a.team_id == team) {
        for c in &mut a.integration_configs {
            let Some(Value::Array(names)) = c.get_mut("linked_queue_names") else {
                continue;
            };
            match new {
                Some(n) => names
                    .iter_mut()
                    .filter(|x| x.as_str() == Some(old))
                    .for_each(|x| *x = Value::String(n.to_string())),
                None => names.retain(|x| x.as_str() != Some(old)),
            }
        }
    }
}

/// `GET /v2/teams/{teamId}/queues` (listQueues; limit 1–250, default 250).
pub async fn list_queues(
    State(st): State<Arc<AppState>>,
    TeamCaller(caller): TeamCaller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let q = Query::parse(raw.as_deref());
    let page = q.page(250, 250)?;
    let automation = q.uuid("automation_id")?;
    let store = st.store();
    let all: Vec<&Queue> = store
        .queues
        .iter()
        .filter(|x| x.team_id == caller.team_id)
        .filter(|x| automation.is_none_or(|a| x.automation_id == Some(a)))
        .collect();
    Ok(ok(v::page_envelope("queues", all, page, Queue::to_json)))
}

/// `GET /v2/queues/{queue_id}` (getQueue).
pub async fn get_queue(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(queue_id): Path<String>,
) -> ApiResult<Response> {
    let id = v::uuid("queue_id", &queue_id)?;
    let store = st.store();
    let q = store.queue(caller.team_id, id)?;
    Ok(ok(json!({ "queue": q.to_json() })))
}

/// `POST /v2/teams/{teamId}/queues` (createQueue, 201).
pub async fn create_queue(
    State(st): State<Arc<AppState>>,
    TeamCaller(caller): TeamCaller,
    body: Bytes,
) -> ApiResult<Response> {
    let b = v::json_object(&body)?;
    let name = f::req_str(&b, "name", 1, 100)?;
    let description = f::opt_nullable_str(&b, "description", 0, 500)?.flatten();
    let folder_id = v::opt_nullable_uuid(&b, "folder_id")?.flatten();
    let automation_id = v::opt_nullable_uuid(&b, "automation_id")?.flatten();
    let mut store = st.store();
    name_taken(&store, caller.team_id, &name, None)?;
    let queue = Queue {
        id: Uuid::new_v4(),
        team_id: caller.team_id,
        name,
        description,
        created_at: Utc::now(),
        has_approvals: false,
        folder_id,
        automation_id,
    };
    let rendered = queue.to_json();
    store.queues.push(queue);
    Ok(created(json!({ "queue": rendered })))
}

/// `PATCH /v2/queues/{queue_id}` (updateQueue).
pub async fn update_queue(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(queue_id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let id = v::uuid("queue_id", &queue_id)?;
    let b = v::json_object(&body)?;
    let name = f::opt_str(&b, "name", 1, 100)?;
    let description = f::opt_nullable_str(&b, "description", 0, 500)?;
    let folder_id = v::opt_nullable_uuid(&b, "folder_id")?;
    let mut store = st.store();
    let idx = queue_index(&store, caller.team_id, id)?;
    if let Some(n) = &name {
        name_taken(&store, caller.team_id, n, Some(id))?;
        let old = store.queues[idx].name.clone();
        if &old != n {
            relink(&mut store, caller.team_id, &old, Some(n));
        }
    }
    let q = &mut store.queues[idx];
    if let Some(n) = name {
        q.name = n;
    }
    if let Some(d) = description {
        q.description = d;
    }
    if let Some(fid) = folder_id {
        q.folder_id = fid;
    }
    Ok(ok(json!({ "queue": q.to_json() })))
}

/// `DELETE /v2/queues/{queue_id}` (deleteQueue; note snake_case `interrupted_run_ids` here).
pub async fn delete_queue(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(queue_id): Path<String>,
) -> ApiResult<Response> {
    let id = v::uuid("queue_id", &queue_id)?;
    let now = Utc::now();
    let (count, interrupted, hooks) = {
        let mut store = st.store();
        let idx = queue_index(&store, caller.team_id, id)?;
        let out = remove_queue_cases(&mut store, id, now);
        store.case_labels.retain(|l| l.queue_id != id);
        let queue = store.queues.remove(idx);
        relink(&mut store, caller.team_id, &queue.name, None);
        for a in store
            .agents
            .iter_mut()
            .filter(|a| a.case_queue_id == Some(id))
        {
            a.case_queue_id = None;
            a.case_trigger_enabled = false;
        }
        out
    };
    deliver_all(&st, hooks);
    Ok(ok(json!({
        "success": true,
        "deleted_case_count": count,
        "interrupted_run_ids": interrupted,
    })))
}

/// `GET /v2/queues/{queue_id}/agents` (listQueueAgents): producers and consumers.
pub async fn list_queue_agents(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(queue_id): Path<String>,
) -> ApiResult<Response> {
    let id = v::uuid("queue_id", &queue_id)?;
    let store = st.store();
    let queue = store.queue(caller.team_id, id)?;
    let team_agents = || store.agents.iter().filter(|a| a.team_id == caller.team_id);
    let triggers = team_agents().filter(|a| trigger_on(a, queue)).count();
    let handover_target = |a: &Agent| {
        store.agents.iter().any(|o| {
            o.id != a.id
                && o.team_id == a.team_id
                && store
                    .latest_build(o.id)
                    .is_some_and(|b| b.meta.handover_target_ids.contains(&a.id))
        })
    };
    let problems = |a: &Agent, consumer_side: bool| {
        let mut p = Vec::new();
        if consumer_side && trigger_on(a, queue) && triggers > 1 {
            p.push("multiple_triggers");
        }
        if is_consumer(a, queue) && has_link(a, "case-queue-producer", queue) {
            p.push("producer_consumer_mix");
        }
        p
    };
    let producers: Vec<Value> = team_agents()
        .filter(|a| has_link(a, "case-queue-producer", queue))
        .map(|a| {
            let trigger_queue = a
                .case_queue_id
                .and_then(|q| store.queues.iter().find(|x| x.id == q))
                .map(|q| q.name.clone());
            json!({
                "agent_id": a.id,
                "agent_name": a.name,
                "case_trigger_enabled": a.case_trigger_enabled,
                "case_trigger_queue_name": trigger_queue,
                "problems": problems(a, false),
            })
        })
        .collect();
    let consumers: Vec<Value> = team_agents()
        .filter(|a| is_consumer(a, queue))
        .map(|a| {
            json!({
                "agent_id": a.id,
                "agent_name": a.name,
                "case_trigger_enabled": trigger_on(a, queue),
                "is_handover_target": handover_target(a),
                "problems": problems(a, true),
            })
        })
        .collect();
    Ok(ok(json!({
        "queue_name": queue.name,
        "producers": producers,
        "consumers": consumers,
    })))
}
