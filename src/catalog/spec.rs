//! Duvo's OpenAPI spec → catalog entries: every operation is either curated (an overlay entry in
//! `tools/*.json`, keyed by operationId, merged with the spec's operation) or generated from the
//! spec with the same rules as the curated ones.
//!
//! Generation (an operation without an overlay entry): the operationId is the tool name; path
//! parameters keep their REST names (`{teamId}` → optional `team_id`, `{*}` → required `path`);
//! query parameters and JSON body fields become flat arguments; hints follow the method (GET
//! read-only + idempotent, DELETE destructive + idempotent, PUT idempotent, POST/PATCH none); the
//! toolset is the operation's first tag in kebab-case.
//!
//! Merge (an operation with an overlay entry): the overlay keeps its title, description, toolset,
//! hints, argument descriptions and tightenings; arguments the spec declares that the overlay
//! lacks (by name, or by an `api_names` value) are added from the spec, so they validate and are
//! sent; an enum the spec widened accepts the new values. An overlay entry whose operation the
//! spec lacks is left out (and reported in [`CatalogDiff`]).
//!
//! Schemas are sanitised for every client (Python SDK, TypeScript SDK/ajv strict, JSON Schema
//! 2020-12): `$ref`s are inlined (a recursive reference becomes an open schema), `nullable`
//! becomes a `null` type, a `oneOf` of constants becomes an `enum`, other `oneOf`s become
//! `anyOf`, OpenAPI-only keywords and formats clients reject are dropped, boolean
//! `exclusiveMinimum`/`exclusiveMaximum` take the numeric form, and patterns that are not valid
//! regular expressions are dropped.

use super::{AnnotationsFile, EntryFile, Multipart};
use crate::client::request::Method;
use rmcp::model::JsonObject;
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Where the spec in use came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SpecOrigin {
    /// The snapshot embedded in the binary (`spec/openapi.json`, through `tools/*.json`).
    Bundled,
    /// The last live spec kept in the cache directory, fetched at `fetched` (RFC 3339).
    Cached {
        /// When it was fetched.
        fetched: String,
        /// Where from.
        url: String,
    },
    /// Loaded now from `url` (an URL or a file path).
    Live {
        /// Where from.
        url: String,
    },
}

impl std::fmt::Display for SpecOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bundled => f.write_str("bundled snapshot"),
            Self::Cached { fetched, url } => write!(f, "cached from {fetched} ({url})"),
            Self::Live { url } => write!(f, "live ({url})"),
        }
    }
}

/// Where an argument goes in the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    /// A path segment.
    Path,
    /// The query string.
    Query,
    /// A field of the JSON body.
    Body,
}

/// One argument of a spec operation, as a tool argument.
#[derive(Clone, Debug)]
pub struct SpecArg {
    /// The tool argument's name (`team_id` for `{teamId}`, `path` for `{*}`).
    pub name: String,
    /// The API's name (`teamId`, `*`, or the same as `name`).
    pub api_name: String,
    /// Where it goes.
    pub location: Location,
    /// The spec requires it (`{teamId}` never is: it defaults to the key's team).
    pub required: bool,
    /// Its sanitised JSON Schema.
    pub schema: Value,
}

/// One operation of the spec.
#[derive(Clone, Debug)]
pub struct SpecOperation {
    /// `operationId`.
    pub id: String,
    /// HTTP method.
    pub method: Method,
    /// Path template.
    pub path: String,
    /// First tag.
    pub tag: Option<String>,
    /// `summary`.
    pub summary: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// Marked deprecated.
    pub deprecated: bool,
    /// Arguments, in spec order (path, query, body).
    pub args: Vec<SpecArg>,
    /// `multipart/form-data` upload: the file field and the text fields.
    pub multipart: Option<Multipart>,
    /// The body is required (send `{}` when no body argument is given).
    pub body_required: bool,
}

impl SpecOperation {
    /// The argument called `name`.
    pub fn arg(&self, name: &str) -> Option<&SpecArg> {
        self.args.iter().find(|a| a.name == name)
    }
}

