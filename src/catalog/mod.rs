//! The tool catalog: `tools/<toolset>.json`, compiled in at build time (`build/catalog.rs`,
//! [`embedded`]), one entry per Duvo operation, plus the composite tools registered into it at
//! start (it knows they exist, not their code).

pub(crate) mod embedded;
pub mod filter;
mod format;
pub(crate) mod id_sources;
pub mod mapping;
pub mod source;
pub mod spec;

pub use filter::{Selection, SelectionError};
pub use format::Multipart;
use format::{AnnotationsFile, EntryFile, ToolsetFile};
pub use mapping::ArgumentError;

use crate::client::request::Method;
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};
use thiserror::Error;

/// A catalog that could not be loaded (a defect in `tools/*.json`, caught by tests).
#[derive(Debug, Error)]
pub enum CatalogError {
    /// A file is not valid catalog JSON.
    #[error("{file}: {reason}")]
    Invalid {
        /// The file.
        file: String,
        /// What is wrong.
        reason: String,
    },
}

/// A toolset: a named group of tools that can be enabled together.
#[derive(Debug, Clone)]
pub struct Toolset {
    /// Its name (`jobs`, `assignments` …).
    pub name: String,
    /// Human title.
    pub title: String,
    /// One line on what it covers.
    pub description: String,
    /// Enabled when no `--toolsets` are given.
    pub default: bool,
    /// Names of its tools, sorted.
    pub tools: Vec<String>,
}

/// A segment of an operation's path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Literal text.
    Literal(String),
    /// `{name}`: filled from the argument `arg`.
    Param {
        /// Name in the REST path (`teamId`, `run_id`, `*`).
        name: String,
        /// Name of the tool argument (`team_id`, `run_id`, `path`).
        arg: String,
    },
}

/// What kind of tool an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// One Duvo REST operation (`tools/*.json`), performed through the gateway.
    Rest,
    /// A composite tool registered at start ([`Catalog::add_composite`]); its code lives with
    /// its definition outside the catalog, which only knows that it exists.
    Composite,
}

/// Where an entry's MCP tool definition comes from. Only the tools a session lists, calls or
/// searches are ever built: the compiled catalog's schemas stay minified JSON in the binary, and
/// a catalog built from an OpenAPI spec keeps each definition as JSON text (a fraction of the
/// memory of the parsed trees) until it is used.
#[derive(Debug)]
enum ToolSource {
    /// Set when the entry was made.
    Built,
    /// An entry of the compiled catalog (`build/catalog.rs`).
    Compiled(&'static embedded::RawEntry),
    /// The definition serialised (`serde_json`), as [`ToolEntry::compact`] left it.
    Json(Box<str>),
}

/// One tool: its MCP definition and how it maps onto the REST call.
#[derive(Debug)]
pub struct ToolEntry {
    /// The toolset it belongs to.
    pub toolset: String,
    /// REST entry or composite tool.
    pub kind: EntryKind,
    /// HTTP method (REST entries; `POST` for composites).
    pub method: Method,
    /// The REST path template as written in the spec (empty for composites).
    pub path: String,
    /// The template, parsed.
    pub segments: Vec<Segment>,
    /// Parameters sent in the query string on body methods, by their API names.
    pub query: Vec<String>,
    /// Set for `multipart/form-data` operations.
    pub multipart: Option<Multipart>,
    /// Send `{}` when a body method gets no body arguments (the API requires a body).
    pub empty_body: bool,
    /// Tool argument → the API's spelling of it (path, query or body), where they differ. The
    /// schema uses the tool argument (`agent_id`); callers may also pass the API spelling
    /// (`agentId`), which [`mapping::normalize`] folds into the tool argument.
    pub api_names: BTreeMap<String, String>,
    /// Generated from the spec (no overlay entry in `tools/*.json`).
    pub generated: bool,
    /// The tool's name (the operationId).
    name: String,
    /// What the annotations say of reading only (known without building `tool`).
    read_only_hint: bool,
    /// The MCP tool definition (name, title, description, schema, annotations), built from
    /// `source` on first use ([`ToolEntry::tool`]) unless it was set when the entry was made.
    tool: OnceLock<Tool>,
    /// Where `tool` comes from.
    source: ToolSource,
    /// The input schema's validator, compiled on the tool's first call (compiling all ~220 at
    /// start-up was most of the start-up time: `benches/duvo/PROFILE.md`).
    validator: OnceLock<Result<jsonschema::Validator, String>>,
}

impl ToolEntry {
    /// The validator of the input schema, compiled on first use; `Err` says why the schema
    /// does not compile (a catalog defect: `tests` compile every entry's validator).
    pub fn validator(&self) -> Result<&jsonschema::Validator, &str> {
        self.validator
            .get_or_init(|| compile_validator(&self.tool().input_schema))
            .as_ref()
            .map_err(String::as_str)
    }

