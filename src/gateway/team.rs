//! The team behind `{teamId}`: configured, or resolved once per key with the catalog's own
//! `listMyTeams` entry (the gateway performs it; this module caches and reads the answer).

use crate::client::{ApiBody, ApiKey};
use lru::LruCache;
use std::num::NonZeroUsize;
use std::sync::Mutex;

/// Keys whose team is remembered at once (least recently used first out).
pub const MAX_CACHED_TEAMS: usize = 10_000;

/// Resolves and caches the team of each API key.
#[derive(Debug)]
pub struct TeamResolver {
    configured: Option<String>,
    resolved: Mutex<LruCache<u64, String>>,
    /// Replicas share resolved teams through Redis when configured.
    shared: crate::shared_state::SharedState,
}

impl Default for TeamResolver {
    fn default() -> Self {
        Self::new(None)
    }
}

impl TeamResolver {
    /// A resolver that answers `configured` when set, else asks Duvo once per key.
    pub fn new(configured: Option<String>) -> Self {
        Self {
            configured: configured.filter(|t| !t.trim().is_empty()),
            resolved: Mutex::new(LruCache::new(
                NonZeroUsize::new(MAX_CACHED_TEAMS).unwrap_or(NonZeroUsize::MIN),
            )),
            shared: crate::shared_state::SharedState::in_process(),
        }
    }

    /// Also keeps resolved teams in `shared` (Redis), keyed by the key's digest.
    pub fn with_shared(mut self, shared: crate::shared_state::SharedState) -> Self {
        self.shared = shared;
        self
    }

    /// The team for calls made with `key` (`None` = the server's key); `digest` gives the digest
    /// of the key in effect (the shared cache's key; computed only when the local cache misses);
    /// `list_teams` performs `listMyTeams` with that key when the team is neither configured nor
    /// cached (its error is a one-line reason).
    pub async fn team_for<D, F, Fut>(
        &self,
        key: Option<&ApiKey>,
        digest: D,
        list_teams: F,
    ) -> Result<String, String>
    where
        D: FnOnce() -> [u8; 32],
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<ApiBody, String>>,
    {
        if let Some(team) = &self.configured {
            return Ok(team.clone());
        }
        let fingerprint = key.map(ApiKey::fingerprint).unwrap_or(0);
        if let Some(team) = self.lock().get(&fingerprint) {
            return Ok(team.clone());
        }
        let digest = digest();
        if let Some(team) = self.shared.team(&digest).await {
            self.lock().put(fingerprint, team.clone());
            return Ok(team);
        }
        let body = list_teams().await.map_err(|e| {
            format!("could not resolve the team with listMyTeams ({e}); set DUVO_TEAM_ID or pass team_id")
        })?;
        let team = single_team(&body)?;
        self.lock().put(fingerprint, team.clone());
        self.shared.put_team(&digest, &team).await;
        Ok(team)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<u64, String>> {
        self.resolved.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Picks the one team out of a `listMyTeams` answer, or says why it can't.
fn single_team(body: &ApiBody) -> Result<String, String> {
    let ApiBody::Json(v) = body else {
        return Err("listMyTeams returned no JSON; set DUVO_TEAM_ID".into());
    };
    let teams: Vec<(&str, &str)> = v
        .get("teams")
        .and_then(|t| t.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|t| {
                    Some((
                        t.get("id")?.as_str()?,
                        t.get("name").and_then(|n| n.as_str()).unwrap_or(""),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    match teams.as_slice() {
        [(id, _)] => Ok((*id).to_owned()),
        [] => Err("the API key sees no team; check DUVO_API_KEY or set DUVO_TEAM_ID".into()),
        many => Err(format!(
            "the API key sees {} teams ({}); set DUVO_TEAM_ID to one of them or pass team_id",
            many.len(),
            many.iter()
                .map(|(id, name)| format!("{name} = {id}"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_team_cache_is_bounded() {
        let r = TeamResolver::new(None);
        for i in 0..(MAX_CACHED_TEAMS as u64 + 10) {
            r.lock().put(i, format!("t{i}"));
        }
        assert_eq!(r.lock().len(), MAX_CACHED_TEAMS);
        assert!(
            r.lock().get(&0).is_none(),
            "least recently used key evicted"
        );
    }

    #[test]
    fn one_team_is_picked_many_are_ambiguous() {
        let one = ApiBody::Json(json!({"teams": [{"id": "t1", "name": "A"}]}));
        assert_eq!(single_team(&one).as_deref(), Ok("t1"));
        let two =
            ApiBody::Json(json!({"teams": [{"id": "t1", "name": "A"}, {"id": "t2", "name": "B"}]}));
        let err = single_team(&two).expect_err("ambiguous");
        assert!(err.contains("DUVO_TEAM_ID") && err.contains("t2"));
        let none = ApiBody::Json(json!({"teams": []}));
        assert!(single_team(&none).is_err());
    }
}
