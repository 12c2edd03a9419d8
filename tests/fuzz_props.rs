//! Fuzzing in the normal suite (bounded, a few seconds): arbitrary and schema-guided arguments
//! through validation and mapping for every catalog entry, arbitrary API answers through result
//! shaping, and malformed JSON-RPC frames through a live stdio session and the HTTP endpoints.
//! Properties: no panic, no hang, exactly one well-formed JSON-RPC answer per request, 4xx (never
//! 5xx) for malformed HTTP bodies, and the process stays alive.
//!
//! The normal suite uses a fixed seed (reproducible CI). Longer runs:
//! `DUVO_FUZZ_SEED=random DUVO_FUZZ_SCALE=50 cargo test --release --test fuzz_props` draws fresh
//! inputs and multiplies every count here; `fuzz/` (cargo-fuzz) runs without end. A failure prints
//! the input.

// Test helpers outside #[test] fns may unwrap/expect/panic too (the crate denies them in src).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod http_support;

use duvo_mcp::catalog::{Catalog, Segment, ToolEntry, mapping};
use duvo_mcp::client::{ApiBody, ApiResponse, RequestBody};
use duvo_mcp::render::results;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use rmcp::model::JsonObject;
use serde_json::{Value, json};
use std::process::Stdio;
use std::sync::LazyLock;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

/// The embedded catalog, loaded once.
static CATALOG: LazyLock<Catalog> =
    LazyLock::new(|| Catalog::embedded().expect("embedded catalog loads"));

const UUID: &str = "0b5e2f4a-3c1d-4e6f-8a9b-1c2d3e4f5a6b";
const TEAM: &str = "3b6f2a4e-1c8d-4e5f-9a7b-2d4c6e8f0a1b";
/// Generated cases per catalog entry (schema-guided and fully arbitrary).
const CASES_PER_ENTRY: u32 = 24;
/// Frames sent through the live stdio session per run.
const STDIO_FRAMES: usize = 64;
/// Frames sent to each HTTP endpoint per run.
const HTTP_FRAMES: usize = 24;
/// Nesting of the deep arguments: JSON-RPC input is parsed with serde_json's limit of 128 levels,
/// so nothing deeper can reach the mapping.
const DEEP: usize = 126;
/// Bound on waiting for any one answer.
const ANSWER_WAIT: Duration = Duration::from_secs(20);

/// The multiplier of every count above, from `DUVO_FUZZ_SCALE` (default 1).
fn scale() -> usize {
    std::env::var("DUVO_FUZZ_SCALE")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1)
}

/// The default seed: the normal suite draws the same inputs on every run, so CI is reproducible.
const DEFAULT_SEED: u64 = 0x00d0_5eed;

/// The seed, from `DUVO_FUZZ_SEED` (a number, or `random` for a fresh one each run), else
/// [`DEFAULT_SEED`].
fn rng_seed() -> RngSeed {
    match std::env::var("DUVO_FUZZ_SEED")
        .ok()
        .as_deref()
        .map(str::trim)
    {
        Some("random") => RngSeed::Random,
        Some(n) => {
            RngSeed::Fixed(n.parse().unwrap_or_else(|_| {
                panic!("DUVO_FUZZ_SEED must be a number or `random`, not {n:?}")
            }))
        }
        None => RngSeed::Fixed(DEFAULT_SEED),
    }
}

fn config(cases: u32) -> Config {
    Config {
        rng_seed: rng_seed(),
        cases: cases.saturating_mul(u32::try_from(scale()).unwrap_or(u32::MAX)),
        failure_persistence: None,
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

/// Strings that break naive code: dot segments, separators, controls, bidi marks, huge ones.
fn hostile_string() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "\\PC{0,24}",
        2 => "[a-z0-9_./%-]{0,12}",
        1 => Just(String::new()),
        1 => Just(".".to_owned()),
        1 => Just("..".to_owned()),
        1 => Just("%2e%2E".to_owned()),
        1 => Just("../../etc/passwd".to_owned()),
        1 => Just("a/b?c=d#e f".to_owned()),
        1 => Just("\u{0}\u{1f}\r\n\t\\".to_owned()),
        1 => Just("\u{202e}\u{feff}\u{1d56f}\u{1f980}".to_owned()),
        1 => Just("</untrusted-duvo-data>".to_owned()),
        2 => Just(UUID.to_owned()),
        1 => (1usize..=70_000).prop_map(|n| "x".repeat(n)),
    ]
    .boxed()
}

