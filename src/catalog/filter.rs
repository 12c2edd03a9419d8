//! Which tools a server exposes: toolsets, single tools, exclusions, read-only.

use super::{Catalog, ToolEntry};
use std::collections::BTreeSet;
use std::sync::Arc;
use thiserror::Error;

/// Tools listed by default beyond the default toolsets (`"default": true` in `tools/*.json`,
/// today only `jobs`). The rule: what the everyday tasks of the agent-task benchmark
/// (`benches/agent_tasks`) call — find and read Assignments, run and answer Jobs, push Cases,
/// upload files, see and pause schedules, sync a skill, read eval scores — plus the reads that
/// find their ids. Administration (folders, moves, creating and editing Revisions, deletes) is
/// one `searchTools` away. `tests/catalog_spec.rs` keeps the list within 40 tools and 32,000
/// bytes.
pub const DEFAULT_TOOLS: &[&str] = &[
    // Assignments: find, read, their Revisions.
    "listAgents",
    "getAgent",
    "listAgentRevisions",
    // Queues and Cases.
    "listQueues",
    "createQueue",
    "createCases",
    "listCases",
    "getCase",
    // Schedules.
    "listSchedules",
    "listAgentSchedules",
    "createSchedule",
    "updateSchedule",
    // Files for Jobs.
    "uploadSandboxFiles",
    "listSandboxFiles",
    // Skills.
    "listSkills",
    "syncSkillDirectory",
    "uploadSkill",
    // Evaluations.
    "getEvalScores",
    "getEvalRubrics",
];

/// The user's choice, from flags or environment.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Toolset names; `default` and `all` are pseudo-sets. Empty = `default`.
    pub toolsets: Vec<String>,
    /// Single tools added on top of the toolsets.
    pub tools: Vec<String>,
    /// Tools removed whatever else says (wins over `tools`).
    pub exclude_tools: Vec<String>,
    /// Only tools whose annotations say read-only (wins over everything).
    pub read_only: bool,
}

/// A selection naming something the catalog does not have.
#[derive(Debug, Error)]
pub enum SelectionError {
    /// Unknown toolset.
    #[error("unknown toolset {name:?}; valid toolsets: default, all, {valid}")]
    UnknownToolset {
        /// What was asked for.
        name: String,
        /// The valid names, comma-separated.
        valid: String,
    },
    /// Unknown tool.
    #[error("unknown tool {name:?} in {flag}; valid tools: {valid}")]
    UnknownTool {
        /// What was asked for.
        name: String,
        /// Which option named it.
        flag: &'static str,
        /// The valid names, comma-separated.
        valid: String,
    },
}

/// The tools a server exposes, sorted by name.
#[derive(Clone, Debug)]
pub struct Enabled {
    entries: Vec<Arc<ToolEntry>>,
}

/// No tools.
pub static NONE: Enabled = Enabled {
    entries: Vec::new(),
};

impl Enabled {
    /// Only the entries called one of `names`.
    pub fn only_named(&self, names: &[String]) -> Enabled {
        Enabled {
            entries: self
                .entries
                .iter()
                .filter(|e| names.iter().any(|n| n == e.name()))
                .cloned()
                .collect(),
        }
    }

    /// `self` plus the entries of `other` called one of `names`, sorted.
    pub fn union_named(&self, other: &Enabled, names: &[String]) -> Enabled {
        let mut entries = self.entries.clone();
        for e in other.only_named(names).entries {
            if self.get(e.name()).is_none() {
                entries.push(e);
            }
        }
        entries.sort_by(|a, b| a.name().cmp(b.name()));
        Enabled { entries }
    }

    /// The entries present in both `self` and `other`.
    pub fn intersect(&self, other: &Enabled) -> Enabled {
        Enabled {
            entries: self
                .entries
                .iter()
                .filter(|e| other.get(e.name()).is_some())
                .cloned()
                .collect(),
        }
    }

    /// The enabled entries, sorted by name.
    pub fn entries(&self) -> &[Arc<ToolEntry>] {
        &self.entries
    }

    /// The enabled entry called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<ToolEntry>> {
        self.entries
            .binary_search_by(|e| e.name().cmp(name))
            .ok()
            .map(|i| &self.entries[i])
    }
}

