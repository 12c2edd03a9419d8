//! Input schemas for tools defined in Rust: schemars-derived, inlined (no `$ref`/`$defs`).

use rmcp::model::JsonObject;
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::Value;

/// The `format` values JSON Schema 2020-12 defines (Validation, section 7.3). Anything else
/// (schemars' `uint32`, `uint8`, `int64` …) makes a strict validator such as Ajv refuse the tool.
pub const STANDARD_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

/// A self-contained JSON Schema 2020-12 object for `T`, without `$schema` and `title`, and with
/// only standard `format`s (integer widths are expressed by `minimum`/`maximum` instead).
pub fn inline_schema<T: JsonSchema>() -> JsonObject {
    let generator = SchemaSettings::draft2020_12()
        .with(|s| s.inline_subschemas = true)
        .into_generator();
    let schema = generator.into_root_schema_for::<T>();
    let mut value = serde_json::to_value(schema).unwrap_or(Value::Null);
    strip_nonstandard_formats(&mut value);
    let mut obj = match value {
        Value::Object(map) => map,
        _ => JsonObject::new(),
    };
    obj.remove("$schema");
    obj.remove("title");
    obj.remove("$defs");
    obj
}

/// Removes every `format` keyword outside [`STANDARD_FORMATS`]; an unsigned integer keeps its
/// lower bound as `minimum: 0`.
fn strip_nonstandard_formats(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let unsigned = match map.get("format") {
                Some(Value::String(f)) if !STANDARD_FORMATS.contains(&f.as_str()) => {
                    Some(f.starts_with('u'))
                }
                _ => None,
            };
            if let Some(unsigned) = unsigned {
                map.remove("format");
                if unsigned && !map.contains_key("minimum") {
                    map.insert("minimum".to_owned(), Value::from(0));
                }
            }
            // Property names live under `properties`: a property called "format" is not a keyword.
            for (_, child) in map.iter_mut() {
                strip_nonstandard_formats(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nonstandard_formats),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rust_integer_formats_become_plain_bounded_integers() {
        let mut v = json!({"properties": {
            "n": {"type": "integer", "format": "uint32", "maximum": 600},
            "m": {"type": ["integer", "null"], "format": "uint8"},
            "id": {"type": "string", "format": "uuid"},
            "format": {"type": "string"}
        }});
        strip_nonstandard_formats(&mut v);
        assert_eq!(
            v["properties"]["n"],
            json!({"type": "integer", "maximum": 600, "minimum": 0})
        );
        assert_eq!(
            v["properties"]["m"],
            json!({"type": ["integer", "null"], "minimum": 0})
        );
        assert_eq!(v["properties"]["id"]["format"], "uuid");
        assert_eq!(v["properties"]["format"], json!({"type": "string"}));
    }
}
