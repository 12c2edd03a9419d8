//! Fixture tools of the conformance suite: content types, errors, progress, logging, sampling,
//! elicitation, JSON Schema 2020-12, SEP-2243 custom headers and list-changed triggers.

use super::FixtureServer;
use rmcp::RoleServer;
use rmcp::model::{
    AudioContent, CallToolRequestParams, CallToolResponse, CallToolResult, ClientCapabilities,
    ContentBlock, CreateMessageRequestParams, ElicitRequestParams, ElicitationAction,
    ElicitationSchema, ErrorData, InputRequests, InputRequiredResult, JsonObject, LoggingLevel,
    LoggingMessageNotificationParam, ProgressNotificationParam, ResourceContents, SamplingMessage,
    Tool,
};
use rmcp::service::RequestContext;
use serde_json::{Value, json};
use std::time::Duration;

/// A 1×1 PNG, base64.
pub(super) const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg==";
/// A silent, empty WAV, base64.
const WAV_SILENT: &str = "UklGRiQAAABXQVZFZm10IBAAAAABAAEARKwAAIhYAQACABAAZGF0YQAAAAA=";
/// Logger name on fixture log messages.
const LOGGER: &str = "duvo-mcp-conformance";

/// Name, description and input schema of every fixture tool.
fn table() -> Vec<(&'static str, &'static str, Value)> {
    let empty = || json!({"type": "object", "properties": {}});
    vec![
        ("test_simple_text", "Returns one text block", empty()),
        ("test_image_content", "Returns one PNG image block", empty()),
        ("test_audio_content", "Returns one WAV audio block", empty()),
        (
            "test_embedded_resource",
            "Returns an embedded text resource",
            empty(),
        ),
        (
            "test_multiple_content_types",
            "Returns text, an image and an embedded resource",
            empty(),
        ),
        (
            "test_tool_with_logging",
            "Sends three log messages while it runs",
            empty(),
        ),
        (
            "test_error_handling",
            "Always fails with a tool error (isError)",
            empty(),
        ),
        (
            "test_tool_with_progress",
            "Reports progress 0, 50 and 100 of 100 when given a progress token",
            empty(),
        ),
        (
            "test_sampling",
            "Asks the client's model to answer a prompt (sampling)",
            json!({"type": "object", "properties": {"prompt": {"type": "string", "description": "The prompt to send"}}, "required": ["prompt"]}),
        ),
        (
            "test_elicitation",
            "Asks the user for a username and an email (elicitation)",
            json!({"type": "object", "properties": {"message": {"type": "string", "description": "The message to show"}}, "required": ["message"]}),
        ),
        (
            "test_elicitation_sep1034_defaults",
            "Elicitation whose fields all have defaults (SEP-1034)",
            empty(),
        ),
        (
            "test_elicitation_sep1330_enums",
            "Elicitation with titled, untitled, single and multi-select enums (SEP-1330)",
            empty(),
        ),
        (
            "json_schema_2020_12_tool",
            "Input schema using JSON Schema 2020-12 keywords ($defs, $ref, if/then/else)",
            json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "$defs": {"address": {"$anchor": "address", "type": "object",
                    "properties": {"street": {"type": "string"}, "city": {"type": "string"}}}},
                "properties": {"name": {"type": "string"}, "address": {"$ref": "#/$defs/address"}},
                "allOf": [{"anyOf": [{"required": ["name"]}, {"required": ["address"]}]}],
                "if": {"required": ["address"]},
                "then": {"properties": {"address": {"required": ["street"]}}},
                "else": {"required": ["name"]},
                "additionalProperties": false
            }),
        ),
        (
            "test_reconnection",
            "Answers after a short pause (SSE reconnection)",
            empty(),
        ),
        (
            "test_custom_header",
            "Echoes `value`, which clients also send as the Mcp-Param-Value header (SEP-2243)",
            json!({"type": "object", "properties": {"value": {"type": "string", "x-mcp-header": "Value"}}, "required": ["value"]}),
        ),
        (
            "test_trigger_tool_change",
            "Sends tools/list_changed to every open subscription",
            empty(),
        ),
        (
            "test_trigger_prompt_change",
            "Sends prompts/list_changed to every open subscription",
            empty(),
        ),
        (
            "test_missing_capability",
            "Needs the client's sampling capability",
            empty(),
        ),
        (
            "test_streaming_elicitation",
            "Answers with an input_required elicitation request",
            empty(),
        ),
        (
            "test_logging_tool",
            "Logs only when the request asks for a log level",
            empty(),
        ),
    ]
}

fn tool(name: &'static str, description: &'static str, schema: Value) -> Tool {
    let schema: JsonObject = schema.as_object().cloned().unwrap_or_default();
    Tool::new(name, description, schema)
}

/// Every fixture tool of this module plus the MRTR ones.
pub(super) fn list() -> Vec<Tool> {
    let mut tools: Vec<Tool> = table().into_iter().map(|(n, d, s)| tool(n, d, s)).collect();
    tools.extend(super::mrtr::tools());
    tools.extend(super::tasks::tools());
    tools
}

