//! Contract test: the tool catalog (`tools/*.json`) against the Duvo OpenAPI spec.
//!
//! Every catalog entry must name the spec operation at its (method, path), map every path,
//! query and JSON-body parameter to a flat argument with the same name (`{teamId}` becomes the
//! optional `team_id`, `{*}` the required `path`), agree with the spec on types, enums, formats,
//! bounds, defaults and required-ness (OpenAPI `nullable` = JSON Schema type + `null`), carry the
//! per-method annotations, and describe itself in its own words.
//!
//! Coverage: every spec operation is in the catalog or listed with a reason in
//! `spec/excluded-operations.json`; operations Duvo documents but the spec lacks are listed in
//! `EXTRA_OPERATIONS` and checked against a hand-written expectation. Budget: the default
//! toolsets must fit the context budget of a `tools/list` answer.
//!
//! The spec is read from `spec/openapi.json` (a byte-for-byte copy kept in the repo), or from
//! `../shared/duvo-api/openapi.json` when the copy is missing. The checker uses only
//! `serde_json` and std; the budget and embedding tests load the crate's own catalog.

// Test helpers outside #[test] fns may unwrap/expect/panic too (the crate denies them in src).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Tools whose annotations deliberately differ from the per-method rule: (tool name, reason).
const ANNOTATION_EXCEPTIONS: &[(&str, &str)] = &[
    (
        "bulkDeleteCases",
        "a POST that deletes Cases (and interrupts their Jobs): destructive",
    ),
    (
        "checkMcpOAuth",
        "a POST that only asks an MCP server about OAuth support; the spec says it performs no writes",
    ),
    (
        "createSkill",
        "an upsert by name: replaces a team Skill of the same name (destructive), and repeating it \
         leaves the same Skill (idempotent)",
    ),
    (
        "moveAgent",
        "moves the Assignment (and, with bypass_standalone_gate, its queues and peers) out of the \
         team; a team-scoped key cannot bring it back: destructive",
    ),
    (
        "movePulseDashboard",
        "a POST that deletes the dashboard's chat history and older versions: destructive",
    ),
    (
        "probeMcpServer",
        "a POST that only lists an MCP server's tools; the spec says it performs no writes",
    ),
    (
        "replaceEvalRubrics",
        "a PUT that replaces the whole custom rubric set; rubrics left out are deleted: destructive",
    ),
    (
        "replaceRevisionIntegrationQueues",
        "a PUT that replaces the slot's queue links; queues left out are unlinked: destructive",
    ),
    (
        "searchCases",
        "a POST only because the filters travel in the body; it only reads",
    ),
    (
        "updateEvalRubric",
        "a PATCH that retires the rubric and makes a new one (new id; Duvo's hosted server marks \
         it destructive): destructive",
    ),
    (
        "updateSkillFile",
        "a PUT that overwrites a Skill file in place with no way back: destructive",
    ),
    (
        "uploadSkill",
        "an upsert by the SKILL.md name, like createSkill: destructive and idempotent",
    ),
];

/// Places where a tool's input schema is deliberately looser than the spec, to save the model's
/// context: (tool name, JSON pointer into the tool's `inputSchema`, reason). At and below such a
/// pointer our schema may drop constraints the spec has, but may not add or change one. `oneOf`
/// is spelled `anyOf` in these pointers; `anyOf` branches keep the spec's order.
const SCHEMA_RELAXATIONS: &[(&str, &str, &str)] = &[
    (
        "createAgent",
        "/properties/build/properties/config/properties/data/properties/input/anyOf/1/items",
        "instructions are nearly always plain text; the message form is summarised in the description",
    ),
    (
        "createAgent",
        "/properties/build/properties/config/properties/data/properties/options",
        "rarely used runtime options are summarised in the description",
    ),
    (
        "createRevision",
        "/properties/config/properties/data/properties/input/anyOf/1/items",
        "instructions are nearly always plain text; the message form is summarised in the description",
    ),
    (
        "createRevision",
        "/properties/config/properties/data/properties/options",
        "rarely used runtime options are summarised in the description",
    ),
    (
        "probeMcpServer",
        "/properties/integration_slug",
        "an 81-value enum of catalog slugs (~1.3 KB); the description gives examples and the API \
         rejects unknown slugs",
    ),
];

/// Operations Duvo documents that the spec lacks: (tool name, method, path, source). Each one's
/// request is checked against `extra_operation_spec`, a hand-written OpenAPI operation.
const EXTRA_OPERATIONS: &[(&str, &str, &str, &str)] = &[
    (
        "finalizeComposioOAuth",
        "POST",
        "/v2/teams/{teamId}/connections/composio/finalize",
        "https://docs.duvo.ai/api-reference/connections/connect-composio-integration (API.md §7.9)",
    ),
    (
        "startComposioOAuth",
        "POST",
        "/v2/teams/{teamId}/connections/composio/start",
        "https://docs.duvo.ai/api-reference/connections/start-composio-connection (API.md §7.9)",
    ),
];

/// The hand-written spec of an `EXTRA_OPERATIONS` entry, as an OpenAPI 3 operation object.
fn extra_operation_spec(name: &str) -> Option<Value> {
    let team =
        json!([{"in": "path", "name": "teamId", "required": true, "schema": {"type": "string"}}]);
    let body = |properties: Value, required: Value| {
        json!({"required": true, "content": {"application/json": {"schema": {
            "type": "object", "properties": properties, "required": required
        }}}})
    };
    let (properties, required) = match name {
        "startComposioOAuth" => (
            json!({
                "auth_config_id": {"type": "string", "minLength": 1},
                "callback_url": {"type": "string", "format": "uri"},
                "auth_scheme": {"type": "string"},
                "auth_fields": {"type": "object"}
            }),
            json!(["auth_config_id", "callback_url"]),
        ),
        "finalizeComposioOAuth" => (
            json!({
                "app": {"type": "string"},
                "integration_name": {"type": "string"},
                "connected_account_id": {"type": "string"}
            }),
            json!(["app", "integration_name", "connected_account_id"]),
        ),
        _ => return None,
    };
    Some(json!({
        "operationId": name,
        "parameters": team,
        "requestBody": body(properties, required)
    }))
}

/// `spec/excluded-operations.json`: spec operations deliberately not in the catalog.
const EXCLUDED_FILE: &str = "spec/excluded-operations.json";

/// The context budget of the default tool list: tools and bytes of `tools/list`, including the
/// always-listed meta tools, which get a fixed reserve.
const MAX_DEFAULT_TOOLS: usize = 40;
const MAX_DEFAULT_LIST_BYTES: usize = 32_000;
const META_TOOLS: usize = 3;
const META_TOOLS_RESERVED_BYTES: usize = 3_000;

const FILE_KEYS: &[&str] = &["toolset", "title", "description", "default", "tools"];
const ENTRY_KEYS: &[&str] = &[
    "name",
    "title",
    "description",
    "method",
    "path",
    "query",
    "multipart",
    "empty_body",
    "not_in_spec",
    "api_names",
    "annotations",
    "inputSchema",
];
/// Flags the spec types as a plain string although only "true" is meaningful: (tool, argument).
/// Our schema makes them booleans (sent as "true"/"false").
const STRING_FLAGS: &[(&str, &str)] = &[("deleteAgentFolder", "force")];
const OPTIONAL_ENTRY_KEYS: &[&str] = &[
    "query",
    "multipart",
    "empty_body",
    "not_in_spec",
    "api_names",
];
/// The arguments of a multipart upload that carry the file, and their schemas.
const UPLOAD_ARGS: &[(&str, &str)] = &[
    ("file_name", r#"{"type": "string", "minLength": 1}"#),
    ("content_base64", r#"{"type": "string"}"#),
];
const HINTS: &[&str] = &[
    "readOnlyHint",
    "destructiveHint",
    "idempotentHint",
    "openWorldHint",
];
const BODY_METHODS: &[&str] = &["POST", "PUT", "PATCH"];
const FORBIDDEN_SCHEMA_KEYS: &[&str] = &["$ref", "$defs", "definitions", "nullable"];
/// Marks a recursive spec `$ref` that was cut off: anything on our side matches it.
const ANY: &str = "<any: recursive $ref>";

struct Rules<'a> {
    annotation_exceptions: &'a [(&'a str, &'a str)],
    relaxations: &'a [(&'a str, &'a str, &'a str)],
}

const RULES: Rules<'static> = Rules {
    annotation_exceptions: ANNOTATION_EXCEPTIONS,
    relaxations: SCHEMA_RELAXATIONS,
};

// ---------------------------------------------------------------------------------------------
// Loading

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn repo_spec_path() -> PathBuf {
    manifest_dir().join("spec/openapi.json")
}

fn shared_spec_path() -> PathBuf {
    manifest_dir().join("../shared/duvo-api/openapi.json")
}

