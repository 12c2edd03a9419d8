//! Realistic, deterministic example values generated from converted schemas.
//!
//! Rules: every required property is present; optional properties only when they are cheap
//! scalars (and never in `minimal` mode, used for request examples); `id`/`*_id` echo a known
//! value (path parameter, query parameter, top-level body field) whose name matches, else a
//! uuid derived from the seed and the value's location; `date-time` → the emulator's clock anchor
//! (first use of the generator, so bodies stay deterministic; `expires_at`-like names one hour
//! later); enums → the first value; numbers inside `minimum`/`maximum`; arrays → one item unless
//! `minItems` asks for more; `anyOf`/`oneOf` → the first non-null branch; `allOf` → the merged
//! parts. The same schema, seed and known values always give the same value.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Number, Value};

use super::convert::DEFS_PREFIX;

/// Deepest nesting generated (guards recursive schemas).
const MAX_DEPTH: usize = 24;

/// The instant every generated `date-time` is based on.
static ANCHOR: LazyLock<DateTime<Utc>> = LazyLock::new(|| {
    let now = Utc::now();
    DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now)
});

/// Everything a generation needs besides the schema.
#[derive(Debug, Clone)]
pub struct GenCtx<'a> {
    /// Converted components for `$ref`.
    pub defs: &'a Map<String, Value>,
    /// Seed of every derived uuid (e.g. a hash of method and path).
    pub seed: u64,
    /// Known values by normalized name (see [`norm`]): path/query parameters, body fields.
    pub known: HashMap<String, Value>,
    /// Value of the template's final parameter, when the path ends with one (the addressed item).
    pub last_param: Option<Value>,
    /// Only required properties (request examples).
    pub minimal: bool,
}

impl<'a> GenCtx<'a> {
    /// A context with no known values.
    pub fn new(defs: &'a Map<String, Value>, seed: u64) -> Self {
        Self {
            defs,
            seed,
            known: HashMap::new(),
            last_param: None,
            minimal: false,
        }
    }

    /// Remember `value` under `name` (normalized).
    pub fn know(&mut self, name: &str, value: Value) {
        self.known.insert(norm(name), value);
    }
}

/// Where a value sits: for seeding, naming and echo rules.
#[derive(Debug, Clone, Default)]
struct Loc {
    pointer: String,
    name: Option<String>,
    parent: Option<String>,
    in_array: bool,
    /// Recursion depth (every step, `$ref`s and combinators included).
    depth: usize,
    /// Property nesting: 0 for the root value, 1 for its properties…
    level: usize,
}

impl Loc {
    fn child(&self, name: &str) -> Self {
        Self {
            pointer: format!("{}/{name}", self.pointer),
            name: Some(name.to_string()),
            parent: self.name.clone(),
            in_array: self.in_array,
            depth: self.depth + 1,
            level: self.level + 1,
        }
    }

    fn item(&self, index: usize) -> Self {
        Self {
            pointer: format!("{}/{index}", self.pointer),
            name: self.name.clone(),
            parent: self.parent.clone(),
            in_array: true,
            depth: self.depth + 1,
            level: self.level,
        }
    }

    fn same(&self) -> Self {
        Self {
            depth: self.depth + 1,
            ..self.clone()
        }
    }
}

