//! Compiling converted schemas and turning validation errors into `"<field>: <problem>"` messages.

use std::sync::{Arc, LazyLock, OnceLock};

use jsonschema::Validator;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::{Map, Value, json};

use super::convert::uses_defs;

/// A validator compiled on first use (compile failures are kept as a message and logged once).
#[derive(Debug, Default)]
pub struct LazyValidator {
    cell: OnceLock<Result<Arc<Validator>, String>>,
}

impl LazyValidator {
    /// The compiled validator for `schema` (compiling it on the first call).
    pub fn get(&self, schema: &Value, defs: &Map<String, Value>) -> Option<Arc<Validator>> {
        self.cell
            .get_or_init(|| {
                compile(schema, defs).map(Arc::new).inspect_err(|e| {
                    tracing::warn!(error = %e, "emulator: a spec schema does not compile");
                })
            })
            .as_ref()
            .ok()
            .cloned()
    }

    /// The compile result, for tests that every schema compiles.
    #[cfg(test)]
    pub fn compiled(&self, schema: &Value, defs: &Map<String, Value>) -> Result<(), String> {
        self.get(schema, defs);
        match self.cell.get() {
            Some(Err(e)) => Err(e.clone()),
            _ => Ok(()),
        }
    }
}

/// Compile a converted schema (with `$defs` attached when it refers to them).
pub fn compile(schema: &Value, defs: &Map<String, Value>) -> Result<Validator, String> {
    let doc = match schema {
        Value::Object(m) if uses_defs(schema) => {
            let mut m = m.clone();
            m.insert("$defs".into(), Value::Object(defs.clone()));
            Value::Object(m)
        }
        other => other.clone(),
    };
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&doc)
        .map_err(|e| e.to_string())
}

/// The standard error envelope `{error, message?}` (for statuses a spec operation does not declare).
pub static ENVELOPE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
        "required": ["error"],
        "additionalProperties": false
    })
});

static ENVELOPE_VALIDATOR: LazyLock<LazyValidator> = LazyLock::new(LazyValidator::default);

/// The compiled [`ENVELOPE`].
pub fn envelope_validator() -> Option<Arc<Validator>> {
    ENVELOPE_VALIDATOR.get(&ENVELOPE, &Map::new())
}

/// One validation problem, naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted field name (`build.config.version`, `items[0].name`), or `root` for the whole value.
    pub field: String,
    /// What is wrong with it.
    pub problem: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

/// The first problem of `instance` (fields are named relative to `root`, e.g. `body` or a
/// parameter name; nested body fields are named without the `body.` prefix).
pub fn first_problem(validator: &Validator, instance: &Value, root: &str) -> Option<Problem> {
    let mut problems: Vec<Problem> = validator
        .iter_errors(instance)
        .map(|e| describe(&e, root))
        .collect();
    // Prefer the most specific (deepest) problem: it names a real field.
    problems.sort_by_key(|p| std::cmp::Reverse(p.field.matches(['.', '[']).count()));
    problems.into_iter().next()
}

/// Up to `max` problems of `instance`, each rendered as `"<json pointer>: <message>"`.
pub fn problems(validator: &Validator, instance: &Value, max: usize) -> Vec<String> {
    validator
        .iter_errors(instance)
        .take(max)
        .map(|e| {
            let at = e.instance_path().to_string();
            let at = if at.is_empty() { "/".to_string() } else { at };
            format!("{at}: {}", short(&e.to_string(), &e.masked().to_string()))
        })
        .collect()
}

fn short(full: &str, masked: &str) -> String {
    if full.len() <= 200 {
        full.to_string()
    } else {
        masked.to_string()
    }
}

/// `/a/0/b` → `a[0].b` (empty → `root`).
fn dotted(pointer_segments: &[String], root: &str) -> String {
    let mut out = String::new();
    for seg in pointer_segments {
        if seg.parse::<usize>().is_ok() && !out.is_empty() {
            out.push('[');
            out.push_str(seg);
            out.push(']');
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(seg);
        }
    }
    if out.is_empty() {
        root.to_string()
    } else {
        out
    }
}

