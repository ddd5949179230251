//! Threads, their runs and their interrupts: everything between a socket
//! and an agent.
//!
//! Architecture invariant: nothing here knows about WebSocket frames or
//! HTTP. A connection subscribes to a [`Thread`]'s events and calls its
//! methods, each of which takes the thread's lock briefly and never awaits;
//! a run is a task of its own (see [`run`]), so no call a connection makes
//! can wait on an agent.

mod budget;
mod cluster;
mod decision;
mod error;
mod outbox;
mod run;
mod thread;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use protocol::ThreadSummary;

use crate::contract::Agent;
use crate::metrics::Metrics;
use crate::settings::Runs;
use crate::store::{millis, Store, StoreError, Write};

pub use error::RuntimeError;
pub use outbox::Outbox;
pub use thread::{DecisionOutcome, Frame, Subscription, Thread};

/// Most threads `GET /api/threads` lists.
const LIST_LIMIT: i64 = 1000;

/// What every thread shares: settings, the agent that runs in it, and the
/// storage its changes go to (none: threads live in memory only).
pub(crate) struct Shared {
    pub runs: Runs,
    pub agent: Arc<dyn Agent>,
    pub store: Option<Arc<Store>>,
    pub metrics: Arc<Metrics>,
}

/// The registry of threads.
pub struct Runtime {
    threads: RwLock<HashMap<Arc<str>, Arc<Thread>>>,
    shared: Arc<Shared>,
}

impl Runtime {
    /// The agent that runs in every thread.
    pub fn agent(&self) -> &dyn Agent {
        &*self.shared.agent
    }

    /// Threads in memory only: gone when the process ends.
    pub fn new(runs: Runs, agent: Arc<dyn Agent>, metrics: Arc<Metrics>) -> Arc<Self> {
        Self::build(runs, agent, None, metrics)
    }

    /// Threads kept in `store`. Picks up what the last process left: runs
    /// that were working are marked failed; interrupts still pending wait
    /// again (or expire at once if their time passed meanwhile).
    pub async fn durable(
        runs: Runs,
        agent: Arc<dyn Agent>,
        store: Arc<Store>,
    ) -> Result<Arc<Self>, StoreError> {
        let metrics = store.metrics().clone();
        // Listening first: nothing another server says after recovery is missed.
        let notices = match store.shared() {
            true => Some(store.listen().await?),
            false => None,
        };
        let recovery = store.recover().await?;
        let runtime = Self::build(runs, agent, Some(store.clone()), metrics);
        for (run_id, thread_id) in &recovery.failed_runs {
            cluster::announce_lost(&store, run_id, thread_id);
        }
        tracing::info!(
            failed_runs = recovery.failed_runs.len(),
            waiting_runs = recovery.pending_threads.len(),
            server_id = store.server_id(),
            "storage recovered"
        );
        // Serving starts now; the waiting runs come back meanwhile (a thread
        // asked for first is loaded at once by `find`).
        tokio::spawn(restore_all(
            Arc::downgrade(&runtime),
            recovery.pending_threads,
        ));
        if let Some(notices) = notices {
            tokio::spawn(cluster::follow(Arc::downgrade(&runtime), notices));
            tokio::spawn(cluster::keep_leases(Arc::downgrade(&runtime)));
        }
        Ok(runtime)
    }

    fn build(
        runs: Runs,
        agent: Arc<dyn Agent>,
        store: Option<Arc<Store>>,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        Arc::new(Self {
            threads: RwLock::default(),
            shared: Arc::new(Shared {
                runs,
                agent,
                store,
                metrics,
            }),
        })
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.shared.metrics
    }

    /// Threads in memory, runs working or waiting here, and interrupts
    /// waiting for a decision: what a scrape reports.
    pub fn levels(&self) -> (usize, usize, usize) {
        let threads: Vec<_> = self
            .threads
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        let (mut runs, mut pending) = (0, 0);
        for thread in &threads {
            let (running, waiting) = thread.activity();
            runs += running as usize;
            pending += waiting as usize;
        }
        (threads.len(), runs, pending)
    }

