//! Shared emulator state: the data store and the control plane (rate limits, faults, logs, idempotency).

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::EmulatorConfig;
use super::errors::{ApiError, ApiResult};
use super::model::{
    Agent, AgentFolder, Build, Case, CaseEvent, CaseLabel, Queue, Run, Schedule, Team, User,
};

/// The authenticated caller, inserted into request extensions by the auth middleware.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The key's team.
    pub team_id: Uuid,
    /// The key's user.
    pub user_id: Uuid,
}

/// All API data.
#[derive(Debug, Default)]
pub struct Store {
    /// Teams.
    pub teams: Vec<Team>,
    /// Users (one per team).
    pub users: Vec<User>,
    /// Agents in creation order.
    pub agents: Vec<Agent>,
    /// Builds in creation order.
    pub builds: Vec<Build>,
    /// Runs in creation order.
    pub runs: Vec<Run>,
    /// Queues.
    pub queues: Vec<Queue>,
    /// Cases.
    pub cases: Vec<Case>,
    /// Skills (team and system) with their files.
    pub skills: Vec<super::model::StoredSkill>,
    /// Sandboxes (file staging areas for runs).
    pub sandboxes: Vec<super::model::Sandbox>,
    /// Connections (connected integration instances).
    pub connections: Vec<super::model::Connection>,
    /// Pending OAuth flows and Composio accounts.
    pub connection_flows: super::model::Flows,
    /// Schedules.
    pub schedules: Vec<Schedule>,
    /// Case labels of every queue.
    pub case_labels: Vec<CaseLabel>,
    /// Case history recorded by case operations (runs add theirs when rendered).
    pub case_events: Vec<CaseEvent>,
    /// Assignment folders.
    pub folders: Vec<AgentFolder>,
    /// Promoted live build per agent (agent id → build id); absent: the highest revision is live.
    pub live_builds: HashMap<Uuid, Uuid>,
}

impl Store {
    /// Agent of the caller's team, or 404 (items of other teams are reported as not found).
    pub fn agent(&self, team: Uuid, id: Uuid) -> ApiResult<&Agent> {
        self.agents
            .iter()
            .find(|a| a.id == id && a.team_id == team)
            .ok_or_else(|| ApiError::not_found("Agent", id))
    }

    /// Mutable agent of the caller's team, or 404.
    pub fn agent_mut(&mut self, team: Uuid, id: Uuid) -> ApiResult<&mut Agent> {
        self.agents
            .iter_mut()
            .find(|a| a.id == id && a.team_id == team)
            .ok_or_else(|| ApiError::not_found("Agent", id))
    }

    /// The live build of an agent: the promoted one (promoteRevision) if any, else the highest revision.
    pub fn latest_build(&self, agent_id: Uuid) -> Option<&Build> {
        if let Some(live) = self.live_builds.get(&agent_id)
            && let Some(b) = self
                .builds
                .iter()
                .find(|b| b.id == *live && b.agent_id == agent_id)
        {
            return Some(b);
        }
        self.builds
            .iter()
            .filter(|b| b.agent_id == agent_id)
            .max_by_key(|b| b.revision_number)
    }

    /// Run of the caller's team, or 404.
    pub fn run(&self, team: Uuid, id: Uuid) -> ApiResult<&Run> {
        self.runs
            .iter()
            .find(|r| r.id == id && r.team_id == team)
            .ok_or_else(|| ApiError::not_found("Run", id))
    }

    /// Mutable run of the caller's team, or 404.
    pub fn run_mut(&mut self, team: Uuid, id: Uuid) -> ApiResult<&mut Run> {
        self.runs
            .iter_mut()
            .find(|r| r.id == id && r.team_id == team)
            .ok_or_else(|| ApiError::not_found("Run", id))
    }

    /// Mutable run by id regardless of team (lifecycle tasks).
    pub fn run_by_id(&mut self, id: Uuid) -> Option<&mut Run> {
        self.runs.iter_mut().find(|r| r.id == id)
    }

    /// Queue of the caller's team, or 404.
    pub fn queue(&self, team: Uuid, id: Uuid) -> ApiResult<&Queue> {
        self.queues
            .iter()
            .find(|q| q.id == id && q.team_id == team)
            .ok_or_else(|| ApiError::not_found("Queue", id))
    }

    /// A team by id.
    pub fn team(&self, id: Uuid) -> Option<&Team> {
        self.teams.iter().find(|t| t.id == id)
    }

    /// A user by id.
    pub fn user(&self, id: Uuid) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }
}

/// One fixed rate-limit window of an API key.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// Unix seconds when the window ends.
    pub reset: i64,
    /// Requests counted in the window.
    pub count: u32,
}

/// Rate-limit verdict for one request.
#[derive(Debug, Clone, Copy)]
pub struct RateInfo {
    /// Allowed per window.
    pub limit: u32,
    /// Remaining after this request.
    pub remaining: u32,
    /// Unix seconds of the window end.
    pub reset: i64,
    /// This request exceeded the limit.
    pub limited: bool,
}

