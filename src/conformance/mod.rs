//! Fixtures for the official MCP conformance suite (`@modelcontextprotocol/conformance`), served
//! by the hidden `duvo-mcp http --conformance-fixtures` flag next to the Duvo tools.
//!
//! The suite calls tools, resources and prompts by fixed names (`test_simple_text`,
//! `test://static-text`, `test_simple_prompt`, …) and checks their exact shapes; this module
//! provides them. Everything else (Duvo tools, narrowing headers, passthrough keys) is delegated
//! to the wrapped [`DuvoServer`]. Nothing here is reachable without the flag.

// The suite exercises logging, sampling and roots, which SEP-2577 deprecates.
#![allow(deprecated)]

mod content;
mod mrtr;
mod tasks;
mod tools;

use crate::server::{DuvoServer, INSTRUCTIONS};
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, CancelTaskParams, CompleteRequestParams,
    CompleteResult, ErrorData, GetPromptRequestParams, GetPromptResponse, GetTaskParams,
    GetTaskResult, Implementation, ListPromptsResult, ListResourceTemplatesResult,
    ListResourcesResult, ListToolsResult, LoggingLevel, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, RequestStateCodec, ServerCapabilities,
    ServerConfig, SetLevelRequestParams, SubscribeRequestParams, SubscriptionFilter, Tool,
    UnsubscribeRequestParams, UpdateTaskParams,
};
use rmcp::service::{RequestContext, SubscriptionContext, SubscriptionSink};
use rmcp::task_manager::TaskManager;
use rmcp::{RoleServer, ServerHandler};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Cache hint on fixture list and read results.
const CACHE_TTL_MS: u64 = 60_000;
/// How long a list-changed trigger waits for acknowledged subscriptions to register.
const REGISTRATION_GRACE: Duration = Duration::from_millis(500);

/// State shared by every clone (all sessions and stateless requests of the process).
struct Shared {
    /// Open `subscriptions/listen` streams (2026-07-28), for list-changed fixtures.
    listeners: Mutex<HashMap<u64, SubscriptionSink>>,
    next_listener: AtomicU64,
    /// When each accepted `subscriptions/listen` was acknowledged but not yet registered (rmcp
    /// sends the acknowledgement before `listen` runs, so a trigger can race the registration).
    unregistered: Mutex<Vec<Instant>>,
    /// Legacy `resources/subscribe` URIs.
    resource_subscriptions: Mutex<HashSet<String>>,
    /// Legacy `logging/setLevel` value.
    log_level: Mutex<LoggingLevel>,
    /// Seals MRTR `requestState` so a tampered echo is detected.
    request_state: RequestStateCodec,
    /// Tasks of the Tasks-extension fixtures.
    tasks: TaskManager,
}

