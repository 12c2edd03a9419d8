//! In-memory records of the emulator (everything the store holds: teams, Assignments, Jobs,
//! Queues, Cases, Skills, sandboxes, connections …) and their spec-exact JSON renderings.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use tokio::task::AbortHandle;
use uuid::Uuid;

/// ISO-8601 UTC timestamp with milliseconds, e.g. `2025-05-01T09:30:00.000Z`.
pub fn ts(dt: &DateTime<Utc>) -> String {
    dt.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Optional timestamp as JSON (`null` when absent).
pub fn ts_opt(dt: &Option<DateTime<Utc>>) -> Value {
    dt.as_ref().map_or(Value::Null, |d| Value::String(ts(d)))
}

/// Optional uuid as JSON (`null` when absent).
pub fn id_opt(id: &Option<Uuid>) -> Value {
    id.as_ref()
        .map_or(Value::Null, |u| Value::String(u.to_string()))
}

/// A team.
#[derive(Debug, Clone)]
pub struct Team {
    /// Team id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Parent organization.
    pub organization_id: Option<Uuid>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl Team {
    /// `getTeam` rendering.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "created_at": ts(&self.created_at),
            "organization_id": id_opt(&self.organization_id),
            "slack_team_id": Value::Null,
            "discovery_mode": "request",
        })
    }
}

/// A user (the owner of an API key).
#[derive(Debug, Clone)]
pub struct User {
    /// User id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// E-mail address.
    pub email: String,
}

impl User {
    /// `{id, name, email}` as used by `created_by`/`updated_by`.
    pub fn summary(&self) -> Value {
        json!({ "id": self.id, "name": self.name, "email": self.email })
    }
}

/// An Assignment (agent).
#[derive(Debug, Clone)]
pub struct Agent {
    /// Agent id.
    pub id: Uuid,
    /// Owning team.
    pub team_id: Uuid,
    /// Display name.
    pub name: String,
    /// Slack delivery.
    pub slack_enabled: Option<bool>,
    /// Microsoft Teams delivery.
    pub microsoft_teams_enabled: Option<bool>,
    /// Agentic memory.
    pub agentic_memory_enabled: Option<bool>,
    /// Associated thread.
    pub thread_id: Option<Uuid>,
    /// Folder (none in the emulator unless seeded).
    pub folder_id: Option<Uuid>,
    /// Automation.
    pub automation_id: Option<Uuid>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update.
    pub updated_at: DateTime<Utc>,
    /// Creator.
    pub created_by: Uuid,
    /// Last updater.
    pub updated_by: Uuid,
    /// Per-user pins.
    pub pins: HashMap<Uuid, DateTime<Utc>>,
    /// `integration_configs` items (already rendered).
    pub integration_configs: Vec<Value>,
    /// `user_triggers` flags: slack_mention, slack_channel, teams_mention.
    pub user_triggers: [bool; 3],
    /// Case trigger enabled.
    pub case_trigger_enabled: bool,
    /// Queue consumed by the case trigger.
    pub case_queue_id: Option<Uuid>,
}

impl Agent {
    /// The plain agent object (getAgent/createAgent/updateAgent).
    pub fn to_json(&self, users: &[User]) -> Value {
        let who = |id: Uuid| {
            users
                .iter()
                .find(|u| u.id == id)
                .map_or(Value::Null, User::summary)
        };
        json!({
            "id": self.id,
            "name": self.name,
            "slack_enabled": self.slack_enabled,
            "microsoft_teams_enabled": self.microsoft_teams_enabled,
            "agentic_memory_enabled": self.agentic_memory_enabled,
            "team_id": self.team_id,
            "thread_id": id_opt(&self.thread_id),
            "folder_id": id_opt(&self.folder_id),
            "automation_id": id_opt(&self.automation_id),
            "created_at": ts(&self.created_at),
            "updated_at": ts(&self.updated_at),
            "created_by": who(self.created_by),
            "updated_by": who(self.updated_by),
        })
    }

    /// `user_context` for the given user.
    pub fn user_context(&self, user: Uuid) -> Value {
        json!({ "pinned_at": ts_opt(&self.pins.get(&user).copied()) })
    }
}