/// A parsed spec: its operations with an operationId, sorted by id.
#[derive(Clone, Debug, Default)]
pub struct SpecDocument {
    /// The operations.
    pub operations: Vec<SpecOperation>,
}

impl SpecDocument {
    /// Parses an OpenAPI 3.x document. Operations without an operationId are skipped (no tool
    /// name to give them; see `spec/excluded-operations.json`).
    pub fn parse(doc: &Value) -> Result<Self, String> {
        let paths = doc
            .get("paths")
            .and_then(Value::as_object)
            .ok_or("not an OpenAPI document: no `paths` object")?;
        let components = doc
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut operations = Vec::new();
        for (path, item) in paths {
            let Some(item) = item.as_object() else {
                continue;
            };
            let shared: Vec<Value> = item
                .get("parameters")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for (method, op) in item {
                let method = match method.as_str() {
                    "get" => Method::Get,
                    "post" => Method::Post,
                    "put" => Method::Put,
                    "patch" => Method::Patch,
                    "delete" => Method::Delete,
                    _ => continue,
                };
                let Some(id) = op.get("operationId").and_then(Value::as_str) else {
                    continue;
                };
                if super::parse_path(path).is_err() {
                    continue;
                }
                operations.push(parse_operation(id, method, path, op, &shared, &components));
            }
        }
        operations.sort_by(|a, b| a.id.cmp(&b.id));
        operations.dedup_by(|a, b| a.id == b.id);
        Ok(Self { operations })
    }

