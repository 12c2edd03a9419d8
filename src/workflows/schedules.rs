//! `listSchedules`: every schedule of the team across its Assignments in one call (Duvo lists
//! schedules per Assignment; `listAgents include_schedules` adds them under each Revision).

use super::common::{self, Hints};
use super::{Call, parse_args};
use crate::render::schema::inline_schema;
use rmcp::model::{CallToolResponse, ErrorData, JsonObject, Tool};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

/// Most `listAgents` pages read (100 Assignments a page).
const MAX_PAGES: u64 = 20;

/// Arguments of `listSchedules`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListSchedulesArgs {
    /// Only this Assignment's schedules (id from listAgents).
    #[schemars(extend("format" = "uuid"))]
    pub agent_id: Option<String>,
    /// Only enabled (true) or paused (false) schedules.
    pub enabled: Option<bool>,
    /// Team id; omit for the configured team.
    pub team_id: Option<String>,
}

/// `listSchedules`: definition and handler, for the composition root.
pub fn list_schedules_composite() -> super::Composite {
    super::Composite {
        toolset: "schedules",
        tool: list_schedules_tool(),
        run: |call, args| Box::pin(list_schedules(call, args)),
    }
}

/// The `listSchedules` definition.
pub fn list_schedules_tool() -> Tool {
    common::tool(
        "listSchedules",
        "List the Team's Schedules",
        "Lists your schedules across all Assignments of the team in one call: schedule id, \
         Assignment id and name, enabled, and when each runs (frequency, time, timezone, cron), \
         and its task. Pause one with \
         updateSchedule {agent_id, schedule_id, enabled: false}.",
        inline_schema::<ListSchedulesArgs>(),
        Hints {
            read_only: true,
            destructive: false,
            idempotent: true,
            open_world: true,
        },
    )
}

/// `include_schedules` as the REST schema wants it (a boolean, or the strings "true"/"false").
fn include_schedules_value(call: &Call<'_>) -> Value {
    let boolean = call
        .services
        .gateway
        .catalog()
        .rest("listAgents")
        .and_then(|e| {
            e.tool()
                .input_schema
                .get("properties")
                .and_then(|p| p.get("include_schedules"))
                .and_then(|p| p.get("type"))
                .cloned()
        })
        .is_some_and(|t| t == "boolean");
    if boolean { json!(true) } else { json!("true") }
}

/// `listSchedules`.
pub async fn list_schedules(
    call: &Call<'_>,
    args: JsonObject,
) -> Result<CallToolResponse, ErrorData> {
    let args: ListSchedulesArgs = match parse_args("listSchedules", args) {
        Ok(a) => a,
        Err(e) => return Ok(e.into()),
    };
    let mut schedules = Vec::new();
    let mut offset = 0u64;
    let mut assignments = 0u64;
    for _ in 0..MAX_PAGES {
        let mut q = json!({
            "include_schedules": include_schedules_value(call),
            "limit": 100,
            "offset": offset,
        });
        if let Some(team) = &args.team_id {
            q["team_id"] = json!(team);
        }
        let page = match call.op("listAgents", q).await {
            Ok(p) => p,
            Err(f) => return Ok(crate::render::results::failure(&f).into()),
        };
        let agents = page["agents"].as_array().cloned().unwrap_or_default();
        let total = page["total"].as_u64().unwrap_or(0);
        offset += agents.len() as u64;
        assignments += agents.len() as u64;
        for a in &agents {
            if args.agent_id.as_deref().is_some_and(|id| a["id"] != id) {
                continue;
            }
            for s in a["latest_build"]["schedules"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if args
                    .enabled
                    .is_some_and(|e| s["enabled"].as_bool() != Some(e))
                {
                    continue;
                }
                let mut item = json!({
                    "schedule_id": s["id"],
                    "agent_id": a["id"],
                    "assignment": a["name"],
                });
                if let (Value::Object(item), Value::Object(rest)) =
                    (&mut item, super::shaped::compact_schedule(s))
                {
                    item.extend(rest.into_iter().filter(|(k, _)| k != "id"));
                }
                schedules.push(item);
            }
        }
        if agents.is_empty() || offset >= total {
            break;
        }
    }
    let mut text = format!(
        "{} schedule(s) across {assignments} Assignment(s).",
        schedules.len()
    );
    for s in &schedules {
        let when = match s["cron"].as_str() {
            Some(cron) => format!("cron {cron}"),
            None => [&s["frequency"], &s["day"], &s["time"], &s["timezone"]]
                .iter()
                .filter_map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        };
        text.push_str(&format!(
            "\n- {} \"{}\" ({}): {} — {}; schedule_id {}",
            if s["enabled"] == true {
                "enabled"
            } else {
                "paused"
            },
            s["assignment"].as_str().unwrap_or_default(),
            s["agent_id"].as_str().unwrap_or_default(),
            when,
            s["task"].as_str().unwrap_or_default(),
            s["schedule_id"].as_str().unwrap_or_default(),
        ));
    }
    if !schedules.is_empty() {
        text.push_str("\nPause one with updateSchedule {agent_id, schedule_id, enabled: false}.");
    }
    let body = json!({ "schedules": schedules, "total": schedules.len() });
    Ok(common::result(text, body, false).into())
}
