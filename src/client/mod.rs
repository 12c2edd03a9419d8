//! The one shared Duvo HTTP client: auth, timeouts, rate limiting, retries, idempotency keys.

pub mod error;
pub mod ratelimit;
pub mod redact;
pub mod request;
pub mod retry;
pub mod secret;

pub use error::ApiError;
pub use request::{ApiBody, ApiRequest, ApiResponse, FilePart, RequestBody};
pub use secret::ApiKey;

use crate::telemetry;
use error::error_chain;
use ratelimit::RateLimiter;
use retry::RetryPolicy;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use url::Url;

/// Settings of the shared client.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// API root, e.g. `https://api.duvo.ai`.
    pub base_url: Url,
    /// The server-side key; `None` in passthrough mode (each call brings its own).
    pub api_key: Option<ApiKey>,
    /// TCP/TLS connect timeout.
    pub connect_timeout: Duration,
    /// Whole-request timeout (one attempt).
    pub request_timeout: Duration,
    /// Retry behaviour.
    pub retry: RetryPolicy,
    /// Requests per minute per key before the client waits on its own.
    pub rate_limit_per_minute: u32,
    /// Secrets masked in every upstream string (errors, bodies) before it reaches a result or log.
    pub redact: redact::Redactor,
    /// Where the per-key rate budget lives (in-process, or Redis shared by replicas).
    pub shared: crate::shared_state::SharedState,
}

impl ClientConfig {
    /// Defaults for `base_url` and `api_key`: 10 s connect, 60 s request, 4 retries, 300/min.
    pub fn new(base_url: Url, api_key: Option<ApiKey>) -> Self {
        let mut redact = redact::Redactor::default();
        redact.add_url_credentials(&base_url);
        Self {
            base_url,
            api_key,
            redact,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            rate_limit_per_minute: ratelimit::DEFAULT_LIMIT,
            shared: crate::shared_state::SharedState::in_process(),
        }
    }

    /// Also masks `secret` (e.g. the inbound auth token) in every upstream string.
    pub fn with_secret(mut self, secret: &str) -> Self {
        self.redact.add(secret);
        self
    }
}

/// Cheap to clone; all clones share one connection pool and one rate budget per key.
#[derive(Clone, Debug)]
pub struct DuvoClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Built on the first upstream call: loading the system's TLS roots is most of what
    /// building it costs, and `initialize` should not wait for it (benches/duvo/PROFILE.md).
    http: std::sync::OnceLock<Result<reqwest::Client, String>>,
    config: ClientConfig,
    /// One limiter per key fingerprint, least recently used first out (passthrough callers may
    /// bring any number of distinct, even invalid, keys).
    limiters: Mutex<lru::LruCache<u64, Arc<RateLimiter>>>,
}

/// Per-key limiters kept at once; an evicted key starts a fresh window (Duvo still enforces
/// its own limit with 429s).
pub const MAX_TRACKED_KEYS: usize = 10_000;

impl DuvoClient {
    /// Builds the client (rustls, one pool for the process).
    /// The HTTP client itself is built on the first call ([`Self::http`]).
    pub fn new(config: ClientConfig) -> Result<Self, ApiError> {
        Ok(Self {
            inner: Arc::new(Inner {
                http: std::sync::OnceLock::new(),
                config,
                limiters: Mutex::new(lru::LruCache::new(
                    std::num::NonZeroUsize::new(MAX_TRACKED_KEYS)
                        .unwrap_or(std::num::NonZeroUsize::MIN),
                )),
            }),
        })
    }

    /// The shared HTTP client (rustls, one pool for the process), built on first use.
    fn http(&self) -> Result<&reqwest::Client, ApiError> {
        let config = &self.inner.config;
        self.inner
            .http
            .get_or_init(|| {
                reqwest::Client::builder()
                    .connect_timeout(config.connect_timeout)
                    .timeout(config.request_timeout)
                    .user_agent(concat!("duvo-mcp/", env!("CARGO_PKG_VERSION")))
                    .pool_idle_timeout(Duration::from_secs(90))
                    .build()
                    .map_err(|e| format!("cannot build the HTTP client: {e}"))
            })
            .as_ref()
            .map_err(|e| ApiError::Build(e.clone()))
    }