    /// The tool's name (the operationId).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The MCP tool definition: name, title, description, input schema, annotations. An entry
    /// of the compiled catalog parses its schema here, the first time (start-up parses none).
    pub fn tool(&self) -> &Tool {
        self.tool.get_or_init(|| match &self.source {
            ToolSource::Compiled(raw) => raw.tool(),
            ToolSource::Json(text) => serde_json::from_str(text).unwrap_or_else(|e| {
                // Unreachable: the text is what serde_json wrote for this very type.
                tracing::error!(tool = %self.name, "stored tool definition does not parse: {e}");
                self.placeholder()
            }),
            // Unreachable: such entries are made with their tool set.
            ToolSource::Built => self.placeholder(),
        })
    }

    fn placeholder(&self) -> Tool {
        Tool::new(self.name.clone(), "", Arc::new(JsonObject::new()))
    }

    /// The tool definition as JSON (`serde_json`'s serialisation of [`ToolEntry::tool`]), without
    /// keeping a built definition around when there is none yet: for comparing catalogs.
    pub fn definition_json(&self) -> std::borrow::Cow<'_, str> {
        use std::borrow::Cow;
        let json = |tool: &Tool| Cow::Owned(serde_json::to_string(tool).unwrap_or_default());
        match (&self.source, self.tool.get()) {
            // The text is that serialisation, built or not.
            (ToolSource::Json(text), _) => Cow::Borrowed(text),
            (ToolSource::Compiled(raw), None) => json(&raw.tool()),
            _ => json(self.tool()),
        }
    }

    /// The entry with its tool definition stored as JSON text, built again on first use.
    fn compact(mut self) -> Self {
        if let Some(tool) = self.tool.take() {
            match serde_json::to_string(&tool) {
                Ok(text) => self.source = ToolSource::Json(text.into_boxed_str()),
                Err(_) => self.tool = OnceLock::from(tool),
            }
        }
        self
    }

    /// The name the API uses for the tool argument `arg` (the argument itself unless renamed).
    pub fn api_name<'a>(&'a self, arg: &'a str) -> &'a str {
        self.api_names.get(arg).map_or(arg, String::as_str)
    }

    /// True for a REST entry (one Duvo operation).
    pub fn is_rest(&self) -> bool {
        self.kind == EntryKind::Rest
    }

    /// True for a composite tool (registered at start, run by its own handler).
    pub fn is_composite(&self) -> bool {
        self.kind == EntryKind::Composite
    }

    /// True when the path has a `{teamId}` segment.
    pub fn has_team_segment(&self) -> bool {
        self.segments
            .iter()
            .any(|s| matches!(s, Segment::Param { name, .. } if name == "teamId"))
    }

    /// True when a call with `args` needs the team resolved (a `{teamId}` segment and no
    /// `team_id` argument).
    pub fn needs_team(&self, args: &JsonObject) -> bool {
        self.has_team_segment() && !args.contains_key("team_id")
    }

    /// True when the annotations say the tool only reads.
    pub fn read_only(&self) -> bool {
        self.read_only_hint
    }

