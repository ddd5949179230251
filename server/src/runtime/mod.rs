//! Threads, their runs and their interrupts: everything between a socket
//! and an agent.
//!
//! Architecture invariant: nothing here knows about WebSocket frames or
//! HTTP. A connection subscribes to a [`Thread`]'s events and calls its
//! methods, each of which takes the thread's lock briefly and never awaits;
//! a run is a task of its own (see [`run`]), so no call a connection makes
//! can wait on an agent.

mod budget;
mod decision;
mod run;
mod thread;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use protocol::ThreadSummary;

use crate::agent::Agent;
use crate::config::Config;

pub use run::{InterruptRequest, Resolution, RunContext};
pub use thread::{DecisionOutcome, Frame, Thread};

/// What every thread shares: settings and the agent that runs in it.
pub(crate) struct Shared {
    pub config: Config,
    pub agent: Arc<dyn Agent>,
}

/// The registry of threads.
pub struct Runtime {
    threads: RwLock<HashMap<Arc<str>, Arc<Thread>>>,
    shared: Arc<Shared>,
}

impl Runtime {
    pub fn new(config: Config, agent: Arc<dyn Agent>) -> Arc<Self> {
        Arc::new(Self {
            threads: RwLock::default(),
            shared: Arc::new(Shared { config, agent }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    pub fn create_thread(&self) -> Arc<Thread> {
        let thread = Thread::new(new_id(), self.shared.clone());
        self.threads
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(thread.id_arc(), thread.clone());
        tracing::info!(thread_id = %thread.id(), "thread created");
        thread
    }

    pub fn thread(&self, id: &str) -> Option<Arc<Thread>> {
        self.threads
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    /// Every thread, most recently updated first.
    pub fn list(&self) -> Vec<ThreadSummary> {
        let threads: Vec<_> = self
            .threads
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        let mut rows: Vec<_> = threads.iter().map(|t| t.summary()).collect();
        rows.sort_by_key(|row| std::cmp::Reverse(row.0));
        rows.into_iter().map(|(_, summary)| summary).collect()
    }
}

/// A fresh random id: 32 lowercase hex digits.
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
