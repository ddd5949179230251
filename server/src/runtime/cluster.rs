//! Several servers on one PostgreSQL: following other servers' notices,
//! keeping this server's leases, and taking over runs whose server died.

use std::sync::{Arc, Weak};

use protocol::{RunFinished, RunStatus, ServerMessage};
use tokio::sync::mpsc;

use super::Runtime;
use crate::store::{Notice, RunState, Store, Write, LOST_RUN};

/// Applies other servers' notices to the threads this server has loaded.
pub(super) async fn follow(runtime: Weak<Runtime>, mut notices: mpsc::Receiver<Notice>) {
    while let Some(notice) = notices.recv().await {
        let Some(runtime) = runtime.upgrade() else {
            return;
        };
        let Some(store) = runtime.store().cloned() else {
            return;
        };
        // Threads not loaded here are read from storage when first used.
        let loaded = |id: &str| runtime.thread(id);
        match notice {
            Notice::Event {
                thread_id,
                frame: Some(frame),
            } => {
                if let Some(thread) = loaded(&thread_id) {
                    thread.apply_remote(frame);
                }
            }
            Notice::Event {
                thread_id,
                frame: None,
            } => {
                if let Some(thread) = loaded(&thread_id) {
                    if let Err(e) = reload(&store, &thread).await {
                        tracing::warn!(%thread_id, error = %e, "reload failed");
                    }
                }
            }
            Notice::Decision {
                thread_id,
                interrupt_id,
            } => {
                let Some(thread) = loaded(&thread_id) else {
                    continue;
                };
                match store.resolution(&interrupt_id).await {
                    Ok(Some(stored)) => thread.apply_stored_resolution(&interrupt_id, stored),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(%interrupt_id, error = %e, "resolution not read"),
                }
            }
            Notice::Cancel { thread_id } => {
                if let Some(thread) = loaded(&thread_id) {
                    let _ = thread.cancel(None);
                }
            }
            Notice::Resync => catch_up(&runtime, &store).await,
        }
    }
}

/// After notices were lost: every loaded thread whose run is not this
/// server's is read again from storage (events it missed), and every run
/// of this server's waiting at an interrupt looks for a decision made for
/// it elsewhere meanwhile.
async fn catch_up(runtime: &Runtime, store: &Store) {
    let started = std::time::Instant::now();
    let threads = runtime.loaded();
    let mut reloaded = 0;
    for thread in &threads {
        match thread.owned_pending() {
            Some(interrupt_id) => match store.resolution(&interrupt_id).await {
                Ok(Some(stored)) => thread.apply_stored_resolution(&interrupt_id, stored),
                Ok(None) => {}
                Err(e) => tracing::warn!(%interrupt_id, error = %e, "resolution not read"),
            },
            None if thread.runs_here() => {}
            None => match reload(store, thread).await {
                Ok(()) => reloaded += 1,
                Err(e) => tracing::warn!(thread_id = %thread.id(), error = %e, "reload failed"),
            },
        }
    }
    tracing::info!(
        threads = threads.len(),
        reloaded,
        elapsed = ?started.elapsed(),
        "caught up after lost notices"
    );
}

async fn reload(
    store: &Store,
    thread: &Arc<super::Thread>,
) -> Result<(), crate::store::StoreError> {
    if let Some(stored) = store.load_thread(thread.id()).await? {
        if let Some(restart) = thread.reload(stored, true) {
            thread.launch(restart);
        }
    }
    Ok(())
}

/// Renews this server's leases and takes over runs whose lease passed.
pub(super) async fn keep_leases(runtime: Weak<Runtime>) {
    loop {
        let Some(store) = runtime.upgrade().and_then(|r| r.store().cloned()) else {
            return;
        };
        tokio::time::sleep(store.lease() / 3).await;
        let Some(runtime) = runtime.upgrade() else {
            return;
        };
        if let Err(e) = store.renew_leases().await {
            tracing::warn!(error = %e, "leases not renewed");
            continue;
        }
        match store.take_over().await {
            Ok(runs) => {
                for (run_id, thread_id, status) in runs {
                    if let Err(e) = take_over(&runtime, &store, &run_id, &thread_id, status).await {
                        tracing::warn!(%thread_id, %run_id, error = %e, "takeover failed");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "takeover check failed"),
        }
    }
}

/// A run whose server died: one that was waiting at an interrupt goes on
/// here; one that was working is failed (it saved no state to go on from).
async fn take_over(
    runtime: &Runtime,
    store: &Store,
    run_id: &str,
    thread_id: &str,
    status: RunState,
) -> Result<(), super::RuntimeError> {
    tracing::info!(%thread_id, %run_id, ?status, "taking over a run whose server stopped");
    if status == RunState::Interrupted {
        match runtime.thread(thread_id) {
            Some(thread) => reload(store, &thread).await?,
            None => {
                runtime.find(thread_id).await?;
            }
        }
        return Ok(());
    }
    match runtime.thread(thread_id) {
        Some(thread) => thread.finish_run(run_id, RunStatus::Failed, Some(LOST_RUN.into())),
        None => {
            store.write(Write::RunFinished {
                thread_id: thread_id.to_owned(),
                run_id: run_id.to_owned(),
                status: RunStatus::Failed,
                error: Some(LOST_RUN.into()),
                at: crate::store::millis(std::time::SystemTime::now()),
            });
            announce_lost(store, run_id, thread_id);
        }
    }
    Ok(())
}

/// Tells other servers' connections that a run died with its server.
pub(super) fn announce_lost(store: &Store, run_id: &str, thread_id: &str) {
    let finished = ServerMessage::RunFinished(RunFinished {
        run_id: run_id.to_owned(),
        status: RunStatus::Failed,
        error: Some(LOST_RUN.into()),
    });
    store.write(Write::Event {
        thread_id: thread_id.to_owned(),
        frame: finished.to_json().into(),
    });
}
