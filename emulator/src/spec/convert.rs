//! OpenAPI 3.0 schema objects → JSON Schema 2020-12 (for the `jsonschema` crate).
//!
//! - `$ref: "#/components/schemas/X"` → `$ref: "#/$defs/X"`; the components themselves are
//!   converted once into a `$defs` map that every compiled document carries (recursion is fine).
//! - `nullable: true` → `"null"` added to `type` (and to `enum` when present); on a schema without
//!   `type` that combines others (`anyOf`/`oneOf`) a `{"type": "null"}` branch is added; with
//!   `$ref`/`allOf` the schema is wrapped in `anyOf: [schema, {"type": "null"}]`.
//! - boolean `exclusiveMinimum`/`exclusiveMaximum` → the numeric form (`true` without a bound is
//!   dropped, `false` is dropped).
//! - OpenAPI-only keywords are dropped: `nullable`, `example`, `discriminator`, `xml`,
//!   `externalDocs`, `x-*` extensions; `x-extensible-enum` (known values of an open set) becomes
//!   the `examples` annotation.
//! - `readOnly`/`writeOnly` stay as annotations; a `readOnly` property is not required in a
//!   request, a `writeOnly` property is not required in a response.

use serde_json::{Map, Value, json};

/// Which side of an exchange a schema describes (affects `readOnly`/`writeOnly`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// A request body or parameter.
    Request,
    /// A response body.
    Response,
}

/// Prefix of component references in the OpenAPI document.
const COMPONENT_PREFIX: &str = "#/components/schemas/";
/// Prefix of the same references in converted documents.
pub const DEFS_PREFIX: &str = "#/$defs/";

/// Keywords whose value is a map of subschemas.
const SCHEMA_MAPS: &[&str] = &["properties", "patternProperties", "$defs"];
/// Keywords whose value is one subschema.
const SCHEMA_ONE: &[&str] = &[
    "additionalProperties",
    "items",
    "not",
    "propertyNames",
    "contains",
    "if",
    "then",
    "else",
];
/// Keywords whose value is a list of subschemas.
const SCHEMA_LISTS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];
/// OpenAPI-only keywords that have no place in JSON Schema 2020-12.
const DROPPED: &[&str] = &[
    "nullable",
    "example",
    "discriminator",
    "xml",
    "externalDocs",
];

/// Convert one OpenAPI 3.0 schema object to JSON Schema 2020-12.
pub fn convert(schema: &Value, dir: Direction) -> Value {
    let Value::Object(obj) = schema else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (key, value) in obj {
        if key == "x-extensible-enum" && value.is_array() && !obj.contains_key("examples") {
            out.insert("examples".into(), value.clone());
            continue;
        }
        if DROPPED.contains(&key.as_str()) || key.starts_with("x-") {
            continue;
        }
        let converted = match key.as_str() {
            "$ref" => match value.as_str() {
                Some(r) => match r.strip_prefix(COMPONENT_PREFIX) {
                    Some(name) => Value::String(format!("{DEFS_PREFIX}{name}")),
                    None => value.clone(),
                },
                None => value.clone(),
            },
            k if SCHEMA_MAPS.contains(&k) => match value {
                Value::Object(m) => Value::Object(
                    m.iter()
                        .map(|(name, s)| (name.clone(), convert(s, dir)))
                        .collect(),
                ),
                other => other.clone(),
            },
            k if SCHEMA_ONE.contains(&k) => match value {
                Value::Object(_) => convert(value, dir),
                other => other.clone(),
            },
            k if SCHEMA_LISTS.contains(&k) => match value {
                Value::Array(items) => {
                    Value::Array(items.iter().map(|s| convert(s, dir)).collect())
                }
                other => other.clone(),
            },
            "exclusiveMinimum" | "exclusiveMaximum" => match value {
                Value::Bool(true) => {
                    let bound = if key == "exclusiveMinimum" {
                        "minimum"
                    } else {
                        "maximum"
                    };
                    match obj.get(bound) {
                        Some(b @ Value::Number(_)) => b.clone(),
                        _ => continue,
                    }
                }
                Value::Bool(false) => continue,
                other => other.clone(),
            },
            _ => value.clone(),
        };
        out.insert(key.clone(), converted);
    }
    // Boolean exclusive bounds replace the inclusive bound they qualified.
    for (exclusive, bound) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        if obj.get(exclusive) == Some(&Value::Bool(true)) && out.contains_key(exclusive) {
            out.remove(bound);
        }
    }
    filter_required(&mut out, dir);
    merge_closed_all_of(&mut out);
    if obj.get("nullable") == Some(&Value::Bool(true)) {
        return make_nullable(out);
    }
    Value::Object(out)
}

