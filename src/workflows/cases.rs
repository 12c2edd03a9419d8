//! `createCases` (replaces the REST tool of that name in listings): adds any number of Cases to a
//! Queue in chunks of the API's per-request maximum. Each chunk carries its own
//! `Idempotency-Key`, kept across the client's retries and this workflow's own retries of the
//! chunk, so a chunk is never created twice. The answer maps every input (by index) to its Case
//! id or to why it was not created; nothing is dropped silently.

use super::common::{self, Hints};
use super::{Call, parse_args};
use crate::client::ApiBody;
use crate::gateway::RestFailure;
use crate::render::results::failure_text;
use crate::render::schema::inline_schema;
use rmcp::model::{CallToolResponse, CallToolResult, ErrorData, JsonObject, Tool};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::time::Duration;

/// Most Cases one createCases request may carry (the spec's `maxItems` of `cases`).
pub const CHUNK_SIZE: usize = 100;
/// Most Cases one call of this tool takes.
pub const MAX_CASES: usize = 10_000;
/// Times a chunk is asked for (each one a full round of the client's retries, same key), at
/// most: a second round only after Duvo's last answer proved the chunk was not created.
pub const CHUNK_ROUNDS: u32 = 2;
/// Longest list of Case ids repeated in the text answer (the full list is always structured).
const ID_TEXT_BYTES: usize = 48 * 1024;
/// Pause before re-asking a chunk.
const CHUNK_RETRY_PAUSE: Duration = Duration::from_secs(1);

/// A label on a Case.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseLabel {
    /// Label key; "" (or omitted) for a plain tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Label value.
    #[schemars(length(min = 1))]
    pub value: String,
}

/// Priority of a Case.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// Default.
    None,
    /// Picked up sooner.
    Medium,
    /// Picked up first.
    High,
}

fn priority_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "string",
        "enum": ["none", "medium", "high"],
        "description": "Only when asked; higher is picked up sooner."
    })
}

/// One Case to add.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    /// Case title.
    #[schemars(length(min = 1, max = 500))]
    pub title: String,
    /// Free text, or JSON as a string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Labels (created on the Queue if missing).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 50))]
    pub labels: Option<Vec<CaseLabel>>,
    /// Only when asked; higher is picked up sooner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "priority_schema")]
    pub priority: Option<Priority>,
}

/// Arguments of `createCases`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCasesArgs {
    /// Queue id (from listQueues).
    #[schemars(extend("format" = "uuid"))]
    pub queue_id: String,
    /// Cases to add (1–10,000); sent in chunks of 100.
    #[schemars(length(min = 1, max = 10000))]
    pub cases: Option<Vec<NewCase>>,
    /// A single Case (instead of cases).
    pub case: Option<NewCase>,
}

/// `createCases`: definition and handler, for the composition root.
pub fn create_cases_composite() -> super::Composite {
    super::Composite {
        toolset: "queues",
        tool: create_cases_tool(),
        run: |call, args| Box::pin(create_cases(call, args)),
    }
}

/// The `createCases` definition.
pub fn create_cases_tool() -> Tool {
    common::tool(
        "createCases",
        "Add Cases",
        "Adds Cases to a Queue: cases (up to 10,000, sent in chunks of 100, each chunk retried \
         safely with its own idempotency key) or one case. Each needs a title; data, labels and \
         priority are optional. Returns case_ids by input index and, for inputs not created, \
         why.",
        inline_schema::<CreateCasesArgs>(),
        Hints {
            read_only: false,
            destructive: false,
            idempotent: false,
            open_world: true,
        },
    )
}

/// What happened to one input.
#[derive(Clone, Debug, PartialEq)]
enum Fate {
    Created(String),
    Failed(String),
}