    /// The operation with this id.
    pub fn get(&self, id: &str) -> Option<&SpecOperation> {
        self.operations
            .binary_search_by(|o| o.id.as_str().cmp(id))
            .ok()
            .map(|i| &self.operations[i])
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn resolve<'a>(v: &'a Value, components: &'a Map<String, Value>) -> &'a Value {
    match v
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
        .and_then(|n| components.get(n))
    {
        Some(target) => target,
        None => v,
    }
}

fn parse_operation(
    id: &str,
    method: Method,
    path: &str,
    op: &Value,
    shared: &[Value],
    components: &Map<String, Value>,
) -> SpecOperation {
    let mut args: Vec<SpecArg> = Vec::new();
    // Every `{name}` of the template is an argument, declared or not.
    let declared: Vec<&Value> = shared
        .iter()
        .chain(
            op.get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        )
        .collect();
    if let Ok(segments) = super::parse_path(path) {
        for seg in segments {
            if let super::Segment::Param { name, arg } = seg {
                let decl = declared.iter().find(|p| {
                    p.get("in").and_then(Value::as_str) == Some("path")
                        && p.get("name").and_then(Value::as_str) == Some(name.as_str())
                });
                let mut schema = decl
                    .and_then(|p| p.get("schema"))
                    .map(|s| sanitize(s, components))
                    .unwrap_or_else(|| json!({}));
                force_string(&mut schema);
                if let Some(d) = decl.and_then(|p| text(p, "description")) {
                    set_description(&mut schema, d);
                }
                if name == "teamId" {
                    set_description(
                        &mut schema,
                        "Team id; defaults to the API key's team.".to_owned(),
                    );
                } else if name == "*" {
                    set_description(
                        &mut schema,
                        "The rest of the path (may contain /).".to_owned(),
                    );
                }
                args.push(SpecArg {
                    required: name != "teamId",
                    name: arg,
                    api_name: name,
                    location: Location::Path,
                    schema,
                });
            }
        }
    }
    for p in &declared {
        if p.get("in").and_then(Value::as_str) != Some("query") {
            continue;
        }
        let Some(name) = p.get("name").and_then(Value::as_str) else {
            continue;
        };
        if args.iter().any(|a| a.name == name) {
            continue;
        }
        let mut schema = p
            .get("schema")
            .map(|s| sanitize(s, components))
            .unwrap_or_else(|| json!({"type": "string"}));
        if let Some(d) = text(p, "description") {
            set_description(&mut schema, d);
        }
        args.push(SpecArg {
            name: name.to_owned(),
            api_name: name.to_owned(),
            location: Location::Query,
            required: p.get("required").and_then(Value::as_bool) == Some(true),
            schema,
        });
    }
    let body = op.get("requestBody").map(|b| resolve(b, components));
    let body_required = body
        .and_then(|b| b.get("required"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let content = body.and_then(|b| b.get("content"));
    let mut multipart = None;
    if let Some(schema) = content.and_then(|c| c.pointer("/application~1json/schema")) {
        let schema = sanitize(schema, components);
        push_body_fields(&mut args, &schema);
    } else if let Some(schema) = content.and_then(|c| c.pointer("/multipart~1form-data/schema")) {
        let schema = sanitize(schema, components);
        let props = schema
            .get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let file_field = props
            .iter()
            .find(|(_, s)| is_binary(s))
            .map(|(n, _)| n.clone())
            .unwrap_or_else(|| "file".to_owned());
        let mut text_fields = Vec::new();
        args.push(SpecArg {
            name: "file_name".into(),
            api_name: file_field.clone(),
            location: Location::Body,
            required: true,
            schema: json!({"type": "string", "minLength": 1, "description": "The file's name, e.g. report.csv."}),
        });
        args.push(SpecArg {
            name: "content_base64".into(),
            api_name: file_field.clone(),
            location: Location::Body,
            required: true,
            schema: json!({"type": "string", "description": "The file's bytes, base64-encoded."}),
        });
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (name, s) in &props {
            if *name == file_field || args.iter().any(|a| a.name == *name) {
                continue;
            }
            text_fields.push(name.clone());
            let mut s = s.clone();
            force_string(&mut s);
            args.push(SpecArg {
                name: name.clone(),
                api_name: name.clone(),
                location: Location::Body,
                required: required.contains(&name.as_str()),
                schema: s,
            });
        }
        multipart = Some(Multipart {
            file_field,
            text_fields,
        });
    }
    SpecOperation {
        id: id.to_owned(),
        method,
        path: path.to_owned(),
        tag: op
            .get("tags")
            .and_then(Value::as_array)
            .and_then(|t| t.first())
            .and_then(Value::as_str)
            .map(str::to_owned),
        summary: text(op, "summary"),
        description: text(op, "description"),
        deprecated: op.get("deprecated").and_then(Value::as_bool) == Some(true),
        args,
        multipart,
        body_required,
    }
}

fn is_binary(s: &Value) -> bool {
    s.get("format").and_then(Value::as_str) == Some("binary")
        || s.get("contentMediaType").is_some()
        || s.pointer("/items/format").and_then(Value::as_str) == Some("binary")
}

/// Body fields of an object schema (or of every branch of an `anyOf` of objects) as flat
/// arguments; a field is required when the schema (every branch) requires it.
fn push_body_fields(args: &mut Vec<SpecArg>, schema: &Value) {
    let branches: Vec<&Value> = match schema.get("anyOf").and_then(Value::as_array) {
        Some(b) if schema.get("properties").is_none() => b.iter().collect(),
        _ => vec![schema],
    };
    let mut seen: BTreeMap<String, (Value, usize)> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let objects = branches
        .iter()
        .filter(|b| b.get("properties").is_some())
        .count();
    for b in &branches {
        let Some(props) = b.get("properties").and_then(Value::as_object) else {
            continue;
        };
        let required: Vec<&str> = b
            .get("required")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (name, s) in props {
            let slot = seen.entry(name.clone()).or_insert_with(|| {
                order.push(name.clone());
                (s.clone(), 0)
            });
            if required.contains(&name.as_str()) {
                slot.1 += 1;
            }
        }
    }
    for name in order {
        if args.iter().any(|a| a.name == name) {
            continue;
        }
        let Some((schema, req)) = seen.remove(&name) else {
            continue;
        };
        args.push(SpecArg {
            api_name: name.clone(),
            name,
            location: Location::Body,
            required: objects > 0 && req == objects,
            schema,
        });
    }
}

fn force_string(schema: &mut Value) {
    if let Value::Object(m) = schema
        && !m.contains_key("type")
        && !m.contains_key("enum")
        && !m.contains_key("anyOf")
    {
        m.insert("type".into(), json!("string"));
    }
}

fn set_description(schema: &mut Value, d: String) {
    if let Value::Object(m) = schema
        && !m.contains_key("description")
    {
        m.insert("description".into(), Value::String(d));
    }
}

/// Formats every client accepts (ajv-formats, the Python SDK, the `jsonschema` crate).
const FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "email",
    "uri",
    "uuid",
    "ipv4",
    "ipv6",
    "hostname",
];

/// Keywords kept as they are (after their subschemas are sanitised).
const PLAIN: &[&str] = &[
    "description",
    "title",
    "default",
    "const",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "multipleOf",
];

/// How deep `$ref`s are inlined before a schema is left open.
const MAX_DEPTH: usize = 12;

/// Sanitises an OpenAPI 3.0 schema into JSON Schema 2020-12 every MCP client accepts.
pub fn sanitize(schema: &Value, components: &Map<String, Value>) -> Value {
    let mut stack = Vec::new();
    clean(schema, components, &mut stack)
}

fn clean(schema: &Value, components: &Map<String, Value>, stack: &mut Vec<String>) -> Value {
    let Some(m) = schema.as_object() else {
        // `true`/`false` schemas and junk: an open schema.
        return json!({});
    };
    if let Some(r) = m.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/components/schemas/").unwrap_or(r);
        let target = components.get(name);
        let mut out = match target {
            Some(t) if !stack.iter().any(|s| s == name) && stack.len() < MAX_DEPTH => {
                stack.push(name.to_owned());
                let v = clean(t, components, stack);
                stack.pop();
                v
            }
            // A recursive (or unknown) reference: any JSON value.
            _ => json!({}),
        };
        if let (Some(d), Value::Object(o)) = (m.get("description"), &mut out) {
            o.insert("description".into(), d.clone());
        }
        if m.get("nullable").and_then(Value::as_bool) == Some(true) {
            out = add_null(out);
        }
        return out;
    }
    let mut out = Map::new();
    match m.get("type") {
        Some(Value::String(t)) if valid_type(t) => {
            out.insert("type".into(), json!(t));
        }
        Some(Value::Array(ts)) => {
            let ts: Vec<Value> = ts
                .iter()
                .filter(|t| t.as_str().is_some_and(valid_type))
                .cloned()
                .collect();
            if !ts.is_empty() {
                out.insert("type".into(), Value::Array(ts));
            }
        }
        _ => {}
    }
    for k in PLAIN {
        if let Some(v) = m.get(*k) {
            let ok = match *k {
                "description" | "title" => v.is_string(),
                "default" | "const" => true,
                "uniqueItems" => v.is_boolean(),
                _ => v.is_number(),
            };
            if ok {
                out.insert((*k).to_owned(), v.clone());
            }
        }
    }
    if let Some(Value::Array(values)) = m.get("enum")
        && !values.is_empty()
    {
        out.insert("enum".into(), Value::Array(values.clone()));
    }
    for (k, bound) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        match m.get(k) {
            Some(Value::Number(n)) => {
                out.insert(k.into(), Value::Number(n.clone()));
            }
            Some(Value::Bool(true)) => {
                if let Some(b) = out.remove(bound) {
                    out.insert(k.into(), b);
                }
            }
            _ => {}
        }
    }
    if let Some(f) = m.get("format").and_then(Value::as_str)
        && FORMATS.contains(&f)
    {
        out.insert("format".into(), json!(f));
    }
    if let Some(p) = m.get("pattern").and_then(Value::as_str)
        && regex::Regex::new(p).is_ok()
        && !p.contains("(?")
    {
        out.insert("pattern".into(), json!(p));
    }
    if let Some(props) = m.get("properties").and_then(Value::as_object) {
        let mut cleaned = Map::new();
        let mut read_only = BTreeSet::new();
        for (name, s) in props {
            if s.get("readOnly").and_then(Value::as_bool) == Some(true) {
                read_only.insert(name.clone());
            }
            cleaned.insert(name.clone(), clean(s, components, stack));
        }
        if let Some(req) = m.get("required").and_then(Value::as_array) {
            let req: Vec<Value> = req
                .iter()
                .filter(|r| {
                    r.as_str()
                        .is_some_and(|r| cleaned.contains_key(r) && !read_only.contains(r))
                })
                .cloned()
                .collect();
            if !req.is_empty() {
                out.insert("required".into(), Value::Array(req));
            }
        }
        out.insert("properties".into(), Value::Object(cleaned));
    }
    match m.get("additionalProperties") {
        Some(Value::Bool(b)) => {
            out.insert("additionalProperties".into(), json!(b));
        }
        Some(s @ Value::Object(_)) => {
            out.insert("additionalProperties".into(), clean(s, components, stack));
        }
        _ => {}
    }
    if let Some(items) = m.get("items") {
        out.insert("items".into(), clean(items, components, stack));
    }
    for k in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = m.get(k) {
            let cleaned: Vec<Value> = branches
                .iter()
                .map(|b| clean(b, components, stack))
                .collect();
            merge_choice(&mut out, cleaned);
        }
    }
    if let Some(Value::Array(parts)) = m.get("allOf") {
        let cleaned: Vec<Value> = parts.iter().map(|b| clean(b, components, stack)).collect();
        if cleaned.len() == 1 {
            if let Some(Value::Object(only)) = cleaned.into_iter().next() {
                for (k, v) in only {
                    out.entry(k).or_insert(v);
                }
            }
        } else if !cleaned.is_empty() {
            out.insert("allOf".into(), Value::Array(cleaned));
        }
    }
    let mut out = Value::Object(out);
    if m.get("nullable").and_then(Value::as_bool) == Some(true) {
        out = add_null(out);
    }
    out
}

