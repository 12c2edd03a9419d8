//! Cases of a queue: create (single or batch), list, search, get, delete, clear; plus the filter
//! and selection logic shared with the bulk operations (`case_bulk.rs`).
//!
//! Status filters (API.md §7.6): stored `status` is `pending|completed|failed`; `display_status`
//! adds `in_progress` (claimed by a run), `needs_input` (claimed, and its run waits on a human
//! request) and `postponed` (`postponed_to` in the future). Filter values `pending`, `completed`,
//! `failed`, `needs_input`, `postponed` match the same `display_status`; `claimed` matches
//! `in_progress` and `needs_input`. Several values are ORed; different filters are ANDed.
//! Label filters (`{"<key>": ["<value>", …]}`, tags use key `""`): keys ANDed, values ORed, an
//! empty value list matches any value of the key. `search` is a case-insensitive substring match
//! on title and data.
//!
//! Batch limit: `cases` takes at most [`MAX_CASES_PER_REQUEST`] items (the spec's `maxItems`);
//! more is a 400 telling the caller to split the batch.
//!
//! There is no dispatcher: new (or reset) cases stay `pending` until a Job claims them.

use std::cmp::Ordering;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::errors::{ApiError, ApiResult};
use super::json_fields as f;
use super::model::{Case, CaseLabel, RunStatus};
use super::runs;
use super::state::{AppState, Caller, Store};
use super::validate::{self as v, Query};
use super::{case_bulk, case_labels, case_runs, created, ok};

/// Most cases one createCases request may carry (the spec's `maxItems` of `cases`).
pub const MAX_CASES_PER_REQUEST: usize = 100;

/// Status filter values (listCases `status`, search `filters.status`).
pub const STATUS_FILTERS: &[&str] = &[
    "pending",
    "claimed",
    "completed",
    "failed",
    "needs_input",
    "postponed",
];

/// Case priorities.
pub const PRIORITIES: &[&str] = &["none", "medium", "high"];

const SORT_FIELDS: &[&str] = &["created_at", "updated_at", "postponed_to"];

/// Routes of cases, their bulk operations, runs and history.
pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/v2/queues/{queue_id}/cases",
            get(list_cases).post(create_cases).delete(clear_cases),
        )
        .route("/v2/queues/{queue_id}/cases/search", post(search_cases))
        .route(
            "/v2/queues/{queue_id}/cases/bulk-update-status",
            post(case_bulk::bulk_update_status),
        )
        .route(
            "/v2/queues/{queue_id}/cases/bulk-update-priority",
            post(case_bulk::bulk_update_priority),
        )
        .route(
            "/v2/queues/{queue_id}/cases/bulk-reprocess",
            post(case_bulk::bulk_reprocess),
        )
        .route(
            "/v2/queues/{queue_id}/cases/bulk-delete",
            post(case_bulk::bulk_delete),
        )
        .route("/v2/cases/{case_id}", get(get_case).delete(delete_case))
        .route("/v2/cases/{case_id}/runs", get(case_runs::list_case_runs))
        .route(
            "/v2/cases/{case_id}/runs/{run_id}/recent-messages",
            get(case_runs::list_recent_messages),
        )
}

/// A path id on an operation whose spec declares no 400: a malformed id cannot exist → 404.
pub fn path_id(kind: &str, raw: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw.trim()).map_err(|_| ApiError::not_found(kind, raw))
}

/// Which cases a list, search or bulk operation looks at.
#[derive(Debug, Default)]
pub struct CaseFilter {
    statuses: Vec<&'static str>,
    priorities: Vec<&'static str>,
    created_from: Option<DateTime<Utc>>,
    updated_from: Option<DateTime<Utc>>,
    labels: Vec<(String, Vec<String>)>,
    search: Option<String>,
}

fn body_datetime(map: &Map<String, Value>, field: &str) -> ApiResult<Option<DateTime<Utc>>> {
    match map.get(field) {
        None => Ok(None),
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .ok()
            .or_else(|| {
                chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|d| d.and_utc())
            })
            .map(Some)
            .ok_or_else(|| ApiError::field(field, "must be an ISO-8601 date-time")),
        Some(other) => Err(ApiError::field(
            field,
            format!(
                "must be an ISO-8601 date-time string, got {}",
                v::type_name(other)
            ),
        )),
    }
}

