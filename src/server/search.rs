//! `searchTools` ranking: a small keyword index over names, titles, descriptions and arguments.

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
    ("question", "human"),
    ("hitl", "human"),
    ("ticket", "case"),
    ("item", "case"),
    ("cron", "schedule"),
    ("integration", "connection"),
    ("oauth", "connection"),
    ("upload", "file"),
    ("transcript", "message"),
    ("dashboard", "pulse"),
];

/// Field weights: a match in the name counts most.
const W_NAME: f32 = 3.0;
const W_TITLE: f32 = 2.0;
const W_TOOLSET: f32 = 1.5;
const W_TEXT: f32 = 1.0;

/// Precomputed tokens of every searchable tool.
#[derive(Debug, Default)]
pub struct SearchIndex {
    docs: Vec<(Arc<ToolEntry>, HashMap<String, f32>)>,
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
                add(e.name(), W_NAME);
                add(e.tool.title.as_deref().unwrap_or(""), W_TITLE);
                add(&e.toolset, W_TOOLSET);
                add(e.tool.description.as_deref().unwrap_or(""), W_TEXT);
                for (arg, _) in e.argument_names() {
                    add(&arg, W_TEXT);
                }
                (e.clone(), weights)
            })
            .collect();
        Self { docs }
    }

    /// The best matches for `query` among tools `allowed` accepts, best first.
    pub fn search(
        &self,
        query: &str,
        limit: usize,
        allowed: impl Fn(&str) -> bool,
    ) -> Vec<Arc<ToolEntry>> {
        let q = tokens(query);
        if q.is_empty() {
            return Vec::new();
        }
        let mut scored: Vec<(f32, &Arc<ToolEntry>)> = self
            .docs
            .iter()
            .filter(|(e, _)| allowed(e.name()))
            .filter_map(|(e, weights)| {
                let score: f32 = q.iter().map(|t| term_score(t, weights)).sum();
                (score > 0.0).then_some((score, e))
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
            .filter(|(k, _)| k.starts_with(term) || (k.len() >= 4 && term.starts_with(k.as_str())))
            .map(|(_, w)| *w)
            .fold(0.0, f32::max);
        return best * 0.6;
    }
    0.0
}

/// Lower-case word stems: camelCase and snake_case split, plural `s` dropped, synonyms mapped.
pub fn tokens(text: &str) -> Vec<String> {
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
    "me", "my", "all", "from", "this", "that", "how", "do", "can", "get",
];

fn stem(w: &str) -> String {
    for suffix in ["ies", "es", "s"] {
        if let Some(base) = w.strip_suffix(suffix)
            && base.len() >= 3
            && !w.ends_with("ss")
        {
            return if suffix == "ies" {
                format!("{base}y")
            } else {
                base.to_owned()
            };
        }
    }
    w.to_owned()
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