/// Spec defect: `allOf` of objects that each forbid extra properties accepts no object that
/// uses properties of two branches (e.g. `listCaseRunRecentMessages`). Such an `allOf` is
/// rewritten as one merged object, distributing over a single `anyOf` branch when there is one.
fn merge_closed_all_of(out: &mut Map<String, Value>) {
    let Some(Value::Array(branches)) = out.get("allOf") else {
        return;
    };
    let merged = match branches.iter().position(is_choice) {
        None => merge_objects(branches),
        Some(i) => {
            let rest: Vec<Value> = branches
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, b)| b.clone())
                .collect();
            let mut alternatives = Vec::new();
            for alt in choices(&branches[i]) {
                let mut parts = rest.clone();
                parts.push(flatten(&alt));
                match merge_objects(&parts) {
                    Some(m) => alternatives.push(m),
                    None => return,
                }
            }
            Some(json!({ "anyOf": alternatives }))
        }
    };
    if let Some(Value::Object(merged)) = merged {
        out.remove("allOf");
        for (k, v) in merged {
            out.insert(k, v);
        }
    }
}

/// The alternatives of a choice, nested choices flattened.
fn choices(v: &Value) -> Vec<Value> {
    if is_choice(v) {
        v["anyOf"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(choices)
            .collect()
    } else {
        vec![v.clone()]
    }
}

/// A branch that is only an `anyOf`.
fn is_choice(b: &Value) -> bool {
    b.as_object()
        .is_some_and(|m| m.len() == 1 && m.contains_key("anyOf"))
}

/// An `allOf` of plain objects, already merged, or the schema itself.
fn flatten(v: &Value) -> Value {
    match v.get("allOf").and_then(Value::as_array) {
        Some(parts) => merge_objects(parts).unwrap_or_else(|| v.clone()),
        None => v.clone(),
    }
}

/// Merges plain object schemas (properties, required, additionalProperties); `None` if any
/// part is not a plain object.
fn merge_objects(parts: &[Value]) -> Option<Value> {
    let mut props = Map::new();
    let mut required: Vec<Value> = Vec::new();
    let mut closed = true;
    for part in parts {
        let part = flatten(part);
        let m = part.as_object()?;
        if ["$ref", "anyOf", "oneOf", "allOf"]
            .iter()
            .any(|k| m.contains_key(*k))
        {
            return None;
        }
        if m.get("type").is_some_and(|t| t != "object") {
            return None;
        }
        if let Some(Value::Object(p)) = m.get("properties") {
            for (k, v) in p {
                props.insert(k.clone(), v.clone());
            }
        }
        for r in m
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !required.contains(r) {
                required.push(r.clone());
            }
        }
        closed &= m.get("additionalProperties") == Some(&Value::Bool(false));
    }
    let mut merged = json!({ "type": "object", "properties": props, "required": required });
    if closed {
        merged["additionalProperties"] = Value::Bool(false);
    }
    Some(merged)
}

/// Drop `readOnly` properties from `required` in requests and `writeOnly` ones in responses.
fn filter_required(out: &mut Map<String, Value>, dir: Direction) {
    let skip = match dir {
        Direction::Request => "readOnly",
        Direction::Response => "writeOnly",
    };
    let Some(Value::Object(props)) = out.get("properties") else {
        return;
    };
    let hidden: Vec<String> = props
        .iter()
        .filter(|(_, s)| s.get(skip) == Some(&Value::Bool(true)))
        .map(|(name, _)| name.clone())
        .collect();
    if hidden.is_empty() {
        return;
    }
    if let Some(Value::Array(required)) = out.get_mut("required") {
        required.retain(|r| r.as_str().is_none_or(|r| !hidden.iter().any(|h| h == r)));
    }
}

