//! Jobs (runs): startRun, listRuns, getRun, listRunMessages, postRunMessage,
//! respondToHumanRequest, stopRun, and the simulated Job lifecycle.
//!
//! # Lifecycle
//!
//! `pending → starting → running → (waiting ↔ running)* → completed | failed`, driven by one
//! background tokio task per Job. Each step sleeps `base × time_scale` (base ≈ 0.5–2 s, so a
//! lifelike Job takes ~10 s; with `time_scale = 0.01` well under a second). While running, the
//! Job appends messages: the `user` start message (at creation), an `assistant` text, an
//! `assistant` `tool_call`, a `tool` `tool_result`, …, and a final `assistant` summary.
//!
//! # Trigger words
//!
//! The behaviour is chosen deterministically from the start `message`; if the message contains
//! no trigger, from the Assignment's SOP (`build.config.data.input` of the latest build).
//! Matching is case-insensitive; the bracketed tags win over the plain words:
//!
//! | trigger | behaviour |
//! | --- | --- |
//! | `[fail]` | ends `failed` (tool error + explanation) |
//! | `[approval]`, or the word `approve` / `approval` | pauses `waiting` with an `approval` human request |
//! | `[question]`, or the word `ask` (whole word: "task" does not count) | pauses `waiting` with a `question` request (1–2 questions with options) |
//! | `[slow]` (combinable with the others) | ~20 extra tool steps first (~25 s lifelike), so a test can stop it mid-run |
//! | none | completes |
//!
//! `human_in_the_loop_enabled` is true when the SOP (or the start message) asks for approval or
//! questions. After a response the Job goes back to `running`: an approved request or answered
//! questions lead to `completed`; a **denied approval also ends `completed`**, with a final
//! message saying the action was not taken. `postRunMessage` on a `waiting`, `completed` or
//! `interrupted` Job resumes it (the new message's own triggers decide the next outcome; a
//! pending request is resolved with the message text); on other states it is only stored.
//! `stopRun` on an active Job (pending/starting/running/waiting) cancels its task and sets
//! `stopped`; otherwise it is a no-op answering `{"success": true, "message": …}`.
//! Deleting an Assignment sets its active Jobs to `interrupted`.
//!
//! Webhooks: when `webhook_url` was given, `human_request`, `run_completed`, `run_failed` and
//! `run_interrupted` events are POSTed (`{"event", "run_id", "status"}`, plus `human_request`
//! for the first), once, fire-and-forget; `stopped` sends nothing. Deliveries are listed at
//! `GET /_emulator/webhooks`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::auth::TeamCaller;
use super::errors::{ApiError, ApiResult};
use super::model::{HumanRequest, HumanRequestKind, Message, Run, RunStatus, ts};
use super::state::{AppState, Caller, Store};
use super::transcripts::{self, Script, Step};
use super::validate::{self as v, Query};
use super::{created, ok};

/// Side effects of applying one step, performed after the store lock is released.
#[derive(Debug, Default)]
pub struct Effect {
    /// The script ends here.
    pub stop: bool,
    /// A webhook to deliver: (url, payload).
    pub webhook: Option<(String, Value)>,
}

/// Append a message to a run.
pub fn push_message<'a>(
    run: &'a mut Run,
    kind: &'static str,
    role: &'static str,
    text: Option<String>,
    at: DateTime<Utc>,
) -> &'a mut Message {
    let m = Message {
        id: Uuid::new_v4(),
        kind,
        role,
        timestamp: at,
        text,
        tool_call: None,
        tool_result: None,
    };
    run.messages.push(m);
    let last = run.messages.len() - 1;
    &mut run.messages[last]
}

/// Mirror a run's state onto the case it processes (if any).
pub fn sync_case(store: &mut Store, run_id: Uuid, now: DateTime<Utc>) {
    let Some(run) = store.runs.iter().find(|r| r.id == run_id) else {
        return;
    };
    let Some(case_id) = run.case_id else {
        return;
    };
    let (status, pending, user) = (run.status, run.pending_request, run.user_id);
    let Some(case) = store.cases.iter_mut().find(|c| c.id == case_id) else {
        return;
    };
    case.agent_run_status = Some(status.as_str());
    case.agent_run_user_id = user;
    case.updated_at = now;
    match status {
        RunStatus::Waiting => case.pending_human_request_id = pending,
        RunStatus::Completed | RunStatus::Failed => {
            case.pending_human_request_id = None;
            case.status = if status == RunStatus::Completed {
                "completed"
            } else {
                "failed"
            };
            case.completed_at = Some(now);
        }
        RunStatus::Stopped | RunStatus::Interrupted => {
            case.pending_human_request_id = None;
            case.claimed_at = None;
            case.claimed_by_run_id = None;
        }
        _ => {
            case.pending_human_request_id = None;
            if case.claimed_at.is_none() {
                case.claimed_at = Some(now);
                case.claimed_by_run_id = Some(run_id);
            }
        }
    }
}

