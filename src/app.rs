//! The composition root: configuration → Duvo client → catalog → server, written once.
//!
//! `duvo-mcp stdio`, `duvo-mcp http`, the conformance fixture server, the in-process tests and
//! the benches all build their server here; the transports only receive the result as a
//! [`ServerFactory`](crate::transport::ServerFactory). The demo wiring (start the built-in
//! emulator, point the client at it) lives here too, behind the `demo` cargo feature.

use crate::catalog::Selection;
use crate::catalog::source::{self, SpecSource};
use crate::client::{ClientConfig, DuvoClient, redact};
use crate::config::{ConnectionArgs, DEFAULT_BASE_URL, env, parse_base_url};
use crate::server::{DuvoServer, ServerOptions, ServerState};
use crate::shared_state::SharedState;
use crate::transport::ServerFactory;
use crate::workflows::allowed_dirs::LocalFiles;
use std::sync::Arc;

/// What `--demo` answers in a build without the emulator.
pub const NO_DEMO: &str = "--demo needs the built-in Duvo emulator, which this build of duvo-mcp \
     leaves out (it was built with --no-default-features). Rebuild with the default features \
     (`cargo build --release`, or `cargo install --path .`) or add `--features demo`";

/// Where the server's Duvo calls go.
#[derive(Debug)]
pub enum Upstream {
    /// The built-in emulator, started in-process (needs the `demo` feature).
    Demo,
    /// A Duvo API (the real one, or any base URL).
    Api {
        /// Base URL, key (`None` when every caller brings its own: passthrough), retries.
        client: Box<ClientConfig>,
        /// Team for team-scoped calls when the caller names none.
        team_id: Option<String>,
    },
}

impl Upstream {
    /// Resolves `--demo`, `--base-url`, `--team-id` and the environment. With `passthrough` no
    /// server key is needed (each caller brings one).
    pub fn from_args(args: &ConnectionArgs, passthrough: bool) -> anyhow::Result<Self> {
        if args.demo {
            // Without the `demo` feature `App::build` refuses it (after checking the selection).
            return Ok(Self::Demo);
        }
        if !passthrough {
            let c = args.resolve()?;
            return Ok(Self::Api {
                client: Box::new(c.client),
                team_id: c.team_id,
            });
        }
        let raw = args
            .base_url
            .clone()
            .or_else(|| env("DUVO_API_BASE_URL"))
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
        let base_url = parse_base_url(&raw)?;
        let team_id = args.team_id.clone().or_else(|| env("DUVO_TEAM_ID"));
        if let Some(t) = &team_id {
            tracing::warn!(
                team = %t,
                "passthrough with a fixed team: every caller's calls default to this team; \
                 leave DUVO_TEAM_ID unset to resolve each caller's own team"
            );
        }
        Ok(Self::Api {
            client: Box::new(ClientConfig::new(base_url, None)),
            team_id,
        })
    }
}

/// Everything the root needs to build a server.
#[derive(Debug)]
pub struct AppSettings {
    /// Where calls go.
    pub upstream: Upstream,
    /// Which tools are exposed.
    pub selection: Selection,
    /// Each HTTP request brings its own Duvo key (multi-tenant HTTP).
    pub passthrough_auth: bool,
    /// OAuth resource-server mode: callers without a `dv_` key use the server's key, so the
    /// demo keeps its key even with `passthrough_auth`.
    pub oauth: bool,
    /// Local directories the workflows may use (stdio only; disabled elsewhere).
    pub local_files: LocalFiles,
    /// Further secrets to mask in upstream strings (e.g. the inbound HTTP token).
    pub secrets: Vec<String>,
    /// What replicas share (rate budget, team cache, started Jobs): Redis, or in-process.
    pub shared: SharedState,
    /// Where the OpenAPI spec comes from; `None` = the default (Duvo's live spec, or the demo
    /// emulator's `/openapi.json`). The server starts on the embedded catalog at once and
    /// swaps in the spec's catalog when it has loaded (in the background).
    pub spec: Option<SpecSource>,
}

impl AppSettings {
    /// Settings for `upstream` with every tool selection default, no local files, no passthrough.
    pub fn new(upstream: Upstream) -> Self {
        Self {
            upstream,
            selection: Selection::default(),
            passthrough_auth: false,
            oauth: false,
            local_files: LocalFiles::disabled(),
            secrets: Vec::new(),
            shared: SharedState::in_process(),
            spec: Some(SpecSource::Bundled),
        }
    }
}

