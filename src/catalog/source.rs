//! Where the OpenAPI spec comes from: Duvo's live spec (an URL, revalidated against the copy in
//! the user's cache directory with ETag / Last-Modified), a file, or the bundled snapshot.
//!
//! Loading never fails: offline or broken → the cached copy of the same URL → the bundled
//! snapshot (`None`). The server loads it in the background (see `crate::app`); start-up never
//! waits for it.

use super::spec::{SpecDocument, SpecOrigin};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Duvo's published spec.
pub const DEFAULT_OPENAPI_URL: &str = "https://www.duvo.ai/openapi.json";

/// How long the background load may take (the fetch included) before the server keeps what it has.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// Largest spec accepted (the bundled one is about 1 MB).
const MAX_BYTES: usize = 32 << 20;

/// `--openapi-url` / `DUVO_OPENAPI_URL` and `--bundled-spec`.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct SpecArgs {
    /// Where the OpenAPI spec comes from: an URL, a file path, or `off` for the bundled snapshot
    /// [env: DUVO_OPENAPI_URL] [default: https://www.duvo.ai/openapi.json; with --demo, the
    /// emulator's /openapi.json].
    #[arg(long, value_name = "URL|FILE|off")]
    pub openapi_url: Option<String>,
    /// Pin the bundled snapshot (the same as `--openapi-url off`).
    #[arg(long, conflicts_with = "openapi_url")]
    pub bundled_spec: bool,
}

impl SpecArgs {
    /// The source the flags or `DUVO_OPENAPI_URL` name; `None` when neither does (the caller's
    /// default applies).
    pub fn choice(&self) -> Option<SpecSource> {
        (self.bundled_spec
            || self.openapi_url.is_some()
            || crate::config::env("DUVO_OPENAPI_URL").is_some())
        .then(|| self.source(None))
    }

    /// The source asked for: the flags, else `DUVO_OPENAPI_URL`, else `default` (Duvo's URL, or
    /// the demo emulator's).
    pub fn source(&self, default: Option<&str>) -> SpecSource {
        if self.bundled_spec {
            return SpecSource::Bundled;
        }
        let raw = self
            .openapi_url
            .clone()
            .or_else(|| crate::config::env("DUVO_OPENAPI_URL"))
            .unwrap_or_else(|| default.unwrap_or(DEFAULT_OPENAPI_URL).to_owned());
        SpecSource::parse(&raw)
    }
}

/// A spec source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpecSource {
    /// The bundled snapshot (nothing to load).
    Bundled,
    /// An `http(s)://` URL.
    Url(String),
    /// A local file.
    File(PathBuf),
}

impl SpecSource {
    /// `off`/`bundled`/`none` → bundled; `http(s)://…` → URL; anything else a file path.
    pub fn parse(raw: &str) -> Self {
        let t = raw.trim();
        match t.to_ascii_lowercase().as_str() {
            "" | "off" | "bundled" | "none" | "false" | "0" => Self::Bundled,
            l if l.starts_with("http://") || l.starts_with("https://") => Self::Url(t.to_owned()),
            _ => Self::File(PathBuf::from(t.strip_prefix("file://").unwrap_or(t))),
        }
    }
}

/// A loaded spec.
#[derive(Debug)]
pub struct LoadedSpec {
    /// Parsed operations.
    pub doc: SpecDocument,
    /// Where it came from.
    pub origin: SpecOrigin,
}

/// What the cache keeps next to the spec.
#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheMeta {
    url: String,
    etag: Option<String>,
    last_modified: Option<String>,
    fetched: String,
}

