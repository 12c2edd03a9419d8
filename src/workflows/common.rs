//! What every composite tool shares: its definition with all four annotations, plain and
//! structured results, progress notifications, byte counts for people.

use super::Call;
use rmcp::model::{
    CallToolResult, ContentBlock, JsonObject, ProgressNotificationParam, Tool, ToolAnnotations,
};
use serde_json::Value;
use std::sync::Arc;

/// The four MCP annotations of a tool, set deliberately.
#[derive(Clone, Copy, Debug)]
pub struct Hints {
    /// Does not modify its environment.
    pub read_only: bool,
    /// May destroy or overwrite data.
    pub destructive: bool,
    /// Repeating the call with the same arguments has no further effect.
    pub idempotent: bool,
    /// Talks to an external system (Duvo).
    pub open_world: bool,
}

/// A tool definition with a title and all four annotations.
pub fn tool(
    name: &'static str,
    title: &str,
    description: &'static str,
    schema: JsonObject,
    hints: Hints,
) -> Tool {
    Tool::new(name, description, Arc::new(schema))
        .with_title(title)
        .with_annotations(
            ToolAnnotations::with_title(title)
                .read_only(hints.read_only)
                .destructive(hints.destructive)
                .idempotent(hints.idempotent)
                .open_world(hints.open_world),
        )
}

/// A plain tool error.
pub fn error(text: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(text.into())])
}

/// A result with `body` as structured content and `text` (a summary first) as its text.
pub fn result(text: String, body: Value, is_error: bool) -> CallToolResult {
    let mut r = if is_error {
        CallToolResult::structured_error(body)
    } else {
        CallToolResult::structured(body)
    };
    r.content = vec![ContentBlock::text(text)];
    r
}

/// Sends a progress notification when the client asked for progress.
pub async fn progress(call: &Call<'_>, done: u64, total: u64, message: String) {
    let Some(token) = call.cx.meta.get_progress_token() else {
        return;
    };
    let mut param = ProgressNotificationParam::new(token, done as f64);
    param.total = Some(total as f64);
    param.message = Some(message);
    if let Err(e) = call.cx.peer.notify_progress(param).await {
        tracing::debug!(error = %e, "progress notification not delivered");
    }
}

/// A byte count for people: `512 B`, `3.4 KB`, `12.0 MB`.
pub fn human_bytes(n: u64) -> String {
    const KB: f64 = 1024.0;
    let f = n as f64;
    if f < KB {
        format!("{n} B")
    } else if f < KB * KB {
        format!("{:.1} KB", f / KB)
    } else {
        format!("{:.1} MB", f / KB / KB)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_well() {
        assert_eq!(human_bytes(12), "12 B");
        assert_eq!(human_bytes(2048), "2.0 KB");
        assert_eq!(human_bytes(11 * 1024 * 1024), "11.0 MB");
    }
}
