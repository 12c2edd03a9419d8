//! Tool arguments → schema validation → REST request, and API answers → result capping.
//!
//! Input: byte 0 picks a catalog entry, byte 1 a cap size; the rest is JSON arguments when it
//! parses as an object, else a hostile string put into every string property of the entry.
//! Invariants (a violation panics): no panic anywhere; a mapped request's path survives URL
//! normalisation unchanged (no dot segment reaches another endpoint), keeps the entry's segment
//! count and carries no unescaped `?`, `#`, whitespace or control character; capping never grows
//! a value by more than its marker.
#![no_main]

use duvo_mcp::catalog::{Catalog, Segment, mapping};
use duvo_mcp::render::results;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use std::sync::LazyLock;

static CATALOG: LazyLock<Catalog> =
    LazyLock::new(|| Catalog::embedded().unwrap_or_else(|e| panic!("catalog: {e}")));

fn check_path(entry: &duvo_mcp::catalog::ToolEntry, path: &str) {
    assert!(path.starts_with('/'), "{path:?}");
    assert!(
        !path
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '?' || c == '#'),
        "unescaped character in {path:?}"
    );
    if let Ok(mut url) = url::Url::parse("http://127.0.0.1:1/") {
        url.set_path(path);
        assert_eq!(url.path(), path, "URL normalisation rewrites {path:?}");
    }
    let wildcard = entry
        .segments
        .iter()
        .any(|s| matches!(s, Segment::Param { name, .. } if name == "*"));
    let parts = path[1..].split('/').count();
    if !wildcard {
        assert_eq!(parts, entry.segments.len(), "segments of {path:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let entries = CATALOG.entries();
    let (Some(&pick), Some(&cap_byte)) = (data.first(), data.get(1)) else {
        return;
    };
    let entry = &entries[usize::from(pick) % entries.len()];
    let rest = &data[2..];
    let args: Map<String, Value> = match serde_json::from_slice::<Value>(rest) {
        Ok(Value::Object(obj)) => obj,
        parsed => {
            let text = String::from_utf8_lossy(rest).into_owned();
            let mut obj = Map::new();
            if let Some(props) = entry
                .tool
                .input_schema
                .get("properties")
                .and_then(Value::as_object)
            {
                for name in props.keys() {
                    obj.insert(name.clone(), Value::String(text.clone()));
                }
            }
            if let Ok(v) = parsed {
                obj.insert("zz_value".into(), v);
            }
            obj
        }
    };
    // As the server does: normalise (API spellings, "true"/"false" for booleans), then validate.
    let mut normalized = args.clone();
    let valid = mapping::normalize(entry, &mut normalized)
        .and_then(|()| mapping::validate(entry, &normalized));
    if let Err(e) = &valid {
        let _ = results::invalid_arguments(entry, e);
    }
    if entry.is_rest()
        && let Ok(req) = mapping::to_request(entry, &args, Some("team-1"))
    {
        assert!(valid.is_ok(), "mapped although validation failed");
        check_path(entry, &req.path);
    }
    let value = Value::Object(args);
    let before = value.to_string().len();
    let max = 64 + usize::from(cap_byte) * 64;
    let (capped, note) = results::cap(value, max);
    if note.is_some() {
        assert!(
            capped.to_string().len() <= before + 128,
            "capping grew the value"
        );
    }
});