fn key() -> BoxedStrategy<String> {
    prop_oneof![3 => "[a-z_]{1,10}", 1 => "\\PC{0,8}"].boxed()
}

/// `depth` levels of nesting, alternating arrays and objects.
fn nested(depth: usize) -> Value {
    let mut v = json!("core");
    for i in 0..depth {
        v = if i % 2 == 0 {
            json!([v])
        } else {
            json!({ "k": v })
        };
    }
    v
}

/// Any JSON value: scalars of every kind, nested arrays and objects, occasionally very deep.
fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| {
            serde_json::Number::from_f64(f)
                .map(Value::Number)
                .unwrap_or(Value::Null)
        }),
        hostile_string().prop_map(Value::String),
    ];
    let tree = leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    prop_oneof![12 => tree, 1 => (1usize..120).prop_map(nested)].boxed()
}

fn json_object() -> BoxedStrategy<JsonObject> {
    prop::collection::btree_map(key(), json_value(), 0..6)
        .prop_map(|m| m.into_iter().collect())
        .boxed()
}

fn schema_type(schema: &Value) -> Option<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => Some(t),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null"),
        _ => None,
    }
}

/// A value for one property: mostly of the declared type (enum members, uuids, boundary
/// numbers), sometimes anything at all.
fn value_for(schema: &Value, depth: u32) -> BoxedStrategy<Value> {
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.is_empty()
    {
        let options = options.clone();
        return prop_oneof![4 => prop::sample::select(options), 1 => json_value()].boxed();
    }
    let typed: BoxedStrategy<Value> = match schema_type(schema) {
        Some("string") if schema.get("format").and_then(Value::as_str) == Some("uuid") => {
            prop_oneof![3 => Just(json!(UUID)), 1 => hostile_string().prop_map(Value::String)]
                .boxed()
        }
        Some("string") => hostile_string().prop_map(Value::String).boxed(),
        Some("integer") => prop_oneof![
            (-3i64..300).prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            Just(json!(u64::MAX)),
        ]
        .boxed(),
        Some("number") => prop_oneof![
            (-1.0e6f64..1.0e6).prop_map(|f| json!(f)),
            Just(json!(1e308)),
            Just(json!(-0.0)),
        ]
        .boxed(),
        Some("boolean") => any::<bool>().prop_map(Value::Bool).boxed(),
        Some("array") if depth < 3 => {
            let items = schema.get("items").cloned().unwrap_or(json!({}));
            prop::collection::vec(value_for(&items, depth + 1), 0..4)
                .prop_map(Value::Array)
                .boxed()
        }
        Some("object") if depth < 3 && schema.get("properties").is_some() => {
            object_for(schema, depth + 1)
                .prop_map(Value::Object)
                .boxed()
        }
        _ => json_value(),
    };
    prop_oneof![5 => typed, 1 => json_value()].boxed()
}

/// Arguments shaped like `schema`: each property present or not, plus sometimes an unknown field.
fn object_for(schema: &Value, depth: u32) -> BoxedStrategy<JsonObject> {
    let props = schema
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let fields: Vec<BoxedStrategy<Option<(String, Value)>>> = props
        .into_iter()
        .map(|(name, sub)| {
            prop::option::weighted(
                0.6,
                value_for(&sub, depth).prop_map(move |v| (name.clone(), v)),
            )
            .boxed()
        })
        .collect();
    let extra = prop::option::weighted(0.2, (key(), json_value()));
    (fields, extra)
        .prop_map(|(fields, extra)| {
            let mut obj: JsonObject = fields.into_iter().flatten().collect();
            if let Some((k, v)) = extra {
                obj.insert(k, v);
            }
            obj
        })
        .boxed()
}

fn args_for(entry: &ToolEntry) -> BoxedStrategy<JsonObject> {
    let schema = Value::Object((*entry.tool().input_schema).clone());
    prop_oneof![3 => object_for(&schema, 0), 1 => json_object()].boxed()
}

