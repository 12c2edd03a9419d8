//! One trusted authorization server: its metadata (RFC 8414, then OpenID Connect discovery), its
//! JWKS (cached; refreshed on an unknown `kid`, at most once per cooldown, one fetch at a time)
//! and its RFC 7662 introspection endpoint when it advertises one.

use jsonwebtoken::jwk::{Jwk, JwkSet};
use serde::Deserialize;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Least time between two JWKS (or metadata) fetches of one issuer.
pub const REFRESH_COOLDOWN: Duration = Duration::from_secs(30);
/// Largest metadata or JWKS document read.
const MAX_DOC: usize = 512 * 1024;

/// The fields of the authorization server's metadata this server uses.
#[derive(Clone, Debug, Deserialize)]
pub struct Metadata {
    /// Must equal the configured issuer byte for byte (RFC 8414 §3.3).
    pub issuer: String,
    /// Where the signing keys are.
    pub jwks_uri: Option<String>,
    /// RFC 7662 endpoint, for opaque tokens.
    pub introspection_endpoint: Option<String>,
}

#[derive(Default)]
struct Cache {
    metadata: Option<Arc<Metadata>>,
    keys: Arc<JwkSet>,
    fetched: Option<Instant>,
}

/// A configured issuer and what was learnt about it.
pub struct Issuer {
    /// The issuer identifier, exactly as configured.
    pub url: String,
    http: reqwest::Client,
    cache: RwLock<Cache>,
    /// Single flight: one discovery/JWKS fetch at a time per issuer.
    refresh: tokio::sync::Mutex<()>,
    /// Least time between two fetches ([`REFRESH_COOLDOWN`]).
    cooldown: Duration,
}

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuer")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Whether `url` may be trusted as an issuer: HTTPS, or plain HTTP on a loopback host (tests).
pub fn check_issuer_url(raw: &str) -> anyhow::Result<url::Url> {
    let u = url::Url::parse(raw)
        .map_err(|e| anyhow::anyhow!("--oauth-issuer {raw:?} is not a URL: {e}"))?;
    if u.query().is_some() || u.fragment().is_some() {
        anyhow::bail!("--oauth-issuer {raw:?} must not have a query or fragment (RFC 8414 §2)");
    }
    match u.scheme() {
        "https" => Ok(u),
        "http" if is_loopback(&u) => Ok(u),
        _ => anyhow::bail!(
            "--oauth-issuer {raw:?} must use https (plain http is accepted only on loopback, for tests)"
        ),
    }
}