/// A Build (revision) of an agent.
#[derive(Debug, Clone)]
pub struct Build {
    /// Build id.
    pub id: Uuid,
    /// Agent id.
    pub agent_id: Uuid,
    /// Build name.
    pub name: String,
    /// Config in response form (BuildConfigV2).
    pub config: Value,
    /// 1-based revision number.
    pub revision_number: u64,
    /// Previous latest build.
    pub parent_build_id: Option<Uuid>,
    /// Creator user id.
    pub created_by: Uuid,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Editable revision metadata (updateRevision / promoteRevision).
    pub meta: BuildMeta,
}

impl Build {
    /// Build object; `status` is `live` for the latest revision, `archived` otherwise.
    pub fn to_json(&self, latest: bool, users: &[User], schedules: Option<Vec<Value>>) -> Value {
        let creator = users.iter().find(|u| u.id == self.created_by);
        let mut v = json!({
            "id": self.id,
            "copilot_id": self.agent_id,
            "agent_id": self.agent_id,
            "name": self.name,
            "revision_name": self.meta.revision_name,
            "revision_description": self.meta.revision_description,
            "config": self.config,
            "status": if latest { "live" } else { "archived" },
            "revision_number": self.revision_number,
            "parent_build_id": id_opt(&self.parent_build_id),
            "created_by": self.created_by.to_string(),
            "created_by_name": creator.map_or(Value::Null, |u| Value::String(u.name.clone())),
            "created_at": ts(&self.created_at),
            "updated_at": ts(&self.meta.updated_at.unwrap_or(self.created_at)),
        });
        if let (Some(list), Value::Object(m)) = (schedules, &mut v) {
            m.insert("schedules".into(), Value::Array(list));
        }
        v
    }
}

/// Lifecycle status of a Job (run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// Created, not yet picked up.
    Pending,
    /// Environment starting.
    Starting,
    /// Agent working.
    Running,
    /// Paused on a human request.
    Waiting,
    /// Finished successfully.
    Completed,
    /// Finished with an error.
    Failed,
    /// Stopped by a user.
    Stopped,
    /// Interrupted by the system (e.g. agent deleted).
    Interrupted,
}

impl RunStatus {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Waiting => "waiting",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Stopped => "stopped",
            Self::Interrupted => "interrupted",
        }
    }

    /// Non-terminal (pending, starting, running, waiting).
    pub fn is_active(self) -> bool {
        matches!(
            self,
            Self::Pending | Self::Starting | Self::Running | Self::Waiting
        )
    }
}

/// One message of a run transcript.
#[derive(Debug, Clone)]
pub struct Message {
    /// Message id.
    pub id: Uuid,
    /// `type` field (`message`, `tool_call`, `tool_result`).
    pub kind: &'static str,
    /// `user`, `assistant` or `tool`.
    pub role: &'static str,
    /// When it was sent.
    pub timestamp: DateTime<Utc>,
    /// Plain text.
    pub text: Option<String>,
    /// `tool_call` object.
    pub tool_call: Option<Value>,
    /// `tool_result` object.
    pub tool_result: Option<Value>,
}

impl Message {
    /// listRunMessages item (optional fields omitted when absent).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("type".into(), json!(self.kind));
        m.insert("role".into(), json!(self.role));
        m.insert("timestamp".into(), json!(ts(&self.timestamp)));
        if let Some(t) = &self.text {
            m.insert("text_content".into(), json!(t));
        }
        if let Some(t) = &self.tool_call {
            m.insert("tool_call".into(), t.clone());
        }
        if let Some(t) = &self.tool_result {
            m.insert("tool_result".into(), t.clone());
        }
        Value::Object(m)
    }
}

/// Kind of human-in-the-loop request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HumanRequestKind {
    /// Yes/no decision (`approved`).
    Approval,
    /// Structured questions (`answers`).
    Question,
}

/// A human-in-the-loop request raised by a run.
#[derive(Debug, Clone)]
pub struct HumanRequest {
    /// Request id.
    pub id: Uuid,
    /// Approval or question.
    pub kind: HumanRequestKind,
    /// Short title.
    pub title: String,
    /// Longer description.
    pub description: Option<String>,
    /// Question objects (question type only).
    pub questions: Vec<Value>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Response text once answered.
    pub response: Option<String>,
    /// When answered.
    pub responded_at: Option<DateTime<Utc>>,
}