    /// The argument names of the input schema, required ones first.
    pub fn argument_names(&self) -> Vec<(String, bool)> {
        let required: Vec<&str> = self
            .tool()
            .input_schema
            .get("required")
            .and_then(|r| r.as_array())
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        let mut names: Vec<(String, bool)> = self
            .tool()
            .input_schema
            .get("properties")
            .and_then(|p| p.as_object())
            .map(|p| {
                p.keys()
                    .map(|k| (k.clone(), required.contains(&k.as_str())))
                    .collect()
            })
            .unwrap_or_default();
        names.sort_by_key(|(_, req)| !*req);
        names
    }
}

/// All tools of all toolsets, sorted by name.
#[derive(Debug)]
pub struct Catalog {
    toolsets: Vec<Toolset>,
    entries: Vec<Arc<ToolEntry>>,
    by_name: HashMap<String, usize>,
    shadowed: HashMap<String, Arc<ToolEntry>>,
    diff: spec::CatalogDiff,
}

impl Catalog {
    /// Loads the embedded REST catalog (`tools/*.json`). Composite tools are added by the
    /// composition root (`workflows::register`).
    pub fn embedded() -> Result<Self, CatalogError> {
        let mut toolsets = Vec::new();
        let mut entries = Vec::new();
        for set in embedded::TOOLSETS {
            for raw in set.tools {
                entries.push(Arc::new(raw_entry(set.toolset, raw).map_err(|reason| {
                    CatalogError::Invalid {
                        file: set.file.to_owned(),
                        reason,
                    }
                })?));
            }
            toolsets.push(Toolset {
                name: set.toolset.to_owned(),
                title: set.title.to_owned(),
                description: set.description.to_owned(),
                default: set.default,
                tools: set.tools.iter().map(|e| e.name.to_owned()).collect(),
            });
        }
        Self::assemble(toolsets, entries, spec::CatalogDiff::default())
    }

    /// Adds a composite tool to `toolset`; one with the name of a REST entry replaces it in the
    /// listing, and the REST entry stays reachable through [`Catalog::rest`].
    pub fn add_composite(&mut self, toolset: &str, tool: Tool) -> Result<(), CatalogError> {
        let invalid = |reason: String| CatalogError::Invalid {
            file: format!("composite tool {}", tool.name),
            reason,
        };
        let name = tool.name.to_string();
        let set = self
            .toolsets
            .iter_mut()
            .find(|t| t.name == toolset)
            .ok_or_else(|| invalid(format!("unknown toolset {toolset}")))?;
        if !set.tools.contains(&name) {
            set.tools.push(name.clone());
            set.tools.sort();
        }
        let entry = Arc::new(ToolEntry {
            toolset: toolset.to_owned(),
            kind: EntryKind::Composite,
            method: Method::Post,
            path: String::new(),
            segments: Vec::new(),
            query: Vec::new(),
            multipart: None,
            empty_body: false,
            api_names: BTreeMap::new(),
            generated: false,
            name: name.clone(),
            read_only_hint: read_only_hint(&tool),
            tool: OnceLock::from(tool),
            source: ToolSource::Built,
            validator: OnceLock::new(),
        });
        match self.by_name.get(&name) {
            Some(&i) => {
                let rest = std::mem::replace(&mut self.entries[i], entry);
                self.shadowed.insert(name, rest);
            }
            None => {
                // Keep the entries sorted by name: insert in place and renumber those after it.
                let at = self
                    .entries
                    .partition_point(|e| e.name.as_str() < name.as_str());
                self.entries.insert(at, entry);
                self.by_name.insert(name, at);
                for (i, e) in self.entries.iter().enumerate().skip(at + 1) {
                    if let Some(slot) = self.by_name.get_mut(e.name.as_str()) {
                        *slot = i;
                    }
                }
            }
        }
        Ok(())
    }

    /// The REST entry called `name`, even when a composite of that name replaces it in listings.
    pub fn rest(&self, name: &str) -> Option<&Arc<ToolEntry>> {
        self.shadowed
            .get(name)
            .or_else(|| self.get(name).filter(|e| e.is_rest()))
    }

