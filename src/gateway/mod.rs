//! The gateway: the one way to perform a Duvo operation.
//!
//! Catalog entry + arguments → validated against the entry's schema → team resolved (through
//! the catalog's own `listMyTeams` entry) → mapped onto a request → sent through the shared
//! client (which owns the one retry policy) → a typed outcome: Duvo's answer, or a
//! [`RestFailure`] saying what failed (status, Duvo's code and message, transient or not, what
//! was sent). Nothing here renders text for the model: the server and the workflows do that
//! once, at their edge (`crate::render`). The gateway knows neither of them.

pub(crate) mod team;

use crate::catalog::{ArgumentError, Catalog, ToolEntry, mapping};
use crate::client::request::Method;
use crate::client::{ApiBody, ApiError, ApiKey, ApiResponse, DuvoClient};
use rmcp::model::JsonObject;
use serde_json::Value;
use std::sync::Arc;
use team::TeamResolver;

/// Resolves teams and performs catalog entries through the shared client.
#[derive(Debug)]
pub struct Gateway {
    catalog: arc_swap::ArcSwap<Catalog>,
    client: DuvoClient,
    teams: TeamResolver,
    passthrough_auth: bool,
}

/// How one operation is sent, beyond its arguments.
#[derive(Clone, Debug, Default)]
pub struct CallOptions<'a> {
    /// The caller's Duvo key (passthrough mode); `None` = the server's key.
    pub key: Option<&'a ApiKey>,
    /// `Idempotency-Key` to send (kept across the client's retries); `None` = a fresh one for
    /// mutating methods.
    pub idempotency_key: Option<String>,
    /// For a multipart entry: the file part's bytes, sent as they are (shared, never copied per
    /// attempt) instead of a `content_base64` argument.
    pub file: Option<bytes::Bytes>,
}

impl<'a> CallOptions<'a> {
    /// Options with the caller's key only.
    pub fn with_key(key: Option<&'a ApiKey>) -> Self {
        Self {
            key,
            ..Self::default()
        }
    }
}

/// The request that was (or would have been) sent, without credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentRequest {
    /// HTTP method.
    pub method: Method,
    /// Path below the base URL, as sent (`/v2/runs/…`).
    pub path: String,
}

/// Why an operation failed.
#[derive(Debug)]
pub enum FailureKind {
    /// Passthrough mode and the request carried no Duvo key; nothing was sent.
    NoKey,
    /// No REST operation of that name in the catalog (a defect in the caller); nothing was sent.
    UnknownOperation(String),
    /// The arguments do not fit the schema, or no team could be resolved; nothing was sent.
    Arguments(ArgumentError),
    /// The client gave up: Duvo's answer, or the transport failure, after its retries.
    Api(ApiError),
}

/// A failed operation, typed: render it with `crate::render::results::failure`.
#[derive(Debug)]
pub struct RestFailure {
    /// The entry that was called (`None` for an unknown operation).
    pub entry: Option<Arc<ToolEntry>>,
    /// The arguments it was called with.
    pub args: JsonObject,
    /// The request sent, when one was (absent when the failure came before sending).
    pub sent: Option<SentRequest>,
    /// What went wrong.
    pub kind: FailureKind,
}

impl RestFailure {
    /// Duvo's HTTP status, when it answered.
    pub fn status(&self) -> Option<u16> {
        match &self.kind {
            FailureKind::Api(e) => e.status(),
            _ => None,
        }
    }

    /// Duvo's error code, when it answered with one.
    pub fn code(&self) -> Option<&str> {
        match &self.kind {
            FailureKind::Api(e) => e.code(),
            _ => None,
        }
    }

    /// Duvo's error message, when it sent one.
    pub fn message(&self) -> Option<&str> {
        match &self.kind {
            FailureKind::Api(e) => e.message(),
            _ => None,
        }
    }

    /// True when a retry with the same `Idempotency-Key` may succeed ([`ApiError::is_transient`]).
    pub fn transient(&self) -> bool {
        matches!(&self.kind, FailureKind::Api(e) if e.is_transient())
    }

    /// The client's error, when the request was sent.
    pub fn api_error(&self) -> Option<&ApiError> {
        match &self.kind {
            FailureKind::Api(e) => Some(e),
            _ => None,
        }
    }
}

/// The outcome of one operation.
pub type Outcome = Result<ApiResponse, Box<RestFailure>>;

impl Gateway {
    /// A gateway over `catalog` and `client`; `team_id` is the configured team (else resolved
    /// per key, and shared through `shared` when it is Redis); with `passthrough_auth` every call
    /// must bring its caller's key.
    pub fn new(
        catalog: Arc<Catalog>,
        client: DuvoClient,
        team_id: Option<String>,
        passthrough_auth: bool,
        shared: crate::shared_state::SharedState,
    ) -> Self {
        Self {
            catalog: arc_swap::ArcSwap::new(catalog),
            client,
            teams: TeamResolver::new(team_id).with_shared(shared),
            passthrough_auth,
        }
    }

