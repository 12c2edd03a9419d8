//! `searchTools` ranking: a small keyword index over names, titles, descriptions and arguments,
//! weighed by what the query asks to do.
//!
//! Words score by where they match (name > title > toolset > description and arguments); the
//! query's leading verb ("list", "add", "pause", "delete", "stop", "run", "approve" …) is matched
//! against each tool's own verb (the first word of its name), so "push cases to a queue" prefers
//! the tool that adds Cases over the one that clears them. Destructive tools sink unless the
//! query asks to delete, clear or remove; a query without a verb ("returns queue") reads.

use crate::catalog::ToolEntry;
use std::collections::HashMap;
use std::sync::Arc;

/// Product words → the API's words, so "Assignment" finds `listAgents`.
const SYNONYMS: &[(&str, &str)] = &[
    ("assignment", "agent"),
    ("job", "run"),
    ("build", "revision"),
    ("setup", "revision"),
    ("sop", "revision"),
    ("aop", "revision"),
    ("approval", "human"),
    ("approve", "human"),
    ("question", "human"),
    ("hitl", "human"),
    ("ticket", "case"),
    ("item", "case"),
    ("row", "case"),
    ("order", "case"),
    ("record", "case"),
    ("cron", "schedule"),
    ("integration", "connection"),
    ("oauth", "connection"),
    ("csv", "file"),
    ("transcript", "message"),
    ("output", "message"),
    ("log", "message"),
    ("dashboard", "pulse"),
    ("evaluation", "eval"),
    ("failed", "fail"),
    ("failure", "fail"),
    ("directory", "folder"),
    ("score", "eval"),
    ("member", "member"),
    ("people", "member"),
    ("user", "member"),
    ("who", "member"),
];

/// What a query asks to do, or what a tool does (from its name's first word).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Intent {
    Read,
    Create,
    Update,
    Delete,
    Stop,
    Run,
    Answer,
    Wait,
    Download,
}

/// Query words that say what to do (the first one found wins).
const QUERY_VERBS: &[(&str, Intent)] = &[
    ("list", Intent::Read),
    ("show", Intent::Read),
    ("see", Intent::Read),
    ("view", Intent::Read),
    ("find", Intent::Read),
    ("get", Intent::Read),
    ("which", Intent::Read),
    ("what", Intent::Read),
    ("why", Intent::Read),
    ("read", Intent::Read),
    ("look", Intent::Read),
    ("check", Intent::Read),
    ("search", Intent::Read),
    ("add", Intent::Create),
    ("push", Intent::Create),
    ("create", Intent::Create),
    ("new", Intent::Create),
    ("upload", Intent::Create),
    ("put", Intent::Create),
    ("import", Intent::Create),
    ("submit", Intent::Create),
    ("enqueue", Intent::Create),
    ("store", Intent::Create),
    ("save", Intent::Create),
    ("send", Intent::Create),
    ("post", Intent::Create),
    ("disable", Intent::Update),
    ("pause", Intent::Update),
    ("enable", Intent::Update),
    ("resume", Intent::Update),
    ("change", Intent::Update),
    ("edit", Intent::Update),
    ("rename", Intent::Update),
    ("set", Intent::Update),
    ("update", Intent::Update),
    ("turn", Intent::Update),
    ("switch", Intent::Update),
    ("modify", Intent::Update),
    ("move", Intent::Update),
    ("publish", Intent::Update),
    ("promote", Intent::Update),
    ("retry", Intent::Update),
    ("reprocess", Intent::Update),
    ("delete", Intent::Delete),
    ("remove", Intent::Delete),
    ("clear", Intent::Delete),
    ("purge", Intent::Delete),
    ("erase", Intent::Delete),
    ("wipe", Intent::Delete),
    ("drop", Intent::Delete),
    ("empty", Intent::Delete),
    ("destroy", Intent::Delete),
    ("stop", Intent::Stop),
    ("cancel", Intent::Stop),
    ("abort", Intent::Stop),
    ("kill", Intent::Stop),
    ("halt", Intent::Stop),
    ("terminate", Intent::Stop),
    ("run", Intent::Run),
    ("start", Intent::Run),
    ("execute", Intent::Run),
    ("launch", Intent::Run),
    ("trigger", Intent::Run),
    ("kick", Intent::Run),
    ("approve", Intent::Answer),
    ("answer", Intent::Answer),
    ("respond", Intent::Answer),
    ("reply", Intent::Answer),
    ("deny", Intent::Answer),
    ("reject", Intent::Answer),
    ("wait", Intent::Wait),
    ("download", Intent::Download),
    ("export", Intent::Download),
];

