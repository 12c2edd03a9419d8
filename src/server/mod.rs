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
Run one: listAgents {name} → runAssignment {agent_id, message}, which starts the Job and waits; \
when the Job asks a person, it asks the user (elicitation) or returns the request with its \
title, description and questions: ask the user, answer with respondToHumanRequest, then \
waitForRun {run_id} until the Job is completed, failed, stopped or interrupted. Never poll \
getRun more often than every 5 s; waitForRun does the waiting. Why a Job failed: listRuns \
{status: failed} → listRunMessages. Cases: listQueues → createCases. Schedules: listSchedules → \
updateSchedule. Files for a Job: runAssignment files, or uploadSandboxFiles. Anything else \
(folders, connections, secrets, triggers …): searchTools, then callReadTool to read or callTool \
to change. team_id is optional everywhere. Tool errors say what to fix; ids come from the list \
tools.";

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

/// What the server derives from one catalog; swapped as a whole when the catalog changes.
#[derive(Debug)]
pub struct CatalogView {
    /// The catalog.
    pub catalog: Arc<Catalog>,
    /// Tools listed in `tools/list` (the selected toolsets and tools).
    pub listed: Enabled,
    /// Tools `callTool`/`searchTools` and direct calls may reach.
    pub allowed: Enabled,
    /// The `searchTools` index over the allowed entries, built on its first use (building it
    /// was a tenth of the start-up CPU: benches/duvo/PROFILE.md).
    search: std::sync::OnceLock<SearchIndex>,
    /// `tools/list` of an un-narrowed request, built once per view (a catalog swap makes a new
    /// view, so it never goes stale).
    tool_list: std::sync::OnceLock<Vec<Tool>>,
}

impl CatalogView {
    fn new(catalog: Arc<Catalog>, selection: &Selection) -> Result<Self, SelectionError> {
        let listed = catalog.select(selection)?;
        let allowed = catalog.allowed(selection)?;
        Ok(Self {
            catalog,
            listed,
            allowed,
            search: std::sync::OnceLock::new(),
            tool_list: std::sync::OnceLock::new(),
        })
    }

    /// The search index, built on first use.
    fn search_index(&self) -> &SearchIndex {
        self.search
            .get_or_init(|| SearchIndex::new(self.allowed.entries()))
    }

    /// The un-narrowed `tools/list`, built on first use.
    fn cached_tool_list(&self, read_only: bool) -> &Vec<Tool> {
        self.tool_list
            .get_or_init(|| tool_list(&self.listed, read_only))
    }

    /// What a client can see and call: listed tools (with toolsets) and the allowed ones.
    /// Built from each entry's definition JSON, so comparing two views builds (and keeps) no
    /// tool definition that no session has used.
    fn fingerprint(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        for (set, label) in [(&self.listed, "listed"), (&self.allowed, "allowed")] {
            let _ = writeln!(out, "{label}:");
            for e in set.entries() {
                let _ = writeln!(out, "{}\t{}", e.toolset, e.definition_json());
            }
        }
        out
    }
}