fn valid_type(t: &str) -> bool {
    matches!(
        t,
        "string" | "number" | "integer" | "boolean" | "object" | "array" | "null"
    )
}

/// Adds a `oneOf`/`anyOf`'s branches to `out`: constants become an `enum`, anything else an
/// `anyOf` (a `oneOf` whose branches overlap would refuse valid values).
fn merge_choice(out: &mut Map<String, Value>, branches: Vec<Value>) {
    let consts: Option<Vec<Value>> = branches
        .iter()
        .map(|b| {
            let o = b.as_object()?;
            if let Some(c) = o.get("const") {
                return Some(vec![c.clone()]);
            }
            let e = o.get("enum")?.as_array()?;
            let only = o
                .keys()
                .all(|k| matches!(k.as_str(), "enum" | "type" | "description" | "title"));
            only.then(|| e.clone())
        })
        .collect::<Option<Vec<Vec<Value>>>>()
        .map(|v| v.into_iter().flatten().collect());
    match consts {
        Some(values) if !values.is_empty() && !out.contains_key("enum") => {
            let mut uniq: Vec<Value> = Vec::new();
            for v in values {
                if !uniq.contains(&v) {
                    uniq.push(v);
                }
            }
            out.insert("enum".into(), Value::Array(uniq));
        }
        _ => {
            // A `{}` branch accepts everything: the choice says nothing.
            if branches
                .iter()
                .any(|b| b.as_object().is_some_and(|o| o.is_empty()))
            {
                return;
            }
            if let Some(Value::Array(existing)) = out.get_mut("anyOf") {
                existing.extend(branches);
            } else {
                out.insert("anyOf".into(), Value::Array(branches));
            }
        }
    }
}