/// A tool's own verb (its name's first word) → what it does.
const TOOL_VERBS: &[(&str, Intent)] = &[
    ("list", Intent::Read),
    ("get", Intent::Read),
    ("search", Intent::Read),
    ("preview", Intent::Read),
    ("check", Intent::Read),
    ("probe", Intent::Read),
    ("create", Intent::Create),
    ("upload", Intent::Create),
    ("sync", Intent::Create),
    ("attach", Intent::Create),
    ("assign", Intent::Update),
    ("post", Intent::Create),
    ("add", Intent::Create),
    ("upsert", Intent::Create),
    ("update", Intent::Update),
    ("rename", Intent::Update),
    ("move", Intent::Update),
    ("promote", Intent::Update),
    ("pin", Intent::Update),
    ("replace", Intent::Update),
    ("bulk", Intent::Update),
    ("delete", Intent::Delete),
    ("remove", Intent::Delete),
    ("clear", Intent::Delete),
    ("detach", Intent::Delete),
    ("unlink", Intent::Delete),
    ("unpin", Intent::Delete),
    ("stop", Intent::Stop),
    ("start", Intent::Run),
    ("run", Intent::Run),
    ("respond", Intent::Answer),
    ("consume", Intent::Answer),
    ("reject", Intent::Answer),
    ("wait", Intent::Wait),
    ("download", Intent::Download),
];

/// Field weights: a match in the name counts most.
const W_NAME: f32 = 3.0;
const W_TITLE: f32 = 2.0;
const W_TOOLSET: f32 = 1.5;
const W_TEXT: f32 = 1.0;
const W_ENUM: f32 = 0.5;
/// The tool does what the query's verb asks.
const B_INTENT: f32 = 3.0;
/// A verb-less query reads: read-only tools first, lists before single gets.
const B_READ: f32 = 1.0;
const B_LIST: f32 = 0.3;
const B_LIST_PLURAL: f32 = 1.0;
/// A workflow (composite) tool does more per call than the REST tool it builds on.
const B_COMPOSITE: f32 = 0.5;
/// Words after "in", "to", "from" … name where, not what: they count this much.
const CONTAINER_FACTOR: f32 = 0.5;
/// Prepositions that introduce a container ("cases in a queue").
const PREPOSITIONS: &[&str] = &[
    "in", "into", "to", "from", "of", "on", "at", "inside", "within",
];
/// A tool that deletes (its verb: delete, remove, clear …) is multiplied by this unless the
/// query asks to delete; other destructive tools (create-or-replace) by [`OVERWRITE_FACTOR`].
const DESTRUCTIVE_FACTOR: f32 = 0.4;
const OVERWRITE_FACTOR: f32 = 0.85;
/// The query says what to do and the tool does something else.
const MISMATCH_FACTOR: f32 = 0.6;

struct Doc {
    entry: Arc<ToolEntry>,
    weights: HashMap<String, f32>,
    verb: Option<Intent>,
    first_word: String,
    destructive: bool,
}

/// Precomputed tokens of every searchable tool.
#[derive(Default)]
pub struct SearchIndex {
    docs: Vec<Doc>,
    /// Every word of every tool name ("retry" of bulkRetryCases): query verbs found here stay
    /// words to match.
    name_words: std::collections::HashSet<String>,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("tools", &self.docs.len())
            .finish()
    }
}

impl SearchIndex {
    /// Indexes `entries` once, at start-up.
    pub fn new(entries: &[Arc<ToolEntry>]) -> Self {
        let docs = entries
            .iter()
            .map(|e| {
                let mut weights: HashMap<String, f32> = HashMap::new();
                let mut add = |text: &str, w: f32| {
                    for t in tokens(text) {
                        let slot = weights.entry(t).or_insert(0.0);
                        *slot = slot.max(w);
                    }
                };
                // A word of a short name says more than one of a long name.
                let name_words = tokens(e.name()).len().max(2) as f32;
                add(e.name(), W_NAME / (1.0 + 0.15 * (name_words - 2.0)));
                add(e.tool().title.as_deref().unwrap_or(""), W_TITLE);
                add(&e.toolset, W_TOOLSET);
                add(e.tool().description.as_deref().unwrap_or(""), W_TEXT);
                for (arg, _) in e.argument_names() {
                    add(&arg, W_TEXT);
                }
                // Enum values say what a tool can filter on ("status": "failed", "waiting").
                if let Some(props) = e
                    .tool()
                    .input_schema
                    .get("properties")
                    .and_then(|p| p.as_object())
                {
                    for p in props.values() {
                        for v in p
                            .get("enum")
                            .and_then(|v| v.as_array())
                            .into_iter()
                            .flatten()
                        {
                            if let Some(v) = v.as_str() {
                                add(v, W_ENUM);
                            }
                        }
                    }
                }
                let first_word = words(e.name()).into_iter().next().unwrap_or_default();
                let verb = TOOL_VERBS
                    .iter()
                    .find(|(w, _)| *w == first_word)
                    .map(|(_, i)| *i);
                let destructive = e
                    .tool()
                    .annotations
                    .as_ref()
                    .and_then(|a| a.destructive_hint)
                    .unwrap_or(false)
                    && !e.read_only();
                Doc {
                    entry: e.clone(),
                    weights,
                    verb,
                    first_word,
                    destructive,
                }
            })
            .collect();
        let name_words = entries.iter().flat_map(|e| words(e.name())).collect();
        Self { docs, name_words }
    }