/// Lowercase, without `_` and `-`: `agent_id`, `agentId` and `agent-id` all become `agentid`.
pub fn norm(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// 64-bit FNV-1a of `bytes`, continuing from `h`.
pub fn fnv(h: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(h ^ 0xcbf2_9ce4_8422_2325, |acc, b| {
        (acc ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A deterministic v4-shaped uuid from a seed and a label.
pub fn derived_uuid(seed: u64, label: &str) -> uuid::Uuid {
    let a = fnv(seed, label.as_bytes());
    let b = fnv(a, b"uuid");
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_be_bytes());
    bytes[8..].copy_from_slice(&b.to_be_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// Generate a value for `schema`.
pub fn generate(schema: &Value, ctx: &GenCtx<'_>) -> Value {
    gen_value(schema, ctx, &Loc::default())
}

/// Generate a value for `schema` as if it sat in a property called `name` (parameters).
pub fn generate_named(schema: &Value, name: &str, ctx: &GenCtx<'_>) -> Value {
    gen_value(schema, ctx, &Loc::default().child(name))
}

fn resolve<'a>(reference: &str, ctx: &GenCtx<'a>) -> Option<&'a Value> {
    ctx.defs.get(reference.strip_prefix(DEFS_PREFIX)?)
}

fn is_null_schema(s: &Value) -> bool {
    s.get("type").and_then(Value::as_str) == Some("null")
}

/// The first non-null type of a schema.
fn primary_type(m: &Map<String, Value>) -> Option<&str> {
    match m.get("type")? {
        Value::String(t) => Some(t.as_str()),
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .or(Some("null")),
        _ => None,
    }
}

fn gen_value(schema: &Value, ctx: &GenCtx<'_>, loc: &Loc) -> Value {
    if loc.depth > MAX_DEPTH {
        return Value::Null;
    }
    let Value::Object(m) = schema else {
        return untyped(ctx, loc);
    };
    if let Some(target) = m.get("$ref").and_then(Value::as_str) {
        return match resolve(target, ctx) {
            Some(t) => gen_value(t, ctx, &loc.same()),
            None => untyped(ctx, loc),
        };
    }
    if let Some(c) = m.get("const") {
        return c.clone();
    }
    if let Some(Value::Array(values)) = m.get("enum") {
        if let Some(v) = echo(m, ctx, loc).filter(|v| values.contains(v)) {
            return v;
        }
        return values
            .iter()
            .find(|v| !v.is_null())
            .or(values.first())
            .cloned()
            .unwrap_or(Value::Null);
    }
    if let Some(Value::Array(parts)) = m.get("allOf") {
        let mut own = m.clone();
        own.remove("allOf");
        let mut merged: Option<Value> = (own.contains_key("properties")
            || own.contains_key("type"))
        .then(|| gen_value(&Value::Object(own), ctx, &loc.same()));
        for part in parts {
            let v = gen_value(part, ctx, &loc.same());
            merged = Some(match (merged, v) {
                (Some(Value::Object(mut a)), Value::Object(b)) => {
                    a.extend(b);
                    Value::Object(a)
                }
                (_, v) => v,
            });
        }
        return merged.unwrap_or(Value::Null);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(Value::Array(branches)) = m.get(key) {
            let pick = branches
                .iter()
                .find(|b| !is_null_schema(b))
                .or(branches.first());
            return match pick {
                Some(b) => gen_value(b, ctx, &loc.same()),
                None => Value::Null,
            };
        }
    }
    let ty = primary_type(m).or_else(|| {
        if m.contains_key("properties") || m.contains_key("additionalProperties") {
            Some("object")
        } else if m.contains_key("items") {
            Some("array")
        } else {
            None
        }
    });
    match ty {
        Some("object") => gen_object(m, ctx, loc),
        Some("array") => gen_array(m, ctx, loc),
        Some("string") => gen_string(m, ctx, loc),
        Some("integer") => gen_number(m, true, ctx, loc),
        Some("number") => gen_number(m, false, ctx, loc),
        Some("boolean") => echo(m, ctx, loc).unwrap_or_else(|| Value::Bool(truthy(loc))),
        Some("null") => Value::Null,
        _ => untyped(ctx, loc),
    }
}

/// A schema without a type (`{}`): a string when the name says what it is, else `{}`.
fn untyped(ctx: &GenCtx<'_>, loc: &Loc) -> Value {
    if let Some(v) = echo(&Map::new(), ctx, loc) {
        return v;
    }
    match named_string(ctx, loc) {
        Some(s) => Value::String(s),
        None => Value::Object(Map::new()),
    }
}

/// Whether a property is cheap enough to include when optional: a plain scalar.
fn cheap(schema: &Value) -> bool {
    let Value::Object(m) = schema else {
        return false;
    };
    if ["$ref", "allOf", "anyOf", "oneOf"]
        .iter()
        .any(|k| m.contains_key(*k))
    {
        return false;
    }
    if m.contains_key("enum") || m.contains_key("const") {
        return true;
    }
    // Optional and nullable usually means "not set": leave it out.
    let nullable = match m.get("type") {
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "null"),
        _ => false,
    };
    !nullable
        && matches!(
            primary_type(m),
            Some("string" | "integer" | "number" | "boolean")
        )
}

/// A known array or object for a top-level property (request examples: `case_ids`…).
fn known_structure(ctx: &GenCtx<'_>, loc: &Loc) -> Option<Value> {
    if loc.in_array || loc.level != 1 {
        return None;
    }
    let v = ctx.known.get(&norm(loc.name.as_deref()?))?;
    (v.is_array() || v.is_object()).then(|| v.clone())
}

fn gen_object(m: &Map<String, Value>, ctx: &GenCtx<'_>, loc: &Loc) -> Value {
    if let Some(v) = known_structure(ctx, loc).filter(Value::is_object) {
        return v;
    }
    let required: Vec<&str> = m
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut out = Map::new();
    if let Some(Value::Object(props)) = m.get("properties") {
        for (name, ps) in props {
            let req = required.contains(&name.as_str());
            // Known values are worth sending at the top level even when optional.
            let known = loc.level == 0 && ctx.known.contains_key(&norm(name));
            if !req && !known && (ctx.minimal || !cheap(ps)) {
                continue;
            }
            out.insert(name.clone(), gen_value(ps, ctx, &loc.child(name)));
        }
    }
    let extra = m.get("additionalProperties").filter(|a| a.is_object());
    for name in required {
        if !out.contains_key(name) {
            let v = match extra {
                Some(s) => gen_value(s, ctx, &loc.child(name)),
                None => untyped(ctx, &loc.child(name)),
            };
            out.insert(name.to_string(), v);
        }
    }
    let min_props = m.get("minProperties").and_then(Value::as_u64).unwrap_or(0);
    let mut i = 1;
    while (out.len() as u64) < min_props
        && m.get("additionalProperties") != Some(&Value::Bool(false))
    {
        let key = format!("key{i}");
        let v = match extra {
            Some(s) => gen_value(s, ctx, &loc.child(&key)),
            None => Value::String("example".into()),
        };
        out.insert(key, v);
        i += 1;
    }
    Value::Object(out)
}

fn gen_array(m: &Map<String, Value>, ctx: &GenCtx<'_>, loc: &Loc) -> Value {
    if let Some(v) = known_structure(ctx, loc).filter(Value::is_array) {
        return v;
    }
    let min = m.get("minItems").and_then(Value::as_u64).unwrap_or(0);
    let max = m
        .get("maxItems")
        .and_then(Value::as_u64)
        .unwrap_or(u64::MAX);
    let n = min.max(1).min(max).min(16);
    let items = m.get("items").cloned().unwrap_or(Value::Object(Map::new()));
    let values = (0..n)
        .map(|i| {
            let i = usize::try_from(i).unwrap_or(0);
            gen_value(&items, ctx, &loc.item(i))
        })
        .collect();
    Value::Array(values)
}

fn is_id_name(name: &str) -> bool {
    name == "id" || name.ends_with("_id") || name.ends_with("Id") || name.ends_with("ID")
}

/// Names a parent object may go by in ids (`revision` objects carry `build_id`s…).
fn parent_aliases(parent: &str) -> Vec<String> {
    let p = norm(parent);
    let mut out = vec![p.clone()];
    let alias = match p.as_str() {
        "revision" | "build" => Some("build"),
        "assignment" | "agent" => Some("agent"),
        "job" | "run" => Some("run"),
        "dashboard" | "artifact" => Some("artifact"),
        "secret" | "credential" => Some("credential"),
        "folder" | "agentfolder" => Some("folder"),
        _ => None,
    };
    if let Some(a) = alias
        && a != p
    {
        out.push(a.to_string());
    }
    out
}

/// A known value this location should repeat, if any fits its schema.
fn echo(m: &Map<String, Value>, ctx: &GenCtx<'_>, loc: &Loc) -> Option<Value> {
    let name = loc.name.as_deref()?;
    let n = norm(name);
    let candidates: Vec<String> = if n == "id" {
        if loc.in_array {
            return None;
        }
        loc.parent
            .as_deref()
            .map(|p| {
                parent_aliases(p)
                    .into_iter()
                    .map(|a| format!("{a}id"))
                    .collect()
            })
            .unwrap_or_default()
    } else if is_id_name(name) || !(loc.in_array || loc.level > 3) {
        vec![n.clone()]
    } else {
        return None;
    };
    for c in &candidates {
        if let Some(v) = ctx.known.get(c).filter(|v| fits(v, m)) {
            return Some(v.clone());
        }
    }
    if n == "id" && loc.level <= 2 {
        return ctx.last_param.clone().filter(|v| fits(v, m));
    }
    None
}

/// Whether a scalar value satisfies a (plain) schema.
fn fits(v: &Value, m: &Map<String, Value>) -> bool {
    if ["$ref", "allOf", "anyOf", "oneOf"]
        .iter()
        .any(|k| m.contains_key(*k))
    {
        return false;
    }
    let types: Vec<&str> = match m.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let type_ok = types.is_empty()
        || types.iter().any(|t| match *t {
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            _ => false,
        });
    if !type_ok {
        return false;
    }
    if let Some(Value::Array(values)) = m.get("enum")
        && !values.contains(v)
    {
        return false;
    }
    if let Value::String(s) = v {
        let len = s.chars().count() as u64;
        if m.get("minLength")
            .and_then(Value::as_u64)
            .is_some_and(|l| len < l)
            || m.get("maxLength")
                .and_then(Value::as_u64)
                .is_some_and(|l| len > l)
            || m.contains_key("pattern")
        {
            return false;
        }
        let format_ok = match m.get("format").and_then(Value::as_str) {
            Some("uuid") => uuid::Uuid::parse_str(s).is_ok(),
            Some("date-time") => DateTime::parse_from_rfc3339(s).is_ok(),
            Some("email") => s.contains('@'),
            Some("uri") => url::Url::parse(s).is_ok(),
            _ => true,
        };
        return format_ok;
    }
    if let Some(x) = v.as_f64() {
        let bound = |k: &str| m.get(k).and_then(Value::as_f64);
        return bound("minimum").is_none_or(|b| x >= b)
            && bound("maximum").is_none_or(|b| x <= b)
            && bound("exclusiveMinimum").is_none_or(|b| x > b)
            && bound("exclusiveMaximum").is_none_or(|b| x < b);
    }
    true
}

fn truthy(loc: &Loc) -> bool {
    let n = loc.name.as_deref().map(norm).unwrap_or_default();
    matches!(
        n.as_str(),
        "success" | "ok" | "deleted" | "removed" | "cleared" | "enabled" | "valid" | "available"
    )
}

fn timestamp(name: &str) -> String {
    let n = norm(name);
    let t = if n.contains("expire") || n.contains("until") || n.contains("deadline") {
        *ANCHOR + Duration::hours(1)
    } else {
        *ANCHOR
    };
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// `processes` → `process`, `entries` → `entry`, `files` → `file`, `boxes` → `box`.
fn singular(name: &str) -> String {
    if let Some(stem) = name.strip_suffix("ies") {
        format!("{stem}y")
    } else if let Some(stem) = name.strip_suffix("sses") {
        format!("{stem}ss")
    } else if ["xes", "ches", "shes"].iter().any(|s| name.ends_with(s)) {
        name.strip_suffix("es").unwrap_or(name).to_string()
    } else if name.ends_with("ss") || name.ends_with("us") {
        name.to_string()
    } else if let Some(stem) = name.strip_suffix('s') {
        stem.to_string()
    } else {
        name.to_string()
    }
}

fn words(name: &str) -> String {
    name.replace(['_', '-'], " ")
}

fn title_case(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A string for well-known property names (None when the name says nothing).
fn named_string(ctx: &GenCtx<'_>, loc: &Loc) -> Option<String> {
    let name = loc.name.as_deref()?;
    let n = norm(name);
    let parent = loc
        .parent
        .as_deref()
        .map(|p| words(&singular(p)))
        .unwrap_or_default();
    let s = if is_id_name(name) {
        derived_uuid(ctx.seed, &loc.pointer).to_string()
    } else if n.contains("timezone") {
        "UTC".into()
    } else if name.ends_with("_at") || name.ends_with("At") || n.ends_with("timestamp") {
        timestamp(name)
    } else if n.contains("email") {
        "alex.morgan@example.com".into()
    } else if n.ends_with("url") || n.ends_with("uri") || n.ends_with("link") || n == "href" {
        format!(
            "https://app.duvo.ai/example/{}",
            derived_uuid(ctx.seed, &loc.pointer).simple()
        )
    } else if n == "filename" {
        "example.txt".into()
    } else if n == "name" && ctx.minimal {
        // Request examples: a slug passes the stricter name rules (skills…).
        "example-name".into()
    } else if n == "name" || n == "displayname" {
        if parent.is_empty() {
            "Sample".into()
        } else {
            format!("Sample {parent}")
        }
    } else if n == "title" {
        if parent.is_empty() {
            "Sample title".into()
        } else {
            title_case(&format!("{parent} overview"))
        }
    } else if matches!(
        n.as_str(),
        "description" | "summary" | "notes" | "reason" | "instructions" | "explanation"
    ) {
        "Generated by the Duvo emulator from the OpenAPI spec.".into()
    } else if matches!(n.as_str(), "message" | "detail" | "details") {
        "Done".into()
    } else if matches!(n.as_str(), "status" | "state") {
        "active".into()
    } else if matches!(n.as_str(), "path" | "filepath" | "destination") {
        ctx.known
            .get("path")
            .and_then(Value::as_str)
            .map(|p| {
                if p.starts_with('/') {
                    p.to_string()
                } else {
                    format!("/workspace/{p}")
                }
            })
            .unwrap_or_else(|| "/workspace/example.txt".into())
    } else if matches!(
        n.as_str(),
        "content" | "text" | "body" | "markdown" | "prompt" | "input" | "html" | "htmlcode"
    ) {
        "Example content".into()
    } else if n.starts_with("cron") || n == "schedule" {
        "0 9 * * 1-5".into()
    } else if n == "role" {
        "user".into()
    } else if n == "source" {
        "api".into()
    } else if n == "version" {
        "1".into()
    } else if n == "color" {
        "#4f46e5".into()
    } else if n == "language" || n == "locale" {
        "en".into()
    } else if n == "domain" || n == "host" || n == "hostname" {
        "example.com".into()
    } else if n.ends_with("mimetype") || n.ends_with("contenttype") || n.ends_with("mediatype") {
        "text/plain".into()
    } else if n == "username" || n == "login" {
        "alex.morgan".into()
    } else {
        return None;
    };
    Some(s)
}

/// The compiled `{"type": "string", "pattern": p}` validator (cached per pattern).
fn pattern_validator(pattern: &str) -> Option<Arc<jsonschema::Validator>> {
    static CACHE: LazyLock<Mutex<HashMap<String, Option<Arc<jsonschema::Validator>>>>> =
        LazyLock::new(|| Mutex::new(HashMap::new()));
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .entry(pattern.to_string())
        .or_insert_with(|| {
            let schema = serde_json::json!({ "type": "string", "pattern": pattern });
            jsonschema::draft202012::new(&schema).ok().map(Arc::new)
        })
        .clone()
}

/// `current` when it matches `pattern`, else the first of a few candidates that does.
fn fit_pattern(pattern: &str, current: String) -> String {
    let Some(v) = pattern_validator(pattern) else {
        return current;
    };
    let ok = |s: &str| v.is_valid(&Value::String(s.to_string()));
    if ok(&current) {
        return current;
    }
    [
        "example",
        "example.png",
        "text/plain",
        "EXAMPLE_KEY",
        "example-1",
        "example_1",
        "1",
        "a",
    ]
    .iter()
    .find(|c| ok(c))
    .map_or(current, |c| (*c).to_string())
}

/// A string for a `format` (or, without one, for the property's name).
fn by_format(format: Option<&str>, ctx: &GenCtx<'_>, loc: &Loc) -> String {
    let name = loc.name.as_deref().unwrap_or("");
    match format {
        Some("uuid") => derived_uuid(ctx.seed, &loc.pointer).to_string(),
        Some("date-time") => timestamp(name),
        Some("date") => ANCHOR.format("%Y-%m-%d").to_string(),
        Some("time") => ANCHOR.format("%H:%M:%S").to_string(),
        Some("email") => "alex.morgan@example.com".into(),
        Some("uri" | "url" | "uri-reference") => format!(
            "https://app.duvo.ai/example/{}",
            derived_uuid(ctx.seed, &loc.pointer).simple()
        ),
        _ => named_string(ctx, loc).unwrap_or_else(|| "example".into()),
    }
}

fn gen_string(m: &Map<String, Value>, ctx: &GenCtx<'_>, loc: &Loc) -> Value {
    if let Some(v) = echo(m, ctx, loc) {
        return v;
    }
    let format = m.get("format").and_then(Value::as_str);
    // The first known value of an open set (`x-extensible-enum`).
    let example = m
        .get("examples")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
        .and_then(Value::as_str);
    let mut s = match (format, example) {
        (None, Some(e)) => e.to_string(),
        (format, _) => by_format(format, ctx, loc),
    };
    if let Some(p) = m.get("pattern").and_then(Value::as_str) {
        s = fit_pattern(p, s);
    }
    if format.is_none() {
        let len = s.chars().count() as u64;
        if let Some(min) = m.get("minLength").and_then(Value::as_u64)
            && len < min
        {
            let pad = usize::try_from(min - len).unwrap_or(0);
            s.push_str(&"x".repeat(pad));
        }
        if let Some(max) = m.get("maxLength").and_then(Value::as_u64)
            && s.chars().count() as u64 > max
        {
            s = s.chars().take(usize::try_from(max).unwrap_or(0)).collect();
        }
    }
    Value::String(s)
}

fn number_base(name: &str, integer: bool) -> f64 {
    let n = norm(name);
    if n.contains("offset") || n == "skip" || n == "index" || n == "position" || n == "order" {
        0.0
    } else if n == "limit" || n.contains("pagesize") || n.contains("perpage") {
        20.0
    } else if n.contains("bytes") || n == "size" {
        1024.0
    } else if n.contains("percent") {
        90.0
    } else if !integer
        && [
            "score",
            "confidence",
            "probability",
            "ratio",
            "rate",
            "progress",
        ]
        .iter()
        .any(|w| n.contains(w))
    {
        0.9
    } else if n.contains("duration") || n.contains("elapsed") || n.ends_with("ms") {
        1200.0
    } else if n.contains("expiresin") || n.contains("ttl") {
        3600.0
    } else {
        1.0
    }
}

fn gen_number(m: &Map<String, Value>, integer: bool, ctx: &GenCtx<'_>, loc: &Loc) -> Value {
    if let Some(v) = echo(m, ctx, loc) {
        return v;
    }
    let bound = |k: &str| m.get(k).and_then(Value::as_f64);
    let mut x = number_base(loc.name.as_deref().unwrap_or(""), integer);
    if let Some(lo) = bound("minimum")
        && x < lo
    {
        x = lo;
    }
    if let Some(lo) = bound("exclusiveMinimum")
        && x <= lo
    {
        x = if integer { lo.floor() + 1.0 } else { lo + 1.0 };
    }
    if let Some(hi) = bound("maximum")
        && x > hi
    {
        x = hi;
    }
    if let Some(hi) = bound("exclusiveMaximum")
        && x >= hi
    {
        let lo = bound("exclusiveMinimum").or(bound("minimum"));
        x = match (integer, lo) {
            (true, _) => hi.ceil() - 1.0,
            (false, Some(lo)) => (lo + hi) / 2.0,
            (false, None) => hi - 1.0,
        };
    }
    if integer {
        x = x.round();
    }
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        // Exact: |x| < 2^53.
        #[allow(clippy::cast_possible_truncation)]
        let i = x as i64;
        Value::from(i)
    } else {
        Number::from_f64(x).map_or(Value::from(0), Value::Number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn defs() -> Map<String, Value> {
        Map::new()
    }

    #[test]
    fn required_properties_formats_and_bounds() {
        let d = defs();
        let ctx = GenCtx::new(&d, 7);
        let s = json!({
            "type": "object",
            "properties": {
                "id": {"type": "string", "format": "uuid"},
                "created_at": {"type": "string", "format": "date-time"},
                "email": {"type": "string", "format": "email"},
                "link": {"type": "string", "format": "uri"},
                "kind": {"type": "string", "enum": ["b", "a"]},
                "limit": {"type": "integer", "minimum": 1, "maximum": 10},
                "score": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.5},
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
                "maybe": {"type": ["string", "null"]},
                "nested": {"type": "object", "properties": {"x": {"type": "object"}}}
            },
            "required": ["id", "created_at", "email", "link", "kind", "limit", "score", "tags", "maybe"]
        });
        let v = generate(&s, &ctx);
        assert!(uuid::Uuid::parse_str(v["id"].as_str().unwrap_or("")).is_ok());
        assert!(DateTime::parse_from_rfc3339(v["created_at"].as_str().unwrap_or("")).is_ok());
        assert_eq!(v["kind"], "b");
        assert_eq!(v["limit"], 10);
        assert_eq!(v["score"], 0.25);
        assert_eq!(v["tags"].as_array().map(Vec::len), Some(2));
        assert!(v["maybe"].is_string());
        assert!(v.get("nested").is_none(), "optional objects are skipped");
        assert_eq!(generate(&s, &ctx), v, "deterministic");
        assert_ne!(generate(&s, &GenCtx::new(&d, 8))["id"], v["id"], "seeded");
    }

    #[test]
    fn ids_echo_known_values() {
        let d = defs();
        let mut ctx = GenCtx::new(&d, 1);
        let agent = "0b7c1b4e-6a55-4e8e-9a53-3f1f0f8d2a11";
        ctx.know("agent_id", json!(agent));
        ctx.know("name", json!("Invoices"));
        let s = json!({
            "type": "object",
            "properties": {
                "agent": {"type": "object", "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "name": {"type": "string"}
                }, "required": ["id", "name"]},
                "items": {"type": "array", "items": {"type": "object", "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "agentId": {"type": "string", "format": "uuid"}
                }, "required": ["id", "agentId"]}}
            },
            "required": ["agent", "items"]
        });
        let v = generate(&s, &ctx);
        assert_eq!(v["agent"]["id"], agent);
        assert_eq!(v["agent"]["name"], "Invoices");
        assert_eq!(v["items"][0]["agentId"], agent);
        assert_ne!(v["items"][0]["id"], agent);
    }

    #[test]
    fn parents_are_named_in_the_singular() {
        let got: Vec<String> = ["processes", "entries", "cases", "boxes", "status", "files"]
            .iter()
            .map(|n| singular(n))
            .collect();
        assert_eq!(got, ["process", "entry", "case", "box", "status", "file"]);
    }

    #[test]
    fn recursion_and_composition() {
        let d: Map<String, Value> = serde_json::from_value(json!({
            "J": {"anyOf": [{"type": "boolean"}, {"type": "array", "items": {"$ref": "#/$defs/J"}}]}
        }))
        .unwrap_or_default();
        let ctx = GenCtx::new(&d, 1);
        assert_eq!(generate(&json!({"$ref": "#/$defs/J"}), &ctx), json!(false));
        let s = json!({"allOf": [
            {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
            {"type": "object", "properties": {"b": {"type": "boolean"}}, "required": ["b"]}
        ]});
        assert_eq!(generate(&s, &ctx), json!({"a": 1, "b": false}));
        let s = json!({"anyOf": [{"type": "null"}, {"type": "string", "pattern": "^[A-Z_][A-Z0-9_]*$"}]});
        assert_eq!(generate(&s, &ctx), json!("EXAMPLE_KEY"));
    }
}
