//! Example requests built from the spec (for contract tests and for trying operations out).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value};

use super::document::{Body, SPEC, Segment};
use super::generate::{GenCtx, fnv, generate, generate_named};

/// Characters escaped in one path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Summary of one spec operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationInfo {
    /// `operationId` (or `"METHOD /path"` when the spec has none).
    pub id: String,
    /// HTTP method, upper case.
    pub method: String,
    /// Path template as in the spec.
    pub template: String,
    /// Lowest declared 2xx status (None for the deprecated redirecting operations).
    pub success: Option<u16>,
    /// Media type of a non-JSON success body.
    pub media: Option<&'static str>,
    /// Answers 308 to a replacement operation.
    pub redirects: bool,
    /// Takes a multipart upload.
    pub multipart: bool,
}

/// Every operation of the spec, in document order.
pub fn operations() -> Vec<OperationInfo> {
    SPEC.ops
        .iter()
        .map(|op| OperationInfo {
            id: op.id.clone(),
            method: op.method.as_str().to_string(),
            template: op.template.clone(),
            success: op.success,
            media: op.media,
            redirects: op.redirect.is_some(),
            multipart: matches!(op.body, Body::Multipart),
        })
        .collect()
}

/// A valid request for one operation.
#[derive(Debug, Clone, PartialEq)]
pub struct ExampleRequest {
    /// HTTP method, upper case.
    pub method: String,
    /// Percent-encoded path (no query).
    pub path: String,
    /// Required query parameters.
    pub query: Vec<(String, String)>,
    /// Minimal valid JSON body (operations with a JSON request body).
    pub body: Option<Value>,
    /// The operation takes a multipart upload.
    pub multipart: bool,
}

fn as_param_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(as_param_string)
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    }
}

/// A valid request for `operation_id`: path parameters, required query parameters and a minimal
/// body generated from the spec; values named in `known` (e.g. `agent_id`, `teamId`; names are
/// matched ignoring case and `_`) are used where a parameter or body field has that name.
pub fn example_request(operation_id: &str, known: &Map<String, Value>) -> Option<ExampleRequest> {
    let op = SPEC.operation(operation_id)?;
    let mut ctx = GenCtx::new(&SPEC.defs_request, fnv(0, operation_id.as_bytes()));
    ctx.minimal = true;
    for (k, v) in known {
        ctx.know(k, v.clone());
    }
    let mut path = String::new();
    for seg in &op.segments {
        path.push('/');
        match seg {
            Segment::Literal(lit) => path.push_str(lit),
            Segment::Param(name) => {
                let schema = op
                    .path_params
                    .iter()
                    .find(|p| &p.name == name)
                    .map(|p| p.schema.clone())
                    .unwrap_or(Value::Null);
                let v = generate_named(&schema, name, &ctx);
                path.push_str(&utf8_percent_encode(&as_param_string(&v), SEGMENT).to_string());
            }
            Segment::Wildcard => {
                let rest = ctx
                    .known
                    .get("path")
                    .and_then(Value::as_str)
                    .unwrap_or("docs/example.md")
                    .trim_start_matches('/')
                    .to_string();
                let encoded: Vec<String> = rest
                    .split('/')
                    .map(|s| utf8_percent_encode(s, SEGMENT).to_string())
                    .collect();
                path.push_str(&encoded.join("/"));
            }
        }
    }
    let query = op
        .query_params
        .iter()
        .filter(|p| p.required)
        .map(|p| {
            let v = generate_named(&p.schema, &p.name, &ctx);
            (p.name.clone(), as_param_string(&v))
        })
        .collect();
    let body = match &op.body {
        Body::Json { schema, .. } => Some(generate(schema, &ctx)),
        _ => None,
    };
    Some(ExampleRequest {
        method: op.method.as_str().to_string(),
        path,
        query,
        body,
        multipart: matches!(op.body, Body::Multipart),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn examples_fill_paths_queries_and_bodies() {
        let mut known = Map::new();
        known.insert(
            "teamId".into(),
            json!("3b6f2a4e-1c8d-4e5f-9a7b-2d4c6e8f0a1b"),
        );
        let ex = example_request("listRuns", &known).expect("listRuns");
        assert_eq!(ex.method, "GET");
        assert_eq!(
            ex.path,
            "/v2/teams/3b6f2a4e-1c8d-4e5f-9a7b-2d4c6e8f0a1b/runs"
        );
        assert!(ex.body.is_none());
        let ex = example_request("getSkillFileContent", &known).expect("file");
        assert!(ex.path.ends_with("/files/docs/example.md"), "{}", ex.path);
        let ex = example_request("startRun", &known).expect("startRun");
        assert!(ex.body.as_ref().is_some_and(Value::is_object));
        assert_eq!(operations().len(), 213);
        assert!(example_request("noSuchOperation", &known).is_none());
    }
}
