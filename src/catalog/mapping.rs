//! Arguments → REST call: validate against the input schema, then split into path, query, body.

use super::{Segment, ToolEntry};
use crate::client::{ApiRequest, RequestBody};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use rmcp::model::JsonObject;
use serde_json::Value;
use thiserror::Error;

/// Characters escaped inside one path segment.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b'%')
    .add(b'\\');

/// Arguments that do not fit the tool's schema; reported to the model as a tool error.
#[derive(Debug, Error)]
pub enum ArgumentError {
    /// Schema violations, one line each (`field: problem`).
    #[error("invalid arguments for {tool}: {}", problems.join("; "))]
    Invalid {
        /// The tool.
        tool: String,
        /// What is wrong, one entry per problem.
        problems: Vec<String>,
    },
    /// No team given and none configured or resolvable.
    #[error("{0}")]
    NoTeam(String),
}

/// Validates `args` against the entry's schema and maps them onto an API request.
/// `team_id` fills `{teamId}` when the caller passed none.
pub fn to_request(
    entry: &ToolEntry,
    args: &JsonObject,
    team_id: Option<&str>,
) -> Result<ApiRequest, ArgumentError> {
    let mut args = args.clone();
    normalize(entry, &mut args)?;
    validate(entry, &args)?;
    map_validated(entry, &args, team_id)
}

/// Maps arguments that already passed [`validate`] onto an API request (the per-call path
/// validates once, before resolving the team).
pub fn map_validated(
    entry: &ToolEntry,
    args: &JsonObject,
    team_id: Option<&str>,
) -> Result<ApiRequest, ArgumentError> {
    map_with_file(entry, args, team_id, None)
}

/// Like [`map_validated`]; for a multipart entry, `file` (when given) is the file part's bytes,
/// used as they are instead of decoding a `content_base64` argument.
pub fn map_with_file(
    entry: &ToolEntry,
    args: &JsonObject,
    team_id: Option<&str>,
    file: Option<bytes::Bytes>,
) -> Result<ApiRequest, ArgumentError> {
    let invalid = |problem: String| ArgumentError::Invalid {
        tool: entry.name().to_owned(),
        problems: vec![problem],
    };
    let mut path = String::new();
    let mut used: Vec<&str> = Vec::new();
    for seg in &entry.segments {
        path.push('/');
        match seg {
            Segment::Literal(text) => path.push_str(text),
            Segment::Param { name, arg } => {
                used.push(arg);
                let value = match (args.get(arg.as_str()), name.as_str()) {
                    (Some(v), _) => scalar(v).ok_or_else(|| {
                        invalid(format!("{arg}: must be a string, got {}", kind(v)))
                    })?,
                    (None, "teamId") => team_id
                        .map(str::to_owned)
                        .ok_or_else(|| ArgumentError::NoTeam(no_team_message()))?,
                    (None, _) => return Err(invalid(format!("{arg}: is required"))),
                };
                if name == "*" {
                    push_wildcard(&mut path, &value).map_err(|p| invalid(format!("{arg}: {p}")))?;
                } else if value.is_empty() {
                    return Err(invalid(format!("{arg}: must not be empty")));
                } else if value == "." || value == ".." {
                    // A dot segment would be resolved away by URL normalisation and send the
                    // call to another endpoint (`/v2/teams/../runs` is `/v2/runs`).
                    return Err(invalid(format!("{arg}: {value:?} is not a valid value")));
                } else {
                    path.push_str(&utf8_percent_encode(&value, SEGMENT).to_string());
                }
            }
        }
    }
    let mut query = Vec::new();
    let mut body = serde_json::Map::new();
    for (arg, v) in args {
        if used.contains(&arg.as_str()) {
            continue;
        }
        // The API's spelling goes on the wire (`agent_id` → `agentId`).
        let k = &entry.api_name(arg).to_owned();
        let in_query = !entry.method.has_body() || entry.query.iter().any(|q| q == k);
        if !in_query {
            body.insert(k.clone(), v.clone());
            continue;
        }
        match v {
            Value::Null => {}
            Value::Array(items) => {
                for item in items {
                    let s = scalar(item).ok_or_else(|| {
                        invalid(format!("{k}: list items must be strings or numbers"))
                    })?;
                    query.push((k.clone(), s));
                }
            }
            other => {
                let s = scalar(other)
                    .ok_or_else(|| invalid(format!("{k}: must be a string, number or boolean")))?;
                query.push((k.clone(), s));
            }
        }
    }
    let body = match &entry.multipart {
        Some(spec) => multipart_body(spec, body, file).map_err(invalid)?,
        None if entry.method.has_body() && (!body.is_empty() || entry.empty_body) => {
            RequestBody::Json(Value::Object(body))
        }
        None => RequestBody::None,
    };
    Ok(ApiRequest {
        method: entry.method,
        path,
        query,
        body,
        idempotency_key: None,
    })
}