    /// Every thread in memory.
    pub(crate) fn loaded(&self) -> Vec<Arc<Thread>> {
        self.threads
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    pub fn runs(&self) -> &Runs {
        &self.shared.runs
    }

    pub fn store(&self) -> Option<&Arc<Store>> {
        self.shared.store.as_ref()
    }

    /// A new, empty thread of `owner`'s; stored before it is announced, so
    /// any server can open it at once.
    pub async fn create_thread(&self, owner: Option<&str>) -> Result<Arc<Thread>, RuntimeError> {
        let thread = Thread::new(new_id(), owner.map(str::to_owned), self.shared.clone());
        if let Some(store) = &self.shared.store {
            store
                .commit(Write::Thread {
                    id: thread.id().to_owned(),
                    owner: owner.map(str::to_owned),
                    at: millis(SystemTime::now()),
                })
                .await?;
        }
        self.threads
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(thread.id_arc(), thread.clone());
        tracing::info!(thread_id = %thread.id(), "thread created");
        Ok(thread)
    }

    /// A thread in memory; see [`Runtime::find`] for stored ones too.
    pub fn thread(&self, id: &str) -> Option<Arc<Thread>> {
        self.threads
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    /// A thread in memory, or else loaded from storage.
    pub async fn find(&self, id: &str) -> Result<Option<Arc<Thread>>, RuntimeError> {
        if let Some(thread) = self.thread(id) {
            return Ok(Some(thread));
        }
        let Some(store) = &self.shared.store else {
            return Ok(None);
        };
        let Some(stored) = store.load_thread(id).await? else {
            return Ok(None);
        };
        let mut threads = self.threads.write().unwrap_or_else(|e| e.into_inner());
        // Another caller may have loaded it meanwhile: one copy wins.
        if let Some(thread) = threads.get(id) {
            return Ok(Some(thread.clone()));
        }
        let (thread, restart) = Thread::restore(stored, self.shared.clone());
        threads.insert(thread.id_arc(), thread.clone());
        drop(threads);
        if let Some(restart) = restart {
            thread.launch(restart);
        }
        Ok(Some(thread))
    }

    /// Threads, most recently updated first: every one, or `owner`'s.
    pub async fn list(&self, owner: Option<&str>) -> Result<Vec<ThreadSummary>, RuntimeError> {
        if let Some(store) = &self.shared.store {
            // Read our own writes: a thread created a moment ago is listed.
            store.flush().await?;
            return Ok(store.list_threads(LIST_LIMIT, owner).await?);
        }
        let threads: Vec<_> = self
            .threads
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|t| owner.is_none() || t.owner() == owner)
            .cloned()
            .collect();
        let mut rows: Vec<_> = threads.iter().map(|t| t.summary()).collect();
        rows.sort_by_key(|row| std::cmp::Reverse(row.0));
        Ok(rows.into_iter().map(|(_, summary)| summary).collect())
    }
}

/// Loads the threads whose runs wait at an interrupt, a few at a time, so
/// their expiry timers run again.
async fn restore_all(runtime: std::sync::Weak<Runtime>, thread_ids: Vec<String>) {
    use futures_util::StreamExt;
    let started = std::time::Instant::now();
    let count = thread_ids.len();
    futures_util::stream::iter(thread_ids)
        .for_each_concurrent(RESTORE_CONCURRENCY, |id| {
            let runtime = runtime.clone();
            async move {
                let Some(runtime) = runtime.upgrade() else {
                    return;
                };
                if let Err(e) = runtime.find(&id).await {
                    tracing::error!(thread_id = %id, error = %e, "thread not restored");
                }
            }
        })
        .await;
    if count > 0 {
        tracing::info!(count, elapsed = ?started.elapsed(), "waiting runs restored");
    }
}

/// Threads loaded at once while restoring.
const RESTORE_CONCURRENCY: usize = 8;

/// A fresh id: 32 lowercase hex digits, time-ordered (UUIDv7, 74 random
/// bits). In order, so a new row lands on the last page of each index
/// instead of a random one: a commit writes a few pages, not one per row.
pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// Moves a value out of its box and frees the box now. Unpacked inside an
/// `async` block with `*boxed`, the box would be freed only when the block
/// ends: for a connection or a run, its whole life.
#[allow(clippy::boxed_local)] // the box is the point
pub(crate) fn unbox<T>(boxed: Box<T>) -> T {
    *boxed
}