    /// Loads a catalog from `(file name, JSON text)` pairs.
    pub fn from_sources(sources: &[(&str, &str)]) -> Result<Self, CatalogError> {
        let (toolsets, entries) = overlay_entries(parse_files(sources)?, Some)?;
        Self::assemble(toolsets, entries, spec::CatalogDiff::default())
    }

    /// The catalog for an OpenAPI spec: each of its operations curated (the overlay entry of
    /// `tools/*.json` merged with it) or generated; overlay entries the spec lacks are left out.
    /// Composite tools are added by the caller.
    pub fn from_spec(
        doc: &spec::SpecDocument,
        origin: spec::SpecOrigin,
    ) -> Result<Self, CatalogError> {
        let files = embedded::TOOLSETS.iter().map(|t| t.to_file()).collect();
        Self::from_spec_files(files, doc, origin)
    }

    /// [`Catalog::from_spec`] over other overlay files (an empty slice: every tool generated).
    pub fn from_spec_with(
        sources: &[(&str, &str)],
        doc: &spec::SpecDocument,
        origin: spec::SpecOrigin,
    ) -> Result<Self, CatalogError> {
        Self::from_spec_files(parse_files(sources)?, doc, origin)
    }

    fn from_spec_files(
        files: Vec<(String, ToolsetFile)>,
        doc: &spec::SpecDocument,
        origin: spec::SpecOrigin,
    ) -> Result<Self, CatalogError> {
        let mut diff = spec::CatalogDiff {
            source: Some(origin),
            ..spec::CatalogDiff::default()
        };
        let mut curated = std::collections::HashSet::new();
        let (mut toolsets, mut entries) = overlay_entries(files, |e| {
            curated.insert(e.name.clone());
            let Some(op) = doc.get(&e.name) else {
                if e.not_in_spec.is_some() {
                    return Some(e);
                }
                diff.removed_operations.push(e.name.clone());
                return None;
            };
            let (merged, change) = spec::merge(e, op);
            if change
                != (spec::OperationChange {
                    name: change.name.clone(),
                    ..Default::default()
                })
            {
                diff.changed_operations.push(change);
            }
            Some(merged)
        })?;
        for op in &doc.operations {
            if curated.contains(&op.id) {
                continue;
            }
            let toolset = op
                .tag
                .as_deref()
                .map(spec::kebab)
                .unwrap_or_else(|| "other".to_owned());
            let entry = build_entry(&toolset, spec::generate(op), true).map_err(|reason| {
                CatalogError::Invalid {
                    file: format!("spec operation {}", op.id),
                    reason,
                }
            })?;
            diff.added_operations.push(spec::AddedOperation {
                name: op.id.clone(),
                toolset: toolset.clone(),
            });
            match toolsets.iter_mut().find(|t| t.name == toolset) {
                Some(t) => t.tools.push(op.id.clone()),
                None => toolsets.push(Toolset {
                    title: op.tag.clone().unwrap_or_else(|| "Other".to_owned()),
                    description: format!(
                        "Operations tagged {:?} in Duvo's OpenAPI spec (generated tools).",
                        op.tag.as_deref().unwrap_or("none")
                    ),
                    name: toolset,
                    default: false,
                    tools: vec![op.id.clone()],
                }),
            }
            entries.push(Arc::new(entry));
        }
        diff.removed_operations.sort();
        // Keep each definition as JSON text until a session uses it: the parsed trees of every
        // operation's schema would stay resident for the life of the process.
        let entries = entries
            .into_iter()
            .map(|e| Arc::try_unwrap(e).map_or_else(|shared| shared, |e| Arc::new(e.compact())))
            .collect();
        Self::assemble(toolsets, entries, diff)
    }

