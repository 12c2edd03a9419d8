//! Composite workflows: catalog-level tools that run several Duvo calls (wait for a Job,
//! answer its human requests through the user, upload files, push Cases in chunks …).
//!
//! Each workflow is a row in [`definitions`] and an arm in [`run`]; its schema is derived
//! with schemars and inlined. Workflows call Duvo through [`Call::op`], which runs the REST
//! catalog entry of that name with the same validation, mapping and errors as a direct call.

pub mod cases;
pub mod files;
pub mod human;
pub mod local;
pub mod runs;
pub mod shape;
pub mod skill_folder;
pub mod skills;
pub mod started;

use crate::client::ApiKey;
use crate::server::DuvoServer;
use rmcp::RoleServer;
use rmcp::model::{CallToolResponse, CallToolResult, ErrorData, InputResponses, JsonObject, Tool};
use rmcp::service::RequestContext;
use serde_json::Value;

/// Which workflow a catalog entry runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkflowId {
    /// Start a Job and wait for it.
    RunAssignment,
    /// Wait for an existing Job.
    WaitForRun,
    /// Upload files (local, base64, text) into a Sandbox.
    UploadSandboxFiles,
    /// Validate, zip and upload a local Skill folder.
    SyncSkillDirectory,
    /// Download a Skill: contents, or files written below a local directory.
    DownloadSkill,
    /// Add any number of Cases in idempotent chunks.
    CreateCases,
}

/// A workflow's catalog row: its toolset and MCP definition.
#[derive(Debug)]
pub struct WorkflowDef {
    /// Which workflow.
    pub id: WorkflowId,
    /// The toolset it is listed in.
    pub toolset: &'static str,
    /// Its MCP definition.
    pub tool: Tool,
}

/// Every workflow, as catalog rows.
pub fn definitions() -> Vec<WorkflowDef> {
    vec![
        WorkflowDef {
            id: WorkflowId::RunAssignment,
            toolset: "jobs",
            tool: runs::run_assignment_tool(),
        },
        WorkflowDef {
            id: WorkflowId::WaitForRun,
            toolset: "jobs",
            tool: runs::wait_for_run_tool(),
        },
        WorkflowDef {
            id: WorkflowId::UploadSandboxFiles,
            toolset: "sandboxes",
            tool: files::upload_sandbox_files_tool(),
        },
        WorkflowDef {
            id: WorkflowId::SyncSkillDirectory,
            toolset: "skills",
            tool: skills::sync_skill_directory_tool(),
        },
        WorkflowDef {
            id: WorkflowId::DownloadSkill,
            toolset: "skills",
            tool: skills::download_skill_tool(),
        },
        WorkflowDef {
            id: WorkflowId::CreateCases,
            toolset: "queues",
            tool: cases::create_cases_tool(),
        },
    ]
}

/// One workflow invocation: the server, the caller's key and the MCP request context.
pub struct Call<'a> {
    /// The server (catalog, client).
    pub server: &'a DuvoServer,
    /// The caller's Duvo key (passthrough), or `None` for the server's.
    pub key: Option<&'a ApiKey>,
    /// The MCP request context (progress, cancellation, elicitation).
    pub cx: &'a RequestContext<RoleServer>,
    /// `requestState` echoed by a 2026-07-28 client retrying after an input request.
    pub request_state: Option<&'a str>,
    /// The answers to our input requests, on such a retry.
    pub input_responses: Option<&'a InputResponses>,
}

impl Call<'_> {
    /// Runs the REST operation `name` with `args`; the JSON answer, or the tool error to return.
    pub async fn op(&self, name: &str, args: Value) -> Result<Value, CallToolResult> {
        self.server.call_rest(name, args, self.key).await
    }

    /// Runs the REST operation `name` with an optional `Idempotency-Key` (kept across retries);
    /// Duvo's full answer (status, JSON or bytes), or the failure with its HTTP status.
    pub async fn op_raw(
        &self,
        name: &str,
        args: Value,
        idempotency_key: Option<String>,
    ) -> Result<crate::client::ApiResponse, crate::server::RestFailure> {
        self.server
            .call_rest_keyed(name, args, self.key, idempotency_key)
            .await
    }
}

/// Runs workflow `id` with validated `args`.
pub async fn run(
    id: WorkflowId,
    call: &Call<'_>,
    args: JsonObject,
) -> Result<CallToolResponse, ErrorData> {
    match id {
        WorkflowId::RunAssignment => runs::run_assignment(call, args).await,
        WorkflowId::WaitForRun => runs::wait_for_run(call, args).await,
        WorkflowId::UploadSandboxFiles => files::upload_sandbox_files(call, args).await,
        WorkflowId::SyncSkillDirectory => skills::sync_skill_directory(call, args).await,
        WorkflowId::DownloadSkill => skills::download_skill(call, args).await,
        WorkflowId::CreateCases => cases::create_cases(call, args).await,
    }
}

/// Arguments a workflow could not parse: the tool error to return (boxed: results are large).
#[derive(Debug)]
pub struct ArgsError(Box<CallToolResult>);

impl From<ArgsError> for CallToolResponse {
    fn from(e: ArgsError) -> Self {
        CallToolResponse::Complete(*e.0)
    }
}

/// Parses validated arguments into the workflow's type, or a tool error naming the problem.
pub fn parse_args<T: serde::de::DeserializeOwned>(
    tool: &str,
    args: JsonObject,
) -> Result<T, ArgsError> {
    serde_json::from_value(Value::Object(args)).map_err(|e| {
        ArgsError(Box::new(CallToolResult::error(vec![
            rmcp::model::ContentBlock::text(format!(
                "Invalid arguments for {tool}: {e}; nothing was sent."
            )),
        ])))
    })
}
