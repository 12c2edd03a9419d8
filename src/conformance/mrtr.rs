//! Multi-round-trip request fixtures (SEP-2322, 2026-07-28): tools and a prompt that answer with
//! `InputRequiredResult` until the client retries with the requested `inputResponses` (and the
//! sealed `requestState` echoed back, verified before use).

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, CreateMessageRequest,
    CreateMessageRequestParams, ElicitRequest, ElicitRequestParams, ErrorData, GetPromptResponse,
    GetPromptResult, InputRequest, InputRequests, InputRequiredResult, InputResponses,
    ListRootsRequest, PromptMessage, RequestMetaObject, RequestStateCodec, Role, SamplingMessage,
    Tool,
};
use serde_json::{Map, Value, json};

/// Prefix of every MRTR fixture tool.
const PREFIX: &str = "test_input_required_result_";
/// The MRTR fixture prompt.
pub(super) const PROMPT: &str = "test_input_required_result_prompt";

/// The MRTR fixture tools (no arguments).
const TOOLS: [(&str, &str); 8] = [
    ("elicitation", "Needs an elicitation answer (SEP-2322)"),
    ("sampling", "Needs a sampling answer (SEP-2322)"),
    ("list_roots", "Needs the client's roots (SEP-2322)"),
    (
        "request_state",
        "Round-trips a sealed requestState (SEP-2322)",
    ),
    (
        "multiple_inputs",
        "Needs elicitation, sampling and roots in one round (SEP-2322)",
    ),
    (
        "multi_round",
        "Needs two rounds of input, carried in requestState (SEP-2322)",
    ),
    (
        "tampered_state",
        "Rejects a requestState that was altered (SEP-2322)",
    ),
    (
        "capabilities",
        "Asks only for inputs the client declared it supports (SEP-2322)",
    ),
];

/// Tool definitions.
pub(super) fn tools() -> Vec<Tool> {
    TOOLS
        .iter()
        .map(|(suffix, description)| {
            let schema = json!({"type": "object", "properties": {}});
            Tool::new(
                format!("{PREFIX}{suffix}"),
                *description,
                schema.as_object().cloned().unwrap_or_default(),
            )
        })
        .collect()
}

/// Whether `name` is an MRTR fixture tool.
pub(super) fn handles(name: &str) -> bool {
    name.strip_prefix(PREFIX)
        .is_some_and(|s| TOOLS.iter().any(|(t, _)| *t == s))
}

/// An elicitation input request for an object with `properties`, all of `required` required.
pub(super) fn elicitation(
    message: &str,
    properties: Value,
    required: &[&str],
) -> Result<InputRequest, ErrorData> {
    let schema = serde_json::from_value(
        json!({"type": "object", "properties": properties, "required": required}),
    )
    .map_err(|e| ErrorData::internal_error(format!("fixture schema: {e}"), None))?;
    Ok(InputRequest::Elicitation(ElicitRequest::new(
        ElicitRequestParams::FormElicitationParams {
            meta: None,
            message: message.to_owned(),
            requested_schema: schema,
        },
    )))
}

fn sampling(prompt: &str) -> InputRequest {
    InputRequest::CreateMessage(CreateMessageRequest::new(CreateMessageRequestParams::new(
        vec![SamplingMessage::user_text(prompt)],
        100,
    )))
}

fn roots() -> InputRequest {
    InputRequest::ListRoots(ListRootsRequest::default())
}

/// A usable (object) response under `key`; anything else counts as missing.
fn response<'a>(
    responses: Option<&'a InputResponses>,
    key: &str,
) -> Option<&'a Map<String, Value>> {
    responses
        .and_then(|r| r.get(key))
        .and_then(Value::as_object)
}

/// `content.<field>` of an elicitation response.
fn content_str<'a>(r: &'a Map<String, Value>, field: &str) -> Option<&'a str> {
    r.get("content")
        .and_then(|c| c.get(field))
        .and_then(Value::as_str)
}

fn done(text: impl Into<String>) -> Result<CallToolResponse, ErrorData> {
    Ok(CallToolResult::success(vec![ContentBlock::text(text)]).into())
}

fn ask(
    requests: Vec<(&str, InputRequest)>,
    state: Option<String>,
) -> Result<CallToolResponse, ErrorData> {
    let map: InputRequests = requests
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    Ok(InputRequiredResult::new(Some(map), state).into())
}

fn tampered() -> ErrorData {
    ErrorData::invalid_params("requestState failed integrity verification", None)
}

fn seal(codec: &RequestStateCodec, v: Value) -> Result<String, ErrorData> {
    codec
        .seal_json(&v)
        .map_err(|e| ErrorData::internal_error(format!("sealing requestState: {e}"), None))
}