impl HumanRequest {
    /// `pending_human_request` rendering.
    pub fn pending_json(&self) -> Value {
        let mut v = json!({
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "created_at": ts(&self.created_at),
            "type": match self.kind { HumanRequestKind::Approval => "approval", HumanRequestKind::Question => "question" },
        });
        if self.kind == HumanRequestKind::Question
            && let Value::Object(m) = &mut v
        {
            m.insert("questions".into(), Value::Array(self.questions.clone()));
        }
        v
    }

    /// respondToHumanRequest `human_request` rendering.
    pub fn responded_json(&self, run_id: Uuid) -> Value {
        json!({
            "id": self.id,
            "run_id": run_id,
            "title": self.title,
            "description": self.description,
            "response": self.response,
            "responded_at": ts_opt(&self.responded_at),
            "created_at": ts(&self.created_at),
        })
    }
}

/// A Job (run).
#[derive(Debug)]
pub struct Run {
    /// Run id.
    pub id: Uuid,
    /// Team of the agent.
    pub team_id: Uuid,
    /// Agent run.
    pub agent_id: Uuid,
    /// Agent name at start (used if the agent is deleted).
    pub agent_name: String,
    /// Build run.
    pub build_id: Uuid,
    /// Status.
    pub status: RunStatus,
    /// `api`, `schedule`, `case_queue`…
    pub source: Option<String>,
    /// Sandbox id given at start.
    pub sandbox_id: Option<String>,
    /// Per-run webhook.
    pub webhook_url: Option<String>,
    /// Entered `running` first.
    pub started_at: Option<DateTime<Utc>>,
    /// Reached a terminal state.
    pub completed_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Whether the agent may ask for human input.
    pub hitl: bool,
    /// List title.
    pub title: String,
    /// Per-agent sequence number.
    pub run_number: u64,
    /// Owner.
    pub user_id: Option<Uuid>,
    /// Case being processed, if any.
    pub case_id: Option<Uuid>,
    /// Number of user prompts submitted.
    pub submitted_prompt_count: u64,
    /// Transcript.
    pub messages: Vec<Message>,
    /// Human requests raised so far.
    pub human_requests: Vec<HumanRequest>,
    /// The unanswered request while `waiting`.
    pub pending_request: Option<Uuid>,
    /// Bumped on stop/resume so stale lifecycle tasks do nothing.
    pub generation: u64,
    /// The lifecycle task currently driving the run.
    pub task: Option<AbortHandle>,
}

impl Run {
    /// startRun/getRun `run` object.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "agent_id": self.agent_id,
            "build_id": self.build_id,
            "status": self.status.as_str(),
            "source": self.source,
            "sandbox_id": self.sandbox_id,
            "started_at": ts_opt(&self.started_at),
            "completed_at": ts_opt(&self.completed_at),
            "created_at": ts(&self.created_at),
            "updated_at": ts(&self.updated_at),
            "human_in_the_loop_enabled": self.hitl,
        })
    }

    /// The pending human request, when waiting.
    pub fn pending(&self) -> Option<&HumanRequest> {
        if self.status != RunStatus::Waiting {
            return None;
        }
        let id = self.pending_request?;
        self.human_requests.iter().find(|h| h.id == id)
    }
}

/// A case queue.
#[derive(Debug, Clone)]
pub struct Queue {
    /// Queue id.
    pub id: Uuid,
    /// Owning team.
    pub team_id: Uuid,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Whether approvals are configured.
    pub has_approvals: bool,
    /// Folder the queue is nested under.
    pub folder_id: Option<Uuid>,
    /// Automation the queue belongs to.
    pub automation_id: Option<Uuid>,
}

impl Queue {
    /// Queue object.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "folder_id": id_opt(&self.folder_id),
            "automation_id": id_opt(&self.automation_id),
            "team_id": self.team_id,
            "created_at": ts(&self.created_at),
            "has_approvals": self.has_approvals,
        })
    }
}

/// A case in a queue.
#[derive(Debug, Clone)]
pub struct Case {
    /// Case id.
    pub id: Uuid,
    /// Queue id.
    pub queue_id: Uuid,
    /// Title.
    pub title: String,
    /// Free-form data (string).
    pub data: String,
    /// Stored status: pending, completed, failed.
    pub status: &'static str,
    /// none, medium, high.
    pub priority: &'static str,
    /// Claimed by a run.
    pub claimed_at: Option<DateTime<Utc>>,
    /// Run holding the case.
    pub claimed_by_run_id: Option<Uuid>,
    /// Finished.
    pub completed_at: Option<DateTime<Utc>>,
    /// Deferred until.
    pub postponed_to: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Updated.
    pub updated_at: DateTime<Utc>,
    /// Creator.
    pub created_by_user_id: Option<Uuid>,
    /// Status of the processing run.
    pub agent_run_status: Option<&'static str>,
    /// Owner of the processing run.
    pub agent_run_user_id: Option<Uuid>,
    /// Human request blocking the run.
    pub pending_human_request_id: Option<Uuid>,
    /// Ids of the queue labels assigned to the case, in assignment order.
    pub labels: Vec<Uuid>,
}