fn webhook_for(run: &Run, event: &str, extra: Option<Value>) -> Option<(String, Value)> {
    let url = run.webhook_url.clone()?;
    let mut payload = json!({"event": event, "run_id": run.id, "status": run.status.as_str()});
    if let (Some(x), Value::Object(m)) = (extra, &mut payload) {
        m.insert("human_request".into(), x);
    }
    Some((url, payload))
}

/// Apply one lifecycle step to a run at time `now`.
pub fn apply_step(store: &mut Store, run_id: Uuid, step: Step, now: DateTime<Utc>) -> Effect {
    let mut effect = Effect::default();
    let Some(run) = store.run_by_id(run_id) else {
        effect.stop = true;
        return effect;
    };
    run.updated_at = now;
    match step {
        Step::Status(s) => {
            run.status = s;
            if s == RunStatus::Running && run.started_at.is_none() {
                run.started_at = Some(now);
            }
        }
        Step::Say(text) => {
            push_message(run, "message", "assistant", Some(text), now);
        }
        Step::Call { id, name, args } => {
            push_message(run, "tool_call", "assistant", None, now).tool_call =
                Some(json!({"id": id, "name": name, "arguments": args}));
        }
        Step::Result {
            call_id,
            result,
            error,
        } => {
            let mut tr = Map::new();
            tr.insert("tool_call_id".into(), json!(call_id));
            if let Some(e) = error {
                tr.insert("error".into(), json!(e));
            } else {
                tr.insert("result".into(), result);
            }
            push_message(run, "tool_result", "tool", None, now).tool_result =
                Some(Value::Object(tr));
        }
        Step::Ask(spec) => {
            let req = HumanRequest {
                id: Uuid::new_v4(),
                kind: spec.kind,
                title: spec.title,
                description: spec.description,
                questions: spec.questions,
                created_at: now,
                response: None,
                responded_at: None,
            };
            run.pending_request = Some(req.id);
            run.status = RunStatus::Waiting;
            let pending = req.pending_json();
            run.human_requests.push(req);
            effect.webhook = webhook_for(run, "human_request", Some(pending));
            effect.stop = true;
        }
        Step::Finish(s) => {
            run.status = s;
            run.completed_at = Some(now);
            run.pending_request = None;
            run.task = None;
            let event = match s {
                RunStatus::Completed => Some("run_completed"),
                RunStatus::Failed => Some("run_failed"),
                RunStatus::Interrupted => Some("run_interrupted"),
                _ => None,
            };
            effect.webhook = event.and_then(|e| webhook_for(run, e, None));
            effect.stop = true;
        }
    }
    sync_case(store, run_id, now);
    effect
}

/// Apply a whole script synchronously with synthetic timestamps (seed data); returns the end time.
pub fn replay(
    store: &mut Store,
    run_id: Uuid,
    script: Script,
    start: DateTime<Utc>,
) -> DateTime<Utc> {
    let mut t = start;
    for (secs, step) in script {
        // Seeded history looks like real Jobs: ~8× the lifelike step time.
        t += chrono::Duration::milliseconds((secs * 8000.0) as i64);
        if apply_step(store, run_id, step, t).stop {
            break;
        }
    }
    t
}

/// Record a webhook delivery and POST it in the background (single attempt).
pub fn deliver(st: &Arc<AppState>, url: String, payload: Value) {
    st.control()
        .webhooks
        .push(json!({"url": url, "payload": payload}));
    let Some(client) = st.http.clone() else {
        return;
    };
    tokio::spawn(async move {
        match client.post(&url).json(&payload).send().await {
            Ok(r) => tracing::debug!(status = r.status().as_u16(), "webhook delivered"),
            Err(e) => tracing::debug!(error = %e, "webhook delivery failed"),
        }
    });
}

