//! Request validation: JSON bodies, query strings, path ids and the BuildConfigV2 shape.
//!
//! Every failure is a 400 whose message starts with the offending field, e.g. `agent_id: must be a UUID`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::errors::{ApiError, ApiResult};

/// Agent model ids accepted in `config.data.models.agent.model`.
pub const AGENT_MODELS: &[&str] = &[
    "claude-sonnet-5",
    "claude-sonnet-5[1m]",
    "claude-opus-4-8",
    "claude-opus-4-8[1m]",
    "d1-max",
    "duvo-1-max",
    "duvo-1-max-sonnet-1m",
    "duvo-1-max-sonnet-4.5",
    "duvo-1-max-sonnet-4.5-1m",
    "duvo-1-max-opus",
    "duvo-1-max-opus-4.5",
    "gpt-4.1",
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-5",
    "gpt-5.1",
    "claude-sonnet-4-20250514",
    "claude-sonnet-4-20250514[1m]",
    "claude-sonnet-4-5-20250929",
    "claude-sonnet-4-5-20250929[1m]",
    "claude-sonnet-4-6",
    "claude-sonnet-4-6[1m]",
    "claude-opus-4-1-20250805",
    "claude-opus-4-5-20251101",
    "claude-opus-4-6",
    "claude-opus-4-6[1m]",
    "claude-opus-4-7",
    "claude-opus-4-7[1m]",
];

/// Browsing providers accepted in `config.data.models.browsing.provider`.
pub const BROWSING_PROVIDERS: &[&str] = &["google", "anthropic"];

/// Browsing model ids accepted in `config.data.models.browsing.model`.
pub const BROWSING_MODELS: &[&str] = &[
    "gemini-2.5-pro",
    "gemini-2.5-flash",
    "gemini-3-pro-preview",
    "claude-haiku-4-5",
    "claude-sonnet-4-5",
    "claude-opus-4-1",
];

/// Parse a request body as a JSON object (an empty body counts as `{}`).
pub fn json_object(body: &[u8]) -> ApiResult<Map<String, Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request("body: must be a JSON object")),
        Err(e) => Err(ApiError::bad_request(format!("body: malformed JSON ({e})"))),
    }
}

/// Human name of a JSON value's type, for error messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Parse a UUID, naming `field` on failure.
pub fn uuid(field: &str, raw: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw.trim()).map_err(|_| ApiError::field(field, "must be a UUID"))
}

/// A required string field (at least `min_len` characters).
pub fn req_str(map: &Map<String, Value>, field: &str, min_len: usize) -> ApiResult<String> {
    match map.get(field) {
        None | Some(Value::Null) => Err(ApiError::field(field, "is required")),
        Some(v) => str_value(field, v, min_len),
    }
}

/// An optional string field (absent → `None`; `null` is rejected).
pub fn opt_str(map: &Map<String, Value>, field: &str, min_len: usize) -> ApiResult<Option<String>> {
    match map.get(field) {
        None => Ok(None),
        Some(v) => str_value(field, v, min_len).map(Some),
    }
}

fn str_value(field: &str, v: &Value, min_len: usize) -> ApiResult<String> {
    match v {
        Value::String(s) if s.chars().count() >= min_len => Ok(s.clone()),
        Value::String(_) if min_len == 1 => Err(ApiError::field(field, "must not be empty")),
        Value::String(_) => Err(ApiError::field(
            field,
            format!("must be at least {min_len} characters"),
        )),
        other => Err(ApiError::field(
            field,
            format!("must be a string, got {}", type_name(other)),
        )),
    }
}

/// An optional boolean field (absent → `None`).
pub fn opt_bool(map: &Map<String, Value>, field: &str) -> ApiResult<Option<bool>> {
    match map.get(field) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(ApiError::field(
            field,
            format!("must be a boolean, got {}", type_name(other)),
        )),
    }
}

/// An optional, nullable UUID field: absent → `None`, `null` → `Some(None)`.
pub fn opt_nullable_uuid(map: &Map<String, Value>, field: &str) -> ApiResult<Option<Option<Uuid>>> {
    match map.get(field) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => uuid(field, s).map(|u| Some(Some(u))),
        Some(_) => Err(ApiError::field(field, "must be a UUID")),
    }
}

/// An optional, non-nullable UUID field.
pub fn opt_uuid(map: &Map<String, Value>, field: &str) -> ApiResult<Option<Uuid>> {
    match map.get(field) {
        None => Ok(None),
        Some(Value::String(s)) => uuid(field, s).map(Some),
        Some(_) => Err(ApiError::field(field, "must be a UUID")),
    }
}

