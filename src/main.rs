//! `duvo-mcp`: the command line.

#[cfg(feature = "demo")]
use anyhow::Context;
use clap::{Parser, Subcommand};
use duvo_mcp::app::{App, AppSettings, Upstream};
use duvo_mcp::catalog::source::{self, SpecArgs, SpecSource};
use duvo_mcp::cli::HttpArgs;
use duvo_mcp::config::{ConnectionArgs, FilterArgs, LocalArgs};
use duvo_mcp::tools_command;
use duvo_mcp::transport::http::{Banner, HttpServer};
use duvo_mcp::transport::stdio;
#[cfg(feature = "demo")]
use std::net::SocketAddr;

/// `--version`: the crate version, the git commit and the build date (recorded by `build/main.rs`).
static VERSION: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    // Placeholder vergen emits when git or the date was not available at build time.
    let known = |v: &'static str| {
        if v.starts_with("VERGEN_") {
            "unknown"
        } else {
            v
        }
    };
    format!(
        "{} (commit {}, built {})",
        env!("CARGO_PKG_VERSION"),
        known(env!("VERGEN_GIT_SHA")),
        known(env!("VERGEN_BUILD_DATE"))
    )
});

/// MCP server for the Duvo Public API.
#[derive(Parser, Debug)]
#[command(name = "duvo-mcp", version = VERSION.as_str(), about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Log line format on stderr: `text` or `json` (one object per line).
    #[arg(
        long,
        global = true,
        env = "DUVO_MCP_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    log_format: duvo_mcp::telemetry::LogFormat,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve MCP over stdio (the default).
    Stdio {
        #[command(flatten)]
        connection: ConnectionArgs,
        #[command(flatten)]
        filter: FilterArgs,
        #[command(flatten)]
        local: LocalArgs,
        #[command(flatten)]
        spec: SpecArgs,
    },
    /// Serve MCP over HTTP: Streamable HTTP at /mcp, legacy SSE at /sse, health at /healthz.
    Http(Box<HttpArgs>),
    /// Run the Duvo API emulator alone; prints its base URL and a demo key on stderr.
    #[cfg(feature = "demo")]
    Emulator {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8900")]
        listen: SocketAddr,
        /// Multiplier on simulated Job durations (1.0 lifelike, 0.01 for tests).
        #[arg(long, default_value_t = 1.0)]
        time_scale: f64,
        /// Requests per minute per key before 429.
        #[arg(long, default_value_t = 300)]
        rate_limit: u32,
        /// Seconds per rate-limit window (60 like Duvo; shorter for quick tests).
        #[arg(long, default_value_t = 60)]
        rate_window: u32,
        #[command(flatten)]
        faults: duvo_emulator::faults::FaultArgs,
        /// Emulate this OpenAPI spec instead of the bundled one: its operations without a
        /// stateful model get spec-driven answers, operations it lacks answer 404.
        #[arg(long, value_name = "FILE")]
        spec: Option<std::path::PathBuf>,
    },
    /// Run the Duvo API emulator alone (not in this build: it needs the `demo` feature).
    #[cfg(not(feature = "demo"))]
    Emulator {
        /// Ignored: the emulator is not in this build.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        args: Vec<String>,
    },
    /// Exit 0 if a running `duvo-mcp http` answers GET /healthz (container health checks).
    Healthcheck(duvo_mcp::healthcheck::HealthArgs),
    /// Print the effective tool list (after the filters).
    Tools {
        /// Full JSON: name, toolset, title, description, annotations, input schema.
        #[arg(long)]
        json: bool,
        /// Tools and bytes of `tools/list` JSON per toolset.
        #[arg(long, conflicts_with = "json")]
        stats: bool,
        /// A Markdown table (the README's tool list).
        #[arg(long, conflicts_with_all = ["json", "stats"])]
        markdown: bool,
        #[command(flatten)]
        filter: FilterArgs,
        #[command(flatten)]
        spec: SpecArgs,
        /// Every operation of the spec generated, the overlay (tools/*.json) ignored: for the
        /// generator's tests.
        #[arg(long, hide = true)]
        generate_all: bool,
    },
    /// The catalog against Duvo's OpenAPI spec.
    #[command(subcommand)]
    Catalog(CatalogCommand),
}

