//! Typed readers for JSON body fields beyond `validate.rs`: bounded strings and integers, enums,
//! nullable values and uuid lists. Every failure is a 400 naming the field.

use serde_json::{Map, Value};
use uuid::Uuid;

use super::errors::{ApiError, ApiResult};
use super::validate::{self as v, type_name};

/// Check that `s` has between `min` and `max` characters.
pub fn check_len(field: &str, s: &str, min: usize, max: usize) -> ApiResult<()> {
    let n = s.chars().count();
    if n < min {
        return Err(if min == 1 {
            ApiError::field(field, "must not be empty")
        } else {
            ApiError::field(field, format!("must be at least {min} characters"))
        });
    }
    if n > max {
        return Err(ApiError::field(
            field,
            format!("must be at most {max} characters, got {n}"),
        ));
    }
    Ok(())
}

/// A required string of `min..=max` characters.
pub fn req_str(map: &Map<String, Value>, field: &str, min: usize, max: usize) -> ApiResult<String> {
    let s = v::req_str(map, field, 0)?;
    check_len(field, &s, min, max)?;
    Ok(s)
}

/// An optional (non-null) string of `min..=max` characters.
pub fn opt_str(
    map: &Map<String, Value>,
    field: &str,
    min: usize,
    max: usize,
) -> ApiResult<Option<String>> {
    let s = v::opt_str(map, field, 0)?;
    if let Some(s) = &s {
        check_len(field, s, min, max)?;
    }
    Ok(s)
}

/// An optional, nullable string: absent → `None`, `null` → `Some(None)`.
pub fn opt_nullable_str(
    map: &Map<String, Value>,
    field: &str,
    min: usize,
    max: usize,
) -> ApiResult<Option<Option<String>>> {
    match map.get(field) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => {
            check_len(field, s, min, max)?;
            Ok(Some(Some(s.clone())))
        }
        Some(other) => Err(ApiError::field(
            field,
            format!("must be a string or null, got {}", type_name(other)),
        )),
    }
}

fn int_value(field: &str, value: &Value, min: i64, max: i64) -> ApiResult<i64> {
    let n = match value {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        _ => None,
    };
    match n {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::field(
            field,
            format!("must be between {min} and {max}, got {n}"),
        )),
        None => Err(ApiError::field(
            field,
            format!("must be an integer, got {}", type_name(value)),
        )),
    }
}

/// An optional (non-null) integer within `min..=max`.
pub fn opt_int(
    map: &Map<String, Value>,
    field: &str,
    min: i64,
    max: i64,
) -> ApiResult<Option<i64>> {
    map.get(field)
        .map(|x| int_value(field, x, min, max))
        .transpose()
}

/// An optional, nullable integer within `min..=max`.
pub fn opt_nullable_int(
    map: &Map<String, Value>,
    field: &str,
    min: i64,
    max: i64,
) -> ApiResult<Option<Option<i64>>> {
    match map.get(field) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(x) => int_value(field, x, min, max).map(|n| Some(Some(n))),
    }
}

/// A string that must be one of `allowed`; returns the matching `'static` value.
pub fn enum_value(field: &str, value: &Value, allowed: &[&'static str]) -> ApiResult<&'static str> {
    match value {
        Value::String(s) => allowed.iter().copied().find(|a| a == s).ok_or_else(|| {
            ApiError::field(
                field,
                format!(
                    "invalid value '{s}' (expected one of: {})",
                    allowed.join(", ")
                ),
            )
        }),
        other => Err(ApiError::field(
            field,
            format!("must be a string, got {}", type_name(other)),
        )),
    }
}

/// An optional (non-null) enum field.
pub fn opt_enum(
    map: &Map<String, Value>,
    field: &str,
    allowed: &[&'static str],
) -> ApiResult<Option<&'static str>> {
    map.get(field)
        .map(|x| enum_value(field, x, allowed))
        .transpose()
}

/// A required enum field.
pub fn req_enum(
    map: &Map<String, Value>,
    field: &str,
    allowed: &[&'static str],
) -> ApiResult<&'static str> {
    match map.get(field) {
        None | Some(Value::Null) => Err(ApiError::field(field, "is required")),
        Some(x) => enum_value(field, x, allowed),
    }
}

/// An optional, nullable enum field.
pub fn opt_nullable_enum(
    map: &Map<String, Value>,
    field: &str,
    allowed: &[&'static str],
) -> ApiResult<Option<Option<&'static str>>> {
    match map.get(field) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(x) => enum_value(field, x, allowed).map(|s| Some(Some(s))),
    }
}

/// A required boolean.
pub fn req_bool(map: &Map<String, Value>, field: &str) -> ApiResult<bool> {
    match map.get(field) {
        None | Some(Value::Null) => Err(ApiError::field(field, "is required")),
        Some(_) => v::opt_bool(map, field).map(|b| b.unwrap_or_default()),
    }
}

/// An optional, nullable boolean.
pub fn opt_nullable_bool(map: &Map<String, Value>, field: &str) -> ApiResult<Option<Option<bool>>> {
    match map.get(field) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(_) => v::opt_bool(map, field).map(Some),
    }
}

/// An optional array of enum strings (`null` is rejected).
pub fn opt_enum_list(
    map: &Map<String, Value>,
    field: &str,
    allowed: &[&'static str],
) -> ApiResult<Option<Vec<&'static str>>> {
    match map.get(field) {
        None => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, x)| enum_value(&format!("{field}[{i}]"), x, allowed))
            .collect::<ApiResult<Vec<_>>>()
            .map(Some),
        Some(other) => Err(ApiError::field(
            field,
            format!("must be an array, got {}", type_name(other)),
        )),
    }
}

/// An optional array of `min..=max` uuids; `unique` rejects repeated ids.
pub fn opt_uuid_list(
    map: &Map<String, Value>,
    field: &str,
    min: usize,
    max: usize,
    unique: bool,
) -> ApiResult<Option<Vec<Uuid>>> {
    let items = match map.get(field) {
        None => return Ok(None),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(ApiError::field(
                field,
                format!("must be an array of UUIDs, got {}", type_name(other)),
            ));
        }
    };
    if items.len() < min {
        return Err(ApiError::field(
            field,
            format!("must contain at least {min} item(s)"),
        ));
    }
    if items.len() > max {
        return Err(ApiError::field(
            field,
            format!("must contain at most {max} items, got {}", items.len()),
        ));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let f = format!("{field}[{i}]");
        let id = match item {
            Value::String(s) => v::uuid(&f, s)?,
            _ => return Err(ApiError::field(&f, "must be a UUID")),
        };
        if unique && out.contains(&id) {
            return Err(ApiError::field(&f, format!("duplicate id {id}")));
        }
        out.push(id);
    }
    Ok(Some(out))
}

/// An optional nested object (`null` is rejected).
pub fn opt_object<'a>(
    map: &'a Map<String, Value>,
    field: &str,
) -> ApiResult<Option<&'a Map<String, Value>>> {
    match map.get(field) {
        None => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(other) => Err(ApiError::field(
            field,
            format!("must be an object, got {}", type_name(other)),
        )),
    }
}