/// A built server and what it runs on.
pub struct App {
    server: DuvoServer,
    tools: usize,
    upstream: String,
    base_url: url::Url,
    spec_task: Option<tokio::task::JoinHandle<()>>,
    #[cfg(feature = "demo")]
    emulator: Option<duvo_emulator::RunningEmulator>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("tools", &self.tools)
            .field("upstream", &self.upstream)
            .finish_non_exhaustive()
    }
}

impl App {
    /// Builds the server: starts the demo emulator if asked, makes the one shared client, loads
    /// the catalog and applies the selection (once: unknown names are errors here).
    pub async fn build(settings: AppSettings) -> anyhow::Result<Self> {
        let AppSettings {
            upstream,
            selection,
            passthrough_auth,
            oauth,
            local_files,
            secrets,
            shared,
            spec,
        } = settings;
        let mut spec_source = spec;
        #[cfg(feature = "demo")]
        let mut emulator = None;
        let (config, team_id, shown) = match upstream {
            Upstream::Api { client, team_id } => {
                let shown = format!("Duvo at {}", redact::display_url(&client.base_url));
                // Another API root than Duvo's (an emulator, a proxy): its own spec by default.
                if spec_source.is_none()
                    && client.base_url.as_str().trim_end_matches('/') != DEFAULT_BASE_URL
                {
                    let mut url = client.base_url.clone();
                    url.set_path("/openapi.json");
                    url.set_query(None);
                    let _ = url.set_username("");
                    let _ = url.set_password(None);
                    spec_source = Some(SpecSource::Url(url.to_string()));
                }
                (*client, team_id, shown)
            }
            #[cfg(feature = "demo")]
            Upstream::Demo => {
                let emu = start_demo().await?;
                let base_url = parse_base_url(emu.base_url())?;
                // Passthrough: callers bring keys (the emulator accepts any dv_… key) and the
                // team is resolved per key; otherwise the demo key and team.
                // With OAuth too, OAuth callers use the demo key and `dv_` callers their own, so
                // the team is resolved per key.
                let key = (!passthrough_auth || oauth)
                    .then(|| crate::client::ApiKey::new(emu.demo_key()));
                let team = (!passthrough_auth).then(|| duvo_emulator::DEMO_TEAM_ID.to_owned());
                let shown = format!("the built-in demo emulator at {}", emu.base_url());
                if spec_source.is_none() {
                    spec_source = Some(SpecSource::Url(format!("{}/openapi.json", emu.base_url())));
                }
                emulator = Some(emu);
                (ClientConfig::new(base_url, key), team, shown)
            }
            #[cfg(not(feature = "demo"))]
            Upstream::Demo => {
                // Only the demo needs to know whether OAuth is on.
                let _ = oauth;
                // Report a wrong tool name first, as the default build does.
                crate::workflows::full_catalog()?.select(&selection)?;
                anyhow::bail!(NO_DEMO)
            }
        };
        let mut config = secrets
            .iter()
            .filter(|s| !s.trim().is_empty())
            .fold(config, |c, s| c.with_secret(s));
        config.shared = shared.clone();
        let client = DuvoClient::new(config)?;
        let base_url = client.base_url().clone();
        // REST tools from tools/*.json plus the composite tools, registered here.
        let catalog = Arc::new(crate::workflows::full_catalog()?);
        let options = ServerOptions {
            team_id,
            passthrough_auth,
            shared,
        };
        // With a spec to load, a toolset or tool the bundled catalog lacks may be one of its
        // generated ones: warn and apply it once the spec is in (a typo stays a warning).
        let awaiting_spec = !matches!(spec_source, Some(SpecSource::Bundled));
        let state = match catalog
            .select(&selection)
            .and_then(|_| catalog.allowed(&selection))
        {
            Err(e) if awaiting_spec => {
                tracing::warn!(
                    "{e}; left out until Duvo's OpenAPI spec has loaded (it may add that name)"
                );
                ServerState::new_awaiting_spec(catalog, selection, client, options)?
            }
            _ => ServerState::new(catalog, selection, client, options)?,
        }
        .with_local_files(local_files);
        let tools = state.listed_tools().len();
        let state = Arc::new(state);
        let spec_source =
            spec_source.unwrap_or_else(|| SpecSource::Url(source::DEFAULT_OPENAPI_URL.to_owned()));
        let spec_task = load_in_background(state.clone(), spec_source);
        Ok(Self {
            server: DuvoServer::new(state),
            spec_task,
            tools,
            upstream: shown,
            base_url,
            #[cfg(feature = "demo")]
            emulator,
        })
    }

