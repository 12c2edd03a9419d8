//! The key that seals 2026-07-28 input-required `requestState`: `DUVO_MCP_STATE_KEY` (32 bytes,
//! 64 hex digits or base64), with `DUVO_MCP_STATE_KEY_PREVIOUS` still accepted for opening
//! during a rotation. Every replica behind one balancer must share it.

use base64::Engine;
use rmcp::model::RequestStateCodec;
use sha2::{Digest, Sha256};

/// Variable holding the sealing key.
pub const STATE_KEY_VAR: &str = "DUVO_MCP_STATE_KEY";
/// Variable holding the previous key (opens, never seals).
pub const PREVIOUS_STATE_KEY_VAR: &str = "DUVO_MCP_STATE_KEY_PREVIOUS";

/// Parses a 32-byte key given as 64 hex digits or base64 (standard or URL-safe, padded or not).
pub fn parse_key(var: &str, raw: &str) -> anyhow::Result<[u8; 32]> {
    let raw = raw.trim();
    let bytes = if raw.len() == 64 && raw.bytes().all(|b| b.is_ascii_hexdigit()) {
        (0..32)
            .map(|i| u8::from_str_radix(&raw[2 * i..2 * i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .ok()
    } else {
        let engines = [
            &base64::engine::general_purpose::STANDARD,
            &base64::engine::general_purpose::STANDARD_NO_PAD,
            &base64::engine::general_purpose::URL_SAFE,
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ];
        engines.iter().find_map(|e| e.decode(raw).ok())
    };
    bytes
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "{var} must be 32 random bytes as 64 hex digits or base64 (e.g. `openssl rand -hex 32`)"
            )
        })
}

/// Key id of a key in the keyring: a digest prefix, so a sealed value names its key without
/// revealing it and a rotated-out key keeps its id.
fn kid(key: &[u8; 32]) -> String {
    Sha256::digest(key)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A codec that seals with `current` and opens with `current` or `previous`.
pub fn codec(current: &[u8; 32], previous: Option<&[u8; 32]>) -> anyhow::Result<RequestStateCodec> {
    let mut ring = vec![(kid(current), current.to_vec())];
    if let Some(p) = previous.filter(|p| *p != current) {
        ring.push((kid(p), p.to_vec()));
    }
    RequestStateCodec::new_with_keyring(kid(current), ring)
        .map_err(|e| anyhow::anyhow!("cannot use the state key: {e}"))
}

/// The sealing codec from the environment: `Ok(None)` when `DUVO_MCP_STATE_KEY` is unset and
/// not `required` (the caller then uses a random per-process key); an error when it is required
/// (`why` names the setting that requires it) or malformed.
pub fn from_env(required: Option<&str>) -> anyhow::Result<Option<RequestStateCodec>> {
    let current = crate::config::env(STATE_KEY_VAR);
    let previous = crate::config::env(PREVIOUS_STATE_KEY_VAR);
    let Some(current) = current else {
        if let Some(why) = required {
            anyhow::bail!(
                "{STATE_KEY_VAR} is required with {why}: every replica must seal input-required \
                 requestState with the same key. Set it to 32 random bytes, e.g. \
                 {STATE_KEY_VAR}=$(openssl rand -hex 32), the same on every replica"
            );
        }
        if previous.is_some() {
            anyhow::bail!("{PREVIOUS_STATE_KEY_VAR} is set but {STATE_KEY_VAR} is not");
        }
        return Ok(None);
    };
    let current = parse_key(STATE_KEY_VAR, &current)?;
    let previous = previous
        .map(|p| parse_key(PREVIOUS_STATE_KEY_VAR, &p))
        .transpose()?;
    codec(&current, previous.as_ref()).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_base64_parse_and_short_keys_do_not() {
        let hex = "00".repeat(31) + "ff";
        assert_eq!(parse_key("K", &hex).expect("hex")[31], 0xff);
        let b64 = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert_eq!(parse_key("K", &b64).expect("b64"), [7u8; 32]);
        let err = parse_key("K", "abcd").expect_err("short");
        assert!(err.to_string().contains("32 random bytes"));
    }

    #[test]
    fn the_previous_key_opens_but_the_current_one_seals() {
        let old = codec(&[1; 32], None).expect("old");
        let sealed_old = old.seal(b"x");
        let rotated = codec(&[2; 32], Some(&[1; 32])).expect("rotated");
        assert_eq!(rotated.open(&sealed_old).expect("opens"), b"x");
        let sealed_new = rotated.seal(b"y");
        assert!(old.open(&sealed_new).is_err(), "sealed with the new key");
        let retired = codec(&[2; 32], None).expect("retired");
        assert!(retired.open(&sealed_old).is_err());
        assert_eq!(retired.open(&sealed_new).expect("new"), b"y");
    }
}
