//! Typed errors of the Duvo client.

use serde_json::Value;
use std::time::Duration;
use thiserror::Error;

/// A failed Duvo API call. Messages never contain the API key.
#[derive(Debug, Error)]
pub enum ApiError {
    /// Duvo answered with a non-2xx status (the `{error, message}` envelope, parsed).
    #[error("Duvo API returned {status} {code}{}", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Status {
        /// HTTP status code.
        status: u16,
        /// The envelope's `error` code (or the status reason when the body had none).
        code: String,
        /// The envelope's `message`, if any.
        message: Option<String>,
        /// Extra envelope fields (`validationErrors`, `has_contents`, `blockers` …).
        details: Option<Box<Value>>,
        /// `retry-after` in seconds, when sent.
        retry_after: Option<Duration>,
        /// How many attempts were made (1 = no retry).
        attempts: u32,
    },
    /// The request did not complete in time.
    #[error("request to Duvo timed out after {attempts} attempt(s)")]
    Timeout {
        /// How many attempts were made.
        attempts: u32,
    },
    /// Duvo could not be reached (DNS, connect, TLS, broken connection).
    #[error("could not reach Duvo at {base_url}: {reason}")]
    Unreachable {
        /// The configured base URL.
        base_url: String,
        /// What failed, without secrets.
        reason: String,
        /// How many attempts were made.
        attempts: u32,
    },
    /// The answer was not the JSON the API promises (cut off or garbled), on every attempt.
    #[error(
        "Duvo returned an unreadable response ({status}) after {attempts} attempt(s): {reason}. \
         Retry shortly; if the call changes something, first check with the matching get/list tool \
         whether it took effect"
    )]
    Decode {
        /// HTTP status code.
        status: u16,
        /// What could not be read.
        reason: String,
        /// How many attempts were made.
        attempts: u32,
    },
    /// The request could not be built (bad header value, bad URL).
    #[error("could not build the request: {0}")]
    Build(String),
    /// No API key was configured for this call.
    #[error(
        "no Duvo API key: set DUVO_API_KEY (or send Authorization: Bearer dv_… in passthrough mode)"
    )]
    NoApiKey,
}

impl ApiError {
    /// True when a retry with the same `Idempotency-Key` may succeed: a timeout, an unreachable
    /// API or an unreadable answer (a cut-off answer may hide a committed write, so it is resent
    /// with the same key), 429, 5xx, or a 409 saying the same key is still in flight. The one
    /// place this is decided.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Timeout { .. } | Self::Unreachable { .. } | Self::Decode { .. } => true,
            Self::Status { status, .. } => {
                matches!(status, 429 | 500..=599) || self.is_key_in_flight()
            }
            Self::Build(_) | Self::NoApiKey => false,
        }
    }

    /// True for Duvo's 409 `idempotency_key_in_use`: an earlier request with the same key is
    /// still being processed (its answer will be replayed).
    pub fn is_key_in_flight(&self) -> bool {
        matches!(self, Self::Status { status: 409, code, .. } if code == "idempotency_key_in_use")
    }

    /// Duvo's error code (the envelope's `error`), when it answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Status { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Duvo's error message, when it sent one.
    pub fn message(&self) -> Option<&str> {
        match self {
            Self::Status { message, .. } => message.as_deref(),
            _ => None,
        }
    }

    /// How many HTTP attempts the client made, when any was made.
    pub fn attempts(&self) -> Option<u32> {
        match self {
            Self::Status { attempts, .. }
            | Self::Timeout { attempts }
            | Self::Unreachable { attempts, .. }
            | Self::Decode { attempts, .. } => Some(*attempts),
            Self::Build(_) | Self::NoApiKey => None,
        }
    }

    /// The HTTP status, when Duvo answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } | Self::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// An error and its sources, joined with `: `.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut reason = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        reason.push_str(": ");
        reason.push_str(&s.to_string());
        source = s.source();
    }
    reason
}
