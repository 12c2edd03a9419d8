//! Contract test: the tool catalog (`tools/*.json`) against the Duvo OpenAPI spec.
//!
//! Every catalog entry must name the spec operation at its (method, path), map every path,
//! query and JSON-body parameter to a flat argument with the same name (`{teamId}` becomes the
//! optional `team_id`, `{*}` the required `path`), agree with the spec on types, enums, formats,
//! bounds, defaults and required-ness (OpenAPI `nullable` = JSON Schema type + `null`), carry the
//! per-method annotations, and describe itself in its own words.
//!
//! The spec is read from `spec/openapi.json` (a byte-for-byte copy kept in the repo), or from
//! `../shared/duvo-api/openapi.json` when the copy is missing. Uses only `serde_json` and std.

use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Tools whose annotations deliberately differ from the per-method rule: (tool name, reason).
const ANNOTATION_EXCEPTIONS: &[(&str, &str)] = &[];

/// Places where a tool's input schema is deliberately looser than the spec, to save the model's
/// context: (tool name, JSON pointer into the tool's `inputSchema`, reason). At and below such a
/// pointer our schema may drop constraints the spec has, but may not add or change one. `oneOf`
/// is spelled `anyOf` in these pointers; `anyOf` branches keep the spec's order.
const SCHEMA_RELAXATIONS: &[(&str, &str, &str)] = &[
    (
        "createAgent",
        "/properties/build/properties/config/properties/data/properties/input/anyOf/1/items/properties/content/anyOf/1/items",
        "message content parts are summarised in the description instead of a three-way union",
    ),
    (
        "createAgent",
        "/properties/build/properties/config/properties/data/properties/options",
        "rarely used runtime options are summarised in the description",
    ),
    (
        "createRevision",
        "/properties/config/properties/data/properties/input/anyOf/1/items/properties/content/anyOf/1/items",
        "message content parts are summarised in the description instead of a three-way union",
    ),
    (
        "createRevision",
        "/properties/config/properties/data/properties/options",
        "rarely used runtime options are summarised in the description",
    ),
];

const FILE_KEYS: &[&str] = &["toolset", "title", "description", "default", "tools"];
const ENTRY_KEYS: &[&str] = &[
    "name",
    "title",
    "description",
    "method",
    "path",
    "query",
    "annotations",
    "inputSchema",
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
        .expect(
            "no OpenAPI spec: expected spec/openapi.json or ../shared/duvo-api/openapi.json",
        );
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
    errs.extend(key_order_errors(obj, ENTRY_KEYS, &["query"], who));
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

    // What the spec expects: argument → (where it comes from, candidate spec schemas, required)
    let string_schema = json!({ "type": "string" });
    let mut wanted: Vec<(String, String, Vec<&Value>, bool)> = Vec::new();
    for ph in path_placeholders(path) {
        let declared = so.path_params.get(&ph).and_then(|p| p.get("schema"));
        let cand = declared.unwrap_or(&string_schema);
        wanted.push(match ph.as_str() {
            "teamId" => ("team_id".into(), "path {teamId}".into(), vec![cand], false),
            "*" => ("path".into(), "path {*}".into(), vec![cand], true),
            other => (other.into(), format!("path {{{other}}}"), vec![cand], true),
        });
    }
    for (n, p) in &so.query {
        let req = p.get("required").and_then(Value::as_bool).unwrap_or(false);
        let cand = p.get("schema").unwrap_or(&string_schema);
        wanted.push((n.clone(), "a query param".into(), vec![cand], req));
    }
    for (n, cands) in &so.body {
        let req = so.body_required.contains(n);
        wanted.push((n.clone(), "a body field".into(), cands.clone(), req));
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
        let ours_c = canon(ours, Dialect::Ours, spec, &mut Vec::new());
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
    let spec = load_spec();
    let files = load_catalog();
    report(&check_catalog(&files, &spec, &RULES));
}

// The checker itself: a correct hand-written catalog passes, and each kind of mistake is caught.

fn good_catalog() -> Vec<(String, Value)> {
    let ann = |ro: bool, de: bool, id: bool| json!({"readOnlyHint": ro, "destructiveHint": de, "idempotentHint": id, "openWorldHint": true});
    let run_id = json!({"type": "string", "format": "uuid", "description": "Job id."});
    let tools = json!([
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
        "boolean for string enum",
        &["listAgents", "include_schedules"],
        |f| {
            tool_mut(f, "listAgents")["inputSchema"]["properties"]["include_schedules"] =
                json!({"type": "boolean", "default": false});
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
