//! What the client sends and what it gets back.

use super::ApiError;
use super::error::error_chain;
use serde_json::Value;
use std::time::Duration;

/// The HTTP methods the Duvo API uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// Read.
    Get,
    /// Create or act.
    Post,
    /// Partial update.
    Patch,
    /// Replace.
    Put,
    /// Remove.
    Delete,
}

impl Method {
    /// The upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Patch => "PATCH",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
        }
    }

    /// The `http` crate's method.
    pub fn as_http(self) -> reqwest::Method {
        match self {
            Self::Get => reqwest::Method::GET,
            Self::Post => reqwest::Method::POST,
            Self::Patch => reqwest::Method::PATCH,
            Self::Put => reqwest::Method::PUT,
            Self::Delete => reqwest::Method::DELETE,
        }
    }

    /// True for methods that change state (they carry an `Idempotency-Key`).
    pub fn is_mutating(self) -> bool {
        !matches!(self, Self::Get)
    }

    /// True for methods HTTP defines as idempotent (retried without an `Idempotency-Key`).
    pub fn is_idempotent(self) -> bool {
        matches!(self, Self::Get | Self::Put | Self::Delete)
    }

    /// True for methods whose arguments travel in a body by default.
    pub fn has_body(self) -> bool {
        matches!(self, Self::Post | Self::Patch | Self::Put)
    }
}

/// One file in a multipart body. The bytes are shared (`Bytes`), so rebuilding the form on a
/// retry copies nothing.
#[derive(Clone, Debug)]
pub struct FilePart {
    /// Form field name.
    pub field: String,
    /// File name sent in the part's headers.
    pub file_name: String,
    /// MIME type of the content.
    pub content_type: String,
    /// The bytes.
    pub data: bytes::Bytes,
}

/// A request body.
#[derive(Clone, Debug, Default)]
pub enum RequestBody {
    /// No body.
    #[default]
    None,
    /// `application/json`.
    Json(Value),
    /// `multipart/form-data`: text fields and files.
    Multipart {
        /// Plain text fields.
        fields: Vec<(String, String)>,
        /// File parts.
        files: Vec<FilePart>,
    },
}

impl RequestBody {
    /// Attaches the body to a request builder (rebuilt on every attempt).
    pub(crate) fn apply(
        &self,
        builder: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder, ApiError> {
        Ok(match self {
            Self::None => builder,
            Self::Json(v) => builder.json(v),
            Self::Multipart { fields, files } => {
                let mut form = reqwest::multipart::Form::new();
                for (k, v) in fields {
                    form = form.text(k.clone(), v.clone());
                }
                for f in files {
                    // A reference-counted clone: the bytes are not copied per attempt.
                    let part = reqwest::multipart::Part::stream_with_length(
                        reqwest::Body::from(f.data.clone()),
                        f.data.len() as u64,
                    )
                    .file_name(f.file_name.clone())
                    .mime_str(&f.content_type)
                    .map_err(|e| ApiError::Build(format!("bad content type: {e}")))?;
                    form = form.part(f.field.clone(), part);
                }
                builder.multipart(form)
            }
        })
    }
}

/// A fully mapped Duvo API call.
#[derive(Clone, Debug)]
pub struct ApiRequest {
    /// HTTP method.
    pub method: Method,
    /// Path below the base URL, segments already percent-encoded (`/v2/runs/…`).
    pub path: String,
    /// Query parameters, in order.
    pub query: Vec<(String, String)>,
    /// Body.
    pub body: RequestBody,
    /// Caller-chosen `Idempotency-Key`; `None` = a fresh UUID for mutating methods.
    pub idempotency_key: Option<String>,
}

impl ApiRequest {
    /// A request with no query and no body.
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            query: Vec::new(),
            body: RequestBody::None,
            idempotency_key: None,
        }
    }
}

/// A successful answer.
#[derive(Clone, Debug)]
pub struct ApiResponse {
    /// HTTP status (2xx).
    pub status: u16,
    /// The body.
    pub body: ApiBody,
    /// True when the answer is a placeholder the Duvo emulator generated from the API spec
    /// (its `x-duvo-emulator: generic` header): demo data, not real results.
    pub generated: bool,
}

/// A response body: JSON, or bytes for downloads.
#[derive(Clone, Debug)]
pub enum ApiBody {
    /// Parsed JSON (`Null` for an empty body).
    Json(Value),
    /// Anything else (e.g. a skill zip).
    Bytes {
        /// The `content-type` header.
        content_type: String,
        /// The bytes.
        data: Vec<u8>,
    },
}

/// Reads a 2xx answer; a body cut off or not the JSON its `content-type` promises is
/// [`ApiError::Decode`] (the caller decides whether to retry).
pub(crate) async fn read_success(
    resp: reqwest::Response,
    attempts: u32,
) -> Result<ApiResponse, ApiError> {
    let status = resp.status().as_u16();
    let generated = resp
        .headers()
        .get("x-duvo-emulator")
        .is_some_and(|v| v.as_bytes() == b"generic");
    let content_type = resp
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = resp.bytes().await.map_err(|e| ApiError::Decode {
        status,
        reason: format!("the body was cut off: {}", error_chain(&e.without_url())),
        attempts,
    })?;
    if bytes.is_empty() {
        return Ok(ApiResponse {
            status,
            body: ApiBody::Json(Value::Null),
            generated,
        });
    }
    let looks_json = content_type.is_empty() || content_type.contains("json");
    if looks_json {
        match serde_json::from_slice(&bytes) {
            Ok(v) => {
                return Ok(ApiResponse {
                    status,
                    body: ApiBody::Json(v),
                    generated,
                });
            }
            // The spec types some downloads as JSON although they are zips.
            Err(e) if bytes.first().is_some_and(|b| *b == b'{' || *b == b'[') => {
                return Err(ApiError::Decode {
                    status,
                    reason: format!("invalid JSON: {e}"),
                    attempts,
                });
            }
            Err(_) => {}
        }
    }
    Ok(ApiResponse {
        status,
        body: ApiBody::Bytes {
            content_type,
            data: bytes.to_vec(),
        },
        generated,
    })
}

pub(crate) async fn read_error(resp: reqwest::Response, attempts: u32) -> ApiError {
    let status = resp.status();
    let retry_after: Option<Duration> = super::ratelimit::retry_after(resp.headers());
    let bytes = resp.bytes().await.unwrap_or_default();
    let parsed: Option<serde_json::Map<String, Value>> = serde_json::from_slice(&bytes).ok();
    let (code, message, details) = match parsed {
        Some(mut obj) => {
            let code = obj
                .remove("error")
                .and_then(|v| v.as_str().map(str::to_owned));
            let message = obj
                .remove("message")
                .and_then(|v| v.as_str().map(str::to_owned));
            let details = (!obj.is_empty()).then(|| Box::new(Value::Object(obj)));
            (code, message, details)
        }
        None => {
            let text = String::from_utf8_lossy(&bytes).trim().to_owned();
            let short: String = text.chars().take(300).collect();
            (None, (!short.is_empty()).then_some(short), None)
        }
    };
    ApiError::Status {
        status: status.as_u16(),
        code: code.unwrap_or_else(|| {
            status
                .canonical_reason()
                .unwrap_or("error")
                .to_lowercase()
                .replace(' ', "_")
        }),
        message,
        details,
        retry_after,
        attempts,
    }
}