/// The cache directory: `DUVO_OPENAPI_CACHE_DIR`, else `<user cache dir>/duvo-mcp`.
fn cache_dir() -> Option<PathBuf> {
    crate::config::env("DUVO_OPENAPI_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| dirs::cache_dir().map(|d| d.join("duvo-mcp")))
}

/// One cache file pair per URL (a test's emulator never overwrites Duvo's copy).
fn cache_paths(url: &str) -> Option<(PathBuf, PathBuf)> {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(url.as_bytes());
    let tag: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let dir = cache_dir()?;
    Some((
        dir.join(format!("openapi-{tag}.json")),
        dir.join(format!("openapi-{tag}.meta.json")),
    ))
}

fn parse_text(text: &[u8]) -> Result<SpecDocument, String> {
    let v: Value = serde_json::from_slice(text).map_err(|e| format!("not JSON: {e}"))?;
    let doc = SpecDocument::parse(&v)?;
    if doc.operations.is_empty() {
        return Err("the spec has no operation with an operationId".into());
    }
    Ok(doc)
}

/// Loads `source` within `timeout`; `None` = use the bundled snapshot. Logs one line saying which
/// spec is in use (and why, when it fell back).
pub async fn load(source: &SpecSource, timeout: Duration) -> Option<LoadedSpec> {
    let loaded = match source {
        SpecSource::Bundled => {
            tracing::info!(
                source = "bundled",
                "OpenAPI spec: the bundled snapshot (pinned)"
            );
            return None;
        }
        SpecSource::File(path) => load_file(path).await,
        SpecSource::Url(url) => {
            let live = match tokio::time::timeout(timeout, fetch(url)).await {
                Ok(result) => result,
                Err(_) => Err(format!("no answer within {} s", timeout.as_secs())),
            };
            match live {
                Ok(l) => Ok(l),
                Err(live_err) => match read_cache(url) {
                    Some(l) => {
                        tracing::info!(
                            source = "cached",
                            reason = %live_err,
                            "OpenAPI spec: {} (the live spec could not be loaded)",
                            l.origin
                        );
                        return Some(l);
                    }
                    None => Err(live_err),
                },
            }
        }
    };
    match loaded {
        Ok(l) => {
            if matches!(l.origin, SpecOrigin::Live { .. }) {
                tracing::info!(
                    source = "live",
                    operations = l.doc.operations.len(),
                    "OpenAPI spec: {}",
                    l.origin
                );
            }
            Some(l)
        }
        Err(e) => {
            tracing::warn!(
                source = "bundled",
                reason = %e,
                "OpenAPI spec: the bundled snapshot (the spec at {} could not be loaded)",
                match source {
                    SpecSource::Url(u) => u.clone(),
                    SpecSource::File(p) => p.display().to_string(),
                    SpecSource::Bundled => String::new(),
                }
            );
            None
        }
    }
}

/// Loads `source` within `timeout` without falling back (for `duvo-mcp catalog diff`: a check
/// must not silently compare another spec). `Bundled` → the bundled snapshot.
pub async fn load_strict(source: &SpecSource, timeout: Duration) -> Result<LoadedSpec, String> {
    match source {
        SpecSource::Bundled => Ok(LoadedSpec {
            doc: bundled()?,
            origin: SpecOrigin::Bundled,
        }),
        SpecSource::File(path) => load_file(path).await,
        SpecSource::Url(url) => match tokio::time::timeout(timeout, fetch(url)).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "GET {url}: no answer within {} s",
                timeout.as_secs()
            )),
        },
    }
}

/// The bound on the background load: `DUVO_OPENAPI_TIMEOUT` seconds, else [`DEFAULT_TIMEOUT`].
pub fn timeout_from_env() -> Duration {
    crate::config::env("DUVO_OPENAPI_TIMEOUT")
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(DEFAULT_TIMEOUT)
}

async fn load_file(path: &Path) -> Result<LoadedSpec, String> {
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| format!("reading {}: {e}", path.display()))?;
    let doc = parse_text(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(LoadedSpec {
        doc,
        origin: SpecOrigin::Live {
            url: path.display().to_string(),
        },
    })
}

fn read_cache(url: &str) -> Option<LoadedSpec> {
    let (body, meta) = cache_paths(url)?;
    let meta: CacheMeta = serde_json::from_slice(&std::fs::read(meta).ok()?).ok()?;
    let doc = parse_text(&std::fs::read(body).ok()?).ok()?;
    Some(LoadedSpec {
        doc,
        origin: SpecOrigin::Cached {
            fetched: meta.fetched,
            url: url.to_owned(),
        },
    })
}