/// Builds a multipart body: `file_name` + `content_base64` (or the bytes in `file`) → the file
/// part, text fields → text parts.
fn multipart_body(
    spec: &super::Multipart,
    mut args: serde_json::Map<String, Value>,
    file: Option<bytes::Bytes>,
) -> Result<RequestBody, String> {
    use base64::Engine;
    let file_name = match args.remove("file_name") {
        Some(Value::String(s)) if !s.trim().is_empty() => s,
        _ => return Err("file_name: is required (the file's name, e.g. report.csv)".into()),
    };
    let data = match (args.remove("content_base64"), file) {
        (None, Some(bytes)) => bytes,
        (Some(Value::String(encoded)), None) => {
            let compact: String = encoded.chars().filter(|c| !c.is_whitespace()).collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact.as_bytes())
                .map(bytes::Bytes::from)
                .map_err(|e| format!("content_base64: not valid base64 ({e})"))?
        }
        (Some(_), Some(_)) => {
            return Err("content_base64: not accepted with attached file bytes".into());
        }
        _ => return Err("content_base64: is required (the file's bytes, base64-encoded)".into()),
    };
    let mut fields = Vec::new();
    for name in &spec.text_fields {
        if let Some(v) = args.remove(name.as_str()) {
            let text = scalar(&v).ok_or_else(|| format!("{name}: must be a string"))?;
            fields.push((name.clone(), text));
        }
    }
    if let Some(extra) = args.keys().next() {
        return Err(format!("{extra}: not accepted by this upload"));
    }
    let content_type = content_type_for(&file_name).to_owned();
    Ok(RequestBody::Multipart {
        fields,
        files: vec![crate::client::FilePart {
            field: spec.file_field.clone(),
            file_name,
            content_type,
            data,
        }],
    })
}

/// A MIME type from a file name's extension.
pub fn content_type_for(file_name: &str) -> &'static str {
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "zip" => "application/zip",
        "json" => "application/json",
        "csv" => "text/csv",
        "txt" | "log" => "text/plain",
        "md" => "text/markdown",
        "html" | "htm" => "text/html",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "xml" => "application/xml",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "yaml" | "yml" => "application/yaml",
        _ => "application/octet-stream",
    }
}

/// Brings arguments into the schema's form before validation: an argument given in the API's
/// spelling (`agentId`, as calls written for Duvo's hosted server do) is renamed to the tool's
/// (`agent_id`), and the strings `"true"`/`"false"` given for a boolean argument become booleans.
/// Both spellings with different values is an error naming both.
pub fn normalize(entry: &ToolEntry, args: &mut JsonObject) -> Result<(), ArgumentError> {
    let problems: Vec<String> = entry
        .api_names
        .iter()
        .filter_map(
            |(arg, api)| match (args.get(arg.as_str()), args.get(api.as_str())) {
                (Some(ours), Some(theirs)) if ours != theirs => Some(format!(
                    "{arg}: given twice with different values ({arg} = {ours}, {api} = {theirs}); \
                 pass it once, as {arg}"
                )),
                _ => None,
            },
        )
        .collect();
    if !problems.is_empty() {
        return Err(ArgumentError::Invalid {
            tool: entry.name().to_owned(),
            problems,
        });
    }
    for (arg, api) in &entry.api_names {
        if let Some(value) = args.remove(api.as_str()) {
            args.entry(arg.clone()).or_insert(value);
        }
    }
    let properties = entry
        .tool()
        .input_schema
        .get("properties")
        .and_then(Value::as_object);
    if let Some(properties) = properties {
        for (name, value) in args.iter_mut() {
            let boolean = properties
                .get(name)
                .is_some_and(|p| accepts_type(p, "boolean") && !accepts_type(p, "string"));
            if !boolean {
                continue;
            }
            if let Value::String(s) = value {
                match s.trim().to_ascii_lowercase().as_str() {
                    "true" => *value = Value::Bool(true),
                    "false" => *value = Value::Bool(false),
                    _ => {}
                }
            }
        }
    }
    Ok(())
}

