//! Human requests of a waiting Job, answered through the user: elicitation in a legacy session,
//! an input-required result (MRTR) for 2026-07-28 clients, instructions for everyone else.

use super::Call;
use super::runs::Wait;
use rmcp::model::{
    CallToolResult, ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationAction,
    ElicitationSchema, ErrorData, InputRequest, InputRequests, InputRequiredResult,
    ProtocolVersion, RequestStateCodec,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::sync::LazyLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long the user has to answer an elicitation before we return the request instead.
const ASK_TIMEOUT: Duration = Duration::from_secs(600);
/// Key of our input request in an `InputRequiredResult`.
const INPUT_KEY: &str = "human_request";

/// Seals `requestState` for MRTR retries: the configured key ([`use_state_codec`]), else a
/// random key that lives for this process only.
static CODEC: LazyLock<Option<RequestStateCodec>> = LazyLock::new(|| {
    if let Some(c) = CONFIGURED.get() {
        return Some(c.clone());
    }
    let key: [u8; 32] = rand::random();
    RequestStateCodec::try_new(key.to_vec()).ok()
});
static CONFIGURED: std::sync::OnceLock<RequestStateCodec> = std::sync::OnceLock::new();

/// Seals and opens `requestState` with `codec` (`DUVO_MCP_STATE_KEY`) instead of a random
/// per-process key. Call once, before serving (the first seal or open fixes the key); false if
/// a codec was already configured.
pub fn use_state_codec(codec: RequestStateCodec) -> bool {
    CONFIGURED.set(codec).is_ok()
}

/// What became of a human request.
pub enum Asked {
    /// The user answered and the answer reached Duvo: keep waiting.
    Answered,
    /// The user declined or cancelled; the request stays open. Holds the note to show.
    Declined(String),
    /// The client cannot ask its user; holds the instructions to show.
    CannotAsk(String),
    /// 2026-07-28 client: return this and wait for the retry.
    InputRequired(InputRequiredResult),
    /// Forwarding the answer failed: the tool error to show.
    Failed(CallToolResult),
}

/// What an MRTR retry needs to finish the round and keep waiting.
#[derive(Debug, Serialize, Deserialize)]
pub struct ResumeState {
    /// The Job.
    pub run_id: String,
    /// The human request asked about.
    pub request_id: String,
    /// `approval` or `question`.
    pub kind: String,
    /// Question texts, in the order of the form's keys q1, q2, …
    pub questions: Vec<String>,
    /// Wall-clock end of the wait, in Unix milliseconds.
    pub deadline_unix_ms: u64,
    /// Stop the Job if the wait is cancelled.
    pub stop_on_cancel: bool,
}

impl ResumeState {
    /// The remaining wait as an `Instant`.
    pub fn deadline(&self) -> Instant {
        let left = self.deadline_unix_ms.saturating_sub(unix_ms());
        Instant::now() + Duration::from_millis(left)
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Opens a sealed `requestState`; tampered or foreign state is an invalid-params error.
pub fn open_state(sealed: &str) -> Result<ResumeState, ErrorData> {
    CODEC
        .as_ref()
        .and_then(|c| c.open_json(sealed).ok())
        .ok_or_else(|| {
            ErrorData::invalid_params(
                "requestState is not ours or has expired (server restarted?); call waitForRun again",
                None,
            )
        })
}

/// The tool call that answers `request` (for clients that cannot ask their user), for text
/// outside the untrusted-data fence: the question texts (written by the Job) are not repeated;
/// the answers are keyed by the texts in `pending_human_request.questions`.
pub fn answer_call(run_id: &str, request: &Value) -> String {
    let request_id = request["id"].as_str().unwrap_or("");
    if request["type"] == "approval" {
        format!(
            "respondToHumanRequest {{\"run_id\": \"{run_id}\", \"request_id\": \"{request_id}\", \"approved\": true}} (or false to deny)"
        )
    } else {
        format!(
            "respondToHumanRequest {{\"run_id\": \"{run_id}\", \"request_id\": \"{request_id}\", \"answers\": {{\"<question text>\": \"<answer>\"}}}} (one key per question of the request, its exact text; several choices comma-separated)"
        )
    }
}

/// What the person must decide, for people: the request's title, description and every question
/// with its options (label and description), one per line. Written by the Job: show it inside
/// the untrusted-data fence only.
pub fn describe_request(request: &Value) -> String {
    let mut out = String::new();
    let kind = if request["type"] == "approval" {
        "Approval"
    } else {
        "Question"
    };
    let title = request["title"].as_str().unwrap_or("(no title)");
    out.push_str(&format!("{kind} requested: {title}\n"));
    if let Some(d) = request["description"]
        .as_str()
        .filter(|d| !d.trim().is_empty())
    {
        out.push_str(&format!("Description: {d}\n"));
    }
    for (i, q) in request["questions"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let text = q["question"].as_str().unwrap_or("");
        let options: Vec<&Value> = q["options"]
            .as_array()
            .map(|o| o.iter().collect())
            .unwrap_or_default();
        let how = match (
            options.is_empty(),
            q["multi_select"].as_bool().unwrap_or(false),
        ) {
            (true, _) => "free text",
            (false, false) => "pick one",
            (false, true) => "pick one or more, comma-separated",
        };
        out.push_str(&format!("Question {} ({how}): {text}\n", i + 1));
        for o in options {
            let label = o["label"].as_str().unwrap_or("");
            match o["description"].as_str().filter(|d| !d.trim().is_empty()) {
                Some(d) => out.push_str(&format!("  - {label}: {d}\n")),
                None => out.push_str(&format!("  - {label}\n")),
            }
        }
    }
    out
}

/// The exact call that answers `request`, question texts included as the `answers` keys: for
/// structured content and fenced data only.
pub fn answer_call_in_full(run_id: &str, request: &Value) -> String {
    if request["type"] == "approval" {
        return answer_call(run_id, request);
    }
    let request_id = request["id"].as_str().unwrap_or("");
    let answers: Map<String, Value> = request["questions"]
        .as_array()
        .map(|qs| {
            qs.iter()
                .filter_map(|q| q["question"].as_str())
                .map(|q| (q.to_owned(), Value::String("<answer>".into())))
                .collect()
        })
        .unwrap_or_default();
    format!(
        "respondToHumanRequest {{\"run_id\": \"{run_id}\", \"request_id\": \"{request_id}\", \"answers\": {}}} (keys are the question texts; several choices comma-separated)",
        Value::Object(answers)
    )
}

/// Asks the user about `request` in the way the client supports.
pub async fn ask(call: &Call<'_>, wait: &Wait, request: &Value) -> Result<Asked, ErrorData> {
    let can_elicit = call
        .cx
        .client_capabilities()
        .is_some_and(|c| c.elicitation.is_some());
    let modern = call
        .cx
        .meta
        .protocol_version()
        .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28);
    let form = Form::for_request(&wait.run_id, request);
    if !can_elicit {
        return Ok(Asked::CannotAsk(
            "This client cannot ask its user, so the request is returned: show the user what it asks, then answer as the next step says."
                .to_owned(),
        ));
    }
    if modern {
        return Ok(input_required(wait, &form));
    }
    let params = ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: form.message.clone(),
        requested_schema: form.schema.clone(),
    };
    let answer = tokio::select! {
        () = call.cx.ct.cancelled() => return Err(ErrorData::internal_error("cancelled by the client", None)),
        r = tokio::time::timeout(ASK_TIMEOUT, call.cx.peer.create_elicitation(params)) => r,
    };
    Ok(match answer {
        Ok(Ok(result)) => forward(call, &form, result).await,
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "elicitation failed");
            Asked::CannotAsk(format!(
                "Asking the user failed ({e}); the request is still open: show the user what it asks, then answer as the next step says."
            ))
        }
        Err(_) => Asked::Declined(format!(
            "The user did not answer within {} minutes; the request is still open.",
            ASK_TIMEOUT.as_secs() / 60,
        )),
    })
}

