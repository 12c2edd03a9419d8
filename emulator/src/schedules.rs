//! Schedules of an Assignment: list (the caller's own), create (200, bare Schedule), update, delete.
//!
//! Validation beyond the spec's types (inferred, documented here): `time` is 24-hour `HH:MM`;
//! `timezone` is `UTC`, `GMT` or an IANA `Area/Location` name; `cron` is a 5-field expression
//! (minute hour day-of-month month day-of-week; numbers, `*`, ranges, steps, lists, and month/day
//! names). After a create or update the schedule must be complete for its frequency: `daily`,
//! `workday`, `weekly` and `monthly` need `time`, `weekly` needs `day`, `monthly` needs
//! `day_of_month`, `custom` needs `cron`. A new schedule fires against the Assignment's live build.
//! Only the owner may change or delete a schedule (403). listAgentSchedules declares no 404, so an
//! unknown Assignment is a 403 there.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, patch};
use chrono::Utc;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::errors::{ApiError, ApiResult};
use super::json_fields as f;
use super::model::Schedule;
use super::ok;
use super::state::{AppState, Caller, Store};
use super::validate as v;

/// Schedule frequencies.
const FREQUENCIES: &[&str] = &[
    "every_5_minutes",
    "every_15_minutes",
    "hourly",
    "daily",
    "workday",
    "weekly",
    "monthly",
    "custom",
];

/// Weekdays for weekly schedules.
const DAYS: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// IANA areas accepted as the first part of a time zone name.
const TZ_AREAS: &[&str] = &[
    "Africa",
    "America",
    "Antarctica",
    "Arctic",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
    "Etc",
];

/// Routes of schedules.
pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/v2/agents/{agent_id}/schedules",
            get(list_schedules).post(create_schedule),
        )
        .route(
            "/v2/agents/{agent_id}/schedules/{schedule_id}",
            patch(update_schedule).delete(delete_schedule),
        )
}

fn check_time(t: &str) -> ApiResult<()> {
    let ok = t.len() == 5
        && t.as_bytes()[2] == b':'
        && matches!(t[..2].parse::<u8>(), Ok(h) if h < 24 && t[..2].bytes().all(|b| b.is_ascii_digit()))
        && matches!(t[3..].parse::<u8>(), Ok(m) if m < 60 && t[3..].bytes().all(|b| b.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err(ApiError::field(
            "time",
            format!("must be a 24-hour time HH:MM, got '{t}'"),
        ))
    }
}

fn check_timezone(tz: &str) -> ApiResult<()> {
    let mut parts = tz.split('/');
    let area = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    let valid = matches!(tz, "UTC" | "GMT")
        || (TZ_AREAS.contains(&area)
            && !rest.is_empty()
            && rest.len() <= 2
            && rest.iter().all(|p| {
                !p.is_empty()
                    && p.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+'))
            }));
    if valid {
        Ok(())
    } else {
        Err(ApiError::field(
            "timezone",
            format!("must be an IANA time zone such as 'Europe/London' or 'UTC', got '{tz}'"),
        ))
    }
}

const MONTHS: &[&str] = &[
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: &[&str] = &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// Parse one cron value: a number in `lo..=hi` or (month/day-of-week) a three-letter name.
fn cron_value(raw: &str, lo: u32, hi: u32, names: &[&str], name_base: u32) -> Option<u32> {
    if let Ok(n) = raw.parse::<u32>() {
        return (lo..=hi).contains(&n).then_some(n);
    }
    let upper = raw.to_ascii_uppercase();
    names
        .iter()
        .position(|n| *n == upper)
        .and_then(|i| u32::try_from(i).ok())
        .map(|i| i + name_base)
}

fn cron_field(raw: &str, lo: u32, hi: u32, names: &[&str], name_base: u32) -> bool {
    raw.split(',').all(|item| {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (item, None),
        };
        if step.is_some_and(|s| !matches!(s.parse::<u32>(), Ok(n) if n >= 1 && n <= hi.max(1))) {
            return false;
        }
        if range == "*" {
            return true;
        }
        match range.split_once('-') {
            Some((a, b)) => matches!(
                (cron_value(a, lo, hi, names, name_base), cron_value(b, lo, hi, names, name_base)),
                (Some(x), Some(y)) if x <= y
            ),
            None => cron_value(range, lo, hi, names, name_base).is_some(),
        }
    })
}

/// Validate a 5-field cron expression.
fn check_cron(expr: &str) -> ApiResult<()> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(ApiError::field(
            "cron",
            format!(
                "must have 5 fields (minute hour day-of-month month day-of-week), got {} in '{expr}'",
                fields.len()
            ),
        ));
    }
    let specs: [(&str, u32, u32, &[&str], u32); 5] = [
        ("minute", 0, 59, &[], 0),
        ("hour", 0, 23, &[], 0),
        ("day-of-month", 1, 31, &[], 0),
        ("month", 1, 12, MONTHS, 1),
        ("day-of-week", 0, 7, WEEKDAYS, 0),
    ];
    for (raw, (name, lo, hi, names, base)) in fields.iter().zip(specs) {
        if !cron_field(raw, lo, hi, names, base) {
            return Err(ApiError::field(
                "cron",
                format!(
                    "invalid {name} field '{raw}' (allowed {lo}-{hi}, *, ranges, steps, lists)"
                ),
            ));
        }
    }
    Ok(())
}

