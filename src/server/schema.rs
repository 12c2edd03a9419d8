//! Input schemas for tools defined in Rust: schemars-derived, inlined (no `$ref`/`$defs`).

use rmcp::model::JsonObject;
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;

/// A self-contained JSON Schema 2020-12 object for `T`, without `$schema` and `title`.
pub fn inline_schema<T: JsonSchema>() -> JsonObject {
    let generator = SchemaSettings::draft2020_12()
        .with(|s| s.inline_subschemas = true)
        .into_generator();
    let schema = generator.into_root_schema_for::<T>();
    let mut obj = match serde_json::to_value(schema) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => JsonObject::new(),
    };
    obj.remove("$schema");
    obj.remove("title");
    obj.remove("$defs");
    obj
}