/// Finishes an MRTR round: reads the client's answer and forwards it to Duvo.
pub async fn finish_input_round(call: &Call<'_>, state: &ResumeState) -> Asked {
    let form = Form {
        run_id: state.run_id.clone(),
        request_id: state.request_id.clone(),
        kind: state.kind.clone(),
        questions: state.questions.clone(),
        message: String::new(),
        schema: approval_schema(""),
    };
    let answer = call
        .input_responses
        .and_then(|r| r.get(INPUT_KEY))
        .and_then(|v| serde_json::from_value::<ElicitResult>(v.clone()).ok());
    match answer {
        Some(result) => forward(call, &form, result).await,
        None => Asked::Declined(
            "No answer came back for the human request; it is still open.".to_owned(),
        ),
    }
}

fn input_required(wait: &Wait, form: &Form) -> Asked {
    let left = wait.deadline.saturating_duration_since(Instant::now());
    let state = ResumeState {
        run_id: wait.run_id.clone(),
        request_id: form.request_id.clone(),
        kind: form.kind.clone(),
        questions: form.questions.clone(),
        deadline_unix_ms: unix_ms() + u64::try_from(left.as_millis()).unwrap_or(0),
        stop_on_cancel: wait.stop_on_cancel,
    };
    let Some(sealed) = CODEC.as_ref().and_then(|c| c.seal_json(&state).ok()) else {
        return Asked::CannotAsk(
            "Could not seal the request state; answer the request yourself.".into(),
        );
    };
    let mut requests = InputRequests::new();
    requests.insert(
        INPUT_KEY.to_owned(),
        InputRequest::Elicitation(ElicitRequest::new(
            ElicitRequestParams::FormElicitationParams {
                meta: None,
                message: form.message.clone(),
                requested_schema: form.schema.clone(),
            },
        )),
    );
    Asked::InputRequired(InputRequiredResult::new(Some(requests), Some(sealed)))
}