// ---------------------------------------------------------------------------------------------
// Arguments → validation → REST request
// ---------------------------------------------------------------------------------------------

fn check_path(entry: &ToolEntry, path: &str) -> Result<(), TestCaseError> {
    prop_assert!(path.starts_with('/'), "path {path:?}");
    prop_assert!(
        !path
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '?' || c == '#'),
        "unescaped character in path {path:?}"
    );
    let mut url =
        url::Url::parse("http://127.0.0.1:1/").map_err(|e| TestCaseError::fail(e.to_string()))?;
    url.set_path(path);
    prop_assert_eq!(
        url.path(),
        path,
        "URL normalisation rewrites the path: the call would reach another endpoint"
    );
    let wildcard = entry
        .segments
        .iter()
        .any(|s| matches!(s, Segment::Param { name, .. } if name == "*"));
    let parts: Vec<&str> = path[1..].split('/').collect();
    if wildcard {
        prop_assert!(parts.len() >= entry.segments.len(), "path {path:?}");
    } else {
        prop_assert_eq!(
            parts.len(),
            entry.segments.len(),
            "a parameter added or removed a path segment: {}",
            path
        );
    }
    for (seg, part) in entry.segments.iter().zip(&parts) {
        match seg {
            Segment::Literal(text) => prop_assert_eq!(text.as_str(), *part),
            Segment::Param { .. } => prop_assert!(!part.is_empty(), "empty segment in {path:?}"),
        }
    }
    Ok(())
}

fn check_mapping(entry: &ToolEntry, args: &JsonObject) -> Result<(), TestCaseError> {
    // As the server does: normalise (API spellings, "true"/"false" for booleans), then validate.
    let mut normalized = args.clone();
    let valid = mapping::normalize(entry, &mut normalized)
        .and_then(|()| mapping::validate(entry, &normalized));
    if let Err(e) = &valid {
        let text = e.to_string();
        prop_assert!(text.contains(entry.name()), "error names the tool: {text}");
        // The tool error built from it is well-formed too.
        let shaped = results::invalid_arguments(entry, e);
        prop_assert_eq!(shaped.is_error, Some(true));
    }
    if entry.is_composite() {
        return Ok(());
    }
    match mapping::to_request(entry, args, Some(TEAM)) {
        Ok(req) => {
            prop_assert!(valid.is_ok(), "mapped although validation failed");
            check_path(entry, &req.path)?;
            for (k, _) in &req.query {
                prop_assert!(
                    normalized.keys().any(|a| entry.api_name(a) == k),
                    "query key {k} is not (the API name of) an argument"
                );
            }
            if !entry.method.has_body() {
                prop_assert!(
                    matches!(req.body, RequestBody::None),
                    "body on a GET/DELETE"
                );
            }
        }
        Err(e) => prop_assert!(!e.to_string().is_empty()),
    }
    Ok(())
}

#[test]
fn every_entry_validates_and_maps_arbitrary_arguments_without_panicking() {
    let entries = CATALOG.entries();
    assert!(entries.len() > 100, "the whole catalog is exercised");
    for entry in entries {
        let mut runner = TestRunner::new(config(CASES_PER_ENTRY));
        if let Err(e) = runner.run(&args_for(entry), |args| check_mapping(entry, &args)) {
            panic!("{}: {e}", entry.name());
        }
    }
}