    /// The server (cheap to clone: every clone shares the client and the catalog).
    pub fn server(&self) -> DuvoServer {
        self.server.clone()
    }

    /// A factory handing each session a clone of the server.
    pub fn factory(&self) -> impl ServerFactory<Handler = DuvoServer> + use<> {
        let server = self.server.clone();
        move || server.clone()
    }

    /// How many tools `tools/list` shows.
    pub fn tools(&self) -> usize {
        self.tools
    }

    /// The Duvo API root calls go to (for the readiness probe; may hold user info: never print
    /// it as it is).
    pub fn base_url(&self) -> &url::Url {
        &self.base_url
    }

    /// Where calls go, for banners and logs (no credentials).
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// Waits until the background spec load has finished (swapped or kept the catalog); for
    /// tests and `duvo-mcp tools`.
    pub async fn spec_loaded(&mut self) {
        if let Some(task) = self.spec_task.take() {
            let _ = task.await;
        }
    }

    /// Stops the demo emulator, if one was started.
    pub async fn shutdown(self) {
        if let Some(task) = &self.spec_task {
            task.abort();
        }
        #[cfg(feature = "demo")]
        if let Some(emu) = self.emulator {
            emu.shutdown().await;
        }
    }
}

/// How long after start the background spec load begins.
const LOAD_DELAY: std::time::Duration = std::time::Duration::from_millis(500);

/// Loads the spec from `source` in the background (bounded by `DUVO_OPENAPI_TIMEOUT`) and swaps
/// in its catalog when that changes what clients can list or call. Never fails: a spec that
/// cannot be loaded or used leaves the embedded catalog in place (logged).
fn load_in_background(
    state: Arc<ServerState>,
    source: SpecSource,
) -> Option<tokio::task::JoinHandle<()>> {
    if source == SpecSource::Bundled {
        tracing::info!(
            source = "bundled",
            "OpenAPI spec: the bundled snapshot (pinned)"
        );
        return None;
    }
    Some(tokio::spawn(async move {
        // Let the server finish starting (and the first client its handshake) before the load
        // competes for the CPU: start-up stays as fast as with the bundled catalog alone.
        tokio::time::sleep(LOAD_DELAY).await;
        let Some(loaded) = source::load(&source, source::timeout_from_env()).await else {
            return;
        };
        let built = tokio::task::spawn_blocking(move || spec_catalog(loaded)).await;
        match built {
            Ok(Ok(catalog)) => {
                let generated = catalog.entries().iter().filter(|e| e.generated).count();
                let removed = catalog.diff().removed_operations.len();
                match state.swap_catalog(Arc::new(catalog)) {
                    Ok(changed) => tracing::info!(
                        changed,
                        generated,
                        removed,
                        "catalog from the OpenAPI spec in use"
                    ),
                    Err(e) => tracing::warn!(error = %e, "keeping the bundled catalog"),
                }
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "keeping the bundled catalog"),
            Err(e) => tracing::warn!(error = %e, "keeping the bundled catalog"),
        }
        // The parsed spec and the catalog it replaced are freed now: hand the pages back.
        crate::memory::release_freed_heap();
    }))
}

/// The catalog for a loaded spec, composite tools included.
pub fn spec_catalog(loaded: source::LoadedSpec) -> anyhow::Result<crate::catalog::Catalog> {
    let mut catalog = crate::catalog::Catalog::from_spec(&loaded.doc, loaded.origin)?;
    crate::workflows::register(&mut catalog)?;
    Ok(catalog)
}

/// Starts the built-in emulator on a free loopback port.
#[cfg(feature = "demo")]
async fn start_demo() -> anyhow::Result<duvo_emulator::RunningEmulator> {
    use anyhow::Context;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding the demo emulator")?;
    let emu = duvo_emulator::start(listener, duvo_emulator::EmulatorConfig::default()).await?;
    tracing::info!(
        base_url = emu.base_url(),
        "demo mode: using the built-in Duvo emulator"
    );
    Ok(emu)
}