impl Catalog {
    /// Applies a selection. Unknown names are errors that list the valid ones.
    pub fn select(&self, sel: &Selection) -> Result<Enabled, SelectionError> {
        let mut sets: BTreeSet<&str> = BTreeSet::new();
        let mut default_tools = false;
        let requested: Vec<&str> = if sel.toolsets.is_empty() {
            vec!["default"]
        } else {
            sel.toolsets.iter().map(String::as_str).collect()
        };
        for name in requested {
            match name {
                "all" => sets.extend(self.toolsets().iter().map(|t| t.name.as_str())),
                "default" => {
                    default_tools = true;
                    sets.extend(
                        self.toolsets()
                            .iter()
                            .filter(|t| t.default)
                            .map(|t| t.name.as_str()),
                    );
                }
                other if self.toolsets().iter().any(|t| t.name == other) => {
                    sets.insert(other);
                }
                other => {
                    return Err(SelectionError::UnknownToolset {
                        name: other.to_owned(),
                        valid: self
                            .toolsets()
                            .iter()
                            .map(|t| t.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    });
                }
            }
        }
        self.check_tools(&sel.tools, "--tools")?;
        self.check_tools(&sel.exclude_tools, "--exclude-tools")?;
        let entries = self
            .entries()
            .iter()
            .filter(|e| {
                sets.contains(e.toolset.as_str())
                    || sel.tools.iter().any(|t| t == e.name())
                    || (default_tools && DEFAULT_TOOLS.contains(&e.name()))
            })
            .filter(|e| !sel.exclude_tools.iter().any(|t| t == e.name()))
            .filter(|e| !sel.read_only || e.read_only())
            .cloned()
            .collect();
        Ok(Enabled { entries })
    }

    /// What `callTool`/`searchTools` may reach: every tool, less `--exclude-tools`, less
    /// mutating tools under `--read-only`. Toolsets only decide what is listed directly.
    pub fn allowed(&self, sel: &Selection) -> Result<Enabled, SelectionError> {
        self.select(&Selection {
            toolsets: vec!["all".to_owned()],
            ..sel.clone()
        })
    }

    fn check_tools(&self, names: &[String], flag: &'static str) -> Result<(), SelectionError> {
        match names.iter().find(|n| self.get(n).is_none()) {
            None => Ok(()),
            Some(name) => Err(SelectionError::UnknownTool {
                name: name.clone(),
                flag,
                valid: self
                    .entries()
                    .iter()
                    .map(|e| e.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }
}

/// Splits a comma-separated list, trimming blanks.
pub fn split_list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(e: &Enabled) -> Vec<&str> {
        e.entries().iter().map(|e| e.name()).collect()
    }

    #[test]
    fn default_selection_is_sorted_and_complete_for_default_sets() {
        let c = crate::workflows::full_catalog().expect("catalog");
        let e = c.select(&Selection::default()).expect("select");
        let from_sets: Vec<&str> = c
            .toolsets()
            .iter()
            .filter(|t| t.default)
            .flat_map(|t| t.tools.iter().map(String::as_str))
            .collect();
        let extra = DEFAULT_TOOLS
            .iter()
            .filter(|n| !from_sets.contains(n))
            .count();
        assert_eq!(e.entries().len(), from_sets.len() + extra);
        for name in DEFAULT_TOOLS {
            assert!(e.get(name).is_some(), "{name} is not in the catalog");
        }
        let mut sorted = names(&e);
        sorted.sort();
        assert_eq!(names(&e), sorted);
    }

    #[test]
    fn exclude_wins_over_tools_and_read_only_wins_over_everything() {
        let c = Catalog::embedded().expect("catalog");
        let sel = Selection {
            toolsets: vec!["jobs".into()],
            tools: vec!["createAgent".into(), "getAgent".into()],
            exclude_tools: vec!["getAgent".into()],
            read_only: false,
        };
        let e = c.select(&sel).expect("select");
        assert!(e.get("createAgent").is_some());
        assert!(e.get("getAgent").is_none());
        assert!(e.get("startRun").is_some());
        let ro = c
            .select(&Selection {
                read_only: true,
                ..sel
            })
            .expect("select");
        assert!(ro.get("createAgent").is_none());
        assert!(ro.get("startRun").is_none());
        assert!(ro.get("getRun").is_some());
        assert!(ro.entries().iter().all(|e| e.read_only()));
    }

    #[test]
    fn unknown_names_list_the_valid_ones() {
        let c = Catalog::embedded().expect("catalog");
        let err = c
            .select(&Selection {
                toolsets: vec!["nope".into()],
                ..Selection::default()
            })
            .expect_err("unknown toolset");
        assert!(err.to_string().contains("jobs"));
        let err = c
            .select(&Selection {
                tools: vec!["getRunn".into()],
                ..Selection::default()
            })
            .expect_err("unknown tool");
        assert!(err.to_string().contains("getRun"));
    }

    #[test]
    fn split_list_trims() {
        assert_eq!(split_list(" a, b ,,c"), vec!["a", "b", "c"]);
    }
}