    /// The best matches for `query` among tools `allowed` accepts, best first.
    pub fn search(
        &self,
        query: &str,
        limit: usize,
        allowed: impl Fn(&str) -> bool,
    ) -> Vec<Arc<ToolEntry>> {
        let q = weighted_tokens(query, &self.name_words);
        if q.is_empty() {
            return Vec::new();
        }
        let total: f32 = q.iter().map(|(_, w)| w).sum();
        let raw = words(query);
        let intent = raw
            .iter()
            .find_map(|w| QUERY_VERBS.iter().find(|(v, _)| v == w).map(|(_, i)| *i));
        // "cases" asks for a list, "the case" for one.
        let plural = q.iter().any(|(t, w)| {
            *w == 1.0
                && raw
                    .iter()
                    .any(|r| r != t && stem(r) == *t && r.ends_with('s'))
        });
        let wants_delete = raw
            .iter()
            .any(|w| QUERY_VERBS.contains(&(w.as_str(), Intent::Delete)));
        let mut scored: Vec<(f32, &Arc<ToolEntry>)> = self
            .docs
            .iter()
            .filter(|d| allowed(d.entry.name()))
            .filter_map(|d| {
                let mut matched = 0.0;
                let mut covered = 0.0;
                for (t, w) in &q {
                    let s = term_score(t, &d.weights);
                    if s > 0.0 {
                        matched += s * w;
                        covered += w;
                    }
                }
                if matched <= 0.0 {
                    return None;
                }
                let mut score = matched;
                if d.entry.is_composite() {
                    score += B_COMPOSITE;
                }
                match intent {
                    Some(i) if d.verb == Some(i) => score += B_INTENT,
                    Some(Intent::Read) if d.verb.is_some_and(|v| v != Intent::Read) => {
                        score *= MISMATCH_FACTOR;
                    }
                    // "run the invoice Assignment" also fits a tool named for the object.
                    Some(Intent::Read) | None if d.entry.read_only() => {
                        score += B_READ;
                        if d.first_word == "list" {
                            score += if plural { B_LIST_PLURAL } else { B_LIST };
                        }
                    }
                    _ => {}
                }
                // Tools that match more of the query's words rank higher.
                score *= 0.5 + 0.5 * covered / total;
                if d.destructive && !wants_delete {
                    score *= if matches!(d.verb, Some(Intent::Delete) | None) {
                        DESTRUCTIVE_FACTOR
                    } else {
                        OVERWRITE_FACTOR
                    };
                }
                Some((score, &d.entry))
            })
            .collect();
        scored.sort_by(|a, b| {
            b.0.total_cmp(&a.0)
                .then_with(|| a.1.name().len().cmp(&b.1.name().len()))
                .then_with(|| a.1.name().cmp(b.1.name()))
        });
        scored
            .into_iter()
            .take(limit)
            .map(|(_, e)| e.clone())
            .collect()
    }
}

fn term_score(term: &str, weights: &HashMap<String, f32>) -> f32 {
    if let Some(w) = weights.get(term) {
        return *w;
    }
    // Prefix match for longer words ("schedul" ~ "schedules"), at a discount.
    if term.len() >= 4 {
        let best = weights
            .iter()
            .filter(|(k, _)| k.starts_with(term) || (k.len() >= 5 && term.starts_with(k.as_str())))
            .map(|(_, w)| *w)
            .fold(0.0, f32::max);
        return best * 0.6;
    }
    0.0
}

