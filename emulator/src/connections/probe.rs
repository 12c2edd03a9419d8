//! Simulated MCP servers: `probeMcpServer` and `checkMcpOAuth`, deterministic and offline.
//!
//! The emulator has no network. A URL on `example.com`, `*.example.com` or `*.example` is a
//! reachable simulated server, unless the URL contains `unreachable` (connection refused) or
//! `invalid` (not an MCP server); any other host is unreachable. Answers are 200
//! `{success: false, error}` for failures, as the real API does. An `integration_slug` always
//! probes successfully. Simulated servers support OAuth Dynamic Client Registration unless the
//! URL contains `noauth`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};

use super::super::auth::TeamCaller;
use super::super::errors::{ApiError, ApiResult};
use super::super::ok;
use super::super::state::{AppState, Caller};
use super::super::validate as v;
use super::header_map;

/// Catalog slugs accepted by `probeMcpServer` (`integration_slug`), as in the spec.
const SLUGS: &[&str] = &[
    "googlecalendar",
    "google-calendar",
    "gmail",
    "slack",
    "googledocs",
    "googlesheets",
    "googledrive",
    "firecrawl",
    "exa",
    "exa-search",
    "exa-company-search",
    "exa-people-search",
    "deep-research",
    "system",
    "browser-agent",
    "browser-agent-devtools",
    "notion",
    "linear",
    "confluence",
    "custom_mcp",
    "user_mcp",
    "snowflake",
    "sharepoint",
    "teams",
    "onedrive",
    "bigquery",
    "databricks",
    "netsuite",
    "outlook",
    "microsoft-calendar",
    "excel",
    "word",
    "saps4hana",
    "md365",
    "businesscentral",
    "oraclefusion",
    "workday",
    "coupa",
    "signavio",
    "sap-ecc",
    "msteams",
    "human-in-the-loop",
    "email-attachments-reader",
    "document-processor",
    "google-docs",
    "google-sheets",
    "google-drive",
    "outbound-call",
    "case-queue-producer",
    "case-queue-consumer",
    "handover",
    "shopify",
    "hubspot",
    "zendesk",
    "intercom",
    "powerbi",
    "salesforce",
    "pipedrive",
    "tableau",
    "image-generation",
    "forecasting",
    "supabase",
    "attio",
    "amplitude",
    "websets",
    "firecrawl-platform",
    "duvo-computer-use",
    "duvo-computer-use-rdp",
    "eu-commodity-prices",
    "asana",
    "ssh",
    "scheduling",
    "github",
    "linear-native",
    "notion-native",
    "granola",
    "apify",
    "bamboohr",
];

/// The routes of this module.
pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v2/teams/{teamId}/connections/mcp/probe", post(probe))
        .route("/v2/connections/oauth/mcp/check", post(check_oauth))
}

/// Host of an absolute URL when it is one of the simulated ones.
fn simulated_host(url: &str) -> Option<String> {
    let host = url::Url::parse(url).ok()?.host_str()?.to_ascii_lowercase();
    let ok = host == "example.com"
        || host.ends_with(".example.com")
        || host.ends_with(".example")
        || host == "example";
    ok.then_some(host)
}

/// DCR support of a simulated server: `(authorization_endpoint, scopes)`, or `None`.
pub(super) fn supports_dcr(url: &str) -> Option<(String, Vec<String>)> {
    let lower = url.to_ascii_lowercase();
    if ["unreachable", "invalid", "noauth"]
        .iter()
        .any(|w| lower.contains(w))
    {
        return None;
    }
    let host = simulated_host(url)?;
    Some((
        format!("https://{host}/oauth/authorize"),
        vec!["mcp".to_string(), "offline_access".to_string()],
    ))
}

fn tool(name: &str, description: &str, props: Value, required: &[&str]) -> Value {
    json!({
        "name": name,
        "description": description,
        "input_schema": {"type": "object", "properties": props, "required": required},
    })
}

/// Tools of a catalog integration.
fn slug_tools(slug: &str) -> Vec<Value> {
    match slug {
        "gmail" => vec![
            tool(
                "gmail_search_emails",
                "Search emails with Gmail query syntax",
                json!({"query": {"type": "string"}, "max_results": {"type": "integer"}}),
                &["query"],
            ),
            tool(
                "gmail_get_thread",
                "Read a thread with all its messages",
                json!({"thread_id": {"type": "string"}}),
                &["thread_id"],
            ),
            tool(
                "gmail_send_email",
                "Send an email",
                json!({"to": {"type": "string"}, "subject": {"type": "string"}, "body": {"type": "string"}}),
                &["to", "subject", "body"],
            ),
        ],
        "slack" => vec![
            tool(
                "slack_list_channels",
                "List channels the bot can see",
                json!({"limit": {"type": "integer"}}),
                &[],
            ),
            tool(
                "slack_post_message",
                "Post a message to a channel",
                json!({"channel": {"type": "string"}, "text": {"type": "string"}}),
                &["channel", "text"],
            ),
            tool(
                "slack_search_messages",
                "Search messages",
                json!({"query": {"type": "string"}}),
                &["query"],
            ),
        ],
        "googlesheets" | "google-sheets" => vec![
            tool(
                "sheets_read_range",
                "Read cells of a spreadsheet range (A1 notation)",
                json!({"spreadsheet_id": {"type": "string"}, "range": {"type": "string"}}),
                &["spreadsheet_id", "range"],
            ),
            tool(
                "sheets_append_rows",
                "Append rows to a sheet",
                json!({"spreadsheet_id": {"type": "string"}, "sheet": {"type": "string"}, "rows": {"type": "array"}}),
                &["spreadsheet_id", "rows"],
            ),
        ],
        other => generic_tools(&other.replace('-', "_")),
    }
}

