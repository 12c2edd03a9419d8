//! Errors for requests rmcp could not read into a typed MCP request.
//!
//! rmcp turns a request for a known MCP method whose params do not fit (e.g. `tools/call`
//! without `name`, or with `arguments` that are not an object) into a custom request, whose
//! default answer is `-32601 Method not found` with the bare method name as message. That tells
//! the client the wrong thing; this says what is wrong with the params instead.

use rmcp::model::{ErrorCode, ErrorData};
use serde_json::Value;

/// MCP client request methods that may reach `on_custom_request` only with malformed params.
const MCP_METHODS: &[(&str, &str)] = &[
    ("tools/call", "{\"name\": string, \"arguments\": object}"),
    ("tools/list", "{\"cursor\"?: string}"),
    ("resources/read", "{\"uri\": string}"),
    ("resources/list", "{\"cursor\"?: string}"),
    ("resources/templates/list", "{\"cursor\"?: string}"),
    (
        "prompts/get",
        "{\"name\": string, \"arguments\"?: {string: string}}",
    ),
    ("prompts/list", "{\"cursor\"?: string}"),
    (
        "completion/complete",
        "{\"ref\": object, \"argument\": {\"name\", \"value\"}}",
    ),
];

/// The answer to a request rmcp delivered as a custom request.
pub fn custom_request_error(method: &str, params: Option<&Value>) -> ErrorData {
    let Some((_, expected)) = MCP_METHODS.iter().find(|(m, _)| *m == method) else {
        return ErrorData::new(
            ErrorCode::METHOD_NOT_FOUND,
            format!("method not found: {method}"),
            None,
        );
    };
    let why = match params {
        None => "params are missing",
        Some(Value::Object(_)) => "params do not match the method's schema",
        Some(_) => "params must be an object",
    };
    ErrorData::invalid_params(
        format!("invalid params for {method}: {why}; expected {expected}"),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn known_methods_get_invalid_params_and_others_method_not_found() {
        let e = custom_request_error("tools/call", Some(&json!({"arguments": [1]})));
        assert_eq!(e.code, ErrorCode::INVALID_PARAMS);
        assert!(e.message.contains("tools/call") && e.message.contains("name"));
        let e = custom_request_error("tools/call", None);
        assert!(e.message.contains("missing"), "{}", e.message);
        let e = custom_request_error("no/such", None);
        assert_eq!(e.code, ErrorCode::METHOD_NOT_FOUND);
        assert!(e.message.contains("no/such"));
    }
}
