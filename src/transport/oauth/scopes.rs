//! The two scopes of duvo-mcp's resource-server mode and what a token holding them may do.
//!
//! `duvo:read` runs read-only tools; `duvo:write` runs every tool and implies `duvo:read`
//! (a scope hierarchy, as the MCP authorization spec asks servers to honour).

use std::collections::HashSet;

/// Read-only tools.
pub const READ: &str = "duvo:read";
/// Every tool (implies [`READ`]).
pub const WRITE: &str = "duvo:write";
/// What a `tools/call` that changes data needs, as one `scope` value.
pub const WRITE_CHALLENGE: &str = "duvo:read duvo:write";

/// What one validated token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// No duvo scope at all.
    None,
    /// `duvo:read`: read-only tools.
    Read,
    /// `duvo:write`: every tool.
    Write,
}

impl Access {
    /// Access granted by a token's scopes.
    pub fn from_scopes(scopes: &HashSet<String>) -> Self {
        if scopes.contains(WRITE) {
            Self::Write
        } else if scopes.contains(READ) {
            Self::Read
        } else {
            Self::None
        }
    }
}

/// The scopes of a token: `scope` (space-separated, RFC 9068 / RFC 7662) and/or `scp`
/// (Okta: an array; Entra: a space-separated string).
pub fn collect(
    scope: Option<&serde_json::Value>,
    scp: Option<&serde_json::Value>,
) -> HashSet<String> {
    let mut out = HashSet::new();
    for v in [scope, scp].into_iter().flatten() {
        match v {
            serde_json::Value::String(s) => {
                out.extend(s.split_whitespace().map(str::to_owned));
            }
            serde_json::Value::Array(items) => {
                out.extend(items.iter().filter_map(|i| i.as_str()).map(str::to_owned));
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn write_implies_read_and_both_claim_shapes_count() {
        let s = collect(Some(&json!("openid duvo:write")), None);
        assert_eq!(Access::from_scopes(&s), Access::Write);
        let s = collect(None, Some(&json!(["duvo:read"])));
        assert_eq!(Access::from_scopes(&s), Access::Read);
        let s = collect(Some(&json!("openid profile")), Some(&json!(42)));
        assert_eq!(Access::from_scopes(&s), Access::None);
    }
}