/// Start a background task running `script` for `run` (cancelling any previous task).
pub fn spawn_script(st: &Arc<AppState>, run: &mut Run, script: Script) {
    run.generation += 1;
    if let Some(h) = run.task.take() {
        h.abort();
    }
    let generation = run.generation;
    let run_id = run.id;
    let st2 = Arc::clone(st);
    let handle = tokio::spawn(async move {
        for (secs, step) in script {
            let d = st2.scaled(secs);
            if d.is_zero() {
                tokio::task::yield_now().await;
            } else {
                tokio::time::sleep(d).await;
            }
            let effect = {
                let mut store = st2.store();
                match store.run_by_id(run_id) {
                    Some(r) if r.generation == generation => {}
                    _ => return,
                }
                apply_step(&mut store, run_id, step, Utc::now())
            };
            if let Some((url, payload)) = effect.webhook {
                deliver(&st2, url, payload);
            }
            if effect.stop {
                return;
            }
        }
    });
    run.task = Some(handle.abort_handle());
}

/// Cancel a run's task and put it in a terminal `status` (stop / interrupt).
pub fn halt(
    store: &mut Store,
    run_id: Uuid,
    status: RunStatus,
    now: DateTime<Utc>,
) -> Option<(String, Value)> {
    let run = store.run_by_id(run_id)?;
    run.generation += 1;
    if let Some(h) = run.task.take() {
        h.abort();
    }
    run.status = status;
    run.completed_at = Some(now);
    run.updated_at = now;
    run.pending_request = None;
    let hook = if status == RunStatus::Interrupted {
        webhook_for(run, "run_interrupted", None)
    } else {
        None
    };
    sync_case(store, run_id, now);
    hook
}

/// Record a response to a human request (validating the body) and return the continuation.
pub fn respond(
    store: &mut Store,
    team: Uuid,
    run_id: Uuid,
    request_id: Uuid,
    body: &Map<String, Value>,
    now: DateTime<Utc>,
) -> ApiResult<(Value, Script)> {
    let run = store.run_mut(team, run_id)?;
    let Some(idx) = run.human_requests.iter().position(|h| h.id == request_id) else {
        return Err(ApiError::not_found("Human request", request_id));
    };
    if run.status != RunStatus::Waiting {
        return Err(ApiError::bad_request(format!(
            "Run {run_id} is not waiting for input (status: {}); human requests can only be answered while the run is waiting",
            run.status.as_str()
        )));
    }
    if run.pending_request != Some(request_id) {
        return Err(ApiError::bad_request(format!(
            "Human request {request_id} has already been answered"
        )));
    }
    let agent_name = run.agent_name.clone();
    let context = run.title.clone();
    let req = &run.human_requests[idx];
    let (response, follow_up, script) = match req.kind {
        HumanRequestKind::Approval => {
            let approved = match body.get("approved") {
                Some(Value::Bool(b)) => *b,
                None | Some(Value::Null) => {
                    return Err(ApiError::field(
                        "approved",
                        "is required for approval requests (true to approve, false to deny)",
                    ));
                }
                Some(other) => {
                    return Err(ApiError::field(
                        "approved",
                        format!("must be a boolean, got {}", v::type_name(other)),
                    ));
                }
            };
            let text = if approved { "approved" } else { "denied" };
            (
                text.to_string(),
                format!("{}: {text}", req.title),
                transcripts::after_approval(&agent_name, approved),
            )
        }
        HumanRequestKind::Question => {
            let answers = match body.get("answers") {
                Some(Value::Object(m)) => m,
                None | Some(Value::Null) => {
                    return Err(ApiError::field(
                        "answers",
                        "is required for question requests (an object keyed by question text)",
                    ));
                }
                Some(other) => {
                    return Err(ApiError::field(
                        "answers",
                        format!("must be an object, got {}", v::type_name(other)),
                    ));
                }
            };
            let questions: Vec<&str> = req
                .questions
                .iter()
                .filter_map(|q| q.get("question").and_then(Value::as_str))
                .collect();
            for (k, val) in answers {
                if !val.is_string() {
                    return Err(ApiError::field(
                        &format!("answers.{k}"),
                        format!("must be a string, got {}", v::type_name(val)),
                    ));
                }
                if !questions.contains(&k.as_str()) {
                    return Err(ApiError::field(
                        "answers",
                        format!("unknown question \"{k}\" (keys must be the question text)"),
                    ));
                }
            }
            if let Some(missing) = questions.iter().find(|q| !answers.contains_key(**q)) {
                return Err(ApiError::field(
                    "answers",
                    format!("missing an answer for question \"{missing}\""),
                ));
            }
            let response = Value::Object(answers.clone()).to_string();
            let listed: Vec<String> = answers
                .iter()
                .map(|(q, a)| format!("{q} {}", a.as_str().unwrap_or_default()))
                .collect();
            (
                response,
                listed.join("\n"),
                transcripts::after_answers(&agent_name, answers),
            )
        }
    };
    let req = &mut run.human_requests[idx];
    req.response = Some(response);
    req.responded_at = Some(now);
    let rendered = req.responded_json(run_id);
    push_message(run, "message", "user", Some(follow_up), now);
    run.pending_request = None;
    run.status = RunStatus::Running;
    run.updated_at = now;
    sync_case(store, run_id, now);
    Ok((rendered, transcripts::personalize(script, &context)))
}