    fn assemble(
        mut toolsets: Vec<Toolset>,
        mut entries: Vec<Arc<ToolEntry>>,
        diff: spec::CatalogDiff,
    ) -> Result<Self, CatalogError> {
        for t in &mut toolsets {
            t.tools.sort();
        }
        toolsets.sort_by(|a, b| a.name.cmp(&b.name));
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        let mut by_name = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            if by_name.insert(e.name.clone(), i).is_some() {
                return Err(CatalogError::Invalid {
                    file: e.toolset.clone(),
                    reason: format!("duplicate tool name {}", e.name),
                });
            }
        }
        Ok(Self {
            toolsets,
            entries,
            by_name,
            shadowed: HashMap::new(),
            diff,
        })
    }

    /// The difference between the spec this catalog was built from and the overlay (empty for
    /// the embedded catalog); its `source` says where the spec came from (`None`: bundled).
    pub fn diff(&self) -> &spec::CatalogDiff {
        &self.diff
    }

    /// Where the catalog's spec came from.
    pub fn origin(&self) -> spec::SpecOrigin {
        self.diff
            .source
            .clone()
            .unwrap_or(spec::SpecOrigin::Bundled)
    }

    /// Every toolset, sorted by name.
    pub fn toolsets(&self) -> &[Toolset] {
        &self.toolsets
    }

    /// Compiles every entry's validator now (they are otherwise compiled on first use); the
    /// first schema that does not compile is an error naming its tool.
    pub fn check_schemas(&self) -> Result<(), CatalogError> {
        for e in self.entries.iter().chain(self.shadowed.values()) {
            e.validator().map_err(|reason| CatalogError::Invalid {
                file: format!("tool {} (toolset {})", e.name(), e.toolset),
                reason: reason.to_owned(),
            })?;
        }
        Ok(())
    }

    /// Every entry, sorted by name.
    pub fn entries(&self) -> &[Arc<ToolEntry>] {
        &self.entries
    }

    /// The entry called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<ToolEntry>> {
        self.by_name.get(name).map(|&i| &self.entries[i])
    }
}

/// The toolsets and entries of the overlay files; `keep` gives the entry to list for each one as
/// written (merged with the spec, or as it is) or `None` to leave it out.
fn overlay_entries(
    files: Vec<(String, ToolsetFile)>,
    mut keep: impl FnMut(EntryFile) -> Option<EntryFile>,
) -> Result<(Vec<Toolset>, Vec<Arc<ToolEntry>>), CatalogError> {
    let mut toolsets = Vec::new();
    let mut entries = Vec::new();
    for (file, parsed) in files {
        let invalid = |reason: String| CatalogError::Invalid {
            file: file.clone(),
            reason,
        };
        let mut names = Vec::new();
        for e in parsed.tools {
            let Some(e) = keep(e) else {
                continue;
            };
            names.push(e.name.clone());
            entries.push(Arc::new(
                build_entry(&parsed.toolset, e, false).map_err(&invalid)?,
            ));
        }
        toolsets.push(Toolset {
            name: parsed.toolset,
            title: parsed.title,
            description: parsed.description,
            default: parsed.default,
            tools: names,
        });
    }
    Ok((toolsets, entries))
}

fn parse_files(sources: &[(&str, &str)]) -> Result<Vec<(String, ToolsetFile)>, CatalogError> {
    sources
        .iter()
        .map(|(file, text)| {
            serde_json::from_str::<ToolsetFile>(text)
                .map(|p| ((*file).to_owned(), p))
                .map_err(|e| CatalogError::Invalid {
                    file: (*file).to_owned(),
                    reason: e.to_string(),
                })
        })
        .collect()
}

fn build_entry(toolset: &str, e: EntryFile, generated: bool) -> Result<ToolEntry, String> {
    let at = |msg: String| format!("tool {}: {msg}", e.name);
    e.check_api_names().map_err(at)?;
    let segments = path_segments(
        &e.path,
        e.api_names.iter().map(|(a, b)| (a.as_str(), b.as_str())),
    )
    .map_err(at)?;
    let a = e.annotations;
    let annotations = ToolAnnotations::with_title(e.title.clone())
        .read_only(a.read_only_hint)
        .destructive(a.destructive_hint)
        .idempotent(a.idempotent_hint)
        .open_world(a.open_world_hint);
    let tool = Tool::new(e.name.clone(), e.description, Arc::new(e.input_schema))
        .with_title(e.title)
        .with_annotations(annotations);
    Ok(ToolEntry {
        toolset: toolset.to_owned(),
        kind: EntryKind::Rest,
        method: e.method,
        path: e.path,
        segments,
        query: e.query,
        multipart: e.multipart,
        empty_body: e.empty_body,
        api_names: e.api_names,
        generated,
        name: e.name,
        read_only_hint: a.read_only_hint,
        tool: OnceLock::from(tool),
        source: ToolSource::Built,
        validator: OnceLock::new(),
    })
}

