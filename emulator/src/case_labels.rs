//! Case labels: defined per queue (`key` + `value`, `key` `""` for a plain tag), assigned to cases.
//!
//! A (key, value) pair is unique within a queue: createQueueLabel and assignCaseLabels reuse an
//! existing label instead of creating a twin, and updateQueueLabel onto an existing pair is a 409.
//! assignCaseLabels answers with every label the case carries afterwards; unlinkCaseLabels ignores
//! ids the case does not carry.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, patch, post};
use chrono::Utc;
use serde_json::{Value, json};
use uuid::Uuid;

use super::cases::{case_index, path_id};
use super::errors::{ApiError, ApiResult};
use super::json_fields as f;
use super::model::CaseLabel;
use super::ok;
use super::state::{AppState, Caller, Store};
use super::validate::{self as v, Query};

/// Most labels one request may assign (the spec's `maxItems`).
const MAX_LABELS_PER_REQUEST: usize = 50;

/// Routes of queue labels and case label assignments.
pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/v2/queues/{queue_id}/labels",
            get(list_queue_labels).post(create_queue_label),
        )
        .route(
            "/v2/queues/{queue_id}/labels/{label_id}",
            patch(update_queue_label).delete(delete_queue_label),
        )
        .route(
            "/v2/queues/{queue_id}/cases/{case_id}/labels",
            get(list_case_labels).post(assign_case_labels),
        )
        .route(
            "/v2/queues/{queue_id}/cases/{case_id}/labels/unlink",
            post(unlink_case_labels),
        )
}

/// Parse a `labels` input array: `[{key? (default ""), value (non-empty)}]`, at most 50.
pub fn parse_label_inputs(value: &Value, field: &str) -> ApiResult<Vec<(String, String)>> {
    let Value::Array(items) = value else {
        return Err(ApiError::field(
            field,
            format!("must be an array, got {}", v::type_name(value)),
        ));
    };
    if items.len() > MAX_LABELS_PER_REQUEST {
        return Err(ApiError::field(
            field,
            format!(
                "at most {MAX_LABELS_PER_REQUEST} labels, got {}",
                items.len()
            ),
        ));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let base = format!("{field}[{i}]");
        let Value::Object(m) = item else {
            return Err(ApiError::field(&base, "must be an object {key?, value}"));
        };
        let pre = |e: ApiError| e.prefixed(&format!("{base}."));
        let key = f::opt_str(m, "key", 0, usize::MAX)
            .map_err(pre)?
            .unwrap_or_default();
        let value = f::req_str(m, "value", 1, usize::MAX).map_err(pre)?;
        out.push((key, value));
    }
    Ok(out)
}

/// A stable display hue for a label without an explicit colour.
fn default_hue(key: &str, value: &str) -> u16 {
    let h = format!("{key}\u{0}{value}")
        .bytes()
        .fold(0x811c_9dc5_u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        });
    u16::try_from(h % 360).unwrap_or(0)
}

/// The id of the queue's (key, value) label, creating it when missing.
pub fn ensure_label(
    store: &mut Store,
    queue_id: Uuid,
    key: &str,
    value: &str,
    hue: Option<u16>,
) -> Uuid {
    if let Some(l) = store
        .case_labels
        .iter()
        .find(|l| l.queue_id == queue_id && l.key == key && l.value == value)
    {
        return l.id;
    }
    let label = CaseLabel {
        id: Uuid::new_v4(),
        queue_id,
        key: key.to_string(),
        value: value.to_string(),
        color_hue: hue.unwrap_or_else(|| default_hue(key, value)),
    };
    let id = label.id;
    store.case_labels.push(label);
    id
}

fn with_count(store: &Store, label: &CaseLabel) -> Value {
    let count = store
        .cases
        .iter()
        .filter(|c| c.queue_id == label.queue_id && c.labels.contains(&label.id))
        .count();
    let mut v = label.to_json();
    if let Value::Object(m) = &mut v {
        m.insert("case_count".into(), json!(count));
    }
    v
}

fn label_page(q: &Query) -> ApiResult<(usize, usize)> {
    q.page(1000, 1000)
}

fn queue_of(store: &Store, caller: &Caller, raw: &str) -> ApiResult<Uuid> {
    let id = path_id("Queue", raw)?;
    store.queue(caller.team_id, id)?;
    Ok(id)
}

/// Index of a case that belongs to `queue_id` (of the caller's team), or 404.
fn case_in_queue(store: &Store, caller: &Caller, queue_id: Uuid, raw: &str) -> ApiResult<usize> {
    let id = path_id("Case", raw)?;
    let idx = case_index(store, caller.team_id, id)?;
    if store.cases[idx].queue_id != queue_id {
        return Err(ApiError::not_found("Case", id));
    }
    Ok(idx)
}

fn label_index(store: &Store, queue_id: Uuid, raw: &str) -> ApiResult<usize> {
    let id = path_id("Label", raw)?;
    store
        .case_labels
        .iter()
        .position(|l| l.id == id && l.queue_id == queue_id)
        .ok_or_else(|| ApiError::not_found("Label", id))
}

fn hue_field(b: &serde_json::Map<String, Value>) -> ApiResult<Option<u16>> {
    Ok(f::opt_int(b, "color_hue", 0, 360)?.and_then(|h| u16::try_from(h).ok()))
}