/// Makes a schema accept `null` too.
fn add_null(schema: Value) -> Value {
    let Value::Object(mut m) = schema else {
        return schema;
    };
    if m.is_empty() {
        return Value::Object(m);
    }
    if let Some(Value::Array(e)) = m.get_mut("enum")
        && !e.contains(&Value::Null)
    {
        e.push(Value::Null);
    }
    match m.get_mut("type") {
        Some(Value::String(t)) => {
            if t != "null" {
                let t = t.clone();
                m.insert("type".into(), json!([t, "null"]));
            }
        }
        Some(Value::Array(ts)) => {
            if !ts.contains(&json!("null")) {
                ts.push(json!("null"));
            }
        }
        _ => {
            if let Some(Value::Array(b)) = m.get_mut("anyOf") {
                if !b.iter().any(|x| x.get("type") == Some(&json!("null"))) {
                    b.push(json!({"type": "null"}));
                }
            } else if !m.contains_key("enum") {
                let description = m.remove("description");
                let mut wrapped = Map::new();
                wrapped.insert("anyOf".into(), json!([Value::Object(m), {"type": "null"}]));
                if let Some(d) = description {
                    wrapped.insert("description".into(), d);
                }
                return Value::Object(wrapped);
            }
        }
    }
    Value::Object(m)
}