/// One fixture tool (of this module or MRTR) by name.
pub(super) fn get(name: &str) -> Option<Tool> {
    table()
        .into_iter()
        .find(|(n, _, _)| *n == name)
        .map(|(n, d, s)| tool(n, d, s))
        .or_else(|| {
            super::mrtr::tools()
                .into_iter()
                .chain(super::tasks::tools())
                .find(|t| t.name == name)
        })
}

fn text(t: impl Into<String>) -> CallToolResponse {
    CallToolResult::success(vec![ContentBlock::text(t)]).into()
}

fn schema(v: Value) -> Result<ElicitationSchema, ErrorData> {
    serde_json::from_value(v)
        .map_err(|e| ErrorData::internal_error(format!("fixture schema: {e}"), None))
}

fn action(a: &ElicitationAction) -> &'static str {
    match a {
        ElicitationAction::Accept => "accept",
        ElicitationAction::Decline => "decline",
        ElicitationAction::Cancel => "cancel",
        #[allow(unreachable_patterns)]
        _ => "unknown",
    }
}

/// Asks the client to fill `requested` and reports what came back (as a tool result).
async fn elicit(
    cx: &RequestContext<RoleServer>,
    message: &str,
    requested: Value,
    label: &str,
    with_content: bool,
) -> Result<CallToolResponse, ErrorData> {
    let params = ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: message.to_owned(),
        requested_schema: schema(requested)?,
    };
    Ok(match cx.peer.create_elicitation(params).await {
        Ok(r) if with_content => text(format!(
            "{label}: action={}, content={}",
            action(&r.action),
            r.content
                .map(|c| c.to_string())
                .unwrap_or_else(|| "null".into())
        )),
        Ok(r) => text(format!("{label}: action={}", action(&r.action))),
        Err(e) => {
            CallToolResult::error(vec![ContentBlock::text(format!("Elicitation error: {e}"))])
                .into()
        }
    })
}

/// Whether this request may receive `notifications/message`, and at which level: 2026-07-28
/// requests only when they ask (`_meta` logLevel); legacy sessions always.
fn log_level(cx: &RequestContext<RoleServer>) -> Option<LoggingLevel> {
    if cx.meta.protocol_version().is_some() {
        cx.meta.log_level()
    } else {
        Some(LoggingLevel::Info)
    }
}

async fn log(cx: &RequestContext<RoleServer>, level: LoggingLevel, message: &str) {
    let param = LoggingMessageNotificationParam::new(level, json!(message)).with_logger(LOGGER);
    #[allow(deprecated)]
    let sent = cx.peer.notify_logging_message(param).await;
    if let Err(e) = sent {
        tracing::debug!(error = %e, "fixture log message not delivered");
    }
}

