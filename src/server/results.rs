//! Shaping Duvo answers and failures into tool results the model can act on.

use crate::catalog::{ArgumentError, ToolEntry, hints};
use crate::client::{ApiBody, ApiError, ApiResponse};
use base64::Engine;
use rmcp::model::{CallToolResult, ContentBlock, JsonObject};
use serde_json::{Value, json};

/// A successful answer: the JSON as `structuredContent` plus the same JSON, compact, as text.
pub fn success(resp: ApiResponse) -> CallToolResult {
    let value = match resp.body {
        ApiBody::Json(Value::Object(map)) => Value::Object(map),
        ApiBody::Json(Value::Null) => json!({"success": true, "status": resp.status}),
        ApiBody::Json(other) => json!({ "result": other }),
        ApiBody::Bytes { content_type, data } => json!({
            "content_type": content_type,
            "size_bytes": data.len(),
            "content_base64": base64::engine::general_purpose::STANDARD.encode(&data),
        }),
    };
    CallToolResult::structured(value)
}

/// Arguments that failed validation, with the expected arguments listed.
pub fn invalid_arguments(entry: &ToolEntry, err: &ArgumentError) -> CallToolResult {
    let text = match err {
        ArgumentError::Invalid { tool, problems } => {
            let expected = entry
                .argument_names()
                .into_iter()
                .map(|(name, required)| {
                    if required {
                        format!("{name} (required)")
                    } else {
                        name
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "Invalid arguments for {tool}; nothing was sent to Duvo.\n- {}\nArguments of {tool}: {expected}. Fix the arguments and call again.",
                problems.join("\n- ")
            )
        }
        ArgumentError::NoTeam(msg) => format!("{} cannot run: {msg}.", entry.name()),
    };
    CallToolResult::error(vec![ContentBlock::text(text)])
}

/// A Duvo failure, explained: what went wrong and what to do next.
pub fn api_failure(entry: &ToolEntry, args: &JsonObject, err: &ApiError) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(explain(entry, args, err))])
}

fn explain(entry: &ToolEntry, args: &JsonObject, err: &ApiError) -> String {
    let tool = entry.name();
    let ApiError::Status {
        status,
        code,
        message,
        details,
        retry_after,
        attempts,
    } = err
    else {
        return match err {
            ApiError::Timeout { attempts } => format!(
                "{tool}: Duvo did not answer in time ({attempts} attempt(s)). {}",
                retry_advice(entry)
            ),
            ApiError::Unreachable {
                base_url,
                reason,
                attempts,
            } => format!(
                "{tool}: could not reach Duvo at {base_url} after {attempts} attempt(s): {reason}. Check DUVO_API_BASE_URL and the network, then retry. {}",
                if entry.method.is_idempotent() {
                    ""
                } else {
                    "If unsure whether it took effect, check with a list tool before retrying."
                }
            ),
            other => format!("{tool}: {other}"),
        };
    };
    let said = message
        .as_deref()
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    let head = format!("{tool} failed: Duvo returned {status} {code}{said}.");
    let next = match status {
        400 => {
            let fields = validation_fields(details.as_deref());
            format!(
                "The request was rejected as invalid{fields}. Fix the arguments it names and call again; do not retry unchanged."
            )
        }
        401 => "The API key was rejected. Check DUVO_API_KEY: it must be a current team API key (dv_…) from Team Settings → API Keys. Retrying will not help.".to_owned(),
        403 => {
            let team = if args.contains_key("team_id") {
                " You passed team_id: an API key only works for its own team; omit team_id to use it."
            } else {
                ""
            };
            format!("The key's user lacks permission for this action or resource, or it awaits an approval in Duvo.{team} Ask a team manager, or choose a resource of the key's team.")
        }
        404 => not_found_advice(entry, args),
        409 => "It conflicts with the current state (a duplicate name, or the resource is in a state that does not allow this). Read the resource again, then decide.".to_owned(),
        413 => "The payload is too large. Send less (or a smaller file).".to_owned(),
        429 => {
            let wait = retry_after
                .map(|d| format!("after {} s", d.as_secs().max(1)))
                .unwrap_or_else(|| "in a minute".to_owned());
            format!("Rate limited (300 requests a minute per key) after {attempts} attempt(s). Retry {wait}; poll less often (every 5–10 s) or use webhook_url.")
        }
        500..=599 => format!("Duvo had a server error after {attempts} attempt(s). {}", retry_advice(entry)),
        _ => "Read the message above and adjust the call.".to_owned(),
    };
    let extra = details
        .as_ref()
        .map(|d| format!("\nDetails: {d}"))
        .unwrap_or_default();
    format!("{head} {next}{extra}")
}

fn retry_advice(entry: &ToolEntry) -> &'static str {
    if entry.method.is_idempotent() {
        "It is safe to retry shortly."
    } else {
        "It may or may not have taken effect: check with the matching get/list tool before retrying."
    }
}

fn validation_fields(details: Option<&Value>) -> String {
    let fields: Vec<String> = details
        .and_then(|d| d.get("validationErrors"))
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|e| {
                    let field = e.get("field")?.as_str()?;
                    let msg = e
                        .get("message")
                        .and_then(|m| m.as_str())
                        .unwrap_or("invalid");
                    Some(format!("{field}: {msg}"))
                })
                .collect()
        })
        .unwrap_or_default();
    if fields.is_empty() {
        String::new()
    } else {
        format!(" ({})", fields.join("; "))
    }
}

fn not_found_advice(entry: &ToolEntry, args: &JsonObject) -> String {
    let mut ids: Vec<String> = args
        .iter()
        .filter_map(|(name, value)| {
            let (tool, what) = hints::id_source(name)?;
            let value = value.as_str()?;
            Some(format!("{name}={value} (valid ids: {tool}, {what})"))
        })
        .collect();
    ids.sort();
    if ids.is_empty() {
        format!(
            "Nothing was found at {} {}. Check the ids you passed.",
            entry.method.as_str(),
            entry.path
        )
    } else {
        format!(
            "One of these ids does not exist or is not visible to this key: {}. Look up a valid id, then call again.",
            ids.join("; ")
        )
    }
}