/// Everything the handler needs; shared by every session of the process.
#[derive(Debug)]
pub struct ServerState {
    view: arc_swap::ArcSwap<CatalogView>,
    selection: Selection,
    options: ServerOptions,
    /// Gateway, local files and started Jobs, for REST and composite tools alike.
    services: Services,
    /// Connected sessions, told `notifications/tools/list_changed` when the catalog changes.
    peers: std::sync::Mutex<Vec<rmcp::service::Peer<RoleServer>>>,
    /// Open 2026-07-28 `subscriptions/listen` streams, told the same.
    listeners: std::sync::Mutex<std::collections::HashMap<u64, rmcp::service::SubscriptionSink>>,
    next_listener: std::sync::atomic::AtomicU64,
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
        Self::build(catalog, selection, client, options, false)
    }

    /// Like [`ServerState::new`], but names the catalog lacks are left out for now instead of
    /// refused: the spec loading in the background may bring them (a generated toolset or
    /// tool); each swap applies the whole selection again.
    pub fn new_awaiting_spec(
        catalog: Arc<Catalog>,
        selection: Selection,
        client: DuvoClient,
        options: ServerOptions,
    ) -> Result<Self, SelectionError> {
        Self::build(catalog, selection, client, options, true)
    }

    fn build(
        catalog: Arc<Catalog>,
        selection: Selection,
        client: DuvoClient,
        options: ServerOptions,
        lenient_start: bool,
    ) -> Result<Self, SelectionError> {
        let view = if lenient_start {
            CatalogView::new(catalog.clone(), &lenient(&catalog, &selection))?
        } else {
            CatalogView::new(catalog.clone(), &selection)?
        };
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
            view: arc_swap::ArcSwap::from_pointee(view),
            selection,
            options,
            services,
            peers: std::sync::Mutex::new(Vec::new()),
            listeners: std::sync::Mutex::new(std::collections::HashMap::new()),
            next_listener: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// The catalog view in use now.
    pub fn view(&self) -> Arc<CatalogView> {
        self.view.load_full()
    }

    /// The catalog in use now.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.view.load().catalog.clone()
    }

    /// Uses `catalog` from now on. The selection is applied leniently (names the new catalog
    /// lacks are ignored: a vanished operation is reported, not an error). When what clients can
    /// list or call changed, every connected session gets `notifications/tools/list_changed`;
    /// returns whether it changed.
    pub fn swap_catalog(&self, catalog: Arc<Catalog>) -> Result<bool, SelectionError> {
        let selection = lenient(&catalog, &self.selection);
        let view = CatalogView::new(catalog.clone(), &selection)?;
        let changed = view.fingerprint() != self.view.load().fingerprint();
        self.services.gateway.swap_catalog(catalog);
        self.view.store(Arc::new(view));
        if changed {
            self.notify_tools_changed();
        }
        Ok(changed)
    }

    /// Remembers a session's peer for list-changed notifications (closed ones are dropped).
    pub fn add_peer(&self, peer: rmcp::service::Peer<RoleServer>) {
        if let Ok(mut peers) = self.peers.lock() {
            peers.retain(|p| !p.is_transport_closed());
            peers.push(peer);
        }
    }

    /// Registers an open `subscriptions/listen` stream; returns its id for [`Self::remove_listener`].
    pub fn add_listener(&self, sink: rmcp::service::SubscriptionSink) -> u64 {
        let id = self
            .next_listener
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Ok(mut l) = self.listeners.lock() {
            l.insert(id, sink);
        }
        id
    }

    /// Forgets a closed `subscriptions/listen` stream.
    pub fn remove_listener(&self, id: u64) {
        if let Ok(mut l) = self.listeners.lock() {
            l.remove(&id);
        }
    }

    /// Sends `notifications/tools/list_changed` to every connected session and subscription.
    fn notify_tools_changed(&self) {
        let sinks: Vec<_> = match self.listeners.lock() {
            Ok(l) => l.values().cloned().collect(),
            Err(_) => Vec::new(),
        };
        for sink in sinks {
            tokio::spawn(async move {
                if let Err(e) = sink.notify_tool_list_changed().await {
                    tracing::debug!(error = %e, "could not send tools/list_changed");
                }
            });
        }
        let peers: Vec<_> = match self.peers.lock() {
            Ok(mut peers) => {
                peers.retain(|p| !p.is_transport_closed());
                peers.clone()
            }
            Err(_) => return,
        };
        tracing::info!(
            sessions = peers.len(),
            "tool list changed: notifying sessions"
        );
        for peer in peers {
            tokio::spawn(async move {
                if let Err(e) = peer.notify_tool_list_changed().await {
                    tracing::debug!(error = %e, "could not send tools/list_changed");
                }
            });
        }
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

    /// Whether a `tools/call` of `name` with `args` changes data (needs OAuth `duvo:write`):
    /// a tool not marked read-only; `callTool` is judged by the tool it runs. Unknown names and
    /// `searchTools` do not (the server answers them itself).
    pub fn needs_write(&self, name: &str, args: &serde_json::Value) -> bool {
        match name {
            meta::SEARCH_TOOLS => false,
            meta::CALL_TOOL => match args.get("name").and_then(|n| n.as_str()) {
                Some(meta::CALL_TOOL | meta::SEARCH_TOOLS) | None => false,
                Some(inner) => {
                    let inner_args = args.get("arguments").cloned().unwrap_or_default();
                    self.needs_write(inner, &inner_args)
                }
            },
            _ => self.catalog().get(name).is_some_and(|e| !e.read_only()),
        }
    }

    /// The full `tools/list` of the server (catalog tools plus the two meta tools), sorted.
    pub fn listed_tools(&self) -> Vec<Tool> {
        self.view
            .load()
            .cached_tool_list(self.selection.read_only)
            .clone()
    }
}