impl Case {
    /// Derived `display_status`.
    pub fn display_status(&self, now: DateTime<Utc>) -> &'static str {
        match self.status {
            "completed" => "completed",
            "failed" => "failed",
            _ if self.postponed_to.is_some_and(|p| p > now) => "postponed",
            _ if self.claimed_at.is_some() && self.pending_human_request_id.is_some() => {
                "needs_input"
            }
            _ if self.claimed_at.is_some() => "in_progress",
            _ => "pending",
        }
    }

    /// Case object; `labels` is the label table the case's label ids point into.
    pub fn to_json(&self, users: &[User], labels: &[CaseLabel], now: DateTime<Utc>) -> Value {
        let creator = self
            .created_by_user_id
            .and_then(|id| users.iter().find(|u| u.id == id));
        let rendered: Vec<Value> = self
            .labels
            .iter()
            .filter_map(|id| labels.iter().find(|l| l.id == *id))
            .map(CaseLabel::to_json)
            .collect();
        json!({
            "id": self.id,
            "queue_id": self.queue_id,
            "title": self.title,
            "data": self.data,
            "status": self.status,
            "priority": self.priority,
            "display_status": self.display_status(now),
            "claimed_at": ts_opt(&self.claimed_at),
            "claimed_by_run_id": id_opt(&self.claimed_by_run_id),
            "completed_at": ts_opt(&self.completed_at),
            "postponed_to": ts_opt(&self.postponed_to),
            "created_at": ts(&self.created_at),
            "updated_at": ts(&self.updated_at),
            "created_by_user_id": id_opt(&self.created_by_user_id),
            "created_by_user_name": creator.map(|u| u.name.clone()),
            "created_by_user_email": creator.map(|u| u.email.clone()),
            "agent_run_status": self.agent_run_status,
            "agent_run_user_id": id_opt(&self.agent_run_user_id),
            "pending_human_request_id": id_opt(&self.pending_human_request_id),
            "pending_approval_batch_id": Value::Null,
            "pending_approval_assignee_user_ids": [],
            "approval_approved_count": 0,
            "approval_rejected_count": 0,
            "eval_summary": Value::Null,
            "labels": rendered,
        })
    }
}

/// A skill (team-owned or system).
#[derive(Debug, Clone)]
pub struct Skill {
    /// Skill id.
    pub id: Uuid,
    /// Owning team; `None` for system skills.
    pub team_id: Option<Uuid>,
    /// Skill name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Last update.
    pub updated_at: DateTime<Utc>,
    /// Last updater.
    pub updated_by_user_id: Option<Uuid>,
}

impl Skill {
    /// listSkills item.
    pub fn to_json(&self, users: &[User]) -> Value {
        let by = self
            .updated_by_user_id
            .and_then(|id| users.iter().find(|u| u.id == id));
        json!({
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "team_id": id_opt(&self.team_id),
            "updated_at": ts(&self.updated_at),
            "updated_by_user_id": id_opt(&self.updated_by_user_id),
            "updated_by_user_name": by.map(|u| u.name.clone()),
            "source": Value::Null,
            "computer_use_backend": Value::Null,
        })
    }
}

/// A schedule on an agent.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// Schedule id.
    pub id: Uuid,
    /// Agent.
    pub agent_id: Uuid,
    /// Build it fires against.
    pub build_id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// Enabled.
    pub enabled: bool,
    /// Frequency enum value.
    pub frequency: &'static str,
    /// `HH:MM`.
    pub time: Option<String>,
    /// IANA time zone.
    pub timezone: String,
    /// Weekday (weekly).
    pub day: Option<String>,
    /// Day of month (monthly).
    pub day_of_month: Option<u32>,
    /// Cron (custom).
    pub cron: Option<String>,
    /// Task text.
    pub task: Option<String>,
    /// Recurring (`null` when unset).
    pub recurring: Option<bool>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last update.
    pub updated_at: DateTime<Utc>,
}