impl CaseFilter {
    /// From listCases query parameters.
    pub fn from_query(q: &Query) -> ApiResult<Self> {
        let pick = |name: &str, allowed: &[&'static str]| -> ApiResult<Vec<&'static str>> {
            Ok(q.list_of(name, allowed)?
                .unwrap_or_default()
                .iter()
                .filter_map(|s| allowed.iter().copied().find(|a| a == s))
                .collect())
        };
        Ok(Self {
            statuses: pick("status", STATUS_FILTERS)?,
            priorities: pick("priority", PRIORITIES)?,
            created_from: q.datetime("created_at_from")?,
            updated_from: q.datetime("updated_at_from")?,
            labels: Vec::new(),
            search: q.get("search").map(str::to_lowercase),
        })
    }

    /// From a body carrying `filters` and `search` (searchCases and the bulk selections).
    pub fn from_body(b: &Map<String, Value>) -> ApiResult<Self> {
        let search = f::opt_str(b, "search", 0, usize::MAX)?
            .filter(|s| !s.is_empty())
            .map(|s| s.to_lowercase());
        let Some(fm) = f::opt_object(b, "filters")? else {
            return Ok(Self {
                search,
                ..Self::default()
            });
        };
        let mut labels = Vec::new();
        if let Some(lm) = f::opt_object(fm, "labels").map_err(|e| e.prefixed("filters."))? {
            for (key, values) in lm {
                let field = format!("filters.labels.{key}");
                let Value::Array(items) = values else {
                    return Err(ApiError::field(&field, "must be an array of strings"));
                };
                let mut vals = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let Value::String(s) = item else {
                        return Err(ApiError::field(
                            &format!("{field}[{i}]"),
                            "must be a string",
                        ));
                    };
                    vals.push(s.clone());
                }
                labels.push((key.clone(), vals));
            }
        }
        let prefixed = |e: ApiError| e.prefixed("filters.");
        Ok(Self {
            statuses: f::opt_enum_list(fm, "status", STATUS_FILTERS)
                .map_err(prefixed)?
                .unwrap_or_default(),
            priorities: f::opt_enum_list(fm, "priority", PRIORITIES)
                .map_err(prefixed)?
                .unwrap_or_default(),
            created_from: body_datetime(fm, "created_at_from").map_err(prefixed)?,
            updated_from: body_datetime(fm, "updated_at_from").map_err(prefixed)?,
            labels,
            search,
        })
    }

    /// The lowercase search text, if any.
    pub fn search(&self) -> Option<&str> {
        self.search.as_deref()
    }

    /// Whether `case` passes every filter.
    pub fn matches(&self, case: &Case, labels: &[CaseLabel], now: DateTime<Utc>) -> bool {
        let display = case.display_status(now);
        let status_ok = self.statuses.is_empty()
            || self.statuses.iter().any(|s| match *s {
                "claimed" => matches!(display, "in_progress" | "needs_input"),
                other => display == other,
            });
        let priority_ok = self.priorities.is_empty() || self.priorities.contains(&case.priority);
        let labels_ok = self.labels.iter().all(|(key, values)| {
            case.labels.iter().any(|id| {
                labels.iter().any(|l| {
                    l.id == *id
                        && &l.key == key
                        && (values.is_empty() || values.iter().any(|x| x == &l.value))
                })
            })
        });
        let search_ok = self.search.as_ref().is_none_or(|s| {
            case.title.to_lowercase().contains(s) || case.data.to_lowercase().contains(s)
        });
        status_ok
            && priority_ok
            && labels_ok
            && search_ok
            && self.created_from.is_none_or(|t| case.created_at >= t)
            && self.updated_from.is_none_or(|t| case.updated_at >= t)
    }
}