/// Check that `raw` is an absolute http(s) URI.
pub fn uri(field: &str, raw: &str) -> ApiResult<()> {
    match url::Url::parse(raw) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => Ok(()),
        _ => Err(ApiError::field(field, "must be an absolute http(s) URI")),
    }
}

/// Parsed query string (last value wins for repeated keys).
#[derive(Debug, Default)]
pub struct Query {
    params: HashMap<String, String>,
}

impl Query {
    /// Parse a raw query string (`None` → empty).
    pub fn parse(raw: Option<&str>) -> Self {
        let params = raw
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        Self { params }
    }

    /// Raw value of a parameter (empty strings count as absent).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .get(name)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    /// An integer parameter within `[min, max]`, or `default` when absent.
    pub fn int(&self, name: &str, min: u64, max: u64, default: u64) -> ApiResult<u64> {
        let Some(raw) = self.get(name) else {
            return Ok(default);
        };
        let n: u64 = raw.trim().parse().map_err(|_| {
            ApiError::field(name, format!("must be an integer between {min} and {max}"))
        })?;
        if n < min || n > max {
            return Err(ApiError::field(
                name,
                format!("must be between {min} and {max}, got {n}"),
            ));
        }
        Ok(n)
    }

    /// Standard `limit` + `offset` pair.
    pub fn page(&self, max_limit: u64, default_limit: u64) -> ApiResult<(usize, usize)> {
        let limit = self.int("limit", 1, max_limit, default_limit)?;
        let offset = self.int("offset", 0, 9_007_199_254_740_991, 0)?;
        Ok((
            usize::try_from(limit).unwrap_or(usize::MAX),
            usize::try_from(offset).unwrap_or(usize::MAX),
        ))
    }

    /// A parameter restricted to `allowed` values (or `default` when absent).
    pub fn one_of<'a>(
        &'a self,
        name: &str,
        allowed: &[&'static str],
        default: Option<&'static str>,
    ) -> ApiResult<Option<&'a str>> {
        match self.get(name) {
            None => Ok(default),
            Some(v) if allowed.contains(&v) => Ok(Some(v)),
            Some(v) => Err(ApiError::field(
                name,
                format!(
                    "invalid value '{v}' (expected one of: {})",
                    allowed.join(", ")
                ),
            )),
        }
    }

    /// A comma-separated list whose items must all be in `allowed`.
    pub fn list_of(&self, name: &str, allowed: &[&'static str]) -> ApiResult<Option<Vec<String>>> {
        let Some(raw) = self.get(name) else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for item in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if !allowed.contains(&item) {
                return Err(ApiError::field(
                    name,
                    format!(
                        "invalid value '{item}' (expected a comma-separated list of: {})",
                        allowed.join(", ")
                    ),
                ));
            }
            out.push(item.to_string());
        }
        Ok(Some(out))
    }

    /// An optional UUID parameter.
    pub fn uuid(&self, name: &str) -> ApiResult<Option<Uuid>> {
        self.get(name).map(|v| uuid(name, v)).transpose()
    }

    /// An optional ISO-8601 date-time parameter.
    pub fn datetime(&self, name: &str) -> ApiResult<Option<DateTime<Utc>>> {
        self.get(name)
            .map(|v| {
                DateTime::parse_from_rfc3339(v)
                    .map(|d| d.with_timezone(&Utc))
                    .ok()
                    .or_else(|| {
                        chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                            .ok()
                            .and_then(|d| d.and_hms_opt(0, 0, 0))
                            .map(|d| d.and_utc())
                    })
                    .ok_or_else(|| ApiError::field(name, "must be an ISO-8601 date-time"))
            })
            .transpose()
    }
}

fn enum_str<'a>(v: Option<&'a Value>, field: &str, allowed: &[&str]) -> ApiResult<&'a str> {
    match v {
        None | Some(Value::Null) => Err(ApiError::field(field, "is required")),
        Some(Value::String(s)) if allowed.contains(&s.as_str()) => Ok(s),
        Some(Value::String(s)) => Err(ApiError::field(
            field,
            format!(
                "invalid value '{s}' (expected one of: {})",
                allowed.join(", ")
            ),
        )),
        Some(other) => Err(ApiError::field(
            field,
            format!("must be a string, got {}", type_name(other)),
        )),
    }
}

fn obj<'a>(v: Option<&'a Value>, field: &str) -> ApiResult<&'a Map<String, Value>> {
    match v {
        None | Some(Value::Null) => Err(ApiError::field(field, "is required")),
        Some(Value::Object(m)) => Ok(m),
        Some(other) => Err(ApiError::field(
            field,
            format!("must be an object, got {}", type_name(other)),
        )),
    }
}