/// Whether `tool`'s annotations say it only reads.
fn read_only_hint(tool: &Tool) -> bool {
    tool.annotations
        .as_ref()
        .and_then(|a| a.read_only_hint)
        .unwrap_or(false)
}

/// An entry of the compiled catalog; its tool (and schema) is built on first use. The build
/// script checked what needs the schema (`api_names`); the path is parsed here as for a file.
fn raw_entry(toolset: &str, raw: &'static embedded::RawEntry) -> Result<ToolEntry, String> {
    let segments = path_segments(raw.path, raw.api_names.iter().copied())
        .map_err(|msg| format!("tool {}: {msg}", raw.name))?;
    Ok(ToolEntry {
        toolset: toolset.to_owned(),
        kind: EntryKind::Rest,
        method: raw.method,
        path: raw.path.to_owned(),
        segments,
        query: raw.query_owned(),
        multipart: raw.multipart_owned(),
        empty_body: raw.empty_body,
        api_names: raw.api_names_owned(),
        generated: false,
        name: raw.name.to_owned(),
        read_only_hint: raw.annotations[0],
        tool: OnceLock::new(),
        source: ToolSource::Compiled(raw),
        validator: OnceLock::new(),
    })
}

/// `path` parsed, each parameter filled from the tool argument `api_names` maps onto its API name
/// (`(tool argument, API name)` pairs), else from the argument [`parse_path`] names.
fn path_segments<'a>(
    path: &str,
    api_names: impl Iterator<Item = (&'a str, &'a str)> + Clone,
) -> Result<Vec<Segment>, String> {
    let mut segments = parse_path(path)?;
    for seg in &mut segments {
        if let Segment::Param { name, arg } = seg
            && let Some((tool_arg, _)) = api_names.clone().find(|(_, api)| api == name)
        {
            *arg = tool_arg.to_owned();
        }
    }
    Ok(segments)
}

/// Compiles an input schema (draft 2020-12, formats checked).
fn compile_validator(schema: &JsonObject) -> Result<jsonschema::Validator, String> {
    let schema = serde_json::Value::Object(schema.clone());
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .map_err(|e| format!("invalid inputSchema: {e}"))
}

