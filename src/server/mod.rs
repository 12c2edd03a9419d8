//! The MCP server: a hand-written `ServerHandler` over the catalog.
//!
//! Per call: handler → catalog entry → gateway (validate, team, map, shared client) → typed
//! outcome → rendered once here (`crate::render`). Composite tools run their handler
//! (`crate::workflows`), which uses the same gateway.

pub mod meta;
pub(crate) mod prompts;
pub(crate) mod resources;
pub mod scope;
pub(crate) mod search;

use crate::catalog::{Catalog, Selection, SelectionError, ToolEntry, filter::Enabled, mapping};
use crate::client::DuvoClient;
use crate::gateway::{CallOptions, Gateway};
use crate::render::results;
use crate::workflows::Services;
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
    /// What replicas share (team cache, started-Job records): Redis, or in-process.
    pub shared: crate::shared_state::SharedState,
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
    /// The `searchTools` index over the allowed entries, built on its first use (building it
    /// was a tenth of the start-up CPU: benches/duvo/PROFILE.md).
    search: std::sync::OnceLock<SearchIndex>,
    options: ServerOptions,
    /// Gateway, local files and started Jobs, for REST and composite tools alike.
    services: Services,
    /// `tools/list` of an un-narrowed request, built once (this state is rebuilt, not
    /// mutated, when the catalog changes, so it never goes stale).
    tool_list: std::sync::OnceLock<Vec<Tool>>,
}

impl ServerState {
    /// Builds the state: applies the selection (unknown names are errors), indexes the catalog
    /// and puts a gateway over it and `client`.
    pub fn new(
        catalog: Arc<Catalog>,
        selection: Selection,
        client: DuvoClient,
        options: ServerOptions,
    ) -> Result<Self, SelectionError> {
        let listed = catalog.select(&selection)?;
        let allowed = catalog.allowed(&selection)?;
        let gateway = Arc::new(Gateway::new(
            catalog.clone(),
            client,
            options.team_id.clone(),
            options.passthrough_auth,
            options.shared.clone(),
        ));
        let mut services = Services::new(gateway);
        services.started_jobs = Arc::new(
            crate::workflows::started::StartedJobs::default().with_shared(options.shared.clone()),
        );
        Ok(Self {
            catalog,
            listed,
            allowed,
            selection,
            search: std::sync::OnceLock::new(),
            options,
            services,
            tool_list: std::sync::OnceLock::new(),
        })
    }

    /// Lets workflows read and write local files below the given directories (stdio only;
    /// without this call local paths are refused).
    pub fn with_local_files(
        mut self,
        local_files: crate::workflows::allowed_dirs::LocalFiles,
    ) -> Self {
        self.services.local_files = local_files;
        self
    }

    /// Which local paths workflows may touch.
    pub fn local_files(&self) -> &crate::workflows::allowed_dirs::LocalFiles {
        &self.services.local_files
    }

    /// The gateway every Duvo operation goes through.
    pub fn gateway(&self) -> &Arc<Gateway> {
        &self.services.gateway
    }

    /// The full `tools/list` of the server (catalog tools plus the two meta tools), sorted.
    pub fn listed_tools(&self) -> Vec<Tool> {
        self.cached_tool_list().clone()
    }

    fn search_index(&self) -> &SearchIndex {
        self.search
            .get_or_init(|| SearchIndex::new(self.allowed.entries()))
    }

