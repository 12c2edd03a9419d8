//! Result shaping per tool: a REST tool whose answer is too large or too raw for a model gets a
//! [`Shaper`]. The shaped tool keeps the REST tool's name, schema and annotations, adds the
//! arguments the server applies itself (never sent to Duvo), calls the REST operation and cuts
//! its answer down before it is rendered. The REST entry stays reachable underneath
//! ([`crate::catalog::Catalog::rest`]), so workflows still see Duvo's full answer.
//!
//! Today: `listAgents` (compact by default, `detail: "full"` for everything, a `name` filter).

use super::{Call, common};
use crate::catalog::{Catalog, CatalogError};
use crate::client::{ApiBody, ApiResponse};
use rmcp::model::{CallToolResponse, CallToolResult, ErrorData, JsonObject, Tool};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// How one REST tool's answer is shaped.
pub struct Shaper {
    /// The REST tool it wraps (and whose name it keeps).
    pub tool: &'static str,
    /// The shaped tool's description (replaces the REST one, which describes Duvo's answer).
    pub description: &'static str,
    /// Arguments the server applies itself: name and JSON schema, added to the tool's schema
    /// and removed before the REST call.
    pub local_args: fn() -> Vec<(&'static str, Value)>,
    /// Calls Duvo (one or more pages) and shapes the answer with the caller's full arguments.
    pub run: for<'c> fn(
        &'c Call<'c>,
        JsonObject,
        JsonObject,
    ) -> futures::future::BoxFuture<'c, Result<Value, CallToolResult>>,
}

/// Every shaped tool.
pub fn shapers() -> &'static [Shaper] {
    &[Shaper {
        tool: "listAgents",
        description: "Lists the team's Assignments (agents), compact: id, name, folder_id, \
            latest_revision (id, name, status), connections, case_queue_name, last_run_at, and \
            your schedules with include_schedules. name filters by name; detail \"full\" returns \
            Duvo's whole answer (SOP text, creators, configs); getAgent gives one in full. \
            Returns agents[] and total; page with offset.",
        local_args: list_agents_local_args,
        run: |call, sent, local| Box::pin(list_agents(call, sent, local)),
    }]
}

/// The shaper of `tool`, if it has one.
pub fn shaper(tool: &str) -> Option<&'static Shaper> {
    shapers().iter().find(|s| s.tool == tool)
}

/// Registers every shaped tool over its REST entry (which stays reachable as the REST entry).
pub fn register(catalog: &mut Catalog) -> Result<(), CatalogError> {
    for s in shapers() {
        let Some(rest) = catalog.get(s.tool).cloned() else {
            continue;
        };
        let mut tool: Tool = rest.tool().clone();
        let mut schema = (*tool.input_schema).clone();
        if let Some(Value::Object(props)) = schema.get_mut("properties") {
            for (name, prop) in (s.local_args)() {
                props.insert(name.to_owned(), prop);
            }
        }
        tool.input_schema = Arc::new(schema);
        tool.description = Some(s.description.into());
        catalog.add_composite(&rest.toolset, tool)?;
    }
    Ok(())
}

/// Runs the shaped tool `name` with validated `args`.
pub async fn run(
    name: &str,
    call: &Call<'_>,
    mut args: JsonObject,
) -> Result<CallToolResponse, ErrorData> {
    let Some(s) = shaper(name) else {
        return Ok(common::error(format!("internal: {name} has no shaper")).into());
    };
    let mut local = JsonObject::new();
    for (arg, _) in (s.local_args)() {
        if let Some(v) = args.remove(arg) {
            local.insert(arg.to_owned(), v);
        }
    }
    let keep = args.clone();
    let shaped = match (s.run)(call, args, local).await {
        Ok(v) => v,
        Err(r) => return Ok(r.into()),
    };
    let catalog = call.services.gateway.catalog();
    let entry = catalog.rest(name).or_else(|| catalog.get(name)).cloned();
    let resp = ApiResponse {
        status: 200,
        body: ApiBody::Json(shaped),
        // Shaped from real answers of the operations underneath, never a spec placeholder.
        generated: false,
    };
    Ok(match entry {
        Some(entry) => crate::render::results::success(&entry, &keep, resp).into(),
        None => common::error(format!("internal: {name} has no REST entry")).into(),
    })
}

fn list_agents_local_args() -> Vec<(&'static str, Value)> {
    vec![
        (
            "name",
            json!({
                "type": "string",
                "minLength": 1,
                "description": "Only Assignments whose name contains this text (case-insensitive)."
            }),
        ),
        (
            "detail",
            json!({
                "type": "string",
                "enum": ["compact", "full"],
                "default": "compact",
                "description": "compact (default): the fields needed to pick an Assignment; full: \
                    everything Duvo returns (SOP text, creators, integration configs)."
            }),
        ),
    ]
}

/// Most pages read to apply a `name` filter (100 Assignments a page).
const MAX_FILTER_PAGES: u64 = 20;

