//! Transports that carry MCP to the handler.

pub mod accept;
pub mod guard;
pub mod http;
pub mod limits;
pub mod lines;
pub mod metrics_route;
pub mod owners;
pub mod ready;
pub mod sse;
pub mod stdio;
pub mod unreadable;
