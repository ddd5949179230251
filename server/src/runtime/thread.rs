//! One conversation: its messages, its active run and the run's pending
//! interrupt, behind one lock, with the outboxes of the connections that
//! watch it.
//!
//! Every event is published while the lock is held, so all connections see
//! one order, and a new subscriber's snapshot is exactly the state before
//! the first event it receives.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use protocol::{
    ChatMessage, Decision, ErrorBody, ErrorCode, Interrupt, InterruptResolved, MessageDelta,
    ResolvedBy, ResolvedInterrupt, Role, RunFinished, RunStarted, RunStatus, ServerMessage,
    ThreadSnapshot, ThreadStatus, ThreadSummary, ToolResult, ToolStatus,
};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::decision::validate;
use super::outbox::{Next, Outbox};
use super::run::{self, Start, Waiting};
use super::{new_id, Shared};
use crate::contract::{Resolution, RunInput};
use crate::store::{millis, Origin, StoreError, Write};
use crate::time::rfc3339;

/// A server message serialized once, shared by every connection.
pub type Frame = Bytes;

const TITLE_CHARS: usize = 60;
/// How often a message still streaming is saved.
const TEXT_SAVE_INTERVAL: Duration = Duration::from_secs(1);

mod remote;
mod restore;

pub struct Thread {
    id: Arc<str>,
    state: Mutex<State>,
    pub(crate) shared: Arc<Shared>,
}

struct State {
    title: String,
    messages: Vec<ChatMessage>,
    updated_at: SystemTime,
    run: Option<ActiveRun>,
    /// Answered interrupts: the history snapshots show, and the record
    /// that makes a retried decision an answer instead of an error.
    resolved: Vec<Resolved>,
    /// The last message is the active run's assistant text, still growing.
    streaming_text: bool,
    /// When that text was last saved (or began): it is saved every
    /// [`TEXT_SAVE_INTERVAL`] as it grows, so a crash loses little of it.
    text_saved_at: Option<Instant>,
    /// The connections watching this thread.
    watchers: Vec<Arc<Outbox>>,
}

/// A connection's place among a thread's watchers; it leaves on drop.
pub struct Subscription {
    thread: Arc<Thread>,
    outbox: Arc<Outbox>,
}