/// `Case Queues` → `case-queues`; `listRuns` tags like `AgentFolders` → `agent-folders`.
pub fn kebab(tag: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in tag.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && prev_lower && !out.ends_with('-') {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        } else {
            if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
            prev_lower = false;
        }
    }
    let trimmed = out.trim_matches('-').to_owned();
    if trimmed.is_empty() {
        "other".to_owned()
    } else {
        trimmed
    }
}

/// `listRunMessages` → `List run messages`.
fn words(id: &str) -> String {
    let mut out = String::new();
    for (i, c) in id.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push(' ');
            out.push(c.to_ascii_lowercase());
        } else if i == 0 {
            out.push(c.to_ascii_uppercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The hints the method implies.
pub fn method_hints(method: Method) -> (bool, bool, bool) {
    // (read-only, destructive, idempotent)
    match method {
        Method::Get => (true, false, true),
        Method::Delete => (false, true, true),
        Method::Put => (false, false, true),
        Method::Post | Method::Patch => (false, false, false),
    }
}

/// The catalog entry generated for an operation without an overlay entry.
pub(super) fn generate(op: &SpecOperation) -> EntryFile {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for a in &op.args {
        properties.insert(a.name.clone(), a.schema.clone());
        if a.required {
            required.push(json!(a.name));
        }
    }
    let mut schema = JsonObject::new();
    schema.insert("type".into(), json!("object"));
    schema.insert("properties".into(), Value::Object(properties));
    if !required.is_empty() {
        schema.insert("required".into(), Value::Array(required));
    }
    schema.insert("additionalProperties".into(), json!(false));
    let (read_only_hint, destructive_hint, idempotent_hint) = method_hints(op.method);
    let title = op.summary.clone().unwrap_or_else(|| words(&op.id));
    let mut description = op
        .description
        .clone()
        .or_else(|| op.summary.clone())
        .unwrap_or_else(|| format!("{} ({} {}).", words(&op.id), op.method.as_str(), op.path));
    if op.deprecated {
        description = format!("Deprecated by Duvo. {description}");
    }
    let mut entry = EntryFile {
        name: op.id.clone(),
        title,
        description,
        method: op.method,
        path: op.path.clone(),
        query: if op.method.has_body() {
            op.args
                .iter()
                .filter(|a| a.location == Location::Query)
                .map(|a| a.name.clone())
                .collect()
        } else {
            Vec::new()
        },
        multipart: op.multipart.clone(),
        empty_body: op.body_required && op.multipart.is_none(),
        annotations: AnnotationsFile {
            read_only_hint,
            destructive_hint,
            idempotent_hint,
            open_world_hint: true,
        },
        input_schema: schema,
        api_names: BTreeMap::new(),
        not_in_spec: None,
    };
    let names: Vec<String> = op.args.iter().map(|a| a.name.clone()).collect();
    snake_case_arguments(&mut entry, &names);
    entry
}

/// Renames the arguments `names` of `e` to `snake_case` (`agentId` → `agent_id`, `sortBy` →
/// `sort_by`), recording the API's spelling in `api_names` so the mapping still sends it and calls
/// in the API's spelling keep working. A name whose snake form is already taken stays as it is.
fn snake_case_arguments(e: &mut EntryFile, names: &[String]) {
    use heck::ToSnakeCase;
    let Some(Value::Object(props)) = e.input_schema.get_mut("properties") else {
        return;
    };
    let mut renamed = Vec::new();
    for name in names {
        let snake = name.to_snake_case();
        if snake == *name || snake.is_empty() || props.contains_key(&snake) {
            continue;
        }
        let Some(schema) = props.remove(name) else {
            continue;
        };
        props.insert(snake.clone(), schema);
        let api = e.api_names.remove(name).unwrap_or_else(|| name.clone());
        e.api_names.insert(snake.clone(), api);
        renamed.push((name.clone(), snake));
    }
    if let Some(Value::Array(required)) = e.input_schema.get_mut("required") {
        for r in required.iter_mut() {
            if let Some((_, snake)) = renamed.iter().find(|(old, _)| r.as_str() == Some(old)) {
                *r = json!(snake);
            }
        }
    }
}

/// What the spec adds to one overlay entry.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct OperationChange {
    /// The operationId.
    pub name: String,
    /// Arguments the spec declares that the overlay lacks (added, validated by the spec).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub added_arguments: Vec<String>,
    /// `argument: new values` where the spec's enum is wider than the overlay's.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub widened_enums: BTreeMap<String, Vec<Value>>,
    /// `METHOD path` in the overlay → in the spec, when they differ.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved: Option<(String, String)>,
}

/// A spec operation without an overlay entry: generated into `toolset`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AddedOperation {
    /// The operationId (the generated tool's name).
    pub name: String,
    /// The toolset it was put in (its tag, kebab-cased).
    pub toolset: String,
}