/// `selection` without the names `catalog` lacks.
fn lenient(catalog: &Catalog, selection: &Selection) -> Selection {
    let has_set = |n: &String| {
        matches!(n.as_str(), "default" | "all") || catalog.toolsets().iter().any(|t| t.name == *n)
    };
    let has_tool = |n: &String| catalog.get(n).is_some();
    Selection {
        toolsets: selection
            .toolsets
            .iter()
            .filter(|n| has_set(n))
            .cloned()
            .collect(),
        tools: selection
            .tools
            .iter()
            .filter(|n| has_tool(n))
            .cloned()
            .collect(),
        exclude_tools: selection
            .exclude_tools
            .iter()
            .filter(|n| has_tool(n))
            .cloned()
            .collect(),
        read_only: selection.read_only,
    }
}

fn tool_list(listed: &Enabled, read_only: bool) -> Vec<Tool> {
    let mut tools: Vec<Tool> = listed.entries().iter().map(|e| e.tool().clone()).collect();
    tools.push(meta::search_tool());
    tools.push(meta::call_tool(read_only));
    tools.push(meta::call_read_tool());
    tools.sort_by(|a, b| a.name.cmp(&b.name));
    tools
}

/// Largest inputSchema a search answer carries in full (the best match only).
const SEARCH_SCHEMA_MAX: usize = 2_500;

