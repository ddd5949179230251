//! What each change of a thread writes to storage: one builder per change.
//! Writes are queued (never awaited) under the thread's lock, in the order
//! the changes were made; see `store::write` for what waits.

use std::time::{Duration, SystemTime};

use protocol::{
    ChatMessage, Decision, Interrupt, Person, ReceiptAction, ReceiptPayload, ResolvedBy, RunStatus,
};

use super::state::State;
use super::Thread;
use crate::receipts::args_digest;
use crate::store::{millis, Origin, Write};
use crate::time::rfc3339;

impl Thread {
    /// Queues a change for storage, if there is any.
    pub(super) fn persist(&self, write: impl FnOnce() -> Write) {
        if let Some(store) = &self.shared.store {
            store.write(write());
        }
    }

    /// This server's id in storage (empty without storage).
    pub(super) fn server_id(&self) -> String {
        self.shared
            .store
            .as_ref()
            .map(|s| s.server_id().to_owned())
            .unwrap_or_default()
    }

    pub(super) fn title_write(&self, title: &str) -> Write {
        Write::Title {
            thread_id: self.id.to_string(),
            title: title.to_owned(),
        }
    }

    /// The message at `seq` (inserted, or its content replaced).
    pub(super) fn message_write(&self, seq: usize, message: &ChatMessage) -> Write {
        Write::Message {
            thread_id: self.id.to_string(),
            seq: seq as i64,
            role: message.role,
            content: message.content.clone(),
        }
    }

    /// Saves the last message (again, if it grew).
    pub(super) fn save_last_message(&self, state: &State) {
        if let Some(last) = state.view.messages.last() {
            let seq = state.view.messages.len() - 1;
            self.persist(|| self.message_write(seq, last));
        }
    }

    pub(super) fn run_started_write(
        &self,
        run_id: &str,
        user_message: Option<String>,
        started_by: Option<String>,
    ) -> Write {
        let lease = self
            .shared
            .store
            .as_ref()
            .map_or(Duration::ZERO, |s| s.lease());
        let now = SystemTime::now();
        Write::RunStarted {
            thread_id: self.id.to_string(),
            run_id: run_id.to_owned(),
            user_message,
            started_by,
            owner: self.server_id(),
            lease_until: millis(now + lease),
            at: millis(now),
        }
    }

    pub(super) fn run_resumed_write(&self, run_id: &str) -> Write {
        Write::RunResumed {
            thread_id: self.id.to_string(),
            run_id: run_id.to_owned(),
            at: millis(SystemTime::now()),
        }
    }

    pub(super) fn run_finished_write(
        &self,
        run_id: &str,
        status: RunStatus,
        error: Option<String>,
    ) -> Write {
        Write::RunFinished {
            thread_id: self.id.to_string(),
            run_id: run_id.to_owned(),
            status,
            error,
            at: millis(SystemTime::now()),
        }
    }

    pub(super) fn interrupt_raised_write(
        &self,
        interrupt: &Interrupt,
        checkpoint: serde_json::Value,
        after_message: usize,
    ) -> Write {
        Write::InterruptRaised {
            thread_id: self.id.to_string(),
            interrupt: interrupt.clone(),
            checkpoint,
            after_message: after_message as i64,
            at: millis(SystemTime::now()),
        }
    }

    /// A resolution of `interrupt`, its audit record and its receipt.
    /// `resumes`: this server runs the run, so it goes on at once.
    pub(super) fn resolved_write(
        &self,
        interrupt: &Interrupt,
        resolution: &Resolved,
        origin: Option<Origin>,
        resumes: bool,
    ) -> Write {
        let now = SystemTime::now();
        let receipt = ReceiptPayload {
            thread_id: self.id.to_string(),
            interrupt_id: interrupt.interrupt_id.clone(),
            run_id: interrupt.run_id.clone(),
            actions: interrupt
                .action_requests
                .iter()
                .map(|a| ReceiptAction {
                    name: a.name.clone(),
                    args_sha256: args_digest(&a.args),
                })
                .collect(),
            decisions: resolution.decisions.clone(),
            by: resolution.by,
            decided_by: resolution.decided_by.clone(),
            decided_at: rfc3339(now),
            server: self.server_id(),
            kid: self
                .shared
                .store
                .as_ref()
                .map(|s| s.signer().kid().to_owned())
                .unwrap_or_default(),
        };
        Write::Resolved {
            thread_id: self.id.to_string(),
            run_id: interrupt.run_id.clone(),
            interrupt_id: interrupt.interrupt_id.clone(),
            decision_id: resolution.decision_id.clone(),
            decisions: resolution.decisions.clone(),
            by: resolution.by,
            origin,
            server: self.server_id(),
            resumes,
            receipt: crate::store::Receipt::Unsigned(Box::new(receipt)),
            at: millis(now),
        }
    }

    pub(super) fn cancel_request_write(&self) -> Write {
        Write::CancelRequest {
            thread_id: self.id.to_string(),
        }
    }
}

/// How an interrupt is being resolved: what is saved, applied and announced.
#[derive(Clone, Debug)]
pub(super) struct Resolved {
    pub decision_id: Option<String>,
    pub decisions: Vec<Decision>,
    pub by: ResolvedBy,
    pub decided_by: Option<Person>,
}