#[test]
fn no_team_and_deeply_nested_arguments_are_refused_cleanly() {
    for entry in CATALOG.entries().iter().filter(|e| e.is_rest()) {
        let mut args = JsonObject::new();
        for (name, required) in entry.argument_names() {
            if required {
                args.insert(name, nested(DEEP));
            }
        }
        args.insert("zz_unknown".into(), nested(DEEP));
        assert!(mapping::validate(entry, &args).is_err(), "{}", entry.name());
        assert!(
            mapping::to_request(entry, &args, None).is_err(),
            "{}",
            entry.name()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// API answers → result shaping
// ---------------------------------------------------------------------------------------------

/// Something shaped like a Duvo list or object answer, sometimes huge.
fn api_answer() -> BoxedStrategy<Value> {
    let record = prop::collection::btree_map(key(), json_value(), 0..5)
        .prop_map(|m| Value::Object(m.into_iter().collect()));
    let list = prop::collection::vec(record, 0..80);
    (
        list,
        prop::option::of(prop_oneof![any::<u64>(), 0u64..500]),
        prop::collection::btree_map(key(), json_value(), 0..4),
        prop::option::of((1usize..90_000).prop_map(|n| "y".repeat(n))),
    )
        .prop_map(|(items, offset, rest, long)| {
            let mut obj: serde_json::Map<String, Value> = rest.into_iter().collect();
            obj.insert("data".into(), Value::Array(items));
            if let Some(o) = offset {
                obj.insert("offset".into(), json!(o));
            }
            if let Some(s) = long {
                obj.insert("content".into(), json!(s));
            }
            Value::Object(obj)
        })
        .boxed()
}

/// `cut to K of N characters` claims in a cap note.
fn cut_claims(note: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for part in note.split("cut to ").skip(1) {
        let mut words = part.split_whitespace();
        let k = words.next().and_then(|w| w.parse().ok());
        let of = words.next();
        let n = words.next().and_then(|w| {
            w.trim_end_matches(|c: char| !c.is_ascii_digit())
                .parse()
                .ok()
        });
        if let (Some(k), Some("of"), Some(n)) = (k, of, n) {
            out.push((k, n));
        }
    }
    out
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn capping_is_total_and_never_grows_a_result(
        v in prop_oneof![3 => api_answer(), 1 => json_value()],
        max in 64usize..20_000,
    ) {
        let before = v.to_string().len();
        let (out, note) = results::cap(v.clone(), max);
        let after = out.to_string().len();
        if before <= max {
            prop_assert_eq!(&out, &v);
            prop_assert!(note.is_none());
        }
        match &note {
            None => prop_assert_eq!(&out, &v, "changed without a note"),
            Some(note) => {
                // The `_truncated` marker may add a few bytes; anything more is growth.
                prop_assert!(after <= before + 128, "grew from {} to {} bytes: {}", before, after, note);
                for (k, n) in cut_claims(note) {
                    prop_assert!(k < n, "a string 'cut' to {} of {} characters: {}", k, n, note);
                }
            }
        }
        prop_assert_eq!(out.is_object(), v.is_object());
    }

    #[test]
    fn shaping_any_answer_gives_one_well_formed_result(
        v in api_answer(),
        bytes in prop::option::of(prop::collection::vec(any::<u8>(), 0..256)),
        which in 0usize..4,
    ) {
        let name = ["getRun", "listRunMessages", "getSkillFileContent", "listAgents"][which];
        let entry = CATALOG.get(name).expect("catalog tool");
        let body = match bytes {
            Some(data) => ApiBody::Bytes { content_type: "application/zip".into(), data },
            None => ApiBody::Json(v),
        };
        let args: JsonObject = json!({"run_id": UUID, "skill_id": UUID, "path": "SKILL.md"})
            .as_object().cloned().unwrap_or_default();
        let r = results::success(entry, &args, ApiResponse {
                status: 200,
                body,
                generated: false,
            });
        prop_assert!(r.structured_content.as_ref().is_some_and(Value::is_object));
        prop_assert!(!r.content.is_empty());
        let text = r.content[0].as_text().map(|t| t.text.len()).unwrap_or(0);
        prop_assert!(text <= results::MAX_RESULT_BYTES + 2_000, "text of {} bytes", text);
        prop_assert!(serde_json::to_string(&r).is_ok());
    }
}

// ---------------------------------------------------------------------------------------------
// JSON-RPC frames
// ---------------------------------------------------------------------------------------------

/// Methods a client may send, plus some that do not exist.
const METHODS: &[&str] = &[
    "initialize",
    "ping",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/read",
    "resources/templates/list",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
    "server/discover",
    "notifications/cancelled",
    "no/such/method",
    "",
];

fn request_id() -> BoxedStrategy<Value> {
    prop_oneof![
        (0i64..1_000_000).prop_map(Value::from),
        "[a-z]{1,8}".prop_map(Value::from)
    ]
    .boxed()
}

/// A `tools/call` for a catalog tool (or a made-up one) with schema-guided or arbitrary arguments.
fn tool_call() -> BoxedStrategy<Value> {
    let n = CATALOG.entries().len();
    let known = (0..n).prop_flat_map(|i| {
        let entry = &CATALOG.entries()[i];
        let name = entry.name().to_owned();
        args_for(entry).prop_map(move |a| (name.clone(), Value::Object(a)))
    });
    let made_up = (hostile_string(), json_value());
    (request_id(), prop_oneof![4 => known, 1 => made_up])
        .prop_map(|(id, (name, arguments))| {
            json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
               "params": {"name": name, "arguments": arguments}})
        })
        .boxed()
}

/// Any method with any params (or none), sometimes as a notification.
fn any_method() -> BoxedStrategy<Value> {
    (
        prop::option::weighted(0.85, request_id()),
        prop::sample::select(METHODS),
        prop::option::of(json_value()),
    )
        .prop_map(|(id, method, params)| {
            let mut m = json!({"jsonrpc": "2.0", "method": method});
            if let Some(id) = id {
                m["id"] = id;
            }
            if let Some(p) = params {
                m["params"] = p;
            }
            m
        })
        .boxed()
}

/// A plausible request with a broken envelope: version, id type, unknown fields, batches.
fn broken_envelope() -> BoxedStrategy<Value> {
    let base = prop_oneof![tool_call(), any_method()];
    (base, 0usize..7, json_value())
        .prop_map(|(mut m, how, junk)| {
            match how {
                0 => m["jsonrpc"] = json!("1.0"),
                1 => {
                    if let Some(o) = m.as_object_mut() {
                        o.remove("jsonrpc");
                    }
                }
                2 => m["id"] = junk,
                3 => m["unexpected"] = junk,
                4 => m["params"] = junk,
                5 => m = json!([m]),
                _ => m["method"] = junk,
            }
            m
        })
        .boxed()
}

/// Bytes that are not JSON-RPC at all: invalid UTF-8, truncations, deep nesting, BOMs.
fn raw_bytes() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        Just(b"\xff\xfe\xfd not utf-8".to_vec()),
        Just(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"".to_vec()),
        (1usize..5_000).prop_map(|n| "[".repeat(n).into_bytes()),
        (1usize..300).prop_map(|n| {
            let mut s = "{\"a\":".repeat(n);
            s.push('1');
            s.push_str(&"}".repeat(n));
            s.into_bytes()
        }),
        Just(
            "\u{feff}{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"
                .as_bytes()
                .to_vec()
        ),
    ]
    .prop_map(|mut b| {
        b.retain(|c| *c != b'\n');
        b
    })
    .boxed()
}

