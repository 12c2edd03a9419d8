//! `duvo-mcp-conformance`: the fixtures of the official MCP conformance suite in front of the
//! Duvo tools, served through duvo-mcp's HTTP transport. Takes the flags of `duvo-mcp http`
//! (`--demo`, `--listen`, …); `tests/external/run.sh` runs the suite against it.

mod fixtures;

use clap::Parser;
use duvo_mcp::app::App;
use duvo_mcp::cli::HttpArgs;
use duvo_mcp::transport::http::{Banner, HttpServer};
use fixtures::FixtureServer;

/// Fixture server for the MCP conformance suite (the flags of `duvo-mcp http`).
#[derive(Parser, Debug)]
#[command(name = "duvo-mcp-conformance", version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    http: HttpArgs,
}

fn main() -> std::process::ExitCode {
    let _telemetry = duvo_mcp::telemetry::init(duvo_mcp::telemetry::LogFormat::Text);
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
    let outcome = runtime.block_on(run(cli.http));
    runtime.shutdown_background();
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("duvo-mcp-conformance: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

/// The fixtures' own server factory: every session gets the fixtures over the Duvo server.
async fn run(args: HttpArgs) -> anyhow::Result<()> {
    let server = HttpServer::bind(&args.settings()).await?;
    let app = App::build(args.app_settings()?).await?;
    let fixtures = FixtureServer::new(Some(app.server()));
    let banner = Banner {
        tools: app.tools(),
        upstream: app.upstream().to_owned(),
        notes: vec!["conformance fixtures: on".to_owned()],
    };
    let outcome = server.serve(move || fixtures.clone(), banner).await;
    app.shutdown().await;
    outcome
}