/// `{before, match, after}` around the first case-insensitive match of `needle` in `data`.
fn snippet(data: &str, needle: &str) -> Option<Value> {
    let lower = data.to_lowercase();
    if lower.len() != data.len() || needle.is_empty() {
        return None;
    }
    let start = lower.find(needle)?;
    let end = start + needle.len();
    if !data.is_char_boundary(start) || !data.is_char_boundary(end) {
        return None;
    }
    let mut from = start.saturating_sub(40);
    while !data.is_char_boundary(from) {
        from -= 1;
    }
    let mut to = (end + 40).min(data.len());
    while !data.is_char_boundary(to) {
        to += 1;
    }
    Some(json!({
        "before": &data[from..start],
        "match": &data[start..end],
        "after": &data[end..to],
    }))
}

/// Render a case with the store's users and labels.
pub fn case_json(store: &Store, case: &Case, now: DateTime<Utc>) -> Value {
    case.to_json(&store.users, &store.case_labels, now)
}

/// One page of a queue's cases: `{cases, total, limit, offset}`.
fn case_page(
    store: &Store,
    queue_id: Uuid,
    filter: &CaseFilter,
    sort_by: &str,
    desc: bool,
    page: (usize, usize),
) -> Value {
    let now = Utc::now();
    let mut cases: Vec<&Case> = store
        .cases
        .iter()
        .filter(|c| c.queue_id == queue_id && filter.matches(c, &store.case_labels, now))
        .collect();
    let dir = |o: Ordering| if desc { o.reverse() } else { o };
    cases.sort_by(|a, b| match sort_by {
        "updated_at" => dir(a.updated_at.cmp(&b.updated_at)),
        // Cases without postponed_to sort after the postponed ones in either direction.
        "postponed_to" => match (a.postponed_to, b.postponed_to) {
            (Some(x), Some(y)) => dir(x.cmp(&y)),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => dir(a.created_at.cmp(&b.created_at)),
        },
        _ => dir(a.created_at.cmp(&b.created_at)),
    });
    v::page_envelope("cases", cases, page, |c| {
        let mut item = case_json(store, c, now);
        if let (Some(s), Value::Object(m)) = (filter.search(), &mut item)
            && let Some(snip) = snippet(&c.data, s)
        {
            m.insert("search_match_data_snippet".into(), snip);
        }
        item
    })
}

/// `GET /v2/queues/{queue_id}/cases` (listCases; limit 1–100, default 20).
pub async fn list_cases(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(queue_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let id = v::uuid("queue_id", &queue_id)?;
    let q = Query::parse(raw.as_deref());
    let page = q.page(100, 20)?;
    let filter = CaseFilter::from_query(&q)?;
    let sort_by = q
        .one_of("sort_by", SORT_FIELDS, Some("created_at"))?
        .unwrap_or("created_at");
    let desc = q.one_of("sort_order", &["asc", "desc"], Some("desc"))? != Some("asc");
    let store = st.store();
    store.queue(caller.team_id, id)?;
    Ok(ok(case_page(&store, id, &filter, sort_by, desc, page)))
}

/// `POST /v2/queues/{queue_id}/cases/search` (searchCases; body filters, limit 1–100, default 25).
pub async fn search_cases(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(queue_id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let id = v::uuid("queue_id", &queue_id)?;
    let b = v::json_object(&body)?;
    let filter = CaseFilter::from_body(&b)?;
    let limit = f::opt_int(&b, "limit", 1, 100)?.unwrap_or(25);
    let offset = f::opt_int(&b, "offset", 0, 9_007_199_254_740_991)?.unwrap_or(0);
    let sort_by = f::opt_enum(&b, "sort_by", SORT_FIELDS)?.unwrap_or("created_at");
    let desc = f::opt_enum(&b, "sort_order", &["asc", "desc"])? != Some("asc");
    let page = (
        usize::try_from(limit).unwrap_or(25),
        usize::try_from(offset).unwrap_or(usize::MAX),
    );
    let store = st.store();
    store.queue(caller.team_id, id)?;
    Ok(ok(case_page(&store, id, &filter, sort_by, desc, page)))
}

/// A validated case of a createCases request.
struct NewCase {
    title: String,
    data: String,
    labels: Vec<(String, String)>,
    priority: &'static str,
}

fn parse_new_case(value: &Value, field: &str) -> ApiResult<NewCase> {
    let Value::Object(m) = value else {
        return Err(ApiError::field(
            field,
            format!("must be an object, got {}", v::type_name(value)),
        ));
    };
    let pre = |e: ApiError| e.prefixed(&format!("{field}."));
    let title = f::req_str(m, "title", 1, 500).map_err(pre)?;
    let data = match m.get("data") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(ApiError::field(
                &format!("{field}.data"),
                format!(
                    "must be a string (serialize JSON data yourself), got {}",
                    v::type_name(other)
                ),
            ));
        }
    };
    let labels = match m.get("labels") {
        None => Vec::new(),
        Some(l) => case_labels::parse_label_inputs(l, &format!("{field}.labels"))?,
    };
    let priority = f::opt_enum(m, "priority", PRIORITIES)
        .map_err(pre)?
        .unwrap_or("none");
    Ok(NewCase {
        title,
        data,
        labels,
        priority,
    })
}