/// Fields of a create/update body (`None` = absent; inner `None` = explicit null).
#[derive(Default)]
struct Fields {
    enabled: Option<bool>,
    frequency: Option<&'static str>,
    time: Option<Option<String>>,
    timezone: Option<String>,
    day: Option<Option<&'static str>>,
    day_of_month: Option<Option<u32>>,
    cron: Option<Option<String>>,
    recurring: Option<Option<bool>>,
}

fn parse_fields(b: &Map<String, Value>) -> ApiResult<Fields> {
    let time = f::opt_nullable_str(b, "time", 0, usize::MAX)?;
    if let Some(Some(t)) = &time {
        check_time(t)?;
    }
    let timezone = f::opt_str(b, "timezone", 1, 100)?;
    if let Some(tz) = &timezone {
        check_timezone(tz)?;
    }
    let cron = f::opt_nullable_str(b, "cron", 0, usize::MAX)?;
    if let Some(Some(c)) = &cron {
        check_cron(c)?;
    }
    Ok(Fields {
        enabled: v::opt_bool(b, "enabled")?,
        frequency: f::opt_enum(b, "frequency", FREQUENCIES)?,
        time,
        timezone,
        day: f::opt_nullable_enum(b, "day", DAYS)?,
        day_of_month: f::opt_nullable_int(b, "day_of_month", 1, 31)?
            .map(|d| d.and_then(|n| u32::try_from(n).ok())),
        cron,
        recurring: f::opt_nullable_bool(b, "recurring")?,
    })
}

fn apply(s: &mut Schedule, x: Fields) {
    if let Some(e) = x.enabled {
        s.enabled = e;
    }
    if let Some(fq) = x.frequency {
        s.frequency = fq;
    }
    if let Some(t) = x.time {
        s.time = t;
    }
    if let Some(tz) = x.timezone {
        s.timezone = tz;
    }
    if let Some(d) = x.day {
        s.day = d.map(str::to_string);
    }
    if let Some(d) = x.day_of_month {
        s.day_of_month = d;
    }
    if let Some(c) = x.cron {
        s.cron = c;
    }
    if let Some(r) = x.recurring {
        s.recurring = r;
    }
}

/// The fields a frequency needs must be set.
fn check_complete(s: &Schedule) -> ApiResult<()> {
    let needs_time = matches!(s.frequency, "daily" | "workday" | "weekly" | "monthly");
    if needs_time && s.time.is_none() {
        return Err(ApiError::field(
            "time",
            format!("is required for frequency '{}'", s.frequency),
        ));
    }
    if s.frequency == "weekly" && s.day.is_none() {
        return Err(ApiError::field("day", "is required for frequency 'weekly'"));
    }
    if s.frequency == "monthly" && s.day_of_month.is_none() {
        return Err(ApiError::field(
            "day_of_month",
            "is required for frequency 'monthly'",
        ));
    }
    if s.frequency == "custom" && s.cron.is_none() {
        return Err(ApiError::field(
            "cron",
            "is required for frequency 'custom'",
        ));
    }
    Ok(())
}

/// Index of the caller's own schedule `raw` on `agent`: 404 when absent, 403 when someone else's.
fn own_schedule(store: &Store, caller: &Caller, agent: Uuid, raw: &str) -> ApiResult<usize> {
    let id = v::uuid("schedule_id", raw).map_err(|_| ApiError::not_found("Schedule", raw))?;
    let idx = store
        .schedules
        .iter()
        .position(|s| s.id == id && s.agent_id == agent)
        .ok_or_else(|| ApiError::not_found("Schedule", id))?;
    if store.schedules[idx].user_id != caller.user_id {
        return Err(ApiError::forbidden(format!(
            "Schedule {id} belongs to another user; only its owner may change it"
        )));
    }
    Ok(idx)
}

fn agent_id(store: &Store, caller: &Caller, raw: &str) -> ApiResult<Uuid> {
    let id = v::uuid("agent_id", raw).map_err(|_| ApiError::not_found("Agent", raw))?;
    store.agent(caller.team_id, id)?;
    Ok(id)
}