async fn fetch(url: &str) -> Result<LoadedSpec, String> {
    let client = reqwest::Client::builder()
        .user_agent(concat!("duvo-mcp/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| format!("building the HTTP client: {e}"))?;
    let paths = cache_paths(url);
    let meta: Option<CacheMeta> = paths
        .as_ref()
        .and_then(|(_, m)| std::fs::read(m).ok())
        .and_then(|b| serde_json::from_slice(&b).ok());
    let mut req = client.get(url).header("accept", "application/json");
    if let Some(m) = &meta {
        if let Some(e) = &m.etag {
            req = req.header("if-none-match", e);
        }
        if let Some(l) = &m.last_modified {
            req = req.header("if-modified-since", l);
        }
    }
    let resp = req.send().await.map_err(|e| format!("GET {url}: {e}"))?;
    let status = resp.status();
    if status == reqwest::StatusCode::NOT_MODIFIED
        && let Some(cached) = read_cache(url)
    {
        return Ok(LoadedSpec {
            doc: cached.doc,
            origin: SpecOrigin::Live {
                url: url.to_owned(),
            },
        });
    }
    if !status.is_success() {
        return Err(format!("GET {url}: HTTP {}", status.as_u16()));
    }
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let etag = header("etag");
    let last_modified = header("last-modified");
    if resp.content_length().is_some_and(|n| n > MAX_BYTES as u64) {
        return Err(format!("GET {url}: larger than {MAX_BYTES} bytes"));
    }
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| format!("GET {url}: reading the body: {e}"))?;
    if bytes.len() > MAX_BYTES {
        return Err(format!("GET {url}: larger than {MAX_BYTES} bytes"));
    }
    let doc = parse_text(&bytes).map_err(|e| format!("GET {url}: {e}"))?;
    if let Some((body_path, meta_path)) = paths {
        let meta = CacheMeta {
            url: url.to_owned(),
            etag,
            last_modified,
            fetched: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        if let Err(e) = write_cache(&body_path, &meta_path, &bytes, &meta) {
            tracing::debug!(error = %e, "could not cache the OpenAPI spec");
        }
    }
    Ok(LoadedSpec {
        doc,
        origin: SpecOrigin::Live {
            url: url.to_owned(),
        },
    })
}

fn write_cache(body: &Path, meta: &Path, bytes: &[u8], m: &CacheMeta) -> std::io::Result<()> {
    if let Some(dir) = body.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Write then rename: a concurrent reader never sees half a file.
    let tmp = body.with_extension("json.tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, body)?;
    let tmp = meta.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(m).unwrap_or_default())?;
    std::fs::rename(&tmp, meta)
}

/// The bundled snapshot, `spec/openapi.json`, as the build script stored it (deflated).
static BUNDLED_DEFLATED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/openapi.json.deflate"));

/// The bundled snapshot's JSON text.
pub fn bundled_text() -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let mut text = Vec::new();
    flate2::read::DeflateDecoder::new(BUNDLED_DEFLATED)
        .read_to_end(&mut text)
        .map_err(|e| format!("the bundled OpenAPI snapshot does not inflate: {e}"))?;
    Ok(text)
}

/// The bundled snapshot, parsed (for `catalog diff` and the generator tests).
pub fn bundled() -> Result<SpecDocument, String> {
    parse_text(&bundled_text()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_snapshot_inflates_to_spec_openapi_json() {
        let on_disk = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/spec/openapi.json"))
            .expect("spec/openapi.json");
        assert_eq!(bundled_text().expect("inflates"), on_disk);
        assert!(BUNDLED_DEFLATED.len() * 4 < on_disk.len());
    }

    #[test]
    fn sources_parse() {
        assert_eq!(SpecSource::parse("off"), SpecSource::Bundled);
        assert_eq!(
            SpecSource::parse("https://x/openapi.json"),
            SpecSource::Url("https://x/openapi.json".into())
        );
        assert_eq!(
            SpecSource::parse("/tmp/a.json"),
            SpecSource::File("/tmp/a.json".into())
        );
    }
}