/// Runs one MRTR fixture tool.
pub(super) fn call(
    codec: &RequestStateCodec,
    request: CallToolRequestParams,
    meta: &RequestMetaObject,
) -> Result<CallToolResponse, ErrorData> {
    let responses = request.input_responses.as_ref();
    let state = request.request_state.as_deref();
    let name_q = || {
        elicitation(
            "What is your name?",
            json!({"name": {"type": "string"}}),
            &["name"],
        )
    };
    match request.name.strip_prefix(PREFIX).unwrap_or_default() {
        "elicitation" => match response(responses, "user_name") {
            Some(r) => done(format!(
                "Hello, {}!",
                content_str(r, "name").unwrap_or("friend")
            )),
            None => ask(vec![("user_name", name_q()?)], None),
        },
        "sampling" => match response(responses, "capital_question") {
            Some(r) => done(format!(
                "Sampling response: {}",
                content_str(r, "text").unwrap_or("(no sampling text)")
            )),
            None => ask(
                vec![(
                    "capital_question",
                    sampling("What is the capital of France?"),
                )],
                None,
            ),
        },
        "list_roots" => match response(responses, "client_roots") {
            Some(r) => {
                let uris: Vec<&str> = r
                    .get("roots")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.get("uri").and_then(Value::as_str))
                            .collect()
                    })
                    .unwrap_or_default();
                done(format!("Client roots: [{}]", uris.join(", ")))
            }
            None => ask(vec![("client_roots", roots())], None),
        },
        "request_state" | "tampered_state" => match state {
            None => {
                let confirm = elicitation(
                    "Please confirm",
                    json!({"ok": {"type": "boolean"}}),
                    &["ok"],
                )?;
                ask(
                    vec![("confirm", confirm)],
                    Some(seal(codec, json!({"stage": "confirm"}))?),
                )
            }
            Some(sealed) => {
                codec.open(sealed).map_err(|_| tampered())?;
                done("Confirmed: state-ok")
            }
        },
        "multiple_inputs" => {
            if let Some(sealed) = state {
                codec.open(sealed).map_err(|_| tampered())?;
            }
            let all = ["user_name", "greeting", "client_roots"]
                .iter()
                .all(|k| response(responses, k).is_some());
            if all && state.is_some() {
                return done("All inputs received");
            }
            ask(
                vec![
                    ("user_name", name_q()?),
                    ("greeting", sampling("Generate a greeting")),
                    ("client_roots", roots()),
                ],
                Some(seal(codec, json!({"stage": "gather"}))?),
            )
        }
        "multi_round" => {
            let round = match state {
                None => 0,
                Some(sealed) => codec
                    .open_json::<Value>(sealed)
                    .map_err(|_| tampered())?
                    .get("round")
                    .and_then(Value::as_i64)
                    .unwrap_or(0),
            };
            match round {
                0 => ask(
                    vec![(
                        "step1",
                        elicitation(
                            "Step 1: What is your name?",
                            json!({"name": {"type": "string"}}),
                            &["name"],
                        )?,
                    )],
                    Some(seal(codec, json!({"round": 1}))?),
                ),
                1 => ask(
                    vec![(
                        "step2",
                        elicitation(
                            "Step 2: What is your favorite color?",
                            json!({"color": {"type": "string"}}),
                            &["color"],
                        )?,
                    )],
                    Some(seal(codec, json!({"round": 2}))?),
                ),
                _ => done("Multi-round flow complete"),
            }
        }
        "capabilities" => {
            if responses.is_some() {
                return done("Capability-aware flow complete");
            }
            let caps = meta.client_capabilities().unwrap_or_default();
            let mut wanted = Vec::new();
            if caps.elicitation.is_some() {
                wanted.push(("user_name", name_q()?));
            }
            if caps.sampling.is_some() {
                wanted.push(("greeting", sampling("Generate a greeting")));
            }
            if caps.roots.is_some() {
                wanted.push(("client_roots", roots()));
            }
            if wanted.is_empty() {
                return done("Client declared no MRTR-capable capabilities");
            }
            ask(wanted, None)
        }
        _ => Err(ErrorData::invalid_params(
            format!("unknown tool: {}", request.name),
            None,
        )),
    }
}

/// The MRTR fixture prompt: asks for context, then builds the prompt from it.
pub(super) fn prompt(responses: Option<&InputResponses>) -> GetPromptResponse {
    if let Some(r) = response(responses, "user_context") {
        let context = content_str(r, "context").unwrap_or("(no context)");
        return GetPromptResult::new(vec![PromptMessage::new_text(
            Role::User,
            format!("Prompt with elicited context: {context}"),
        )])
        .with_description("A prompt built from elicited context")
        .into();
    }
    let mut requests = InputRequests::new();
    match elicitation(
        "What context should the prompt use?",
        json!({"context": {"type": "string"}}),
        &["context"],
    ) {
        Ok(req) => {
            requests.insert("user_context".into(), req);
            InputRequiredResult::from_input_requests(requests).into()
        }
        Err(_) => {
            GetPromptResult::new(vec![PromptMessage::new_text(Role::User, "(fixture error)")])
                .into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec() -> RequestStateCodec {
        RequestStateCodec::new_unchecked(vec![7u8; 32])
    }

    fn params(name: &str) -> CallToolRequestParams {
        CallToolRequestParams::new(format!("{PREFIX}{name}"))
    }

    #[test]
    fn request_state_round_trips_and_tampering_is_rejected() {
        let meta = RequestMetaObject::default();
        let first = call(&codec(), params("request_state"), &meta).expect("first round");
        let CallToolResponse::InputRequired(asked) = first else {
            panic!("expected input_required");
        };
        let state = asked.request_state.clone().expect("sealed state");
        let ok = call(
            &codec(),
            params("request_state").with_request_state(state.clone()),
            &meta,
        );
        assert!(matches!(ok, Ok(CallToolResponse::Complete(_))));
        let mut bad = state;
        bad.push('x');
        let err = call(
            &codec(),
            params("tampered_state").with_request_state(bad),
            &meta,
        );
        assert!(err.is_err(), "a tampered requestState is a protocol error");
    }

    #[test]
    fn only_listed_names_are_handled() {
        assert!(handles("test_input_required_result_multi_round"));
        assert!(!handles("test_input_required_result_nope"));
        assert_eq!(tools().len(), TOOLS.len());
    }
}
