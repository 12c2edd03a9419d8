//! The MCP server: a hand-written `ServerHandler` over the catalog.
//!
//! Per call: handler → catalog entry → argument mapping → shared client → result shaping.

pub mod meta;
pub mod prompts;
pub mod resources;
pub mod results;
pub mod schema;
pub mod scope;
pub mod search;
pub mod team;
pub mod untrusted;

use crate::catalog::{Catalog, Selection, SelectionError, ToolEntry, filter::Enabled, mapping};
use crate::client::{ApiKey, DuvoClient};
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ErrorData,
    Implementation, JsonObject, ListToolsResult, PaginatedRequestParams, ServerCapabilities,
    ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, ServerHandler};
use scope::RequestScope;
use search::SearchIndex;
use serde_json::json;
use std::sync::Arc;
use team::TeamResolver;

/// Short guide for the model, sent as the server's `instructions`.
pub const INSTRUCTIONS: &str = "Duvo runs AI Assignments (API: agents) as Jobs (API: runs). \
Typical flow: listAgents → startRun(agent_id, message) → getRun until status is completed, failed, \
stopped or interrupted (poll every 5–10 s), or waiting: then answer getRun's pending_human_request \
with respondToHumanRequest. Read a Job's output with listRunMessages. Queues, Cases, Skills, \
Schedules, Connections, Sandboxes and the rest of the API: find the tool with searchTools, run it \
with callTool. team_id is optional everywhere (defaults to the key's team). Tool errors say what \
to fix; ids come from the list tools.";

/// How the server was started, beyond the catalog.
#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    /// Team for `{teamId}` when the caller gives none (else resolved per key).
    pub team_id: Option<String>,
    /// Each HTTP request brings its own Duvo key in `Authorization` (multi-tenant).
    pub passthrough_auth: bool,
}

/// A failed REST call made by a workflow: the tool error to show, and what Duvo answered.
#[derive(Debug)]
pub struct RestFailure {
    /// Duvo's HTTP status, when it answered.
    pub status: Option<u16>,
    /// A retry with the same `Idempotency-Key` may succeed (timeout, unreachable, 429, 5xx, or a
    /// 409 saying the same key is still in flight).
    pub transient: bool,
    /// The tool error, explained.
    pub result: CallToolResult,
}

impl RestFailure {
    /// A failure found before anything was sent (arguments, team, key).
    pub fn local(result: CallToolResult) -> Self {
        Self {
            status: None,
            transient: false,
            result,
        }
    }
}

/// Everything the handler needs; shared by every session of the process.
#[derive(Debug)]
pub struct ServerState {
    catalog: Arc<Catalog>,
    /// Tools listed in `tools/list` (the selected toolsets and tools).
    pub listed: Enabled,
    /// Tools `callTool`/`searchTools` and direct calls may reach.
    pub allowed: Enabled,
    selection: Selection,
    search: SearchIndex,
    /// The one Duvo client.
    pub client: DuvoClient,
    /// The team behind `{teamId}`.
    pub teams: TeamResolver,
    options: ServerOptions,
    local_files: crate::workflows::local::LocalFiles,
    /// Jobs recent `runAssignment` calls started (a repeated identical call gets the same Job).
    pub started_jobs: crate::workflows::started::StartedJobs,
}

impl ServerState {
    /// Builds the state: applies the selection (unknown names are errors) and indexes the catalog.
    pub fn new(
        catalog: Arc<Catalog>,
        selection: Selection,
        client: DuvoClient,
        options: ServerOptions,
    ) -> Result<Self, SelectionError> {
        let listed = catalog.select(&selection)?;
        let allowed = catalog.allowed(&selection)?;
        let search = SearchIndex::new(allowed.entries());
        Ok(Self {
            catalog,
            listed,
            allowed,
            selection,
            search,
            client,
            teams: TeamResolver::new(options.team_id.clone()),
            options,
            local_files: crate::workflows::local::LocalFiles::disabled(),
            started_jobs: crate::workflows::started::StartedJobs::default(),
        })
    }