/// `POST /v2/queues/{queue_id}/cases` (createCases, 201): one `case` or a `cases` batch of at most
/// [`MAX_CASES_PER_REQUEST`]; all or nothing.
pub async fn create_cases(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(queue_id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let id = v::uuid("queue_id", &queue_id)?;
    let b = v::json_object(&body)?;
    let new_cases = match (b.get("case"), b.get("cases")) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "body: provide either `case` or `cases`, not both",
            ));
        }
        (None, None) => {
            return Err(ApiError::bad_request(
                "body: `case` (one case) or `cases` (an array of 1-100 cases) is required",
            ));
        }
        (Some(one), None) => vec![parse_new_case(one, "case")?],
        (None, Some(Value::Array(items))) => {
            if items.is_empty() {
                return Err(ApiError::field("cases", "must contain at least 1 case"));
            }
            if items.len() > MAX_CASES_PER_REQUEST {
                return Err(ApiError::field(
                    "cases",
                    format!(
                        "at most {MAX_CASES_PER_REQUEST} cases per request, got {}; split the batch into chunks of {MAX_CASES_PER_REQUEST}",
                        items.len()
                    ),
                ));
            }
            items
                .iter()
                .enumerate()
                .map(|(i, c)| parse_new_case(c, &format!("cases[{i}]")))
                .collect::<ApiResult<Vec<_>>>()?
        }
        (None, Some(other)) => {
            return Err(ApiError::field(
                "cases",
                format!("must be an array, got {}", v::type_name(other)),
            ));
        }
    };
    let now = Utc::now();
    let mut store = st.store();
    store.queue(caller.team_id, id)?;
    let mut added = Vec::with_capacity(new_cases.len());
    for nc in new_cases {
        let mut label_ids: Vec<Uuid> = Vec::new();
        for (key, value) in &nc.labels {
            let lid = case_labels::ensure_label(&mut store, id, key, value, None);
            if !label_ids.contains(&lid) {
                label_ids.push(lid);
            }
        }
        let case = Case {
            id: Uuid::new_v4(),
            queue_id: id,
            title: nc.title,
            data: nc.data,
            status: "pending",
            priority: nc.priority,
            claimed_at: None,
            claimed_by_run_id: None,
            completed_at: None,
            postponed_to: None,
            created_at: now,
            updated_at: now,
            created_by_user_id: Some(caller.user_id),
            agent_run_status: None,
            agent_run_user_id: None,
            pending_human_request_id: None,
            labels: label_ids,
        };
        added.push(case_json(&store, &case, now));
        store.cases.push(case);
    }
    tracing::debug!(queue = %id, count = added.len(), "cases created");
    Ok(created(json!({ "added_cases": added })))
}

/// Index of a case whose queue belongs to `team`, or 404.
pub fn case_index(store: &Store, team: Uuid, id: Uuid) -> ApiResult<usize> {
    store
        .cases
        .iter()
        .position(|c| {
            c.id == id
                && store
                    .queues
                    .iter()
                    .any(|q| q.id == c.queue_id && q.team_id == team)
        })
        .ok_or_else(|| ApiError::not_found("Case", id))
}

