//! duvo-mcp: the Duvo Public API as MCP tools.
//!
//! Layout: `client` (the one shared Duvo HTTP client), `catalog` (tools as data, argument
//! mapping), `server` (the MCP handler over the catalog), `transport` (stdio, HTTP),
//! `emulator` (an in-memory Duvo API for demos and tests).

pub mod catalog;
pub mod cli_tools;
pub mod client;
pub mod config;
pub mod conformance;
pub mod emulator;
pub mod healthcheck;
pub mod server;
pub mod transport;
pub mod workflows;