/// An injected fault (test hook).
#[derive(Debug, Clone)]
pub struct Fault {
    /// Status to return.
    pub status: StatusCode,
    /// Requests still to fail.
    pub remaining: u32,
    /// `retry-after` seconds.
    pub retry_after: Option<u64>,
    /// Only paths starting with this prefix match.
    pub path_prefix: Option<String>,
}

impl Fault {
    /// Control-plane rendering.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "status": self.status.as_u16(),
            "count": self.remaining,
            "retry_after": self.retry_after,
            "path_prefix": self.path_prefix,
        })
    }
}

/// Identity of an idempotent request: (api key, Idempotency-Key, method, path).
pub type IdemKey = (String, String, String, String);

/// A stored idempotent outcome.
#[derive(Debug, Clone)]
pub enum IdemEntry {
    /// First request still being processed.
    InFlight {
        /// Request body of the first request.
        body: Vec<u8>,
    },
    /// Completed; replay this.
    Done {
        /// Request body of the first request.
        body: Vec<u8>,
        /// Response status.
        status: StatusCode,
        /// Response body.
        response: Vec<u8>,
        /// When stored (for the 24h expiry).
        at: DateTime<Utc>,
    },
}

/// Maximum number of request-log entries kept.
pub const MAX_LOG: usize = 10_000;

/// Control-plane state.
#[derive(Debug, Default)]
pub struct Control {
    /// Rate-limit windows per API key.
    pub windows: HashMap<String, Window>,
    /// Active faults.
    pub faults: Vec<Fault>,
    /// Request log (newest last).
    pub requests: VecDeque<Value>,
    /// Idempotency records.
    pub idem: HashMap<IdemKey, IdemEntry>,
    /// Webhook deliveries attempted.
    pub webhooks: Vec<Value>,
}

impl Control {
    /// Count a request against `key`'s window.
    pub fn hit(&mut self, key: &str, limit: u32, now: i64, window: i64) -> RateInfo {
        let w = self.windows.entry(key.to_string()).or_insert(Window {
            reset: now + window,
            count: 0,
        });
        if now >= w.reset {
            *w = Window {
                reset: now + window,
                count: 0,
            };
        }
        w.count = w.count.saturating_add(1);
        RateInfo {
            limit,
            remaining: limit.saturating_sub(w.count),
            reset: w.reset,
            limited: w.count > limit,
        }
    }

    /// Current window of `key` without counting.
    pub fn peek(&self, key: &str, limit: u32, now: i64) -> RateInfo {
        match self.windows.get(key) {
            Some(w) if now < w.reset => RateInfo {
                limit,
                remaining: limit.saturating_sub(w.count),
                reset: w.reset,
                limited: false,
            },
            _ => RateInfo {
                limit,
                remaining: limit,
                reset: now + 60,
                limited: false,
            },
        }
    }

    /// Consume one matching fault for `path`, if any.
    pub fn take_fault(&mut self, path: &str) -> Option<Fault> {
        let idx = self.faults.iter().position(|f| {
            f.remaining > 0 && f.path_prefix.as_deref().is_none_or(|p| path.starts_with(p))
        })?;
        let fault = &mut self.faults[idx];
        fault.remaining -= 1;
        let out = fault.clone();
        if fault.remaining == 0 {
            self.faults.remove(idx);
        }
        Some(out)
    }

    /// Append to the request log (bounded).
    pub fn log(&mut self, entry: Value) {
        if self.requests.len() >= MAX_LOG {
            self.requests.pop_front();
        }
        self.requests.push_back(entry);
    }
}

/// Everything the handlers share.
#[derive(Debug)]
pub struct AppState {
    /// Configuration.
    pub config: EmulatorConfig,
    /// API data.
    pub store: Mutex<Store>,
    /// Control plane.
    pub control: Mutex<Control>,
    /// Client for webhook deliveries (None if it could not be built).
    pub http: Option<reqwest::Client>,
}

impl AppState {
    /// Fresh state (seeded when `config.seed`).
    pub fn new(config: EmulatorConfig) -> Self {
        let mut store = Store::default();
        super::seed::seed(&mut store, config.seed);
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .build()
            .ok();
        Self {
            config,
            store: Mutex::new(store),
            control: Mutex::new(Control::default()),
            http,
        }
    }

    /// Lock the store (recovering from poisoning).
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Lock the control plane (recovering from poisoning).
    pub fn control(&self) -> MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Scale a lifelike duration (seconds) by `time_scale`.
    pub fn scaled(&self, base_secs: f64) -> std::time::Duration {
        let scale = self.config.time_scale;
        let scale = if scale.is_finite() && scale > 0.0 {
            scale
        } else {
            0.0
        };
        std::time::Duration::try_from_secs_f64(base_secs * scale)
            .unwrap_or(std::time::Duration::ZERO)
    }
}
