//! Composite tools: catalog-level tools that run several Duvo calls (wait for a Job, answer its
//! human requests through the user, upload files, push Cases in chunks …).
//!
//! Each tool's definition sits beside its handler in its module (a [`Composite`]: toolset, MCP
//! definition, handler); [`definitions`] lists them and the composition root adds them to the
//! catalog with [`register`]. Workflows call Duvo through the gateway ([`Call::op`] and
//! friends), with the same validation, mapping and typed failures as a direct call; they never
//! see the MCP handler.

pub mod allowed_dirs;
pub(crate) mod cases;
pub(crate) mod common;
pub(crate) mod files;
pub(crate) mod human;
pub(crate) mod runs;
pub(crate) mod schedules;
pub mod shaped;
pub(crate) mod skill_folder;
pub(crate) mod skills;
pub(crate) mod started;

use crate::catalog::{Catalog, CatalogError};
use crate::client::ApiKey;
use crate::gateway::{CallOptions, Gateway, Outcome, RestFailure};
use allowed_dirs::LocalFiles;
use futures::future::BoxFuture;
use rmcp::RoleServer;
use rmcp::model::{CallToolResponse, CallToolResult, ErrorData, InputResponses, JsonObject, Tool};
use rmcp::service::RequestContext;
use serde_json::Value;
use started::StartedJobs;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

/// Runs a composite tool with validated arguments.
pub type Handler =
    for<'c> fn(&'c Call<'c>, JsonObject) -> BoxFuture<'c, Result<CallToolResponse, ErrorData>>;

/// A composite tool: where it is listed, its MCP definition, and the code that runs it.
#[derive(Debug)]
pub struct Composite {
    /// The toolset it is listed in.
    pub toolset: &'static str,
    /// Its MCP definition.
    pub tool: Tool,
    /// Its handler.
    pub run: Handler,
}

/// Every composite tool.
pub fn definitions() -> Vec<Composite> {
    vec![
        runs::run_assignment_composite(),
        runs::wait_for_run_composite(),
        files::upload_sandbox_files_composite(),
        skills::sync_skill_directory_composite(),
        skills::download_skill_composite(),
        cases::create_cases_composite(),
        schedules::list_schedules_composite(),
    ]
}

/// Adds every composite tool to `catalog` (called by the composition root).
pub fn register(catalog: &mut Catalog) -> Result<(), CatalogError> {
    for c in definitions() {
        catalog.add_composite(c.toolset, c.tool)?;
    }
    shaped::register(catalog)
}

/// The embedded REST catalog with every composite tool registered: the catalog a server lists.
pub fn full_catalog() -> Result<Catalog, CatalogError> {
    let mut catalog = Catalog::embedded()?;
    register(&mut catalog)?;
    Ok(catalog)
}

/// The handler of the composite tool `name`.
pub fn handler(name: &str) -> Option<Handler> {
    static HANDLERS: LazyLock<HashMap<String, Handler>> = LazyLock::new(|| {
        definitions()
            .into_iter()
            .map(|c| (c.tool.name.to_string(), c.run))
            .collect()
    });
    HANDLERS.get(name).copied()
}

/// What composite tools work with, shared by every call of a server (cheap to clone).
#[derive(Clone, Debug)]
pub struct Services {
    /// The one way to Duvo.
    pub gateway: Arc<Gateway>,
    /// Which local paths workflows may touch.
    pub local_files: LocalFiles,
    /// Jobs recent `runAssignment` calls started (a repeated identical call gets the same Job).
    pub started_jobs: Arc<StartedJobs>,
}

impl Services {
    /// Services over `gateway`, with local files refused.
    pub fn new(gateway: Arc<Gateway>) -> Self {
        Self {
            gateway,
            local_files: LocalFiles::disabled(),
            started_jobs: Arc::default(),
        }
    }
}

/// One composite tool call: the services, the caller's key and the MCP request context.
pub struct Call<'a> {
    /// Gateway, local files, started Jobs.
    pub services: &'a Services,
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
    /// Runs the REST operation `name` with `args`; its JSON answer, or the typed failure
    /// (`?` into a `CallToolResult` renders it).
    pub async fn op(&self, name: &str, args: Value) -> Result<Value, Box<RestFailure>> {
        self.services
            .gateway
            .call_json(name, args, CallOptions::with_key(self.key))
            .await
    }

    /// Runs the REST operation `name` with an optional `Idempotency-Key` (kept across the
    /// client's retries); Duvo's full answer (status, JSON or bytes), or the typed failure.
    pub async fn op_raw(
        &self,
        name: &str,
        args: Value,
        idempotency_key: Option<String>,
    ) -> Outcome {
        let opts = CallOptions {
            key: self.key,
            idempotency_key,
            file: None,
        };
        self.services.gateway.call(name, args, opts).await
    }

    /// Runs the multipart REST operation `name` with the file's bytes attached as they are.
    pub async fn op_upload(&self, name: &str, args: Value, file: bytes::Bytes) -> Outcome {
        let opts = CallOptions {
            key: self.key,
            idempotency_key: None,
            file: Some(file),
        };
        self.services.gateway.call(name, args, opts).await
    }
}

/// Runs the composite tool `name` with validated `args`.
pub async fn run(
    name: &str,
    call: &Call<'_>,
    args: JsonObject,
) -> Result<CallToolResponse, ErrorData> {
    match handler(name) {
        Some(run) => run(call, args).await,
        None if shaped::shaper(name).is_some() => shaped::run(name, call, args).await,
        None => Ok(
            CallToolResult::error(vec![rmcp::model::ContentBlock::text(format!(
                "internal: {name} has no handler"
            ))])
            .into(),
        ),
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
