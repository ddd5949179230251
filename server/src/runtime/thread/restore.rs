//! A thread rebuilt from storage: at start-up, on first use, after another
//! server's notice was too large to carry, or when this server takes over
//! a run whose owner died.

use std::sync::Arc;

use protocol::{ResolvedBy, ThreadState};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::state::{RunHandle, Waiter};
use super::{deliver, Thread};
use crate::contract::{Resolution, RunInput};
use crate::runtime::run::{self, Start, Waiting};
use crate::runtime::Shared;
use crate::store::{RunState, StoredThread};

/// A restored run to start once its thread is the one in the registry.
pub(crate) struct Restart {
    run_id: Arc<str>,
    cancel: CancellationToken,
    start: Start,
}

impl Thread {
    /// A thread rebuilt from storage, and its run to launch, if it has one
    /// here. Launching is left to the caller: of two copies loaded at once,
    /// only the one kept may start it.
    pub(crate) fn restore(
        stored: StoredThread,
        shared: Arc<Shared>,
    ) -> (Arc<Self>, Option<Restart>) {
        let thread = Thread::new(stored.id.clone(), stored.owner.clone(), shared);
        let restart = thread.reload(stored, false);
        (thread, restart)
    }

    pub(crate) fn launch(self: &Arc<Self>, restart: Restart) {
        tracing::info!(thread_id = %self.id, run_id = %restart.run_id, "run restored at its interrupt");
        run::spawn(self.clone(), restart.run_id, restart.cancel, restart.start);
    }

    /// Replaces this copy's state with the stored one. A run stopped at an
    /// interrupt that storage says is this server's goes on here: it waits
    /// again, or resumes at once if the interrupt was resolved meanwhile.
    /// Any other active run is followed as a remote one. `resync` sends
    /// connections a fresh snapshot. Returns the run to launch.
    #[must_use]
    pub(crate) fn reload(self: &Arc<Self>, stored: StoredThread, resync: bool) -> Option<Restart> {
        let me = self.server_id();
        let mut state = self.lock();
        if state.run.as_ref().is_some_and(|r| !r.remote) {
            return None; // Ours and live: memory is ahead of storage.
        }
        state.title = stored.title;
        state.updated_at = stored.updated_at;
        state.text_open = false;
        state.text_saved_at = None;
        state.view = ThreadState {
            messages: stored.messages,
            resolved_interrupts: stored.resolved,
            ..ThreadState::default()
        };
        state.run = None;
        let mut restart = None;
        if let Some(run) = stored.run {
            let mut start = None;
            let id: Arc<str> = run.id.as_str().into();
            let cancel = CancellationToken::new();
            let owned = run.owner == me && run.status == RunState::Interrupted;
            let mut waiter = None;
            match stored.pending {
                Some(p) if owned => match p.resolved {
                    Some(resolved) => {
                        let resolution = match resolved.by {
                            ResolvedBy::Timeout => Resolution::Expired,
                            ResolvedBy::User => Resolution::Decided(resolved.decisions),
                        };
                        self.persist(|| self.run_resumed_write(&id));
                        let input = RunInput::Resume {
                            checkpoint: p.checkpoint,
                            resolution,
                        };
                        start = Some(Start::Input(input));
                    }
                    None => {
                        let (reply, receiver) = oneshot::channel();
                        waiter = Some(Waiter {
                            reply: Some(reply),
                            claimed: false,
                        });
                        state.view.pending_interrupt = Some(p.interrupt.clone());
                        start = Some(Start::Waiting(Box::new(Waiting {
                            interrupt: p.interrupt,
                            checkpoint: p.checkpoint,
                            reply: receiver,
                        })));
                    }
                },
                Some(p) if p.resolved.is_none() => {
                    waiter = Some(Waiter {
                        reply: None,
                        claimed: false,
                    });
                    state.view.pending_interrupt = Some(p.interrupt);
                }
                _ => {}
            }
            state.view.run_id = Some(run.id);
            state.run = Some(RunHandle {
                id: id.clone(),
                cancel: cancel.clone(),
                waiter,
                remote: !owned,
                started_by: run.started_by.as_deref().map(Into::into),
            });
            restart = start.map(|start| Restart {
                run_id: id,
                cancel,
                start,
            });
        }
        if resync {
            deliver(&state, self.snapshot_frame(&state));
        }
        restart
    }
}
