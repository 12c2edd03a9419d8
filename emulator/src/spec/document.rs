//! The embedded OpenAPI document, parsed once and indexed by method and path template.

use std::collections::HashSet;
use std::sync::{LazyLock, OnceLock};

use axum::http::Method;
use serde_json::{Map, Value, json};

use super::convert::{Direction, convert, convert_components};
use super::quirks;
use super::validators::LazyValidator;

/// The raw spec, embedded at build time.
const SPEC_JSON: &str = include_str!("../../../spec/openapi.json");

/// The parsed and indexed spec (built on first use).
pub static SPEC: LazyLock<Spec> = LazyLock::new(Spec::load);

/// Another spec to emulate instead of the embedded one (`duvo-mcp emulator --spec FILE`).
static OVERRIDE: OnceLock<String> = OnceLock::new();

/// The operationIds of the embedded spec (what the stateful routes model).
pub static BUNDLED_IDS: LazyLock<HashSet<String>> = LazyLock::new(|| {
    serde_json::from_str::<Value>(SPEC_JSON)
        .map(|doc| {
            Spec::from_document(&doc)
                .ops
                .into_iter()
                .map(|o| o.id)
                .collect()
        })
        .unwrap_or_default()
});

/// Emulates the OpenAPI document `text` instead of the embedded one. Call once, before the
/// first request (the spec is indexed on first use).
pub fn use_spec(text: String) -> Result<(), String> {
    let doc: Value =
        serde_json::from_str(&text).map_err(|e| format!("the spec is not JSON: {e}"))?;
    if doc.get("paths").and_then(Value::as_object).is_none() {
        return Err("not an OpenAPI document: no `paths` object".into());
    }
    OVERRIDE
        .set(text)
        .map_err(|_| "a spec was already chosen for this process".to_owned())
}

/// True when another spec than the embedded one is emulated.
pub fn overridden() -> bool {
    OVERRIDE.get().is_some()
}

/// The spec document's text, as served at `GET /openapi.json`.
pub fn spec_text() -> &'static str {
    OVERRIDE.get().map(String::as_str).unwrap_or(SPEC_JSON)
}

/// The indexed spec.
#[derive(Debug, Default)]
pub struct Spec {
    /// Every operation, in document order.
    pub ops: Vec<Operation>,
    /// Converted components for request schemas.
    pub defs_request: Map<String, Value>,
    /// Converted components for response schemas.
    pub defs_response: Map<String, Value>,
}

/// One segment of a path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A fixed segment.
    Literal(String),
    /// `{name}`: one segment.
    Param(String),
    /// `{*}`: the rest of the path (one or more segments).
    Wildcard,
}

/// A path or query parameter.
#[derive(Debug)]
pub struct Param {
    /// Name as in the spec (`*` for the wildcard).
    pub name: String,
    /// Converted schema.
    pub schema: Value,
    /// Must be present.
    pub required: bool,
    /// Compiled on first use.
    pub validator: LazyValidator,
}

/// How an operation takes its request body.
#[derive(Debug)]
pub enum Body {
    /// No body declared: any body is ignored.
    None,
    /// `application/json` with a schema.
    Json {
        /// The body must be present.
        required: bool,
        /// Converted schema.
        schema: Value,
        /// Compiled on first use.
        validator: LazyValidator,
    },
    /// A `multipart/form-data` upload (see `quirks::MULTIPART_UPLOADS`).
    Multipart,
}

/// One declared response of an operation.
#[derive(Debug)]
pub struct ResponseSpec {
    /// HTTP status.
    pub status: u16,
    /// Converted `application/json` schema (None when no content is declared).
    pub schema: Option<Value>,
    /// Compiled on first use.
    pub validator: LazyValidator,
}

/// One operation of the spec.
#[derive(Debug)]
pub struct Operation {
    /// `operationId`, or `"METHOD /path"` when the spec gives none.
    pub id: String,
    /// HTTP method.
    pub method: Method,
    /// Path template as in the spec.
    pub template: String,
    /// Parsed template.
    pub segments: Vec<Segment>,
    /// Path parameters (every `{name}` of the template, declared or not).
    pub path_params: Vec<Param>,
    /// Declared query parameters.
    pub query_params: Vec<Param>,
    /// Request body.
    pub body: Body,
    /// Declared responses, by status.
    pub responses: Vec<ResponseSpec>,
    /// Lowest declared 2xx status.
    pub success: Option<u16>,
    /// Media type of a non-JSON success body.
    pub media: Option<&'static str>,
    /// Last path segment of a 308 redirect target (deprecated operations).
    pub redirect: Option<&'static str>,
}

