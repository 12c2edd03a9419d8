//! `cargo bench --bench agent_tasks`: what an assistant pays for eight everyday requests, as
//! scripted MCP sessions against `duvo-mcp stdio --demo` (a fresh demo emulator per session),
//! once with a client that offers elicitation (and approves) and once with one that does not.
//! Each script does what an assistant would do seeing only `tools/list`, results and errors.
//! Printed per task: calls, failed calls, text bytes, structured bytes. Then the search-quality
//! table over `queries.json` (rank of the expected tool, share first, share in the top 3).
//! Figures also go to `target/bench/agent_tasks.json`. No timing is measured or asserted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use anyhow::{Context, Result, anyhow};
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, ElicitRequestParams,
    ElicitResult, ElicitationAction, ErrorData, Implementation, Tool,
};
use rmcp::service::{RequestContext, RunningService};
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::{Value, json};
use std::process::Stdio;

/// A user who approves what they are asked and picks the first option of every question.
#[derive(Clone)]
struct User {
    elicit: bool,
}

impl ClientHandler for User {
    fn get_info(&self) -> ClientConfig {
        let caps = if self.elicit {
            ClientCapabilities::builder().enable_elicitation().build()
        } else {
            ClientCapabilities::default()
        };
        ClientConfig::new(caps, Implementation::new("agent-tasks-bench", "0"))
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        let ElicitRequestParams::FormElicitationParams {
            requested_schema, ..
        } = request
        else {
            return Ok(ElicitResult::new(ElicitationAction::Decline));
        };
        let schema = serde_json::to_value(&requested_schema).unwrap_or_default();
        let mut content = serde_json::Map::new();
        for (key, prop) in schema["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default()
        {
            let value = if prop["type"] == "boolean" {
                json!(true)
            } else {
                let first = prop["enum"][0]
                    .as_str()
                    .or(prop["items"]["enum"][0].as_str())
                    .or(prop["oneOf"][0]["const"].as_str())
                    .unwrap_or("yes")
                    .to_owned();
                if prop["type"] == "array" {
                    json!([first])
                } else {
                    json!(first)
                }
            };
            content.insert(key, value);
        }
        Ok(ElicitResult::new(ElicitationAction::Accept).with_content(Value::Object(content)))
    }
}

/// What one task cost.
#[derive(Clone, Debug, Default, serde::Serialize)]
struct Cost {
    calls: u32,
    failed: u32,
    text_bytes: usize,
    structured_bytes: usize,
}

/// A session that counts what every call costs the model.
struct Session {
    client: RunningService<RoleClient, User>,
    tools: Vec<Tool>,
    cost: Cost,
    /// Every failed call: tool and the start of its error text.
    failures: Vec<String>,
}

impl Session {
    async fn start(elicit: bool, allow_dir: &std::path::Path) -> Result<Self> {
        let cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_duvo-mcp")).configure(|c| {
            c.arg("stdio")
                .arg("--demo")
                .arg("--allow-dir")
                .arg(allow_dir);
            for var in [
                "DUVO_API_KEY",
                "DUVO_API_BASE_URL",
                "DUVO_TEAM_ID",
                "DUVO_TOOLSETS",
                "DUVO_TOOLS",
                "DUVO_EXCLUDE_TOOLS",
                "DUVO_READ_ONLY",
                "DUVO_ALLOW_DIRS",
            ] {
                c.env_remove(var);
            }
        });
        let (transport, _) = TokioChildProcess::builder(cmd)
            .stderr(Stdio::null())
            .spawn()
            .context("spawning duvo-mcp stdio --demo")?;
        let client = User { elicit }.serve(transport).await?;
        let tools = client.list_all_tools().await?;
        Ok(Self {
            client,
            tools,
            cost: Cost::default(),
            failures: Vec::new(),
        })
    }

    /// Calls a tool and counts it; the result as the model sees it.
    async fn call(&mut self, name: &str, args: Value) -> Result<CallToolResult> {
        let args = args.as_object().cloned().unwrap_or_default();
        self.cost.calls += 1;
        let r = match self
            .client
            .call_tool(CallToolRequestParams::new(name.to_owned()).with_arguments(args))
            .await
        {
            Ok(r) => r,
            Err(e) => {
                // A protocol error is a failed call too; its message is what the model reads.
                self.cost.failed += 1;
                self.cost.text_bytes += e.to_string().len();
                self.failures.push(format!("{name}: {e}"));
                return Ok(CallToolResult::error(vec![]));
            }
        };
        if r.is_error == Some(true) {
            self.cost.failed += 1;
            let t = text(&r);
            self.failures.push(format!(
                "{name}: {}",
                t.chars().take(160).collect::<String>()
            ));
        }
        self.cost.text_bytes += text(&r).len();
        self.cost.structured_bytes += r
            .structured_content
            .as_ref()
            .map_or(0, |v| v.to_string().len());
        Ok(r)
    }

    /// Takes the cost so far and starts counting the next task.
    fn take(&mut self) -> Cost {
        std::mem::take(&mut self.cost)
    }

    /// The name the listed schema of `tool` uses for one of `spellings`.
    fn arg_name<'a>(&self, tool: &str, spellings: &[&'a str]) -> &'a str {
        let props = self
            .tools
            .iter()
            .find(|t| t.name == tool)
            .and_then(|t| t.input_schema.get("properties").cloned())
            .unwrap_or_default();
        spellings
            .iter()
            .find(|s| props.get(**s).is_some())
            .copied()
            .unwrap_or(spellings[0])
    }
}

