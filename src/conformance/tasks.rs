//! Tasks-extension fixtures (SEP-2663, `io.modelcontextprotocol/tasks`): tools that run as tasks
//! when the client declared the extension, polled with `tasks/get` and answered with
//! `tasks/update` / `tasks/cancel`. Not scored by the conformance suite; served so its extension
//! scenarios can run too.

use super::mrtr::elicitation;
use rmcp::RoleServer;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ClientCapabilities, ContentBlock,
    CreateTaskResult, ErrorData, InputRequests, InputRequiredResult, Tool,
};
use rmcp::service::RequestContext;
use rmcp::task_manager::{TaskExit, TaskManager, TaskOptions};
use serde_json::{Value, json};
use std::time::Duration;

/// (name, description, may run as a task, must run as a task, input schema).
type Fixture = (&'static str, &'static str, bool, bool, Value);

fn table() -> Vec<Fixture> {
    let empty = || json!({"type": "object", "properties": {}});
    vec![
        (
            "greet",
            "Greets synchronously; never a task (SEP-2663)",
            false,
            false,
            json!({"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}),
        ),
        (
            "slow_compute",
            "Sleeps `seconds`, as a task when the client supports tasks (SEP-2663)",
            true,
            false,
            json!({"type": "object", "properties": {"seconds": {"type": "number"}, "label": {"type": "string"}}}),
        ),
        (
            "failing_job",
            "Task-only; ends with a tool error (SEP-2663)",
            true,
            true,
            empty(),
        ),
        (
            "protocol_error_job",
            "Fails with a protocol error, as a task when supported (SEP-2663)",
            true,
            false,
            empty(),
        ),
        (
            "confirm_delete",
            "Task-only; waits for one elicitation answer (SEP-2663)",
            true,
            true,
            json!({"type": "object", "properties": {"filename": {"type": "string"}}}),
        ),
        (
            "multi_input",
            "Task-only; waits for two elicitation answers at once (SEP-2663)",
            true,
            true,
            empty(),
        ),
        (
            "test_tool_with_task",
            "First asks for a name (input_required), then continues as a task (SEP-2663)",
            true,
            true,
            empty(),
        ),
    ]
}

/// Tool definitions.
pub(super) fn tools() -> Vec<Tool> {
    table()
        .into_iter()
        .map(|(name, description, _, _, schema)| {
            Tool::new(
                name,
                description,
                schema.as_object().cloned().unwrap_or_default(),
            )
        })
        .collect()
}

/// Whether `name` is a task fixture.
pub(super) fn handles(name: &str) -> bool {
    table().iter().any(|(n, ..)| *n == name)
}

fn text(t: impl Into<String>) -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text(t)])
}

/// `content.<field>` of an elicitation answer.
fn answer<'a>(v: &'a Value, field: &str) -> Option<&'a Value> {
    v.get("content").and_then(|c| c.get(field))
}

