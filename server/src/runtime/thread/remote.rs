//! A thread whose run lives on another server: this copy follows the
//! events that server sends through the database, applies them with the
//! same reducer, and forwards them to this server's connections.

use protocol::{RunStarted, ServerMessage};
use tokio_util::sync::CancellationToken;

use super::state::{RunHandle, Waiter};
use super::writes::Resolved;
use super::{deliver, Frame, Thread};
use crate::store::StoredResolution;

impl Thread {
    /// Applies another server's event for this thread and forwards it.
    pub(crate) fn apply_remote(&self, frame: Frame) {
        let Some(message) = std::str::from_utf8(&frame)
            .ok()
            .and_then(|text| ServerMessage::from_json(text).ok())
        else {
            return;
        };
        let mut state = self.lock();
        if state.run.as_ref().is_some_and(|r| !r.remote) {
            return; // Our own run's events start here, not there.
        }
        match &message {
            ServerMessage::RunStarted(RunStarted {
                run_id,
                user_message,
                started_by,
            }) => {
                if let Some(content) = user_message {
                    state.title_from(content);
                }
                state.start_run(RunHandle {
                    id: run_id.as_str().into(),
                    cancel: CancellationToken::new(),
                    waiter: None,
                    remote: true,
                    started_by: started_by.as_ref().map(|p| p.user_id.as_str().into()),
                });
            }
            ServerMessage::Interrupt(_) => {
                let Some(run) = state.run.as_mut() else {
                    return;
                };
                run.waiter = Some(Waiter {
                    reply: None,
                    claimed: false,
                });
            }
            // Events only: a snapshot is never notified, nor an error.
            ServerMessage::Snapshot(_) | ServerMessage::Error(_) => return,
            _ => {}
        }
        // A resolution decided here was applied (and heard) already.
        if state.apply(&message) {
            deliver(&state, frame);
        }
    }

    /// Another server saved a resolution of the interrupt this server's run
    /// waits at: the run goes on with it.
    pub(crate) fn apply_stored_resolution(&self, interrupt_id: &str, stored: StoredResolution) {
        let mut state = self.lock();
        let waiting = state
            .run
            .as_ref()
            .is_some_and(|r| !r.remote && r.waiter.is_some())
            && state
                .view
                .pending_interrupt
                .as_ref()
                .is_some_and(|p| p.interrupt_id == interrupt_id);
        if !waiting {
            return;
        }
        let run_id = state.run.as_ref().map(|r| r.id.clone()).unwrap_or_default();
        self.persist(|| self.run_resumed_write(&run_id));
        tracing::info!(%interrupt_id, "decision from another server received");
        let resolution = Resolved {
            decision_id: stored.decision_id,
            decisions: stored.decisions,
            by: stored.by,
            decided_by: stored.decided_by,
        };
        self.resolve(&mut state, resolution);
    }
}