/// `GET /v2/agents/{agent_id}/schedules` (listAgentSchedules): the caller's own schedules.
pub async fn list_schedules(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(agent_raw): Path<String>,
) -> ApiResult<Response> {
    let store = st.store();
    // The spec declares no 404 here: an unknown Assignment is reported as forbidden.
    let id = agent_id(&store, &caller, &agent_raw).map_err(|_| {
        ApiError::forbidden(format!(
            "Assignment {agent_raw} does not exist or is not accessible with this API key"
        ))
    })?;
    let schedules: Vec<Value> = store
        .schedules
        .iter()
        .filter(|s| s.agent_id == id && s.user_id == caller.user_id)
        .map(|s| s.to_json(&store.users))
        .collect();
    Ok(ok(json!({ "schedules": schedules })))
}

/// `POST /v2/agents/{agent_id}/schedules` (createSchedule): **200** with the bare Schedule.
pub async fn create_schedule(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(agent_raw): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let b = v::json_object(&body)?;
    f::req_bool(&b, "enabled")?;
    f::req_enum(&b, "frequency", FREQUENCIES)?;
    f::req_str(&b, "timezone", 1, 100)?;
    let fields = parse_fields(&b)?;
    let now = Utc::now();
    let mut store = st.store();
    let id = agent_id(&store, &caller, &agent_raw)?;
    let build_id = store.latest_build(id).map(|bld| bld.id).ok_or_else(|| {
        ApiError::bad_request(format!(
            "agent_id: Assignment {id} has no live revision to schedule; create a revision first"
        ))
    })?;
    let mut schedule = Schedule {
        id: Uuid::new_v4(),
        agent_id: id,
        build_id,
        user_id: caller.user_id,
        enabled: true,
        frequency: "daily",
        time: None,
        timezone: String::new(),
        day: None,
        day_of_month: None,
        cron: None,
        task: None,
        recurring: Some(true),
        created_at: now,
        updated_at: now,
    };
    apply(&mut schedule, fields);
    check_complete(&schedule)?;
    let rendered = schedule.to_json(&store.users);
    store.schedules.push(schedule);
    Ok(ok(rendered))
}

/// `PATCH /v2/agents/{agent_id}/schedules/{schedule_id}` (updateSchedule): partial update.
pub async fn update_schedule(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path((agent_raw, schedule_raw)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Response> {
    let b = v::json_object(&body)?;
    let fields = parse_fields(&b)?;
    let mut store = st.store();
    let id = agent_id(&store, &caller, &agent_raw)?;
    let idx = own_schedule(&store, &caller, id, &schedule_raw)?;
    let mut next = store.schedules[idx].clone();
    apply(&mut next, fields);
    check_complete(&next)?;
    next.updated_at = Utc::now();
    let rendered = next.to_json(&store.users);
    store.schedules[idx] = next;
    Ok(ok(rendered))
}

/// `DELETE /v2/agents/{agent_id}/schedules/{schedule_id}` (deleteSchedule).
pub async fn delete_schedule(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path((agent_raw, schedule_raw)): Path<(String, String)>,
) -> ApiResult<Response> {
    let mut store = st.store();
    let id = agent_id(&store, &caller, &agent_raw)?;
    let idx = own_schedule(&store, &caller, id, &schedule_raw)?;
    store.schedules.remove(idx);
    Ok(ok(json!({ "success": true })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_expressions() {
        for good in [
            "*/15 * * * *",
            "0 9 * * 1-5",
            "30 7 1,15 * *",
            "0 0 * JAN-MAR mon",
            "5 4 * * 7",
        ] {
            assert!(check_cron(good).is_ok(), "{good} should be valid");
        }
        for bad in [
            "* * * *",
            "60 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "* * * 13 *",
            "*/0 * * * *",
            "5-1 * * * *",
            "@daily",
            "0 9 * * 1-5 2026",
        ] {
            assert!(check_cron(bad).is_err(), "{bad} should be invalid");
        }
    }

    #[test]
    fn times_and_zones() {
        assert!(check_time("07:30").is_ok());
        assert!(check_time("23:59").is_ok());
        for bad in ["7:30", "24:00", "12:60", "12-30", "ab:cd", "+1:30"] {
            assert!(check_time(bad).is_err(), "{bad} should be invalid");
        }
        for good in [
            "UTC",
            "Europe/London",
            "America/Argentina/Buenos_Aires",
            "Etc/GMT+2",
        ] {
            assert!(check_timezone(good).is_ok(), "{good} should be valid");
        }
        for bad in ["", "London", "Mars/Olympus", "Europe/", "Europe/Lon don"] {
            assert!(check_timezone(bad).is_err(), "{bad} should be invalid");
        }
    }
}