/// Runs one task fixture: as a task when the client declared the extension and the tool allows it.
pub(super) async fn call(
    tasks: &TaskManager,
    request: CallToolRequestParams,
    cx: &RequestContext<RoleServer>,
) -> Result<CallToolResponse, ErrorData> {
    let supports = cx.client_capabilities().is_some_and(|c| c.supports_tasks());
    let name = request.name.to_string();
    let Some((_, _, may, must, _)) = table().into_iter().find(|(n, ..)| *n == name) else {
        return Err(ErrorData::invalid_params(
            format!("unknown tool: {name}"),
            None,
        ));
    };
    if must && !supports {
        return Err(ErrorData::missing_required_client_capability(
            ClientCapabilities::builder().enable_tasks().build(),
        ));
    }
    let as_task = may && supports;
    let args = request.arguments.clone().unwrap_or_default();
    let spawn = |work: rmcp::task_manager::TaskFuture| -> CallToolResponse {
        CreateTaskResult::new(tasks.spawn(TaskOptions::default(), move |_| work)).into()
    };
    match name.as_str() {
        "greet" => {
            let who = args.get("name").and_then(Value::as_str).unwrap_or("friend");
            Ok(text(format!("Hello, {who}!")).into())
        }
        "slow_compute" => {
            let secs = args
                .get("seconds")
                .and_then(Value::as_f64)
                .unwrap_or(1.0)
                .clamp(0.0, 60.0);
            let label = args
                .get("label")
                .and_then(Value::as_str)
                .unwrap_or("compute")
                .to_owned();
            let done = format!("slow_compute({label}) done after {secs}s");
            if !as_task {
                tokio::time::sleep(Duration::from_secs_f64(secs)).await;
                return Ok(text(done).into());
            }
            let task = tasks.spawn(TaskOptions::default(), move |ctx| {
                Box::pin(async move {
                    tokio::select! {
                        () = ctx.cancelled() => Err(TaskExit::Cancelled),
                        () = tokio::time::sleep(Duration::from_secs_f64(secs)) => Ok(text(done)),
                    }
                })
            });
            Ok(CreateTaskResult::new(task).into())
        }
        "failing_job" => Ok(spawn(Box::pin(async {
            tokio::time::sleep(Duration::from_millis(1000)).await;
            Ok(CallToolResult::error(vec![ContentBlock::text(
                "failing_job: intentional tool execution error",
            )]))
        }))),
        "protocol_error_job" => {
            let fail = || {
                ErrorData::internal_error(
                    "protocol_error_job: intentional protocol-level failure",
                    None,
                )
            };
            if !as_task {
                tokio::time::sleep(Duration::from_millis(200)).await;
                return Err(fail());
            }
            Ok(spawn(Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                Err(TaskExit::Error(fail()))
            })))
        }
        "confirm_delete" => {
            let file = args
                .get("filename")
                .and_then(Value::as_str)
                .unwrap_or("file.txt")
                .to_owned();
            let ask = elicitation(
                &format!("Delete {file}?"),
                json!({"confirm": {"type": "boolean"}}),
                &["confirm"],
            )?;
            let task = tasks.spawn(TaskOptions::default(), move |ctx| {
                Box::pin(async move {
                    let reply = ctx.request_input("confirm", ask).await?;
                    let yes = answer(&reply, "confirm")
                        .and_then(Value::as_bool)
                        .unwrap_or(false);
                    Ok(text(format!("confirm_delete({file}): confirmed = {yes}")))
                })
            });
            Ok(CreateTaskResult::new(task).into())
        }
        "multi_input" => {
            let a = elicitation(
                "Provide value A",
                json!({"value": {"type": "string"}}),
                &["value"],
            )?;
            let b = elicitation(
                "Provide value B",
                json!({"value": {"type": "string"}}),
                &["value"],
            )?;
            let task = tasks.spawn(TaskOptions::default(), move |ctx| {
                Box::pin(async move {
                    let (ra, rb) = tokio::join!(
                        ctx.request_input("input-a", a),
                        ctx.request_input("input-b", b)
                    );
                    let (ra, rb) = (ra?, rb?);
                    let v = |r: &Value| {
                        answer(r, "value")
                            .and_then(Value::as_str)
                            .unwrap_or("(none)")
                            .to_owned()
                    };
                    Ok(text(format!("multi_input: a = {}, b = {}", v(&ra), v(&rb))))
                })
            });
            Ok(CreateTaskResult::new(task).into())
        }
        "test_tool_with_task" => {
            let given = request
                .input_responses
                .as_ref()
                .and_then(|r| r.get("user_name"))
                .filter(|v| v.is_object());
            let Some(reply) = given else {
                let mut ask = InputRequests::new();
                ask.insert(
                    "user_name".into(),
                    elicitation(
                        "What is your name?",
                        json!({"name": {"type": "string"}}),
                        &["name"],
                    )?,
                );
                return Ok(InputRequiredResult::from_input_requests(ask).into());
            };
            let who = answer(reply, "name")
                .and_then(Value::as_str)
                .unwrap_or("friend")
                .to_owned();
            Ok(spawn(Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                Ok(text(format!("Hello, {who}! (async)")))
            })))
        }
        other => Err(ErrorData::invalid_params(
            format!("unknown tool: {other}"),
            None,
        )),
    }
}