fn frame() -> BoxedStrategy<Vec<u8>> {
    let encode = |v: Value| serde_json::to_vec(&v).unwrap_or_default();
    prop_oneof![
        4 => tool_call().prop_map(encode),
        2 => any_method().prop_map(encode),
        2 => broken_envelope().prop_map(encode),
        1 => json_value().prop_map(encode),
        1 => raw_bytes(),
    ]
    .boxed()
}

/// `count` frames drawn from [`frame`] (no shrinking across a live session).
fn sample_frames(count: usize) -> Vec<Vec<u8>> {
    let mut runner = TestRunner::new(Config {
        cases: 1,
        rng_seed: rng_seed(),
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = frame();
    (0..count)
        .map(|_| {
            strategy
                .new_tree(&mut runner)
                .map(|t| t.current())
                .unwrap_or_default()
        })
        .collect()
}

/// The id a well-behaved server must echo: the frame is one JSON object with a string or
/// integer `id` and a `method` (a request), else `None` (a notification or not a request).
fn expected_id(frame: &[u8]) -> Option<Value> {
    let line = frame.strip_prefix("\u{feff}".as_bytes()).unwrap_or(frame);
    let v: Value = serde_json::from_slice(line).ok()?;
    let obj = v.as_object()?;
    obj.get("method")?;
    match obj.get("id")? {
        Value::String(s) => Some(Value::String(s.clone())),
        Value::Number(n) => integer_id(n).map(Value::from),
        _ => None,
    }
}

/// The integer a numeric id stands for under MCP's "string or integer" rule as rmcp reads it:
/// an i64, or an integral float an f64 holds exactly (`1.0`, `-0.0`, `1e2`); answered as that
/// integer.
fn integer_id(n: &serde_json::Number) -> Option<i64> {
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    if n.is_u64() {
        return None; // above i64::MAX
    }
    let f = n.as_f64()?;
    (f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0).then_some(f as i64)
}

/// Checks one server message is well-formed JSON-RPC 2.0; returns it.
fn well_formed(line: &str, sent: &str) -> Value {
    let v: Value = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("non-JSON output ({e}): {line:?} after {sent}"));
    assert_eq!(v["jsonrpc"], "2.0", "not JSON-RPC 2.0: {line} after {sent}");
    let is_response = v.get("result").is_some() || v.get("error").is_some();
    assert!(
        is_response || v["method"].is_string(),
        "neither response nor request/notification: {line} after {sent}"
    );
    if is_response {
        assert!(
            v.get("result").is_none() || v.get("error").is_none(),
            "both result and error: {line}"
        );
        let id = v
            .get("id")
            .unwrap_or_else(|| panic!("a response without an id member: {line} after {sent}"));
        assert!(
            id.is_string() || id.is_i64() || id.is_u64() || id.is_null(),
            "bad id in {line}"
        );
        if let Some(err) = v.get("error") {
            assert!(err["code"].is_i64(), "error without integer code: {line}");
            assert!(err["message"].is_string(), "error without message: {line}");
        }
    }
    v
}

fn show(frame: &[u8]) -> String {
    let s = String::from_utf8_lossy(frame);
    if s.len() > 400 {
        let cut: String = s.chars().take(200).collect();
        format!("{cut}… ({} bytes)", frame.len())
    } else {
        s.into_owned()
    }
}

/// A raw `duvo-mcp stdio` session: write lines, read every stdout line.
struct RawStdio {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    lines: mpsc::UnboundedReceiver<String>,
    sync: u64,
}

impl RawStdio {
    async fn start(emu: &duvo_emulator::RunningEmulator) -> Self {
        let mut child = tokio::process::Command::new(common::binary())
            .arg("stdio")
            .env_remove("DUVO_TOOLSETS")
            .env_remove("DUVO_TOOLS")
            .env_remove("DUVO_EXCLUDE_TOOLS")
            .env_remove("DUVO_READ_ONLY")
            .env("DUVO_API_KEY", emu.demo_key())
            .env("DUVO_API_BASE_URL", emu.base_url())
            .env("DUVO_TEAM_ID", duvo_emulator::DEMO_TEAM_ID)
            .env("DUVO_MCP_LOG", "off")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn duvo-mcp stdio");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut me = Self {
            child,
            stdin,
            lines,
            sync: 0,
        };
        let init = json!({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "fuzz", "version": "0"}}});
        let got = me.exchange(&serde_json::to_vec(&init).expect("json")).await;
        assert!(
            got.iter()
                .any(|m| m["id"] == "init" && m.get("result").is_some()),
            "{got:?}"
        );
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        me.exchange(&serde_json::to_vec(&note).expect("json")).await;
        me
    }

    async fn write_line(&mut self, bytes: &[u8]) {
        self.stdin.write_all(bytes).await.expect("write to stdin");
        self.stdin.write_all(b"\n").await.expect("write newline");
        self.stdin.flush().await.expect("flush stdin");
    }

    /// Sends `frame` then a `ping`; returns every message up to the ping's answer and, if the
    /// frame is a request, its answer (server requests are refused on the way).
    async fn exchange(&mut self, frame: &[u8]) -> Vec<Value> {
        self.sync += 1;
        let sync_id = format!("sync-{}", self.sync);
        let expect = expected_id(frame);
        let sent = show(frame);
        self.write_line(frame).await;
        let ping = json!({"jsonrpc": "2.0", "id": sync_id, "method": "ping"});
        self.write_line(&serde_json::to_vec(&ping).expect("json"))
            .await;
        let mut seen = Vec::new();
        let (mut synced, mut answered) = (false, expect.is_none());
        while !(synced && answered) {
            let line = match tokio::time::timeout(ANSWER_WAIT, self.lines.recv()).await {
                Ok(Some(line)) => line,
                Ok(None) => panic!("duvo-mcp exited after {sent}"),
                Err(_) => panic!(
                    "no answer within {ANSWER_WAIT:?} (synced: {synced}) after {sent}; seen {seen:?}"
                ),
            };
            let msg = well_formed(&line, &sent);
            if msg["id"] == sync_id.as_str() {
                assert!(msg.get("result").is_some(), "ping failed: {msg}");
                synced = true;
                continue;
            }
            if msg["method"].is_string() && msg.get("id").is_some() {
                // A request from the server (e.g. elicitation): refuse it.
                let refusal = json!({"jsonrpc": "2.0", "id": msg["id"],
                    "error": {"code": -32601, "message": "not supported by the fuzz client"}});
                self.write_line(&serde_json::to_vec(&refusal).expect("json"))
                    .await;
                continue;
            }
            if let Some(id) = &expect
                && msg.get("id") == Some(id)
            {
                answered = true;
            }
            seen.push(msg);
        }
        seen
    }
}