/// `GET /v2/queues/{queue_id}/labels` (listQueueLabels): labels with their case counts.
pub async fn list_queue_labels(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(queue_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let (limit, offset) = label_page(&Query::parse(raw.as_deref()))?;
    let store = st.store();
    let qid = queue_of(&store, &caller, &queue_id)?;
    let labels: Vec<Value> = store
        .case_labels
        .iter()
        .filter(|l| l.queue_id == qid)
        .skip(offset)
        .take(limit)
        .map(|l| with_count(&store, l))
        .collect();
    Ok(ok(json!({ "labels": labels })))
}

/// `POST /v2/queues/{queue_id}/labels` (createQueueLabel, 200): returns the existing label for a known pair.
pub async fn create_queue_label(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(queue_id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let b = v::json_object(&body)?;
    let key = f::opt_str(&b, "key", 0, usize::MAX)?.unwrap_or_default();
    let value = f::req_str(&b, "value", 1, usize::MAX)?;
    let hue = hue_field(&b)?;
    let mut store = st.store();
    let qid = queue_of(&store, &caller, &queue_id)?;
    let id = ensure_label(&mut store, qid, &key, &value, hue);
    let label = store
        .case_labels
        .iter()
        .find(|l| l.id == id)
        .ok_or_else(|| ApiError::not_found("Label", id))?;
    Ok(ok(json!({ "label": with_count(&store, label) })))
}

/// `PATCH /v2/queues/{queue_id}/labels/{label_id}` (updateQueueLabel): 409 onto an existing pair.
pub async fn update_queue_label(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path((queue_id, label_id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Response> {
    let b = v::json_object(&body)?;
    let key = f::opt_str(&b, "key", 0, usize::MAX)?;
    let value = f::req_str(&b, "value", 1, usize::MAX)?;
    let hue = hue_field(&b)?;
    let mut store = st.store();
    let qid = queue_of(&store, &caller, &queue_id)?;
    let idx = label_index(&store, qid, &label_id)?;
    let id = store.case_labels[idx].id;
    let key = key.unwrap_or_else(|| store.case_labels[idx].key.clone());
    if store
        .case_labels
        .iter()
        .any(|l| l.queue_id == qid && l.id != id && l.key == key && l.value == value)
    {
        return Err(ApiError::conflict(
            "label_exists",
            format!("A label '{key}: {value}' already exists on this queue"),
        ));
    }
    let label = &mut store.case_labels[idx];
    label.key = key;
    label.value = value;
    if let Some(h) = hue {
        label.color_hue = h;
    }
    Ok(ok(json!({ "label": label.to_json() })))
}

/// `DELETE /v2/queues/{queue_id}/labels/{label_id}` (deleteQueueLabel): also unassigns it from every case.
pub async fn delete_queue_label(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path((queue_id, label_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let mut store = st.store();
    let qid = queue_of(&store, &caller, &queue_id)?;
    let idx = label_index(&store, qid, &label_id)?;
    let id = store.case_labels.remove(idx).id;
    for c in store.cases.iter_mut().filter(|c| c.queue_id == qid) {
        c.labels.retain(|l| *l != id);
    }
    Ok(ok(json!({ "success": true })))
}

fn case_labels_json(store: &Store, idx: usize, (limit, offset): (usize, usize)) -> Vec<Value> {
    store.cases[idx]
        .labels
        .iter()
        .filter_map(|id| store.case_labels.iter().find(|l| l.id == *id))
        .skip(offset)
        .take(limit)
        .map(CaseLabel::to_json)
        .collect()
}

/// `GET /v2/queues/{queue_id}/cases/{case_id}/labels` (listCaseLabels).
pub async fn list_case_labels(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path((queue_id, case_id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let page = label_page(&Query::parse(raw.as_deref()))?;
    let store = st.store();
    let qid = queue_of(&store, &caller, &queue_id)?;
    let idx = case_in_queue(&store, &caller, qid, &case_id)?;
    Ok(ok(json!({ "labels": case_labels_json(&store, idx, page) })))
}

/// `POST /v2/queues/{queue_id}/cases/{case_id}/labels` (assignCaseLabels): creates missing labels.
pub async fn assign_case_labels(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path((queue_id, case_id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Response> {
    let b = v::json_object(&body)?;
    let inputs = match b.get("labels") {
        None | Some(Value::Null) => return Err(ApiError::field("labels", "is required")),
        Some(l) => parse_label_inputs(l, "labels")?,
    };
    if inputs.is_empty() {
        return Err(ApiError::field("labels", "must contain at least 1 label"));
    }
    let mut store = st.store();
    let qid = queue_of(&store, &caller, &queue_id)?;
    let idx = case_in_queue(&store, &caller, qid, &case_id)?;
    let ids: Vec<Uuid> = inputs
        .iter()
        .map(|(k, val)| ensure_label(&mut store, qid, k, val, None))
        .collect();
    let case = &mut store.cases[idx];
    let mut changed = false;
    for id in ids {
        if !case.labels.contains(&id) {
            case.labels.push(id);
            changed = true;
        }
    }
    if changed {
        case.updated_at = Utc::now();
    }
    Ok(ok(
        json!({ "labels": case_labels_json(&store, idx, (usize::MAX, 0)) }),
    ))
}

/// `POST /v2/queues/{queue_id}/cases/{case_id}/labels/unlink` (unlinkCaseLabels).
pub async fn unlink_case_labels(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path((queue_id, case_id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Response> {
    let b = v::json_object(&body)?;
    let ids = f::opt_uuid_list(&b, "label_ids", 1, usize::MAX, false)?
        .ok_or_else(|| ApiError::field("label_ids", "is required"))?;
    let mut store = st.store();
    let qid = queue_of(&store, &caller, &queue_id)?;
    let idx = case_in_queue(&store, &caller, qid, &case_id)?;
    let case = &mut store.cases[idx];
    let before = case.labels.len();
    case.labels.retain(|l| !ids.contains(l));
    if case.labels.len() != before {
        case.updated_at = Utc::now();
    }
    Ok(ok(json!({ "success": true })))
}