fn text(r: &CallToolResult) -> String {
    r.content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

fn structured(r: &CallToolResult) -> Value {
    r.structured_content.clone().unwrap_or(Value::Null)
}

/// The id of the first Assignment listAgents {name} finds.
async fn find_agent(s: &mut Session, name: &str) -> Result<String> {
    let r = s.call("listAgents", json!({ "name": name })).await?;
    structured(&r)["agents"][0]["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("no Assignment named like {name:?}: {}", text(&r)))
}

/// Runs `agent` with `args` and sees it through: answers what it asks (if the client could not
/// ask its user) and waits until it is done.
async fn run_to_end(s: &mut Session, mut args: Value) -> Result<Value> {
    let r = s.call("runAssignment", args.take()).await?;
    let mut out = structured(&r);
    for _ in 0..6 {
        let run_id = out["run_id"].as_str().unwrap_or_default().to_owned();
        if out["finished"] == true || run_id.is_empty() {
            break;
        }
        let pending = out["pending_human_request"].clone();
        if pending.is_object() {
            let mut answer = json!({ "run_id": run_id, "request_id": pending["id"] });
            if pending["type"] == "question" {
                let mut answers = serde_json::Map::new();
                for q in pending["questions"].as_array().into_iter().flatten() {
                    let key = q["question"].as_str().unwrap_or_default().to_owned();
                    let first = q["options"][0]["label"]
                        .as_str()
                        .or(q["options"][0].as_str())
                        .unwrap_or("yes");
                    answers.insert(key, json!(first));
                }
                answer["answers"] = Value::Object(answers);
            } else {
                answer["approved"] = json!(true);
            }
            s.call("respondToHumanRequest", answer).await?;
        }
        let r = s
            .call(
                "waitForRun",
                json!({ "run_id": run_id, "wait_seconds": 60 }),
            )
            .await?;
        out = structured(&r);
    }
    Ok(out)
}

async fn t1_why_failed(s: &mut Session) -> Result<()> {
    let r = s
        .call("listRuns", json!({ "status": "failed", "limit": 1 }))
        .await?;
    let run_id = structured(&r)["data"][0]["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("no failed Job: {}", text(&r)))?;
    s.call("listRunMessages", json!({ "run_id": run_id }))
        .await?;
    Ok(())
}

async fn t2_run_and_approve(s: &mut Session) -> Result<()> {
    let agent = find_agent(s, "invoice").await?;
    run_to_end(
        s,
        json!({ "agent_id": agent, "message": "Process the newest invoice in the inbox.", "wait_seconds": 60 }),
    )
    .await?;
    Ok(())
}

async fn t3_push_cases(s: &mut Session) -> Result<()> {
    let r = s.call("listQueues", json!({})).await?;
    let existing = structured(&r)["queues"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|q| {
            q["name"]
                .as_str()
                .is_some_and(|n| n.to_lowercase().contains("return"))
        })
        .and_then(|q| q["id"].as_str().map(str::to_owned));
    let queue_id = match existing {
        Some(id) => id,
        None => {
            let r = s.call("createQueue", json!({ "name": "Returns" })).await?;
            let v = structured(&r);
            v["id"]
                .as_str()
                .or(v["queue"]["id"].as_str())
                .map(str::to_owned)
                .ok_or_else(|| anyhow!("createQueue: {}", text(&r)))?
        }
    };
    let cases: Vec<Value> = (1..=3)
        .map(|i| json!({ "title": format!("Return order #10{i}"), "data": format!("order 10{i}") }))
        .collect();
    s.call(
        "createCases",
        json!({ "queue_id": queue_id, "cases": cases }),
    )
    .await?;
    Ok(())
}

async fn t4_upload_and_run(s: &mut Session) -> Result<()> {
    let agent = find_agent(s, "price").await?;
    run_to_end(
        s,
        json!({
            "agent_id": agent,
            "message": "Check the prices of the SKUs in skus.csv.",
            "files": [{ "name": "skus.csv", "text": "sku,name\n5520,Oat milk\n5521,Rye bread\n" }],
            "wait_seconds": 60
        }),
    )
    .await?;
    Ok(())
}

async fn t5_pause_schedule(s: &mut Session) -> Result<()> {
    let r = s.call("listSchedules", json!({ "enabled": true })).await?;
    // Most frequent first: the frequencies in the order Duvo documents them.
    const ORDER: &[&str] = &[
        "every_5_minutes",
        "every_15_minutes",
        "hourly",
        "daily",
        "workday",
        "weekly",
        "monthly",
    ];
    let rank = |f: &str| ORDER.iter().position(|o| *o == f).unwrap_or(ORDER.len());
    let v = structured(&r);
    let best = v["schedules"]
        .as_array()
        .into_iter()
        .flatten()
        .min_by_key(|s| rank(s["frequency"].as_str().unwrap_or("")))
        .cloned()
        .ok_or_else(|| anyhow!("no schedule: {}", text(&r)))?;
    s.call(
        "updateSchedule",
        json!({ "agent_id": best["agent_id"], "schedule_id": best["schedule_id"], "enabled": false }),
    )
    .await?;
    Ok(())
}

async fn t6_skill_from_folder(s: &mut Session, dir: &std::path::Path) -> Result<()> {
    s.call(
        "syncSkillDirectory",
        json!({ "path": dir.join("returns-triage").display().to_string() }),
    )
    .await?;
    Ok(())
}

async fn t7_eval_scores(s: &mut Session) -> Result<()> {
    let r = s.call("listAgents", json!({})).await?;
    let agents: Vec<String> = structured(&r)["agents"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["id"].as_str().map(str::to_owned))
        .collect();
    let key = s.arg_name("getEvalScores", &["agent_id", "agentId"]);
    for id in agents {
        s.call(
            "getEvalScores",
            json!({ key: id, "since": "2026-01-01T00:00:00Z" }),
        )
        .await?;
    }
    Ok(())
}

/// Deliberate mistakes: each should fail with an error that says what to do.
async fn t8_mistakes(s: &mut Session) -> Result<()> {
    let missing = "00000000-0000-4000-8000-000000000000";
    s.call("getRun", json!({ "run_id": missing })).await?;
    s.call("startRun", json!({})).await?;
    s.call("listRuns", json!({ "limit": "5" })).await?;
    s.call("listRuns", json!({ "status": "error" })).await?;
    s.call("callTool", json!({ "name": "listJobs", "arguments": {} }))
        .await?;
    s.call(
        "callReadTool",
        json!({ "name": "deleteQueue", "arguments": { "queue_id": missing } }),
    )
    .await?;
    Ok(())
}

const TASKS: &[&str] = &[
    "T1 why did my latest Job fail",
    "T2 run the invoice Assignment, approve",
    "T3 push three orders as Cases",
    "T4 upload a CSV, run a Job on it",
    "T5 pause my most frequent schedule",
    "T6 create a skill from a folder",
    "T7 evaluation scores",
    "T8 deliberate mistakes",
];

async fn run_tasks(elicit: bool, dir: &std::path::Path) -> Result<(Vec<Cost>, Value, Vec<String>)> {
    let mut s = Session::start(elicit, dir).await?;
    let list_bytes = serde_json::to_vec(&json!({ "tools": s.tools }))?.len();
    let list = json!({ "tools": s.tools.len(), "bytes": list_bytes });
    let mut costs = Vec::new();
    t1_why_failed(&mut s).await?;
    costs.push(s.take());
    t2_run_and_approve(&mut s).await?;
    costs.push(s.take());
    t3_push_cases(&mut s).await?;
    costs.push(s.take());
    t4_upload_and_run(&mut s).await?;
    costs.push(s.take());
    t5_pause_schedule(&mut s).await?;
    costs.push(s.take());
    t6_skill_from_folder(&mut s, dir).await?;
    costs.push(s.take());
    t7_eval_scores(&mut s).await?;
    costs.push(s.take());
    t8_mistakes(&mut s).await?;
    costs.push(s.take());
    s.client.cancel().await.ok();
    Ok((costs, list, s.failures))
}

/// The search-quality table: every query of `queries.json` through searchTools.
async fn search_quality(dir: &std::path::Path) -> Result<Value> {
    let queries: Vec<Value> = serde_json::from_str(include_str!("queries.json"))?;
    let mut s = Session::start(false, dir).await?;
    let mut rows = Vec::new();
    let (mut first, mut top3) = (0usize, 0usize);
    let mut answer_bytes = Vec::new();
    for q in &queries {
        let query = q["query"].as_str().unwrap_or_default();
        let expected: Vec<&str> = q["expected"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let r = s.call("searchTools", json!({ "query": query })).await?;
        answer_bytes.push(text(&r).len());
        let names: Vec<String> = structured(&r)["tools"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["name"].as_str().map(str::to_owned))
            .collect();
        let rank = names
            .iter()
            .position(|n| expected.contains(&n.as_str()))
            .map(|r| r + 1);
        first += usize::from(rank == Some(1));
        top3 += usize::from(rank.is_some_and(|r| r <= 3));
        rows.push(json!({ "query": query, "expected": expected, "rank": rank, "top": names }));
    }
    s.client.cancel().await.ok();
    let n = queries.len().max(1);
    Ok(json!({
        "queries": rows,
        "first_share": first as f64 / n as f64,
        "top3_share": top3 as f64 / n as f64,
        "answer_bytes_avg": answer_bytes.iter().sum::<usize>() / n,
        "answer_bytes_max": answer_bytes.iter().max().copied().unwrap_or(0),
    }))
}

/// A small Skill folder for T6.
fn skill_folder(dir: &std::path::Path) -> Result<()> {
    let skill = dir.join("returns-triage");
    std::fs::create_dir_all(&skill)?;
    std::fs::write(
        skill.join("SKILL.md"),
        "---\nname: returns-triage\ndescription: Sort return requests by reason and urgency.\n---\n\n# Returns triage\nRead the return request, pick a reason code, set the priority.\n",
    )?;
    std::fs::write(
        skill.join("reasons.md"),
        "damaged, wrong item, late, changed mind\n",
    )?;
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    // `cargo bench` passes `--bench`; nothing to parse.
    let base = std::env::temp_dir().join(format!("duvo-agent-tasks-{}", std::process::id()));
    skill_folder(&base)?;
    let (without, list, failures) = run_tasks(false, &base).await?;
    // The skill exists now; the second session is a fresh demo, so the same folder syncs again.
    let (with, _, _) = run_tasks(true, &base).await?;
    let search = search_quality(&base).await?;
    std::fs::remove_dir_all(&base).ok();

    println!(
        "default tools/list: {} tools, {} bytes\n",
        list["tools"], list["bytes"]
    );
    println!(
        "| task | calls | failed | text bytes | structured bytes | calls (elicitation) | failed | text bytes | structured bytes |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut tasks = Vec::new();
    for (i, name) in TASKS.iter().enumerate() {
        let (a, b) = (&without[i], &with[i]);
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} |",
            a.calls,
            a.failed,
            a.text_bytes,
            a.structured_bytes,
            b.calls,
            b.failed,
            b.text_bytes,
            b.structured_bytes
        );
        tasks.push(json!({ "task": name, "without_elicitation": a, "with_elicitation": b }));
    }
    println!("\nfailed calls (without elicitation):");
    for f in &failures {
        println!("- {}", f.replace('\n', " "));
    }
    println!("\n| query | expected | rank | top 3 |\n| --- | --- | ---: | --- |");
    for row in search["queries"].as_array().into_iter().flatten() {
        let top: Vec<&str> = row["top"]
            .as_array()
            .into_iter()
            .flatten()
            .take(3)
            .filter_map(Value::as_str)
            .collect();
        println!(
            "| {} | {} | {} | {} |",
            row["query"].as_str().unwrap_or_default(),
            row["expected"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" / "),
            row["rank"]
                .as_u64()
                .map_or("—".to_owned(), |r| r.to_string()),
            top.join(", ")
        );
    }
    println!(
        "\nsearch: expected first {:.0} %, in the top 3 {:.0} %; answer {} bytes on average, {} at most",
        search["first_share"].as_f64().unwrap_or(0.0) * 100.0,
        search["top3_share"].as_f64().unwrap_or(0.0) * 100.0,
        search["answer_bytes_avg"],
        search["answer_bytes_max"]
    );
    let out =
        json!({ "tools_list": list, "tasks": tasks, "failed_calls": failures, "search": search });
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".to_owned());
    let dir = std::path::Path::new(&target).join("bench");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("agent_tasks.json");
    std::fs::write(&path, serde_json::to_string_pretty(&out)?)?;
    println!("\nwrote {}", path.display());
    Ok(())
}
