//! Context cost: bytes of the `tools/list` answer per toolset, for the default list and for all.

use duvo_mcp::catalog::Selection;
use duvo_mcp::tools_command;
use serde_json::json;

/// One selection and its `tools/list` size.
pub struct Row {
    /// `default`, `all`, or a toolset name.
    pub selection: String,
    /// Tools listed (the two meta tools included).
    pub tools: usize,
    /// Bytes of `{"tools": [...]}` as compact JSON.
    pub bytes: usize,
}

/// Sizes for `default`, `all` and each toolset alone (as `--toolsets NAME` would list).
pub fn measure() -> anyhow::Result<Vec<Row>> {
    let catalog = duvo_mcp::workflows::full_catalog()?;
    let names = ["default", "all"]
        .into_iter()
        .map(str::to_owned)
        .chain(catalog.toolsets().iter().map(|t| t.name.clone()));
    let mut rows = Vec::new();
    for name in names {
        let selection = Selection {
            toolsets: vec![name.clone()],
            ..Selection::default()
        };
        let enabled = catalog.select(&selection)?;
        let listed = tools_command::listed(&enabled, false);
        let tools: Vec<_> = listed.iter().map(|(_, t)| t).collect();
        let bytes = serde_json::to_vec(&json!({ "tools": tools }))?.len();
        rows.push(Row {
            selection: name,
            tools: tools.len(),
            bytes,
        });
    }
    Ok(rows)
}
