//! Path/query parameter coercion and checks, and the minimal multipart reader.

use serde_json::{Number, Value};

use super::super::errors::ApiError;
use super::document::{Param, SPEC};
use super::validators::first_problem;

/// JSON types a schema admits (from `type` or the branches of `anyOf`/`oneOf`).
fn allowed_types(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    match schema.get("type") {
        Some(Value::String(t)) => out.push(t.clone()),
        Some(Value::Array(ts)) => out.extend(ts.iter().filter_map(Value::as_str).map(String::from)),
        _ => {}
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = schema.get(key) {
            for b in branches {
                out.extend(allowed_types(b));
            }
        }
    }
    out
}

/// Typed readings of one raw parameter value, most specific first.
fn readings(raw: &str, schema: &Value) -> Vec<Value> {
    let types = allowed_types(schema);
    let has = |t: &str| types.iter().any(|x| x == t);
    let mut out = Vec::new();
    let trimmed = raw.trim();
    if has("integer") || has("number") {
        if let Ok(i) = trimmed.parse::<i64>() {
            out.push(Value::from(i));
        } else if has("number")
            && let Some(n) = trimmed
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .and_then(Number::from_f64)
        {
            out.push(Value::Number(n));
        }
    }
    if has("boolean") && matches!(trimmed, "true" | "false") {
        out.push(Value::Bool(trimmed == "true"));
    }
    if has("string") || types.is_empty() || out.is_empty() {
        out.push(Value::String(raw.to_string()));
    }
    out
}

/// Check one parameter's raw values (several for repeated query keys) against its schema and
/// return the typed value, or a 400 naming the parameter.
pub fn check(param: &Param, raw_values: &[&str]) -> Result<Value, ApiError> {
    let candidates: Vec<Value> = if allowed_types(&param.schema).iter().any(|t| t == "array") {
        let items = param.schema.get("items").cloned().unwrap_or(Value::Null);
        let values = raw_values
            .iter()
            .flat_map(|r| r.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                readings(s, &items)
                    .into_iter()
                    .next()
                    .unwrap_or(Value::Null)
            })
            .collect();
        vec![Value::Array(values)]
    } else {
        readings(raw_values.last().copied().unwrap_or(""), &param.schema)
    };
    let Some(validator) = param.validator.get(&param.schema, &SPEC.defs_request) else {
        return Ok(candidates.into_iter().next().unwrap_or(Value::Null));
    };
    if let Some(ok) = candidates.iter().find(|c| validator.is_valid(c)) {
        return Ok(ok.clone());
    }
    let first = candidates.first().cloned().unwrap_or(Value::Null);
    let problem = first_problem(&validator, &first, &param.name);
    let (field, text) = match problem {
        Some(p) if p.field == param.name => (p.field, p.problem),
        Some(p) => (format!("{}.{}", param.name, p.field), p.problem),
        None => (param.name.clone(), "is invalid".to_string()),
    };
    Err(ApiError::field(&field, text))
}

/// One part of a multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Form field name.
    pub name: Option<String>,
    /// File name, for file parts.
    pub filename: Option<String>,
    /// Content length in bytes.
    pub size: usize,
    /// The content when it is short UTF-8 text (for text fields such as `path`).
    pub text: Option<String>,
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

fn disposition_value(headers: &str, key: &str) -> Option<String> {
    let line = headers
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("content-disposition"))?;
    let pat = format!("{key}=\"");
    let start = line.find(&pat)? + pat.len();
    let end = line[start..].find('"')? + start;
    Some(line[start..end].to_string())
}

/// The parts of a `multipart/form-data` body (None when the content type or framing is wrong).
pub fn multipart_parts(content_type: &str, body: &[u8]) -> Option<Vec<Part>> {
    let lower = content_type.to_ascii_lowercase();
    if !lower.starts_with("multipart/form-data") {
        return None;
    }
    let idx = lower.find("boundary=")? + "boundary=".len();
    let boundary = content_type[idx..]
        .split(';')
        .next()?
        .trim()
        .trim_matches('"');
    if boundary.is_empty() {
        return None;
    }
    let delim = format!("--{boundary}");
    let delim = delim.as_bytes();
    let mut parts = Vec::new();
    let mut pos = find(body, delim, 0)? + delim.len();
    loop {
        if body[pos..].starts_with(b"--") {
            break;
        }
        let next = find(body, delim, pos)?;
        let chunk = &body[pos..next];
        let chunk = chunk.strip_prefix(b"\r\n").unwrap_or(chunk);
        let chunk = chunk.strip_suffix(b"\r\n").unwrap_or(chunk);
        let split = find(chunk, b"\r\n\r\n", 0);
        let (headers, content) = match split {
            Some(i) => (&chunk[..i], &chunk[i + 4..]),
            None => (chunk, &[][..]),
        };
        let headers = String::from_utf8_lossy(headers);
        parts.push(Part {
            name: disposition_value(&headers, "name"),
            filename: disposition_value(&headers, "filename"),
            size: content.len(),
            text: (content.len() <= 4096)
                .then(|| std::str::from_utf8(content).ok().map(str::to_string))
                .flatten(),
        });
        pos = next + delim.len();
        if pos >= body.len() {
            break;
        }
    }
    Some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_parts_are_read() {
        let body = b"--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\nx,y\n1,2\r\n--xyz\r\nContent-Disposition: form-data; name=\"path\"\r\n\r\n/workspace/a.csv\r\n--xyz--\r\n";
        let parts = multipart_parts("multipart/form-data; boundary=xyz", body).unwrap_or_default();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].filename.as_deref(), Some("a.csv"));
        assert_eq!(parts[0].size, 7);
        assert_eq!(parts[1].name.as_deref(), Some("path"));
        assert_eq!(parts[1].text.as_deref(), Some("/workspace/a.csv"));
        assert!(multipart_parts("application/json", body).is_none());
        assert_eq!(
            multipart_parts("multipart/form-data; boundary=xyz", b"--xyz--\r\n"),
            Some(vec![])
        );
    }

    #[test]
    fn readings_follow_the_schema() {
        let s = serde_json::json!({"type": "integer"});
        assert_eq!(readings("5", &s), vec![Value::from(5)]);
        assert_eq!(readings("x", &s), vec![Value::from("x")]);
        let s = serde_json::json!({"anyOf": [{"type": "boolean"}, {"type": "string", "enum": ["true"]}]});
        assert_eq!(
            readings("true", &s),
            vec![Value::Bool(true), Value::from("true")]
        );
    }
}