async fn list_agents(
    call: &Call<'_>,
    sent: JsonObject,
    local: JsonObject,
) -> Result<Value, CallToolResult> {
    let full = local.get("detail").and_then(Value::as_str) == Some("full");
    let name = local
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_lowercase);
    let mut answer = match &name {
        None => call
            .op("listAgents", Value::Object(sent.clone()))
            .await
            .map_err(|f| crate::render::results::failure(&f))?,
        Some(needle) => filter_by_name(call, &sent, needle).await?,
    };
    if !full && let Some(Value::Array(agents)) = answer.get_mut("agents") {
        for a in agents.iter_mut() {
            *a = compact_agent(a);
        }
        if let Value::Object(o) = &mut answer {
            o.insert(
                "note".into(),
                json!(
                    "Compact view. getAgent {agent_id} (or detail \"full\") for the SOP text and configuration."
                ),
            );
        }
    }
    Ok(answer)
}

/// Reads every page (up to [`MAX_FILTER_PAGES`]) and keeps the Assignments whose name contains
/// `needle`; `limit`/`offset` then apply to the matches.
async fn filter_by_name(
    call: &Call<'_>,
    sent: &JsonObject,
    needle: &str,
) -> Result<Value, CallToolResult> {
    let limit = sent.get("limit").and_then(Value::as_u64).unwrap_or(20);
    let offset = sent.get("offset").and_then(Value::as_u64).unwrap_or(0);
    let mut matches = Vec::new();
    let mut page_offset = 0u64;
    for _ in 0..MAX_FILTER_PAGES {
        let mut args = sent.clone();
        args.insert("limit".into(), json!(100));
        args.insert("offset".into(), json!(page_offset));
        let page = call
            .op("listAgents", Value::Object(args))
            .await
            .map_err(|f| crate::render::results::failure(&f))?;
        let agents = page["agents"].as_array().cloned().unwrap_or_default();
        let total = page["total"].as_u64().unwrap_or(0);
        let got = agents.len() as u64;
        matches.extend(agents.into_iter().filter(|a| {
            a["name"]
                .as_str()
                .is_some_and(|n| n.to_lowercase().contains(needle))
        }));
        page_offset += got;
        if got == 0 || page_offset >= total {
            break;
        }
    }
    let total = matches.len() as u64;
    let page: Vec<Value> = matches
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .collect();
    Ok(json!({ "agents": page, "total": total, "limit": limit, "offset": offset }))
}

/// One Assignment, cut to what picking it needs.
fn compact_agent(a: &Value) -> Value {
    let mut o = Map::new();
    for k in ["id", "name", "folder_id", "last_run_at", "case_queue_name"] {
        if let Some(v) = a.get(k).filter(|v| !v.is_null()) {
            o.insert(k.into(), v.clone());
        }
    }
    let b = &a["latest_build"];
    if b.is_object() {
        let mut r = Map::new();
        for k in ["id", "name", "status", "revision_number"] {
            if let Some(v) = b.get(k).filter(|v| !v.is_null()) {
                r.insert(k.into(), v.clone());
            }
        }
        o.insert("latest_revision".into(), Value::Object(r));
        if let Some(Value::Array(schedules)) = b.get("schedules") {
            o.insert(
                "schedules".into(),
                Value::Array(schedules.iter().map(compact_schedule).collect()),
            );
        }
    }
    let connections: Vec<Value> = a["integration_configs"]
        .as_array()
        .map(|c| {
            c.iter()
                .filter(|i| i["integration_type"] != "case-queue-consumer")
                .filter_map(|i| i["integration_name"].as_str())
                .map(|n| json!(n))
                .collect()
        })
        .unwrap_or_default();
    if !connections.is_empty() {
        o.insert("connections".into(), Value::Array(connections));
    }
    Value::Object(o)
}

/// One schedule, cut to when it runs and whether it is on.
pub fn compact_schedule(s: &Value) -> Value {
    let mut o = Map::new();
    for k in [
        "id",
        "enabled",
        "frequency",
        "time",
        "timezone",
        "day",
        "day_of_month",
        "cron",
        "task",
        "auto_disabled_reason",
    ] {
        if let Some(v) = s.get(k).filter(|v| !v.is_null()) {
            o.insert(k.into(), v.clone());
        }
    }
    Value::Object(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_agent_keeps_ids_and_drops_sop_and_emails() {
        let a = json!({
            "id": "a1", "name": "Invoice Approval", "folder_id": null,
            "created_by": {"email": "x@example.com"},
            "latest_build": {"id": "b1", "copilot_id": "a1", "status": "live",
                "config": {"data": {"input": "long SOP"}},
                "schedules": [{"id": "s1", "enabled": true, "user_email": "x@example.com"}]},
            "integration_configs": [{"integration_name": "NetSuite", "integration_type": "custom_mcp"}]
        });
        let c = compact_agent(&a).to_string();
        assert!(c.contains("Invoice Approval") && c.contains("b1") && c.contains("NetSuite"));
        assert!(c.contains("s1"));
        assert!(!c.contains("SOP") && !c.contains("email") && !c.contains("copilot"));
    }
}
