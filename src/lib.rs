//! duvo-mcp: the Duvo Public API as MCP tools.
//!
//! Layout, lowest first: `client` (the one shared Duvo HTTP client: rate limits, retries,
//! redaction), `shared_state` (what replicas share: in-process or Redis), `catalog` (REST tools
//! as data from `tools/*.json`, argument mapping; it knows that composite tools exist, not their
//! code), `gateway` (the one way to perform a Duvo operation: validate, resolve the team, map,
//! send, typed outcome), `render` (answers and failures turned into model text, once, at the
//! edge), `workflows` (composite tools over the gateway, each definition beside its handler),
//! `server` (the MCP handler), `transport` (stdio, HTTP; they take a built server factory),
//! `app` (the composition root: configuration → client → catalog → gateway → server), `cli` and
//! `config` (flags and environment), `telemetry` (logs, metrics, traces), `tools_command` (the
//! `tools` subcommand's output). The Duvo API emulator behind `--demo` is the `duvo-emulator`
//! crate (cargo feature `demo`); the conformance fixtures are the `duvo-mcp-conformance` crate.

pub mod app;
pub mod catalog;
pub mod cli;
pub mod client;
pub mod config;
pub mod gateway;
pub mod healthcheck;
pub mod memory;
pub mod render;
pub mod server;
pub mod shared_state;
pub mod telemetry;
pub mod tools_command;
pub mod transport;
pub mod workflows;
