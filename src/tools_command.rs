//! Output of `duvo-mcp tools`: a table for people, JSON and stats for scripts.

use crate::catalog::{Catalog, filter::Enabled};
use crate::server::meta;
use rmcp::model::Tool;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write;

/// Writes `text` to stdout (this command is for people and scripts, not the MCP protocol).
pub fn write_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// One JSON array: name, toolset, title, description, annotations, inputSchema.
pub fn json(enabled: &Enabled, read_only: bool) -> anyhow::Result<String> {
    let items: Vec<Value> = listed(enabled, read_only)
        .iter()
        .map(|(toolset, tool)| {
            json!({
                "name": tool.name,
                "toolset": toolset,
                "title": tool.title,
                "description": tool.description,
                "annotations": tool.annotations,
                "inputSchema": tool.input_schema,
            })
        })
        .collect();
    Ok(serde_json::to_string_pretty(&items)?)
}

/// `(toolset, tool)` for every listed tool, the two meta tools (toolset `meta`) included, sorted.
pub fn listed(enabled: &Enabled, read_only: bool) -> Vec<(String, Tool)> {
    let mut all: Vec<(String, Tool)> = enabled
        .entries()
        .iter()
        .map(|e| (e.toolset.clone(), e.tool().clone()))
        .collect();
    all.push(("meta".to_owned(), meta::search_tool()));
    all.push(("meta".to_owned(), meta::call_tool(read_only)));
    all.push(("meta".to_owned(), meta::call_read_tool()));
    all.sort_by(|a, b| a.1.name.cmp(&b.1.name));
    all
}

/// A table: name, toolset, hints (R read-only, D destructive, I idempotent), title.
pub fn table(enabled: &Enabled, read_only: bool) -> String {
    let tools = listed(enabled, read_only);
    let mut out = format!(
        "{:<36} {:<22} {:<5} {}\n",
        "TOOL", "TOOLSET", "HINTS", "TITLE"
    );
    for (toolset, tool) in &tools {
        let a = tool.annotations.clone().unwrap_or_default();
        let hints: String = [
            (a.read_only_hint, 'R'),
            (a.destructive_hint, 'D'),
            (a.idempotent_hint, 'I'),
        ]
        .iter()
        .map(|(on, c)| if on.unwrap_or(false) { *c } else { '-' })
        .collect();
        out.push_str(&format!(
            "{:<36} {:<22} {:<5} {}\n",
            tool.name,
            toolset,
            hints,
            tool.title.as_deref().unwrap_or("")
        ));
    }
    out.push_str(&format!("{} tools\n", tools.len()));
    out
}

/// Tools and `tools/list` bytes per toolset, for the enabled tools, plus the total.
pub fn stats(catalog: &Catalog, enabled: &Enabled, read_only: bool) -> anyhow::Result<String> {
    let tools = listed(enabled, read_only);
    let mut per_set: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (toolset, tool) in &tools {
        let bytes = serde_json::to_vec(tool)?.len();
        let slot = per_set.entry(toolset.as_str()).or_default();
        slot.0 += 1;
        slot.1 += bytes;
    }
    let all: Vec<&Tool> = tools.iter().map(|(_, t)| t).collect();
    let total_bytes = serde_json::to_vec(&json!({ "tools": all }))?.len();
    let mut out = format!("{:<22} {:>6} {:>8}\n", "TOOLSET", "TOOLS", "BYTES");
    let names = catalog
        .toolsets()
        .iter()
        .map(|t| t.name.as_str())
        .chain(["meta"]);
    for name in names {
        if let Some((n, b)) = per_set.get(name) {
            out.push_str(&format!("{name:<22} {n:>6} {b:>8}\n"));
        }
    }
    out.push_str(&format!(
        "{:<22} {:>6} {:>8}\n",
        "total (tools/list)",
        tools.len(),
        total_bytes
    ));
    // A REST operation a shaped composite lists under its name (listAgents) counts too.
    let rest = catalog
        .entries()
        .iter()
        .filter_map(|e| catalog.rest(e.name()));
    let (generated, curated): (Vec<_>, Vec<_>) = rest.partition(|e| e.generated);
    out.push_str(&format!(
        "catalog: {}; {} curated and {} generated operations (all toolsets)\n",
        catalog.origin(),
        curated.len(),
        generated.len()
    ));
    let removed = &catalog.diff().removed_operations;
    if !removed.is_empty() {
        out.push_str(&format!(
            "overlay entries whose operation the spec lacks (not listed): {}\n",
            removed.join(", ")
        ));
    }
    Ok(out)
}

/// A Markdown table (the README's tool list): tool, toolset, hints, title.
pub fn markdown(enabled: &Enabled, read_only: bool) -> String {
    let mut tools = listed(enabled, read_only);
    tools.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.name.cmp(&b.1.name)));
    let mut out =
        String::from("| tool | toolset | hints | what it does |\n| --- | --- | --- | --- |\n");
    for (toolset, tool) in &tools {
        let a = tool.annotations.clone().unwrap_or_default();
        let flag = |on: Option<bool>, c: char| if on.unwrap_or(false) { c } else { '-' };
        out.push_str(&format!(
            "| `{}` | {} | {}{}{} | {} |\n",
            tool.name,
            toolset,
            flag(a.read_only_hint, 'R'),
            flag(a.destructive_hint, 'D'),
            flag(a.idempotent_hint, 'I'),
            tool.title.as_deref().unwrap_or("")
        ));
    }
    out
}