/// Lower-case words: camelCase and snake_case split.
fn words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for ch in text.chars() {
        if ch.is_alphanumeric() {
            if ch.is_uppercase() && prev_lower && !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            prev_lower = ch.is_lowercase() || ch.is_ascii_digit();
            cur.extend(ch.to_lowercase());
        } else {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// The query's tokens with their weights: words after a preposition name a container
/// ("cases in a queue") and count [`CONTAINER_FACTOR`].
fn weighted_tokens(
    query: &str,
    name_words: &std::collections::HashSet<String>,
) -> Vec<(String, f32)> {
    let mut out = Vec::new();
    let mut factor = 1.0;
    for w in query.split_whitespace() {
        let lower = w.to_lowercase();
        if PREPOSITIONS.contains(&lower.as_str()) {
            factor = CONTAINER_FACTOR;
            continue;
        }
        // A verb that only says what to do (the intent) is not a word to match, unless tool
        // names use it ("upload", "stop", "retry").
        let lower = if lower == "find" {
            "search".to_owned()
        } else {
            lower
        };
        let is_verb = QUERY_VERBS.iter().any(|(v, _)| *v == lower);
        if is_verb && !name_words.contains(&lower) {
            continue;
        }
        for t in tokens(w) {
            out.push((t, factor));
        }
    }
    out
}

/// Lower-case word stems: camelCase and snake_case split, plural `s` dropped, synonyms mapped.
pub fn tokens(text: &str) -> Vec<String> {
    words(text)
        .into_iter()
        .filter(|w| w.len() > 1 && !STOP.contains(&w.as_str()))
        .map(|w| stem(&w))
        .map(|w| {
            SYNONYMS
                .iter()
                .find(|(from, _)| *from == w)
                .map(|(_, to)| (*to).to_owned())
                .unwrap_or(w)
        })
        .collect()
}

const STOP: &[&str] = &[
    "a", "an", "the", "of", "to", "for", "and", "or", "in", "on", "by", "with", "it", "its", "is",
    "me", "my", "all", "from", "this", "that", "how", "do", "can", "get", "we", "our", "have",
    "what", "which", "did", "does", "into", "use", "some", "want", "please",
];

fn stem(w: &str) -> String {
    if w.ends_with("ss") || w.len() < 4 {
        return w.to_owned();
    }
    if let Some(base) = w.strip_suffix("ies") {
        return format!("{base}y");
    }
    if let Some(base) = w.strip_suffix("es")
        && ["ss", "us", "x", "z", "ch", "sh"]
            .iter()
            .any(|e| base.ends_with(e))
    {
        return base.to_owned();
    }
    w.strip_suffix('s').unwrap_or(w).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    #[test]
    fn tokens_split_camel_case_and_map_product_words() {
        assert_eq!(
            tokens("listAgentRevisions"),
            vec!["list", "agent", "revision"]
        );
        assert_eq!(tokens("Start a Job"), vec!["start", "run"]);
        assert_eq!(tokens("human_requests"), vec!["human", "request"]);
    }

    /// The benchmark's query set (`tests/agent_tasks.rs` asserts the same through the server).
    #[test]
    fn query_set_ranks_the_expected_tool_first() {
        let c = crate::workflows::full_catalog().expect("catalog");
        let idx = SearchIndex::new(c.entries());
        let set: Vec<serde_json::Value> =
            serde_json::from_str(include_str!("../../benches/agent_tasks/queries.json"))
                .expect("queries");
        let mut first = 0;
        let mut misses = Vec::new();
        for q in &set {
            let query = q["query"].as_str().unwrap_or_default();
            let expected: Vec<&str> = q["expected"]
                .as_array()
                .expect("expected")
                .iter()
                .filter_map(|v| v.as_str())
                .collect();
            let found: Vec<String> = idx
                .search(query, 5, |_| true)
                .iter()
                .map(|e| e.name().to_owned())
                .collect();
            let rank = found.iter().position(|n| expected.contains(&n.as_str()));
            if rank == Some(0) {
                first += 1;
            }
            if rank.is_none_or(|r| r > 2) {
                misses.push(format!("{query}: {found:?}"));
            }
        }
        assert!(misses.is_empty(), "not in the top 3: {misses:?}");
        assert!(
            first * 10 >= set.len() * 9,
            "first for {first} of {}",
            set.len()
        );
    }

    #[test]
    fn finds_the_obvious_tool_first() {
        let c = Catalog::embedded().expect("catalog");
        let idx = SearchIndex::new(c.entries());
        let top = |q: &str| {
            idx.search(q, 3, |_| true)
                .first()
                .map(|e| e.name().to_owned())
                .unwrap_or_default()
        };
        assert_eq!(top("start a job"), "startRun");
        assert_eq!(top("answer an approval request"), "respondToHumanRequest");
        assert_eq!(top("list assignments"), "listAgents");
        assert!(idx.search("zzzz qqqq", 5, |_| true).is_empty());
        assert!(
            idx.search("run", 50, |n| n != "getRun")
                .iter()
                .all(|e| e.name() != "getRun")
        );
    }
}
