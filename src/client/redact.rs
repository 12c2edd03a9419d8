//! Secrets out of every string an upstream (or the network stack) hands back: an upstream that
//! echoes the `Authorization` header in its error `message`/`details`, or a base URL with
//! `user:password@`, must not put them in a tool result or a log line.

use super::ApiKey;
use regex::Regex;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use std::sync::LazyLock;
use url::Url;

/// What replaces a secret.
pub const REDACTED: &str = "[redacted]";

/// Anything shaped like a Duvo key, whoever's it is.
static KEY_SHAPED: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\bdv_[A-Za-z0-9_\-]{8,}").ok());

/// `scheme://user[:password]@` in free text.
static USERINFO: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"([A-Za-z][A-Za-z0-9+.\-]*://)[^/?#@\s]*@").ok());

/// The secrets configured for this process: the server's key, the base URL's credentials, the
/// inbound auth token … (the key of each request is added per call).
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Vec<SecretString>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    /// Adds a secret (ignored when shorter than 4 characters: it would mask ordinary words).
    pub fn add(&mut self, secret: &str) {
        let secret = secret.trim();
        if secret.chars().count() >= 4 && !self.secrets.iter().any(|s| s.expose_secret() == secret)
        {
            self.secrets.push(SecretString::from(secret.to_owned()));
            // Longest first, so a secret containing another is replaced whole.
            self.secrets
                .sort_by_key(|s| std::cmp::Reverse(s.expose_secret().len()));
        }
    }

    /// Adds the user name and password of `url`, as written and percent-decoded.
    pub fn add_url_credentials(&mut self, url: &Url) {
        for part in [url.password().unwrap_or(""), url.username()] {
            self.add(part);
            if let Ok(decoded) = percent_encoding::percent_decode_str(part).decode_utf8() {
                self.add(&decoded);
            }
        }
    }

    /// `text` with every configured secret, `key`, anything shaped like a Duvo key and any URL
    /// user info replaced by [`REDACTED`].
    pub fn redact(&self, text: &str, key: Option<&ApiKey>) -> String {
        let mut out = match key {
            Some(k) => k.redact_in(text),
            None => text.to_owned(),
        };
        for s in &self.secrets {
            let s = s.expose_secret();
            if out.contains(s) {
                out = out.replace(s, REDACTED);
            }
        }
        if let Some(re) = KEY_SHAPED.as_ref()
            && re.is_match(&out)
        {
            out = re.replace_all(&out, REDACTED).into_owned();
        }
        strip_userinfo(&out)
    }

    /// True when [`Self::redact`] would change `text` (checked without allocating).
    pub fn is_dirty(&self, text: &str, key: Option<&ApiKey>) -> bool {
        key.is_some_and(|k| k.appears_in(text))
            || self
                .secrets
                .iter()
                .any(|s| text.contains(s.expose_secret()))
            || (text.contains("dv_") && KEY_SHAPED.as_ref().is_some_and(|re| re.is_match(text)))
            || (text.contains('@') && USERINFO.as_ref().is_some_and(|re| re.is_match(text)))
    }

    /// Redacts every string (and object key) inside `value`.
    pub fn redact_value(&self, value: &mut Value, key: Option<&ApiKey>) {
        match value {
            Value::String(s) if self.is_dirty(s, key) => *s = self.redact(s, key),
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_value(v, key)),
            Value::Object(map) => {
                let dirty = map.keys().any(|k| self.is_dirty(k, key));
                if dirty {
                    let old = std::mem::take(map);
                    for (k, v) in old {
                        map.insert(self.redact(&k, key), v);
                    }
                }
                map.values_mut().for_each(|v| self.redact_value(v, key));
            }
            _ => {}
        }
    }
}

/// `url` for people: without user name and password (its path and query kept).
pub fn display_url(url: &Url) -> String {
    let mut shown = url.clone();
    // Only fails for URLs that cannot have credentials anyway.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

/// `text` with the `user:password@` part of every URL in it removed.
pub fn strip_userinfo(text: &str) -> String {
    match USERINFO.as_ref() {
        Some(re) if re.is_match(text) => re.replace_all(text, "${1}").into_owned(),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_secrets_and_url_credentials_are_masked() {
        let mut r = Redactor::default();
        let url = Url::parse("http://admin:p%40ss-word@example.com:8/v2").expect("url");
        r.add_url_credentials(&url);
        r.add("tok-0123456789");
        let key = ApiKey::new("dv_live_abcdefghijkl");
        let text = "Bearer dv_live_abcdefghijkl; other dv_someone_elses_key1; p@ss-word; \
                    tok-0123456789; see http://admin:p%40ss-word@example.com:8/v2";
        let clean = r.redact(text, Some(&key));
        for secret in [
            "abcdefghijkl",
            "someone_elses",
            "p@ss-word",
            "p%40ss",
            "tok-0123",
            "admin",
        ] {
            assert!(!clean.contains(secret), "{secret} in {clean}");
        }
        assert!(clean.contains("http://example.com:8/v2"), "{clean}");
        assert_eq!(display_url(&url), "http://example.com:8/v2");
    }

    #[test]
    fn values_are_redacted_deeply_and_short_secrets_ignored() {
        let mut r = Redactor::default();
        r.add("ab");
        let key = ApiKey::new("dv_secret_key_999");
        let mut v = json!({"a": ["x dv_secret_key_999"], "dv_secret_key_999": {"b": "ab"}});
        r.redact_value(&mut v, Some(&key));
        assert!(!v.to_string().contains("secret_key"), "{v}");
        assert_eq!(v["[redacted]"]["b"], "ab");
    }
}
