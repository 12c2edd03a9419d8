//! Turning Duvo answers and failures into what the model reads: tool results, explained
//! errors, untrusted-text fences, resource links and tool input schemas. Shared by the server
//! and the workflows (a leaf below both); rendering happens here, once, at the edge.

pub(crate) mod links;
pub mod results;
pub mod schema;
pub(crate) mod untrusted;
