//! The MCP server: a hand-written `ServerHandler` over the catalog.
//!
//! Per call: handler → catalog entry → argument mapping → shared client → result shaping.

pub mod results;
pub mod team;

use crate::catalog::{ToolEntry, filter::Enabled, mapping};
use crate::client::{ApiKey, DuvoClient};
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, CallToolResult, ErrorData, Implementation,
    JsonObject, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, ServerHandler};
use std::sync::Arc;
use team::TeamResolver;

/// Short guide for the model, sent as the server's `instructions`.
pub const INSTRUCTIONS: &str = "Duvo runs AI Assignments (API: agents) as Jobs (API: runs). \
Typical flow: listAgents → startRun(agent_id, message) → getRun until status is completed, failed, \
stopped or interrupted (poll every 5–10 s), or waiting: then answer getRun's pending_human_request \
with respondToHumanRequest. Read a Job's output with listRunMessages. team_id is optional everywhere: \
it defaults to the key's team. Tool errors say what to fix; ids come from the list tools.";

/// Everything the handler needs; shared by every session of the process.
#[derive(Debug)]
pub struct ServerState {
    /// The tools this server exposes.
    pub enabled: Enabled,
    /// The one Duvo client.
    pub client: DuvoClient,
    /// The team behind `{teamId}`.
    pub teams: TeamResolver,
}

impl ServerState {
    /// Builds the state from the enabled tools, a client and an optional configured team.
    pub fn new(enabled: Enabled, client: DuvoClient, team_id: Option<String>) -> Self {
        Self {
            enabled,
            client,
            teams: TeamResolver::new(team_id),
        }
    }
}

/// The MCP handler. Cheap to clone (one `Arc`).
#[derive(Clone, Debug)]
pub struct DuvoServer {
    state: Arc<ServerState>,
}

impl DuvoServer {
    /// A handler over shared state.
    pub fn new(state: Arc<ServerState>) -> Self {
        Self { state }
    }

    /// The tools this handler lists, sorted by name.
    pub fn tools(&self) -> Vec<Tool> {
        self.state
            .enabled
            .entries()
            .iter()
            .map(|e| e.tool.clone())
            .collect()
    }

    /// Runs one catalog tool: validate, map, send, shape. Never fails at the protocol level.
    pub async fn run_entry(
        &self,
        entry: &ToolEntry,
        args: JsonObject,
        key: Option<&ApiKey>,
    ) -> CallToolResult {
        if let Err(e) = mapping::validate(entry, &args) {
            return results::invalid_arguments(entry, &e);
        }
        let needs_team = entry.path.contains("{teamId}") && !args.contains_key("team_id");
        let team = if needs_team {
            match self.state.teams.team_for(&self.state.client, key).await {
                Ok(t) => Some(t),
                Err(msg) => {
                    return results::invalid_arguments(entry, &mapping::ArgumentError::NoTeam(msg));
                }
            }
        } else {
            None
        };
        let req = match mapping::to_request(entry, &args, team.as_deref()) {
            Ok(r) => r,
            Err(e) => return results::invalid_arguments(entry, &e),
        };
        let outcome = match key {
            Some(k) => self.state.client.send_as(k, &req).await,
            None => self.state.client.send(&req).await,
        };
        match outcome {
            Ok(resp) => results::success(resp),
            Err(err) => {
                tracing::debug!(tool = entry.name(), error = %err, "tool call failed");
                results::api_failure(entry, &args, &err)
            }
        }
    }
}

impl ServerHandler for DuvoServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new("duvo-mcp", env!("CARGO_PKG_VERSION"))
                    .with_title("Duvo")
                    .with_description(
                        "Operate Duvo: Assignments, Jobs, Revisions, Queues, Skills and more.",
                    ),
            )
            .with_instructions(INSTRUCTIONS)
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.state.enabled.get(name).map(|e| e.tool.clone())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools())
            .with_ttl_ms(300_000)
            .with_cache_scope(CacheScope::Private))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let Some(entry) = self.state.enabled.get(&request.name).cloned() else {
            return Err(ErrorData::invalid_params(
                format!(
                    "unknown tool {:?}: call tools/list for the available tools",
                    request.name
                ),
                None,
            ));
        };
        let args = request.arguments.unwrap_or_default();
        tokio::select! {
            () = context.ct.cancelled() => Err(ErrorData::internal_error("cancelled by the client", None)),
            result = self.run_entry(&entry, args, None) => Ok(result.into()),
        }
    }
}