/// The difference between the spec in use and the overlay (`duvo-mcp catalog diff`).
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct CatalogDiff {
    /// Where the spec came from.
    pub source: Option<SpecOrigin>,
    /// Spec operations without an overlay entry (generated tools).
    pub added_operations: Vec<AddedOperation>,
    /// Overlay entries whose operation the spec lacks (not listed, not callable).
    pub removed_operations: Vec<String>,
    /// Overlay entries the spec extends.
    pub changed_operations: Vec<OperationChange>,
}

impl CatalogDiff {
    /// Nothing differs.
    pub fn is_empty(&self) -> bool {
        self.added_operations.is_empty()
            && self.removed_operations.is_empty()
            && self.changed_operations.is_empty()
    }

    /// A table for people.
    pub fn table(&self) -> String {
        let mut out = String::new();
        if let Some(s) = &self.source {
            out.push_str(&format!("spec: {s}\n"));
        }
        if self.is_empty() {
            out.push_str("no difference between the spec and the overlay (tools/*.json)\n");
            return out;
        }
        out.push_str(&format!(
            "{:<10} {:<40} {}\n",
            "CHANGE", "OPERATION", "DETAIL"
        ));
        for AddedOperation { name, toolset } in &self.added_operations {
            out.push_str(&format!(
                "{:<10} {:<40} generated, toolset {toolset}\n",
                "added", name
            ));
        }
        for name in &self.removed_operations {
            out.push_str(&format!(
                "{:<10} {:<40} in the overlay, not in the spec: not listed or callable\n",
                "removed", name
            ));
        }
        for c in &self.changed_operations {
            let mut detail = Vec::new();
            if !c.added_arguments.is_empty() {
                detail.push(format!("new arguments: {}", c.added_arguments.join(", ")));
            }
            for (arg, values) in &c.widened_enums {
                let v: Vec<String> = values.iter().map(Value::to_string).collect();
                detail.push(format!("{arg} also accepts {}", v.join(", ")));
            }
            if let Some((from, to)) = &c.moved {
                detail.push(format!("moved from {from} to {to}"));
            }
            out.push_str(&format!(
                "{:<10} {:<40} {}\n",
                "changed",
                c.name,
                detail.join("; ")
            ));
        }
        out
    }
}

