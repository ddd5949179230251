//! A thread rebuilt from storage: at start-up, on first use, after another
//! server's notice was too large to carry, or when this server takes over
//! a run whose owner died.

use super::*;
use crate::store::StoredThread;

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
        let thread = Thread::new(stored.id.clone(), shared);
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
        let mut start = None;
        {
            let mut state = self.lock();
            if state.run.as_ref().is_some_and(|r| !r.remote) {
                return None; // Ours and live: memory is ahead of storage.
            }
            state.title = stored.title;
            state.messages = stored.messages;
            state.updated_at = stored.updated_at;
            state.streaming_text = false;
            state.text_saved_at = None;
            state.resolved = stored
                .resolved
                .into_iter()
                .map(|record| Resolved {
                    frame: resolved_frame(&record),
                    record,
                })
                .collect();
            state.run = stored.run.map(|run| {
                let id: Arc<str> = run.id.into();
                let cancel = CancellationToken::new();
                let (reply, receiver) = oneshot::channel();
                let owned = run.owner == me && run.status == "interrupted";
                let pending = match stored.pending {
                    Some(p) if owned => match p.resolved {
                        Some((decisions, by)) => {
                            let resolution = match by {
                                ResolvedBy::Timeout => Resolution::Expired,
                                ResolvedBy::User => Resolution::Decided(decisions),
                            };
                            self.persist(|| Write::RunResumed {
                                thread_id: self.id.to_string(),
                                run_id: id.to_string(),
                                at: millis(SystemTime::now()),
                            });
                            start = Some((
                                id.clone(),
                                cancel.clone(),
                                Start::Input(RunInput::Resume {
                                    checkpoint: p.checkpoint,
                                    resolution,
                                }),
                            ));
                            None
                        }
                        None => {
                            start = Some((
                                id.clone(),
                                cancel.clone(),
                                Start::Waiting(Box::new(Waiting {
                                    interrupt: p.interrupt.clone(),
                                    checkpoint: p.checkpoint,
                                    reply: receiver,
                                })),
                            ));
                            Some(Pending {
                                interrupt: p.interrupt,
                                reply,
                                claimed: false,
                            })
                        }
                    },
                    Some(p) if p.resolved.is_none() => Some(Pending {
                        interrupt: p.interrupt,
                        reply,
                        claimed: false,
                    }),
                    _ => None,
                };
                ActiveRun {
                    id,
                    cancel,
                    pending,
                    remote: !owned,
                }
            });
            if resync {
                let snapshot = ServerMessage::Snapshot(self.snapshot_of(&state));
                deliver(&state, Frame::from(snapshot.to_json()));
            }
        }
        start.map(|(run_id, cancel, start)| Restart {
            run_id,
            cancel,
            start,
        })
    }
}