/// Parses `/v2/teams/{teamId}/runs` into segments; `{teamId}` → `team_id`, `{*}` → `path`.
pub fn parse_path(path: &str) -> Result<Vec<Segment>, String> {
    if !path.starts_with('/') {
        return Err(format!("path {path} must start with /"));
    }
    path.split('/')
        .skip(1)
        .map(
            |seg| match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) if !name.is_empty() => Ok(Segment::Param {
                    arg: match name {
                        "teamId" => "team_id".to_owned(),
                        "*" => "path".to_owned(),
                        other => other.to_owned(),
                    },
                    name: name.to_owned(),
                }),
                Some(_) => Err(format!("empty parameter in {path}")),
                None if seg.contains(['{', '}']) => Err(format!("bad segment {seg} in {path}")),
                None => Ok(Segment::Literal(seg.to_owned())),
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalog_loads() {
        let c = Catalog::embedded().expect("catalog loads");
        assert!(c.get("getRun").is_some());
        assert!(c.get("createAgent").is_some());
        let names: Vec<&str> = c.entries().iter().map(|e| e.name()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
    }

    /// The catalog compiled by the build script is the one the runtime loader makes of the
    /// files: same toolsets, entries, mappings and tool definitions, byte for byte.
    #[test]
    fn compiled_catalog_matches_the_files() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tools");
        let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
            .expect("tools/")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .map(|p| {
                let name = format!("tools/{}", p.file_name().unwrap().to_string_lossy());
                (name, std::fs::read_to_string(&p).expect("readable"))
            })
            .collect();
        files.sort();
        let sources: Vec<(&str, &str)> = files
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        let parsed = Catalog::from_sources(&sources).expect("the files load");
        let compiled = Catalog::embedded().expect("the compiled catalog loads");
        assert_eq!(
            format!("{:?}", parsed.toolsets()),
            format!("{:?}", compiled.toolsets())
        );
        assert_eq!(parsed.entries().len(), compiled.entries().len());
        for (p, c) in parsed.entries().iter().zip(compiled.entries()) {
            assert_eq!(p.name(), c.name());
            assert!(c.tool.get().is_none(), "{}: parsed before use", c.name());
            assert_eq!(p.read_only(), c.read_only(), "{}", c.name());
            let shape = |e: &ToolEntry| {
                format!(
                    "{} {:?} {} {:?} {:?} {:?} {} {:?} {}",
                    e.toolset,
                    e.method,
                    e.path,
                    e.segments,
                    e.query,
                    e.multipart,
                    e.empty_body,
                    e.api_names,
                    e.generated
                )
            };
            assert_eq!(shape(p), shape(c), "{}", c.name());
            assert_eq!(
                serde_json::to_string(p.tool()).unwrap(),
                serde_json::to_string(c.tool()).unwrap(),
                "{}",
                c.name()
            );
        }
    }

    /// The bundled snapshot merged with the overlay gives every curated tool exactly as the
    /// compiled catalog has it: loading an unchanged spec changes nothing a client can see (no
    /// `notifications/tools/list_changed` for nothing).
    #[test]
    fn an_unchanged_spec_changes_no_tool_definition() {
        let doc = source::bundled().expect("the bundled snapshot parses");
        let from_spec = Catalog::from_spec(&doc, spec::SpecOrigin::Bundled).expect("builds");
        let compiled = Catalog::embedded().expect("loads");
        let mut differ = Vec::new();
        for c in compiled.entries() {
            if let Some(s) = from_spec.get(c.name())
                && s.definition_json() != c.definition_json()
            {
                differ.push(c.name().to_owned());
            }
        }
        assert!(
            differ.is_empty(),
            "changed by merging the bundled spec: {differ:?}"
        );
    }

    #[test]
    fn every_input_schema_compiles() {
        let c = crate::workflows::full_catalog().expect("catalog loads");
        c.check_schemas().expect("every schema compiles");
        let bad = r#"{"toolset":"x","title":"X","description":"x","tools":[{"name":"bad",
            "title":"Bad","description":"b","method":"GET","path":"/v2/x",
            "annotations":{"readOnlyHint":true,"destructiveHint":false,"idempotentHint":true,
            "openWorldHint":true},"inputSchema":{"type":"object","properties":{"a":{"type":7}}}}]}"#;
        let c = Catalog::from_sources(&[("tools/x.json", bad)]).expect("loads lazily");
        let err = c.check_schemas().expect_err("type 7 is no schema");
        assert!(err.to_string().contains("tool bad"), "{err}");
    }

    #[test]
    fn paths_parse_with_team_and_wildcard() {
        let segs = parse_path("/v2/teams/{teamId}/skills/{skill_id}/files/{*}").expect("parses");
        let args: Vec<&str> = segs
            .iter()
            .filter_map(|s| match s {
                Segment::Param { arg, .. } => Some(arg.as_str()),
                Segment::Literal(_) => None,
            })
            .collect();
        assert_eq!(args, ["team_id", "skill_id", "path"]);
        assert!(parse_path("v2/x").is_err());
        assert!(parse_path("/v2/{}").is_err());
    }

    #[test]
    fn bad_files_are_rejected_with_the_file_name() {
        let err =
            Catalog::from_sources(&[("tools/x.json", "{\"toolset\":1}")]).expect_err("must fail");
        assert!(err.to_string().contains("tools/x.json"));
    }
}
