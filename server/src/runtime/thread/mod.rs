//! One conversation: its messages, its active run and the run's pending
//! interrupt, behind one lock, with the outboxes of the connections that
//! watch it.
//!
//! Every event is applied (through the protocol's reducer) and published
//! while the lock is held, so all connections see one order, and a new
//! subscriber's snapshot is exactly the state before the first event it
//! receives. The lock is never held across I/O or an `.await`.
//!
//! - `state`: what the lock guards, and its pure transitions.
//! - `watch`: subscription and fan-out.
//! - `interrupts`: raise, decide, expire, claim, release, resolve.
//! - `writes`: what each change writes to storage.
//! - `remote`: following a run that lives on another server.
//! - `restore`: rebuilding a thread from storage.
//!
//! This file holds the run's lifecycle: start, stream, tool results,
//! cancel, finish.

mod interrupts;
mod remote;
mod restore;
mod state;
mod watch;
mod writes;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use protocol::{
    ChatMessage, Interrupt, MessageDelta, Person, ResolvedBy, ResolvedInterrupt, Role, RunFinished,
    RunStarted, RunStatus, ServerMessage, ThreadSummary, ToolResult, ToolStatus,
};
use tokio_util::sync::CancellationToken;

use super::run::{self, Start};
use super::{new_id, RuntimeError, Shared};
use crate::contract::{Resolution, RunInput};
use crate::store::Write;
use crate::time::rfc3339;
use state::{RunHandle, State};
use watch::deliver;

pub use interrupts::DecisionOutcome;
pub use watch::Subscription;

/// A server message serialized once, shared by every connection.
pub type Frame = Bytes;

/// How often a message still streaming is saved.
const TEXT_SAVE_INTERVAL: Duration = Duration::from_secs(1);

pub struct Thread {
    id: Arc<str>,
    /// The account that created it: who, besides approvers, may see it.
    owner: Option<Arc<str>>,
    state: Mutex<State>,
    pub(crate) shared: Arc<Shared>,
}