impl Operation {
    /// The declared response for `status`.
    pub fn response(&self, status: u16) -> Option<&ResponseSpec> {
        self.responses.iter().find(|r| r.status == status)
    }
}

/// Parameter values of a matched path, `(name, value)` (`*` for the wildcard).
pub type PathParams = Vec<(String, String)>;

/// Result of matching a request against the spec.
#[derive(Debug)]
pub enum Lookup<'a> {
    /// An operation and its path parameter values (`*` for the wildcard), percent-decoded.
    Found(&'a Operation, PathParams),
    /// The path exists but not with this method.
    WrongMethod,
    /// No such path.
    NotFound,
}

impl Spec {
    fn load() -> Self {
        match serde_json::from_str::<Value>(spec_text()) {
            Ok(doc) => Self::from_document(&doc),
            Err(e) => {
                tracing::error!(error = %e, "emulator: the embedded OpenAPI spec does not parse");
                Self::default()
            }
        }
    }

    /// Index an OpenAPI document.
    pub fn from_document(doc: &Value) -> Self {
        let components = doc.pointer("/components/schemas");
        let mut ops = Vec::new();
        if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
            for (template, item) in paths {
                let Some(item) = item.as_object() else {
                    continue;
                };
                let shared: Vec<Value> = item
                    .get("parameters")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for (method, op) in item {
                    let Ok(method) = method.to_ascii_uppercase().parse::<Method>() else {
                        continue;
                    };
                    if !matches!(
                        method,
                        Method::GET | Method::POST | Method::PUT | Method::PATCH | Method::DELETE
                    ) {
                        continue;
                    }
                    ops.push(build_operation(method, template, op, &shared));
                }
            }
        }
        Self {
            ops,
            defs_request: convert_components(components, Direction::Request),
            defs_response: convert_components(components, Direction::Response),
        }
    }

    /// The operation with this id.
    pub fn operation(&self, id: &str) -> Option<&Operation> {
        self.ops.iter().find(|op| op.id == id)
    }

    /// Match `method` + `path` (the raw, percent-encoded request path).
    pub fn lookup(&self, method: &Method, path: &str) -> Lookup<'_> {
        let Some(rest) = path.strip_prefix('/') else {
            return Lookup::NotFound;
        };
        let parts: Vec<&str> = rest.split('/').collect();
        let mut best: Option<(Vec<u8>, &Operation, PathParams)> = None;
        let mut path_known = false;
        for op in &self.ops {
            let Some((rank, params)) = match_template(&op.segments, &parts) else {
                continue;
            };
            path_known = true;
            if op.method != *method {
                continue;
            }
            if best.as_ref().is_none_or(|(r, _, _)| rank < *r) {
                best = Some((rank, op, params));
            }
        }
        match best {
            Some((_, op, params)) => Lookup::Found(op, params),
            None if path_known => Lookup::WrongMethod,
            None => Lookup::NotFound,
        }
    }
}

/// Parse `/v2/teams/{teamId}/files/{*}` into segments.
pub fn parse_template(template: &str) -> Vec<Segment> {
    template
        .trim_start_matches('/')
        .split('/')
        .map(
            |seg| match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some("*") => Segment::Wildcard,
                Some(name) => Segment::Param(name.to_string()),
                None => Segment::Literal(seg.to_string()),
            },
        )
        .collect()
}

fn decode(raw: &str) -> String {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8_lossy()
        .into_owned()
}

/// Match path parts against a template: a specificity rank (lower is more specific: literal
/// segments beat parameters, which beat the wildcard) and the parameter values.
fn match_template(segments: &[Segment], parts: &[&str]) -> Option<(Vec<u8>, PathParams)> {
    let mut rank = Vec::with_capacity(segments.len());
    let mut params = Vec::new();
    for (i, seg) in segments.iter().enumerate() {
        match seg {
            Segment::Literal(lit) => {
                if parts.get(i) != Some(&lit.as_str()) {
                    return None;
                }
                rank.push(0);
            }
            Segment::Param(name) => {
                let part = parts.get(i).filter(|p| !p.is_empty())?;
                params.push((name.clone(), decode(part)));
                rank.push(1);
            }
            Segment::Wildcard => {
                let rest = parts.get(i..).filter(|r| !r.is_empty())?;
                if rest.iter().all(|p| p.is_empty()) {
                    return None;
                }
                params.push(("*".to_string(), decode(&rest.join("/"))));
                rank.push(2);
                return Some((rank, params));
            }
        }
    }
    (parts.len() == segments.len()).then_some((rank, params))
}