fn string_array(v: Option<&Value>, field: &str, uuids: bool) -> ApiResult<()> {
    match v {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let name = format!("{field}[{i}]");
                match item {
                    Value::String(s) if uuids => {
                        uuid(&name, s)?;
                    }
                    Value::String(_) => {}
                    other => {
                        return Err(ApiError::field(
                            &name,
                            format!("must be a string, got {}", type_name(other)),
                        ));
                    }
                }
            }
            Ok(())
        }
        Some(other) => Err(ApiError::field(
            field,
            format!("must be an array, got {}", type_name(other)),
        )),
    }
}

fn validate_input(v: Option<&Value>, field: &str) -> ApiResult<()> {
    match v {
        None | Some(Value::Null) => Err(ApiError::field(field, "is required")),
        Some(Value::String(_)) => Ok(()),
        Some(Value::Array(msgs)) => {
            for (i, m) in msgs.iter().enumerate() {
                let base = format!("{field}[{i}]");
                let m = obj(Some(m), &base)?;
                enum_str(
                    m.get("role"),
                    &format!("{base}.role"),
                    &["system", "user", "assistant"],
                )?;
                match m.get("type") {
                    None | Some(Value::Null) => {}
                    t => {
                        enum_str(t, &format!("{base}.type"), &["message"])?;
                    }
                }
                let cfield = format!("{base}.content");
                match m.get("content") {
                    None | Some(Value::Null) => {
                        return Err(ApiError::field(&cfield, "is required"));
                    }
                    Some(Value::String(_)) => {}
                    Some(Value::Array(parts)) => {
                        for (j, p) in parts.iter().enumerate() {
                            let pf = format!("{cfield}[{j}]");
                            let p = obj(Some(p), &pf)?;
                            let kind = enum_str(
                                p.get("type"),
                                &format!("{pf}.type"),
                                &["input_text", "input_image", "input_file"],
                            )?;
                            match kind {
                                "input_text" => {
                                    req_str(p, "text", 0).map_err(|_| {
                                        ApiError::field(
                                            &format!("{pf}.text"),
                                            "is required and must be a string",
                                        )
                                    })?;
                                }
                                "input_file" => {
                                    req_str(p, "file_id", 0).map_err(|_| {
                                        ApiError::field(
                                            &format!("{pf}.file_id"),
                                            "is required and must be a string",
                                        )
                                    })?;
                                }
                                _ => {
                                    if let Some(d) = p.get("detail").filter(|d| !d.is_null()) {
                                        enum_str(
                                            Some(d),
                                            &format!("{pf}.detail"),
                                            &["low", "high", "auto"],
                                        )?;
                                    }
                                    for key in ["file_id", "url"] {
                                        match p.get(key) {
                                            None | Some(Value::Null) | Some(Value::String(_)) => {}
                                            Some(_) => {
                                                return Err(ApiError::field(
                                                    &format!("{pf}.{key}"),
                                                    "must be a string or null",
                                                ));
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    Some(other) => {
                        return Err(ApiError::field(
                            &cfield,
                            format!("must be a string or an array, got {}", type_name(other)),
                        ));
                    }
                }
            }
            Ok(())
        }
        Some(other) => Err(ApiError::field(
            field,
            format!(
                "must be a string or an array of messages, got {}",
                type_name(other)
            ),
        )),
    }
}

/// Validate a BuildConfigV2 request value and return it in response form (list fields defaulted to `[]`).
pub fn build_config_v2(v: &Value, field: &str) -> ApiResult<Value> {
    let cfg = obj(Some(v), field)?;
    match cfg.get("version") {
        None | Some(Value::Null) => {
            return Err(ApiError::field(&format!("{field}.version"), "is required"));
        }
        Some(Value::String(s)) if s == "v2" => {}
        Some(Value::String(s)) if s == "v1" => {
            return Err(ApiError::field(
                &format!("{field}.version"),
                "legacy v1 configs are not accepted; send a BuildConfigV2 (\"version\": \"v2\")",
            ));
        }
        Some(other) => {
            return Err(ApiError::field(
                &format!("{field}.version"),
                format!("must be \"v2\", got {other}"),
            ));
        }
    }
    let data_f = format!("{field}.data");
    let data = obj(cfg.get("data"), &data_f)?;
    let models_f = format!("{data_f}.models");
    let models = obj(data.get("models"), &models_f)?;
    let agent = obj(models.get("agent"), &format!("{models_f}.agent"))?;
    enum_str(
        agent.get("model"),
        &format!("{models_f}.agent.model"),
        AGENT_MODELS,
    )?;
    let browsing = obj(models.get("browsing"), &format!("{models_f}.browsing"))?;
    enum_str(
        browsing.get("provider"),
        &format!("{models_f}.browsing.provider"),
        BROWSING_PROVIDERS,
    )?;
    enum_str(
        browsing.get("model"),
        &format!("{models_f}.browsing.model"),
        BROWSING_MODELS,
    )?;
    validate_input(data.get("input"), &format!("{data_f}.input"))?;
    for key in ["files", "skills", "plugins"] {
        string_array(data.get(key), &format!("{data_f}.{key}"), false)?;
    }
    string_array(data.get("subAgents"), &format!("{data_f}.subAgents"), true)?;
    if let Some(opts) = data.get("options") {
        let of = format!("{data_f}.options");
        let opts = obj(Some(opts), &of)?;
        if let Some(bp) = opts.get("browserProvider") {
            enum_str(
                Some(bp),
                &format!("{of}.browserProvider"),
                &["browserbase", "browser-use"],
            )?;
        }
        match opts.get("evaluationSchemaId") {
            None | Some(Value::String(_)) => {}
            Some(_) => {
                return Err(ApiError::field(
                    &format!("{of}.evaluationSchemaId"),
                    "must be a string",
                ));
            }
        }
        match opts.get("benchmarkExpectedOutcomes") {
            None => {}
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let f = format!("{of}.benchmarkExpectedOutcomes[{i}]");
                    let item = obj(Some(item), &f)?;
                    for k in ["description", "criteria"] {
                        req_str(item, k, 0).map_err(|_| {
                            ApiError::field(&format!("{f}.{k}"), "is required and must be a string")
                        })?;
                    }
                }
            }
            Some(_) => {
                return Err(ApiError::field(
                    &format!("{of}.benchmarkExpectedOutcomes"),
                    "must be an array",
                ));
            }
        }
    }

    // Response form: keep the known keys in spec order, default the list fields.
    let mut out_models = Map::new();
    out_models.insert(
        "agent".into(),
        serde_json::json!({ "model": agent.get("model").cloned().unwrap_or(Value::Null) }),
    );
    out_models.insert(
        "browsing".into(),
        serde_json::json!({
            "provider": browsing.get("provider").cloned().unwrap_or(Value::Null),
            "model": browsing.get("model").cloned().unwrap_or(Value::Null),
        }),
    );
    let mut out_data = Map::new();
    out_data.insert("models".into(), Value::Object(out_models));
    out_data.insert(
        "input".into(),
        data.get("input").cloned().unwrap_or(Value::Null),
    );
    for key in ["files", "skills", "plugins", "subAgents"] {
        out_data.insert(
            key.into(),
            data.get(key)
                .cloned()
                .unwrap_or_else(|| Value::Array(Vec::new())),
        );
    }
    if let Some(opts) = data.get("options") {
        out_data.insert("options".into(), opts.clone());
    }
    Ok(serde_json::json!({ "version": "v2", "data": Value::Object(out_data) }))
}

/// The SOP text of a stored config (`data.input`), flattened to one string.
pub fn sop_text(config: &Value) -> String {
    let input = config.get("data").and_then(|d| d.get("input"));
    match input {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(msgs)) => {
            let mut out = String::new();
            for m in msgs {
                match m.get("content") {
                    Some(Value::String(s)) => {
                        out.push_str(s);
                        out.push('\n');
                    }
                    Some(Value::Array(parts)) => {
                        for p in parts {
                            if let Some(Value::String(t)) = p.get("text") {
                                out.push_str(t);
                                out.push('\n');
                            }
                        }
                    }
                    _ => {}
                }
            }
            out
        }
        _ => String::new(),
    }
}

/// One page of `items` in Duvo's list envelope `{<key>: [...], total, limit, offset}`, each item
/// turned into JSON by `to_json`; `page` is [`Query::page`]'s `(limit, offset)`.
pub fn page_envelope<I, T>(
    key: &str,
    items: I,
    (limit, offset): (usize, usize),
    to_json: impl FnMut(T) -> Value,
) -> Value
where
    I: IntoIterator<Item = T>,
    I::IntoIter: ExactSizeIterator,
{
    let items = items.into_iter();
    let total = items.len();
    let page: Vec<Value> = items.skip(offset).take(limit).map(to_json).collect();
    let mut out = Map::new();
    out.insert(key.to_owned(), Value::Array(page));
    out.insert("total".into(), total.into());
    out.insert("limit".into(), limit.into());
    out.insert("offset".into(), offset.into());
    Value::Object(out)
}
