//! In-memory Duvo API emulator (axum) for `--demo` and tests.
//!
//! Implements the core Duvo Public API v2 operations (teams/profile, Assignments, revisions,
//! Jobs with a simulated lifecycle, queues/cases, skills, schedules) with spec-exact shapes,
//! plus rate limiting, `Idempotency-Key` replay and test hooks under `/_emulator`
//! (see `control.rs`). Behaviour of Jobs and their trigger words: see `runs.rs`.
//!
//! Keys: `Authorization: Bearer <key>`; any key starting with `dv_` belongs to the default team
//! ([`DEMO_TEAM_ID`], "Acme Operations") except [`OTHER_TEAM_KEY`] ([`OTHER_TEAM_ID`]). A
//! `{teamId}` path segment of another team → 403; an item (agent, run, queue…) of another team
//! → 404, as if it did not exist.

mod agents;
mod auth;
mod case_bulk;
mod case_labels;
mod case_runs;
mod cases;
mod connections;
mod control;
mod errors;
pub mod faults;
mod folders;
mod json_fields;
mod model;
mod queues;
mod revisions;
mod runs;
mod sandboxes;
mod schedules;
mod seed;
mod skills;
pub mod spec;
mod state;
mod team_profile;
mod transcripts;
mod validate;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use state::AppState;

/// API key of the default team (any other `dv_…` key works too).
pub const DEMO_API_KEY: &str = "dv_demo_key_0123456789abcdef";
/// Fixed id of the default team ("Acme Operations").
pub const DEMO_TEAM_ID: &str = "3b6f2a4e-1c8d-4e5f-9a7b-2d4c6e8f0a1b";
/// Fixed id of a second team ("Globex Logistics"), for 403/isolation tests.
pub const OTHER_TEAM_ID: &str = "7c1e9d2b-5a3f-4b8e-8d6c-0f2a4b6c8e1d";
/// API key of the second team.
pub const OTHER_TEAM_KEY: &str = "dv_other_team_key_0000";

/// Emulator settings.
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// Multiplier on every simulated duration of the Job lifecycle (1.0 = lifelike, seconds per step; 0.01 for tests).
    pub time_scale: f64,
    /// Requests per minute allowed per API key before 429 (default 300).
    pub rate_limit_per_minute: u32,
    /// Length of the fixed rate-limit window in seconds (default 60, Duvo's; shorter windows
    /// make rate-limit tests quick: `rate_limit_per_minute` requests per window).
    pub rate_window_secs: u32,
    /// Seed the realistic sample data (default true).
    pub seed: bool,
    /// Check every `/v2/...` JSON response against the OpenAPI spec and record violations at
    /// `GET /_emulator/contract` (default false; see `spec/contract.rs`).
    pub validate_responses: bool,
    /// Seeded fault injection (default: none); see [`faults`]. Changeable at run time with
    /// `PUT /_emulator/fault-profile`.
    pub faults: faults::FaultProfile,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            time_scale: 1.0,
            rate_limit_per_minute: 300,
            rate_window_secs: 60,
            seed: true,
            validate_responses: false,
            faults: faults::FaultProfile::none(),
        }
    }
}

/// A running emulator bound to a TCP listener.
pub struct RunningEmulator {
    base_url: String,
    state: Arc<AppState>,
    contract: Arc<spec::ContractLog>,
    shutdown_tx: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for RunningEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningEmulator")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl RunningEmulator {
    /// Base URL, e.g. `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The default team's API key ([`DEMO_API_KEY`]).
    pub fn demo_key(&self) -> &str {
        DEMO_API_KEY
    }

    /// Response contract results, as served by `GET /_emulator/contract`.
    pub fn contract_report(&self) -> Value {
        self.contract.report()
    }

    /// Stop accepting requests, wait (up to 5 s) for in-flight ones, and cancel all Job tasks.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown_tx.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
        abort_jobs(&self.state);
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown_tx.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
        abort_jobs(&self.state);
    }
}

fn abort_jobs(state: &AppState) {
    let mut store = state.store();
    for run in &mut store.runs {
        if let Some(h) = run.task.take() {
            h.abort();
        }
    }
}

