//! The two always-listed tools: `searchTools` (find any tool) and `callTool` (run it).

use crate::render::schema::inline_schema;
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use schemars::JsonSchema;
use serde::Deserialize;
use std::sync::Arc;

/// Name of the search tool.
pub const SEARCH_TOOLS: &str = "searchTools";
/// Name of the call tool.
pub const CALL_TOOL: &str = "callTool";
/// Name of the read-only call tool: runs only tools annotated read-only, so hosts that confirm
/// mutating or destructive tools need not prompt for reads made through it.
pub const CALL_READ_TOOL: &str = "callReadTool";

/// Arguments of `searchTools`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchToolsArgs {
    /// What you want to do, in a few words (e.g. "push cases to a queue").
    pub query: String,
    /// How many tools to return (default 5).
    #[schemars(range(min = 1, max = 20))]
    pub limit: Option<u8>,
}

/// Arguments of `callTool`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallToolArgs {
    /// Tool name, as returned by searchTools.
    pub name: String,
    /// The tool's arguments, as its inputSchema describes.
    #[serde(default)]
    pub arguments: JsonObject,
}

/// The `searchTools` definition.
pub fn search_tool() -> Tool {
    Tool::new(
        SEARCH_TOOLS,
        "Finds Duvo tools beyond the listed ones (queue labels, connections, secrets, files, \
         triggers, folders, revisions …). Returns the best match with its inputSchema, the rest \
         with their required arguments; run a read-only one with callReadTool, others with \
         callTool.",
        Arc::new(inline_schema::<SearchToolsArgs>()),
    )
    .with_title("Search Duvo tools")
    .with_annotations(
        ToolAnnotations::with_title("Search Duvo tools")
            .read_only(true)
            .destructive(false)
            .idempotent(true)
            .open_world(false),
    )
}

/// The `callReadTool` definition: read-only hints, refuses tools that change data.
pub fn call_read_tool() -> Tool {
    Tool::new(
        CALL_READ_TOOL,
        "Runs a read-only Duvo tool found with searchTools (readOnlyHint true), by name with its \
         arguments; returns that tool's result. Tools that change data go through callTool.",
        Arc::new(inline_schema::<CallToolArgs>()),
    )
    .with_title("Read with a Duvo tool")
    .with_annotations(
        ToolAnnotations::with_title("Read with a Duvo tool")
            .read_only(true)
            .destructive(false)
            .idempotent(true)
            .open_world(true),
    )
}

/// The `callTool` definition; under `--read-only` it can only read, and says so.
pub fn call_tool(read_only: bool) -> Tool {
    let description = if read_only {
        "Runs a Duvo tool found with searchTools, by name with its arguments; returns that tool's \
         result. This server is read-only: only read-only tools run."
    } else {
        "Runs a Duvo tool found with searchTools, by name with its arguments; returns that tool's \
         result. Same validation and errors as calling the tool directly. For read-only tools \
         prefer callReadTool."
    };
    Tool::new(
        CALL_TOOL,
        description,
        Arc::new(inline_schema::<CallToolArgs>()),
    )
    .with_title("Call a Duvo tool")
    .with_annotations(
        ToolAnnotations::with_title("Call a Duvo tool")
            .read_only(read_only)
            .destructive(!read_only)
            .idempotent(false)
            .open_world(true),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_are_inline_objects() {
        for tool in [search_tool(), call_tool(false), call_read_tool()] {
            let text = serde_json::to_string(&tool.input_schema).expect("json");
            assert!(!text.contains("$ref") && !text.contains("$defs"), "{text}");
            assert_eq!(
                tool.input_schema.get("type").and_then(|t| t.as_str()),
                Some("object")
            );
        }
        let text = serde_json::to_string(&search_tool().input_schema).expect("json");
        assert!(
            text.contains("\"query\"") && text.contains("maximum"),
            "{text}"
        );
    }
}
