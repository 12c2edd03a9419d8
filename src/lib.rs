//! duvo-mcp: the Duvo Public API as MCP tools.
//!
//! Layout, lowest first: `client` (the one shared Duvo HTTP client: rate limits, retries,
//! redaction), `catalog` (REST tools as data from `tools/*.json`, argument mapping; it knows that
//! composite tools exist, not their code), `gateway` (the one way to perform a Duvo operation:
//! validate, resolve the team, map, send, typed outcome), `render` (answers and failures turned
//! into model text, once, at the edge), `workflows` (composite tools over the gateway, each
//! definition beside its handler), `server` (the MCP handler), `transport` (stdio, HTTP),
//! `config` (CLI and environment), `tools_command` (the `tools` subcommand's output), plus the
//! `emulator` and `conformance` fixtures used by `--demo` and the tests.

pub mod catalog;
pub mod client;
pub mod config;
pub mod conformance;
pub mod emulator;
pub mod gateway;
pub mod render;
pub mod server;
pub mod shared_state;
pub mod telemetry;
pub mod tools_command;
pub mod transport;
pub mod workflows;
