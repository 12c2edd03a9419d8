//! duvo-mcp: the Duvo Public API as MCP tools.
//!
//! Layout: `app` (the composition root: configuration → client → catalog → server), `client`
//! (the one shared Duvo HTTP client), `catalog` (tools as data, argument mapping), `server` (the
//! MCP handler over the catalog), `workflows` (composite tools), `transport` (stdio, HTTP; they
//! take a built server factory), `cli` and `config` (flags and environment). The Duvo API
//! emulator behind `--demo` is the `duvo-emulator` crate (cargo feature `demo`).

pub mod app;
pub mod catalog;
pub mod cli;
pub mod cli_tools;
pub mod client;
pub mod config;
pub mod server;
pub mod transport;
pub mod workflows;