/// Whether a URL's host is a loopback name or address.
pub fn is_loopback(u: &url::Url) -> bool {
    match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The well-known URLs to try, in order: RFC 8414 (path inserted), OIDC (path appended), OIDC
/// (path inserted).
fn discovery_urls(issuer: &url::Url) -> Vec<String> {
    let origin = issuer.origin().ascii_serialization();
    let path = issuer.path().trim_end_matches('/');
    vec![
        format!("{origin}/.well-known/oauth-authorization-server{path}"),
        format!("{origin}{path}/.well-known/openid-configuration"),
        format!("{origin}/.well-known/openid-configuration{path}"),
    ]
}

impl Issuer {
    /// An issuer to be discovered on first use.
    pub fn new(url: String, http: reqwest::Client) -> Self {
        Self {
            url,
            http,
            cache: RwLock::new(Cache::default()),
            refresh: tokio::sync::Mutex::new(()),
            cooldown: REFRESH_COOLDOWN,
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Cache> {
        self.cache.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Cache> {
        self.cache.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The key with `kid`, fetching metadata and keys when they are not known yet and refreshing
    /// them once (per cooldown) when the `kid` is unknown (key rotation).
    pub async fn key(&self, kid: &str) -> Result<Jwk, String> {
        if let Some(k) = self.read().keys.find(kid) {
            return Ok(k.clone());
        }
        let _flight = self.refresh.lock().await;
        // Another request may have refreshed while this one waited.
        if let Some(k) = self.read().keys.find(kid) {
            return Ok(k.clone());
        }
        let recent = self
            .read()
            .fetched
            .is_some_and(|t| t.elapsed() < self.cooldown);
        if recent {
            return Err(format!("no key {kid:?} in the issuer's JWKS"));
        }
        self.write().fetched = Some(Instant::now());
        self.refresh_keys().await?;
        self.read()
            .keys
            .find(kid)
            .cloned()
            .ok_or_else(|| format!("no key {kid:?} in the issuer's JWKS"))
    }

    /// The issuer's metadata (discovered once, retried after the cooldown when it failed).
    pub async fn metadata(&self) -> Result<Arc<Metadata>, String> {
        if let Some(m) = self.read().metadata.clone() {
            return Ok(m);
        }
        let _flight = self.refresh.lock().await;
        if let Some(m) = self.read().metadata.clone() {
            return Ok(m);
        }
        self.discover().await
    }

    async fn discover(&self) -> Result<Arc<Metadata>, String> {
        let issuer = url::Url::parse(&self.url).map_err(|e| e.to_string())?;
        let mut last = String::from("no discovery document");
        for candidate in discovery_urls(&issuer) {
            match self.get_json::<Metadata>(&candidate).await {
                Ok(m) if m.issuer == self.url => {
                    let m = Arc::new(m);
                    self.write().metadata = Some(m.clone());
                    return Ok(m);
                }
                Ok(m) => {
                    last = format!(
                        "{candidate} names issuer {:?}, not the configured {:?}",
                        m.issuer, self.url
                    );
                }
                Err(e) => last = e,
            }
        }
        tracing::warn!(issuer = %self.url, error = %last, "authorization server discovery failed");
        Err(last)
    }

    async fn refresh_keys(&self) -> Result<(), String> {
        let known = self.read().metadata.clone();
        let meta = match known {
            Some(m) => m,
            None => self.discover().await?,
        };
        let Some(jwks_uri) = &meta.jwks_uri else {
            return Err("the issuer publishes no jwks_uri".to_owned());
        };
        let set = self.get_json::<JwkSet>(jwks_uri).await.inspect_err(|e| {
            tracing::warn!(issuer = %self.url, error = %e, "fetching the JWKS failed");
        })?;
        tracing::debug!(issuer = %self.url, keys = set.keys.len(), "JWKS fetched");
        self.write().keys = Arc::new(set);
        Ok(())
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let resp = self
            .http
            .get(url)
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("GET {url}: HTTP {}", resp.status()));
        }
        let body = read_capped(resp)
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        serde_json::from_slice(&body).map_err(|e| format!("GET {url}: {e}"))
    }

    /// RFC 7662: asks the issuer about an opaque token (`None`: it offers no introspection).
    pub async fn introspect(
        &self,
        token: &str,
        client: Option<&(String, String)>,
    ) -> Option<Result<serde_json::Value, String>> {
        let meta = self.metadata().await.ok()?;
        let endpoint = meta.introspection_endpoint.as_deref()?;
        let mut req = self
            .http
            .post(endpoint)
            .header(http::header::ACCEPT, "application/json")
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(
                url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("token", token)
                    .append_pair("token_type_hint", "access_token")
                    .finish(),
            );
        if let Some((id, secret)) = client {
            req = req.basic_auth(id, Some(secret));
        }
        let result = async {
            let resp = req
                .send()
                .await
                .map_err(|e| format!("introspection: {e}"))?;
            if !resp.status().is_success() {
                return Err(format!("introspection: HTTP {}", resp.status()));
            }
            let body = read_capped(resp).await?;
            serde_json::from_slice(&body).map_err(|e| format!("introspection: {e}"))
        }
        .await;
        Some(result)
    }
}

async fn read_capped(resp: reqwest::Response) -> Result<Vec<u8>, String> {
    use futures::StreamExt;
    let mut body = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| e.to_string())?;
        if body.len() + chunk.len() > MAX_DOC {
            return Err(format!("document larger than {MAX_DOC} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Json;
    use axum::routing::get;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A JWKS server whose key ids can change; counts JWKS fetches.
    async fn keys_server(
        kids: Arc<std::sync::Mutex<Vec<&'static str>>>,
    ) -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let fetches = Arc::new(AtomicUsize::new(0));
        let issuer = base.clone();
        let count = fetches.clone();
        let app = axum::Router::new()
            .route(
                "/.well-known/oauth-authorization-server",
                get(move || {
                    let i = issuer.clone();
                    async move {
                        Json(serde_json::json!({"issuer": i, "jwks_uri": format!("{i}/jwks")}))
                    }
                }),
            )
            .route(
                "/jwks",
                get(move || {
                    let kids = kids.clone();
                    let count = count.clone();
                    async move {
                        count.fetch_add(1, Ordering::SeqCst);
                        // Slow enough that concurrent lookups overlap.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        let keys: Vec<_> = kids
                            .lock()
                            .unwrap()
                            .iter()
                            .map(|k| {
                                serde_json::json!(
                            {"kty": "RSA", "kid": k, "alg": "RS256", "n": "sXch", "e": "AQAB"})
                            })
                            .collect();
                        Json(serde_json::json!({"keys": keys}))
                    }
                }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await });
        (base, fetches)
    }

    #[tokio::test]
    async fn jwks_is_cached_refreshed_on_rotation_and_fetched_once_for_many() {
        let kids = Arc::new(std::sync::Mutex::new(vec!["a"]));
        let (base, fetches) = keys_server(kids.clone()).await;
        let mut issuer = Issuer::new(base, reqwest::Client::new());
        issuer.cooldown = Duration::from_secs(2);
        let issuer = Arc::new(issuer);
        // Many concurrent first lookups: one fetch (single flight).
        let lookups: Vec<_> = (0..8)
            .map(|_| {
                let i = issuer.clone();
                tokio::spawn(async move { i.key("a").await })
            })
            .collect();
        for l in lookups {
            assert!(l.await.unwrap().is_ok());
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        // Known kid: from the cache.
        assert!(issuer.key("a").await.is_ok());
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        // The issuer rotates to "b"; within the cooldown an unknown kid is refused unfetched.
        kids.lock().unwrap().push("b");
        assert!(issuer.key("b").await.is_err());
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        // After it, the unknown kid triggers one refresh and is found.
        tokio::time::sleep(Duration::from_millis(2200)).await;
        assert!(issuer.key("b").await.is_ok());
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
        // A kid that never exists costs at most one fetch per cooldown.
        tokio::time::sleep(Duration::from_millis(2200)).await;
        for _ in 0..5 {
            assert!(issuer.key("zzz").await.is_err());
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn discovery_inserts_then_appends_the_path() {
        let u = url::Url::parse("https://idp.example.com/tenant/1").unwrap();
        assert_eq!(
            discovery_urls(&u),
            vec![
                "https://idp.example.com/.well-known/oauth-authorization-server/tenant/1",
                "https://idp.example.com/tenant/1/.well-known/openid-configuration",
                "https://idp.example.com/.well-known/openid-configuration/tenant/1",
            ]
        );
        let u = url::Url::parse("https://idp.example.com/").unwrap();
        assert_eq!(
            discovery_urls(&u)[0],
            "https://idp.example.com/.well-known/oauth-authorization-server"
        );
    }

    #[test]
    fn issuers_must_be_https_except_on_loopback() {
        assert!(check_issuer_url("https://idp.example.com").is_ok());
        assert!(check_issuer_url("http://127.0.0.1:9000").is_ok());
        assert!(check_issuer_url("http://localhost:9000/realms/x").is_ok());
        assert!(check_issuer_url("http://idp.example.com").is_err());
        assert!(check_issuer_url("https://idp.example.com/?x=1").is_err());
    }
}