/// First line of `message`, trimmed to 80 characters.
pub fn title_from(message: &str) -> Option<String> {
    let line = message.lines().map(str::trim).find(|l| !l.is_empty())?;
    let mut t: String = line.chars().take(80).collect();
    if line.chars().count() > 80 {
        t.push('…');
    }
    Some(t)
}

/// Parameters of a new run.
#[derive(Debug, Clone)]
pub struct NewRun {
    /// Team.
    pub team_id: Uuid,
    /// Agent.
    pub agent_id: Uuid,
    /// Owner.
    pub user_id: Option<Uuid>,
    /// Start message.
    pub message: Option<String>,
    /// Sandbox.
    pub sandbox_id: Option<String>,
    /// Webhook.
    pub webhook_url: Option<String>,
    /// Source label.
    pub source: &'static str,
    /// Case being processed.
    pub case_id: Option<Uuid>,
}

/// Create a `pending` run record and its first-pass script (does not start it).
pub fn create_run(store: &mut Store, p: NewRun, now: DateTime<Utc>) -> ApiResult<(Uuid, Script)> {
    let agent = store.agent(p.team_id, p.agent_id)?;
    let agent_name = agent.name.clone();
    let Some(build) = store.latest_build(p.agent_id) else {
        return Err(ApiError::bad_request(format!(
            "agent_id: Agent {} has no build to run; create a revision first",
            p.agent_id
        )));
    };
    let build_id = build.id;
    let sop = v::sop_text(&build.config);
    let behaviour = transcripts::decide(p.message.as_deref(), &sop);
    let hitl = transcripts::sop_asks(&sop)
        || matches!(
            behaviour.outcome,
            transcripts::Outcome::Approval | transcripts::Outcome::Question
        );
    let run_number = store
        .runs
        .iter()
        .filter(|r| r.agent_id == p.agent_id)
        .map(|r| r.run_number)
        .max()
        .unwrap_or(0)
        + 1;
    let title = p
        .message
        .as_deref()
        .and_then(title_from)
        .unwrap_or_else(|| format!("{agent_name} #{run_number}"));
    let mut run = Run {
        id: Uuid::new_v4(),
        team_id: p.team_id,
        agent_id: p.agent_id,
        agent_name: agent_name.clone(),
        build_id,
        status: RunStatus::Pending,
        source: Some(p.source.to_string()),
        sandbox_id: p.sandbox_id,
        webhook_url: p.webhook_url,
        started_at: None,
        completed_at: None,
        created_at: now,
        updated_at: now,
        hitl,
        title,
        run_number,
        user_id: p.user_id,
        case_id: p.case_id,
        submitted_prompt_count: 0,
        messages: Vec::new(),
        human_requests: Vec::new(),
        pending_request: None,
        generation: 0,
        task: None,
    };
    if let Some(m) = p.message.clone().filter(|m| !m.trim().is_empty()) {
        push_message(&mut run, "message", "user", Some(m), now);
        run.submitted_prompt_count = 1;
    }
    let id = run.id;
    store.runs.push(run);
    if let Some(case_id) = p.case_id
        && let Some(case) = store.cases.iter_mut().find(|c| c.id == case_id)
    {
        case.claimed_at = Some(now);
        case.claimed_by_run_id = Some(id);
        case.agent_run_status = Some("pending");
        case.agent_run_user_id = p.user_id;
    }
    let context = p.message.clone().unwrap_or_default();
    Ok((
        id,
        transcripts::personalize(transcripts::start(&agent_name, behaviour), &context),
    ))
}

fn parse_id(field: &str, raw: &str) -> ApiResult<Uuid> {
    v::uuid(field, raw)
}