/// `createCases`.
pub async fn create_cases(
    call: &Call<'_>,
    args: JsonObject,
) -> Result<CallToolResponse, ErrorData> {
    let args: CreateCasesArgs = match parse_args("createCases", args) {
        Ok(a) => a,
        Err(e) => return Ok(e.into()),
    };
    let cases = match (args.cases, args.case) {
        (Some(_), Some(_)) => {
            return Ok(common::error(
                "Give either cases (a list) or case (one), not both; nothing was sent.",
            )
            .into());
        }
        (None, None) => {
            return Ok(common::error(
                "cases is required: a list of {title, data?, labels?, priority?}; nothing was sent.",
            )
            .into());
        }
        (Some(list), None) => list,
        (None, Some(one)) => vec![one],
    };
    if cases.len() > MAX_CASES {
        return Ok(common::error(format!(
            "At most {MAX_CASES} Cases per call, got {}; split them over several calls. Nothing was sent.",
            cases.len()
        ))
        .into());
    }
    let mut fates: Vec<Option<Fate>> = vec![None; cases.len()];
    let chunks = cases.len().div_ceil(CHUNK_SIZE);
    let mut stopped: Option<String> = None;
    for (n, chunk) in cases.chunks(CHUNK_SIZE).enumerate() {
        let start = n * CHUNK_SIZE;
        if let Some(why) = &stopped {
            for fate in &mut fates[start..start + chunk.len()] {
                *fate = Some(Fate::Failed(format!("not sent: {why}")));
            }
            continue;
        }
        match send_chunk(call, &args.queue_id, chunk).await {
            Ok(added) => {
                for (offset, fate) in match_added(chunk, &added).into_iter().enumerate() {
                    fates[start + offset] = Some(fate);
                }
            }
            Err(failure) => {
                for fate in &mut fates[start..start + chunk.len()] {
                    *fate = Some(Fate::Failed(failure.reason.clone()));
                }
                if failure.stop {
                    stopped = Some(format!(
                        "an earlier chunk (inputs {start}–{}) failed and the rest would too",
                        start + chunk.len() - 1
                    ));
                }
            }
        }
        common::progress(
            call,
            (n + 1) as u64,
            chunks as u64,
            format!("{} of {chunks} chunk(s) sent", n + 1),
        )
        .await;
        if call.cx.ct.is_cancelled() && n + 1 < chunks {
            stopped = Some("the call was cancelled".to_owned());
        }
    }
    Ok(answer(&args.queue_id, &fates).into())
}

/// Why a chunk failed, and whether the next chunks should not be tried.
struct ChunkFailure {
    reason: String,
    stop: bool,
}

/// Sends one chunk with one `Idempotency-Key`. The client owns the retry policy (it retries
/// transient failures with the same key); the chunk is asked for again only when Duvo's last
/// answer proves nothing was created ([`not_created`]), and at most [`CHUNK_ROUNDS`] times.
async fn send_chunk(
    call: &Call<'_>,
    queue_id: &str,
    chunk: &[NewCase],
) -> Result<Vec<Value>, ChunkFailure> {
    let key = uuid::Uuid::new_v4().to_string();
    let body = json!({ "queue_id": queue_id, "cases": chunk });
    let mut round = 0;
    loop {
        round += 1;
        match call
            .op_raw("createCases", body.clone(), Some(key.clone()))
            .await
        {
            Ok(resp) => {
                let added = match resp.body {
                    ApiBody::Json(v) => v["added_cases"].as_array().cloned(),
                    ApiBody::Bytes { .. } => None,
                };
                return Ok(added.unwrap_or_default());
            }
            Err(f) if not_created(&f) && round < CHUNK_ROUNDS => {
                tracing::debug!(round, status = ?f.status(), "createCases chunk refused; asking again with the same key");
                tokio::select! {
                    () = call.cx.ct.cancelled() => {
                        return Err(ChunkFailure {
                            reason: "not created: the call was cancelled while this chunk was being retried (check listCases before re-sending)".to_owned(),
                            stop: true,
                        });
                    }
                    () = tokio::time::sleep(CHUNK_RETRY_PAUSE) => {}
                }
            }
            Err(f) => {
                let said = failure_text(&f);
                let reason = if f.transient() {
                    format!(
                        "not created after {round} round(s) of retries of this chunk: {said} If unsure, check listCases before re-sending."
                    )
                } else {
                    format!("not created: {said}")
                };
                // A rejected chunk (400) is about its own items; anything else hits every chunk.
                let stop = !matches!(f.status(), Some(400 | 422));
                return Err(ChunkFailure { reason, stop });
            }
        }
    }
}