fn build_param(p: &Value) -> Option<(String, Param)> {
    let name = p.get("name")?.as_str()?.to_string();
    let location = p.get("in")?.as_str()?.to_string();
    let schema = convert(
        p.get("schema").unwrap_or(&json!({"type": "string"})),
        Direction::Request,
    );
    let required =
        p.get("required").and_then(Value::as_bool).unwrap_or(false) || location == "path";
    Some((
        location,
        Param {
            name,
            schema,
            required,
            validator: LazyValidator::default(),
        },
    ))
}

fn build_operation(method: Method, template: &str, op: &Value, shared: &[Value]) -> Operation {
    let id = op
        .get("operationId")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| format!("{method} {template}"));
    let segments = parse_template(template);
    let mut declared_path = Vec::new();
    let mut query_params = Vec::new();
    let own = op.get("parameters").and_then(Value::as_array);
    for p in shared.iter().chain(own.into_iter().flatten()) {
        match build_param(p) {
            Some((loc, param)) if loc == "path" => declared_path.push(param),
            Some((loc, param)) if loc == "query" => {
                query_params.retain(|q: &Param| q.name != param.name);
                query_params.push(param);
            }
            _ => {}
        }
    }
    // Every template parameter, in template order; undeclared ones (`teamId` on a few
    // operations) are plain strings.
    let path_params = segments
        .iter()
        .filter_map(|seg| {
            let name = match seg {
                Segment::Param(n) => n.as_str(),
                Segment::Wildcard => "*",
                Segment::Literal(_) => return None,
            };
            let pos = declared_path.iter().position(|p| p.name == name);
            Some(match pos {
                Some(i) => declared_path.swap_remove(i),
                None => Param {
                    name: name.to_string(),
                    schema: json!({"type": "string", "minLength": 1}),
                    required: true,
                    validator: LazyValidator::default(),
                },
            })
        })
        .collect();

    let body = if quirks::is_multipart(&id) {
        Body::Multipart
    } else {
        match op.pointer("/requestBody/content/application~1json/schema") {
            Some(schema) => Body::Json {
                required: op
                    .pointer("/requestBody/required")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                schema: convert(schema, Direction::Request),
                validator: LazyValidator::default(),
            },
            None => Body::None,
        }
    };

    let mut responses: Vec<ResponseSpec> = op
        .get("responses")
        .and_then(Value::as_object)
        .map(|rs| {
            rs.iter()
                .filter_map(|(status, r)| {
                    let status: u16 = status.parse().ok()?;
                    let schema = r
                        .pointer("/content/application~1json/schema")
                        .map(|s| patched(&id, status, s))
                        .map(|s| convert(&s, Direction::Response));
                    Some(ResponseSpec {
                        status,
                        schema,
                        validator: LazyValidator::default(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    responses.sort_by_key(|r| r.status);
    let success = responses
        .iter()
        .map(|r| r.status)
        .find(|s| (200..300).contains(s));
    Operation {
        media: quirks::non_json_media(&id),
        redirect: quirks::redirect_target(&id),
        id,
        method,
        template: template.to_string(),
        segments,
        path_params,
        query_params,
        body,
        responses,
        success,
    }
}

/// Apply `quirks::EXTRA_ENUM_VALUES` to a raw response schema.
fn patched(op_id: &str, status: u16, schema: &Value) -> Value {
    let mut schema = schema.clone();
    for (id, st, pointer, extra) in quirks::EXTRA_ENUM_VALUES {
        if *id != op_id || *st != status {
            continue;
        }
        match schema
            .pointer_mut(pointer)
            .and_then(|s| s.get_mut("enum"))
            .and_then(Value::as_array_mut)
        {
            Some(values) => {
                for v in *extra {
                    if !values.iter().any(|x| x == v) {
                        values.push(Value::from(*v));
                    }
                }
            }
            None => tracing::warn!(op_id, pointer, "emulator: spec quirk no longer applies"),
        }
    }
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(method: Method, path: &str) -> Option<(String, Vec<(String, String)>)> {
        match SPEC.lookup(&method, path) {
            Lookup::Found(op, params) => Some((op.id.clone(), params)),
            _ => None,
        }
    }

    #[test]
    fn indexes_every_operation() {
        assert_eq!(SPEC.ops.len(), 213);
        let ids: std::collections::HashSet<&str> = SPEC.ops.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids.len(), 213, "operation ids are unique");
        assert!(SPEC.operation("listRuns").is_some());
        assert!(SPEC.operation("POST /v2/mcp").is_some());
        assert_eq!(SPEC.defs_response.len(), 4);
    }

    #[test]
    fn literal_segments_beat_parameters_and_wildcards_take_the_rest() {
        let (id, params) =
            found(Method::POST, "/v2/agents/suggestions/5c1e/consume").expect("consume");
        assert_eq!(id, "consumeAgentSuggestion");
        assert_eq!(params, vec![("id".to_string(), "5c1e".to_string())]);
        let (id, _) =
            found(Method::GET, "/v2/agents/a1/case-triggers/conflict-preview").expect("preview");
        assert_eq!(id, "previewAgentCaseTriggerConflicts");
        let (id, params) =
            found(Method::GET, "/v2/skills/s1/files/references/guide%20one.md").expect("file");
        assert_eq!(id, "getSkillFileContent");
        assert_eq!(
            params[1],
            ("*".to_string(), "references/guide one.md".to_string())
        );
        let (id, params) = found(Method::DELETE, "/v2/teams/t1/files/content/a.txt").expect("del");
        assert_eq!(id, "deleteFile");
        assert_eq!(params[0], ("teamId".to_string(), "t1".to_string()));
        assert_eq!(params[1], ("*".to_string(), "content/a.txt".to_string()));
        assert!(matches!(
            SPEC.lookup(&Method::PUT, "/v2/cases/x"),
            Lookup::WrongMethod
        ));
        assert!(matches!(
            SPEC.lookup(&Method::GET, "/v2/nothing/here"),
            Lookup::NotFound
        ));
        assert!(matches!(
            SPEC.lookup(&Method::GET, "/v2/skills/s1/files/"),
            Lookup::NotFound
        ));
    }

    #[test]
    fn undeclared_team_id_is_a_path_param_and_quirks_apply() {
        let op = SPEC.operation("startNativeOAuth").expect("op");
        assert!(op.path_params.iter().any(|p| p.name == "teamId"));
        let op = SPEC.operation("listRuns").expect("op");
        let schema = op
            .response(200)
            .and_then(|r| r.schema.as_ref())
            .expect("schema");
        let status = schema
            .pointer("/properties/data/items/properties/status/enum")
            .expect("enum");
        assert!(
            status
                .as_array()
                .is_some_and(|v| v.iter().any(|x| x == "stopped"))
        );
        assert_eq!(
            SPEC.operation("createSkill").and_then(|o| o.success),
            Some(200)
        );
        assert_eq!(
            SPEC.operation("createAgent").and_then(|o| o.success),
            Some(201)
        );
        assert!(matches!(
            SPEC.operation("uploadSkill").map(|o| &o.body),
            Some(Body::Multipart)
        ));
        assert_eq!(
            SPEC.operation("bulkRetryCases").and_then(|o| o.redirect),
            Some("bulk-reprocess")
        );
    }

    #[test]
    fn every_schema_compiles() {
        let mut failures = Vec::new();
        for op in &SPEC.ops {
            for p in op.path_params.iter().chain(&op.query_params) {
                if let Err(e) = p.validator.compiled(&p.schema, &SPEC.defs_request) {
                    failures.push(format!("{} param {}: {e}", op.id, p.name));
                }
            }
            if let Body::Json {
                schema, validator, ..
            } = &op.body
                && let Err(e) = validator.compiled(schema, &SPEC.defs_request)
            {
                failures.push(format!("{} body: {e}", op.id));
            }
            for r in &op.responses {
                if let Some(schema) = &r.schema
                    && let Err(e) = r.validator.compiled(schema, &SPEC.defs_response)
                {
                    failures.push(format!("{} {}: {e}", op.id, r.status));
                }
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }
}