/// True when the property schema's `type` is or includes `ty`.
fn accepts_type(schema: &Value, ty: &str) -> bool {
    match schema.get("type") {
        Some(Value::String(t)) => t == ty,
        Some(Value::Array(ts)) => ts.iter().any(|t| t.as_str() == Some(ty)),
        _ => false,
    }
}

/// Checks `args` against the entry's JSON Schema; every problem is reported, each naming its field.
pub fn validate(entry: &ToolEntry, args: &JsonObject) -> Result<(), ArgumentError> {
    validate_value(entry, &Value::Object(args.clone()))
}

/// Like [`validate`], on arguments already held as a JSON value (nothing is cloned).
pub fn validate_value(entry: &ToolEntry, instance: &Value) -> Result<(), ArgumentError> {
    let validator = entry.validator().map_err(|why| ArgumentError::Invalid {
        tool: entry.name().to_owned(),
        problems: vec![format!(
            "the tool's own input schema does not compile ({why}); this is a defect in \
             duvo-mcp's catalog, please report it — use another tool meanwhile"
        )],
    })?;
    let mut problems: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| {
            let at = e.instance_path().to_string();
            let field = at.trim_start_matches('/').replace('/', ".");
            let msg = match e.kind() {
                // Every valid value (the library's message cuts them after three).
                jsonschema::error::ValidationErrorKind::Enum { options } => {
                    let all: Vec<String> = options
                        .as_array()
                        .map(|a| a.iter().map(Value::to_string).collect())
                        .unwrap_or_default();
                    let mut got = e.instance().to_string();
                    if got.chars().count() > 120 {
                        got = got.chars().take(120).collect::<String>() + "…";
                    }
                    format!("{got} is not one of: {}", all.join(", "))
                }
                _ => describe(&e.masked().to_string(), &e.to_string()),
            };
            if field.is_empty() {
                msg
            } else {
                format!("{field}: {msg}")
            }
        })
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    problems.sort();
    problems.dedup();
    Err(ArgumentError::Invalid {
        tool: entry.name().to_owned(),
        problems,
    })
}

/// Prefers the full message (with the offending value) when it is short.
fn describe(masked: &str, full: &str) -> String {
    if full.len() <= 160 {
        full.to_owned()
    } else {
        masked.to_owned()
    }
}