    /// The configured API root.
    pub fn base_url(&self) -> &Url {
        &self.inner.config.base_url
    }

    /// True when a server-side key is configured.
    pub fn has_default_key(&self) -> bool {
        self.inner.config.api_key.is_some()
    }

    /// SHA-256 of the key a call uses (`key`, else the configured one; zeros when there is none).
    pub fn caller_digest(&self, key: Option<&ApiKey>) -> [u8; 32] {
        key.or(self.inner.config.api_key.as_ref())
            .map(ApiKey::digest)
            .unwrap_or([0; 32])
    }

    /// Sends `req` with the configured key.
    pub async fn send(&self, req: &ApiRequest) -> Result<ApiResponse, ApiError> {
        let key = self
            .inner
            .config
            .api_key
            .clone()
            .ok_or(ApiError::NoApiKey)?;
        self.send_as(&key, req).await
    }

    /// Sends `req` with `key` (passthrough mode), retrying per the policy.
    ///
    /// Mutating requests carry an `Idempotency-Key` (the request's own, or a fresh UUID) that
    /// stays the same across retries; POST/PATCH are retried only when they carry one.
    pub async fn send_as(&self, key: &ApiKey, req: &ApiRequest) -> Result<ApiResponse, ApiError> {
        let outcome = self.send_with_retries(key, req).await;
        if let Err(e) = &outcome {
            record_outcome(e.attempts().unwrap_or(0), e.status());
        }
        outcome
    }

    async fn send_with_retries(
        &self,
        key: &ApiKey,
        req: &ApiRequest,
    ) -> Result<ApiResponse, ApiError> {
        let auth = key.bearer_header().ok_or_else(|| {
            ApiError::Build("the API key contains characters not allowed in a header".into())
        })?;
        let url = self.url_for(req);
        let idempotency_key = req.idempotency_key.clone().or_else(|| {
            req.method
                .is_mutating()
                .then(|| uuid::Uuid::new_v4().to_string())
        });
        let retryable = req.method.is_idempotent() || idempotency_key.is_some();
        let limiter = self.limiter(key);
        let limiter = self.inner.config.shared.budget(
            self.inner.config.base_url.as_str(),
            &key.digest(),
            self.inner.config.rate_limit_per_minute,
            &limiter,
        );
        let policy = &self.inner.config.retry;
        let mut attempt: u32 = 0;
        // Bounded metric label and span name: `GET /v2/runs/{id}` (src/telemetry).
        let operation = telemetry::operation(req.method.as_str(), &req.path);
        loop {
            attempt += 1;
            let waiting = Instant::now();
            limiter.acquire().await;
            telemetry::metrics::limiter_wait(waiting.elapsed());
            let span = telemetry::upstream_span(req.method.as_str(), &operation, attempt);
            let mut builder = self
                .http()?
                .request(req.method.as_http(), url.clone())
                .header(http::header::AUTHORIZATION, auth.clone())
                .header(http::header::ACCEPT, "application/json")
                .headers(telemetry::trace_headers(&span));
            if let Some(k) = &idempotency_key {
                builder = builder.header("idempotency-key", k.as_str());
            }
            builder = req.body.apply(builder)?;
            let started = Instant::now();
            let outcome = tracing::Instrument::instrument(builder.send(), span.clone()).await;
            telemetry::record_upstream(&span, &operation, &outcome, started.elapsed());
            let retry_in = match outcome {
                Ok(resp) => {
                    limiter.observe(resp.headers()).await;
                    let status = resp.status().as_u16();
                    tracing::debug!(
                        method = req.method.as_str(),
                        path = %req.path,
                        status,
                        attempt,
                        ms = started.elapsed().as_millis() as u64,
                        "duvo request"
                    );
                    if resp.status().is_success() {
                        // A body cut off or garbled is retried like a broken connection (same key).
                        let err = match request::read_success(resp, attempt).await {
                            Ok(mut answer) => {
                                if let ApiBody::Json(v) = &mut answer.body {
                                    self.redact_value(v, key);
                                }
                                record_outcome(attempt, Some(answer.status));
                                return Ok(answer);
                            }
                            Err(err) => self.scrub(err, key),
                        };
                        match policy.delay_for_transport(attempt, retryable) {
                            Some(delay) => {
                                tracing::debug!(attempt, error = %err, "unreadable answer; retrying");
                                delay
                            }
                            None => return Err(err),
                        }
                    } else {
                        let err = self.scrub(request::read_error(resp, attempt).await, key);
                        let ApiError::Status { retry_after, .. } = &err else {
                            return Err(err);
                        };
                        if status == 429 {
                            limiter
                                .block_for(retry_after.unwrap_or(Duration::from_secs(1)))
                                .await;
                        }
                        // The same key is still being processed (an earlier attempt timed out
                        // here but runs on there): wait and ask again; the answer will be replayed.
                        let in_flight = err.is_key_in_flight();
                        let delay = if in_flight {
                            policy.delay_for_transport(attempt, idempotency_key.is_some())
                        } else {
                            policy.delay_for_status(status, *retry_after, attempt, retryable)
                        };
                        match delay {
                            Some(delay) => delay,
                            None => return Err(err),
                        }
                    }
                }
                Err(e) => {
                    let err = self.scrub(self.transport_error(e, attempt), key);
                    match policy.delay_for_transport(attempt, retryable) {
                        Some(delay) => {
                            tracing::debug!(attempt, error = %err, "duvo request failed; retrying");
                            delay
                        }
                        None => return Err(err),
                    }
                }
            };
            telemetry::metrics::retry(&operation);
            tokio::time::sleep(retry_in).await;
        }
    }