/// Merges an overlay entry with its spec operation (see the module doc); returns what changed.
pub(super) fn merge(mut e: EntryFile, op: &SpecOperation) -> (EntryFile, OperationChange) {
    let mut change = OperationChange {
        name: e.name.clone(),
        ..OperationChange::default()
    };
    if e.method != op.method || e.path != op.path {
        change.moved = Some((
            format!("{} {}", e.method.as_str(), e.path),
            format!("{} {}", op.method.as_str(), op.path),
        ));
        e.method = op.method;
        e.path = op.path.clone();
    }
    let known_api: BTreeSet<String> = e.api_names.values().cloned().collect();
    let multipart = e.multipart.is_some();
    // Taken out in place (`Value::take` leaves null where they were) and put back there: an
    // entry the spec adds nothing to comes out exactly as written, key order and an empty
    // `required` included, so loading an unchanged spec changes no tool definition.
    let mut props = match e.input_schema.get_mut("properties").map(Value::take) {
        Some(Value::Object(p)) => p,
        _ => Map::new(),
    };
    let had_required = e.input_schema.contains_key("required");
    let mut required: Vec<Value> = match e.input_schema.get_mut("required").map(Value::take) {
        Some(Value::Array(r)) => r,
        _ => Vec::new(),
    };
    for a in &op.args {
        if multipart && a.location == Location::Body {
            continue;
        }
        let known = props.contains_key(&a.name)
            || known_api.contains(&a.api_name)
            || known_api.contains(&a.name);
        if !known {
            props.insert(a.name.clone(), a.schema.clone());
            if a.required && !required.contains(&json!(a.name)) {
                required.push(json!(a.name));
            }
            if a.location == Location::Query && op.method.has_body() && !e.query.contains(&a.name) {
                e.query.push(a.name.clone());
            }
            change.added_arguments.push(a.name.clone());
            continue;
        }
        let tool_name = e
            .api_names
            .iter()
            .find(|(_, api)| **api == a.api_name)
            .map(|(t, _)| t.clone())
            .unwrap_or_else(|| a.name.clone());
        if let Some(p) = props.get_mut(&tool_name) {
            let added = widen_enum(p, &a.schema);
            if !added.is_empty() {
                change.widened_enums.insert(tool_name, added);
            }
        }
    }
    e.input_schema
        .insert("properties".into(), Value::Object(props));
    if had_required || !required.is_empty() {
        e.input_schema
            .insert("required".into(), Value::Array(required));
    }
    let added = change.added_arguments.clone();
    snake_case_arguments(&mut e, &added);
    (e, change)
}

/// Adds to `overlay`'s enum (or its items' enum) the values `spec`'s has and it lacks; returns them.
fn widen_enum(overlay: &mut Value, spec: &Value) -> Vec<Value> {
    let mut added = Vec::new();
    for ptr in ["/enum", "/items/enum"] {
        let Some(wide) = spec.pointer(ptr).and_then(Value::as_array) else {
            continue;
        };
        if let Some(Value::Array(narrow)) = overlay.pointer_mut(ptr) {
            for v in wide {
                if !narrow.contains(v) {
                    narrow.push(v.clone());
                    added.push(v.clone());
                }
            }
        }
    }
    added
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kebab_cases_tags() {
        assert_eq!(kebab("Case Queues"), "case-queues");
        assert_eq!(kebab("AgentFolders"), "agent-folders");
        assert_eq!(kebab("runs"), "runs");
        assert_eq!(kebab("  "), "other");
    }

    #[test]
    fn sanitize_handles_nullable_refs_and_const_choices() {
        let components: Map<String, Value> = serde_json::from_value(json!({
            "Node": {"type": "object", "properties": {"child": {"$ref": "#/components/schemas/Node"}}},
        }))
        .unwrap();
        let s = sanitize(
            &json!({"type": "string", "nullable": true, "format": "x-custom", "example": "a"}),
            &components,
        );
        assert_eq!(s, json!({"type": ["string", "null"]}));
        let s = sanitize(
            &json!({"oneOf": [{"const": "a"}, {"const": "b"}]}),
            &components,
        );
        assert_eq!(s, json!({"enum": ["a", "b"]}));
        let s = sanitize(&json!({"$ref": "#/components/schemas/Node"}), &components);
        assert_eq!(s, json!({"type": "object", "properties": {"child": {}}}));
        let s = sanitize(
            &json!({"type": "number", "minimum": 0, "exclusiveMinimum": true}),
            &components,
        );
        assert_eq!(s, json!({"type": "number", "exclusiveMinimum": 0}));
    }
}
