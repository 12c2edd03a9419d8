//! What one request may see and use: the caller's key (passthrough) and header narrowing.

use crate::catalog::{Catalog, Selection, SelectionError, filter::Enabled, filter::split_list};
use crate::client::ApiKey;
use http::request::Parts;

/// Headers that narrow what one HTTP request sees; they never widen the server's own filters.
pub const HEADER_TOOLSETS: &str = "x-mcp-toolsets";
/// Adds single tools (within what the server allows).
pub const HEADER_TOOLS: &str = "x-mcp-tools";
/// Removes tools.
pub const HEADER_EXCLUDE_TOOLS: &str = "x-mcp-exclude-tools";
/// `true` keeps read-only tools only.
pub const HEADER_READ_ONLY: &str = "x-mcp-read-only";

/// The per-request view: which key to use and which tools are listed and allowed.
#[derive(Debug, Default)]
pub struct RequestScope {
    /// The caller's own Duvo key (passthrough mode); `None` = the server's key.
    pub key: Option<ApiKey>,
    /// Narrowed listing and permission, when the request carried narrowing headers.
    pub narrowed: Option<(Enabled, Enabled)>,
    /// The request asked for read-only.
    pub read_only: bool,
    /// The catalog view the request runs against (taken once, at its start).
    pub view: Option<std::sync::Arc<super::CatalogView>>,
}

/// Reads the caller's Bearer key from the request head.
pub fn bearer_key(parts: &Parts) -> Option<ApiKey> {
    let raw = parts
        .headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = raw.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return None;
    }
    Some(ApiKey::new(token))
}

/// Query parameters on `/mcp` that narrow like the headers (for clients that can set a URL but
/// no headers): `toolsets`, `tools`, `exclude_tools`, `read_only`.
pub const QUERY_PARAMS: [&str; 4] = ["toolsets", "tools", "exclude_tools", "read_only"];

/// The selections one request asks for: the narrowing headers and the narrowing query
/// parameters, each when present. Both apply (one after the other), so neither can widen the
/// other or the server's own filters.
pub fn request_selections(parts: &Parts) -> Vec<Selection> {
    header_selection(parts)
        .into_iter()
        .chain(query_selection(parts))
        .collect()
}

/// The selection the narrowing query parameters ask for, if any is present.
pub fn query_selection(parts: &Parts) -> Option<Selection> {
    let query = parts.uri.query()?;
    let mut found: [Option<String>; 4] = Default::default();
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if let Some(i) = QUERY_PARAMS.iter().position(|p| *p == k) {
            // Repeated parameters join like a comma list (`tools=a&tools=b`).
            match &mut found[i] {
                Some(prev) => {
                    prev.push(',');
                    prev.push_str(&v);
                }
                slot => *slot = Some(v.into_owned()),
            }
        }
    }
    let [toolsets, tools, exclude, read_only] = found;
    selection_from(toolsets, tools, exclude, read_only)
}

/// The selection the narrowing headers ask for, if any header is present.
pub fn header_selection(parts: &Parts) -> Option<Selection> {
    let get = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    selection_from(
        get(HEADER_TOOLSETS),
        get(HEADER_TOOLS),
        get(HEADER_EXCLUDE_TOOLS),
        get(HEADER_READ_ONLY),
    )
}

fn selection_from(
    toolsets: Option<String>,
    tools: Option<String>,
    exclude: Option<String>,
    read_only: Option<String>,
) -> Option<Selection> {
    let read_only = read_only.map(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        )
    });
    if toolsets.is_none() && tools.is_none() && exclude.is_none() && read_only.is_none() {
        return None;
    }
    Some(Selection {
        // Only single tools named: list just those (within what the server lists or allows).
        toolsets: match (&toolsets, &tools) {
            (Some(t), _) => split_list(t),
            (None, Some(_)) => vec!["__none__".to_owned()],
            (None, None) => vec!["all".to_owned()],
        },
        tools: tools.as_deref().map(split_list).unwrap_or_default(),
        exclude_tools: exclude.as_deref().map(split_list).unwrap_or_default(),
        read_only: read_only.unwrap_or(false),
    })
}

/// Applies header narrowing to the server's listed and allowed sets.
pub fn narrow(
    catalog: &Catalog,
    listed: &Enabled,
    allowed: &Enabled,
    sel: &Selection,
) -> Result<(Enabled, Enabled), SelectionError> {
    let picked = if sel.toolsets.iter().any(|t| t == "__none__") {
        catalog
            .select(&Selection {
                toolsets: Vec::new(),
                ..sel.clone()
            })?
            .only_named(&sel.tools)
    } else {
        catalog.select(sel)?
    };
    let narrowed_allowed = catalog.allowed(sel)?;
    // A tool named in X-MCP-Tools may be listed if the server allows it (not only if it lists it).
    let listed_now = picked.intersect(&listed.union_named(allowed, &sel.tools));
    Ok((listed_now, allowed.intersect(&narrowed_allowed)))
}
