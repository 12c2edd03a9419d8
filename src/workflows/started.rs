//! [`StartedJobs`]: the Jobs recent `runAssignment` calls started, so a repeated identical call
//! (a client that timed out and retried, a model told to "try again") gets the Job that already
//! exists instead of starting another — also while the first call is still starting it.
//!
//! Entries are keyed by a SHA-256 over the caller's key digest and the Job's inputs (never the
//! raw key or message), and expire after [`WINDOW`]. With shared state in Redis
//! ([`crate::shared_state`]) the record is shared by every replica (a repeated call through
//! another replica gets the same Job); while Redis is down, or without it, it is in memory.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How long an identical `runAssignment` returns the Job the first one started.
pub const WINDOW: Duration = Duration::from_secs(600);
/// Most entries kept; past it the oldest finished ones are dropped first.
const MAX_ENTRIES: usize = 10_000;

/// Identity of one Job start: a hash of who asks and exactly what they ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StartKey([u8; 32]);

impl StartKey {
    /// Hashes the caller's key digest and the Job's `inputs` (object keys in sorted order, so
    /// the same arguments sent in another order are the same start).
    pub fn new(caller: &[u8; 32], inputs: &Value) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(caller);
        hasher.update(canonical(inputs).to_string().as_bytes());
        Self(hasher.finalize().into())
    }
}

fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let sorted: Map<String, Value> = keys
                .into_iter()
                .map(|k| (k.clone(), canonical(&map[k])))
                .collect();
            Value::Object(sorted)
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// What [`StartedJobs::begin`] decided.
#[derive(Debug)]
pub enum Begin {
    /// An identical call started this Job within the window: use it.
    Existing {
        /// The Job.
        run_id: String,
        /// How long ago it was started.
        age: Duration,
    },
    /// Nobody started it: start it and report the run id through the ticket.
    Start(Ticket),
}

#[derive(Debug)]
enum Slot {
    /// A call is starting the Job; `done` carries its run id once known.
    Starting {
        ticket: u64,
        done: watch::Receiver<Option<String>>,
    },
    /// The Job exists.
    Started { run_id: String, at: Instant },
}

type Slots = Arc<Mutex<HashMap<StartKey, Slot>>>;

/// The record of recently started Jobs (in memory, shared by every session of the process).
#[derive(Debug)]
pub struct StartedJobs {
    window: Duration,
    slots: Slots,
    next_ticket: AtomicU64,
    shared: crate::shared_state::SharedState,
}

/// How often a call waiting on another replica's start looks at the shared slot again.
const SHARED_POLL: Duration = Duration::from_millis(200);

impl Default for StartedJobs {
    fn default() -> Self {
        Self::new(WINDOW)
    }
}

