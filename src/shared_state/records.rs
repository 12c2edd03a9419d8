//! Small shared records: the team of a key digest, and `runAssignment` started-Job slots.
//!
//! A started-Job slot holds `starting:<token>` while one replica starts the Job (expires after
//! [`STARTING_TTL`] if that replica dies) and `run:<unix_ms>:<run id>` once it exists (expires
//! after the dedupe window).

use super::{SharedState, redis_key, unix_ms};
use redis::{AsyncCommands, Script};
use std::sync::LazyLock;
use std::time::Duration;

/// How long a team id stays cached in Redis.
pub const TEAM_TTL: Duration = Duration::from_secs(3600);
/// How long a `starting` slot holds before another replica may start the Job itself.
pub const STARTING_TTL: Duration = Duration::from_secs(120);

/// What a started-Job slot in Redis says.
#[derive(Debug, PartialEq, Eq)]
pub enum SharedSlot {
    /// This caller claimed the slot: start the Job.
    Claimed,
    /// Another call is starting it: look again shortly.
    Starting,
    /// The Job exists.
    Started {
        /// The Job.
        run_id: String,
        /// How long ago it was recorded.
        age: Duration,
    },
}

/// ARGV: token, value, ttl_ms: sets the value only while the slot is ours (or gone).
static SET_IF_OURS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local v = redis.call('GET', KEYS[1])
if v == false or v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0",
    )
});

/// ARGV: token: deletes the slot while it is ours.
static DEL_IF_OURS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0",
    )
});

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl SharedState {
    /// The cached team of the caller whose key has SHA-256 `digest` (`None`: unknown, or Redis
    /// off/down).
    pub async fn team(&self, digest: &[u8; 32]) -> Option<String> {
        let key = redis_key("team", digest);
        self.with_redis(|mut c| async move { c.get::<_, Option<String>>(&key).await })
            .await
            .flatten()
    }

    /// Remembers the team of the caller whose key has SHA-256 `digest` (no-op without Redis).
    pub async fn put_team(&self, digest: &[u8; 32], team: &str) {
        let key = redis_key("team", digest);
        let _ = self
            .with_redis(|mut c| async move {
                c.set_ex::<_, _, ()>(&key, team, TEAM_TTL.as_secs()).await
            })
            .await;
    }

    /// Claims the started-Job slot `start` (a SHA-256 of caller and inputs) with `token`, or
    /// reports who holds it. `None`: Redis off or down.
    pub async fn claim_start(&self, start: &[u8; 32], token: &str) -> Option<SharedSlot> {
        let key = redis_key("job", start);
        let starting = format!("starting:{token}");
        let got = self
            .with_redis(|mut c| async move {
                let set: Option<String> = redis::cmd("SET")
                    .arg(&key)
                    .arg(&starting)
                    .arg("NX")
                    .arg("PX")
                    .arg(ms(STARTING_TTL))
                    .query_async(&mut c)
                    .await?;
                if set.is_some() {
                    return Ok(None);
                }
                c.get::<_, Option<String>>(&key).await.map(Some)
            })
            .await?;
        Some(match got {
            None => SharedSlot::Claimed,
            Some(None) => SharedSlot::Starting, // gone in between: look again
            Some(Some(v)) => parse_slot(&v),
        })
    }

    /// Takes the slot `start` over for `token` whatever it holds (`new_job: true`). Returns
    /// false when Redis is off or down.
    pub async fn take_start(&self, start: &[u8; 32], token: &str) -> bool {
        let key = redis_key("job", start);
        let starting = format!("starting:{token}");
        self.with_redis(|mut c| async move {
            c.pset_ex::<_, _, ()>(&key, &starting, ms(STARTING_TTL))
                .await
        })
        .await
        .is_some()
    }

    /// Records the Job `run_id` in the slot `start` claimed with `token`, for `window`.
    pub async fn record_start(
        &self,
        start: &[u8; 32],
        token: &str,
        run_id: &str,
        window: Duration,
    ) {
        let key = redis_key("job", start);
        let ours = format!("starting:{token}");
        let value = format!("run:{}:{run_id}", unix_ms());
        let _ = self
            .with_redis(|mut c| async move {
                SET_IF_OURS
                    .key(&key)
                    .arg(&ours)
                    .arg(&value)
                    .arg(ms(window))
                    .invoke_async::<i64>(&mut c)
                    .await
            })
            .await;
    }

    /// Frees the slot `start` claimed with `token` (the start failed).
    pub async fn release_start(&self, start: &[u8; 32], token: &str) {
        let key = redis_key("job", start);
        let ours = format!("starting:{token}");
        let _ = self
            .with_redis(|mut c| async move {
                DEL_IF_OURS
                    .key(&key)
                    .arg(&ours)
                    .invoke_async::<i64>(&mut c)
                    .await
            })
            .await;
    }
}

fn parse_slot(v: &str) -> SharedSlot {
    if let Some(rest) = v.strip_prefix("run:")
        && let Some((at, run_id)) = rest.split_once(':')
    {
        let at: i64 = at.parse().unwrap_or(0);
        let age = u64::try_from(unix_ms().saturating_sub(at)).unwrap_or(0);
        return SharedSlot::Started {
            run_id: run_id.to_owned(),
            age: Duration::from_millis(age),
        };
    }
    SharedSlot::Starting
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_parse() {
        match parse_slot(&format!("run:{}:abc-1", unix_ms())) {
            SharedSlot::Started { run_id, age } => {
                assert_eq!(run_id, "abc-1");
                assert!(age < Duration::from_secs(5));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(parse_slot("starting:x"), SharedSlot::Starting);
    }
}
