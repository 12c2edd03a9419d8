//! Configuration from flags and environment (flags win). The API key comes only from the
//! environment so it never shows in a process list.

use crate::catalog::{Selection, filter::split_list};
use crate::client::{ApiKey, ClientConfig};
use clap::Args;
use thiserror::Error;
use url::Url;

/// Default Duvo API root.
pub const DEFAULT_BASE_URL: &str = "https://api.duvo.ai";

/// Where and as whom to call Duvo.
#[derive(Args, Clone, Debug, Default)]
pub struct ConnectionArgs {
    /// Use a built-in Duvo emulator with sample data instead of the real API (no key needed).
    #[arg(long)]
    pub demo: bool,
    /// Duvo API root [env: DUVO_API_BASE_URL] [default: https://api.duvo.ai].
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Team for team-scoped calls; resolved from the key when absent [env: DUVO_TEAM_ID].
    #[arg(long, value_name = "UUID")]
    pub team_id: Option<String>,
}

/// Which tools to expose.
#[derive(Args, Clone, Debug, Default)]
pub struct FilterArgs {
    /// Toolsets to enable, comma-separated; `default` and `all` are accepted [env: DUVO_TOOLSETS].
    #[arg(long, value_name = "LIST")]
    pub toolsets: Option<String>,
    /// Single tools to add, comma-separated [env: DUVO_TOOLS].
    #[arg(long, value_name = "LIST")]
    pub tools: Option<String>,
    /// Tools to remove, comma-separated; wins over --tools [env: DUVO_EXCLUDE_TOOLS].
    #[arg(long, value_name = "LIST")]
    pub exclude_tools: Option<String>,
    /// Only read-only tools; wins over everything [env: DUVO_READ_ONLY=true].
    #[arg(long)]
    pub read_only: bool,
}

/// Local directories whose files tools may read and write (stdio only).
#[derive(Args, Clone, Debug, Default)]
pub struct LocalArgs {
    /// Let tools read and write local files below DIR (none by default); takes several
    /// directories at once (`--allow-dir A B`, as MCP Bundle directory pickers pass them) and is
    /// repeatable [env: DUVO_ALLOW_DIRS, colon-separated].
    #[arg(long = "allow-dir", value_name = "DIR", num_args = 0..)]
    pub allow_dir: Vec<std::path::PathBuf>,
}

impl LocalArgs {
    /// The allowed directories: the flags, else `DUVO_ALLOW_DIRS`.
    pub fn dirs(&self) -> Vec<std::path::PathBuf> {
        if !self.allow_dir.is_empty() {
            return self.allow_dir.clone();
        }
        env("DUVO_ALLOW_DIRS")
            .map(|v| {
                std::env::split_paths(&v)
                    .filter(|p| !p.as_os_str().is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A configuration that cannot work, with the fix.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// No key and no `--demo`.
    #[error(
        "DUVO_API_KEY is not set. Create a key in Duvo (Team Settings → API Keys) and export DUVO_API_KEY=dv_…, or run with --demo to use the built-in emulator"
    )]
    MissingApiKey,
    /// The base URL does not parse.
    #[error("DUVO_API_BASE_URL / --base-url {0:?} is not a valid http(s) URL")]
    BadBaseUrl(String),
    /// A boolean variable holds something else.
    #[error("{name}={value:?} is not a boolean; use true or false")]
    BadBool {
        /// The variable.
        name: &'static str,
        /// What it held.
        value: String,
    },
}

/// Reads an environment variable, treating empty as unset.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn env_bool(name: &'static str) -> Result<bool, ConfigError> {
    match env(name).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(false),
        Some(v) if matches!(v.as_str(), "1" | "true" | "yes" | "on") => Ok(true),
        Some(v) if matches!(v.as_str(), "0" | "false" | "no" | "off") => Ok(false),
        Some(value) => Err(ConfigError::BadBool { name, value }),
    }
}

impl FilterArgs {
    /// The selection: flags, else environment.
    pub fn selection(&self) -> Result<Selection, ConfigError> {
        let list = |flag: &Option<String>, var: &str| {
            flag.clone()
                .or_else(|| env(var))
                .map(|s| split_list(&s))
                .unwrap_or_default()
        };
        Ok(Selection {
            toolsets: list(&self.toolsets, "DUVO_TOOLSETS"),
            tools: list(&self.tools, "DUVO_TOOLS"),
            exclude_tools: list(&self.exclude_tools, "DUVO_EXCLUDE_TOOLS"),
            read_only: self.read_only || env_bool("DUVO_READ_ONLY")?,
        })
    }
}

/// Resolved connection settings for the real API (not `--demo`).
#[derive(Debug)]
pub struct Connection {
    /// Client settings (base URL, key).
    pub client: ClientConfig,
    /// Configured team, if any.
    pub team_id: Option<String>,
}

impl ConnectionArgs {
    /// Base URL, key and team from flags and environment.
    pub fn resolve(&self) -> Result<Connection, ConfigError> {
        let key = env("DUVO_API_KEY")
            .map(|k| ApiKey::new(&k))
            .filter(|k| !k.is_empty())
            .ok_or(ConfigError::MissingApiKey)?;
        let raw = self
            .base_url
            .clone()
            .or_else(|| env("DUVO_API_BASE_URL"))
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
        let base_url = parse_base_url(&raw)?;
        Ok(Connection {
            client: ClientConfig::new(base_url, Some(key)),
            team_id: self.team_id.clone().or_else(|| env("DUVO_TEAM_ID")),
        })
    }
}

/// Parses an http(s) base URL.
pub fn parse_base_url(raw: &str) -> Result<Url, ConfigError> {
    // The error shows the URL without any `user:password@`.
    let shown = || ConfigError::BadBaseUrl(crate::client::redact::strip_userinfo(raw));
    let url = Url::parse(raw.trim()).map_err(|_| shown())?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(shown());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_must_be_http() {
        assert!(parse_base_url("https://api.duvo.ai").is_ok());
        assert!(parse_base_url("http://127.0.0.1:8900/").is_ok());
        assert!(parse_base_url("ftp://x").is_err());
        assert!(parse_base_url("not a url").is_err());
        let err = parse_base_url("ftp://user:hunter2@x").expect_err("not http");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn flags_win_over_environment_for_filters() {
        let args = FilterArgs {
            toolsets: Some("jobs, assignments".into()),
            ..FilterArgs::default()
        };
        let sel = args.selection().expect("selection");
        assert_eq!(sel.toolsets, vec!["jobs", "assignments"]);
    }
}