/// True when Duvo's last answer proves the request was not processed: 429 (rate limited) or 503
/// (unavailable) are refusals before any work. A timeout, a dropped connection or another 5xx
/// may hide a created chunk, so those are not asked again.
fn not_created(f: &RestFailure) -> bool {
    matches!(f.status(), Some(429 | 503))
}

/// Maps a chunk's inputs to the `added_cases` answered: by position when the titles agree, else
/// by the first unmatched input with the same title and data; inputs left over are unaccounted.
fn match_added(chunk: &[NewCase], added: &[Value]) -> Vec<Fate> {
    let mut fates: Vec<Option<Fate>> = vec![None; chunk.len()];
    let same = |c: &NewCase, a: &Value| {
        a["title"].as_str() == Some(c.title.as_str())
            && a.get("data")
                .and_then(Value::as_str)
                .is_none_or(|d| d == c.data.as_deref().unwrap_or(""))
    };
    // Without titles in the answer, position is all there is.
    let titled = added.iter().all(|a| a["title"].is_string());
    for (i, a) in added.iter().enumerate() {
        let Some(id) = a["id"].as_str() else {
            continue;
        };
        let slot = if i < chunk.len() && fates[i].is_none() && (!titled || same(&chunk[i], a)) {
            Some(i)
        } else {
            (0..chunk.len()).find(|&j| fates[j].is_none() && same(&chunk[j], a))
        };
        if let Some(j) = slot {
            fates[j] = Some(Fate::Created(id.to_owned()));
        }
    }
    let note = format!(
        "unaccounted for: the API answered {} added_cases for {} sent and none matches this input; check listCases before re-sending it",
        added.len(),
        chunk.len()
    );
    fates
        .into_iter()
        .map(|f| f.unwrap_or_else(|| Fate::Failed(note.clone())))
        .collect()
}

/// The tool result: an error only when nothing was created; a partial one says so first.
/// `case_ids[i]` is the Case made from input `i` (null when it failed); `failures` gives the
/// reason for every failed input, as ranges of consecutive inputs with the same reason.
fn answer(queue_id: &str, fates: &[Option<Fate>]) -> CallToolResult {
    let mut case_ids = Vec::with_capacity(fates.len());
    let mut failures: Vec<(usize, String)> = Vec::new();
    for (index, fate) in fates.iter().enumerate() {
        match fate {
            Some(Fate::Created(id)) => case_ids.push(Value::String(id.clone())),
            Some(Fate::Failed(why)) => {
                case_ids.push(Value::Null);
                failures.push((index, why.clone()));
            }
            None => {
                case_ids.push(Value::Null);
                failures.push((
                    index,
                    "internal: no outcome recorded; check listCases".to_owned(),
                ));
            }
        }
    }
    let total = fates.len();
    let created = total - failures.len();
    let mut text = if failures.is_empty() {
        format!("Created all {total} Case(s) in Queue {queue_id}.")
    } else if created == 0 {
        format!("No Case created: all {total} input(s) failed (Queue {queue_id}).")
    } else {
        format!(
            "PARTIAL: created {created} of {total} Case(s) in Queue {queue_id}; {} failed (below). Re-send only the failed inputs.",
            failures.len()
        )
    };
    let groups = group(&failures);
    for (first, last, why) in &groups {
        let range = if first == last {
            first.to_string()
        } else {
            format!("{first}–{last}")
        };
        text.push_str(&format!("\n- inputs {range}: {why}"));
    }
    let ids = Value::Array(case_ids);
    if created > 0 {
        let listed = ids.to_string();
        if listed.len() <= ID_TEXT_BYTES {
            text.push_str(&format!(
                "\nCase ids by input index (null = not created): {listed}"
            ));
        } else {
            text.push_str(
                "\nThe Case id of every input is in structuredContent.case_ids (by input index; null = not created); find Cases with listCases.",
            );
        }
    }
    let failures: Vec<Value> = groups
        .into_iter()
        .map(|(first, last, why)| json!({ "first": first, "last": last, "error": why }))
        .collect();
    let body = json!({
        "queue_id": queue_id,
        "requested": total,
        "created": created,
        "failed": total - created,
        "complete": created == total,
        "case_ids": ids,
        "failures": failures,
    });
    common::result(text, body, created == 0)
}