    /// Lets workflows read and write local files below the given directories (stdio only;
    /// without this call local paths are refused).
    pub fn with_local_files(mut self, local_files: crate::workflows::local::LocalFiles) -> Self {
        self.local_files = local_files;
        self
    }

    /// Which local paths workflows may touch.
    pub fn local_files(&self) -> &crate::workflows::local::LocalFiles {
        &self.local_files
    }

    /// The full `tools/list` of the server (catalog tools plus the two meta tools), sorted.
    pub fn listed_tools(&self) -> Vec<Tool> {
        tool_list(&self.listed, self.selection.read_only)
    }
}

fn tool_list(listed: &Enabled, read_only: bool) -> Vec<Tool> {
    let mut tools: Vec<Tool> = listed.entries().iter().map(|e| e.tool.clone()).collect();
    tools.push(meta::search_tool());
    tools.push(meta::call_tool(read_only));
    tools.sort_by(|a, b| a.name.cmp(&b.name));
    tools
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

    /// The shared state.
    pub fn state(&self) -> &Arc<ServerState> {
        &self.state
    }

    /// The request's view: passthrough key and header narrowing (HTTP only).
    fn scope(&self, cx: &RequestContext<RoleServer>) -> Result<RequestScope, ErrorData> {
        let Some(parts) = cx.extensions.get::<http::request::Parts>() else {
            return Ok(RequestScope::default());
        };
        let key = if self.state.options.passthrough_auth {
            scope::bearer_key(parts)
        } else {
            None
        };
        let selection = scope::header_selection(parts);
        let read_only = selection.as_ref().is_some_and(|s| s.read_only);
        let narrowed = match selection {
            None => None,
            Some(sel) => Some(
                scope::narrow(
                    &self.state.catalog,
                    &self.state.listed,
                    &self.state.allowed,
                    &sel,
                )
                .map_err(|e| ErrorData::invalid_params(e.to_string(), None))?,
            ),
        };
        Ok(RequestScope {
            key,
            narrowed,
            read_only,
        })
    }

    fn listed<'a>(&'a self, scope: &'a RequestScope) -> &'a Enabled {
        scope
            .narrowed
            .as_ref()
            .map(|(l, _)| l)
            .unwrap_or(&self.state.listed)
    }

    fn allowed<'a>(&'a self, scope: &'a RequestScope) -> &'a Enabled {
        scope
            .narrowed
            .as_ref()
            .map(|(_, a)| a)
            .unwrap_or(&self.state.allowed)
    }

    /// Runs one REST catalog tool: validate, map, send, shape. Never fails at the protocol level.
    pub async fn run_entry(
        &self,
        entry: &ToolEntry,
        args: JsonObject,
        key: Option<&ApiKey>,
    ) -> CallToolResult {
        match self.execute_rest(entry, &args, key).await {
            Ok(resp) => results::shape(entry, &args, resp),
            Err(failure) => failure,
        }
    }

    /// Runs one REST catalog tool and returns Duvo's answer, or the tool error to show.
    pub async fn execute_rest(
        &self,
        entry: &ToolEntry,
        args: &JsonObject,
        key: Option<&ApiKey>,
    ) -> Result<crate::client::ApiResponse, CallToolResult> {
        self.execute_rest_keyed(entry, args, key, None)
            .await
            .map_err(|f| f.result)
    }

    /// Like [`Self::execute_rest`], with a caller-chosen `Idempotency-Key` (kept across the
    /// client's retries) and the HTTP status of a failure.
    pub async fn execute_rest_keyed(
        &self,
        entry: &ToolEntry,
        args: &JsonObject,
        key: Option<&ApiKey>,
        idempotency_key: Option<String>,
    ) -> Result<crate::client::ApiResponse, RestFailure> {
        if self.state.options.passthrough_auth && key.is_none() {
            return Err(RestFailure::local(CallToolResult::error(vec![
                ContentBlock::text(
                    "No Duvo API key: this server expects each request to carry Authorization: Bearer dv_… (passthrough mode).",
                ),
            ])));
        }
        if let Err(e) = mapping::validate(entry, args) {
            return Err(RestFailure::local(results::invalid_arguments(entry, &e)));
        }
        let needs_team = entry.path.contains("{teamId}") && !args.contains_key("team_id");
        let team = if needs_team {
            match self.state.teams.team_for(&self.state.client, key).await {
                Ok(t) => Some(t),
                Err(msg) => {
                    return Err(RestFailure::local(results::invalid_arguments(
                        entry,
                        &mapping::ArgumentError::NoTeam(msg),
                    )));
                }
            }
        } else {
            None
        };
        let mut req = mapping::map_validated(entry, args, team.as_deref())
            .map_err(|e| RestFailure::local(results::invalid_arguments(entry, &e)))?;
        req.idempotency_key = idempotency_key;
        let outcome = match key {
            Some(k) => self.state.client.send_as(k, &req).await,
            None => self.state.client.send(&req).await,
        };
        outcome.map_err(|err| {
            tracing::debug!(tool = entry.name(), error = %err, "tool call failed");
            RestFailure {
                status: err.status(),
                transient: match &err {
                    // A cut-off answer may hide a committed write: safe to resend with the same key.
                    crate::client::ApiError::Timeout { .. }
                    | crate::client::ApiError::Unreachable { .. }
                    | crate::client::ApiError::Decode { .. } => true,
                    crate::client::ApiError::Status { status, code, .. } => {
                        matches!(status, 429 | 500..=599)
                            || (*status == 409 && code == "idempotency_key_in_use")
                    }
                    _ => false,
                },
                result: results::api_failure(entry, args, &err),
            }
        })
    }

    /// Calls the REST operation `name` (bypassing workflows) with an optional `Idempotency-Key`;
    /// Duvo's full answer (status, JSON or bytes), or the failure.
    pub async fn call_rest_keyed(
        &self,
        name: &str,
        args: serde_json::Value,
        key: Option<&ApiKey>,
        idempotency_key: Option<String>,
    ) -> Result<crate::client::ApiResponse, RestFailure> {
        let Some(entry) = self.state.catalog.rest(name).cloned() else {
            return Err(RestFailure::local(CallToolResult::error(vec![
                ContentBlock::text(format!("internal: no REST operation {name}")),
            ])));
        };
        let args = match args {
            serde_json::Value::Object(map) => map,
            _ => JsonObject::new(),
        };
        self.execute_rest_keyed(&entry, &args, key, idempotency_key)
            .await
    }

    /// Calls the REST operation `name` (bypassing workflows) and returns its JSON body.
    pub async fn call_rest(
        &self,
        name: &str,
        args: serde_json::Value,
        key: Option<&ApiKey>,
    ) -> Result<serde_json::Value, CallToolResult> {
        let Some(entry) = self.state.catalog.rest(name).cloned() else {
            return Err(CallToolResult::error(vec![ContentBlock::text(format!(
                "internal: no REST operation {name}"
            ))]));
        };
        let args = match args {
            serde_json::Value::Object(map) => map,
            _ => JsonObject::new(),
        };
        let resp = self.execute_rest(&entry, &args, key).await?;
        Ok(match resp.body {
            crate::client::ApiBody::Json(v) => v,
            crate::client::ApiBody::Bytes { content_type, data } => json!({
                "content_type": content_type,
                "size_bytes": data.len(),
            }),
        })
    }

    /// Runs any allowed entry: a workflow, or one REST call.
    async fn dispatch(
        &self,
        entry: &Arc<ToolEntry>,
        args: JsonObject,
        scope: &RequestScope,
        cx: &RequestContext<RoleServer>,
        request: &CallToolRequestParams,
    ) -> Result<CallToolResponse, ErrorData> {
        match entry.workflow {
            Some(id) => {
                if let Err(e) = mapping::validate(entry, &args) {
                    return Ok(results::invalid_arguments(entry, &e).into());
                }
                let call = crate::workflows::Call {
                    server: self,
                    key: scope.key.as_ref(),
                    cx,
                    request_state: request.request_state.as_deref(),
                    input_responses: request.input_responses.as_ref(),
                };
                crate::workflows::run(id, &call, args).await
            }
            None => tokio::select! {
                () = cx.ct.cancelled() => Err(ErrorData::internal_error("cancelled by the client", None)),
                result = self.run_entry(entry, args, scope.key.as_ref()) => Ok(result.into()),
            },
        }
    }

    fn search_tools(&self, scope: &RequestScope, args: JsonObject) -> CallToolResult {
        let parsed: meta::SearchToolsArgs = match serde_json::from_value(args.into()) {
            Ok(a) => a,
            Err(e) => {
                return CallToolResult::error(vec![ContentBlock::text(format!(
                    "Invalid arguments for searchTools: {e}. Pass {{\"query\": \"what you want to do\", \"limit\": 5}}."
                ))]);
            }
        };
        let limit = usize::from(parsed.limit.unwrap_or(5).clamp(1, 20));
        let allowed = self.allowed(scope);
        let read_only = scope.read_only || self.state.selection.read_only;
        let found = self.state.search.search(&parsed.query, limit, |name| {
            allowed
                .get(name)
                .is_some_and(|e| !read_only || e.read_only())
        });
        let tools: Vec<_> = found
            .iter()
            .map(|e| {
                json!({
                    "name": e.name(),
                    "toolset": e.toolset,
                    "title": e.tool.title,
                    "description": e.tool.description,
                    "annotations": e.tool.annotations,
                    "inputSchema": e.tool.input_schema,
                })
            })
            .collect();
        let note = if tools.is_empty() {
            "No tool matched. Try other words (Duvo says agent for Assignment, run for Job, revision for build)."
        } else {
            "Run one with callTool {name, arguments}."
        };
        CallToolResult::structured(json!({ "tools": tools, "note": note }))
    }

    async fn call_by_name(
        &self,
        scope: &RequestScope,
        args: JsonObject,
        cx: &RequestContext<RoleServer>,
        request: &CallToolRequestParams,
    ) -> Result<CallToolResponse, ErrorData> {
        let parsed: meta::CallToolArgs = match serde_json::from_value(args.into()) {
            Ok(a) => a,
            Err(e) => {
                return Ok(CallToolResult::error(vec![ContentBlock::text(format!(
                    "Invalid arguments for callTool: {e}. Pass {{\"name\": \"<tool>\", \"arguments\": {{…}}}}; find names with searchTools."
                ))])
                .into());
            }
        };
        if parsed.name == meta::CALL_TOOL || parsed.name == meta::SEARCH_TOOLS {
            return Ok(CallToolResult::error(vec![ContentBlock::text(format!(
                "Call {} directly, not through callTool.",
                parsed.name
            ))])
            .into());
        }
        match self.resolve(scope, &parsed.name) {
            Ok(entry) => {
                self.dispatch(&entry, parsed.arguments, scope, cx, request)
                    .await
            }
            Err(why) => Ok(CallToolResult::error(vec![ContentBlock::text(why)]).into()),
        }
    }

    /// Finds an allowed entry by name, or explains why it can't run.
    fn resolve(&self, scope: &RequestScope, name: &str) -> Result<Arc<ToolEntry>, String> {
        if let Some(e) = self.allowed(scope).get(name) {
            if (scope.read_only || self.state.selection.read_only) && !e.read_only() {
                return Err(format!(
                    "{name} changes data and this server is read-only; nothing was sent. Use a read-only tool."
                ));
            }
            return Ok(e.clone());
        }
        if let Some(e) = self.state.catalog.get(name) {
            let why = if !e.read_only() && (scope.read_only || self.state.selection.read_only) {
                "this server is read-only"
            } else {
                "it is disabled on this server (--exclude-tools or X-MCP-* headers)"
            };
            return Err(format!("{name} cannot run: {why}; nothing was sent."));
        }
        let similar: Vec<String> = self
            .state
            .search
            .search(name, 3, |n| self.allowed(scope).get(n).is_some())
            .iter()
            .map(|e| e.name().to_owned())
            .collect();
        Err(format!(
            "Unknown tool {name:?}. {}Use searchTools to find tool names.",
            if similar.is_empty() {
                String::new()
            } else {
                format!("Did you mean: {}? ", similar.join(", "))
            }
        ))
    }
}