/// Let a converted schema also accept `null`.
fn make_nullable(mut out: Map<String, Value>) -> Value {
    let combines = ["$ref", "allOf", "anyOf", "oneOf"]
        .iter()
        .any(|k| out.contains_key(*k));
    let has_type = out.contains_key("type");
    if has_type && !combines {
        if let Some(t) = out.get_mut("type") {
            match t {
                Value::String(s) if s != "null" => {
                    *t = json!([s.clone(), "null"]);
                }
                Value::Array(types) if !types.iter().any(|x| x == "null") => {
                    types.push(Value::from("null"));
                }
                _ => {}
            }
        }
        if let Some(Value::Array(values)) = out.get_mut("enum")
            && !values.iter().any(Value::is_null)
        {
            values.push(Value::Null);
        }
        return Value::Object(out);
    }
    if !has_type && !combines {
        // No type constraint: null is accepted already (unless an enum rules it out).
        if let Some(Value::Array(values)) = out.get_mut("enum")
            && !values.iter().any(Value::is_null)
        {
            values.push(Value::Null);
        }
        return Value::Object(out);
    }
    if !has_type && !out.contains_key("$ref") && !out.contains_key("allOf") {
        for key in ["anyOf", "oneOf"] {
            if let Some(Value::Array(branches)) = out.get_mut(key) {
                branches.push(json!({ "type": "null" }));
                return Value::Object(out);
            }
        }
    }
    json!({ "anyOf": [Value::Object(out), { "type": "null" }] })
}

/// Convert every component schema into a `$defs` map.
pub fn convert_components(components: Option<&Value>, dir: Direction) -> Map<String, Value> {
    components
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(name, s)| (name.clone(), convert(s, dir)))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a converted schema refers to `$defs` anywhere.
pub fn uses_defs(schema: &Value) -> bool {
    match schema {
        Value::Object(m) => m.iter().any(|(k, v)| {
            (k == "$ref" && v.as_str().is_some_and(|r| r.starts_with(DEFS_PREFIX))) || uses_defs(v)
        }),
        Value::Array(items) => items.iter().any(uses_defs),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nullable_adds_null_to_type_and_enum() {
        let s = json!({"type": "string", "enum": ["a", "b"], "nullable": true, "example": "a"});
        let c = convert(&s, Direction::Response);
        assert_eq!(
            c,
            json!({"type": ["string", "null"], "enum": ["a", "b", null]})
        );
    }

    #[test]
    fn nullable_any_of_gets_a_null_branch_and_ref_is_wrapped() {
        let s = json!({"nullable": true, "anyOf": [{"type": "string"}]});
        let c = convert(&s, Direction::Response);
        assert_eq!(c, json!({"anyOf": [{"type": "string"}, {"type": "null"}]}));
        let s = json!({"nullable": true, "$ref": "#/components/schemas/X"});
        let c = convert(&s, Direction::Response);
        assert_eq!(
            c,
            json!({"anyOf": [{"$ref": "#/$defs/X"}, {"type": "null"}]})
        );
        assert!(uses_defs(&c));
    }

    #[test]
    fn boolean_exclusive_bounds_become_numeric() {
        let s = json!({"type": "integer", "minimum": 0, "exclusiveMinimum": true, "maximum": 5});
        let c = convert(&s, Direction::Request);
        assert_eq!(
            c,
            json!({"type": "integer", "exclusiveMinimum": 0, "maximum": 5})
        );
        let s = json!({"type": "integer", "exclusiveMinimum": true, "maximum": 5});
        let c = convert(&s, Direction::Request);
        assert_eq!(c, json!({"type": "integer", "maximum": 5}));
    }

    #[test]
    fn nested_schemas_are_converted_and_extensions_dropped() {
        let s = json!({
            "type": "object",
            "properties": {"a": {"type": "string", "nullable": true, "x-extensible-enum": ["q"]}},
            "additionalProperties": {"$ref": "#/components/schemas/Y"},
            "discriminator": {"propertyName": "a"}
        });
        let c = convert(&s, Direction::Response);
        assert_eq!(
            c,
            json!({
                "type": "object",
                "properties": {"a": {"type": ["string", "null"], "examples": ["q"]}},
                "additionalProperties": {"$ref": "#/$defs/Y"}
            })
        );
    }

    #[test]
    fn read_only_properties_are_not_required_in_requests() {
        let s = json!({
            "type": "object",
            "properties": {"id": {"type": "string", "readOnly": true}, "name": {"type": "string"}},
            "required": ["id", "name"]
        });
        let req = convert(&s, Direction::Request);
        assert_eq!(req["required"], json!(["name"]));
        let resp = convert(&s, Direction::Response);
        assert_eq!(resp["required"], json!(["id", "name"]));
    }
}
