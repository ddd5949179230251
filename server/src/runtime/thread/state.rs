//! What a thread holds behind its lock, and its pure transitions: no I/O,
//! no tasks, so they are tested without a runtime.
//!
//! What connections see is `view`, changed only through the protocol's
//! reducer ([`ThreadState::apply`]), the same one a follower on another
//! server and the browser use. The rest is what only this server needs:
//! the active run's handle and the bookkeeping of what is saved.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use protocol::{ServerMessage, ThreadState, ThreadStatus};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::contract::Resolution;
use crate::runtime::Outbox;
use crate::runtime::RuntimeError;

const TITLE_CHARS: usize = 60;

pub(super) struct State {
    pub view: ThreadState,
    pub title: String,
    pub updated_at: SystemTime,
    /// Present exactly while `view.run_id` is.
    pub run: Option<RunHandle>,
    /// The last message is this server's run's text, not yet saved whole.
    pub text_open: bool,
    /// When that text was last saved (or began): it is saved every second
    /// as it grows, so a crash loses little of it.
    pub text_saved_at: Option<Instant>,
    /// The connections watching this thread.
    pub watchers: Vec<Arc<Outbox>>,
}

pub(super) struct RunHandle {
    pub id: Arc<str>,
    pub cancel: CancellationToken,
    /// Present exactly while `view.pending_interrupt` is.
    pub waiter: Option<Waiter>,
    /// The run lives on another server; this copy follows its events.
    pub remote: bool,
    /// The account whose message started it (separation of duties).
    pub started_by: Option<Arc<str>>,
}

/// The run's side of the pending interrupt. The agent's checkpoint is not
/// kept here: it is saved with the interrupt, and only a restarted server
/// reads it back.
pub(super) struct Waiter {
    /// The waiting run's ear (none for a run on another server, which
    /// hears through the database).
    pub reply: Option<oneshot::Sender<Resolution>>,
    /// A decision on it is being saved: nothing else may take it meanwhile.
    pub claimed: bool,
}

impl State {
    pub fn new(updated_at: SystemTime) -> Self {
        Self {
            view: ThreadState::default(),
            title: String::new(),
            updated_at,
            run: None,
            text_open: false,
            text_saved_at: None,
            watchers: Vec::new(),
        }
    }

    /// Applies an event through the reducer, keeping the run's handle in
    /// step with it. `false` if the event changed nothing.
    pub fn apply(&mut self, event: &ServerMessage) -> bool {
        if !self.view.apply(event) {
            return false;
        }
        self.updated_at = SystemTime::now();
        match event {
            ServerMessage::InterruptResolved(_) => {
                if let Some(run) = self.run.as_mut() {
                    run.waiter = None;
                }
            }
            ServerMessage::RunFinished(_) => self.run = None,
            _ => {}
        }
        true
    }

    /// Makes `run` the active one (its `run_started` is applied next).
    pub fn start_run(&mut self, run: RunHandle) {
        self.run = Some(run);
        self.text_open = false;
    }

    /// The first user message names the thread; `true` if this one did.
    pub fn title_from(&mut self, user_message: &str) -> bool {
        if !self.title.is_empty() {
            return false;
        }
        self.title = user_message.trim().chars().take(TITLE_CHARS).collect();
        true
    }

    pub fn status(&self) -> ThreadStatus {
        self.view.status()
    }

    /// Rule 3: one run at a time per thread.
    pub fn refuse_if_running(&self) -> Result<(), RuntimeError> {
        match self.run {
            Some(_) => Err(RuntimeError::AlreadyStreaming),
            None => Ok(()),
        }
    }

    /// The run named `run_id` if it is still the thread's live run.
    pub fn active(&mut self, run_id: &str) -> Option<&mut RunHandle> {
        self.run
            .as_mut()
            .filter(|r| &*r.id == run_id && !r.cancel.is_cancelled())
    }

    /// The pending interrupt's waiter, unless a decision on it is being saved.
    pub fn unclaimed(&self) -> Option<&protocol::Interrupt> {
        let waiter = self.run.as_ref()?.waiter.as_ref()?;
        match waiter.claimed {
            true => None,
            false => self.view.pending_interrupt.as_ref(),
        }
    }

    /// Takes the pending interrupt's waiter.
    pub fn take_waiter(&mut self) -> Option<Waiter> {
        self.run.as_mut()?.waiter.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{Interrupt, InterruptResolved, ResolvedBy, RunFinished, RunStarted, RunStatus};

    fn started(state: &mut State, remote: bool) {
        state.start_run(RunHandle {
            id: "r".into(),
            cancel: CancellationToken::new(),
            waiter: None,
            remote,
            started_by: None,
        });
        state.apply(&ServerMessage::RunStarted(RunStarted {
            run_id: "r".into(),
            user_message: Some("  Plan a study of tides  ".into()),
            started_by: None,
        }));
    }

    fn interrupted(state: &mut State) {
        state.run.as_mut().unwrap().waiter = Some(Waiter {
            reply: None,
            claimed: false,
        });
        state.apply(&ServerMessage::Interrupt(Interrupt {
            interrupt_id: "i".into(),
            run_id: "r".into(),
            action_requests: vec![],
            review_configs: vec![],
            expires_at: "2026-02-16T12:05:00Z".into(),
        }));
    }

    #[test]
    fn the_run_handle_follows_the_events() {
        let mut state = State::new(SystemTime::UNIX_EPOCH);
        assert!(state.refuse_if_running().is_ok());
        started(&mut state, false);
        assert!(matches!(
            state.refuse_if_running(),
            Err(RuntimeError::AlreadyStreaming)
        ));
        assert!(state.updated_at > SystemTime::UNIX_EPOCH);
        interrupted(&mut state);
        assert_eq!(state.status(), ThreadStatus::Interrupted);
        assert!(state.unclaimed().is_some());
        state.run.as_mut().unwrap().waiter.as_mut().unwrap().claimed = true;
        assert!(
            state.unclaimed().is_none(),
            "claimed by a decision being saved"
        );

        let resolved = ServerMessage::InterruptResolved(InterruptResolved {
            interrupt_id: "i".into(),
            decision_id: None,
            decisions: vec![],
            by: ResolvedBy::Timeout,
            decided_by: None,
        });
        assert!(state.apply(&resolved));
        assert!(state.run.as_ref().unwrap().waiter.is_none());
        assert!(!state.apply(&resolved), "resolved twice");
        assert!(state.active("r").is_some());
        assert!(state.active("other").is_none());

        state.apply(&ServerMessage::RunFinished(RunFinished {
            run_id: "r".into(),
            status: RunStatus::Completed,
            error: None,
        }));
        assert!(state.run.is_none());
        assert_eq!(state.status(), ThreadStatus::Idle);
    }

    #[test]
    fn a_cancelled_run_is_no_longer_active() {
        let mut state = State::new(SystemTime::now());
        started(&mut state, true);
        state.run.as_ref().unwrap().cancel.cancel();
        assert!(state.active("r").is_none());
    }

    #[test]
    fn the_first_user_message_names_the_thread() {
        let mut state = State::new(SystemTime::now());
        assert!(state.title_from("  Plan a study of tides  "));
        assert!(!state.title_from("something else"));
        assert_eq!(state.title, "Plan a study of tides");
        let mut long = State::new(SystemTime::now());
        long.title_from(&"é".repeat(100));
        assert_eq!(long.title.chars().count(), 60);
    }
}
