//! The curated catalog as `build/catalog.rs` compiled it from `tools/*.json`: checked at build
//! time (the file format, `api_names` against each schema, unique names), every string static,
//! and each input schema kept as minified JSON that is parsed the first time the tool is needed
//! (listed, called, searched). Start-up parses no JSON; `benches/duvo/PROFILE.md` has the
//! figures.

use super::{AnnotationsFile, EntryFile, Multipart, ToolsetFile};
use crate::client::request::Method;
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use std::sync::Arc;

/// One toolset file, compiled.
#[derive(Debug)]
pub(crate) struct RawToolset {
    /// `tools/<name>.json`, for error messages.
    pub file: &'static str,
    /// The toolset's name.
    pub toolset: &'static str,
    /// Human title.
    pub(crate) title: &'static str,
    /// One line on what it covers.
    pub(crate) description: &'static str,
    /// Enabled when no `--toolsets` are given.
    pub default: bool,
    /// Its entries, in file order.
    pub tools: &'static [RawEntry],
}

/// One entry, compiled (the fields of `EntryFile`).
#[derive(Debug)]
pub(crate) struct RawEntry {
    pub(crate) name: &'static str,
    pub(crate) title: &'static str,
    pub(crate) description: &'static str,
    pub(crate) method: Method,
    pub(crate) path: &'static str,
    pub(crate) query: &'static [&'static str],
    pub(crate) multipart: Option<RawMultipart>,
    pub(crate) empty_body: bool,
    pub(crate) api_names: &'static [(&'static str, &'static str)],
    /// readOnly, destructive, idempotent, openWorld hints.
    pub annotations: [bool; 4],
    /// The input schema, minified JSON (a JSON object: checked at build time).
    pub input_schema: &'static str,
    pub(crate) not_in_spec: Option<&'static str>,
}

/// A multipart entry's form layout, compiled.
#[derive(Debug)]
pub(crate) struct RawMultipart {
    pub(crate) file_field: &'static str,
    pub(crate) text_fields: &'static [&'static str],
}

include!(concat!(env!("OUT_DIR"), "/embedded_catalog.rs"));

impl RawEntry {
    /// The input schema, parsed. It was parsed and written by the build script, so it is a JSON
    /// object; should it somehow not be, the tool gets an empty schema rather than a panic.
    pub fn schema(&self) -> JsonObject {
        serde_json::from_str(self.input_schema).unwrap_or_else(|e| {
            tracing::error!(tool = self.name, "embedded inputSchema does not parse: {e}");
            JsonObject::new()
        })
    }

    /// The MCP tool definition, built as the runtime loader builds it from the file.
    pub fn tool(&self) -> Tool {
        let [read_only, destructive, idempotent, open_world] = self.annotations;
        let annotations = ToolAnnotations::with_title(self.title)
            .read_only(read_only)
            .destructive(destructive)
            .idempotent(idempotent)
            .open_world(open_world);
        Tool::new(self.name, self.description, Arc::new(self.schema()))
            .with_title(self.title)
            .with_annotations(annotations)
    }

    /// The query parameters, owned.
    pub fn query_owned(&self) -> Vec<String> {
        owned(self.query)
    }

    /// The multipart layout, owned.
    pub fn multipart_owned(&self) -> Option<Multipart> {
        self.multipart.as_ref().map(|m| Multipart {
            file_field: m.file_field.to_owned(),
            text_fields: owned(m.text_fields),
        })
    }

    /// Tool argument → API name, owned.
    pub fn api_names_owned(&self) -> std::collections::BTreeMap<String, String> {
        self.api_names
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    /// The entry as the file has it (for merging with an OpenAPI spec).
    pub(super) fn to_file(&self) -> EntryFile {
        let [
            read_only_hint,
            destructive_hint,
            idempotent_hint,
            open_world_hint,
        ] = self.annotations;
        EntryFile {
            name: self.name.to_owned(),
            title: self.title.to_owned(),
            description: self.description.to_owned(),
            method: self.method,
            path: self.path.to_owned(),
            query: self.query_owned(),
            multipart: self.multipart_owned(),
            empty_body: self.empty_body,
            api_names: self.api_names_owned(),
            annotations: AnnotationsFile {
                read_only_hint,
                destructive_hint,
                idempotent_hint,
                open_world_hint,
            },
            input_schema: self.schema(),
            not_in_spec: self.not_in_spec.map(str::to_owned),
        }
    }
}

impl RawToolset {
    /// The file as written (schemas parsed), for merging with an OpenAPI spec.
    pub(super) fn to_file(&self) -> (String, ToolsetFile) {
        (
            self.file.to_owned(),
            ToolsetFile {
                toolset: self.toolset.to_owned(),
                title: self.title.to_owned(),
                description: self.description.to_owned(),
                default: self.default,
                tools: self.tools.iter().map(RawEntry::to_file).collect(),
            },
        )
    }
}

fn owned(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}