/// One `searchTools` hit: the best match with its schema (unless already listed or too large),
/// the rest as name, title, hints and required arguments.
fn search_hit(e: &ToolEntry, best: bool, listed: bool, exact: bool) -> serde_json::Value {
    let a = e.tool().annotations.clone().unwrap_or_default();
    let mut hints = Vec::new();
    if a.read_only_hint == Some(true) {
        hints.push("read-only");
    }
    if a.destructive_hint == Some(true) {
        hints.push("destructive");
    }
    let required: Vec<String> = e
        .argument_names()
        .into_iter()
        .filter(|(_, req)| *req)
        .map(|(n, _)| n)
        .collect();
    let mut hit = json!({ "name": e.name(), "title": e.tool().title });
    if !hints.is_empty() {
        hit["hints"] = json!(hints.join(", "));
    }
    if listed {
        hit["listed"] = json!(true);
    }
    if !best {
        hit["required"] = json!(required);
        return hit;
    }
    hit["description"] = json!(e.tool().description);
    // Where the required ids come from ("(from listQueues)" in an argument's description).
    let mut ids_from = serde_json::Map::new();
    if let Some(props) = e
        .tool()
        .input_schema
        .get("properties")
        .and_then(|p| p.as_object())
    {
        for name in &required {
            let from = props
                .get(name)
                .and_then(|p| p.get("description"))
                .and_then(|d| d.as_str())
                .and_then(|d| d.split("from ").nth(1))
                .and_then(|rest| {
                    rest.split(|c: char| !c.is_alphanumeric())
                        .next()
                        .filter(|t| {
                            !t.is_empty() && t.chars().next().is_some_and(char::is_lowercase)
                        })
                });
            if let Some(tool) = from {
                ids_from.insert(name.clone(), json!(tool));
            }
        }
    }
    if !ids_from.is_empty() {
        hit["ids_from"] = serde_json::Value::Object(ids_from);
    }
    let schema_len = serde_json::to_string(&e.tool().input_schema).map_or(usize::MAX, |s| s.len());
    if listed {
        hit["required"] = json!(required);
    } else if schema_len <= SEARCH_SCHEMA_MAX || exact {
        hit["inputSchema"] = json!(e.tool().input_schema);
    } else {
        hit["required"] = json!(required);
        hit["arguments"] = json!(
            e.argument_names()
                .into_iter()
                .map(|(n, _)| n)
                .collect::<Vec<_>>()
        );
        hit["schema_note"] = json!(format!(
            "inputSchema is {schema_len} bytes: searchTools {{query: \"{}\"}} returns it",
            e.name()
        ));
    }
    hit
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
        let view = self.state.view();
        let Some(parts) = cx.extensions.get::<http::request::Parts>() else {
            return Ok(RequestScope {
                view: Some(view),
                ..RequestScope::default()
            });
        };
        let key = if self.state.options.passthrough_auth {
            scope::bearer_key(parts)
        } else {
            None
        };
        // Headers (X-MCP-*) and /mcp query parameters narrow in turn; never widen. An OAuth
        // token with `duvo:read` only (set by the OAuth layer) narrows to read-only tools.
        let oauth_read = parts
            .extensions
            .get::<crate::transport::oauth::scopes::Access>()
            == Some(&crate::transport::oauth::scopes::Access::Read);
        let oauth_sel = oauth_read.then(|| Selection {
            toolsets: vec!["all".to_owned()],
            tools: Vec::new(),
            exclude_tools: Vec::new(),
            read_only: true,
        });
        let mut read_only = false;
        let mut narrowed: Option<(Enabled, Enabled)> = None;
        for sel in oauth_sel
            .into_iter()
            .chain(scope::request_selections(parts))
        {
            read_only |= sel.read_only;
            let (listed, allowed) = narrowed
                .as_ref()
                .map(|(l, a)| (l, a))
                .unwrap_or((&view.listed, &view.allowed));
            narrowed = Some(
                scope::narrow(&view.catalog, listed, allowed, &sel)
                    .map_err(|e| ErrorData::invalid_params(e.to_string(), None))?,
            );
        }
        Ok(RequestScope {
            key,
            narrowed,
            read_only,
            view: Some(view),
        })
    }

    fn listed<'a>(&'a self, scope: &'a RequestScope) -> &'a Enabled {
        match (&scope.narrowed, &scope.view) {
            (Some((l, _)), _) => l,
            (None, Some(v)) => &v.listed,
            (None, None) => &crate::catalog::filter::NONE,
        }
    }

    fn allowed<'a>(&'a self, scope: &'a RequestScope) -> &'a Enabled {
        match (&scope.narrowed, &scope.view) {
            (Some((_, a)), _) => a,
            (None, Some(v)) => &v.allowed,
            (None, None) => &crate::catalog::filter::NONE,
        }
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
            let mut args = args;
            if let Err(e) =
                mapping::normalize(entry, &mut args).and_then(|()| mapping::validate(entry, &args))
            {
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
                Err(failure) => {
                    let mut result = results::failure(&failure);
                    if let Some(hint) = self.question_hint(&failure, scope).await {
                        result.content.push(ContentBlock::text(hint));
                    }
                    result
                }
            }
        };
        tokio::select! {
            () = cx.ct.cancelled() => Err(ErrorData::internal_error("cancelled by the client", None)),
            result = perform => Ok(result.into()),
        }
    }

    /// For a refused `respondToHumanRequest` with `answers`: the valid question texts of the
    /// Job's pending request (the keys `answers` must use), read with getRun.
    async fn question_hint(
        &self,
        failure: &crate::gateway::RestFailure,
        scope: &RequestScope,
    ) -> Option<String> {
        let refused = matches!(
            &failure.kind,
            crate::gateway::FailureKind::Api(crate::client::ApiError::Status {
                status: 400..=422,
                ..
            })
        );
        let entry = failure.entry.as_ref()?;
        if entry.name() != "respondToHumanRequest" || !refused {
            return None;
        }
        let answers = failure.args.get("answers")?.as_object()?;
        let run_id = failure.args.get("run_id")?.as_str()?;
        let catalog = self.state.catalog();
        let get_run = catalog.rest("getRun")?;
        let mut args = JsonObject::new();
        args.insert("run_id".into(), json!(run_id));
        let opts = CallOptions::with_key(scope.key.as_ref());
        let resp = self
            .state
            .gateway()
            .perform(get_run, args, opts)
            .await
            .ok()?;
        let crate::client::ApiBody::Json(run) = resp.body else {
            return None;
        };
        let questions: Vec<&str> = run["pending_human_request"]["questions"]
            .as_array()?
            .iter()
            .filter_map(|q| q["question"].as_str())
            .collect();
        if questions.is_empty() {
            return None;
        }
        let unknown: Vec<&str> = answers
            .keys()
            .map(String::as_str)
            .filter(|k| !questions.contains(k))
            .collect();
        let listed: Vec<String> = questions.iter().map(|q| format!("{q:?}")).collect();
        let head = if unknown.is_empty() {
            "The pending request's questions".to_owned()
        } else {
            format!(
                "Not a question of this request: {}. Valid question texts",
                unknown
                    .iter()
                    .map(|k| format!("{k:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        // Question texts are written by the Job: fenced as data.
        Some(format!(
            "{head} (use them exactly as the keys of answers, one answer each):\n{}",
            results::fence(&listed.join("\n"))
        ))
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
        let Some(view) = scope.view.as_ref() else {
            return CallToolResult::error(vec![ContentBlock::text("no catalog")]);
        };
        let found = view.search_index().search(&parsed.query, limit, |name| {
            allowed
                .get(name)
                .is_some_and(|e| !read_only || e.read_only())
        });
        let listed = self.listed(scope);
        let tools: Vec<_> = found
            .iter()
            .enumerate()
            .map(|(i, e)| {
                // Asked for by name: the full schema, however large.
                let exact = i == 0 && e.name() == parsed.query.trim();
                search_hit(e, i == 0, listed.get(e.name()).is_some(), exact)
            })
            .collect();
        let note = if tools.is_empty() {
            "No tool matched. Try other words (Duvo says agent for Assignment, run for Job, revision for build)."
        } else {
            "Listed tools: call them directly. Others: callReadTool {name, arguments} for read-only \
             ones, callTool for the rest. searchTools {query: <tool name>} returns that tool's \
             full inputSchema."
        };
        CallToolResult::structured(json!({ "tools": tools, "note": note }))
    }

    async fn call_by_name(
        &self,
        scope: &RequestScope,
        args: JsonObject,
        cx: &RequestContext<RoleServer>,
        request: &CallToolRequestParams,
        reads_only: bool,
    ) -> Result<CallToolResponse, ErrorData> {
        let via = if reads_only {
            meta::CALL_READ_TOOL
        } else {
            meta::CALL_TOOL
        };
        let parsed: meta::CallToolArgs = match serde_json::from_value(args.into()) {
            Ok(a) => a,
            Err(e) => {
                return Ok(CallToolResult::error(vec![ContentBlock::text(format!(
                    "Invalid arguments for {via}: {e}. Pass {{\"name\": \"<tool>\", \"arguments\": {{…}}}}; find names with searchTools."
                ))])
                .into());
            }
        };
        if matches!(
            parsed.name.as_str(),
            meta::CALL_TOOL | meta::SEARCH_TOOLS | meta::CALL_READ_TOOL
        ) {
            return Ok(CallToolResult::error(vec![ContentBlock::text(format!(
                "Call {} directly, not through {via}.",
                parsed.name
            ))])
            .into());
        }
        match self.resolve(scope, &parsed.name) {
            Ok(entry) if reads_only && !entry.read_only() => {
                Ok(CallToolResult::error(vec![ContentBlock::text(format!(
                    "{} changes data, so callReadTool does not run it; nothing was sent. Call it \
                     with callTool {{\"name\": \"{}\", \"arguments\": {{…}}}} (or directly).",
                    parsed.name, parsed.name
                ))])
                .into())
            }
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
        let view = scope.view.clone().unwrap_or_else(|| self.state.view());
        if let Some(e) = view.catalog.get(name) {
            let why = if !e.read_only() && (scope.read_only || self.state.selection.read_only) {
                "this server is read-only"
            } else {
                "it is disabled on this server (--exclude-tools or X-MCP-* headers)"
            };
            return Err(format!("{name} cannot run: {why}; nothing was sent."));
        }
        let similar: Vec<String> = view
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
                .enable_tool_list_changed()
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

    fn accepted_subscription_filter(
        &self,
        requested: &rmcp::model::SubscriptionFilter,
    ) -> Option<rmcp::model::SubscriptionFilter> {
        // 2026-07-28 clients subscribe to tools/list_changed (the catalog follows Duvo's spec).
        Some(requested.supported_by(&self.get_info().capabilities))
    }

    async fn listen(&self, context: rmcp::service::SubscriptionContext) -> Result<(), ErrorData> {
        let id = self.state.add_listener(context.sink().clone());
        context.cancelled().await;
        self.state.remove_listener(id);
        Ok(())
    }

    async fn on_initialized(&self, context: rmcp::service::NotificationContext<RoleServer>) {
        // Told when the catalog changes (the live spec loaded in the background).
        self.state.add_peer(context.peer);
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        match name {
            meta::SEARCH_TOOLS => Some(meta::search_tool()),
            meta::CALL_TOOL => Some(meta::call_tool(self.state.selection.read_only)),
            meta::CALL_READ_TOOL => Some(meta::call_read_tool()),
            _ => self
                .state
                .view
                .load()
                .allowed
                .get(name)
                .map(|e| e.tool().clone()),
        }
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let scope = self.scope(&context)?;
        let tools = if scope.narrowed.is_none() && !scope.read_only {
            self.state.listed_tools()
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
        let known = matches!(
            name,
            meta::SEARCH_TOOLS | meta::CALL_TOOL | meta::CALL_READ_TOOL
        ) || self.state.view.load().catalog.get(name).is_some();
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
            meta::CALL_TOOL => {
                self.call_by_name(&scope, args, &context, &request, false)
                    .await
            }
            meta::CALL_READ_TOOL => {
                self.call_by_name(&scope, args, &context, &request, true)
                    .await
            }
            name => match self.resolve(&scope, name) {
                Ok(entry) => {
                    self.dispatch(&entry, args, &scope, &context, &request)
                        .await
                }
                // A catalog tool this server refuses: a tool error the model can read.
                Err(why)
                    if scope
                        .view
                        .as_ref()
                        .is_some_and(|v| v.catalog.get(name).is_some()) =>
                {
                    Ok(CallToolResult::error(vec![ContentBlock::text(why)]).into())
                }
                // Unknown: a protocol error, with the same "did you mean" as callTool.
                Err(why) => Err(ErrorData::invalid_params(why, None)),
            },
        }
    }
}
