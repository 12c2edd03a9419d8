//! The Duvo API key as a secret: it never appears in Debug output, logs, errors or results.

use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};

/// A Duvo API key (`dv_…`). `Debug` and `Display` print `[redacted]`.
#[derive(Clone)]
pub struct ApiKey(SecretString);

impl ApiKey {
    /// Wraps a raw key; surrounding whitespace is trimmed.
    pub fn new(raw: &str) -> Self {
        Self(SecretString::from(raw.trim().to_owned()))
    }

    /// True when the key is empty after trimming.
    pub fn is_empty(&self) -> bool {
        self.0.expose_secret().is_empty()
    }

    /// The `Authorization` header value. Marked sensitive so `http` never prints it.
    pub fn bearer_header(&self) -> Option<http::HeaderValue> {
        let mut value =
            http::HeaderValue::from_str(&format!("Bearer {}", self.0.expose_secret())).ok()?;
        value.set_sensitive(true);
        Some(value)
    }

    /// A stable, non-reversible tag for keying per-key state (rate limits); not the key.
    pub fn fingerprint(&self) -> u64 {
        let mut hasher = DefaultHasher::new();
        self.0.expose_secret().hash(&mut hasher);
        hasher.finish()
    }

    /// SHA-256 of the key: identifies its caller in hashed records (never the key itself).
    pub fn digest(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        Sha256::digest(self.0.expose_secret().as_bytes()).into()
    }

    /// `text` with every occurrence of the raw key replaced by `[redacted]`.
    pub fn redact_in(&self, text: &str) -> String {
        let raw = self.0.expose_secret();
        if raw.is_empty() || !text.contains(raw) {
            return text.to_owned();
        }
        text.replace(raw, super::redact::REDACTED)
    }

    /// True when `text` contains the raw key (used by tests and redaction checks).
    pub fn appears_in(&self, text: &str) -> bool {
        let raw = self.0.expose_secret();
        !raw.is_empty() && text.contains(raw)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_key() {
        let key = ApiKey::new("dv_super_secret_1234");
        assert!(!format!("{key:?}").contains("super_secret"));
        assert!(!format!("{key}").contains("super_secret"));
        assert!(key.appears_in("x dv_super_secret_1234 y"));
    }

    #[test]
    fn bearer_header_is_sensitive() {
        let key = ApiKey::new(" dv_abc \n");
        let header = key.bearer_header().expect("valid header");
        assert!(header.is_sensitive());
        assert_eq!(header.to_str().ok(), Some("Bearer dv_abc"));
        assert!(!format!("{header:?}").contains("dv_abc"));
    }
}