impl Thread {
    pub(crate) fn new(id: String, owner: Option<String>, shared: Arc<Shared>) -> Arc<Self> {
        Arc::new(Self {
            id: id.into(),
            owner: owner.map(Into::into),
            state: Mutex::new(State::new(SystemTime::now())),
            shared,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn owner(&self) -> Option<&str> {
        self.owner.as_deref()
    }

    pub(crate) fn id_arc(&self) -> Arc<str> {
        self.id.clone()
    }

    // A panic elsewhere never leaves the state half-written: every change
    // below is made in full before anything that can panic.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies an event and sends it to every watcher.
    fn publish(&self, state: &mut State, message: &ServerMessage) {
        state.apply(message);
        self.announce(state, Frame::from(message.to_json()));
    }

    /// Sends an event to this server's connections and, when servers share
    /// the database, to the others'.
    fn announce(&self, state: &State, frame: Frame) {
        if let Some(store) = self.shared.store.as_ref().filter(|s| s.shared()) {
            store.write(Write::Event {
                thread_id: self.id.to_string(),
                frame: frame.clone(),
            });
        }
        deliver(state, frame);
    }

    /// Ends the streaming assistant message, saving it whole.
    fn close_text(&self, state: &mut State) {
        state.text_saved_at = None;
        if std::mem::take(&mut state.text_open) {
            self.save_last_message(state);
        }
    }

    /// The row of `GET /api/threads`, with its sort key.
    pub(crate) fn summary(&self) -> (SystemTime, ThreadSummary) {
        let state = self.lock();
        let summary = ThreadSummary {
            thread_id: self.id.to_string(),
            title: state.title.clone(),
            status: state.status(),
            updated_at: rfc3339(state.updated_at),
            expires_at: state
                .view
                .pending_interrupt
                .as_ref()
                .map(|p| p.expires_at.clone()),
        };
        (state.updated_at, summary)
    }

    /// The interrupt this server's run waits at, if it waits.
    pub(crate) fn owned_pending(&self) -> Option<String> {
        let state = self.lock();
        let run = state.run.as_ref().filter(|r| !r.remote)?;
        run.waiter.as_ref()?;
        state
            .view
            .pending_interrupt
            .as_ref()
            .map(|p| p.interrupt_id.clone())
    }

    /// Whether this server runs the thread's active run.
    pub(crate) fn runs_here(&self) -> bool {
        self.lock().run.as_ref().is_some_and(|r| !r.remote)
    }

    /// Whether a run of this server's works or waits here, and whether an
    /// interrupt waits for a decision.
    pub(crate) fn activity(&self) -> (bool, bool) {
        let state = self.lock();
        let running = state.run.as_ref().is_some_and(|r| !r.remote);
        (running, state.view.pending_interrupt.is_some())
    }

    pub(crate) fn history(&self) -> Vec<ChatMessage> {
        self.lock().view.messages.clone()
    }

    /// Records the user's message and starts a run on it (rule 3: one at a
    /// time). `sender`: the signed-in person who sent it.
    pub fn send_message(
        self: &Arc<Self>,
        content: String,
        sender: Option<Person>,
    ) -> Result<(), RuntimeError> {
        if content.trim().is_empty() {
            return Err(RuntimeError::EmptyMessage);
        }
        // While storage fails, a message would be shown but not kept.
        if let Some(store) = &self.shared.store {
            store.check()?;
        }
        let (run_id, cancel) = {
            let mut state = self.lock();
            state.refuse_if_running()?;
            if state.title_from(&content) {
                self.persist(|| self.title_write(&state.title));
            }
            let message = ChatMessage {
                role: Role::User,
                content: content.clone(),
            };
            self.persist(|| self.message_write(state.view.messages.len(), &message));
            self.begin_run(&mut state, Some(content.clone()), sender)
        };
        let input = Start::Input(RunInput::Message(content));
        run::spawn(self.clone(), run_id, cancel, input);
        Ok(())
    }

    /// Starts a run that continues from a checkpoint an agent saved at an
    /// interrupt, with the resolution that interrupt got: the path a server
    /// takes for an interrupt decided after a restart.
    /// `interrupt` is the request that `resolution` answers: it joins the
    /// thread's answered interrupts, so the run may carry out what it approved.
    pub fn resume(
        self: &Arc<Self>,
        interrupt: &Interrupt,
        checkpoint: serde_json::Value,
        resolution: Resolution,
    ) -> Result<(), RuntimeError> {
        let (run_id, cancel) = {
            let mut state = self.lock();
            state.refuse_if_running()?;
            let (decisions, by) = match &resolution {
                Resolution::Decided(decisions) => (decisions.clone(), ResolvedBy::User),
                Resolution::Expired => (Vec::new(), ResolvedBy::Timeout),
            };
            let after_message = state.view.messages.len();
            state.view.resolved_interrupts.push(ResolvedInterrupt {
                interrupt: interrupt.clone(),
                decision_id: None,
                decisions,
                by,
                after_message,
                decided_by: None,
            });
            self.begin_run(&mut state, None, None)
        };
        let input = Start::Input(RunInput::Resume {
            checkpoint,
            resolution,
        });
        run::spawn(self.clone(), run_id, cancel, input);
        Ok(())
    }

    fn begin_run(
        &self,
        state: &mut State,
        user_message: Option<String>,
        started_by: Option<Person>,
    ) -> (Arc<str>, CancellationToken) {
        let run_id: Arc<str> = new_id().into();
        let cancel = CancellationToken::new();
        state.start_run(RunHandle {
            id: run_id.clone(),
            cancel: cancel.clone(),
            waiter: None,
            remote: false,
            started_by: started_by.as_ref().map(|p| p.user_id.as_str().into()),
        });
        let starter = started_by.as_ref().map(|p| p.user_id.clone());
        self.persist(|| self.run_started_write(&run_id, user_message.clone(), starter));
        let started = ServerMessage::RunStarted(RunStarted {
            run_id: run_id.to_string(),
            user_message,
            started_by,
        });
        self.publish(state, &started);
        (run_id, cancel)
    }

    /// Appends streamed assistant text.
    pub(crate) fn push_text(&self, run_id: &str, chunk: &str) {
        let mut state = self.lock();
        if state.active(run_id).is_none() {
            return;
        }
        let delta = ServerMessage::MessageDelta(MessageDelta {
            run_id: run_id.to_owned(),
            content: chunk.to_owned(),
        });
        state.apply(&delta);
        state.text_open = true;
        if self.shared.store.is_some() {
            let now = Instant::now();
            let since = state.text_saved_at.get_or_insert(now);
            if now.duration_since(*since) >= TEXT_SAVE_INTERVAL {
                *since = now;
                self.save_last_message(&state);
            }
        }
        self.announce(&state, Frame::from(delta.to_json()));
    }

    pub(crate) fn tool_result(&self, run_id: &str, name: &str, status: ToolStatus, output: &str) {
        let mut state = self.lock();
        if state.active(run_id).is_none() {
            return;
        }
        self.close_text(&mut state);
        let message = ChatMessage {
            role: Role::Tool,
            content: output.to_owned(),
        };
        self.persist(|| self.message_write(state.view.messages.len(), &message));
        let result = ServerMessage::ToolResult(ToolResult {
            run_id: run_id.to_owned(),
            name: name.to_owned(),
            status,
            output: message.content,
        });
        self.publish(&mut state, &result);
    }

    /// Stops the active run (rule 6). A pending interrupt resolves as a
    /// rejection by the user (`by`, when signed in).
    pub fn cancel(&self, by: Option<Person>) -> Result<(), RuntimeError> {
        let mut state = self.lock();
        let Some(run) = state.run.as_ref() else {
            return Err(RuntimeError::NoActiveRun);
        };
        if run.remote {
            // Its owner cancels it, told through the database.
            self.persist(|| self.cancel_request_write());
            tracing::info!(thread_id = %self.id, "cancel sent to the run's server");
            return Ok(());
        }
        let cancel = run.cancel.clone();
        self.reject_pending(&mut state, protocol::STOPPED_MESSAGE, ResolvedBy::User, by);
        cancel.cancel();
        tracing::info!(thread_id = %self.id, "run cancel requested");
        Ok(())
    }

    /// Ends the run and returns the thread to idle.
    pub(crate) fn finish_run(&self, run_id: &str, status: RunStatus, error: Option<String>) {
        let mut state = self.lock();
        if state.run.as_ref().is_none_or(|r| &*r.id != run_id) {
            return;
        }
        self.close_text(&mut state);
        // Only reachable if an agent ended without awaiting its interrupt.
        self.reject_pending(&mut state, "The run ended.", ResolvedBy::User, None);
        self.persist(|| self.run_finished_write(run_id, status, error.clone()));
        self.shared
            .metrics
            .runs_finished
            .get_or_create(&status.into())
            .inc();
        let finished = ServerMessage::RunFinished(RunFinished {
            run_id: run_id.to_owned(),
            status,
            error,
        });
        self.publish(&mut state, &finished);
    }
}