impl Schedule {
    /// Schedule object.
    pub fn to_json(&self, users: &[User]) -> Value {
        let owner = users.iter().find(|u| u.id == self.user_id);
        json!({
            "id": self.id,
            "build_id": self.build_id,
            "agent_id": self.agent_id,
            "user_id": self.user_id,
            "enabled": self.enabled,
            "frequency": self.frequency,
            "time": self.time,
            "timezone": self.timezone,
            "day": self.day,
            "day_of_month": self.day_of_month,
            "cron": self.cron,
            "source": "api",
            "task": self.task,
            "recurring": self.recurring,
            "auto_disabled_at": Value::Null,
            "auto_disabled_reason": Value::Null,
            "consecutive_missing_connection_failures": 0,
            "first_missing_connection_failure_at": Value::Null,
            "last_missing_connection_failure_at": Value::Null,
            "created_at": ts(&self.created_at),
            "updated_at": ts(&self.updated_at),
            "user_name": owner.map(|u| u.name.clone()),
            "user_email": owner.map(|u| u.email.clone()),
        })
    }
}

/// Editable metadata of a Build (revision).
#[derive(Debug, Clone, Default)]
pub struct BuildMeta {
    /// User-defined revision name.
    pub revision_name: Option<String>,
    /// User-defined revision description.
    pub revision_description: Option<String>,
    /// Agents this revision may hand work over to.
    pub handover_target_ids: Vec<Uuid>,
    /// Last metadata/config change (`None`: never changed since creation).
    pub updated_at: Option<DateTime<Utc>>,
}

/// A label defined on a queue (`key` is `""` for a plain tag).
#[derive(Debug, Clone)]
pub struct CaseLabel {
    /// Label id.
    pub id: Uuid,
    /// Queue the label belongs to.
    pub queue_id: Uuid,
    /// Key (`""` for a tag).
    pub key: String,
    /// Value (non-empty).
    pub value: String,
    /// Display hue, 0–360.
    pub color_hue: u16,
}

impl CaseLabel {
    /// `{id, key, value, color_hue}` as listed on a case.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "key": self.key,
            "value": self.value,
            "color_hue": self.color_hue,
        })
    }
}

/// A recorded entry of a case's history (getCase `events`).
#[derive(Debug, Clone)]
pub struct CaseEvent {
    /// Event id.
    pub id: Uuid,
    /// Case the event belongs to.
    pub case_id: Uuid,
    /// Event type, e.g. `status_changed`.
    pub kind: &'static str,
    /// Human-readable detail.
    pub reason: Option<String>,
    /// When it happened.
    pub created_at: DateTime<Utc>,
    /// Run involved, if any.
    pub agent_run_id: Option<Uuid>,
    /// Agent involved, if any.
    pub agent_id: Option<Uuid>,
    /// Acting user, if any.
    pub user_id: Option<Uuid>,
    /// Human request involved, if any.
    pub human_request_id: Option<Uuid>,
}

/// A folder of Assignments (agents).
#[derive(Debug, Clone)]
pub struct AgentFolder {
    /// Folder id.
    pub id: Uuid,
    /// Owning team.
    pub team_id: Uuid,
    /// Display name.
    pub name: String,
    /// Parent folder (`None` = root).
    pub parent_folder_id: Option<Uuid>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last rename or move.
    pub updated_at: DateTime<Utc>,
}

impl AgentFolder {
    /// Folder object (create/update `folder`).
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "team_id": self.team_id,
            "parent_folder_id": id_opt(&self.parent_folder_id),
            "created_at": ts(&self.created_at),
            "updated_at": ts(&self.updated_at),
        })
    }
}

/// One file of a skill.
#[derive(Debug, Clone)]
pub struct SkillFile {
    /// Raw bytes.
    pub data: Vec<u8>,
    /// Last write.
    pub updated_at: DateTime<Utc>,
}

/// A skill with its files, as stored.
#[derive(Debug, Clone)]
pub struct StoredSkill {
    /// Metadata (id, team, name, description, last update).
    pub meta: Skill,
    /// Files by relative path; always holds `SKILL.md`.
    pub files: BTreeMap<String, SkillFile>,
}

/// An issued presigned upload URL.
#[derive(Debug, Clone)]
pub struct UploadGrant {
    /// Unguessable token in the URL.
    pub token: String,
    /// Destination path in the sandbox.
    pub path: String,
    /// When the URL stops working.
    pub expires_at: DateTime<Utc>,
}