/// Consecutive failures with the same reason: `(first, last, reason)`.
fn group(failures: &[(usize, String)]) -> Vec<(usize, usize, String)> {
    let mut out: Vec<(usize, usize, String)> = Vec::new();
    for (i, why) in failures {
        match out.last_mut() {
            Some((_, end, last)) if *end + 1 == *i && last == why => *end = *i,
            _ => out.push((*i, *i, why.clone())),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(title: &str) -> NewCase {
        NewCase {
            title: title.to_owned(),
            data: None,
            labels: None,
            priority: None,
        }
    }

    #[test]
    fn answers_map_by_position_or_title_and_leftovers_are_named() {
        let chunk = vec![case("a"), case("b"), case("c")];
        let added = vec![
            json!({"id": "2", "title": "b", "data": ""}),
            json!({"id": "1", "title": "a", "data": ""}),
        ];
        let fates = match_added(&chunk, &added);
        assert_eq!(fates[0], Fate::Created("1".into()));
        assert_eq!(fates[1], Fate::Created("2".into()));
        match &fates[2] {
            Fate::Failed(why) => assert!(why.contains("unaccounted"), "{why}"),
            other => panic!("expected unaccounted, got {other:?}"),
        }
    }

    #[test]
    fn duplicate_titles_map_one_to_one() {
        let chunk = vec![case("same"), case("same")];
        let added = vec![
            json!({"id": "x", "title": "same"}),
            json!({"id": "y", "title": "same"}),
        ];
        let fates = match_added(&chunk, &added);
        assert_eq!(
            fates,
            vec![Fate::Created("x".into()), Fate::Created("y".into())]
        );
    }

    #[test]
    fn partial_answers_say_so_first() {
        let fates = vec![
            Some(Fate::Created("a".into())),
            Some(Fate::Failed("boom".into())),
            Some(Fate::Failed("boom".into())),
        ];
        let r = answer("q", &fates);
        assert_ne!(r.is_error, Some(true));
        let text = r
            .content
            .iter()
            .filter_map(|c| c.as_text().map(|t| t.text.clone()))
            .collect::<String>();
        assert!(text.starts_with("PARTIAL: created 1 of 3"), "{text}");
        assert!(text.contains("inputs 1–2: boom"), "{text}");
        let body = r.structured_content.clone().expect("structured");
        assert_eq!(body["case_ids"], json!(["a", null, null]));
        assert_eq!(
            body["failures"],
            json!([{"first": 1, "last": 2, "error": "boom"}])
        );
        let none = answer("q", &[Some(Fate::Failed("x".into()))]);
        assert_eq!(none.is_error, Some(true));
    }

    #[test]
    fn case_items_serialize_like_the_api() {
        let c = NewCase {
            title: "t".into(),
            data: Some("d".into()),
            labels: Some(vec![CaseLabel {
                key: None,
                value: "v".into(),
            }]),
            priority: Some(Priority::High),
        };
        assert_eq!(
            serde_json::to_value(&c).expect("json"),
            json!({"title": "t", "data": "d", "labels": [{"value": "v"}], "priority": "high"})
        );
    }
}
