//! Transports that carry MCP to the handler. They receive a built [`ServerFactory`] (from the
//! composition root, [`crate::app`]) and plain settings; they know nothing of the command line,
//! the demo emulator or the conformance fixtures.

pub mod accept;
pub mod guard;
pub mod http;
pub mod limits;
pub mod lines;
pub mod malformed;
pub mod metrics_route;
pub mod oauth;
pub mod owners;
pub mod ready;
pub mod sse;
pub mod stdio;

/// Makes the MCP handler a session (or a stateless request, or an SSE connection) is served by.
///
/// Any `Fn() -> H` closure is one; [`crate::app::App::factory`] builds the product's.
pub trait ServerFactory: Clone + Send + Sync + 'static {
    /// The handler made.
    type Handler: rmcp::ServerHandler + Clone;
    /// A handler for one session.
    fn make(&self) -> Self::Handler;
}

impl<F, H> ServerFactory for F
where
    F: Fn() -> H + Clone + Send + Sync + 'static,
    H: rmcp::ServerHandler + Clone,
{
    type Handler = H;
    fn make(&self) -> H {
        self()
    }
}