/// Sends the user's answer to Duvo.
async fn forward(call: &Call<'_>, form: &Form, result: ElicitResult) -> Asked {
    match result.action {
        ElicitationAction::Accept => {}
        action => {
            let what = if action == ElicitationAction::Decline {
                "declined"
            } else {
                "cancelled"
            };
            return Asked::Declined(format!(
                "The user {what} to answer; the request is still open and nothing was sent."
            ));
        }
    }
    let content = result.content.unwrap_or(Value::Null);
    let mut body = json!({ "run_id": form.run_id, "request_id": form.request_id });
    if form.kind == "approval" {
        let Some(approved) = content["approve"].as_bool() else {
            return Asked::Declined(
                "The user's answer had no approve/deny choice; the request is still open.".into(),
            );
        };
        body["approved"] = Value::Bool(approved);
    } else {
        let mut answers = Map::new();
        for (i, question) in form.questions.iter().enumerate() {
            let value = &content[format!("q{}", i + 1)];
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Array(items) => items
                    .iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                Value::Null => continue,
                other => other.to_string(),
            };
            answers.insert(question.clone(), Value::String(text));
        }
        body["answers"] = Value::Object(answers);
    }
    match call.op("respondToHumanRequest", body).await {
        Ok(_) => Asked::Answered,
        Err(e) => Asked::Failed(e.into()),
    }
}

/// The form shown to the user for one human request.
struct Form {
    run_id: String,
    request_id: String,
    kind: String,
    questions: Vec<String>,
    message: String,
    schema: ElicitationSchema,
}

impl Form {
    fn for_request(run_id: &str, request: &Value) -> Self {
        let title = request["title"]
            .as_str()
            .unwrap_or("A Duvo Job needs your input");
        let description = request["description"].as_str().unwrap_or("");
        let kind = request["type"].as_str().unwrap_or("question").to_owned();
        let message = format!("Duvo Job {run_id} asks: {title}\n{description}")
            .trim()
            .to_owned();
        let (questions, schema) = if kind == "approval" {
            (Vec::new(), approval_schema(title))
        } else {
            question_schema(request)
        };
        Self {
            run_id: run_id.to_owned(),
            request_id: request["id"].as_str().unwrap_or("").to_owned(),
            kind,
            questions,
            message,
            schema,
        }
    }
}

fn approval_schema(title: &str) -> ElicitationSchema {
    schema(json!({
        "type": "object",
        "properties": {"approve": {"type": "boolean", "title": "Approve?", "description": title}},
        "required": ["approve"]
    }))
}

fn question_schema(request: &Value) -> (Vec<String>, ElicitationSchema) {
    let mut questions = Vec::new();
    let mut props = Map::new();
    for (i, q) in request["questions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let text = q["question"].as_str().unwrap_or("Answer").to_owned();
        let labels: Vec<Value> = q["options"]
            .as_array()
            .map(|o| {
                o.iter()
                    .filter_map(|x| x["label"].as_str().map(|l| json!(l)))
                    .collect()
            })
            .unwrap_or_default();
        let prop = match (
            labels.is_empty(),
            q["multi_select"].as_bool().unwrap_or(false),
        ) {
            (true, _) => json!({"type": "string", "title": text}),
            (false, false) => json!({"type": "string", "title": text, "enum": labels}),
            (false, true) => {
                json!({"type": "array", "title": text, "items": {"type": "string", "enum": labels}})
            }
        };
        props.insert(format!("q{}", i + 1), prop);
        questions.push(text);
    }
    let required: Vec<String> = (1..=questions.len()).map(|i| format!("q{i}")).collect();
    let full = json!({"type": "object", "properties": props, "required": required});
    // A client schema type may not know multi-select arrays: fall back to free text.
    let parsed = serde_json::from_value::<ElicitationSchema>(full)
        .ok()
        .unwrap_or_else(|| {
            let mut plain = Map::new();
            for (i, q) in questions.iter().enumerate() {
                plain.insert(format!("q{}", i + 1), json!({"type": "string", "title": q}));
            }
            schema(json!({"type": "object", "properties": plain, "required": required}))
        });
    (questions, parsed)
}

fn schema(v: Value) -> ElicitationSchema {
    serde_json::from_value(v).unwrap_or_else(|_| ElicitationSchema::builder().build_unchecked())
}