/// The conformance fixtures, optionally in front of the Duvo tools. Cheap to clone.
#[derive(Clone)]
pub struct FixtureServer {
    duvo: Option<DuvoServer>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for FixtureServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FixtureServer")
            .field("duvo", &self.duvo.is_some())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl FixtureServer {
    /// Fixtures alone (`None`) or in addition to the Duvo tools.
    pub fn new(duvo: Option<DuvoServer>) -> Self {
        // A random per-process key: sealed state only has to survive one process.
        let key: [u8; 32] = rand::random();
        Self {
            duvo,
            shared: Arc::new(Shared {
                listeners: Mutex::new(HashMap::new()),
                next_listener: AtomicU64::new(0),
                unregistered: Mutex::new(Vec::new()),
                resource_subscriptions: Mutex::new(HashSet::new()),
                log_level: Mutex::new(LoggingLevel::Debug),
                request_state: RequestStateCodec::new_unchecked(key.to_vec()),
                tasks: TaskManager::new(),
            }),
        }
    }

    /// Every open `subscriptions/listen` stream, after letting just-acknowledged ones register.
    async fn listeners(&self) -> Vec<SubscriptionSink> {
        let deadline = Instant::now() + REGISTRATION_GRACE;
        loop {
            let waiting = {
                let mut pending = lock(&self.shared.unregistered);
                pending.retain(|t| t.elapsed() < REGISTRATION_GRACE);
                !pending.is_empty()
            };
            if !waiting || Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        lock(&self.shared.listeners).values().cloned().collect()
    }
}

impl ServerHandler for FixtureServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .enable_resources()
                .enable_resources_subscribe()
                .enable_resources_list_changed()
                .enable_prompts()
                .enable_prompts_list_changed()
                .enable_logging()
                .enable_completions()
                .enable_tasks()
                .build(),
        )
        .with_server_info(
            Implementation::new("duvo-mcp", env!("CARGO_PKG_VERSION"))
                .with_title("Duvo (conformance fixtures)"),
        )
        .with_instructions(format!(
            "{INSTRUCTIONS} This instance also serves the MCP conformance-suite fixtures (test_* tools, test:// resources, test_* prompts)."
        ))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        tools::get(name).or_else(|| self.duvo.as_ref().and_then(|d| d.get_tool(name)))
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let mut all = tools::list();
        let mut scope = CacheScope::Public;
        if let Some(duvo) = &self.duvo {
            all.extend(duvo.list_tools(request, context).await?.tools);
            scope = CacheScope::Private; // Duvo's list varies with narrowing headers
        }
        Ok(ListToolsResult::with_all_items(all)
            .with_ttl_ms(CACHE_TTL_MS)
            .with_cache_scope(scope))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if tasks::handles(&request.name) {
            return tasks::call(&self.shared.tasks, request, &context).await;
        }
        if mrtr::handles(&request.name) {
            return mrtr::call(&self.shared.request_state, request, &context.meta);
        }
        if tools::get(&request.name).is_some() {
            return tools::call(self, request, context).await;
        }
        match &self.duvo {
            Some(duvo) => duvo.call_tool(request, context).await,
            None => Err(ErrorData::invalid_params(
                format!("unknown tool: {}", request.name),
                None,
            )),
        }
    }

    async fn get_task(
        &self,
        request: GetTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, ErrorData> {
        Ok(GetTaskResult::new(
            self.shared.tasks.get_task(&request.task_id)?,
        ))
    }

    async fn update_task(
        &self,
        request: UpdateTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.shared
            .tasks
            .update_task(&request.task_id, request.input_responses)
    }

    async fn cancel_task(
        &self,
        request: CancelTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.shared.tasks.cancel_task(&request.task_id)
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(ListResourcesResult::with_all_items(content::resources())
            .with_ttl_ms(CACHE_TTL_MS)
            .with_cache_scope(CacheScope::Public))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(
            ListResourceTemplatesResult::with_all_items(content::templates())
                .with_ttl_ms(CACHE_TTL_MS)
                .with_cache_scope(CacheScope::Public),
        )
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        content::read(&request.uri).map(|r| {
            r.with_ttl_ms(CACHE_TTL_MS)
                .with_cache_scope(CacheScope::Public)
                .into()
        })
    }

    #[allow(deprecated)]
    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        lock(&self.shared.resource_subscriptions).insert(request.uri.to_string());
        Ok(())
    }

    #[allow(deprecated)]
    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        lock(&self.shared.resource_subscriptions).remove(request.uri.as_str());
        Ok(())
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        lock(&self.shared.unregistered).push(Instant::now());
        Some(requested.supported_by(&self.get_info().capabilities))
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), ErrorData> {
        let id = self.shared.next_listener.fetch_add(1, Ordering::Relaxed);
        lock(&self.shared.listeners).insert(id, context.sink().clone());
        {
            let mut pending = lock(&self.shared.unregistered);
            if !pending.is_empty() {
                pending.remove(0);
            }
        }
        context.cancelled().await;
        lock(&self.shared.listeners).remove(&id);
        Ok(())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        Ok(ListPromptsResult::with_all_items(content::prompts())
            .with_ttl_ms(CACHE_TTL_MS)
            .with_cache_scope(CacheScope::Public))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        if request.name == mrtr::PROMPT {
            return Ok(mrtr::prompt(request.input_responses.as_ref()));
        }
        content::prompt(&request.name, request.arguments.as_ref()).map(Into::into)
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        content::complete(&request)
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        *lock(&self.shared.log_level) = request.level;
        Ok(())
    }
}