    /// PUTs `data` to a presigned upload `url` (no `Authorization`: the URL is the credential),
    /// retrying 429, 5xx and connection errors; returns the HTTP status. Errors never show the URL's
    /// query (it holds the signature).
    pub async fn put_presigned(
        &self,
        url: &str,
        data: bytes::Bytes,
        content_type: &str,
    ) -> Result<u16, ApiError> {
        let parsed = Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| ApiError::Build("the upload URL is not an http(s) URL".into()))?;
        let origin = parsed.origin().ascii_serialization();
        // Big bodies on slow links: 60 s plus 1 s per 512 KiB.
        let timeout = Duration::from_secs(60 + (data.len() as u64) / (512 * 1024));
        let policy = &self.inner.config.retry;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let outcome = self
                .http()?
                .put(parsed.clone())
                .header(http::header::CONTENT_TYPE, content_type)
                .timeout(timeout)
                .body(data.clone())
                .send()
                .await;
            let retry_in = match outcome {
                Ok(resp) if resp.status().is_success() => return Ok(resp.status().as_u16()),
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    // Storage error bodies can echo the signature: keep only status and code.
                    let err = match request::read_error(resp, attempt).await {
                        ApiError::Status {
                            status,
                            code,
                            retry_after,
                            attempts,
                            ..
                        } => ApiError::Status {
                            status,
                            code,
                            message: None,
                            details: None,
                            retry_after,
                            attempts,
                        },
                        other => other,
                    };
                    let retryable = status == 429 || (500..600).contains(&status);
                    if !retryable || attempt > policy.max_retries {
                        return Err(err);
                    }
                    let hinted = match &err {
                        ApiError::Status { retry_after, .. } => *retry_after,
                        _ => None,
                    };
                    hinted
                        .filter(|d| *d <= policy.max_retry_after)
                        .unwrap_or_else(|| policy.backoff(attempt))
                }
                Err(e) => {
                    let err = if e.is_timeout() {
                        ApiError::Timeout { attempts: attempt }
                    } else {
                        ApiError::Unreachable {
                            base_url: origin.clone(),
                            reason: error_chain(&e.without_url()),
                            attempts: attempt,
                        }
                    };
                    match policy.delay_for_transport(attempt, true) {
                        Some(delay) => delay,
                        None => return Err(err),
                    }
                }
            };
            tracing::debug!(attempt, "presigned upload failed; retrying");
            tokio::time::sleep(retry_in).await;
        }
    }

    fn url_for(&self, req: &ApiRequest) -> Url {
        let mut url = self.inner.config.base_url.clone();
        let base_path = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base_path}{}", req.path));
        if !req.query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(req.query.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
        url
    }

    /// The share of `key`'s (else the server key's) rate budget left in the current window,
    /// 0.0–1.0; 1.0 when there is no key. Pollers slow down as it shrinks.
    pub fn budget_left(&self, key: Option<&ApiKey>) -> f64 {
        match key.or(self.inner.config.api_key.as_ref()) {
            Some(k) => self.limiter(k).share_left(std::time::Instant::now()),
            None => 1.0,
        }
    }

    fn limiter(&self, key: &ApiKey) -> Arc<RateLimiter> {
        let mut map = self
            .inner
            .limiters
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        map.get_or_insert(key.fingerprint(), || {
            Arc::new(RateLimiter::new(self.inner.config.rate_limit_per_minute))
        })
        .clone()
    }

    fn transport_error(&self, e: reqwest::Error, attempts: u32) -> ApiError {
        if e.is_timeout() {
            return ApiError::Timeout { attempts };
        }
        // The URL is shown once, without user name and password; the reason goes without it.
        ApiError::Unreachable {
            base_url: redact::display_url(&self.inner.config.base_url),
            reason: error_chain(&e.without_url()),
            attempts,
        }
    }

    /// Masks `value`'s strings: the request's key, the configured secrets, URL credentials.
    fn redact_value(&self, value: &mut serde_json::Value, key: &ApiKey) {
        let r = &self.inner.config.redact;
        r.redact_value(value, Some(key));
        if let Some(own) = self.inner.config.api_key.as_ref()
            && own.fingerprint() != key.fingerprint()
        {
            r.redact_value(value, Some(own));
        }
    }

    /// `err` with every upstream string masked (see [`Self::redact_value`]).
    fn scrub(&self, err: ApiError, key: &ApiKey) -> ApiError {
        let text = |t: String| {
            let r = &self.inner.config.redact;
            let once = r.redact(&t, Some(key));
            match self.inner.config.api_key.as_ref() {
                Some(own) => own.redact_in(&once),
                None => once,
            }
        };
        match err {
            ApiError::Status {
                status,
                code,
                message,
                details,
                retry_after,
                attempts,
            } => ApiError::Status {
                status,
                code: text(code),
                message: message.map(text),
                details: details.map(|mut d| {
                    self.redact_value(&mut d, key);
                    d
                }),
                retry_after,
                attempts,
            },
            ApiError::Unreachable {
                base_url,
                reason,
                attempts,
            } => ApiError::Unreachable {
                base_url: text(base_url),
                reason: text(reason),
                attempts,
            },
            ApiError::Decode {
                status,
                reason,
                attempts,
            } => ApiError::Decode {
                status,
                reason: text(reason),
                attempts,
            },
            ApiError::Build(why) => ApiError::Build(text(why)),
            other => other,
        }
    }
}

/// Records a request's final attempts and Duvo's status on the current span (the tool call's
/// span declares these fields; elsewhere this does nothing).
fn record_outcome(attempts: u32, status: Option<u16>) {
    let span = tracing::Span::current();
    span.record("attempts", attempts);
    if let Some(status) = status {
        span.record("upstream_status", status);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_key_limiters_are_bounded() {
        let base = Url::parse("http://127.0.0.1:9/").expect("url");
        let client = DuvoClient::new(ClientConfig::new(base, None)).expect("client");
        let first = ApiKey::new("dv_key_first");
        let kept = client.limiter(&first);
        for i in 0..MAX_TRACKED_KEYS + 50 {
            client.limiter(&ApiKey::new(&format!("dv_invalid_{i}")));
        }
        let map = client
            .inner
            .limiters
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        assert_eq!(map.len(), MAX_TRACKED_KEYS);
        assert!(!map.contains(&first.fingerprint()), "oldest key evicted");
        drop(map);
        assert!(!Arc::ptr_eq(&kept, &client.limiter(&first)));
    }
}