/// Start the emulator on `listener` (bound by the caller, e.g. 127.0.0.1:0) in a background tokio task.
pub async fn start(
    listener: tokio::net::TcpListener,
    config: EmulatorConfig,
) -> anyhow::Result<RunningEmulator> {
    let mut addr = listener.local_addr()?;
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => addr.set_ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        IpAddr::V6(ip) if ip.is_unspecified() => addr.set_ip(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        _ => {}
    }
    let contract = Arc::new(spec::ContractLog::new(config.validate_responses));
    let state = Arc::new(AppState::new(config));
    let app = build_router(Arc::clone(&state), Arc::clone(&contract));
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let result = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
        if let Err(e) = result {
            tracing::debug!(error = %e, "emulator server stopped with an error");
        }
    });
    tracing::debug!(%addr, "emulator listening");
    Ok(RunningEmulator {
        base_url: format!("http://{addr}"),
        state,
        contract,
        shutdown_tx: Some(tx),
        task: Some(task),
    })
}

/// The axum router over a fresh state (for in-process use).
pub fn router(config: EmulatorConfig) -> Router {
    let contract = Arc::new(spec::ContractLog::new(config.validate_responses));
    build_router(Arc::new(AppState::new(config)), contract)
}

/// 200 JSON response.
pub(crate) fn ok(v: Value) -> Response {
    (StatusCode::OK, axum::Json(v)).into_response()
}

/// 201 JSON response.
pub(crate) fn created(v: Value) -> Response {
    (StatusCode::CREATED, axum::Json(v)).into_response()
}

fn build_router(state: Arc<AppState>, contract: Arc<spec::ContractLog>) -> Router {
    let fault_engine = Arc::new(faults::FaultEngine::new(state.config.faults.clone()));
    Router::new()
        // Team
        .route("/v2/teams", get(team_profile::list_my_teams))
        .route("/v2/teams/{teamId}", get(team_profile::get_team))
        .route("/v2/profile", get(team_profile::get_profile))
        // Assignments and revisions
        .route(
            "/v2/teams/{teamId}/agents",
            get(agents::list_agents).post(agents::create_agent),
        )
        .route(
            "/v2/agents/{agent_id}",
            get(agents::get_agent)
                .patch(agents::update_agent)
                .delete(agents::delete_agent),
        )
        .route(
            "/v2/agents/{agent_id}/revisions",
            get(agents::list_revisions).post(agents::create_revision),
        )
        .route(
            "/v2/agents/{agent_id}/revisions/{build_id}",
            get(agents::get_revision),
        )
        // Jobs
        .route(
            "/v2/teams/{teamId}/runs",
            get(runs::list_runs).post(runs::start_run),
        )
        .route("/v2/runs/{run_id}", get(runs::get_run))
        .route(
            "/v2/runs/{run_id}/messages",
            get(runs::list_messages).post(runs::post_message),
        )
        .route(
            "/v2/runs/{run_id}/human-requests/{request_id}/respond",
            post(runs::respond_handler),
        )
        .route("/v2/runs/{run_id}/stop", post(runs::stop_run))
        // Queues, cases, skills
        .merge(queues::routes())
        .merge(cases::routes())
        .merge(case_labels::routes())
        .merge(schedules::routes())
        .merge(folders::routes())
        .merge(revisions::routes())
        .merge(skills::routes())
        .merge(sandboxes::routes())
        .merge(connections::routes())
        // Test hooks
        .route(
            "/_emulator/faults",
            get(control::list_faults)
                .post(control::add_fault)
                .delete(control::clear_faults),
        )
        .route(
            "/_emulator/requests",
            get(control::list_requests).delete(control::clear_requests),
        )
        .route("/_emulator/webhooks", get(control::list_webhooks))
        .route("/openapi.json", get(spec::openapi_json))
        .merge(spec::contract_routes(Arc::clone(&contract)))
        .merge(faults::routes(Arc::clone(&fault_engine)))
        // Spec operations without an explicit route: generic, spec-driven answers (404/405 else).
        .fallback(spec::fallback)
        .method_not_allowed_fallback(spec::fallback)
        // `--spec FILE`: operations the spec lacks → 404, new ones → the spec-driven handler.
        .layer(axum::middleware::from_fn(spec::spec_gate))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            auth::api_middleware,
        ))
        .layer(axum::middleware::from_fn_with_state(
            contract,
            spec::contract_middleware,
        ))
        // Outermost: injected faults never reach the contract check.
        .layer(axum::middleware::from_fn_with_state(
            faults::FaultLayer {
                state: Arc::clone(&state),
                engine: fault_engine,
            },
            faults::middleware,
        ))
        .with_state(state)
}