/// `POST /v2/teams/{teamId}/runs` (startRun).
pub async fn start_run(
    State(st): State<Arc<AppState>>,
    TeamCaller(caller): TeamCaller,
    body: Bytes,
) -> ApiResult<Response> {
    let b = v::json_object(&body)?;
    let agent_raw = v::req_str(&b, "agent_id", 0)?;
    let agent_id = parse_id("agent_id", &agent_raw)?;
    let message = v::opt_str(&b, "message", 0)?;
    let sandbox_id = v::opt_str(&b, "sandbox_id", 1)?;
    let webhook_url = v::opt_str(&b, "webhook_url", 1)?;
    if let Some(u) = &webhook_url {
        v::uri("webhook_url", u)?;
    }
    let now = Utc::now();
    let mut store = st.store();
    let (id, script) = create_run(
        &mut store,
        NewRun {
            team_id: caller.team_id,
            agent_id,
            user_id: Some(caller.user_id),
            message,
            sandbox_id,
            webhook_url,
            source: "api",
            case_id: None,
        },
        now,
    )?;
    let run = store.run_mut(caller.team_id, id)?;
    spawn_script(&st, run, script);
    Ok(created(json!({ "run": run.to_json() })))
}

const RUN_STATUSES: &[&str] = &[
    "not_started",
    "pending",
    "starting",
    "running",
    "waiting",
    "completed",
    "failed",
    "interrupted",
    "stopped",
    "needs_attention",
];

/// `GET /v2/teams/{teamId}/runs` (listRuns). `needs_attention` matches `waiting` and `failed` runs.
pub async fn list_runs(
    State(st): State<Arc<AppState>>,
    TeamCaller(caller): TeamCaller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let q = Query::parse(raw.as_deref());
    let (limit, offset) = q.page(100, 20)?;
    q.one_of("sort_by", &["created_at"], Some("created_at"))?;
    let desc = q.one_of("sort_order", &["asc", "desc"], Some("desc"))? != Some("asc");
    let status = q.one_of("status", RUN_STATUSES, None)?;
    let agent_id = q.uuid("agent_id")?;
    let user_id = q.uuid("user_id")?;
    let case_queue_id = q.uuid("case_queue_id")?;
    q.uuid("digest_id")?;
    let has_issues = q.one_of("has_issues", &["true", "false"], None)?;
    let severity = q.one_of("issue_severity", &["critical", "medium", "low"], None)?;
    let since = q.datetime("since")?;
    let source = q.get("source");
    let search = q.get("search").map(str::to_lowercase);

    let store = st.store();
    let mut items: Vec<(usize, &Run)> = store
        .runs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.team_id == caller.team_id)
        .filter(|(_, r)| match status {
            None => true,
            Some("needs_attention") => {
                matches!(r.status, RunStatus::Waiting | RunStatus::Failed)
            }
            Some(s) => r.status.as_str() == s,
        })
        .filter(|(_, r)| agent_id.is_none_or(|a| r.agent_id == a))
        .filter(|(_, r)| user_id.is_none_or(|u| r.user_id == Some(u)))
        .filter(|(_, r)| source.is_none_or(|s| r.source.as_deref() == Some(s)))
        .filter(|(_, r)| since.is_none_or(|s| r.completed_at.is_some_and(|c| c >= s)))
        // The emulator has no evaluations, so no run "has issues".
        .filter(|_| has_issues != Some("true") && severity.is_none())
        .collect();
    let case_of = |r: &Run| {
        r.case_id
            .and_then(|cid| store.cases.iter().find(|c| c.id == cid))
    };
    items.retain(|(_, r)| {
        case_queue_id.is_none_or(|qid| case_of(r).is_some_and(|c| c.queue_id == qid))
    });
    if let Some(s) = &search {
        items.retain(|(_, r)| {
            r.title.to_lowercase().contains(s)
                || case_of(r).is_some_and(|c| c.title.to_lowercase().contains(s))
        });
    }
    items.sort_by(|(ia, a), (ib, b)| {
        let ord = a.created_at.cmp(&b.created_at).then(ia.cmp(ib));
        if desc { ord.reverse() } else { ord }
    });
    let total = items.len();
    let data: Vec<Value> = items
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|(_, r)| {
            let case = case_of(r);
            let queue = case.and_then(|c| store.queues.iter().find(|q| q.id == c.queue_id));
            let agent_name = store
                .agents
                .iter()
                .find(|a| a.id == r.agent_id)
                .map_or_else(|| r.agent_name.clone(), |a| a.name.clone());
            json!({
                "id": r.id,
                "created_at": ts(&r.created_at),
                "updated_at": ts(&r.updated_at),
                "started_at": super::model::ts_opt(&r.started_at),
                "completed_at": super::model::ts_opt(&r.completed_at),
                "status": r.status.as_str(),
                "source": r.source,
                "title": r.title,
                "run_number": r.run_number,
                "agent_id": r.agent_id,
                "agent_name": agent_name,
                "build_id": r.build_id,
                "user_id": super::model::id_opt(&r.user_id),
                "case_queue_item_id": super::model::id_opt(&r.case_id),
                "case_queue_id": case.map(|c| c.queue_id),
                "case_queue_name": queue.map(|q| q.name.clone()),
                "case_title": case.map(|c| c.title.clone()),
                "postponed_to": case.map_or(Value::Null, |c| super::model::ts_opt(&c.postponed_to)),
                "submitted_prompt_count": r.submitted_prompt_count,
                "eval_summaries": Value::Null,
            })
        })
        .collect();
    Ok(ok(json!({ "data": data, "total": total })))
}

