//! Bulk case operations: update status, update priority, reprocess, delete.
//!
//! Selection (every bulk body): `case_ids` (1–100 uuids) **or** `all_matching: true` with optional
//! `filters`/`search` (same semantics as searchCases; see `cases.rs`). Both, or neither → 400.
//! Listed ids that are not cases of the queue count as skipped.
//!
//! - status: only `pending|completed|failed` are settable. A case already showing the target
//!   `display_status` is skipped. Otherwise its active runs are interrupted, ownership is released
//!   (claim, pending human request, postponement cleared), `completed_at` is set for terminal
//!   targets and cleared for `pending`.
//! - priority: cases already at the target priority are skipped; never touches status or runs.
//! - reprocess: `agent_id` (optional) must be a consumer of the queue (case trigger or
//!   case-queue-consumer link), else 409; without it the queue's enabled trigger consumer is used
//!   (409 when there is none). Active runs are interrupted and the cases reset to `pending`.
//! - delete: active runs are interrupted, then the cases are removed.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::cases::{
    CaseFilter, PRIORITIES, deliver_all, interrupt_case_runs, path_id, remove_cases,
};
use super::errors::{ApiError, ApiResult};
use super::json_fields as f;
use super::model::CaseEvent;
use super::ok;
use super::queues::consumers;
use super::state::{AppState, Caller, Store};
use super::validate::{self as v};

/// Most ids one bulk request may list (the spec's `maxItems`).
const MAX_IDS: usize = 100;

/// Which cases a bulk body selects.
enum Selection {
    Ids(Vec<Uuid>),
    Matching(CaseFilter),
}

fn parse_selection(b: &Map<String, Value>) -> ApiResult<Selection> {
    let ids = f::opt_uuid_list(b, "case_ids", 1, MAX_IDS, false)?;
    let all = v::opt_bool(b, "all_matching")?.unwrap_or(false);
    let filter = CaseFilter::from_body(b)?;
    match (ids, all) {
        (Some(_), true) => Err(ApiError::bad_request(
            "body: provide either case_ids or all_matching, not both",
        )),
        (Some(ids), false) => Ok(Selection::Ids(ids)),
        (None, true) => Ok(Selection::Matching(filter)),
        (None, false) => Err(ApiError::field(
            "case_ids",
            "is required unless all_matching is true",
        )),
    }
}

/// The selected case ids of the queue and the number of listed ids that matched none.
fn select(
    store: &Store,
    queue_id: Uuid,
    sel: &Selection,
    now: DateTime<Utc>,
) -> (Vec<Uuid>, usize) {
    match sel {
        Selection::Ids(ids) => {
            let mut found = Vec::new();
            let mut skipped = 0;
            for id in ids {
                if found.contains(id) {
                    continue;
                }
                if store
                    .cases
                    .iter()
                    .any(|c| c.id == *id && c.queue_id == queue_id)
                {
                    found.push(*id);
                } else {
                    skipped += 1;
                }
            }
            (found, skipped)
        }
        Selection::Matching(filter) => (
            store
                .cases
                .iter()
                .filter(|c| c.queue_id == queue_id && filter.matches(c, &store.case_labels, now))
                .map(|c| c.id)
                .collect(),
            0,
        ),
    }
}

fn record(
    store: &mut Store,
    case_id: Uuid,
    kind: &'static str,
    reason: String,
    caller: &Caller,
    agent: Option<Uuid>,
    now: DateTime<Utc>,
) {
    store.case_events.push(CaseEvent {
        id: Uuid::new_v4(),
        case_id,
        kind,
        reason: Some(reason),
        created_at: now,
        agent_run_id: None,
        agent_id: agent,
        user_id: Some(caller.user_id),
        human_request_id: None,
    });
}

/// Reset ownership and set `status` on the given cases.
fn set_status(store: &mut Store, ids: &[Uuid], status: &'static str, now: DateTime<Utc>) {
    for c in store.cases.iter_mut().filter(|c| ids.contains(&c.id)) {
        c.status = status;
        c.claimed_at = None;
        c.claimed_by_run_id = None;
        c.pending_human_request_id = None;
        c.postponed_to = None;
        c.completed_at = (status != "pending").then_some(now);
        c.updated_at = now;
    }
}

fn queue_id_of(store: &Store, caller: &Caller, raw: &str, strict: bool) -> ApiResult<Uuid> {
    let id = if strict {
        v::uuid("queue_id", raw)?
    } else {
        path_id("Queue", raw)?
    };
    store.queue(caller.team_id, id)?;
    Ok(id)
}