fn segments(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn list(values: &Value) -> String {
    match values {
        Value::Array(items) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

fn describe(e: &jsonschema::ValidationError<'_>, root: &str) -> Problem {
    let mut segs = segments(e.instance_path().as_str());
    let instance = e.instance();
    let problem = match e.kind() {
        ValidationErrorKind::Required { property } => {
            segs.push(property.as_str().unwrap_or_default().to_string());
            "is required".to_string()
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            if let Some(first) = unexpected.first() {
                segs.push(first.clone());
            }
            "is not a known field".to_string()
        }
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(t) => t.to_string(),
                TypeKind::Multiple(set) => set
                    .iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(" or "),
            };
            format!("must be of type {expected}, got {}", type_of(instance))
        }
        ValidationErrorKind::Enum { options } => {
            format!(
                "invalid value {instance} (expected one of: {})",
                list(options)
            )
        }
        ValidationErrorKind::Constant { expected_value } => {
            format!("must be {expected_value}")
        }
        ValidationErrorKind::Format { format } => match format.as_str() {
            "uuid" => "must be a UUID".to_string(),
            "date-time" => "must be an ISO-8601 date-time".to_string(),
            "email" => "must be an email address".to_string(),
            "uri" => "must be an absolute URI".to_string(),
            other => format!("must be a valid {other}"),
        },
        ValidationErrorKind::Minimum { limit } => format!("must be >= {limit}, got {instance}"),
        ValidationErrorKind::Maximum { limit } => format!("must be <= {limit}, got {instance}"),
        ValidationErrorKind::ExclusiveMinimum { limit } => {
            format!("must be > {limit}, got {instance}")
        }
        ValidationErrorKind::ExclusiveMaximum { limit } => {
            format!("must be < {limit}, got {instance}")
        }
        ValidationErrorKind::MinLength { limit: 1 } => "must not be empty".to_string(),
        ValidationErrorKind::MinLength { limit } => {
            format!("must be at least {limit} characters")
        }
        ValidationErrorKind::MaxLength { limit } => {
            format!("must be at most {limit} characters")
        }
        ValidationErrorKind::MinItems { limit } => format!("must have at least {limit} items"),
        ValidationErrorKind::MaxItems { limit } => format!("must have at most {limit} items"),
        ValidationErrorKind::Pattern { pattern } => format!("must match the pattern {pattern}"),
        _ => short(&e.to_string(), &e.masked().to_string()),
    };
    Problem {
        field: dotted(&segs, root),
        problem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validator(schema: Value) -> Validator {
        compile(&schema, &Map::new()).expect("schema compiles")
    }

    #[test]
    fn problems_name_the_field() {
        let v = validator(json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "items": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string", "format": "uuid"}}}},
                "kind": {"type": "string", "enum": ["a", "b"]}
            },
            "required": ["name"],
            "additionalProperties": false
        }));
        let p = |x: Value| first_problem(&v, &x, "body").map(|p| p.to_string());
        assert_eq!(p(json!({})), Some("name: is required".into()));
        assert_eq!(
            p(json!({"name": 3})),
            Some("name: must be of type string, got integer".into())
        );
        assert_eq!(
            p(json!({"name": ""})),
            Some("name: must not be empty".into())
        );
        assert_eq!(
            p(json!({"name": "x", "items": [{"id": "nope"}]})),
            Some("items[0].id: must be a UUID".into())
        );
        assert_eq!(
            p(json!({"name": "x", "kind": "c"})),
            Some("kind: invalid value \"c\" (expected one of: a, b)".into())
        );
        assert_eq!(
            p(json!({"name": "x", "extra": 1})),
            Some("extra: is not a known field".into())
        );
        assert_eq!(
            p(json!([])),
            Some("body: must be of type object, got array".into())
        );
        assert_eq!(p(json!({"name": "x"})), None);
    }

    #[test]
    fn problems_list_pointers() {
        let v = validator(json!({"type": "object", "required": ["error"]}));
        let out = problems(&v, &json!({}), 3);
        assert_eq!(out.len(), 1);
        assert!(out[0].starts_with("/: "), "{out:?}");
    }
}