impl ServerHandler for DuvoServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .enable_prompts()
                .build(),
        )
        .with_server_info(
            Implementation::new("duvo-mcp", env!("CARGO_PKG_VERSION"))
                .with_title("Duvo")
                .with_description(
                    "Operate Duvo: Assignments, Jobs, Revisions, Queues, Skills and more.",
                ),
        )
        .with_instructions(INSTRUCTIONS)
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListResourcesResult, ErrorData> {
        // Every resource is addressed by a template; nothing is listed statically.
        Ok(rmcp::model::ListResourcesResult::with_all_items(Vec::new()))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListResourceTemplatesResult, ErrorData> {
        Ok(rmcp::model::ListResourceTemplatesResult::with_all_items(
            resources::templates(),
        ))
    }

    async fn read_resource(
        &self,
        request: rmcp::model::ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ReadResourceResponse, ErrorData> {
        let scope = self.scope(&context)?;
        resources::read(self, &request.uri, scope.key.as_ref())
            .await
            .map(Into::into)
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListPromptsResult, ErrorData> {
        Ok(rmcp::model::ListPromptsResult::with_all_items(
            prompts::list(),
        ))
    }

    async fn get_prompt(
        &self,
        request: rmcp::model::GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::GetPromptResponse, ErrorData> {
        let scope = self.scope(&context)?;
        let args = request.arguments.clone().unwrap_or_default();
        prompts::get(self, &request.name, &args, scope.key.as_ref())
            .await
            .map(Into::into)
    }

    async fn on_custom_request(
        &self,
        request: rmcp::model::CustomRequest,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::CustomResult, ErrorData> {
        // Known MCP methods land here only when their params were unreadable.
        Err(crate::transport::malformed::custom_request_error(
            &request.method,
            request.params.as_ref(),
        ))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        match name {
            meta::SEARCH_TOOLS => Some(meta::search_tool()),
            meta::CALL_TOOL => Some(meta::call_tool(self.state.selection.read_only)),
            _ => self.state.allowed.get(name).map(|e| e.tool.clone()),
        }
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let scope = self.scope(&context)?;
        let read_only = scope.read_only || self.state.selection.read_only;
        Ok(
            ListToolsResult::with_all_items(tool_list(self.listed(&scope), read_only))
                .with_ttl_ms(300_000)
                .with_cache_scope(CacheScope::Private),
        )
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let scope = self.scope(&context)?;
        let args = request.arguments.clone().unwrap_or_default();
        match request.name.as_ref() {
            meta::SEARCH_TOOLS => Ok(self.search_tools(&scope, args).into()),
            meta::CALL_TOOL => self.call_by_name(&scope, args, &context, &request).await,
            name => match self.resolve(&scope, name) {
                Ok(entry) => {
                    self.dispatch(&entry, args, &scope, &context, &request)
                        .await
                }
                // A catalog tool this server refuses: a tool error the model can read.
                Err(why) if self.state.catalog.get(name).is_some() => {
                    Ok(CallToolResult::error(vec![ContentBlock::text(why)]).into())
                }
                Err(_) => Err(ErrorData::invalid_params(
                    format!("unknown tool {name:?}: call tools/list, or searchTools to find one"),
                    None,
                )),
            },
        }
    }
}
