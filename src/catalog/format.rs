//! The format of `tools/<toolset>.json`, in one place for the two readers: the runtime loader
//! (`catalog/mod.rs`, e.g. for overlay files given as text) and the build script that compiles
//! the files into the binary (`build/catalog.rs` includes this file with `#[path]`), so they
//! cannot drift apart. The including module provides `Method` (upper-case HTTP method names).
//! Unknown fields are refused everywhere.

use super::Method;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One toolset file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ToolsetFile {
    pub(crate) toolset: String,
    pub(crate) title: String,
    pub(crate) description: String,
    #[serde(default)]
    pub(crate) default: bool,
    pub(crate) tools: Vec<EntryFile>,
}

/// One entry as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EntryFile {
    pub(crate) name: String,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) method: Method,
    pub(crate) path: String,
    #[serde(default)]
    pub(crate) query: Vec<String>,
    #[serde(default)]
    pub(crate) multipart: Option<Multipart>,
    #[serde(default)]
    pub(crate) empty_body: bool,
    /// Tool argument → the API's name for it, where they differ (`agent_id` → `agentId`).
    #[serde(default)]
    pub(crate) api_names: BTreeMap<String, String>,
    pub(crate) annotations: AnnotationsFile,
    #[serde(rename = "inputSchema")]
    pub(crate) input_schema: Map<String, Value>,
    /// Set (to where Duvo documents it) for an operation Duvo documents but its OpenAPI spec
    /// lacks: kept when the spec in use has no operation of that name.
    #[serde(default)]
    pub(crate) not_in_spec: Option<String>,
}

impl EntryFile {
    /// Checks `api_names`: each must rename a property of `inputSchema` to a name that differs
    /// from it and is not a property itself.
    pub(crate) fn check_api_names(&self) -> Result<(), String> {
        let properties = self
            .input_schema
            .get("properties")
            .and_then(Value::as_object);
        for (arg, api) in &self.api_names {
            if arg == api || !properties.is_some_and(|p| p.contains_key(arg)) {
                return Err(format!(
                    "api_names: {arg} must be a property of inputSchema and differ from {api}"
                ));
            }
            if properties.is_some_and(|p| p.contains_key(api)) {
                return Err(format!(
                    "api_names: {api} is both an API name and a property"
                ));
            }
        }
        Ok(())
    }
}

/// An entry's MCP annotations as written (all four hints required).
#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct AnnotationsFile {
    pub(crate) read_only_hint: bool,
    pub(crate) destructive_hint: bool,
    pub(crate) idempotent_hint: bool,
    pub(crate) open_world_hint: bool,
}

/// How a multipart operation takes its file: arguments `file_name` and `content_base64` become
/// the part `file_field`; the arguments whose API names are in `text_fields` become text parts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Multipart {
    /// Form field of the file part.
    pub file_field: String,
    /// Fields sent as plain text parts (API names).
    #[serde(default)]
    pub text_fields: Vec<String>,
}