/// Interrupt the active runs working on any of `case_ids`; returns their ids and the webhooks to deliver.
pub fn interrupt_case_runs(
    store: &mut Store,
    case_ids: &[Uuid],
    now: DateTime<Utc>,
) -> (Vec<Uuid>, Vec<(String, Value)>) {
    let active: Vec<Uuid> = store
        .runs
        .iter()
        .filter(|r| r.status.is_active() && r.case_id.is_some_and(|c| case_ids.contains(&c)))
        .map(|r| r.id)
        .collect();
    let hooks = active
        .iter()
        .filter_map(|rid| runs::halt(store, *rid, RunStatus::Interrupted, now))
        .collect();
    (active, hooks)
}

/// Remove cases and their recorded history, interrupting the active runs working on them first;
/// returns the interrupted runs' ids and the webhooks to deliver.
pub fn remove_cases(
    store: &mut Store,
    case_ids: &[Uuid],
    now: DateTime<Utc>,
) -> (Vec<Uuid>, Vec<(String, Value)>) {
    let out = interrupt_case_runs(store, case_ids, now);
    store.cases.retain(|c| !case_ids.contains(&c.id));
    store.case_events.retain(|e| !case_ids.contains(&e.case_id));
    out
}

/// Remove every case of queue `queue_id` as [`remove_cases`] does; returns how many there were,
/// the interrupted runs' ids and the webhooks to deliver.
pub fn remove_queue_cases(
    store: &mut Store,
    queue_id: Uuid,
    now: DateTime<Utc>,
) -> (usize, Vec<Uuid>, Vec<(String, Value)>) {
    let ids: Vec<Uuid> = store
        .cases
        .iter()
        .filter(|c| c.queue_id == queue_id)
        .map(|c| c.id)
        .collect();
    let (interrupted, hooks) = remove_cases(store, &ids, now);
    (ids.len(), interrupted, hooks)
}

/// Deliver run webhooks collected while the store was locked.
pub fn deliver_all(st: &Arc<AppState>, hooks: Vec<(String, Value)>) {
    for (url, payload) in hooks {
        runs::deliver(st, url, payload);
    }
}

/// `GET /v2/cases/{case_id}` (getCase): the case, its history and (always empty) approval batches.
pub async fn get_case(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(case_id): Path<String>,
) -> ApiResult<Response> {
    let id = path_id("Case", &case_id)?;
    let store = st.store();
    let idx = case_index(&store, caller.team_id, id)?;
    let case = &store.cases[idx];
    Ok(ok(json!({
        "case": case_json(&store, case, Utc::now()),
        "events": case_runs::events_json(&store, case),
        "approvalBatches": [],
    })))
}

/// `DELETE /v2/cases/{case_id}` (deleteCase): interrupts the case's active runs first.
pub async fn delete_case(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(case_id): Path<String>,
) -> ApiResult<Response> {
    let id = path_id("Case", &case_id)?;
    let now = Utc::now();
    let (interrupted, hooks) = {
        let mut store = st.store();
        case_index(&store, caller.team_id, id)?;
        remove_cases(&mut store, &[id], now)
    };
    deliver_all(&st, hooks);
    Ok(ok(
        json!({ "success": true, "interruptedRunIds": interrupted }),
    ))
}

/// `DELETE /v2/queues/{queue_id}/cases` (clearQueueCases): every case of the queue.
pub async fn clear_cases(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(queue_id): Path<String>,
) -> ApiResult<Response> {
    let id = path_id("Queue", &queue_id)?;
    let now = Utc::now();
    let (count, interrupted, hooks) = {
        let mut store = st.store();
        store.queue(caller.team_id, id)?;
        remove_queue_cases(&mut store, id, now)
    };
    deliver_all(&st, hooks);
    Ok(ok(json!({
        "success": true,
        "deletedCount": count,
        "interruptedRunIds": interrupted,
    })))
}