    fn cached_tool_list(&self) -> &Vec<Tool> {
        self.tool_list
            .get_or_init(|| tool_list(&self.listed, self.selection.read_only))
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
        // Headers (X-MCP-*) and /mcp query parameters narrow in turn; never widen.
        let mut read_only = false;
        let mut narrowed: Option<(Enabled, Enabled)> = None;
        for sel in scope::request_selections(parts) {
            read_only |= sel.read_only;
            let (listed, allowed) = narrowed
                .as_ref()
                .map(|(l, a)| (l, a))
                .unwrap_or((&self.state.listed, &self.state.allowed));
            narrowed = Some(
                scope::narrow(&self.state.catalog, listed, allowed, &sel)
                    .map_err(|e| ErrorData::invalid_params(e.to_string(), None))?,
            );
        }
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

    /// Runs any allowed entry: a composite tool's handler, or one REST operation through the
    /// gateway; the outcome is rendered here.
    async fn dispatch(
        &self,
        entry: &Arc<ToolEntry>,
        args: JsonObject,
        scope: &RequestScope,
        cx: &RequestContext<RoleServer>,
        request: &CallToolRequestParams,
    ) -> Result<CallToolResponse, ErrorData> {
        if entry.is_composite() {
            if let Err(e) = mapping::validate(entry, &args) {
                return Ok(results::invalid_arguments(entry, &e).into());
            }
            let call = crate::workflows::Call {
                services: &self.state.services,
                key: scope.key.as_ref(),
                cx,
                request_state: request.request_state.as_deref(),
                input_responses: request.input_responses.as_ref(),
            };
            return crate::workflows::run(entry.name(), &call, args).await;
        }
        let perform = async {
            let opts = CallOptions::with_key(scope.key.as_ref());
            match self
                .state
                .gateway()
                .perform_keeping_args(entry, args, opts)
                .await
            {
                Ok((resp, args)) => results::success(entry, &args, resp),
                Err(failure) => results::failure(&failure),
            }
        };
        tokio::select! {
            () = cx.ct.cancelled() => Err(ErrorData::internal_error("cancelled by the client", None)),
            result = perform => Ok(result.into()),
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
        let found = self
            .state
            .search_index()
            .search(&parsed.query, limit, |name| {
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
            .search_index()
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
        resources::read(self.state.gateway(), &request.uri, scope.key.as_ref())
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
        prompts::get(
            self.state.gateway(),
            &request.name,
            &args,
            scope.key.as_ref(),
        )
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
        let tools = if scope.narrowed.is_none() && !scope.read_only {
            self.state.cached_tool_list().clone()
        } else {
            let read_only = scope.read_only || self.state.selection.read_only;
            tool_list(self.listed(&scope), read_only)
        };
        Ok(ListToolsResult::with_all_items(tools)
            .with_ttl_ms(300_000)
            .with_cache_scope(CacheScope::Private))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        use tracing::Instrument;
        // One span per tool call (src/telemetry: also the OpenTelemetry span); the client's
        // requests and their retries log inside it, record their attempts and Duvo's status on
        // it, and each attempt is a child span. Metrics count the call by tool and outcome.
        let name = request.name.as_ref();
        let known = matches!(name, meta::SEARCH_TOOLS | meta::CALL_TOOL)
            || self.state.catalog.get(name).is_some();
        let tool = crate::telemetry::tool_label(name, known);
        let span = crate::telemetry::tool_span(&tool, &context.id);
        let started = std::time::Instant::now();
        let result = self
            .call_tool_in_span(request, context)
            .instrument(span.clone())
            .await;
        let outcome = match &result {
            Ok(CallToolResponse::Complete(r)) if r.is_error == Some(true) => "error",
            Ok(CallToolResponse::Complete(_)) => "ok",
            Ok(CallToolResponse::InputRequired(_)) => "input_required",
            Ok(_) => "task",
            Err(_) => "protocol_error",
        };
        let is_error = matches!(outcome, "error" | "protocol_error");
        span.record("is_error", is_error)
            .record("duration_ms", started.elapsed().as_millis() as u64);
        crate::telemetry::record_tool_call(&span, &tool, outcome, started.elapsed());
        tracing::debug!(parent: &span, "tool call finished");
        result
    }
}

impl DuvoServer {
    /// [`ServerHandler::call_tool`], inside its span.
    async fn call_tool_in_span(
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