/// Checks the answers to one frame: a request gets exactly one response with its id; anything
/// else gets no result (at most an error with a null id).
fn check_answers(frame: &[u8], seen: &[Value]) {
    let sent = show(frame);
    let responses: Vec<&Value> = seen
        .iter()
        .filter(|m| m.get("result").is_some() || m.get("error").is_some())
        .collect();
    match expected_id(frame) {
        Some(id) => {
            assert_eq!(
                responses.len(),
                1,
                "a request must get exactly one response; sent {sent}, got {responses:?}"
            );
            assert_eq!(responses[0]["id"], id, "response id; sent {sent}");
        }
        None => {
            for r in &responses {
                assert!(
                    r.get("error").is_some() && r["id"].is_null(),
                    "no result for a non-request, errors carry id null; sent {sent}, got {r}"
                );
            }
            assert!(responses.len() <= 1, "sent {sent}, got {responses:?}");
        }
    }
}

/// An emulator whose rate limit never binds: thousands of fuzzed calls a minute at larger
/// `DUVO_FUZZ_SCALE` would otherwise queue behind the key's 300-a-minute budget (the limiter
/// working as meant, not a hang).
async fn fuzz_emulator() -> duvo_emulator::RunningEmulator {
    common::start_emulator_with(duvo_emulator::EmulatorConfig {
        time_scale: 0.01,
        rate_limit_per_minute: 1_000_000,
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn stdio_answers_every_fuzzed_frame_exactly_once() {
    let emu = fuzz_emulator().await;
    let mut session = RawStdio::start(&emu).await;
    for frame in sample_frames(STDIO_FRAMES * scale()) {
        let seen = session.exchange(&frame).await;
        check_answers(&frame, &seen);
    }
    assert!(
        session.child.try_wait().expect("child status").is_none(),
        "still running"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn stdio_survives_hostile_raw_lines() {
    let emu = common::start_emulator().await;
    let mut session = RawStdio::start(&emu).await;
    let huge_arg = json!({"jsonrpc": "2.0", "id": 90, "method": "tools/call",
        "params": {"name": "getRun", "arguments": {"run_id": "r".repeat(4 << 20)}}});
    let frames: Vec<Vec<u8>> = vec![
        b"\xff\xfe\x00\x80 invalid utf-8 \xc3\x28".to_vec(),
        "[".repeat(200_000).into_bytes(),
        "{\"a\":".repeat(50_000).into_bytes(),
        br#"{"jsonrpc":"2.0","id":91,"method":"tools/call","params":"not an object"}"#.to_vec(),
        br#"{"jsonrpc":"2.0","id":92,"method":"tools/call"}"#.to_vec(),
        br#"{"jsonrpc":"2.0","id":93,"method":"tools/call","params":{"name":"listAgents","arguments":[1,2]}}"#.to_vec(),
        br#"{"jsonrpc":"1.0","id":94,"method":"ping"}"#.to_vec(),
        br#"[{"jsonrpc":"2.0","id":95,"method":"ping"}]"#.to_vec(),
        br#"{"jsonrpc":"2.0","id":96,"method":"ping","params":{},"extra":{"deep":[[[1]]]}}"#.to_vec(),
        br#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#.to_vec(),
        b"\r".to_vec(),
        b"\x00\x00\x00".to_vec(),
        serde_json::to_vec(&huge_arg).expect("json"),
        // One line past the 16 MiB frame limit: dropped (with an error), the session goes on.
        "x".repeat(17 << 20).into_bytes(),
    ];
    for frame in &frames {
        let seen = session.exchange(frame).await;
        check_answers(frame, &seen);
    }
    emu.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// HTTP endpoints
// ---------------------------------------------------------------------------------------------

/// Malformed bodies every HTTP endpoint must refuse with a 4xx.
fn malformed_bodies() -> Vec<Vec<u8>> {
    vec![
        Vec::new(),
        b"not json".to_vec(),
        b"\xff\xfe\xfd".to_vec(),
        "[".repeat(100_000).into_bytes(),
        br#"{"jsonrpc":"2.0","id":1,"method":"ping""#.to_vec(),
        br#"[1, 2, 3]"#.to_vec(),
        br#""just a string""#.to_vec(),
        br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":"x"}"#.to_vec(),
        br#"{"jsonrpc":"2.0","id":{"an":"object"},"method":"ping"}"#.to_vec(),
        br#"{"jsonrpc":"2.0","id":2.0,"method":"tools/call","params":"x"}"#.to_vec(),
    ]
}

/// POSTs `body` raw; returns (status, body).
async fn post_raw(url: &str, headers: &reqwest::header::HeaderMap, body: Vec<u8>) -> (u16, String) {
    let resp = http_support::http()
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .headers(headers.clone())
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

#[tokio::test]
async fn http_endpoints_refuse_malformed_bodies_with_4xx_and_stay_up() {
    let server = http_support::spawn(&["--demo"], &[]).await;
    let mcp_url = server.url("/mcp");
    let legacy = http_support::Mcp::legacy(&mcp_url, http_support::headers(&[]))
        .await
        .expect("legacy session");
    let session = legacy.session.clone().expect("session id");
    let mut sse = http_support::sse_connect(&server.base, http_support::headers(&[]))
        .await
        .expect("sse");
    sse.initialize().await;

    let stateless = http_support::headers(&[
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
    ]);
    let in_session = http_support::headers(&[
        ("mcp-session-id", &session),
        ("mcp-protocol-version", "2025-06-18"),
    ]);
    let none = http_support::headers(&[]);
    let targets = [
        ("POST /mcp (stateless)", mcp_url.clone(), stateless),
        ("POST /mcp (session)", mcp_url.clone(), in_session),
        ("POST /message", sse.post_url.clone(), none),
    ];
    for (what, url, headers) in &targets {
        for body in malformed_bodies() {
            let sent = show(&body);
            let id = expected_id(&body);
            let (status, text) = post_raw(url, headers, body).await;
            assert!(
                (400..500).contains(&status),
                "{what}: malformed body {sent} got {status}: {text}"
            );
            if url.ends_with("/mcp") {
                // A JSON-RPC error, with the request's id when it has one.
                assert_eq!(status, 400, "{what}: {sent}: {text}");
                let answer = well_formed(&text, &sent);
                assert!(answer.get("error").is_some(), "{what}: {sent}: {text}");
                assert_eq!(answer["id"], id.unwrap_or(Value::Null), "{what}: {sent}");
            }
        }
        for frame in sample_frames(HTTP_FRAMES * scale()) {
            let sent = show(&frame);
            let (status, text) = post_raw(url, headers, frame).await;
            assert!(
                status < 500,
                "{what}: {sent} got a server error {status}: {text}"
            );
        }
    }
    // Still serving, and the sessions still work.
    let health = http_support::http()
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status().as_u16(), 200);
    assert!(!legacy.tool_names().await.is_empty());
    let msgs = sse.request("ping", json!({}), false).await;
    assert!(
        msgs.last().is_some_and(|m| m.get("result").is_some()),
        "{msgs:?}"
    );
}
