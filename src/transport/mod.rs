//! Transports that carry MCP to the handler.

pub mod guard;
pub mod http;
pub mod limits;
pub mod lines;
pub mod sse;
pub mod stdio;
pub mod unreadable;