/// Runs one fixture tool.
pub(super) async fn call(
    server: &FixtureServer,
    request: CallToolRequestParams,
    cx: RequestContext<RoleServer>,
) -> Result<CallToolResponse, ErrorData> {
    let args = request.arguments.clone().unwrap_or_default();
    let arg = |k: &str| args.get(k).and_then(Value::as_str).map(str::to_owned);
    match request.name.as_ref() {
        "test_simple_text" => Ok(text("This is a simple text response for testing.")),
        "test_image_content" => {
            Ok(CallToolResult::success(vec![ContentBlock::image(PNG_1X1, "image/png")]).into())
        }
        "test_audio_content" => Ok(CallToolResult::success(vec![ContentBlock::Audio(
            AudioContent::new(WAV_SILENT, "audio/wav"),
        )])
        .into()),
        "test_embedded_resource" => Ok(CallToolResult::success(vec![ContentBlock::resource(
            ResourceContents::text(
                "This is an embedded resource content.",
                "test://embedded-resource",
            ),
        )])
        .into()),
        "test_multiple_content_types" => Ok(CallToolResult::success(vec![
            ContentBlock::text("Multiple content types test:"),
            ContentBlock::image(PNG_1X1, "image/png"),
            ContentBlock::resource(
                ResourceContents::text(
                    r#"{"test":"data","value":123}"#,
                    "test://mixed-content-resource",
                )
                .with_mime_type("application/json"),
            ),
        ])
        .into()),
        "test_tool_with_logging" => {
            if let Some(level) = log_level(&cx) {
                for m in [
                    "Tool execution started",
                    "Tool processing data",
                    "Tool execution completed",
                ] {
                    log(&cx, level, m).await;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            Ok(text("Logging test completed"))
        }
        "test_logging_tool" => {
            if let Some(level) = cx.meta.log_level() {
                log(&cx, level, "logLevel was requested").await;
            }
            Ok(text("Logging tool completed"))
        }
        "test_error_handling" => Ok(CallToolResult::error(vec![ContentBlock::text(
            "This tool intentionally returns an error for testing",
        )])
        .into()),
        "test_tool_with_progress" => {
            let token = cx.meta.get_progress_token();
            for (done, message) in [(0.0, "Starting"), (50.0, "Halfway"), (100.0, "Complete")] {
                if let Some(token) = &token {
                    let p = ProgressNotificationParam::new(token.clone(), done)
                        .with_total(100.0)
                        .with_message(message);
                    if let Err(e) = cx.peer.notify_progress(p).await {
                        tracing::debug!(error = %e, "progress not delivered");
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok(text("Progress test completed"))
        }
        "test_sampling" => {
            let prompt = arg("prompt").unwrap_or_else(|| "Hello".into());
            let params =
                CreateMessageRequestParams::new(vec![SamplingMessage::user_text(prompt)], 100);
            Ok(match cx.peer.create_message(params).await {
                Ok(r) => {
                    let answer = r
                        .message
                        .content
                        .first()
                        .and_then(|c| c.as_text())
                        .map(|t| t.text.clone())
                        .unwrap_or_else(|| "No text response".into());
                    text(format!("LLM response: {answer}"))
                }
                Err(e) => {
                    CallToolResult::error(vec![ContentBlock::text(format!("Sampling error: {e}"))])
                        .into()
                }
            })
        }
        "test_elicitation" => {
            let message =
                arg("message").unwrap_or_else(|| "Please provide your information".into());
            let requested = json!({"type": "object", "properties": {
                "username": {"type": "string", "description": "User's response"},
                "email": {"type": "string", "description": "User's email address"}},
                "required": ["username", "email"]});
            elicit(&cx, &message, requested, "User response", true).await
        }
        "test_elicitation_sep1034_defaults" => {
            let requested = json!({"type": "object", "properties": {
                "name": {"type": "string", "description": "User's name", "default": "John Doe"},
                "age": {"type": "integer", "description": "User's age", "default": 30},
                "score": {"type": "number", "description": "User's score", "default": 95.5},
                "status": {"type": "string", "description": "User's status",
                    "enum": ["active", "inactive", "pending"], "default": "active"},
                "verified": {"type": "boolean", "description": "Whether user is verified", "default": true}}});
            elicit(
                &cx,
                "Please provide values (all have defaults)",
                requested,
                "Elicitation completed",
                true,
            )
            .await
        }
        "test_elicitation_sep1330_enums" => {
            let requested = json!({"type": "object", "properties": {
                "untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
                "titledSingle": {"type": "string", "oneOf": [
                    {"const": "value1", "title": "First Option"},
                    {"const": "value2", "title": "Second Option"},
                    {"const": "value3", "title": "Third Option"}]},
                "legacyEnum": {"type": "string", "enum": ["opt1", "opt2", "opt3"],
                    "enumNames": ["Option One", "Option Two", "Option Three"]},
                "untitledMulti": {"type": "array", "items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
                "titledMulti": {"type": "array", "items": {"anyOf": [
                    {"const": "value1", "title": "First Choice"},
                    {"const": "value2", "title": "Second Choice"},
                    {"const": "value3", "title": "Third Choice"}]}}}});
            elicit(
                &cx,
                "Test enum schema improvements",
                requested,
                "Enum elicitation completed",
                false,
            )
            .await
        }
        "json_schema_2020_12_tool" => Ok(text(format!(
            "Hello, {}!",
            arg("name").unwrap_or_else(|| "world".into())
        ))),
        "test_reconnection" => {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Ok(text("Reconnection test completed"))
        }
        "test_custom_header" => match arg("value") {
            Some(v) => Ok(text(v)),
            None => Err(ErrorData::invalid_params("value must be a string", None)),
        },
        "test_trigger_tool_change" => {
            for sink in server.listeners().await {
                if let Err(e) = sink.notify_tool_list_changed().await {
                    tracing::debug!(error = %e, "list_changed not delivered");
                }
            }
            Ok(text("Tool list change triggered"))
        }
        "test_trigger_prompt_change" => {
            for sink in server.listeners().await {
                if let Err(e) = sink.notify_prompt_list_changed().await {
                    tracing::debug!(error = %e, "list_changed not delivered");
                }
            }
            Ok(text("Prompt list change triggered"))
        }
        "test_missing_capability" => {
            if cx
                .meta
                .client_capabilities()
                .unwrap_or_default()
                .sampling
                .is_none()
            {
                return Err(ErrorData::missing_required_client_capability(
                    ClientCapabilities::builder().enable_sampling().build(),
                ));
            }
            Ok(text("Required capability declared"))
        }
        "test_streaming_elicitation" => {
            let mut requests = InputRequests::new();
            requests.insert(
                "streaming_elicitation".into(),
                super::mrtr::elicitation(
                    "Provide a value",
                    json!({"value": {"type": "string"}}),
                    &["value"],
                )?,
            );
            Ok(InputRequiredResult::from_input_requests(requests).into())
        }
        other => Err(ErrorData::invalid_params(
            format!("unknown tool: {other}"),
            None,
        )),
    }
}
