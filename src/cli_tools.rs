//! Output of `duvo-mcp tools`: a table for people, JSON and stats for scripts.

use crate::catalog::{Catalog, filter::Enabled};
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
pub fn json(enabled: &Enabled) -> anyhow::Result<String> {
    let items: Vec<Value> = enabled
        .entries()
        .iter()
        .map(|e| {
            json!({
                "name": e.name(),
                "toolset": e.toolset,
                "title": e.tool.title,
                "description": e.tool.description,
                "annotations": e.tool.annotations,
                "inputSchema": e.tool.input_schema,
            })
        })
        .collect();
    Ok(serde_json::to_string_pretty(&items)?)
}

/// A table: name, toolset, hints (R read-only, D destructive, I idempotent), title.
pub fn table(enabled: &Enabled) -> String {
    let mut out = format!(
        "{:<28} {:<12} {:<5} {}\n",
        "TOOL", "TOOLSET", "HINTS", "TITLE"
    );
    for e in enabled.entries() {
        let a = e.tool.annotations.clone().unwrap_or_default();
        let hints: String = [
            (a.read_only_hint, 'R'),
            (a.destructive_hint, 'D'),
            (a.idempotent_hint, 'I'),
        ]
        .iter()
        .map(|(on, c)| if on.unwrap_or(false) { *c } else { '-' })
        .collect();
        out.push_str(&format!(
            "{:<28} {:<12} {:<5} {}\n",
            e.name(),
            e.toolset,
            hints,
            e.tool.title.as_deref().unwrap_or("")
        ));
    }
    out.push_str(&format!("{} tools\n", enabled.entries().len()));
    out
}

/// Tools and `tools/list` bytes per toolset, for the enabled tools, plus the total.
pub fn stats(catalog: &Catalog, enabled: &Enabled) -> anyhow::Result<String> {
    let mut per_set: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for e in enabled.entries() {
        let bytes = serde_json::to_vec(&e.tool)?.len();
        let slot = per_set.entry(e.toolset.as_str()).or_default();
        slot.0 += 1;
        slot.1 += bytes;
    }
    let all: Vec<_> = enabled.entries().iter().map(|e| e.tool.clone()).collect();
    let total_bytes = serde_json::to_vec(&json!({ "tools": all }))?.len();
    let mut out = format!("{:<16} {:>6} {:>8}\n", "TOOLSET", "TOOLS", "BYTES");
    for set in catalog.toolsets() {
        if let Some((n, b)) = per_set.get(set.name.as_str()) {
            out.push_str(&format!("{:<16} {:>6} {:>8}\n", set.name, n, b));
        }
    }
    out.push_str(&format!(
        "{:<16} {:>6} {:>8}\n",
        "total",
        enabled.entries().len(),
        total_bytes
    ));
    Ok(out)
}