/// `GET /v2/runs/{run_id}` (getRun).
pub async fn get_run(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(run_id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id("run_id", &run_id)?;
    let store = st.store();
    let run = store.run(caller.team_id, id)?;
    let pending = run
        .pending()
        .map_or(Value::Null, HumanRequest::pending_json);
    Ok(ok(
        json!({ "run": run.to_json(), "pending_human_request": pending }),
    ))
}

/// `GET /v2/runs/{run_id}/messages` (listRunMessages; limit 1–50, out of range → 400).
pub async fn list_messages(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(run_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let id = parse_id("run_id", &run_id)?;
    let q = Query::parse(raw.as_deref());
    let page = q.page(50, 20)?;
    let store = st.store();
    let run = store.run(caller.team_id, id)?;
    Ok(ok(v::page_envelope(
        "messages",
        &run.messages,
        page,
        Message::to_json,
    )))
}

/// `POST /v2/runs/{run_id}/messages` (postRunMessage).
pub async fn post_message(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(run_id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let id = parse_id("run_id", &run_id)?;
    let b = v::json_object(&body)?;
    let text = v::req_str(&b, "message", 1)?;
    let now = Utc::now();
    let mut store = st.store();
    let run = store.run_mut(caller.team_id, id)?;
    let msg = push_message(run, "message", "user", Some(text.clone()), now).clone();
    run.submitted_prompt_count += 1;
    run.updated_at = now;
    if matches!(
        run.status,
        RunStatus::Waiting | RunStatus::Completed | RunStatus::Interrupted
    ) {
        if let Some(pid) = run.pending_request.take()
            && let Some(req) = run.human_requests.iter_mut().find(|h| h.id == pid)
        {
            req.response = Some(text.clone());
            req.responded_at = Some(now);
        }
        run.status = RunStatus::Running;
        run.completed_at = None;
        let script = transcripts::personalize(
            transcripts::after_message(&run.agent_name, &text),
            &format!("{} {text}", run.title),
        );
        spawn_script(&st, run, script);
        sync_case(&mut store, id, now);
    }
    Ok(created(json!({
        "message": {
            "id": msg.id,
            "type": msg.kind,
            "role": msg.role,
            "timestamp": ts(&msg.timestamp),
            "text_content": text,
        }
    })))
}

/// `POST /v2/runs/{run_id}/human-requests/{request_id}/respond` (respondToHumanRequest).
pub async fn respond_handler(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path((run_id, request_id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Response> {
    let id = parse_id("run_id", &run_id)?;
    let rid = parse_id("request_id", &request_id)?;
    let b = v::json_object(&body)?;
    let now = Utc::now();
    let mut store = st.store();
    let (rendered, script) = respond(&mut store, caller.team_id, id, rid, &b, now)?;
    let run = store.run_mut(caller.team_id, id)?;
    spawn_script(&st, run, script);
    Ok(ok(json!({ "human_request": rendered })))
}

/// `POST /v2/runs/{run_id}/stop` (stopRun).
pub async fn stop_run(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(run_id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id("run_id", &run_id)?;
    let now = Utc::now();
    let mut store = st.store();
    let status = store.run(caller.team_id, id)?.status;
    if !status.is_active() {
        return Ok(ok(json!({
            "success": true,
            "message": format!("Run {id} is not running (status: {}); nothing to stop", status.as_str()),
        })));
    }
    halt(&mut store, id, RunStatus::Stopped, now);
    Ok(ok(
        json!({ "success": true, "message": format!("Run {id} stopped") }),
    ))
}