/// Three record tools named after `prefix`.
fn generic_tools(prefix: &str) -> Vec<Value> {
    vec![
        tool(
            &format!("{prefix}_search"),
            &format!("Search {prefix} records"),
            json!({"query": {"type": "string"}, "limit": {"type": "integer"}}),
            &["query"],
        ),
        tool(
            &format!("{prefix}_get_record"),
            &format!("Get one {prefix} record by id"),
            json!({"id": {"type": "string"}}),
            &["id"],
        ),
        tool(
            &format!("{prefix}_create_record"),
            &format!("Create a {prefix} record"),
            json!({"fields": {"type": "object"}}),
            &["fields"],
        ),
    ]
}

/// The simulated answer for a raw server URL.
fn probe_url(url: &str) -> Value {
    let lower = url.to_ascii_lowercase();
    if lower.contains("unreachable") {
        return json!({"success": false, "error": format!("Could not connect to {url}: connection refused")});
    }
    if lower.contains("invalid") {
        return json!({
            "success": false,
            "error": format!("{url} did not answer the MCP initialize handshake (not an MCP server?)"),
        });
    }
    let Some(host) = simulated_host(url) else {
        return json!({
            "success": false,
            "error": format!("Could not connect to {url}: the Duvo emulator has no network access and simulates MCP servers only on example.com and *.example hosts"),
        });
    };
    let label = host
        .split('.')
        .find(|l| !matches!(*l, "mcp" | "api" | "www" | "example" | "com"))
        .unwrap_or("example")
        .replace('-', "_");
    json!({ "success": true, "tools": generic_tools(&label) })
}

/// `POST /v2/teams/{teamId}/connections/mcp/probe` (probeMcpServer).
async fn probe(TeamCaller(_): TeamCaller, body: Bytes) -> ApiResult<Response> {
    let map = v::json_object(&body)?;
    let url = v::opt_str(&map, "server_url", 1)?;
    let slug = v::opt_str(&map, "integration_slug", 1)?;
    if let Some(h) = map.get("headers") {
        header_map("headers", h)?;
    }
    let out = match (url, slug) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "server_url, integration_slug: send one of them, not both",
            ));
        }
        (None, None) => {
            return Err(ApiError::bad_request(
                "server_url: is required (or send integration_slug to probe a catalog integration)",
            ));
        }
        (Some(u), None) => {
            v::uri("server_url", &u)?;
            probe_url(&u)
        }
        (None, Some(s)) => {
            if !SLUGS.contains(&s.as_str()) {
                return Err(ApiError::field(
                    "integration_slug",
                    format!("unknown integration '{s}'"),
                ));
            }
            json!({ "success": true, "tools": slug_tools(&s) })
        }
    };
    Ok(ok(out))
}

/// `POST /v2/connections/oauth/mcp/check` (checkMcpOAuth).
async fn check_oauth(_: Caller, body: Bytes) -> ApiResult<Response> {
    let map = v::json_object(&body)?;
    let url = v::req_str(&map, "mcp_server_url", 1)?;
    v::uri("mcp_server_url", &url)?;
    let out = match supports_dcr(&url) {
        Some((endpoint, scopes)) => json!({
            "supports_dcr": true,
            "authorization_endpoint": endpoint,
            "scopes": scopes,
        }),
        None => json!({ "supports_dcr": false }),
    };
    Ok(ok(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_hosts() {
        assert!(simulated_host("https://mcp.example.com/mcp").is_some());
        assert!(simulated_host("https://mcp.acme.example/sse").is_some());
        assert!(simulated_host("https://mcp.linear.app/sse").is_none());
        assert!(supports_dcr("https://mcp.example.com/noauth").is_none());
        assert_eq!(
            probe_url("https://unreachable.example.com")["success"],
            false
        );
        assert_eq!(
            probe_url("https://mcp.netsuite.acme-ops.example/mcp")["tools"][0]["name"],
            "netsuite_search"
        );
    }
}