impl StartedJobs {
    /// An empty record whose entries live `window`.
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            slots: Arc::default(),
            next_ticket: AtomicU64::new(1),
            shared: crate::shared_state::SharedState::in_process(),
        }
    }

    /// Also records starts in `shared` (Redis), so every replica sees them.
    pub fn with_shared(mut self, shared: crate::shared_state::SharedState) -> Self {
        self.shared = shared;
        self
    }

    /// The shared record's answer for `key`; `None` when Redis is off or down.
    async fn begin_shared(&self, key: StartKey) -> Option<Begin> {
        use crate::shared_state::records::SharedSlot;
        let token = uuid::Uuid::new_v4().to_string();
        loop {
            match self.shared.claim_start(&key.0, &token).await? {
                SharedSlot::Claimed => {
                    let mut ticket = self.start_local(key);
                    ticket.remote = Some(Remote {
                        shared: self.shared.clone(),
                        token,
                        window: self.window,
                    });
                    return Some(Begin::Start(ticket));
                }
                SharedSlot::Started { run_id, age } => {
                    return Some(Begin::Existing { run_id, age });
                }
                SharedSlot::Starting => tokio::time::sleep(SHARED_POLL).await,
            }
        }
    }

    /// The Job an identical call started within the window (waiting while that call is still
    /// starting it), or a ticket to start it. A start that fails hands over to the next caller.
    pub async fn begin(&self, key: StartKey) -> Begin {
        if self.shared.is_configured()
            && let Some(begun) = self.begin_shared(key).await
        {
            return begun;
        }
        loop {
            let mut done = {
                let mut slots = self.lock();
                self.purge(&mut slots);
                match slots.get(&key) {
                    Some(Slot::Started { run_id, at }) => {
                        return Begin::Existing {
                            run_id: run_id.clone(),
                            age: at.elapsed(),
                        };
                    }
                    Some(Slot::Starting { done, .. }) => done.clone(),
                    None => return Begin::Start(self.ticket(&mut slots, key)),
                }
            };
            // Wait for the first call's outcome; a dropped sender means it failed: look again.
            let started = done
                .wait_for(Option::is_some)
                .await
                .ok()
                .and_then(|v| v.clone());
            if let Some(run_id) = started {
                return Begin::Existing {
                    run_id,
                    age: Duration::ZERO,
                };
            }
        }
    }

    /// A ticket to start a new Job even if an identical one exists (`new_job: true`); once it
    /// is started, identical calls get the new Job.
    pub fn start_new(&self, key: StartKey) -> Ticket {
        let mut ticket = self.start_local(key);
        if self.shared.is_configured() {
            let token = uuid::Uuid::new_v4().to_string();
            let shared = self.shared.clone();
            let claim = token.clone();
            tokio::spawn(async move { shared.take_start(&key.0, &claim).await });
            ticket.remote = Some(Remote {
                shared: self.shared.clone(),
                token,
                window: self.window,
            });
        }
        ticket
    }

    fn start_local(&self, key: StartKey) -> Ticket {
        let mut slots = self.lock();
        self.purge(&mut slots);
        self.ticket(&mut slots, key)
    }

    fn ticket(&self, slots: &mut HashMap<StartKey, Slot>, key: StartKey) -> Ticket {
        let id = self.next_ticket.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = watch::channel(None);
        slots.insert(
            key,
            Slot::Starting {
                ticket: id,
                done: rx,
            },
        );
        Ticket {
            key,
            id,
            slots: Arc::clone(&self.slots),
            tx,
            recorded: false,
            remote: None,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<StartKey, Slot>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn purge(&self, slots: &mut HashMap<StartKey, Slot>) {
        let window = self.window;
        slots.retain(|_, s| match s {
            Slot::Started { at, .. } => at.elapsed() < window,
            Slot::Starting { .. } => true,
        });
        if slots.len() >= MAX_ENTRIES {
            let mut finished: Vec<(StartKey, Instant)> = slots
                .iter()
                .filter_map(|(k, s)| match s {
                    Slot::Started { at, .. } => Some((*k, *at)),
                    Slot::Starting { .. } => None,
                })
                .collect();
            finished.sort_by_key(|(_, at)| *at);
            let excess = slots.len() + 1 - MAX_ENTRIES;
            for (k, _) in finished.into_iter().take(excess) {
                slots.remove(&k);
            }
        }
    }
}

/// The right (and duty) to start one Job. Report its run id with [`Ticket::started`];
/// dropping the ticket without it (the start failed) lets the next identical call try.
#[derive(Debug)]
pub struct Ticket {
    key: StartKey,
    id: u64,
    slots: Slots,
    tx: watch::Sender<Option<String>>,
    recorded: bool,
    /// The shared slot this ticket claimed, when the record is in Redis.
    remote: Option<Remote>,
}

/// A claim on a started-Job slot in Redis.
#[derive(Debug)]
struct Remote {
    shared: crate::shared_state::SharedState,
    token: String,
    window: Duration,
}

impl Ticket {
    /// Records the started Job and hands its id to every call waiting on this start.
    pub fn started(mut self, run_id: &str) {
        {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            let ours = matches!(slots.get(&self.key), Some(Slot::Starting { ticket, .. }) if *ticket == self.id);
            // A later `new_job` start owns the slot now; it records its own Job.
            if ours {
                slots.insert(
                    self.key,
                    Slot::Started {
                        run_id: run_id.to_owned(),
                        at: Instant::now(),
                    },
                );
            }
        }
        self.recorded = true;
        self.tx.send_replace(Some(run_id.to_owned()));
        if let Some(r) = self.remote.take() {
            let (key, run_id) = (self.key, run_id.to_owned());
            tokio::spawn(async move {
                r.shared
                    .record_start(&key.0, &r.token, &run_id, r.window)
                    .await;
            });
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.recorded {
            return;
        }
        if let Some(r) = self.remote.take() {
            let key = self.key;
            // Outside a runtime (never in practice) the slot simply expires.
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move { r.shared.release_start(&key.0, &r.token).await });
            }
        }
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if matches!(slots.get(&self.key), Some(Slot::Starting { ticket, .. }) if *ticket == self.id)
        {
            slots.remove(&self.key);
        }
        // The sender drops with the ticket: waiters wake, see no run id and look again.
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(msg: &str) -> StartKey {
        StartKey::new(&[7; 32], &json!({"agent_id": "a", "message": msg}))
    }

    #[test]
    fn argument_order_does_not_matter_but_content_and_caller_do() {
        let a = StartKey::new(&[1; 32], &json!({"agent_id": "a", "message": "m"}));
        let b = StartKey::new(&[1; 32], &json!({"message": "m", "agent_id": "a"}));
        let c = StartKey::new(&[1; 32], &json!({"message": "n", "agent_id": "a"}));
        let d = StartKey::new(&[2; 32], &json!({"agent_id": "a", "message": "m"}));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    #[tokio::test]
    async fn a_second_call_waits_for_the_first_start_and_gets_its_job() {
        let jobs = Arc::new(StartedJobs::default());
        let Begin::Start(ticket) = jobs.begin(key("x")).await else {
            panic!("first call starts");
        };
        let waiter = {
            let jobs = Arc::clone(&jobs);
            tokio::spawn(async move { jobs.begin(key("x")).await })
        };
        tokio::task::yield_now().await;
        ticket.started("run-1");
        match waiter.await.expect("join") {
            Begin::Existing { run_id, .. } => assert_eq!(run_id, "run-1"),
            Begin::Start(_) => panic!("the retry must attach"),
        }
        assert!(matches!(jobs.begin(key("y")).await, Begin::Start(_)));
    }

    #[tokio::test]
    async fn a_failed_start_hands_over_and_entries_expire() {
        let jobs = StartedJobs::new(Duration::from_millis(30));
        let Begin::Start(ticket) = jobs.begin(key("x")).await else {
            panic!("starts");
        };
        drop(ticket);
        let Begin::Start(ticket) = jobs.begin(key("x")).await else {
            panic!("a failed start lets the next call start");
        };
        ticket.started("run-2");
        assert!(matches!(jobs.begin(key("x")).await, Begin::Existing { .. }));
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(matches!(jobs.begin(key("x")).await, Begin::Start(_)));
    }
}