    /// The catalog it performs entries of (the one in use now: it is swapped when the live
    /// spec loads).
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog.load_full()
    }

    /// Uses `catalog` from now on (calls in flight finish with the entry they hold).
    pub fn swap_catalog(&self, catalog: Arc<Catalog>) {
        self.catalog.store(catalog);
    }

    /// The shared client (for callers that need its identity, e.g. `caller_digest`).
    pub fn client(&self) -> &DuvoClient {
        &self.client
    }

    /// Performs the REST operation `name` (even when a composite tool shadows it) with `args`
    /// (an object; anything else counts as no arguments).
    pub async fn call(&self, name: &str, args: Value, opts: CallOptions<'_>) -> Outcome {
        let args = match args {
            Value::Object(map) => map,
            _ => JsonObject::new(),
        };
        let Some(entry) = self.catalog.load().rest(name).cloned() else {
            return Err(Box::new(RestFailure {
                entry: None,
                args,
                sent: None,
                kind: FailureKind::UnknownOperation(name.to_owned()),
            }));
        };
        self.perform(&entry, args, opts).await
    }

    /// Like [`Gateway::call`], answering the JSON body (bytes answers become a short summary).
    pub async fn call_json(
        &self,
        name: &str,
        args: Value,
        opts: CallOptions<'_>,
    ) -> Result<Value, Box<RestFailure>> {
        let resp = self.call(name, args, opts).await?;
        Ok(match resp.body {
            ApiBody::Json(v) => v,
            ApiBody::Bytes { content_type, data } => serde_json::json!({
                "content_type": content_type,
                "size_bytes": data.len(),
            }),
        })
    }

    /// Performs one REST catalog entry: validate, resolve the team, map, send.
    pub async fn perform(
        &self,
        entry: &Arc<ToolEntry>,
        args: JsonObject,
        opts: CallOptions<'_>,
    ) -> Outcome {
        self.perform_keeping_args(entry, args, opts)
            .await
            .map(|(resp, _)| resp)
    }

    /// Like [`Gateway::perform`], handing the arguments back with the answer (a failure holds
    /// them too), so the caller can render the result without copying them first.
    pub async fn perform_keeping_args(
        &self,
        entry: &Arc<ToolEntry>,
        args: JsonObject,
        opts: CallOptions<'_>,
    ) -> Result<(ApiResponse, JsonObject), Box<RestFailure>> {
        let fail = |args: JsonObject, sent: Option<SentRequest>, kind: FailureKind| {
            Box::new(RestFailure {
                entry: Some(entry.clone()),
                args,
                sent,
                kind,
            })
        };
        if self.passthrough_auth && opts.key.is_none() && !self.client.has_default_key() {
            return Err(fail(args, None, FailureKind::NoKey));
        }
        let args = match validate(entry, args, opts.file.is_some()) {
            Ok(args) => args,
            Err((args, e)) => return Err(fail(args, None, FailureKind::Arguments(e))),
        };
        let team = if entry.needs_team(&args) {
            match self.team_for(opts.key).await {
                Ok(t) => Some(t),
                Err(msg) => {
                    return Err(fail(
                        args,
                        None,
                        FailureKind::Arguments(ArgumentError::NoTeam(msg)),
                    ));
                }
            }
        } else {
            None
        };
        let mut req = match mapping::map_with_file(entry, &args, team.as_deref(), opts.file) {
            Ok(req) => req,
            Err(e) => return Err(fail(args, None, FailureKind::Arguments(e))),
        };
        req.idempotency_key = opts.idempotency_key;
        match self.send(&req, opts.key).await {
            Ok(resp) => Ok((resp, args)),
            Err(err) => {
                tracing::debug!(tool = entry.name(), error = %err, "tool call failed");
                let sent = SentRequest {
                    method: req.method,
                    path: req.path,
                };
                Err(fail(args, Some(sent), FailureKind::Api(err)))
            }
        }
    }

    /// PUTs `data` to a presigned upload URL through the shared client (retrying 429, 5xx and
    /// connection errors); the HTTP status.
    pub async fn put_presigned(
        &self,
        url: &str,
        data: bytes::Bytes,
        content_type: &str,
    ) -> Result<u16, ApiError> {
        self.client.put_presigned(url, data, content_type).await
    }

    async fn send(
        &self,
        req: &crate::client::ApiRequest,
        key: Option<&ApiKey>,
    ) -> Result<ApiResponse, ApiError> {
        match key {
            Some(k) => self.client.send_as(k, req).await,
            None => self.client.send(req).await,
        }
    }

    /// The team for `key`: configured, cached, or asked with the catalog's `listMyTeams` entry.
    async fn team_for(&self, key: Option<&ApiKey>) -> Result<String, String> {
        self.teams
            .team_for(
                key,
                || self.client.caller_digest(key),
                || async {
                    let entry = self
                        .catalog
                        .load()
                        .rest(LIST_MY_TEAMS)
                        .cloned()
                        .ok_or_else(|| format!("the catalog has no {LIST_MY_TEAMS} operation"))?;
                    let req = mapping::map_validated(&entry, &JsonObject::new(), None)
                        .map_err(|e| e.to_string())?;
                    self.send(&req, key)
                        .await
                        .map(|resp| resp.body)
                        .map_err(|e| e.to_string())
                },
            )
            .await
    }
}

/// The catalog entry that lists the key's teams (used to resolve `{teamId}`).
const LIST_MY_TEAMS: &str = "listMyTeams";

/// Validates `args` without copying them (and, when the file's bytes are attached, with a
/// placeholder for the `content_base64` argument they replace); the arguments back, or them
/// and the problems.
fn validate(
    entry: &ToolEntry,
    args: JsonObject,
    file_attached: bool,
) -> Result<JsonObject, (JsonObject, ArgumentError)> {
    let placeholder = file_attached && entry.multipart.is_some();
    let mut args = args;
    if let Err(e) = mapping::normalize(entry, &mut args) {
        return Err((args, e));
    }
    let mut value = Value::Object(args);
    if placeholder && let Value::Object(map) = &mut value {
        map.insert("content_base64".into(), Value::String(String::new()));
    }
    let checked = mapping::validate_value(entry, &value);
    let mut args = match value {
        Value::Object(map) => map,
        _ => JsonObject::new(),
    };
    if placeholder {
        args.remove("content_base64");
    }
    match checked {
        Ok(()) => Ok(args),
        Err(e) => Err((args, e)),
    }
}