/// A sandbox and its files.
#[derive(Debug, Clone)]
pub struct Sandbox {
    /// Opaque id (`sbx_…`).
    pub id: String,
    /// Owning team.
    pub team_id: Uuid,
    /// When it disappears.
    pub expires_at: DateTime<Utc>,
    /// Files by absolute path.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Presigned upload URLs not yet used.
    pub grants: Vec<UploadGrant>,
}

/// A connection (integration instance).
#[derive(Debug, Clone)]
pub struct Connection {
    /// Connection id.
    pub id: Uuid,
    /// Owning team.
    pub team_id: Uuid,
    /// Owning user.
    pub user_id: Option<Uuid>,
    /// Display name.
    pub name: String,
    /// Integration type (`custom_mcp`, `gmail`, `slack` …).
    pub kind: String,
    /// `user` (custom MCP), `native` (OAuth providers) or `composio`.
    pub provider: String,
    /// MCP server URL, when there is one.
    pub server_url: Option<String>,
    /// `http` or `sse`, when there is a server URL.
    pub transport_type: Option<&'static str>,
    /// `url`, `apikey`, `headers` or `oauth`.
    pub auth_method: Option<String>,
    /// Custom integration this instance belongs to.
    pub custom_integration_id: Option<Uuid>,
    /// Icon.
    pub icon_url: Option<String>,
    /// OAuth provider (`google`, `microsoft`, `slack` …).
    pub oauth_provider: Option<String>,
    /// Provider key (`gmail`, `googlesheets` …).
    pub oauth_provider_key: Option<String>,
    /// Granted OAuth scopes.
    pub oauth_scopes: Option<Vec<String>>,
    /// Non-sensitive headers.
    pub plaintext_headers: BTreeMap<String, String>,
    /// Sensitive headers (never rendered).
    pub secret_headers: BTreeMap<String, String>,
    /// OAuth tokens are stored.
    pub has_oauth_tokens: bool,
    /// Catalog integration id.
    pub integration_id: Option<Uuid>,
    /// Shared with the team.
    pub shared: bool,
    /// Creator.
    pub created_by: Option<Uuid>,
    /// When it broke (e.g. revoked token).
    pub broken_at: Option<DateTime<Utc>>,
    /// Why it broke.
    pub broken_reason: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Updated.
    pub updated_at: DateTime<Utc>,
}

/// What a pending OAuth flow will create.
#[derive(Debug, Clone)]
pub enum FlowKind {
    /// A native provider connection (provider slug).
    Native(&'static str),
    /// A remote MCP server connection.
    Mcp {
        /// Server URL.
        server_url: String,
        /// Display name.
        name: String,
        /// Custom integration.
        custom_integration_id: Option<Uuid>,
        /// Integration type (default `custom_mcp`).
        integration_type: Option<String>,
    },
}

/// An OAuth flow waiting for its callback.
#[derive(Debug, Clone)]
pub struct PendingOAuth {
    /// The `state` parameter.
    pub state: String,
    /// Team of the starter.
    pub team_id: Uuid,
    /// User who started it.
    pub user_id: Uuid,
    /// What it creates.
    pub kind: FlowKind,
    /// Where to send the browser afterwards.
    pub return_url: Option<String>,
    /// Connection to repair instead of creating one.
    pub reconnect: Option<Uuid>,
    /// When the state stops working.
    pub expires_at: DateTime<Utc>,
}

/// A Composio connected account created by `start`.
#[derive(Debug, Clone)]
pub struct ComposioAccount {
    /// `ca_…` id.
    pub id: String,
    /// Team of the starter.
    pub team_id: Uuid,
    /// User who started it.
    pub user_id: Uuid,
    /// Auth scheme (`OAUTH2`, `API_KEY` …).
    pub auth_scheme: String,
    /// `INITIATED`, `ACTIVE` or `FAILED`.
    pub status: &'static str,
    /// Connection created by `finalize`.
    pub finalized: Option<Uuid>,
}

/// Pending OAuth flows and Composio accounts.
#[derive(Debug, Default)]
pub struct Flows {
    /// OAuth flows awaiting the callback.
    pub pending: Vec<PendingOAuth>,
    /// Composio connected accounts.
    pub composio: Vec<ComposioAccount>,
}