fn load_spec() -> Value {
    let path = [repo_spec_path(), shared_spec_path()]
        .into_iter()
        .find(|p| p.is_file())
        .expect("no OpenAPI spec: expected spec/openapi.json or ../shared/duvo-api/openapi.json");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

/// (display name "tools/x.json", parsed file); a file that does not parse is a panic.
fn load_catalog() -> Vec<(String, Value)> {
    let dir = manifest_dir().join("tools");
    let mut paths: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no tools/*.json files");
    paths
        .iter()
        .map(|p| {
            let name = format!("tools/{}", p.file_name().unwrap().to_string_lossy());
            let text = fs::read_to_string(p).unwrap_or_else(|e| panic!("read {name}: {e}"));
            let v = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{name} is not valid JSON: {e}"));
            (name, v)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Small helpers

fn show(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 120 {
        format!("{}…", s.chars().take(120).collect::<String>())
    } else {
        s
    }
}

fn esc(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

fn norm_text(s: &str) -> String {
    s.trim().trim_end_matches('.').trim().to_lowercase()
}

fn resolve_ref<'a>(spec: &'a Value, r: &str) -> Option<&'a Value> {
    spec.pointer(r.strip_prefix('#')?)
}

/// Follows `$ref`s at the top of `v` (parameters, request bodies, schemas).
fn deref<'a>(spec: &'a Value, mut v: &'a Value) -> &'a Value {
    for _ in 0..16 {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => match resolve_ref(spec, r) {
                Some(t) => v = t,
                None => return v,
            },
            None => return v,
        }
    }
    v
}

fn path_placeholders(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = path;
    while let Some(i) = rest.find('{') {
        let Some(j) = rest[i..].find('}') else { break };
        out.push(rest[i + 1..i + j].to_string());
        rest = &rest[i + j + 1..];
    }
    out
}

/// Integral floats become integers so that `20` and `20.0` compare equal.
fn norm_value(v: &Value) -> Value {
    match v {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap();
            if f.fract() == 0.0 && f.abs() < 9.0e15 {
                json!(f as i64)
            } else {
                v.clone()
            }
        }
        Value::Array(a) => Value::Array(a.iter().map(norm_value).collect()),
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), norm_value(v))).collect())
        }
        _ => v.clone(),
    }
}

fn sorted_values(mut items: Vec<Value>) -> Value {
    items.sort_by_key(|v| v.to_string());
    items.dedup();
    Value::Array(items)
}

// ---------------------------------------------------------------------------------------------
// Schema canonicalisation: OpenAPI 3.0 (spec) and JSON Schema 2020-12 (ours) into one form.

#[derive(Clone, Copy, PartialEq)]
enum Dialect {
    OpenApi,
    Ours,
}

const ANNOTATION_KEYWORDS: &[&str] = &[
    "description",
    "title",
    "example",
    "examples",
    "readOnly",
    "writeOnly",
    "deprecated",
    "externalDocs",
    "xml",
    "discriminator",
    "$comment",
    "$schema",
];

fn canon(v: &Value, d: Dialect, spec: &Value, stack: &mut Vec<String>) -> Value {
    let m = match v {
        Value::Bool(true) => return Value::Object(Map::new()),
        Value::Object(m) => m,
        other => return norm_value(other),
    };
    if d == Dialect::OpenApi
        && let Some(r) = m.get("$ref").and_then(Value::as_str)
    {
        if stack.iter().any(|s| s == r) {
            return Value::String(ANY.to_string());
        }
        let Some(target) = resolve_ref(spec, r) else {
            return json!({ "unresolvable $ref": r });
        };
        stack.push(r.to_string());
        let out = canon(target, d, spec, stack);
        stack.pop();
        return out;
    }
    let mut out: BTreeMap<String, Value> = BTreeMap::new();
    let mut any_of: Vec<Value> = Vec::new();
    for (k, val) in m {
        if ANNOTATION_KEYWORDS.contains(&k.as_str()) || k.starts_with("x-") {
            continue;
        }
        match k.as_str() {
            "nullable" if d == Dialect::OpenApi => {}
            "type" => {
                let types = match val {
                    Value::Array(a) => a.clone(),
                    t => vec![t.clone()],
                };
                out.insert(k.clone(), sorted_values(types));
            }
            "properties" => {
                let props = val
                    .as_object()
                    .map(|p| {
                        let sorted: BTreeMap<_, _> = p
                            .iter()
                            .map(|(n, s)| (n.clone(), canon(s, d, spec, stack)))
                            .collect();
                        Value::Object(sorted.into_iter().collect())
                    })
                    .unwrap_or_else(|| val.clone());
                out.insert(k.clone(), props);
            }
            "items" | "additionalProperties" | "not" | "contains" | "propertyNames" => {
                let c = match val {
                    Value::Array(a) => {
                        Value::Array(a.iter().map(|s| canon(s, d, spec, stack)).collect())
                    }
                    s => canon(s, d, spec, stack),
                };
                let open = c.as_object().is_some_and(Map::is_empty);
                if !(k == "additionalProperties" && open) {
                    out.insert(k.clone(), c);
                }
            }
            // `oneOf` and `anyOf` over disjoint branches mean the same; branches keep their order.
            "anyOf" | "oneOf" => {
                if let Value::Array(a) = val {
                    any_of.extend(a.iter().map(|s| canon(s, d, spec, stack)));
                }
            }
            "allOf" => {
                let c = match val {
                    Value::Array(a) => {
                        Value::Array(a.iter().map(|s| canon(s, d, spec, stack)).collect())
                    }
                    other => other.clone(),
                };
                out.insert(k.clone(), c);
            }
            "enum" => {
                let items = val.as_array().cloned().unwrap_or_default();
                out.insert(
                    k.clone(),
                    sorted_values(items.iter().map(norm_value).collect()),
                );
            }
            "const" => {
                out.insert("enum".to_string(), Value::Array(vec![norm_value(val)]));
            }
            "required" => {
                let items = val.as_array().cloned().unwrap_or_default();
                if !items.is_empty() {
                    out.insert(k.clone(), sorted_values(items));
                }
            }
            _ => {
                out.insert(k.clone(), norm_value(val));
            }
        }
    }
    if !any_of.is_empty() {
        out.insert("anyOf".to_string(), Value::Array(any_of));
    }
    if d == Dialect::OpenApi {
        for (flag, bound) in [
            ("exclusiveMinimum", "minimum"),
            ("exclusiveMaximum", "maximum"),
        ] {
            match out.get(flag) {
                // The spec has `exclusiveMinimum: true` without a `minimum` (zod's
                // `.positive()`): read it as "> 0", which is what it means to say.
                Some(Value::Bool(true)) => {
                    let b = out.remove(bound).unwrap_or(json!(0));
                    out.insert(flag.to_string(), b);
                }
                Some(Value::Bool(false)) => {
                    out.remove(flag);
                }
                _ => {}
            }
        }
        if m.get("nullable") == Some(&Value::Bool(true)) {
            if let Some(Value::Array(types)) = out.get("type").cloned() {
                let mut types = types;
                types.push(json!("null"));
                out.insert("type".to_string(), sorted_values(types));
                if let Some(Value::Array(e)) = out.get("enum").cloned() {
                    let mut e = e;
                    e.push(Value::Null);
                    out.insert("enum".to_string(), sorted_values(e));
                }
            } else if let Some(Value::Array(branches)) = out.get_mut("anyOf") {
                branches.push(json!({ "type": ["null"] }));
            }
        }
    }
    Value::Object(out.into_iter().collect())
}

// ---------------------------------------------------------------------------------------------
// Schema comparison (both sides canonical)

struct Cmp<'a> {
    relax_at: BTreeSet<&'a str>,
    relax_hit: BTreeSet<String>,
}

fn string_set(v: Option<&Value>) -> BTreeSet<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().map(|t| t.to_string()).collect())
        .unwrap_or_default()
}

/// The types a schema without `type` still allows when every `anyOf` branch names its type.
fn implied_types(s: &Map<String, Value>) -> Option<BTreeSet<String>> {
    let branches = s.get("anyOf")?.as_array()?;
    let mut out = BTreeSet::new();
    for b in branches {
        out.extend(string_set(Some(b.get("type")?)));
    }
    Some(out)
}

/// Strict: ours must equal the spec. Relaxed (under a SCHEMA_RELAXATIONS pointer): ours may
/// omit constraints or widen `type`/`enum`, but every constraint it states must hold in the spec.
fn compare(
    spec: &Value,
    ours: &Value,
    ptr: &str,
    relaxed: bool,
    cmp: &mut Cmp,
    errs: &mut Vec<String>,
) {
    let relaxed = relaxed || {
        let hit = cmp.relax_at.contains(ptr);
        if hit {
            cmp.relax_hit.insert(ptr.to_string());
        }
        hit
    };
    if spec.as_str() == Some(ANY) {
        return;
    }
    let (Some(s), Some(o)) = (spec.as_object(), ours.as_object()) else {
        if spec != ours {
            errs.push(format!(
                "{ptr}: spec schema {} but ours {}",
                show(spec),
                show(ours)
            ));
        }
        return;
    };
    let keys: BTreeSet<&String> = s.keys().chain(o.keys()).collect();
    for k in keys {
        let here = format!("{ptr}/{k}");
        match (s.get(k), o.get(k)) {
            (Some(sv), None) => {
                if !relaxed {
                    errs.push(format!(
                        "{ptr}: spec has `{k}`: {} but ours lacks it",
                        show(sv)
                    ));
                }
            }
            (None, Some(ov))
                if relaxed
                    && k == "type"
                    && implied_types(s).is_some_and(|t| t.is_subset(&string_set(Some(ov)))) => {}
            (None, Some(ov)) => errs.push(format!(
                "{ptr}: ours has `{k}`: {} which the spec does not",
                show(ov)
            )),
            (Some(sv), Some(ov)) => match k.as_str() {
                "properties" => {
                    let (sp, op) = (sv.as_object(), ov.as_object());
                    let (Some(sp), Some(op)) = (sp, op) else {
                        errs.push(format!("{here}: not an object"));
                        continue;
                    };
                    let names: BTreeSet<&String> = sp.keys().chain(op.keys()).collect();
                    for n in names {
                        let at = format!("{here}/{}", esc(n));
                        match (sp.get(n), op.get(n)) {
                            (Some(a), Some(b)) => compare(a, b, &at, relaxed, cmp, errs),
                            (Some(_), None) if !relaxed => {
                                errs.push(format!("{at}: spec property missing from ours"))
                            }
                            (Some(_), None) => {}
                            (None, _) => errs.push(format!("{at}: property not in the spec")),
                        }
                    }
                }
                "items" | "additionalProperties" | "not" | "contains" | "propertyNames" => {
                    compare(sv, ov, &here, relaxed && k != "not", cmp, errs)
                }
                "anyOf" | "allOf" => {
                    let (sa, oa) = (sv.as_array(), ov.as_array());
                    match (sa, oa) {
                        (Some(sa), Some(oa)) if sa.len() == oa.len() => {
                            for (i, (a, b)) in sa.iter().zip(oa).enumerate() {
                                compare(a, b, &format!("{here}/{i}"), relaxed, cmp, errs);
                            }
                        }
                        _ => errs.push(format!(
                            "{here}: spec has {} branches, ours {} (keep the spec's branches in order)",
                            sa.map_or(0, Vec::len),
                            oa.map_or(0, Vec::len)
                        )),
                    }
                }
                "type" | "enum" if relaxed => {
                    if !string_set(Some(sv)).is_subset(&string_set(Some(ov))) {
                        errs.push(format!(
                            "{here}: spec {} but ours {} is narrower",
                            show(sv),
                            show(ov)
                        ));
                    }
                }
                "required" if relaxed => {
                    if !string_set(Some(ov)).is_subset(&string_set(Some(sv))) {
                        errs.push(format!(
                            "{here}: spec {} but ours requires {}",
                            show(sv),
                            show(ov)
                        ));
                    }
                }
                "type" | "enum" | "required" if sv != ov => {
                    let (ss, os) = (string_set(Some(sv)), string_set(Some(ov)));
                    let list = |d: Vec<&String>| {
                        format!(
                            "[{}]",
                            d.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                        )
                    };
                    errs.push(format!(
                        "{here}: differs from the spec; ours lacks {}, ours adds {}",
                        list(ss.difference(&os).collect()),
                        list(os.difference(&ss).collect())
                    ));
                }
                _ => {
                    if sv != ov {
                        errs.push(format!("{here}: spec {} but ours {}", show(sv), show(ov)));
                    }
                }
            },
            (None, None) => unreachable!(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The spec side of one operation

struct SpecOp<'a> {
    op: &'a Value,
    /// Declared path params by name.
    path_params: BTreeMap<String, &'a Value>,
    /// Query params by name.
    query: BTreeMap<String, &'a Value>,
    /// JSON body fields: name → candidate schemas (several when the body is a oneOf/anyOf).
    body: BTreeMap<String, Vec<&'a Value>>,
    body_required: BTreeSet<String>,
}

fn spec_op<'a>(spec: &'a Value, method: &str, path: &str) -> Option<SpecOp<'a>> {
    let item = spec.get("paths")?.get(path)?;
    let op = item.get(method.to_ascii_lowercase())?;
    let mut params: BTreeMap<(String, String), &Value> = BTreeMap::new();
    for list in [item.get("parameters"), op.get("parameters")]
        .into_iter()
        .flatten()
    {
        for p in list.as_array().into_iter().flatten() {
            let p = deref(spec, p);
            let name = p.get("name").and_then(Value::as_str).unwrap_or_default();
            let loc = p.get("in").and_then(Value::as_str).unwrap_or_default();
            params.insert((loc.to_string(), name.to_string()), p);
        }
    }
    let pick = |loc: &str| -> BTreeMap<String, &'a Value> {
        params
            .iter()
            .filter(|((l, _), _)| l == loc)
            .map(|((_, n), p)| (n.clone(), *p))
            .collect()
    };
    let mut out = SpecOp {
        op,
        path_params: pick("path"),
        query: pick("query"),
        body: BTreeMap::new(),
        body_required: BTreeSet::new(),
    };
    let json_schema = op.get("requestBody").map(|b| deref(spec, b)).and_then(|b| {
        let content = b.get("content")?.as_object()?;
        content
            .iter()
            .find(|(ct, _)| ct.contains("json"))
            .and_then(|(_, c)| c.get("schema"))
    });
    if let Some(schema) = json_schema {
        let schema = deref(spec, schema);
        let strs = |v: Option<&Value>| -> BTreeSet<String> {
            v.and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        };
        let branches: Vec<&Value> = ["oneOf", "anyOf"]
            .iter()
            .filter_map(|k| schema.get(*k).and_then(Value::as_array))
            .flatten()
            .map(|b| deref(spec, b))
            .collect();
        let mut objects = vec![schema];
        objects.extend(branches.iter().copied());
        for (i, o) in objects.iter().enumerate() {
            for (name, s) in o
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                out.body.entry(name.clone()).or_default().push(s);
            }
            let req = strs(o.get("required"));
            if i == 0 {
                out.body_required.extend(req);
            }
        }
        if !branches.is_empty() {
            // A field is required only when every variant requires it.
            let mut common: Option<BTreeSet<String>> = None;
            for b in &branches {
                let req = strs(b.get("required"));
                common = Some(match common {
                    None => req,
                    Some(c) => c.intersection(&req).cloned().collect(),
                });
            }
            out.body_required.extend(common.unwrap_or_default());
        }
    }
    Some(out)
}

/// Every `description` string in a schema (walked structurally, so a property named
/// "description" is not mistaken for one).
fn schema_descriptions(v: &Value, spec: Option<&Value>, depth: usize, out: &mut Vec<String>) {
    if depth > 24 {
        return;
    }
    let Some(m) = v.as_object() else { return };
    if let (Some(spec), Some(r)) = (spec, m.get("$ref").and_then(Value::as_str)) {
        if let Some(t) = resolve_ref(spec, r) {
            schema_descriptions(t, Some(spec), depth + 1, out);
        }
        return;
    }
    if let Some(d) = m.get("description").and_then(Value::as_str) {
        out.push(d.to_string());
    }
    for (k, val) in m {
        match k.as_str() {
            "properties" => {
                for s in val.as_object().into_iter().flatten().map(|(_, s)| s) {
                    schema_descriptions(s, spec, depth + 1, out);
                }
            }
            "items" | "additionalProperties" | "not" => {
                schema_descriptions(val, spec, depth + 1, out);
                for s in val.as_array().into_iter().flatten() {
                    schema_descriptions(s, spec, depth + 1, out);
                }
            }
            "anyOf" | "oneOf" | "allOf" => {
                for s in val.as_array().into_iter().flatten() {
                    schema_descriptions(s, spec, depth + 1, out);
                }
            }
            _ => {}
        }
    }
}

fn spec_descriptions(spec: &Value, so: &SpecOp) -> Vec<String> {
    let mut out = Vec::new();
    for p in so.path_params.values().chain(so.query.values()) {
        if let Some(d) = p.get("description").and_then(Value::as_str) {
            out.push(d.to_string());
        }
        if let Some(s) = p.get("schema") {
            schema_descriptions(s, Some(spec), 0, &mut out);
        }
    }
    for s in so.body.values().flatten() {
        schema_descriptions(s, Some(spec), 0, &mut out);
    }
    out
}

/// Keys that must not appear in our schemas, found structurally.
fn forbidden_keys(v: &Value, ptr: &str, in_properties: bool, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, val) in m {
                if !in_properties && FORBIDDEN_SCHEMA_KEYS.contains(&k.as_str()) {
                    out.push(format!("{ptr}/{}", esc(k)));
                }
                let child_is_props = !in_properties
                    && matches!(
                        k.as_str(),
                        "properties" | "$defs" | "definitions" | "patternProperties"
                    );
                forbidden_keys(val, &format!("{ptr}/{}", esc(k)), child_is_props, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                forbidden_keys(x, &format!("{ptr}/{i}"), false, out);
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// The checks

fn key_order_errors(
    obj: &Map<String, Value>,
    order: &[&str],
    optional: &[&str],
    what: &str,
) -> Vec<String> {
    let mut errs = Vec::new();
    for k in obj.keys() {
        if !order.contains(&k.as_str()) {
            errs.push(format!("{what}: unknown key `{k}` (allowed: {order:?})"));
        }
    }
    for k in order {
        if !optional.contains(k) && !obj.contains_key(*k) {
            errs.push(format!("{what}: missing key `{k}`"));
        }
    }
    let present: Vec<&str> = obj.keys().map(String::as_str).collect();
    let expected: Vec<&str> = order
        .iter()
        .copied()
        .filter(|k| obj.contains_key(*k))
        .collect();
    if errs.is_empty() && present != expected {
        errs.push(format!(
            "{what}: keys in order {present:?}, expected {expected:?}"
        ));
    }
    errs
}

fn expected_hints(method: &str) -> Option<[bool; 3]> {
    Some(match method {
        "GET" => [true, false, true],
        "DELETE" => [false, true, true],
        "PUT" => [false, false, true],
        "POST" | "PATCH" => [false, false, false],
        _ => return None,
    })
}

fn non_empty_str(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str).filter(|s| !s.trim().is_empty())
}

/// Checks one tool entry against the spec; `who` prefixes every message.
fn check_entry(
    entry: &Value,
    spec: &Value,
    rules: &Rules,
    who: &str,
    relax_hit: &mut BTreeSet<(String, String)>,
) -> Vec<String> {
    let mut errs: Vec<String> = Vec::new();
    let Some(obj) = entry.as_object() else {
        return vec![format!("{who}: entry is not an object")];
    };
    errs.extend(key_order_errors(obj, ENTRY_KEYS, OPTIONAL_ENTRY_KEYS, who));
    let name = obj.get("name").and_then(Value::as_str).unwrap_or_default();
    if name.is_empty() {
        errs.push(format!("{who}: `name` must be a non-empty string"));
    }
    let title = non_empty_str(obj.get("title"));
    if title.is_none() {
        errs.push(format!("{who}: `title` must be a non-empty string"));
    }
    let description = non_empty_str(obj.get("description")).unwrap_or_else(|| {
        errs.push(format!("{who}: `description` must be a non-empty string"));
        ""
    });
    let method = obj
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let path = obj.get("path").and_then(Value::as_str).unwrap_or_default();
    let Some(hints) = expected_hints(method) else {
        errs.push(format!(
            "{who}: `method` must be one of GET, POST, PUT, PATCH, DELETE (got {method:?})"
        ));
        return errs;
    };
    let Some(so) = spec_op(spec, method, path) else {
        errs.push(format!("{who}: the spec has no operation {method} {path}"));
        return errs;
    };

    // name = operationId
    let op_id = so.op.get("operationId").and_then(Value::as_str);
    if op_id != Some(name) {
        let id = op_id.map_or("missing".to_string(), |i| format!("{i:?}"));
        errs.push(format!(
            "{who}: `name` must equal the operationId of {method} {path}, which is {id}"
        ));
    }

    // descriptions in our own words
    for key in ["description", "summary"] {
        if let Some(sd) = so.op.get(key).and_then(Value::as_str) {
            let (ours, theirs) = (norm_text(description), norm_text(sd));
            if ours.is_empty() {
                continue;
            }
            if ours == theirs || (theirs.len() >= 40 && ours.contains(&theirs)) {
                errs.push(format!(
                    "{who}: `description` copies the spec's {key} ({sd:?}); write it in our own words"
                ));
            }
        }
    }

    if so.op.get("deprecated") == Some(&Value::Bool(true)) && !description.starts_with("Deprecated")
    {
        errs.push(format!(
            "{who}: the spec marks {method} {path} deprecated; start `description` with \"Deprecated: use …\""
        ));
    }

    // multipart and empty_body
    let (body_errs, upload) = body_shape_errors(obj, &so, spec, method, who);
    errs.extend(body_errs);

    // annotations
    match obj.get("annotations").and_then(Value::as_object) {
        None => errs.push(format!("{who}: `annotations` must be an object")),
        Some(ann) => {
            errs.extend(key_order_errors(
                ann,
                HINTS,
                &[],
                &format!("{who}: annotations"),
            ));
            for h in HINTS {
                if ann.get(*h).is_some_and(|v| !v.is_boolean()) {
                    errs.push(format!("{who}: annotations.{h} must be a boolean"));
                }
            }
            let excepted = rules.annotation_exceptions.iter().any(|(n, _)| *n == name);
            if !excepted {
                let want = [
                    ("readOnlyHint", hints[0]),
                    ("destructiveHint", hints[1]),
                    ("idempotentHint", hints[2]),
                    ("openWorldHint", true),
                ];
                for (h, w) in want {
                    if let Some(got) = ann.get(h).and_then(Value::as_bool)
                        && got != w
                    {
                        errs.push(format!(
                            "{who}: annotations.{h} is {got}, but {method} tools get {w} \
                                 (or list the tool in ANNOTATION_EXCEPTIONS with a reason)"
                        ));
                    }
                }
            }
        }
    }

    // query
    let spec_query: BTreeSet<&str> = so.query.keys().map(String::as_str).collect();
    let is_body_method = BODY_METHODS.contains(&method);
    if let Some(q) = obj.get("query") {
        let listed: Vec<&str> = q
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if !is_body_method {
            errs.push(format!(
                "{who}: `query` is only for POST/PUT/PATCH tools ({method} sends every non-path argument as a query param)"
            ));
        } else if !q.is_array() || listed.len() != q.as_array().map_or(0, Vec::len) {
            errs.push(format!("{who}: `query` must be an array of strings"));
        } else {
            let set: BTreeSet<&str> = listed.iter().copied().collect();
            if set.len() != listed.len() {
                errs.push(format!("{who}: `query` lists a name twice"));
            }
            for n in set.difference(&spec_query) {
                errs.push(format!(
                    "{who}: `query` lists `{n}`, which is not a query param of {method} {path}"
                ));
            }
        }
    }
    if is_body_method {
        let listed: BTreeSet<&str> = obj
            .get("query")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        for n in spec_query.difference(&listed) {
            errs.push(format!(
                "{who}: spec query param `{n}` must be listed in `query`, or it would be sent in the body"
            ));
        }
    }

    // inputSchema shape
    let Some(schema) = obj.get("inputSchema").and_then(Value::as_object) else {
        errs.push(format!("{who}: `inputSchema` must be an object"));
        return errs;
    };
    if schema.get("type") != Some(&json!("object")) {
        errs.push(format!("{who}: inputSchema.type must be \"object\""));
    }
    if schema.get("additionalProperties") != Some(&json!(false)) {
        errs.push(format!(
            "{who}: inputSchema.additionalProperties must be false"
        ));
    }
    let mut bad = Vec::new();
    forbidden_keys(&Value::Object(schema.clone()), "", false, &mut bad);
    for p in bad {
        errs.push(format!(
            "{who}: inputSchema{p}: no $ref/$defs/definitions/nullable; inline plain JSON Schema 2020-12"
        ));
    }
    let empty = Map::new();
    let props = match schema.get("properties") {
        Some(Value::Object(p)) => p,
        _ => {
            errs.push(format!("{who}: inputSchema.properties must be an object"));
            &empty
        }
    };
    let required_list: Vec<&str> = match schema.get("required") {
        None => Vec::new(),
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => {
            a.iter().filter_map(Value::as_str).collect()
        }
        Some(_) => {
            errs.push(format!(
                "{who}: inputSchema.required must be an array of strings"
            ));
            Vec::new()
        }
    };
    let required: BTreeSet<&str> = required_list.iter().copied().collect();
    if required.len() != required_list.len() {
        errs.push(format!("{who}: inputSchema.required lists a name twice"));
    }
    for r in &required {
        if !props.contains_key(*r) {
            errs.push(format!(
                "{who}: inputSchema.required names `{r}`, which is not a property"
            ));
        }
    }

    // api_names: tool argument (snake_case) → the API's spelling; the spec's names are mapped
    // onto the tool's before comparing.
    let mut api_names: BTreeMap<String, String> = BTreeMap::new();
    match obj.get("api_names") {
        None => {}
        Some(Value::Object(m)) => {
            for (arg, api) in m {
                match api.as_str() {
                    Some(api) if api != arg => {
                        api_names.insert(arg.clone(), api.to_string());
                    }
                    _ => errs.push(format!(
                        "{who}: api_names.{arg} must be the API's (different) spelling, a string"
                    )),
                }
            }
        }
        Some(_) => errs.push(format!("{who}: `api_names` must be an object")),
    }
    let to_arg = |api: &str| -> String {
        api_names
            .iter()
            .find(|(_, a)| a.as_str() == api)
            .map_or_else(|| api.to_string(), |(arg, _)| arg.clone())
    };

    // What the spec expects: argument → (where it comes from, candidate spec schemas, required)
    let string_schema = json!({ "type": "string" });
    let mut wanted: Vec<(String, String, Vec<&Value>, bool)> = Vec::new();
    for ph in path_placeholders(path) {
        let declared = so.path_params.get(&ph).and_then(|p| p.get("schema"));
        let cand = declared.unwrap_or(&string_schema);
        wanted.push(match ph.as_str() {
            "teamId" => ("team_id".into(), "path {teamId}".into(), vec![cand], false),
            "*" => ("path".into(), "path {*}".into(), vec![cand], true),
            other => (to_arg(other), format!("path {{{other}}}"), vec![cand], true),
        });
    }
    for (n, p) in &so.query {
        let req = p.get("required").and_then(Value::as_bool).unwrap_or(false);
        let cand = p.get("schema").unwrap_or(&string_schema);
        wanted.push((to_arg(n), "a query param".into(), vec![cand], req));
    }
    for (n, cands) in &so.body {
        let req = so.body_required.contains(n);
        wanted.push((to_arg(n), "a body field".into(), cands.clone(), req));
    }
    let upload_schemas: Vec<(&str, Value)> = UPLOAD_ARGS
        .iter()
        .map(|(n, s)| {
            (
                *n,
                serde_json::from_str(s).expect("UPLOAD_ARGS schema is JSON"),
            )
        })
        .collect();
    if let Some(up) = &upload {
        for (n, s) in &upload_schemas {
            wanted.push((n.to_string(), "the multipart file".into(), vec![s], true));
        }
        for (n, s, req) in &up.text_fields {
            let cand = s.unwrap_or(&string_schema);
            wanted.push((to_arg(n), "a multipart text field".into(), vec![cand], *req));
        }
    }
    let mut spec_names: BTreeSet<String> = path_placeholders(path).into_iter().collect();
    spec_names.extend(so.query.keys().cloned());
    spec_names.extend(so.body.keys().cloned());
    if let Some(up) = &upload {
        spec_names.extend(up.text_fields.iter().map(|(n, _, _)| n.clone()));
    }
    for (arg, api) in &api_names {
        if !spec_names.contains(api) {
            errs.push(format!(
                "{who}: api_names maps `{arg}` to `{api}`, which is not a parameter of {method} {path}"
            ));
        }
    }
    let mut expected: BTreeMap<String, (String, Vec<&Value>, bool)> = BTreeMap::new();
    for (arg, from, cands, req) in wanted {
        if let Some((prev, _, _)) = expected.get(&arg) {
            errs.push(format!(
                "{who}: argument `{arg}` would stand for both {prev} and {from}"
            ));
        } else {
            expected.insert(arg, (from, cands, req));
        }
    }

    let relax_at: BTreeSet<&str> = rules
        .relaxations
        .iter()
        .filter(|(t, _, _)| *t == name)
        .map(|(_, p, _)| *p)
        .collect();
    let mut cmp = Cmp {
        relax_at,
        relax_hit: BTreeSet::new(),
    };

    for (arg, (from, cands, req)) in &expected {
        let Some(ours) = props.get(arg) else {
            errs.push(format!(
                "{who}: missing property `{arg}` ({from} of {method} {path})"
            ));
            continue;
        };
        if *req && !required.contains(arg.as_str()) {
            errs.push(format!(
                "{who}: `{arg}` ({from}) must be in inputSchema.required"
            ));
        }
        if !*req && required.contains(arg.as_str()) {
            errs.push(format!(
                "{who}: `{arg}` ({from}) is optional in the spec but listed in inputSchema.required"
            ));
        }
        let mut ours_c = canon(ours, Dialect::Ours, spec, &mut Vec::new());
        let mut cands_c: Vec<Value> = cands
            .iter()
            .map(|c| canon(c, Dialect::OpenApi, spec, &mut Vec::new()))
            .collect();
        cands_c.dedup();
        if cands_c.len() > 1 {
            // Variants of a oneOf body that differ only in `enum`: accept the union.
            let strip = |v: &Value| {
                let mut v = v.clone();
                if let Some(m) = v.as_object_mut() {
                    m.remove("enum");
                }
                v
            };
            if cands_c.iter().all(|c| strip(c) == strip(&cands_c[0])) {
                let mut merged = cands_c[0].clone();
                let all: Vec<Value> = cands_c
                    .iter()
                    .flat_map(|c| {
                        c.get("enum")
                            .and_then(Value::as_array)
                            .cloned()
                            .unwrap_or_default()
                    })
                    .collect();
                if let Some(m) = merged.as_object_mut() {
                    m.insert("enum".into(), sorted_values(all));
                }
                cands_c.push(merged);
            }
        }
        // A flag the API takes as the string "true"/"false" is a boolean in our schema (the
        // mapping sends `true` as "true"), and paging counts are integers where the spec says
        // number.
        let flag = cands_c.iter().all(string_flag) || STRING_FLAGS.contains(&(name, arg.as_str()));
        if ours_c.get("type") == Some(&json!(["boolean"])) && flag {
            continue;
        }
        if (arg == "limit" || arg == "offset")
            && ours_c.get("type") == Some(&json!(["integer"]))
            && cands_c
                .iter()
                .any(|c| c.get("type") == Some(&json!(["number"])))
            && let Some(m) = ours_c.as_object_mut()
        {
            m.insert("type".into(), json!(["number"]));
        }
        let ptr = format!("/properties/{}", esc(arg));
        let mut best: Option<Vec<String>> = None;
        for c in &cands_c {
            let mut e = Vec::new();
            compare(c, &ours_c, &ptr, false, &mut cmp, &mut e);
            if e.is_empty() {
                best = None;
                break;
            }
            if best.is_none() {
                best = Some(e);
            }
        }
        for e in best.unwrap_or_default() {
            let note = if cands_c.len() > 1 {
                " (one of several spec variants)"
            } else {
                ""
            };
            errs.push(format!("{who}: inputSchema{e}{note}"));
        }
    }
    for (tool, p, _) in rules.relaxations.iter().filter(|(t, _, _)| *t == name) {
        if cmp.relax_hit.contains(*p) {
            relax_hit.insert((tool.to_string(), p.to_string()));
        }
    }
    for arg in props.keys() {
        if !expected.contains_key(arg) {
            let hint = if arg == "team_id" || arg == "path" {
                " (only for a {teamId} / {*} path)"
            } else {
                ""
            };
            errs.push(format!(
                "{who}: property `{arg}` is not a path param, query param or body field of {method} {path}{hint}"
            ));
        }
    }

    // Property descriptions: own words too.
    let theirs: BTreeSet<String> = spec_descriptions(spec, &so)
        .iter()
        .map(|d| norm_text(d))
        .filter(|d| !d.is_empty())
        .collect();
    let mut ours_d = Vec::new();
    for s in props.values() {
        schema_descriptions(s, None, 0, &mut ours_d);
    }
    for d in ours_d {
        if theirs.contains(&norm_text(&d)) {
            errs.push(format!(
                "{who}: property description {d:?} copies the spec; write it in our own words"
            ));
        }
    }
    errs
}

/// True for a canonical spec schema that only takes a boolean or the strings "true"/"false": a
/// string enum of those, or an `anyOf` of such branches.
fn string_flag(c: &Value) -> bool {
    if let Some(branches) = c.get("anyOf").and_then(Value::as_array) {
        return branches.iter().all(string_flag);
    }
    let Some(m) = c.as_object() else {
        return false;
    };
    if m.get("type") == Some(&json!(["boolean"])) {
        return true;
    }
    if m.get("type") != Some(&json!(["string"])) {
        return false;
    }
    let values: Vec<&Value> = match (m.get("enum"), m.get("const")) {
        (Some(Value::Array(e)), _) => e.iter().collect(),
        (_, Some(v)) => vec![v],
        _ => return false,
    };
    values
        .iter()
        .all(|v| *v == &json!("true") || *v == &json!("false"))
}

/// What a `multipart` entry sends besides the file: (text field, its spec schema when the spec
/// declares the form, required).
struct Upload<'a> {
    text_fields: Vec<(String, Option<&'a Value>, bool)>,
}

/// Checks `multipart` and `empty_body` against the spec's request body. A multipart operation
/// whose spec declares no request body (a spec defect, see API.md §7.5 and §7.10) is taken on
/// trust for its form field names.
fn body_shape_errors<'a>(
    obj: &Map<String, Value>,
    so: &SpecOp<'a>,
    spec: &'a Value,
    method: &str,
    who: &str,
) -> (Vec<String>, Option<Upload<'a>>) {
    let mut errs = Vec::new();
    let body = so.op.get("requestBody").map(|b| deref(spec, b));
    let content = body
        .and_then(|b| b.get("content"))
        .and_then(Value::as_object);
    let json_body = content.and_then(|c| c.iter().find(|(ct, _)| ct.contains("json")));
    let form = content
        .and_then(|c| c.get("multipart/form-data"))
        .and_then(|c| c.get("schema"))
        .map(|s| deref(spec, s));
    let is_body_method = BODY_METHODS.contains(&method);
    let mut upload = None;
    if let Some(m) = obj.get("multipart") {
        let empty = Map::new();
        let mo = m.as_object().unwrap_or_else(|| {
            errs.push(format!("{who}: `multipart` must be an object"));
            &empty
        });
        errs.extend(key_order_errors(
            mo,
            &["file_field", "text_fields"],
            &["text_fields"],
            &format!("{who}: multipart"),
        ));
        let file_field = non_empty_str(mo.get("file_field"));
        if file_field.is_none() {
            errs.push(format!(
                "{who}: multipart.file_field must be a non-empty string"
            ));
        }
        let text: Vec<&str> = match mo.get("text_fields") {
            None => Vec::new(),
            Some(Value::Array(a)) if a.iter().all(Value::is_string) => {
                a.iter().filter_map(Value::as_str).collect()
            }
            Some(_) => {
                errs.push(format!(
                    "{who}: multipart.text_fields must be an array of strings"
                ));
                Vec::new()
            }
        };
        if !is_body_method {
            errs.push(format!(
                "{who}: `multipart` is only for POST/PUT/PATCH tools"
            ));
        }
        if json_body.is_some() {
            errs.push(format!(
                "{who}: `multipart` on an operation whose spec body is JSON"
            ));
        }
        let form_props = form
            .and_then(|f| f.get("properties"))
            .and_then(Value::as_object);
        let form_required = form.and_then(|f| f.get("required"));
        let mut text_fields = Vec::new();
        for t in &text {
            if UPLOAD_ARGS.iter().any(|(n, _)| n == t) {
                errs.push(format!(
                    "{who}: multipart.text_fields names `{t}`, which carries the file"
                ));
            }
            let declared = form_props.and_then(|p| p.get(*t));
            if form.is_some() && declared.is_none() {
                errs.push(format!(
                    "{who}: multipart.text_fields names `{t}`, which the spec's form lacks"
                ));
            }
            let req = string_set(form_required).contains(&json!(t).to_string());
            text_fields.push((t.to_string(), declared, req));
        }
        if let (Some(f), Some(_)) = (file_field, form)
            && !form_props.is_some_and(|p| p.contains_key(f))
        {
            errs.push(format!(
                "{who}: multipart.file_field `{f}` is not a field of the spec's form"
            ));
        }
        upload = Some(Upload { text_fields });
    }
    match obj.get("empty_body") {
        None => {}
        Some(Value::Bool(true)) => {
            let body_required = body
                .and_then(|b| b.get("required"))
                .and_then(Value::as_bool)
                == Some(true);
            if !is_body_method || upload.is_some() || json_body.is_none() || !body_required {
                errs.push(format!(
                    "{who}: `empty_body` is only for a JSON request body the spec requires"
                ));
            } else if !so.body_required.is_empty() {
                errs.push(format!(
                    "{who}: `empty_body` is pointless: the body always carries {:?}",
                    so.body_required
                ));
            }
        }
        Some(_) => errs.push(format!("{who}: `empty_body` must be true or left out")),
    }
    (errs, upload)
}

fn check_catalog(files: &[(String, Value)], spec: &Value, rules: &Rules) -> Vec<String> {
    let mut errs = Vec::new();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut routes: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut relax_hit: BTreeSet<(String, String)> = BTreeSet::new();
    for (file, v) in files {
        let Some(obj) = v.as_object() else {
            errs.push(format!("{file}: top level must be an object"));
            continue;
        };
        errs.extend(key_order_errors(obj, FILE_KEYS, &[], file));
        let stem = Path::new(file)
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy();
        if obj.get("toolset").and_then(Value::as_str) != Some(stem.as_ref()) {
            errs.push(format!(
                "{file}: `toolset` must be {stem:?} (the file name)"
            ));
        }
        for k in ["title", "description"] {
            match non_empty_str(obj.get(k)) {
                None => errs.push(format!("{file}: `{k}` must be a non-empty string")),
                Some(s) if s.contains('\n') => errs.push(format!("{file}: `{k}` must be one line")),
                Some(_) => {}
            }
        }
        if !obj.get("default").is_some_and(Value::is_boolean) {
            errs.push(format!("{file}: `default` must be a boolean"));
        }
        let Some(tools) = obj
            .get("tools")
            .and_then(Value::as_array)
            .filter(|t| !t.is_empty())
        else {
            errs.push(format!("{file}: `tools` must be a non-empty array"));
            continue;
        };
        let names: Vec<&str> = tools
            .iter()
            .map(|t| t.get("name").and_then(Value::as_str).unwrap_or_default())
            .collect();
        for w in names.windows(2) {
            if w[0] >= w[1] {
                errs.push(format!(
                    "{file}: tools must be sorted by name without repeats: {:?} comes before {:?}",
                    w[0], w[1]
                ));
            }
        }
        for (i, t) in tools.iter().enumerate() {
            let name = names[i];
            let who = if name.is_empty() {
                format!("{file} tools[{i}]")
            } else {
                format!("{file} {name}")
            };
            if !name.is_empty()
                && let Some(prev) = seen.insert(name.to_string(), file.clone())
            {
                errs.push(format!(
                    "{who}: name {name:?} is also used in {prev}; names must be unique"
                ));
            }
            let route = (
                t.get("method")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                t.get("path")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            );
            if let Some(prev) = routes.insert(route.clone(), who.clone()) {
                errs.push(format!(
                    "{who}: {} {} is already exposed by {prev}",
                    route.0, route.1
                ));
            }
            errs.extend(check_entry(t, spec, rules, &who, &mut relax_hit));
        }
    }
    for (n, reason) in rules.annotation_exceptions {
        if !seen.contains_key(*n) {
            errs.push(format!(
                "ANNOTATION_EXCEPTIONS names {n:?}, which is not in the catalog"
            ));
        }
        if reason.trim().is_empty() {
            errs.push(format!("ANNOTATION_EXCEPTIONS entry {n:?} needs a reason"));
        }
    }
    for (tool, p, reason) in rules.relaxations {
        if !seen.contains_key(*tool) {
            errs.push(format!(
                "SCHEMA_RELAXATIONS names {tool:?}, which is not in the catalog"
            ));
        } else if !relax_hit.contains(&(tool.to_string(), p.to_string())) {
            errs.push(format!(
                "SCHEMA_RELAXATIONS entry {tool} {p} matches no schema node of that tool"
            ));
        }
        if reason.trim().is_empty() {
            errs.push(format!(
                "SCHEMA_RELAXATIONS entry {tool} {p} needs a reason"
            ));
        }
    }
    errs
}

/// The spec plus the hand-written `extras`, and what is wrong with the table.
fn spec_with_extras(spec: &Value, extras: &[(&str, &str, &str, &str)]) -> (Value, Vec<String>) {
    let mut full = spec.clone();
    let mut errs = Vec::new();
    for (name, method, path, source) in extras {
        if source.trim().is_empty() {
            errs.push(format!("EXTRA_OPERATIONS entry {name} needs a source"));
        }
        let m = method.to_ascii_lowercase();
        if spec.pointer(&format!("/paths/{}/{m}", esc(path))).is_some() {
            errs.push(format!(
                "EXTRA_OPERATIONS: {method} {path} ({name}) is in the spec now; remove it from the table"
            ));
            continue;
        }
        let Some(op) = extra_operation_spec(name) else {
            errs.push(format!(
                "EXTRA_OPERATIONS: {name} has no hand-written expectation in extra_operation_spec"
            ));
            continue;
        };
        let Some(paths) = full.get_mut("paths").and_then(Value::as_object_mut) else {
            errs.push("the spec has no `paths`".to_string());
            break;
        };
        let item = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        if let Some(item) = item.as_object_mut() {
            item.insert(m, op);
        }
    }
    (full, errs)
}

const HTTP_METHODS: &[&str] = &[
    "get", "put", "post", "delete", "patch", "options", "head", "trace",
];

/// Every spec operation is in the catalog or excluded (not both), every exclusion names a spec
/// operation and gives a reason, and every extra operation is in the catalog under its name.
fn coverage_errors(
    files: &[(String, Value)],
    spec: &Value,
    excluded: &Value,
    extras: &[(&str, &str, &str, &str)],
) -> Vec<String> {
    let mut errs = Vec::new();
    let mut catalogued: BTreeMap<(String, String), String> = BTreeMap::new();
    for (_, file) in files {
        for t in file
            .get("tools")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let field = |k: &str| t.get(k).and_then(Value::as_str).unwrap_or_default();
            catalogued.insert(
                (
                    field("method").to_ascii_uppercase(),
                    field("path").to_string(),
                ),
                field("name").to_string(),
            );
        }
    }
    let mut excl: BTreeSet<(String, String)> = BTreeSet::new();
    match excluded.as_array() {
        None => errs.push(format!("{EXCLUDED_FILE}: must be an array")),
        Some(items) => {
            for (i, x) in items.iter().enumerate() {
                let who = format!("{EXCLUDED_FILE}[{i}]");
                let Some(o) = x.as_object() else {
                    errs.push(format!("{who}: must be an object"));
                    continue;
                };
                errs.extend(key_order_errors(
                    o,
                    &["method", "path", "reason"],
                    &[],
                    &who,
                ));
                let method = o.get("method").and_then(Value::as_str).unwrap_or_default();
                let path = o.get("path").and_then(Value::as_str).unwrap_or_default();
                if non_empty_str(o.get("reason")).is_none() {
                    errs.push(format!(
                        "{who}: `reason` must say why {method} {path} is left out"
                    ));
                }
                let op = spec.pointer(&format!(
                    "/paths/{}/{}",
                    esc(path),
                    method.to_ascii_lowercase()
                ));
                if method != method.to_ascii_uppercase() || op.is_none() {
                    errs.push(format!(
                        "{who}: the spec has no operation {method} {path} (methods are upper case)"
                    ));
                }
                if !excl.insert((method.to_string(), path.to_string())) {
                    errs.push(format!("{who}: {method} {path} is listed twice"));
                }
            }
        }
    }
    for (path, item) in spec
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        for m in HTTP_METHODS {
            let Some(op) = item.get(*m) else { continue };
            let key = (m.to_ascii_uppercase(), path.clone());
            let id = op
                .get("operationId")
                .and_then(Value::as_str)
                .unwrap_or("no operationId");
            match (catalogued.get(&key), excl.contains(&key)) {
                (Some(tool), true) => errs.push(format!(
                    "{} {path} ({id}) is both in the catalog ({tool}) and in {EXCLUDED_FILE}",
                    key.0
                )),
                (None, false) => errs.push(format!(
                    "{} {path} ({id}) is neither in tools/*.json nor in {EXCLUDED_FILE}",
                    key.0
                )),
                _ => {}
            }
        }
    }
    for (name, method, path, _) in extras {
        match catalogued.get(&(method.to_string(), path.to_string())) {
            Some(tool) if tool == name => {}
            Some(tool) => errs.push(format!(
                "EXTRA_OPERATIONS: {method} {path} is catalogued as {tool}, not {name}"
            )),
            None => errs.push(format!(
                "EXTRA_OPERATIONS: {name} ({method} {path}) is not in tools/*.json"
            )),
        }
    }
    errs
}

fn load_excluded() -> Value {
    let path = manifest_dir().join(EXCLUDED_FILE);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

fn report(errs: &[String]) {
    if !errs.is_empty() {
        panic!(
            "{} catalog problem(s):\n  - {}",
            errs.len(),
            errs.join("\n  - ")
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Tests

#[test]
fn serde_json_keeps_key_order() {
    let v: Value = serde_json::from_str(r#"{"b":1,"a":2}"#).unwrap();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["b", "a"],
        "serde_json's `preserve_order` feature is needed for the key-order checks"
    );
}

#[test]
fn spec_copy_is_present_and_identical_to_shared() {
    let repo = repo_spec_path();
    assert!(
        repo.is_file(),
        "{} is missing: copy ../shared/duvo-api/openapi.json there byte for byte",
        repo.display()
    );
    let shared = shared_spec_path();
    if shared.is_file() {
        let (a, b) = (fs::read(&repo).unwrap(), fs::read(&shared).unwrap());
        assert!(
            a == b,
            "spec/openapi.json differs from {}: refresh the copy",
            shared.display()
        );
    }
}

#[test]
fn catalog_matches_spec() {
    let (spec, mut errs) = spec_with_extras(&load_spec(), EXTRA_OPERATIONS);
    let files = load_catalog();
    errs.extend(check_catalog(&files, &spec, &RULES));
    report(&errs);
}

#[test]
fn catalog_covers_every_spec_operation() {
    let spec = load_spec();
    report(&coverage_errors(
        &load_catalog(),
        &spec,
        &load_excluded(),
        EXTRA_OPERATIONS,
    ));
}

#[test]
fn every_toolset_file_is_embedded() {
    let catalog = duvo_mcp::catalog::Catalog::embedded().expect("the embedded catalog loads");
    let mut file_sets = BTreeSet::new();
    let mut file_tools = BTreeSet::new();
    for (_, f) in load_catalog() {
        file_sets.insert(f["toolset"].as_str().unwrap_or_default().to_string());
        for t in f["tools"].as_array().into_iter().flatten() {
            file_tools.insert(t["name"].as_str().unwrap_or_default().to_string());
        }
    }
    let sets: BTreeSet<String> = catalog.toolsets().iter().map(|t| t.name.clone()).collect();
    assert_eq!(
        file_sets, sets,
        "tools/*.json and the catalog build/catalog.rs compiles from them must list the same toolsets"
    );
    let missing: Vec<&String> = file_tools
        .iter()
        .filter(|n| catalog.get(n).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "tools in tools/*.json but not in the embedded catalog: {missing:?}"
    );
}

/// The format extensions (`query` on a body method, `multipart`, `empty_body`, extra operations)
/// reach the engine as the entries intend: checked through the crate's own argument mapping.
#[test]
fn extension_entries_map_onto_the_intended_requests() {
    use duvo_mcp::catalog::{Catalog, mapping::to_request};
    use duvo_mcp::client::RequestBody;
    let catalog = Catalog::embedded().expect("the embedded catalog loads");
    let map = |tool: &str, args: Value| {
        let entry = catalog
            .get(tool)
            .unwrap_or_else(|| panic!("{tool} is in the catalog"));
        let args = args.as_object().cloned().expect("arguments are an object");
        to_request(entry, &args, Some("team-1")).unwrap_or_else(|e| panic!("{tool}: {e}"))
    };
    let id = "0b5e2f4a-3c1d-4e6f-8a9b-1c2d3e4f5a6b";

    let req = map(
        "uploadSandboxFile",
        json!({"sandbox_id": "sbx_1", "file_name": "data.csv", "content_base64": "YSxiCg==",
               "path": "/workspace/in/data.csv"}),
    );
    assert_eq!(req.path, "/v2/sandboxes/sbx_1/files");
    match &req.body {
        RequestBody::Multipart { fields, files } => {
            assert_eq!(
                fields,
                &[("path".to_string(), "/workspace/in/data.csv".to_string())]
            );
            assert_eq!(files.len(), 1);
            assert_eq!(
                (files[0].field.as_str(), files[0].file_name.as_str()),
                ("file", "data.csv")
            );
            assert_eq!(&files[0].data[..], b"a,b\n");
        }
        other => panic!("uploadSandboxFile: expected multipart, got {other:?}"),
    }

    let req = map(
        "uploadSkill",
        json!({"file_name": "invoice-check.zip", "content_base64": "UEsDBA=="}),
    );
    assert_eq!(req.path, "/v2/teams/team-1/skills/upload");
    match &req.body {
        RequestBody::Multipart { fields, files } => {
            assert!(fields.is_empty(), "{fields:?}");
            assert_eq!(files[0].field, "file");
            assert_eq!(files[0].content_type, "application/zip");
        }
        other => panic!("uploadSkill: expected multipart, got {other:?}"),
    }

    for (tool, args, path) in [
        (
            "startNativeOAuth",
            json!({"provider": "gmail"}),
            "/v2/teams/team-1/connections/oauth/native/gmail/start".to_string(),
        ),
        (
            "promoteRevision",
            json!({"build_id": id}),
            format!("/v2/revisions/{id}/promote"),
        ),
        (
            "searchCases",
            json!({"queue_id": id}),
            format!("/v2/queues/{id}/cases/search"),
        ),
    ] {
        let req = map(tool, args);
        assert_eq!(req.path, path, "{tool}");
        assert!(
            matches!(&req.body, RequestBody::Json(v) if v == &json!({})),
            "{tool} must send an empty JSON body, got {:?}",
            req.body
        );
    }

    let req = map(
        "moveAgent",
        json!({"agent_id": id, "target_team_id": id, "dry_run": true}),
    );
    assert_eq!(req.query, [("dry_run".to_string(), "true".to_string())]);
    assert!(
        matches!(&req.body, RequestBody::Json(v) if v == &json!({"target_team_id": id})),
        "{:?}",
        req.body
    );

    let req = map(
        "startComposioOAuth",
        json!({"auth_config_id": "ac_1", "callback_url": "https://example.com/done"}),
    );
    assert_eq!(req.path, "/v2/teams/team-1/connections/composio/start");
    assert!(
        matches!(&req.body, RequestBody::Json(v)
            if v == &json!({"auth_config_id": "ac_1", "callback_url": "https://example.com/done"})),
        "{:?}",
        req.body
    );

    let req = map(
        "getSkillFileContent",
        json!({"skill_id": id, "path": "references/guide.md"}),
    );
    assert_eq!(
        req.path,
        format!("/v2/skills/{id}/files/references/guide.md")
    );
}

/// The default tool list, as a client receives it, must leave the model room to work.
#[test]
fn default_tools_fit_the_context_budget() {
    use duvo_mcp::catalog::Selection;
    let catalog = duvo_mcp::workflows::full_catalog().expect("the embedded catalog loads");
    let enabled = catalog
        .select(&Selection::default())
        .expect("the default selection");
    let mut sizes: Vec<(usize, String)> = enabled
        .entries()
        .iter()
        .map(|e| {
            let t = e.tool();
            let wire = json!({
                "name": t.name,
                "title": t.title,
                "description": t.description,
                "inputSchema": t.input_schema,
                "annotations": t.annotations,
            });
            let bytes = serde_json::to_vec(&wire).expect("a tool serialises").len();
            (bytes, e.name().to_string())
        })
        .collect();
    sizes.sort_by(|a, b| b.cmp(a));
    let tools = sizes.len() + META_TOOLS;
    let bytes = sizes.iter().map(|(b, _)| b).sum::<usize>() + META_TOOLS_RESERVED_BYTES;
    let largest: Vec<String> = sizes
        .iter()
        .take(5)
        .map(|(b, n)| format!("{n} {b}"))
        .collect();
    assert!(
        tools <= MAX_DEFAULT_TOOLS,
        "default list has {tools} tools (with {META_TOOLS} meta tools); the budget is {MAX_DEFAULT_TOOLS}"
    );
    assert!(
        bytes <= MAX_DEFAULT_LIST_BYTES,
        "default tools/list is {bytes} bytes (with {META_TOOLS_RESERVED_BYTES} reserved for meta \
         tools); the budget is {MAX_DEFAULT_LIST_BYTES}. Largest: {largest:?}"
    );
    assert!(
        sizes.len() > 2,
        "the default list should hold the core tools"
    );
}

// The checker itself: a correct hand-written catalog passes, and each kind of mistake is caught.

fn good_catalog() -> Vec<(String, Value)> {
    let ann = |ro: bool, de: bool, id: bool| json!({"readOnlyHint": ro, "destructiveHint": de, "idempotentHint": id, "openWorldHint": true});
    let run_id = json!({"type": "string", "format": "uuid", "description": "Job id."});
    let tools = json!([
        {
            "name": "bulkRetryCases", "title": "Retry", "description": "Deprecated: use bulkReprocessCases.",
            "method": "POST", "path": "/v2/queues/{queue_id}/cases/bulk-retry",
            "annotations": ann(false, false, false),
            "inputSchema": {"type": "object", "properties": {
                "queue_id": {"type": "string", "format": "uuid"},
                "case_ids": {"type": "array", "minItems": 1, "maxItems": 100,
                             "items": {"type": "string", "format": "uuid"}}
            }, "required": ["queue_id", "case_ids"], "additionalProperties": false}
        },
        {
            "name": "listAgents", "title": "List", "description": "Lists things.",
            "method": "GET", "path": "/v2/teams/{teamId}/agents",
            "annotations": ann(true, false, true),
            "inputSchema": {"type": "object", "properties": {
                "team_id": {"type": "string"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                "offset": {"type": "integer", "minimum": 0, "maximum": 9007199254740991_u64},
                "include_schedules": {"type": "string", "enum": ["true", "false"], "default": "false"},
                "automation_id": {"type": "string", "format": "uuid"}
            }, "required": [], "additionalProperties": false}
        },
        {
            "name": "promoteRevision", "title": "Promote", "description": "Makes it live.",
            "method": "POST", "path": "/v2/revisions/{build_id}/promote", "empty_body": true,
            "annotations": ann(false, false, false),
            "inputSchema": {"type": "object", "properties": {
                "build_id": {"type": "string", "format": "uuid"},
                "revision_name": {"type": "string", "minLength": 1, "maxLength": 80},
                "revision_description": {"type": ["string", "null"], "maxLength": 500}
            }, "required": ["build_id"], "additionalProperties": false}
        },
        {
            "name": "respondToHumanRequest", "title": "Answer", "description": "Answers a request.",
            "method": "POST", "path": "/v2/runs/{run_id}/human-requests/{request_id}/respond",
            "annotations": ann(false, false, false),
            "inputSchema": {"type": "object", "properties": {
                "run_id": run_id,
                "request_id": {"type": "string", "format": "uuid"},
                "answers": {"type": "object", "additionalProperties": {"type": "string"}},
                "approved": {"type": "boolean"}
            }, "required": ["run_id", "request_id"], "additionalProperties": false}
        },
        {
            "name": "startRun", "title": "Start", "description": "Starts a job.",
            "method": "POST", "path": "/v2/teams/{teamId}/runs",
            "annotations": ann(false, false, false),
            "inputSchema": {"type": "object", "properties": {
                "team_id": {"type": "string"},
                "agent_id": {"type": "string", "format": "uuid"},
                "message": {"type": "string"},
                "sandbox_id": {"type": "string"},
                "webhook_url": {"type": "string", "format": "uri"}
            }, "required": ["agent_id"], "additionalProperties": false}
        },
        {
            "name": "stopRun", "title": "Stop", "description": "Stops a job.",
            "method": "POST", "path": "/v2/runs/{run_id}/stop",
            "annotations": ann(false, false, false),
            "inputSchema": {"type": "object", "properties": {"run_id": run_id},
                "required": ["run_id"], "additionalProperties": false}
        },
        {
            "name": "updateAgent", "title": "Update", "description": "Updates an agent.",
            "method": "PATCH", "path": "/v2/agents/{agent_id}",
            "annotations": ann(false, false, false),
            "inputSchema": {"type": "object", "properties": {
                "agent_id": {"type": "string", "format": "uuid"},
                "name": {"type": "string"},
                "slack_enabled": {"type": "boolean"},
                "microsoft_teams_enabled": {"type": "boolean"},
                "agentic_memory_enabled": {"type": "boolean"},
                "thread_id": {"type": ["string", "null"], "format": "uuid"},
                "pinned": {"type": "boolean"}
            }, "required": ["agent_id"], "additionalProperties": false}
        },
        {
            "name": "uploadSandboxFile", "title": "Upload", "description": "Uploads a file.",
            "method": "POST", "path": "/v2/sandboxes/{sandbox_id}/files",
            "multipart": {"file_field": "file", "text_fields": ["path"]},
            "annotations": ann(false, false, false),
            "inputSchema": {"type": "object", "properties": {
                "sandbox_id": {"type": "string", "minLength": 1},
                "file_name": {"type": "string", "minLength": 1},
                "content_base64": {"type": "string", "description": "The bytes, base64."},
                "path": {"type": "string"}
            }, "required": ["sandbox_id", "file_name", "content_base64"], "additionalProperties": false}
        }
    ]);
    let file = json!({
        "toolset": "selftest", "title": "Self test", "description": "Checker fixtures.",
        "default": false, "tools": tools
    });
    vec![("tools/selftest.json".to_string(), file)]
}

const NO_RULES: Rules<'static> = Rules {
    annotation_exceptions: &[],
    relaxations: &[],
};

fn tool_mut<'a>(files: &'a mut [(String, Value)], name: &str) -> &'a mut Value {
    files[0]
        .1
        .get_mut("tools")
        .and_then(Value::as_array_mut)
        .unwrap()
        .iter_mut()
        .find(|t| t["name"] == name)
        .unwrap()
}

/// Sets an optional entry key (query, multipart, empty_body) in its place, before `annotations`.
fn set_entry_key(tool: &mut Value, key: &str, value: Value) {
    let t = tool.as_object_mut().unwrap();
    let rest: Vec<(String, Value)> = ["annotations", "inputSchema"]
        .iter()
        .map(|k| (k.to_string(), t.remove(*k).unwrap()))
        .collect();
    t.insert(key.into(), value);
    t.extend(rest);
}

/// Applies `mutate`, runs the checker, and expects a message containing every needle.
fn expect_caught(
    spec: &Value,
    rules: &Rules,
    what: &str,
    needles: &[&str],
    mutate: impl FnOnce(&mut Vec<(String, Value)>),
) {
    let mut files = good_catalog();
    mutate(&mut files);
    let errs = check_catalog(&files, spec, rules);
    assert!(
        errs.iter().any(|e| needles.iter().all(|n| e.contains(n))),
        "checker missed: {what}; expected a message containing {needles:?}, got {errs:#?}"
    );
}

#[test]
fn checker_accepts_a_correct_catalog() {
    let spec = load_spec();
    report(&check_catalog(&good_catalog(), &spec, &NO_RULES));
}

#[test]
fn checker_catches_mistakes() {
    let spec = load_spec();
    let s = &spec;
    let r = &NO_RULES;
    expect_caught(s, r, "wrong name", &["stopRunNow", "operationId"], |f| {
        tool_mut(f, "stopRun")["name"] = json!("stopRunNow");
    });
    expect_caught(
        s,
        r,
        "no such operation",
        &["stopRun", "no operation PUT"],
        |f| {
            tool_mut(f, "stopRun")["method"] = json!("PUT");
        },
    );
    expect_caught(
        s,
        r,
        "path param missing",
        &["stopRun", "missing property `run_id`"],
        |f| {
            let t = tool_mut(f, "stopRun");
            t["inputSchema"]["properties"] = json!({});
            t["inputSchema"]["required"] = json!([]);
        },
    );
    expect_caught(
        s,
        r,
        "path param optional",
        &["stopRun", "`run_id`", "required"],
        |f| {
            tool_mut(f, "stopRun")["inputSchema"]["required"] = json!([]);
        },
    );
    expect_caught(
        s,
        r,
        "team_id required",
        &["startRun", "`team_id`", "optional"],
        |f| {
            tool_mut(f, "startRun")["inputSchema"]["required"] = json!(["agent_id", "team_id"]);
        },
    );
    expect_caught(
        s,
        r,
        "team_id missing",
        &["startRun", "missing property `team_id`"],
        |f| {
            let t = tool_mut(f, "startRun");
            t["inputSchema"]["properties"]
                .as_object_mut()
                .unwrap()
                .remove("team_id");
        },
    );
    expect_caught(
        s,
        r,
        "body field optional",
        &["startRun", "`agent_id`", "required"],
        |f| {
            tool_mut(f, "startRun")["inputSchema"]["required"] = json!([]);
        },
    );
    expect_caught(
        s,
        r,
        "body field missing",
        &["startRun", "missing property `webhook_url`"],
        |f| {
            let t = tool_mut(f, "startRun");
            t["inputSchema"]["properties"]
                .as_object_mut()
                .unwrap()
                .remove("webhook_url");
        },
    );
    expect_caught(
        s,
        r,
        "extra property",
        &["startRun", "property `foo`"],
        |f| {
            tool_mut(f, "startRun")["inputSchema"]["properties"]["foo"] = json!({"type": "string"});
        },
    );
    expect_caught(
        s,
        r,
        "wrong type",
        &["startRun", "/properties/agent_id/type"],
        |f| {
            tool_mut(f, "startRun")["inputSchema"]["properties"]["agent_id"]["type"] =
                json!("integer");
        },
    );
    expect_caught(
        s,
        r,
        "missing format",
        &["startRun", "/properties/webhook_url", "format"],
        |f| {
            let p = &mut tool_mut(f, "startRun")["inputSchema"]["properties"]["webhook_url"];
            p.as_object_mut().unwrap().remove("format");
        },
    );
    expect_caught(
        s,
        r,
        "wrong enum",
        &["listAgents", "/properties/include_schedules/enum"],
        |f| {
            tool_mut(f, "listAgents")["inputSchema"]["properties"]["include_schedules"]["enum"] =
                json!(["true"]);
        },
    );
    expect_caught(
        s,
        r,
        "boolean for a string that is no flag",
        &["listAgents", "automation_id"],
        |f| {
            tool_mut(f, "listAgents")["inputSchema"]["properties"]["automation_id"] =
                json!({"type": "boolean", "default": false});
        },
    );
    expect_caught(
        s,
        r,
        "api_names naming no parameter",
        &[
            "listAgents",
            "api_names maps `automation_id` to `automationId`",
        ],
        |f| {
            let t = tool_mut(f, "listAgents");
            let t = t.as_object_mut().unwrap();
            let annotations = t.remove("annotations").unwrap();
            let schema = t.remove("inputSchema").unwrap();
            t.insert("api_names".into(), json!({"automation_id": "automationId"}));
            t.insert("annotations".into(), annotations);
            t.insert("inputSchema".into(), schema);
        },
    );
    expect_caught(
        s,
        r,
        "wrong maximum",
        &["listAgents", "/properties/limit/maximum"],
        |f| {
            tool_mut(f, "listAgents")["inputSchema"]["properties"]["limit"]["maximum"] = json!(50);
        },
    );
    expect_caught(
        s,
        r,
        "missing default",
        &["listAgents", "/properties/limit", "default"],
        |f| {
            let p = &mut tool_mut(f, "listAgents")["inputSchema"]["properties"]["limit"];
            p.as_object_mut().unwrap().remove("default");
        },
    );
    expect_caught(
        s,
        r,
        "nullable dropped",
        &["updateAgent", "/properties/thread_id/type"],
        |f| {
            tool_mut(f, "updateAgent")["inputSchema"]["properties"]["thread_id"]["type"] =
                json!("string");
        },
    );
    expect_caught(
        s,
        r,
        "nested schema",
        &[
            "respondToHumanRequest",
            "/properties/answers/additionalProperties",
        ],
        |f| {
            tool_mut(f, "respondToHumanRequest")["inputSchema"]["properties"]["answers"] =
                json!({"type": "object", "additionalProperties": {"type": "integer"}});
        },
    );
    expect_caught(
        s,
        r,
        "nested schema dropped",
        &["respondToHumanRequest", "additionalProperties"],
        |f| {
            tool_mut(f, "respondToHumanRequest")["inputSchema"]["properties"]["answers"] =
                json!({"type": "object"});
        },
    );
    expect_caught(s, r, "$ref", &["listAgents", "$ref"], |f| {
        tool_mut(f, "listAgents")["inputSchema"]["properties"]["automation_id"] =
            json!({"$ref": "#/$defs/uuid"});
    });
    expect_caught(
        s,
        r,
        "nullable keyword",
        &["updateAgent", "nullable"],
        |f| {
            tool_mut(f, "updateAgent")["inputSchema"]["properties"]["thread_id"] =
                json!({"type": "string", "format": "uuid", "nullable": true});
        },
    );
    expect_caught(
        s,
        r,
        "open top level",
        &["updateAgent", "additionalProperties must be false"],
        |f| {
            tool_mut(f, "updateAgent")["inputSchema"]["additionalProperties"] = json!(true);
        },
    );
    expect_caught(
        s,
        r,
        "read-only POST",
        &["startRun", "annotations.readOnlyHint"],
        |f| {
            tool_mut(f, "startRun")["annotations"]["readOnlyHint"] = json!(true);
        },
    );
    expect_caught(
        s,
        r,
        "GET not idempotent",
        &["listAgents", "annotations.idempotentHint"],
        |f| {
            tool_mut(f, "listAgents")["annotations"]["idempotentHint"] = json!(false);
        },
    );
    expect_caught(
        s,
        r,
        "closed world",
        &["stopRun", "annotations.openWorldHint"],
        |f| {
            tool_mut(f, "stopRun")["annotations"]["openWorldHint"] = json!(false);
        },
    );
    expect_caught(
        s,
        r,
        "hint missing",
        &["stopRun", "missing key `openWorldHint`"],
        |f| {
            let a = &mut tool_mut(f, "stopRun")["annotations"];
            a.as_object_mut().unwrap().remove("openWorldHint");
        },
    );
    expect_caught(
        s,
        r,
        "copied description",
        &["stopRun", "copies the spec"],
        |f| {
            tool_mut(f, "stopRun")["description"] =
                json!("Stop an agent run. No-op if the run is not currently running.");
        },
    );
    expect_caught(
        s,
        r,
        "copied summary",
        &["stopRun", "copies the spec"],
        |f| {
            tool_mut(f, "stopRun")["description"] = json!("Stop Run");
        },
    );
    expect_caught(
        s,
        r,
        "copied property description",
        &["stopRun", "copies the spec"],
        |f| {
            tool_mut(f, "stopRun")["inputSchema"]["properties"]["run_id"]["description"] =
                json!("The run's unique identifier");
        },
    );
    expect_caught(s, r, "empty title", &["stopRun", "`title`"], |f| {
        tool_mut(f, "stopRun")["title"] = json!("");
    });
    expect_caught(
        s,
        r,
        "query on GET",
        &["listAgents", "`query` is only for"],
        |f| {
            let t = tool_mut(f, "listAgents").as_object_mut().unwrap();
            let rest: Vec<(String, Value)> = ["annotations", "inputSchema"]
                .iter()
                .map(|k| (k.to_string(), t.remove(*k).unwrap()))
                .collect();
            t.insert("query".into(), json!(["limit"]));
            t.extend(rest);
        },
    );
    expect_caught(
        s,
        r,
        "query not a query param",
        &["startRun", "`query` lists `message`"],
        |f| {
            let t = tool_mut(f, "startRun").as_object_mut().unwrap();
            let rest: Vec<(String, Value)> = ["annotations", "inputSchema"]
                .iter()
                .map(|k| (k.to_string(), t.remove(*k).unwrap()))
                .collect();
            t.insert("query".into(), json!(["message"]));
            t.extend(rest);
        },
    );
    expect_caught(s, r, "key order", &["stopRun", "keys in order"], |f| {
        let t = tool_mut(f, "stopRun").as_object_mut().unwrap();
        let name = t.remove("name").unwrap();
        t.insert("name".into(), name);
    });
    expect_caught(s, r, "unsorted tools", &["selftest.json", "sorted"], |f| {
        f[0].1["tools"].as_array_mut().unwrap().swap(0, 1);
    });
    expect_caught(
        s,
        r,
        "duplicate across files",
        &["stopRun", "unique"],
        |f| {
            let mut other = f[0].1.clone();
            other["toolset"] = json!("other");
            other["tools"] = json!([tool_mut(f, "stopRun").clone()]);
            f.push(("tools/other.json".into(), other));
        },
    );
    expect_caught(s, r, "toolset name", &["selftest.json", "`toolset`"], |f| {
        f[0].1["toolset"] = json!("jobs");
    });

    // Annotation exceptions excuse the rule, and must name a real tool.
    let exc = Rules {
        annotation_exceptions: &[("startRun", "test")],
        relaxations: &[],
    };
    let mut files = good_catalog();
    tool_mut(&mut files, "startRun")["annotations"]["readOnlyHint"] = json!(true);
    report(&check_catalog(&files, s, &exc));
    let stale = Rules {
        annotation_exceptions: &[("noSuchTool", "test")],
        relaxations: &[],
    };
    assert!(
        check_catalog(&good_catalog(), s, &stale)
            .iter()
            .any(|e| e.contains("ANNOTATION_EXCEPTIONS") && e.contains("noSuchTool")),
        "stale annotation exception not reported"
    );

    // Relaxations allow dropping constraints at the pointer, never changing or adding them.
    let relax = Rules {
        annotation_exceptions: &[],
        relaxations: &[("respondToHumanRequest", "/properties/answers", "test")],
    };
    let mut files = good_catalog();
    tool_mut(&mut files, "respondToHumanRequest")["inputSchema"]["properties"]["answers"] =
        json!({"type": "object", "description": "Question text to answer."});
    report(&check_catalog(&files, s, &relax));
    expect_caught(
        s,
        &relax,
        "relaxed node changed",
        &["respondToHumanRequest", "additionalProperties"],
        |f| {
            tool_mut(f, "respondToHumanRequest")["inputSchema"]["properties"]["answers"] =
                json!({"type": "object", "additionalProperties": {"type": "integer"}});
        },
    );
    expect_caught(
        s,
        &relax,
        "relaxed node narrowed",
        &["respondToHumanRequest", "minProperties"],
        |f| {
            tool_mut(f, "respondToHumanRequest")["inputSchema"]["properties"]["answers"] =
                json!({"type": "object", "minProperties": 1});
        },
    );
    let stale = Rules {
        annotation_exceptions: &[],
        relaxations: &[("respondToHumanRequest", "/properties/nope", "test")],
    };
    assert!(
        check_catalog(&good_catalog(), s, &stale)
            .iter()
            .any(|e| e.contains("SCHEMA_RELAXATIONS") && e.contains("/properties/nope")),
        "stale relaxation not reported"
    );
}

#[test]
fn checker_catches_upload_empty_body_and_deprecation_mistakes() {
    let spec = load_spec();
    let s = &spec;
    let r = &NO_RULES;
    expect_caught(
        s,
        r,
        "upload without its bytes",
        &["uploadSandboxFile", "missing property `content_base64`"],
        |f| {
            let t = tool_mut(f, "uploadSandboxFile");
            t["inputSchema"]["properties"]
                .as_object_mut()
                .unwrap()
                .remove("content_base64");
            t["inputSchema"]["required"] = json!(["sandbox_id", "file_name"]);
        },
    );
    expect_caught(
        s,
        r,
        "upload file name optional",
        &["uploadSandboxFile", "`file_name`", "required"],
        |f| {
            tool_mut(f, "uploadSandboxFile")["inputSchema"]["required"] =
                json!(["sandbox_id", "content_base64"]);
        },
    );
    expect_caught(
        s,
        r,
        "upload field of the wrong type",
        &["uploadSandboxFile", "/properties/path/type"],
        |f| {
            tool_mut(f, "uploadSandboxFile")["inputSchema"]["properties"]["path"] =
                json!({"type": "integer"});
        },
    );
    expect_caught(
        s,
        r,
        "upload arguments without multipart",
        &["uploadSandboxFile", "property `file_name` is not"],
        |f| {
            tool_mut(f, "uploadSandboxFile")
                .as_object_mut()
                .unwrap()
                .remove("multipart");
        },
    );
    expect_caught(
        s,
        r,
        "multipart without a file field",
        &["uploadSandboxFile", "multipart.file_field"],
        |f| {
            tool_mut(f, "uploadSandboxFile")["multipart"] = json!({"text_fields": ["path"]});
        },
    );
    expect_caught(
        s,
        r,
        "multipart on a JSON operation",
        &[
            "startRun",
            "`multipart` on an operation whose spec body is JSON",
        ],
        |f| {
            set_entry_key(
                tool_mut(f, "startRun"),
                "multipart",
                json!({"file_field": "file"}),
            );
        },
    );
    expect_caught(
        s,
        r,
        "empty_body with required fields",
        &["startRun", "`empty_body` is pointless"],
        |f| {
            set_entry_key(tool_mut(f, "startRun"), "empty_body", json!(true));
        },
    );
    expect_caught(
        s,
        r,
        "empty_body without a spec body",
        &["stopRun", "`empty_body` is only for"],
        |f| {
            set_entry_key(tool_mut(f, "stopRun"), "empty_body", json!(true));
        },
    );
    expect_caught(
        s,
        r,
        "empty_body false",
        &["promoteRevision", "`empty_body` must be true or left out"],
        |f| {
            tool_mut(f, "promoteRevision")["empty_body"] = json!(false);
        },
    );
    expect_caught(
        s,
        r,
        "deprecated operation not flagged",
        &["bulkRetryCases", "deprecated"],
        |f| {
            tool_mut(f, "bulkRetryCases")["description"] = json!("Retries cases.");
        },
    );
}

fn composio_start_entry() -> Value {
    json!({
        "name": "startComposioOAuth", "title": "Start", "description": "Starts a Composio connection.",
        "method": "POST", "path": "/v2/teams/{teamId}/connections/composio/start",
        "annotations": {"readOnlyHint": false, "destructiveHint": false, "idempotentHint": false, "openWorldHint": true},
        "inputSchema": {"type": "object", "properties": {
            "team_id": {"type": "string"},
            "auth_config_id": {"type": "string", "minLength": 1},
            "callback_url": {"type": "string", "format": "uri"},
            "auth_scheme": {"type": "string"},
            "auth_fields": {"type": "object"}
        }, "required": ["auth_config_id", "callback_url"], "additionalProperties": false}
    })
}

#[test]
fn extra_operations_are_checked_against_their_expectation() {
    let spec = load_spec();
    let (full, errs) = spec_with_extras(&spec, EXTRA_OPERATIONS);
    report(&errs);
    let mut files = good_catalog();
    files[0].1["tools"] = json!([composio_start_entry()]);
    report(&check_catalog(&files, &full, &NO_RULES));
    // Without the table the route is unknown; with it, a wrong shape is caught.
    assert!(
        check_catalog(&files, &spec, &NO_RULES)
            .iter()
            .any(|e| e.contains("no operation POST /v2/teams/{teamId}/connections/composio/start")),
        "an undocumented route passed without EXTRA_OPERATIONS"
    );
    files[0].1["tools"][0]["inputSchema"]["required"] = json!(["auth_config_id"]);
    let errs = check_catalog(&files, &full, &NO_RULES);
    assert!(
        errs.iter()
            .any(|e| e.contains("`callback_url`") && e.contains("required")),
        "wrong required-ness of an extra operation not caught: {errs:#?}"
    );
    // The table itself: an operation that is in the spec, or without an expectation.
    let (_, errs) = spec_with_extras(
        &spec,
        &[
            ("stopRun", "POST", "/v2/runs/{run_id}/stop", "docs"),
            ("noSuchOp", "POST", "/v2/no-such-op", "docs"),
            (
                "startComposioOAuth",
                "POST",
                "/v2/teams/{teamId}/connections/composio/start",
                " ",
            ),
        ],
    );
    for needle in [
        "is in the spec now",
        "noSuchOp has no hand-written",
        "needs a source",
    ] {
        assert!(
            errs.iter().any(|e| e.contains(needle)),
            "spec_with_extras missed {needle:?}: {errs:#?}"
        );
    }
}

#[test]
fn coverage_check_catches_gaps_and_stale_exclusions() {
    let spec = load_spec();
    let mut files = good_catalog();
    files[0].1["tools"]
        .as_array_mut()
        .unwrap()
        .push(composio_start_entry());
    let excluded = json!([
        {"method": "POST", "path": "/v2/mcp", "reason": "transport"},
        {"method": "GET", "path": "/v2/no-such-path", "reason": "gone"},
        {"method": "GET", "path": "/v2/mcp", "reason": ""},
        {"method": "POST", "path": "/v2/runs/{run_id}/stop", "reason": "both"}
    ]);
    let extras: &[(&str, &str, &str, &str)] = &[
        (
            "startComposioOAuth",
            "POST",
            "/v2/teams/{teamId}/connections/composio/start",
            "docs",
        ),
        (
            "finalizeComposioOAuth",
            "POST",
            "/v2/teams/{teamId}/connections/composio/finalize",
            "docs",
        ),
    ];
    let errs = coverage_errors(&files, &spec, &excluded, extras);
    for needle in [
        "GET /v2/runs/{run_id} (getRun) is neither in tools/*.json nor in",
        "the spec has no operation GET /v2/no-such-path",
        "`reason` must say why GET /v2/mcp",
        "POST /v2/runs/{run_id}/stop (stopRun) is both in the catalog (stopRun)",
        "finalizeComposioOAuth (POST /v2/teams/{teamId}/connections/composio/finalize) is not in",
    ] {
        assert!(
            errs.iter().any(|e| e.contains(needle)),
            "coverage check missed {needle:?}"
        );
    }
    assert!(
        !errs.iter().any(|e| e.contains("POST /v2/mcp ")),
        "an excluded operation was reported: {errs:#?}"
    );
}

#[test]
fn canonical_forms_agree() {
    // OpenAPI nullable enum vs JSON Schema type array + null in enum; const vs one-value enum;
    // oneOf vs anyOf; integral float vs integer.
    let spec = json!({});
    let c = |v: Value, d| canon(&v, d, &spec, &mut Vec::new());
    assert_eq!(
        c(
            json!({"nullable": true, "type": "string", "enum": ["a", "b"], "description": "x"}),
            Dialect::OpenApi
        ),
        c(
            json!({"type": ["null", "string"], "enum": ["b", null, "a"]}),
            Dialect::Ours
        )
    );
    assert_eq!(
        c(json!({"type": "string", "enum": ["v2"]}), Dialect::OpenApi),
        c(json!({"type": "string", "const": "v2"}), Dialect::Ours)
    );
    assert_eq!(
        c(
            json!({"oneOf": [{"type": "string"}, {"type": "array", "items": {}}]}),
            Dialect::OpenApi
        ),
        c(
            json!({"anyOf": [{"type": "string"}, {"type": "array", "items": true}]}),
            Dialect::Ours
        )
    );
    assert_eq!(
        c(json!({"type": "number", "minimum": 1.0}), Dialect::OpenApi),
        c(json!({"type": "number", "minimum": 1}), Dialect::Ours)
    );
    assert_eq!(
        c(
            json!({"type": "number", "minimum": 0, "exclusiveMinimum": true}),
            Dialect::OpenApi
        ),
        c(
            json!({"type": "number", "exclusiveMinimum": 0}),
            Dialect::Ours
        )
    );
    assert_eq!(
        c(
            json!({"type": "integer", "exclusiveMinimum": true}),
            Dialect::OpenApi
        ),
        c(
            json!({"type": "integer", "exclusiveMinimum": 0}),
            Dialect::Ours
        )
    );
    assert_ne!(
        c(
            json!({"nullable": true, "type": "string"}),
            Dialect::OpenApi
        ),
        c(json!({"type": "string"}), Dialect::Ours)
    );
}