fn push_wildcard(path: &mut String, value: &str) -> Result<(), String> {
    let trimmed = value.trim_start_matches('/');
    if trimmed.is_empty() {
        return Err("must name a file, e.g. references/guide.md".into());
    }
    for (i, part) in trimmed.split('/').enumerate() {
        if part.is_empty() || part == "." || part == ".." {
            return Err(format!(
                "segment {} ({part:?}) is not allowed; use a plain relative path like references/guide.md",
                i + 1
            ));
        }
        if i > 0 {
            path.push('/');
        }
        path.push_str(&utf8_percent_encode(part, SEGMENT).to_string());
    }
    Ok(())
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// What to do when no team is known.
pub fn no_team_message() -> String {
    "no team: pass team_id, or set DUVO_TEAM_ID (listMyTeams shows the key's teams)".to_owned()
}

#[cfg(test)]
mod tests {
    use super::super::Catalog;
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> JsonObject {
        v.as_object().cloned().unwrap_or_default()
    }

    fn catalog() -> Catalog {
        let text = json!({
            "toolset": "t", "title": "T", "description": "d", "default": true,
            "tools": [
                {"name": "getThing", "title": "Get", "description": "d", "method": "GET",
                 "path": "/v2/teams/{teamId}/things/{thing_id}",
                 "annotations": {"readOnlyHint": true, "destructiveHint": false, "idempotentHint": true, "openWorldHint": true},
                 "inputSchema": {"type": "object", "additionalProperties": false, "required": ["thing_id"],
                   "properties": {"team_id": {"type": "string"}, "thing_id": {"type": "string", "format": "uuid"},
                                  "limit": {"type": "integer", "minimum": 1, "maximum": 50}, "tags": {"type": "array", "items": {"type": "string"}}}}},
                {"name": "putFile", "title": "Put", "description": "d", "method": "PUT",
                 "path": "/v2/things/{thing_id}/files/{*}", "query": ["dry_run"],
                 "annotations": {"readOnlyHint": false, "destructiveHint": false, "idempotentHint": true, "openWorldHint": true},
                 "inputSchema": {"type": "object", "additionalProperties": false, "required": ["thing_id", "path", "content"],
                   "properties": {"thing_id": {"type": "string"}, "path": {"type": "string"}, "content": {"type": "string"}, "dry_run": {"type": "boolean"}}}}
            ]
        })
        .to_string();
        Catalog::from_sources(&[("t.json", &text)]).expect("test catalog")
    }

    const ID: &str = "0b5e2f4a-3c1d-4e6f-8a9b-1c2d3e4f5a6b";

    #[test]
    fn path_query_and_default_team() {
        let c = catalog();
        let e = c.get("getThing").expect("entry");
        let req = to_request(
            e,
            &obj(json!({"thing_id": ID, "limit": 5, "tags": ["a", "b"]})),
            Some("team-1"),
        )
        .expect("maps");
        assert_eq!(req.path, format!("/v2/teams/team-1/things/{ID}"));
        assert_eq!(
            req.query,
            vec![
                ("limit".to_owned(), "5".to_owned()),
                ("tags".to_owned(), "a".to_owned()),
                ("tags".to_owned(), "b".to_owned())
            ]
        );
        assert!(matches!(req.body, RequestBody::None));
        let explicit = to_request(
            e,
            &obj(json!({"thing_id": ID, "team_id": "t 2"})),
            Some("team-1"),
        )
        .expect("maps");
        assert_eq!(explicit.path, format!("/v2/teams/t%202/things/{ID}"));
    }

    #[test]
    fn missing_team_is_an_actionable_error() {
        let c = catalog();
        let e = c.get("getThing").expect("entry");
        let err = to_request(e, &obj(json!({"thing_id": ID})), None).expect_err("no team");
        assert!(err.to_string().contains("DUVO_TEAM_ID"));
    }

    #[test]
    fn schema_violations_name_each_field() {
        let c = catalog();
        let e = c.get("getThing").expect("entry");
        let err = to_request(
            e,
            &obj(json!({"thing_id": "nope", "limit": 500, "bogus": 1})),
            Some("t"),
        )
        .expect_err("invalid");
        let text = err.to_string();
        assert!(text.contains("thing_id"), "{text}");
        assert!(text.contains("limit"), "{text}");
        assert!(text.contains("bogus"), "{text}");
        let err = to_request(e, &obj(json!({})), Some("t")).expect_err("missing");
        assert!(err.to_string().contains("thing_id"));
    }

    #[test]
    fn wildcard_keeps_slashes_and_refuses_traversal() {
        let c = catalog();
        let e = c.get("putFile").expect("entry");
        let req = to_request(
            e,
            &obj(json!({"thing_id": "x", "path": "refs/my guide.md", "content": "hi", "dry_run": true})),
            None,
        )
        .expect("maps");
        assert_eq!(req.path, "/v2/things/x/files/refs/my%20guide.md");
        assert_eq!(req.query, vec![("dry_run".to_owned(), "true".to_owned())]);
        match &req.body {
            RequestBody::Json(v) => assert_eq!(v, &json!({"content": "hi"})),
            other => panic!("expected a JSON body, got {other:?}"),
        }
        let err = to_request(
            e,
            &obj(json!({"thing_id": "x", "path": "../secrets", "content": "x"})),
            None,
        )
        .expect_err("traversal");
        assert!(err.to_string().contains("path"));
    }

    #[test]
    fn dot_segments_are_refused_in_single_segment_params() {
        let c = catalog();
        let e = c.get("putFile").expect("entry");
        for dots in [".", ".."] {
            let err = to_request(
                e,
                &obj(json!({"thing_id": dots, "path": "f.md", "content": ""})),
                None,
            )
            .expect_err("dot segment");
            assert!(err.to_string().contains("thing_id"), "{err}");
        }
        let e = c.get("getThing").expect("entry");
        let err = to_request(e, &obj(json!({"thing_id": ID, "team_id": ".."})), None)
            .expect_err("dot team");
        assert!(err.to_string().contains("team_id"), "{err}");
    }

    #[test]
    fn path_params_are_encoded() {
        let c = catalog();
        let e = c.get("putFile").expect("entry");
        let req = to_request(
            e,
            &obj(json!({"thing_id": "a/b?c", "path": "f.md", "content": ""})),
            None,
        )
        .expect("maps");
        assert_eq!(req.path, "/v2/things/a%2Fb%3Fc/files/f.md");
    }
}