#[derive(Subcommand, Debug)]
enum CatalogCommand {
    /// Added, removed and changed operations and arguments between the spec and the overlay
    /// (tools/*.json). Exit 1 when the overlay names operations the spec lacks.
    Diff {
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        spec: SpecArgs,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // Logs (text or JSON, stderr) and OTLP traces when OTEL_EXPORTER_OTLP_ENDPOINT is set;
    // before the runtime: the OTLP exporter owns a blocking HTTP client.
    let telemetry = duvo_mcp::telemetry::init(cli.log_format);
    // stdio serves one client: the main thread runs it (a worker per core cost their stacks and
    // start-up time: benches/duvo/PROFILE.md); blocking work still goes to tokio's blocking
    // pool. `http`, `emulator` and the rest keep a worker per core.
    let mut builder = if matches!(cli.command, None | Some(Command::Stdio { .. })) {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(run(cli));
    // A blocking stdin read cannot be cancelled: leave without waiting for it.
    runtime.shutdown_background();
    telemetry.shutdown();
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("duvo-mcp: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Stdio {
        connection: ConnectionArgs::default(),
        filter: FilterArgs::default(),
        local: LocalArgs::default(),
        spec: SpecArgs::default(),
    }) {
        Command::Stdio {
            connection,
            filter,
            local,
            spec,
        } => serve_stdio(connection, filter, local, spec).await,
        Command::Http(args) => serve_http(*args).await,
        Command::Healthcheck(args) => duvo_mcp::healthcheck::run(args).await,
        #[cfg(feature = "demo")]
        Command::Emulator {
            listen,
            time_scale,
            rate_limit,
            rate_window,
            faults,
            spec,
        } => run_emulator(listen, time_scale, (rate_limit, rate_window), faults, spec).await,
        #[cfg(not(feature = "demo"))]
        Command::Emulator { .. } => anyhow::bail!(
            "the Duvo API emulator is not in this build of duvo-mcp (built with \
             --no-default-features). Rebuild with the default features (`cargo build --release`) \
             or add `--features demo`; the emulator itself is the workspace crate `duvo-emulator`"
        ),
        Command::Tools {
            json,
            stats,
            markdown,
            filter,
            spec,
            generate_all,
        } => {
            let source = spec
                .choice()
                .unwrap_or_else(|| SpecSource::Url(source::DEFAULT_OPENAPI_URL.to_owned()));
            let catalog = if generate_all {
                let loaded = source::load_strict(&source, source::timeout_from_env())
                    .await
                    .map_err(|e| anyhow::anyhow!("loading the OpenAPI spec: {e}"))?;
                duvo_mcp::catalog::Catalog::from_spec_with(&[], &loaded.doc, loaded.origin)?
            } else {
                match source::load(&source, source::timeout_from_env()).await {
                    Some(loaded) => duvo_mcp::app::spec_catalog(loaded)?,
                    None => duvo_mcp::workflows::full_catalog()?,
                }
            };
            let selection = filter.selection()?;
            let enabled = catalog.select(&selection)?;
            let ro = selection.read_only;
            let text = if json {
                tools_command::json(&enabled, ro)?
            } else if stats {
                tools_command::stats(&catalog, &enabled, ro)?
            } else if markdown {
                tools_command::markdown(&enabled, ro)
            } else {
                tools_command::table(&enabled, ro)
            };
            tools_command::write_stdout(&text)
        }
        Command::Catalog(CatalogCommand::Diff { json, spec }) => {
            let source = spec
                .choice()
                .unwrap_or_else(|| SpecSource::Url(source::DEFAULT_OPENAPI_URL.to_owned()));
            let loaded = source::load_strict(&source, source::timeout_from_env())
                .await
                .map_err(|e| anyhow::anyhow!("loading the OpenAPI spec: {e}"))?;
            let catalog = duvo_mcp::catalog::Catalog::from_spec(&loaded.doc, loaded.origin)?;
            let diff = catalog.diff();
            let text = if json {
                serde_json::to_string_pretty(diff)?
            } else {
                diff.table()
            };
            tools_command::write_stdout(&text)?;
            if !diff.removed_operations.is_empty() {
                // A scheduled check fails: the overlay names operations the spec lacks.
                std::process::exit(1);
            }
            Ok(())
        }
    }
}

async fn serve_stdio(
    connection: ConnectionArgs,
    filter: FilterArgs,
    local: LocalArgs,
    spec: SpecArgs,
) -> anyhow::Result<()> {
    // Local files only on stdio (the server runs as the user), below the allowed directories.
    let local_files = duvo_mcp::workflows::allowed_dirs::LocalFiles::stdio(&local.dirs())
        .map_err(anyhow::Error::msg)?;
    let settings = AppSettings {
        selection: filter.selection()?,
        local_files,
        spec: spec.choice(),
        ..AppSettings::new(Upstream::from_args(&connection, false)?)
    };
    let app = App::build(settings).await?;
    tracing::info!(tools = app.tools(), "duvo-mcp serving MCP on stdio");
    let outcome = stdio::serve(app.factory()).await;
    app.shutdown().await;
    outcome
}

async fn serve_http(args: HttpArgs) -> anyhow::Result<()> {
    let server = HttpServer::bind(&args.settings()).await?;
    let shared = args.shared_state().await?;
    let settings = AppSettings {
        shared: shared.clone(),
        ..args.app_settings()?
    };
    let app = App::build(settings).await?;
    // Readiness: Duvo reachable (a probe that costs no rate budget), Redis when configured.
    let mut server = server.with_readiness(std::sync::Arc::new(
        duvo_mcp::transport::ready::UpstreamProbe::new(app.base_url())
            .map_err(|e| anyhow::anyhow!("building the readiness probe: {e}"))?,
    ));
    if shared.is_configured() {
        server = server.with_readiness(std::sync::Arc::new(
            duvo_mcp::transport::ready::SharedStateCheck(shared),
        ));
    }
    // OAuth mode: a `duvo:read` token calling a tool that changes data gets 403 (step-up).
    let state = app.server().state().clone();
    let server = server.with_write_judge(std::sync::Arc::new(move |name, args| {
        state.needs_write(name, args)
    }));
    let banner = Banner {
        tools: app.tools(),
        upstream: app.upstream().to_owned(),
        notes: Vec::new(),
    };
    let outcome = server.serve(app.factory(), banner).await;
    app.shutdown().await;
    outcome
}

#[cfg(feature = "demo")]
async fn run_emulator(
    listen: SocketAddr,
    time_scale: f64,
    (rate_limit, rate_window): (u32, u32),
    faults: duvo_emulator::faults::FaultArgs,
    spec: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    use duvo_emulator as emulator;
    if let Some(path) = spec {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading the spec {}", path.display()))?;
        emulator::spec::use_spec(text).map_err(anyhow::Error::msg)?;
    }
    let faults = faults.profile().map_err(anyhow::Error::msg)?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let config = emulator::EmulatorConfig {
        time_scale,
        rate_limit_per_minute: rate_limit,
        rate_window_secs: rate_window,
        faults,
        ..emulator::EmulatorConfig::default()
    };
    let emu = emulator::start(listener, config).await?;
    eprintln!("Duvo emulator listening on {}", emu.base_url());
    eprintln!("  DUVO_API_BASE_URL={}", emu.base_url());
    eprintln!(
        "  DUVO_API_KEY={}   (demo key; any dv_… key works)",
        emu.demo_key()
    );
    eprintln!("  team: {}", emulator::DEMO_TEAM_ID);
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    emu.shutdown().await;
    Ok(())
}