impl Subscription {
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// The next frame for this connection: after it fell behind, a
    /// snapshot in place of the events it missed.
    pub fn next(&self) -> Option<Frame> {
        match self.outbox.next()? {
            Next::Frame(frame) => Some(frame),
            Next::Lagged => {
                tracing::info!("connection fell behind; resending the snapshot");
                let state = self.thread.lock();
                self.outbox.resync();
                let snapshot = ServerMessage::Snapshot(self.thread.snapshot_of(&state));
                Some(Frame::from(snapshot.to_json()))
            }
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut state = self.thread.lock();
        state.watchers.retain(|w| !Arc::ptr_eq(w, &self.outbox));
        if state.watchers.is_empty() {
            state.watchers = Vec::new();
        }
    }
}

struct ActiveRun {
    id: Arc<str>,
    cancel: CancellationToken,
    pending: Option<Pending>,
    /// The run lives on another server; this copy follows its events.
    remote: bool,
}

/// The agent's checkpoint is not kept here: it is saved with the interrupt
/// (see ARCHITECTURE.md), and only a restarted server reads it back.
struct Pending {
    interrupt: Interrupt,
    reply: oneshot::Sender<Resolution>,
    /// A decision on it is being saved: nothing else may take it meanwhile.
    claimed: bool,
}

struct Resolved {
    record: ResolvedInterrupt,
    /// Its `interrupt_resolved` event, to answer retries with.
    frame: Frame,
}

/// What became of a valid decision frame.
#[derive(Debug)]
pub enum DecisionOutcome {
    /// Applied now; every connection receives `interrupt_resolved`.
    Applied,
    /// A retry of a decision already applied: its `interrupt_resolved` again,
    /// for the sender only.
    Repeated(Frame),
    /// Being saved; applied (and `interrupt_resolved` sent) once it is. An
    /// error means it was not applied and the interrupt still waits.
    Saving(oneshot::Receiver<Result<(), ErrorBody>>),
}

impl Thread {
    pub(crate) fn new(id: String, shared: Arc<Shared>) -> Arc<Self> {
        Arc::new(Self {
            id: id.into(),
            state: Mutex::new(State {
                title: String::new(),
                messages: Vec::new(),
                updated_at: SystemTime::now(),
                run: None,
                resolved: Vec::new(),
                streaming_text: false,
                text_saved_at: None,
                watchers: Vec::new(),
            }),
            shared,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Queues a change for storage, if there is any.
    fn persist(&self, write: impl FnOnce() -> Write) {
        if let Some(store) = &self.shared.store {
            store.write(write());
        }
    }

    /// Ends the streaming assistant message, saving it whole.
    fn close_text(&self, state: &mut State) {
        state.text_saved_at = None;
        if std::mem::take(&mut state.streaming_text) {
            self.save_last_message(state);
        }
    }

    /// Saves the last message (again, if it grew).
    fn save_last_message(&self, state: &State) {
        if let Some(last) = state.messages.last() {
            let seq = state.messages.len() as i64 - 1;
            self.persist(|| Write::Message {
                thread_id: self.id.to_string(),
                seq,
                role: last.role,
                content: last.content.clone(),
            });
        }
    }

    pub(crate) fn id_arc(&self) -> Arc<str> {
        self.id.clone()
    }

    // A panic elsewhere never leaves the state half-written: every change
    // below is made in full before anything that can panic.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn publish(&self, state: &mut State, message: &ServerMessage) -> Frame {
        state.updated_at = SystemTime::now();
        let frame = Frame::from(message.to_json());
        self.announce(state, frame.clone());
        frame
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

    /// This server's id in storage (empty without storage).
    fn server_id(&self) -> String {
        self.shared
            .store
            .as_ref()
            .map(|s| s.server_id().to_owned())
            .unwrap_or_default()
    }

    /// The current state, and an outbox that receives every event after it.
    pub fn subscribe(self: &Arc<Self>) -> (ThreadSnapshot, Subscription) {
        let mut state = self.lock();
        let outbox = Arc::new(Outbox::default());
        state.watchers.push(outbox.clone());
        let subscription = Subscription {
            thread: self.clone(),
            outbox,
        };
        (self.snapshot_of(&state), subscription)
    }

    pub fn snapshot(&self) -> ThreadSnapshot {
        self.snapshot_of(&self.lock())
    }

    fn snapshot_of(&self, state: &State) -> ThreadSnapshot {
        let run = state.run.as_ref();
        let pending = run.and_then(|r| r.pending.as_ref());
        ThreadSnapshot {
            thread_id: self.id.to_string(),
            status: status(state),
            messages: state.messages.clone(),
            pending_interrupt: pending.map(|p| p.interrupt.clone()),
            run_id: run.map(|r| r.id.to_string()),
            resolved_interrupts: state.resolved.iter().map(|r| r.record.clone()).collect(),
        }
    }

    /// The row of `GET /api/threads`, with its sort key.
    pub(crate) fn summary(&self) -> (SystemTime, ThreadSummary) {
        let state = self.lock();
        let summary = ThreadSummary {
            thread_id: self.id.to_string(),
            title: state.title.clone(),
            status: status(&state),
            updated_at: rfc3339(state.updated_at),
        };
        (state.updated_at, summary)
    }

    /// Records the user's message and starts a run on it (rule 3: one at a time).
    pub fn send_message(self: &Arc<Self>, content: String) -> Result<(), ErrorBody> {
        if content.trim().is_empty() {
            return Err(ErrorBody::new(
                ErrorCode::InvalidMessage,
                "`content` must not be empty",
            ));
        }
        let (run_id, cancel) = {
            let mut state = self.lock();
            refuse_if_running(&state)?;
            if add_user_message(&mut state, content.clone()) {
                self.persist(|| Write::Title {
                    thread_id: self.id.to_string(),
                    title: state.title.clone(),
                });
            }
            self.persist(|| Write::Message {
                thread_id: self.id.to_string(),
                seq: state.messages.len() as i64 - 1,
                role: Role::User,
                content: content.clone(),
            });
            self.begin_run(&mut state, Some(content.clone()))
        };
        let input = Start::Input(RunInput::Message(content));
        run::spawn(self.clone(), run_id, cancel, input);
        Ok(())
    }

    /// Starts a run that continues from a checkpoint an agent saved at an
    /// interrupt, with the resolution that interrupt got: the path a server
    /// takes for an interrupt decided after a restart.
    pub fn resume(
        self: &Arc<Self>,
        checkpoint: serde_json::Value,
        resolution: Resolution,
    ) -> Result<(), ErrorBody> {
        let (run_id, cancel) = {
            let mut state = self.lock();
            refuse_if_running(&state)?;
            self.begin_run(&mut state, None)
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
    ) -> (Arc<str>, CancellationToken) {
        let run_id: Arc<str> = new_id().into();
        let cancel = CancellationToken::new();
        state.run = Some(ActiveRun {
            id: run_id.clone(),
            cancel: cancel.clone(),
            pending: None,
            remote: false,
        });
        state.streaming_text = false;
        self.persist(|| Write::RunStarted {
            thread_id: self.id.to_string(),
            run_id: run_id.to_string(),
            user_message: user_message.clone(),
            owner: self.server_id(),
            lease_until: millis(
                SystemTime::now()
                    + self
                        .shared
                        .store
                        .as_ref()
                        .map_or(Duration::ZERO, |s| s.lease()),
            ),
            at: millis(SystemTime::now()),
        });
        let started = ServerMessage::RunStarted(RunStarted {
            run_id: run_id.to_string(),
            user_message,
        });
        self.publish(state, &started);
        (run_id, cancel)
    }

    /// Appends streamed assistant text.
    pub(crate) fn push_text(&self, run_id: &str, chunk: &str) {
        let mut state = self.lock();
        if active(&mut state, run_id).is_none() {
            return;
        }
        append_text(&mut state, chunk);
        if self.shared.store.is_some() {
            let now = Instant::now();
            let since = state.text_saved_at.get_or_insert(now);
            if now.duration_since(*since) >= TEXT_SAVE_INTERVAL {
                *since = now;
                self.save_last_message(&state);
            }
        }
        let delta = ServerMessage::MessageDelta(MessageDelta {
            run_id: run_id.to_owned(),
            content: chunk.to_owned(),
        });
        self.publish(&mut state, &delta);
    }

    /// Stores `interrupt` before anyone hears of it, so a decision can
    /// never name an interrupt a crash could lose. `None` if the run is no
    /// longer active; the future resolves once it is committed.
    pub(crate) fn save_interrupt(
        &self,
        run_id: &str,
        interrupt: &Interrupt,
        checkpoint: serde_json::Value,
    ) -> Option<Option<impl std::future::Future<Output = Result<bool, StoreError>>>> {
        let mut state = self.lock();
        active(&mut state, run_id)?;
        self.close_text(&mut state);
        let store = self.shared.store.as_ref();
        Some(store.map(|store| {
            store.queue(Write::InterruptRaised {
                thread_id: self.id.to_string(),
                interrupt: interrupt.clone(),
                checkpoint,
                after_message: state.messages.len() as i64,
                at: millis(SystemTime::now()),
            })
        }))
    }

    /// Makes `interrupt` the pending one; `None` if the run is no longer active.
    pub(crate) fn raise_interrupt(
        &self,
        run_id: &str,
        interrupt: Interrupt,
    ) -> Option<oneshot::Receiver<Resolution>> {
        let mut state = self.lock();
        self.close_text(&mut state);
        let (reply, receiver) = oneshot::channel();
        let run = active(&mut state, run_id)?;
        run.pending = Some(Pending {
            interrupt: interrupt.clone(),
            reply,
            claimed: false,
        });
        self.publish(&mut state, &ServerMessage::Interrupt(interrupt));
        Some(receiver)
    }

    /// Applies a person's decision to the pending interrupt. The first valid
    /// decision wins; an invalid one leaves the interrupt pending.
    pub fn decide(
        self: &Arc<Self>,
        interrupt_id: Option<String>,
        decision_id: Option<String>,
        decisions: Vec<Decision>,
        origin: Origin,
    ) -> Result<DecisionOutcome, ErrorBody> {
        let mut state = self.lock();
        if let Some(repeat) = decision_id.as_deref().and_then(|id| {
            state.resolved.iter().find(|r| {
                r.record.decision_id.as_deref() == Some(id)
                    && interrupt_id
                        .as_ref()
                        .is_none_or(|i| *i == r.record.interrupt.interrupt_id)
            })
        }) {
            return Ok(DecisionOutcome::Repeated(repeat.frame.clone()));
        }
        let pending = state
            .run
            .as_ref()
            .and_then(|r| r.pending.as_ref())
            .filter(|p| !p.claimed);
        let pending = match (pending, &interrupt_id) {
            (Some(p), Some(id)) if p.interrupt.interrupt_id != *id => None,
            (pending, _) => pending,
        };
        let Some(pending) = pending else {
            return Err(match interrupt_id {
                Some(id) => ErrorBody::new(
                    ErrorCode::StaleInterrupt,
                    format!("interrupt {id} is already resolved or unknown"),
                ),
                None => ErrorBody::new(
                    ErrorCode::NoPendingInterrupt,
                    "no interrupt is waiting for a decision",
                ),
            });
        };
        validate(&pending.interrupt, &decisions, self.shared.agent.as_ref())?;

        let Some(store) = self.shared.store.clone() else {
            self.apply_decision(&mut state, decision_id, decisions);
            return Ok(DecisionOutcome::Applied);
        };
        // Saved first, applied after: nobody hears of a decision that a
        // crash could still lose, and of two servers deciding at once the
        // database's conditional update picks one.
        let remote = state.run.as_ref().is_some_and(|r| r.remote);
        let interrupt = pending.interrupt.clone();
        let write = Write::Resolved {
            thread_id: self.id.to_string(),
            run_id: interrupt.run_id.clone(),
            interrupt_id: interrupt.interrupt_id.clone(),
            decision_id: decision_id.clone(),
            decisions: decisions.clone(),
            by: ResolvedBy::User,
            origin: Some(origin),
            server: store.server_id().to_owned(),
            resumes: !remote,
            at: millis(SystemTime::now()),
        };
        let saving = self.save_claimed(state, store, write, move |thread, state, saved, claimed| {
            match saved {
                Ok(true) if claimed => {
                    thread.apply_decision(state, decision_id, decisions);
                    Ok(())
                }
                // Cancelled meanwhile: nothing left to apply.
                Ok(true) => Ok(()),
                Ok(false) => Err(ErrorBody::new(
                    ErrorCode::StaleInterrupt,
                    format!(
                        "interrupt {} was resolved by another decision first",
                        interrupt.interrupt_id
                    ),
                )),
                Err(e) => {
                    tracing::error!(error = %e, "decision not saved");
                    Err(ErrorBody::new(
                        ErrorCode::StorageFailed,
                        format!("the decision could not be saved, so it was not applied; try again ({e})"),
                    ))
                }
            }
        });
        Ok(DecisionOutcome::Saving(saving))
    }

    /// Marks the pending interrupt as taken while `write` is committed.
    /// Claims the pending interrupt and commits `write` ahead of the write
    /// queue (a person waits on it, and the interrupt it resolves was stored
    /// before anyone heard of it). Then, in a task of its own, so it is
    /// settled even if the caller goes away, releases the claim and hands
    /// `settle` the outcome and whether the interrupt was still pending.
    fn save_claimed<T: Send + 'static>(
        self: &Arc<Self>,
        mut state: MutexGuard<'_, State>,
        store: Arc<crate::store::Store>,
        write: Write,
        settle: impl FnOnce(&Self, &mut State, Result<bool, StoreError>, bool) -> T + Send + 'static,
    ) -> oneshot::Receiver<T> {
        let pending = state.run.as_mut().and_then(|r| r.pending.as_mut());
        let pending = pending.expect("a pending interrupt to claim");
        pending.claimed = true;
        let interrupt_id = pending.interrupt.interrupt_id.clone();
        drop(state);
        let (done, settled) = oneshot::channel();
        let thread = self.clone();
        tokio::spawn(async move {
            let saved = store.commit_now(write).await;
            let mut state = thread.lock();
            let claimed = thread.release(&mut state, &interrupt_id);
            let _ = done.send(settle(&thread, &mut state, saved, claimed));
        });
        settled
    }

    /// Ends a claim on `interrupt_id`; whether it was still pending.
    fn release(&self, state: &mut State, interrupt_id: &str) -> bool {
        match state.run.as_mut().and_then(|r| r.pending.as_mut()) {
            Some(pending) if pending.interrupt.interrupt_id == interrupt_id => {
                pending.claimed = false;
                true
            }
            _ => false,
        }
    }

    /// Hands the decisions to the waiting run and tells every connection.
    fn apply_decision(
        &self,
        state: &mut State,
        decision_id: Option<String>,
        decisions: Vec<Decision>,
    ) {
        self.resolve(state, decision_id, decisions, ResolvedBy::User);
    }

    /// Takes the pending interrupt, hands its resolution to the run (if it
    /// lives here) and tells every connection.
    fn resolve(
        &self,
        state: &mut State,
        decision_id: Option<String>,
        decisions: Vec<Decision>,
        by: ResolvedBy,
    ) {
        let pending = take_pending(state).expect("a pending interrupt");
        let resolution = match by {
            ResolvedBy::Timeout => Resolution::Expired,
            ResolvedBy::User => Resolution::Decided(decisions.clone()),
        };
        // A remote run has no receiver: its owner is told by the database.
        let _ = pending.reply.send(resolution);
        self.record_resolution(state, pending.interrupt, decision_id, decisions, by);
    }

    /// Resolves the interrupt as expired, unless a decision got there first.
    /// `true` if it is resolved now; with storage it is resolved once saved
    /// (the run hears `Expired` then), so this returns `false`.
    pub(crate) fn expire(self: &Arc<Self>, interrupt_id: &str) -> bool {
        let mut state = self.lock();
        let Some(pending) = state
            .run
            .as_ref()
            .and_then(|r| r.pending.as_ref())
            .filter(|p| p.interrupt.interrupt_id == interrupt_id && !p.claimed)
        else {
            return false;
        };
        let Some(store) = self.shared.store.clone() else {
            self.reject_pending(
                &mut state,
                "The request expired unanswered.",
                ResolvedBy::Timeout,
            );
            return true;
        };
        let interrupt = pending.interrupt.clone();
        let decisions = expired_decisions(&interrupt);
        let write = Write::Resolved {
            thread_id: self.id.to_string(),
            run_id: interrupt.run_id.clone(),
            interrupt_id: interrupt.interrupt_id.clone(),
            decision_id: None,
            decisions: decisions.clone(),
            by: ResolvedBy::Timeout,
            origin: None,
            server: store.server_id().to_owned(),
            resumes: true,
            at: millis(SystemTime::now()),
        };
        let interrupt_id = interrupt.interrupt_id;
        drop(
            self.save_claimed(state, store, write, move |thread, state, saved, claimed| {
                match saved {
                    Ok(true) if claimed => {
                        tracing::info!(%interrupt_id, "interrupt timed out; resolved as expired");
                        thread.resolve(state, None, decisions, ResolvedBy::Timeout);
                    }
                    // A decision elsewhere won; its notice brings it here.
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "expiry not saved; retrying"),
                }
            }),
        );
        false
    }

    /// Resolves the pending interrupt, if any, with a rejection per action.
    /// A claimed interrupt is left to the decision being saved.
    fn reject_pending(&self, state: &mut State, reason: &str, by: ResolvedBy) {
        let unclaimed = state
            .run
            .as_ref()
            .and_then(|r| r.pending.as_ref())
            .is_some_and(|p| !p.claimed);
        if !unclaimed {
            return;
        }
        let pending = take_pending(state).expect("checked above");
        let reject = Decision::Reject {
            message: Some(reason.to_owned()),
        };
        let decisions = vec![reject; pending.interrupt.action_requests.len()];
        self.persist(|| Write::Resolved {
            thread_id: self.id.to_string(),
            run_id: pending.interrupt.run_id.clone(),
            interrupt_id: pending.interrupt.interrupt_id.clone(),
            decision_id: None,
            decisions: decisions.clone(),
            by,
            origin: None,
            server: self.server_id(),
            resumes: true,
            at: millis(SystemTime::now()),
        });
        self.record_resolution(state, pending.interrupt, None, decisions, by);
    }

    /// Stops the active run (rule 6). A pending interrupt resolves as a
    /// rejection by the user.
    pub fn cancel(&self) -> Result<(), ErrorBody> {
        let mut state = self.lock();
        let Some(run) = state.run.as_ref() else {
            return Err(ErrorBody::new(
                ErrorCode::NoActiveRun,
                "nothing is running on this thread",
            ));
        };
        if run.remote {
            // Its owner cancels it, told through the database.
            self.persist(|| Write::CancelRequest {
                thread_id: self.id.to_string(),
            });
            tracing::info!(thread_id = %self.id, "cancel sent to the run's server");
            return Ok(());
        }
        let cancel = run.cancel.clone();
        self.reject_pending(&mut state, "Cancelled by the user.", ResolvedBy::User);
        cancel.cancel();
        tracing::info!(thread_id = %self.id, "run cancel requested");
        Ok(())
    }

    fn record_resolution(
        &self,
        state: &mut State,
        interrupt: Interrupt,
        decision_id: Option<String>,
        decisions: Vec<Decision>,
        by: ResolvedBy,
    ) {
        let record = ResolvedInterrupt {
            after_message: state.messages.len(),
            interrupt,
            decision_id,
            decisions,
            by,
        };
        let frame = resolved_frame(&record);
        state.updated_at = SystemTime::now();
        self.announce(state, frame.clone());
        state.resolved.push(Resolved { record, frame });
    }

    pub(crate) fn tool_result(&self, run_id: &str, name: &str, status: ToolStatus, output: &str) {
        let mut state = self.lock();
        if active(&mut state, run_id).is_none() {
            return;
        }
        self.close_text(&mut state);
        state.messages.push(ChatMessage {
            role: Role::Tool,
            content: output.to_owned(),
        });
        self.persist(|| Write::Message {
            thread_id: self.id.to_string(),
            seq: state.messages.len() as i64 - 1,
            role: Role::Tool,
            content: output.to_owned(),
        });
        let result = ServerMessage::ToolResult(ToolResult {
            run_id: run_id.to_owned(),
            name: name.to_owned(),
            status,
            output: output.to_owned(),
        });
        self.publish(&mut state, &result);
    }

    pub(crate) fn history(&self) -> Vec<ChatMessage> {
        self.lock().messages.clone()
    }

    /// Ends the run and returns the thread to idle.
    pub(crate) fn finish_run(&self, run_id: &str, status: RunStatus, error: Option<String>) {
        let mut state = self.lock();
        if state.run.as_ref().is_none_or(|r| &*r.id != run_id) {
            return;
        }
        self.close_text(&mut state);
        // Only reachable if an agent ended without awaiting its interrupt.
        self.reject_pending(&mut state, "The run ended.", ResolvedBy::User);
        state.run = None;
        self.persist(|| Write::RunFinished {
            thread_id: self.id.to_string(),
            run_id: run_id.to_owned(),
            status,
            error: error.clone(),
            at: millis(SystemTime::now()),
        });
        let finished = ServerMessage::RunFinished(RunFinished {
            run_id: run_id.to_owned(),
            status,
            error,
        });
        self.publish(&mut state, &finished);
    }
}

/// Queues an event for every connection watching (none is fine).
fn deliver(state: &State, frame: Frame) {
    for outbox in &state.watchers {
        outbox.event(frame.clone());
    }
}

/// Appends to the assistant message being streamed, starting one if none is.
fn append_text(state: &mut State, chunk: &str) {
    if !state.streaming_text {
        state.messages.push(ChatMessage {
            role: Role::Assistant,
            content: String::new(),
        });
        state.streaming_text = true;
    }
    if let Some(last) = state.messages.last_mut() {
        last.content.push_str(chunk);
    }
}

/// Adds a user message; the first one also names the thread (`true`).
fn add_user_message(state: &mut State, content: String) -> bool {
    let titled = state.title.is_empty();
    if titled {
        state.title = content.trim().chars().take(TITLE_CHARS).collect();
    }
    state.messages.push(ChatMessage {
        role: Role::User,
        content,
    });
    titled
}

/// What an expired interrupt records: a rejection per action request.
fn expired_decisions(interrupt: &Interrupt) -> Vec<Decision> {
    let reject = Decision::Reject {
        message: Some("The request expired unanswered.".to_owned()),
    };
    vec![reject; interrupt.action_requests.len()]
}

/// The `interrupt_resolved` event of a resolution.
fn resolved_frame(record: &ResolvedInterrupt) -> Frame {
    let message = ServerMessage::InterruptResolved(InterruptResolved {
        interrupt_id: record.interrupt.interrupt_id.clone(),
        decision_id: record.decision_id.clone(),
        decisions: record.decisions.clone(),
        by: record.by,
    });
    Frame::from(message.to_json())
}

/// Rule 3: one run at a time per thread.
fn refuse_if_running(state: &State) -> Result<(), ErrorBody> {
    match state.run {
        Some(_) => Err(ErrorBody::new(
            ErrorCode::AlreadyStreaming,
            "Already streaming a response",
        )),
        None => Ok(()),
    }
}

fn status(state: &State) -> ThreadStatus {
    match &state.run {
        None => ThreadStatus::Idle,
        Some(run) if run.pending.is_some() => ThreadStatus::Interrupted,
        Some(_) => ThreadStatus::Running,
    }
}

/// The run named `run_id` if it is still the thread's live run.
fn active<'a>(state: &'a mut State, run_id: &str) -> Option<&'a mut ActiveRun> {
    state
        .run
        .as_mut()
        .filter(|r| &*r.id == run_id && !r.cancel.is_cancelled())
}

fn take_pending(state: &mut State) -> Option<Pending> {
    state.run.as_mut()?.pending.take()
}
