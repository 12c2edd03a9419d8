//! Transports that carry MCP to the handler.

pub mod stdio;
