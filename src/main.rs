//! `duvo-mcp`: the command line.

use anyhow::Context;
use clap::{Parser, Subcommand};
use duvo_mcp::catalog::Catalog;
use duvo_mcp::client::{ApiKey, ClientConfig, DuvoClient};
use duvo_mcp::config::{ConnectionArgs, FilterArgs, LocalArgs, parse_base_url};
use duvo_mcp::server::{DuvoServer, ServerOptions, ServerState};
use duvo_mcp::{cli_tools, emulator, transport};
use std::net::SocketAddr;
use std::sync::Arc;

/// `--version`: the crate version, the git commit and the build date (recorded by `build.rs`).
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
    },
    /// Serve MCP over HTTP: Streamable HTTP at /mcp, legacy SSE at /sse, health at /healthz.
    Http(transport::http::HttpArgs),
    /// Run the Duvo API emulator alone; prints its base URL and a demo key on stderr.
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
        #[command(flatten)]
        faults: emulator::faults::FaultArgs,
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
    },
}

fn main() -> std::process::ExitCode {
    init_logging();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(run(cli));
    // A blocking stdin read cannot be cancelled: leave without waiting for it.
    runtime.shutdown_background();
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("duvo-mcp: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DUVO_MCP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,duvo_mcp=info"));
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(filter)
        .init();
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Stdio {
        connection: ConnectionArgs::default(),
        filter: FilterArgs::default(),
        local: LocalArgs::default(),
    }) {
        Command::Stdio {
            connection,
            filter,
            local,
        } => serve_stdio(connection, filter, local).await,
        Command::Http(args) => transport::http::run(args).await,
        Command::Healthcheck(args) => duvo_mcp::healthcheck::run(args).await,
        Command::Emulator {
            listen,
            time_scale,
            rate_limit,
            faults,
        } => run_emulator(listen, time_scale, rate_limit, faults).await,
        Command::Tools {
            json,
            stats,
            markdown,
            filter,
        } => {
            let catalog = Catalog::embedded()?;
            let selection = filter.selection()?;
            let enabled = catalog.select(&selection)?;
            let ro = selection.read_only;
            let text = if json {
                cli_tools::json(&enabled, ro)?
            } else if stats {
                cli_tools::stats(&catalog, &enabled, ro)?
            } else if markdown {
                cli_tools::markdown(&enabled, ro)
            } else {
                cli_tools::table(&enabled, ro)
            };
            cli_tools::write_stdout(&text)
        }
    }
}

async fn serve_stdio(
    connection: ConnectionArgs,
    filter: FilterArgs,
    local: LocalArgs,
) -> anyhow::Result<()> {
    // Local files only on stdio (the server runs as the user), below the allowed directories.
    let local_files =
        duvo_mcp::workflows::local::LocalFiles::stdio(&local.dirs()).map_err(anyhow::Error::msg)?;
    let catalog = Arc::new(Catalog::embedded()?);
    let selection = filter.selection()?;
    catalog.select(&selection)?;
    let mut _demo = None;
    let (client_config, team_id) = if connection.demo {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the demo emulator")?;
        let emu = emulator::start(listener, emulator::EmulatorConfig::default()).await?;
        tracing::info!(
            base_url = emu.base_url(),
            "demo mode: using the built-in Duvo emulator"
        );
        let config = ClientConfig::new(
            parse_base_url(emu.base_url())?,
            Some(ApiKey::new(emu.demo_key())),
        );
        _demo = Some(emu);
        (config, Some(emulator::DEMO_TEAM_ID.to_owned()))
    } else {
        let c = connection.resolve()?;
        (c.client, c.team_id)
    };
    let client = DuvoClient::new(client_config)?;
    let options = ServerOptions {
        team_id,
        passthrough_auth: false,
    };
    let state =
        ServerState::new(catalog, selection, client, options)?.with_local_files(local_files);
    tracing::info!(
        tools = state.listed_tools().len(),
        "duvo-mcp serving MCP on stdio"
    );
    transport::stdio::serve(DuvoServer::new(Arc::new(state))).await
}

async fn run_emulator(
    listen: SocketAddr,
    time_scale: f64,
    rate_limit: u32,
    faults: emulator::faults::FaultArgs,
) -> anyhow::Result<()> {
    let faults = faults.profile().map_err(anyhow::Error::msg)?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let config = emulator::EmulatorConfig {
        time_scale,
        rate_limit_per_minute: rate_limit,
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
