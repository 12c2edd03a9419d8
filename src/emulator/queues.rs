//! Queues and Cases (read-only in the emulator).
//!
//! Case status filters follow API.md §7.6: stored `status` is `pending|completed|failed`;
//! `display_status` adds `in_progress` (claimed), `needs_input` (claimed and its run waits on a
//! human request) and `postponed` (`postponed_to` in the future). Filter values map as
//! `pending`, `completed`, `failed`, `needs_input`, `postponed` → the same `display_status`,
//! and `claimed` → `in_progress` or `needs_input`.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use chrono::Utc;
use serde_json::{Value, json};

use super::auth::check_team;
use super::errors::ApiResult;
use super::model::Case;
use super::ok;
use super::state::{AppState, Caller};
use super::validate::{self as v, Query};

/// `GET /v2/teams/{teamId}/queues` (listQueues; limit 1–250, default 250).
pub async fn list_queues(
    State(st): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(team): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    check_team(&caller, &team)?;
    let q = Query::parse(raw.as_deref());
    let (limit, offset) = q.page(250, 250)?;
    // Emulated queues belong to no automation.
    let automation = q.uuid("automation_id")?;
    let store = st.store();
    let all: Vec<Value> = store
        .queues
        .iter()
        .filter(|x| x.team_id == caller.team_id && automation.is_none())
        .map(|x| x.to_json())
        .collect();
    let total = all.len();
    let queues: Vec<Value> = all.into_iter().skip(offset).take(limit).collect();
    Ok(ok(json!({
        "queues": queues,
        "total": total,
        "limit": limit,
        "offset": offset,
    })))
}

/// `GET /v2/queues/{queue_id}` (getQueue).
pub async fn get_queue(
    State(st): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(queue_id): Path<String>,
) -> ApiResult<Response> {
    let id = v::uuid("queue_id", &queue_id)?;
    let store = st.store();
    let q = store.queue(caller.team_id, id)?;
    Ok(ok(json!({ "queue": q.to_json() })))
}

const CASE_FILTERS: &[&str] = &[
    "pending",
    "claimed",
    "completed",
    "failed",
    "needs_input",
    "postponed",
];

fn matches_status(case: &Case, filter: &str, now: chrono::DateTime<Utc>) -> bool {
    let display = case.display_status(now);
    match filter {
        "claimed" => matches!(display, "in_progress" | "needs_input"),
        other => display == other,
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

/// `GET /v2/queues/{queue_id}/cases` (listCases).
pub async fn list_cases(
    State(st): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(queue_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let id = v::uuid("queue_id", &queue_id)?;
    let q = Query::parse(raw.as_deref());
    let (limit, offset) = q.page(100, 20)?;
    let statuses = q.list_of("status", CASE_FILTERS)?;
    let priorities = q.list_of("priority", &["none", "medium", "high"])?;
    let created_from = q.datetime("created_at_from")?;
    let updated_from = q.datetime("updated_at_from")?;
    let sort_by = q
        .one_of(
            "sort_by",
            &["created_at", "updated_at", "postponed_to"],
            Some("created_at"),
        )?
        .unwrap_or("created_at");
    let desc = q.one_of("sort_order", &["asc", "desc"], Some("desc"))? != Some("asc");
    let search = q.get("search").map(str::to_lowercase);
    let now = Utc::now();

    let store = st.store();
    store.queue(caller.team_id, id)?;
    let mut cases: Vec<&Case> = store
        .cases
        .iter()
        .filter(|c| c.queue_id == id)
        .filter(|c| {
            statuses
                .as_ref()
                .is_none_or(|s| s.is_empty() || s.iter().any(|f| matches_status(c, f, now)))
        })
        .filter(|c| {
            priorities
                .as_ref()
                .is_none_or(|p| p.is_empty() || p.iter().any(|x| x == c.priority))
        })
        .filter(|c| created_from.is_none_or(|t| c.created_at >= t))
        .filter(|c| updated_from.is_none_or(|t| c.updated_at >= t))
        .filter(|c| {
            search.as_ref().is_none_or(|s| {
                c.title.to_lowercase().contains(s) || c.data.to_lowercase().contains(s)
            })
        })
        .collect();
    cases.sort_by(|a, b| {
        let ord = match sort_by {
            "updated_at" => a.updated_at.cmp(&b.updated_at),
            // Cases without postponed_to sort after the postponed ones.
            "postponed_to" => match (a.postponed_to, b.postponed_to) {
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            },
            _ => a.created_at.cmp(&b.created_at),
        };
        if desc { ord.reverse() } else { ord }
    });
    let total = cases.len();
    let items: Vec<Value> = cases
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|c| {
            let mut item = c.to_json(&store.users, now);
            if let (Some(s), Value::Object(m)) = (&search, &mut item)
                && let Some(snip) = snippet(&c.data, s)
            {
                m.insert("search_match_data_snippet".into(), snip);
            }
            item
        })
        .collect();
    Ok(ok(json!({
        "cases": items,
        "total": total,
        "limit": limit,
        "offset": offset,
    })))
}
