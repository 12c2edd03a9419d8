//! [`StartedJobs`]: the Jobs recent `runAssignment` calls started, so a repeated identical call
//! (a client that timed out and retried, a model told to "try again") gets the Job that already
//! exists instead of starting another — also while the first call is still starting it.
//!
//! Entries are keyed by a SHA-256 over the caller's key digest and the Job's inputs (never the
//! raw key or message), and expire after [`WINDOW`]. The record sits behind this one type so a
//! later backend (e.g. Redis, for several replicas) can replace the in-memory map.

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
}

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
        }
    }

    /// The Job an identical call started within the window (waiting while that call is still
    /// starting it), or a ticket to start it. A start that fails hands over to the next caller.
    pub async fn begin(&self, key: StartKey) -> Begin {
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
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.recorded {
            return;
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