/// `POST /v2/queues/{queue_id}/cases/bulk-update-status` (bulkUpdateCaseStatus).
pub async fn bulk_update_status(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(queue_id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let b = v::json_object(&body)?;
    let status = f::req_enum(&b, "status", &["pending", "completed", "failed"])?;
    let sel = parse_selection(&b)?;
    let now = Utc::now();
    let (updated, skipped, interrupted, hooks) = {
        let mut store = st.store();
        let qid = queue_id_of(&store, &caller, &queue_id, false)?;
        let (found, mut skipped) = select(&store, qid, &sel, now);
        let targets: Vec<Uuid> = found
            .into_iter()
            .filter(|id| {
                let same = store
                    .cases
                    .iter()
                    .any(|c| c.id == *id && c.display_status(now) == status);
                if same {
                    skipped += 1;
                }
                !same
            })
            .collect();
        let (interrupted, hooks) = interrupt_case_runs(&mut store, &targets, now);
        set_status(&mut store, &targets, status, now);
        for id in &targets {
            record(
                &mut store,
                *id,
                "status_changed",
                format!("Status set to {status} via the API"),
                &caller,
                None,
                now,
            );
        }
        (targets.len(), skipped, interrupted, hooks)
    };
    deliver_all(&st, hooks);
    Ok(ok(json!({
        "updatedCount": updated,
        "skippedCount": skipped,
        "interruptedRunIds": interrupted,
    })))
}

/// `POST /v2/queues/{queue_id}/cases/bulk-update-priority` (bulkUpdateCasePriority).
pub async fn bulk_update_priority(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(queue_id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let b = v::json_object(&body)?;
    let priority = f::req_enum(&b, "priority", PRIORITIES)?;
    let sel = parse_selection(&b)?;
    let now = Utc::now();
    let mut store = st.store();
    let qid = queue_id_of(&store, &caller, &queue_id, true)?;
    let (found, mut skipped) = select(&store, qid, &sel, now);
    let mut updated = Vec::new();
    for c in store.cases.iter_mut().filter(|c| found.contains(&c.id)) {
        if c.priority == priority {
            skipped += 1;
        } else {
            c.priority = priority;
            c.updated_at = now;
            updated.push(c.id);
        }
    }
    for id in &updated {
        record(
            &mut store,
            *id,
            "priority_changed",
            format!("Priority set to {priority} via the API"),
            &caller,
            None,
            now,
        );
    }
    Ok(ok(
        json!({ "updatedCount": updated.len(), "skippedCount": skipped }),
    ))
}

/// `POST /v2/queues/{queue_id}/cases/bulk-reprocess` (bulkReprocessCases).
pub async fn bulk_reprocess(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(queue_id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let b = v::json_object(&body)?;
    let agent = v::opt_uuid(&b, "agent_id")?;
    let sel = parse_selection(&b)?;
    let now = Utc::now();
    let (count, skipped, hooks) = {
        let mut store = st.store();
        let qid = queue_id_of(&store, &caller, &queue_id, false)?;
        let queue = store.queue(caller.team_id, qid)?;
        let consumers = consumers(&store, queue);
        let agent_id = match agent {
            Some(a) => {
                let name = store.agent(caller.team_id, a)?.name.clone();
                if !consumers.iter().any(|(id, _)| *id == a) {
                    return Err(ApiError::conflict(
                        "agent_not_consumer",
                        format!(
                            "Assignment '{name}' ({a}) is not connected to this queue as a case-queue consumer"
                        ),
                    ));
                }
                a
            }
            None => consumers
                .iter()
                .find(|(_, trigger)| *trigger)
                .map(|(id, _)| *id)
                .ok_or_else(|| {
                    ApiError::conflict(
                        "no_consumer",
                        "This queue has no Assignment with an enabled case trigger; pass agent_id",
                    )
                })?,
        };
        let (found, skipped) = select(&store, qid, &sel, now);
        let (_, hooks) = interrupt_case_runs(&mut store, &found, now);
        set_status(&mut store, &found, "pending", now);
        for id in &found {
            record(
                &mut store,
                *id,
                "reprocessed",
                "Queued for reprocessing via the API".into(),
                &caller,
                Some(agent_id),
                now,
            );
        }
        (found.len(), skipped, hooks)
    };
    deliver_all(&st, hooks);
    Ok(ok(
        json!({ "reprocessedCount": count, "skippedCount": skipped }),
    ))
}

/// `POST /v2/queues/{queue_id}/cases/bulk-delete` (bulkDeleteCases).
pub async fn bulk_delete(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(queue_id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let b = v::json_object(&body)?;
    let sel = parse_selection(&b)?;
    let now = Utc::now();
    let (count, interrupted, hooks) = {
        let mut store = st.store();
        let qid = queue_id_of(&store, &caller, &queue_id, false)?;
        let (found, _) = select(&store, qid, &sel, now);
        let (interrupted, hooks) = remove_cases(&mut store, &found, now);
        (found.len(), interrupted, hooks)
    };
    deliver_all(&st, hooks);
    Ok(ok(
        json!({ "deletedCount": count, "interruptedRunIds": interrupted }),
    ))
}
