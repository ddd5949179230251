//! The interrupt state machine: raise (saved, then announced), decide,
//! expire, claim while a resolution is saved, release, resolve.
//!
//! Whoever takes the pending interrupt first resolves it. With storage a
//! decision or an expiry first *claims* it, commits, and only then applies;
//! a competitor that finds it claimed backs off (a late decision gets
//! `stale_interrupt`, a timer that lost polls until the claim settles).

use std::sync::{Arc, MutexGuard};

use protocol::{
    Args, Decision, Interrupt, InterruptResolved, Person, ResolvedBy, ResolvedInterrupt,
    ServerMessage,
};
use tokio::sync::oneshot;

use super::state::{State, Waiter};
use super::writes::Resolved;
use super::{Frame, Thread};
use crate::contract::Resolution;
use crate::receipts::args_digest;
use crate::runtime::decision::validate;
use crate::runtime::RuntimeError;
use crate::store::{Origin, Store, StoreError};

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
    Saving(oneshot::Receiver<Result<(), RuntimeError>>),
}

const EXPIRED: &str = "The request expired unanswered.";

impl Thread {
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
        state.active(run_id)?;
        self.close_text(&mut state);
        let after_message = state.view.messages.len();
        let store = self.shared.store.as_ref();
        Some(store.map(|store| {
            store.queue(self.interrupt_raised_write(interrupt, checkpoint, after_message))
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
        state.active(run_id)?.waiter = Some(Waiter {
            reply: Some(reply),
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
    ) -> Result<DecisionOutcome, RuntimeError> {
        let state = self.lock();
        if let Some(repeat) = decision_id
            .as_deref()
            .and_then(|id| find_repeat(&state, id, interrupt_id.as_deref()))
        {
            return Ok(DecisionOutcome::Repeated(resolved_frame(repeat)));
        }
        let pending = state
            .unclaimed()
            .filter(|p| interrupt_id.as_ref().is_none_or(|id| p.interrupt_id == *id));
        let Some(pending) = pending else {
            return Err(match interrupt_id {
                Some(id) => RuntimeError::StaleInterrupt(id),
                None => RuntimeError::NoPendingInterrupt,
            });
        };
        validate(pending, &decisions, self.shared.agent.as_ref())?;
        if self.shared.runs.separation_of_duties {
            let starter = state.run.as_ref().and_then(|r| r.started_by.as_deref());
            let decider = origin.decided_by.as_ref().map(|p| p.user_id.as_str());
            if starter.is_some() && starter == decider {
                return Err(RuntimeError::Forbidden(
                    "you started this run, so another approver must decide its requests \
                     (separation of duties)"
                        .into(),
                ));
            }
        }
        let resolution = Resolved {
            decision_id,
            decisions,
            by: ResolvedBy::User,
            decided_by: origin.decided_by.clone(),
        };

        let Some(store) = self.shared.store.clone() else {
            let mut state = state;
            self.resolve(&mut state, resolution);
            return Ok(DecisionOutcome::Applied);
        };
        // Saved first, applied after: nobody hears of a decision that a
        // crash could still lose, and of two servers deciding at once the
        // database's conditional update picks one.
        let remote = state.run.as_ref().is_some_and(|r| r.remote);
        let interrupt_id = pending.interrupt_id.clone();
        let write = self.resolved_write(pending, &resolution, Some(origin), !remote);
        let saving =
            self.save_claimed(state, store, write, move |thread, state, saved, claimed| {
                match saved {
                    Ok(true) if claimed => {
                        thread.resolve(state, resolution);
                        Ok(())
                    }
                    // Cancelled meanwhile: nothing left to apply.
                    Ok(true) => Ok(()),
                    Ok(false) => Err(RuntimeError::DecidedElsewhere(interrupt_id)),
                    Err(e) => Err(RuntimeError::DecisionNotSaved(e)),
                }
            });
        Ok(DecisionOutcome::Saving(saving))
    }

    /// Claims the pending interrupt and commits `write` ahead of the write
    /// queue (a person waits on it, and the interrupt it resolves was stored
    /// before anyone heard of it). Then, in a task of its own, so it is
    /// settled even if the caller goes away, releases the claim and hands
    /// `settle` the outcome and whether the interrupt was still pending.
    fn save_claimed<T: Send + 'static>(
        self: &Arc<Self>,
        mut state: MutexGuard<'_, State>,
        store: Arc<Store>,
        write: crate::store::Write,
        settle: impl FnOnce(&Self, &mut State, Result<bool, StoreError>, bool) -> T + Send + 'static,
    ) -> oneshot::Receiver<T> {
        let waiter = state.run.as_mut().and_then(|r| r.waiter.as_mut());
        waiter.expect("a pending interrupt to claim").claimed = true;
        let interrupt_id = state
            .view
            .pending_interrupt
            .as_ref()
            .map(|p| p.interrupt_id.clone())
            .unwrap_or_default();
        drop(state);
        let (done, settled) = oneshot::channel();
        let thread = self.clone();
        tokio::spawn(async move {
            let saved = store.commit_now(write).await;
            let mut state = thread.lock();
            let claimed = release(&mut state, &interrupt_id);
            let _ = done.send(settle(&thread, &mut state, saved, claimed));
        });
        settled
    }

    /// Takes the pending interrupt, hands its resolution to the run (if it
    /// lives here) and tells every connection.
    pub(super) fn resolve(&self, state: &mut State, resolution: Resolved) {
        let waiter = state.take_waiter().expect("a pending interrupt");
        let answer = match resolution.by {
            ResolvedBy::Timeout => Resolution::Expired,
            ResolvedBy::User => Resolution::Decided(resolution.decisions.clone()),
        };
        // A remote run has no ear here: its owner is told by the database.
        if let Some(reply) = waiter.reply {
            let _ = reply.send(answer);
        }
        self.announce_resolution(state, resolution);
    }

    /// Publishes the resolution of the pending interrupt.
    fn announce_resolution(&self, state: &mut State, resolution: Resolved) {
        let Some(pending) = state.view.pending_interrupt.as_ref() else {
            return;
        };
        let event = ServerMessage::InterruptResolved(InterruptResolved {
            interrupt_id: pending.interrupt_id.clone(),
            decision_id: resolution.decision_id,
            decisions: resolution.decisions,
            by: resolution.by,
            decided_by: resolution.decided_by,
        });
        self.publish(state, &event);
    }

    /// Resolves the interrupt as expired, unless a decision got there first.
    /// `true` if it is resolved now; with storage it is resolved once saved
    /// (the run hears `Expired` then), so this returns `false`.
    pub(crate) fn expire(self: &Arc<Self>, interrupt_id: &str) -> bool {
        let mut state = self.lock();
        let Some(pending) = state.unclaimed().filter(|p| p.interrupt_id == interrupt_id) else {
            return false;
        };
        let resolution = Resolved {
            decision_id: None,
            decisions: rejections(pending, EXPIRED),
            by: ResolvedBy::Timeout,
            decided_by: None,
        };
        let Some(store) = self.shared.store.clone() else {
            self.shared.metrics.expiries.inc();
            self.reject_pending(&mut state, EXPIRED, ResolvedBy::Timeout, None);
            return true;
        };
        let write = self.resolved_write(pending, &resolution, None, true);
        let interrupt_id = interrupt_id.to_owned();
        drop(
            self.save_claimed(state, store, write, move |thread, state, saved, claimed| {
                match saved {
                    Ok(true) if claimed => {
                        tracing::info!(%interrupt_id, "interrupt timed out; resolved as expired");
                        thread.shared.metrics.expiries.inc();
                        thread.resolve(state, resolution);
                    }
                    // A decision elsewhere won; its notice brings it here.
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "expiry not saved; retrying"),
                }
            }),
        );
        false
    }

    /// Resolves the pending interrupt, if any, with a rejection per action,
    /// without telling the run (which is ending, or has stopped waiting).
    /// A claimed interrupt is left to the decision being saved.
    pub(super) fn reject_pending(
        &self,
        state: &mut State,
        reason: &str,
        by: ResolvedBy,
        decided_by: Option<Person>,
    ) {
        let Some(pending) = state.unclaimed() else {
            return;
        };
        let resolution = Resolved {
            decision_id: None,
            decisions: rejections(pending, reason),
            by,
            decided_by,
        };
        self.persist(|| self.resolved_write(pending, &resolution, None, true));
        state.take_waiter();
        self.announce_resolution(state, resolution);
    }
}

impl Thread {
    /// Whether the thread's latest decision approved running `tool` with
    /// `args`: proposed and approved, or edited to exactly these.
    pub(crate) fn approved(&self, tool: &str, args: &Args) -> bool {
        let state = self.lock();
        let Some(last) = state.view.resolved_interrupts.last() else {
            return false;
        };
        let digest = args_digest(args);
        let requests = &last.interrupt.action_requests;
        requests
            .iter()
            .zip(&last.decisions)
            .any(|(request, decision)| match decision {
                Decision::Approve => request.name == tool && args_digest(&request.args) == digest,
                Decision::Edit { edited_action } => {
                    edited_action.name == tool && args_digest(&edited_action.args) == digest
                }
                Decision::Reject { .. } | Decision::Respond { .. } => false,
            })
    }
}

/// Ends a claim on `interrupt_id`; whether it was still pending.
fn release(state: &mut State, interrupt_id: &str) -> bool {
    let pending = state
        .view
        .pending_interrupt
        .as_ref()
        .is_some_and(|p| p.interrupt_id == interrupt_id);
    match state.run.as_mut().and_then(|r| r.waiter.as_mut()) {
        Some(waiter) if pending => {
            waiter.claimed = false;
            true
        }
        _ => false,
    }
}

/// A rejection with `reason` for each of the interrupt's action requests.
fn rejections(interrupt: &Interrupt, reason: &str) -> Vec<Decision> {
    let reject = Decision::Reject {
        message: Some(reason.to_owned()),
    };
    vec![reject; interrupt.action_requests.len()]
}

/// A resolution already applied with decision id `id` (and interrupt id, if given).
fn find_repeat<'a>(
    state: &'a State,
    id: &str,
    interrupt_id: Option<&str>,
) -> Option<&'a ResolvedInterrupt> {
    state.view.resolved_interrupts.iter().find(|r| {
        r.decision_id.as_deref() == Some(id)
            && interrupt_id.is_none_or(|i| i == r.interrupt.interrupt_id)
    })
}

/// The `interrupt_resolved` event of a resolution.
pub(super) fn resolved_frame(record: &ResolvedInterrupt) -> Frame {
    let message = ServerMessage::InterruptResolved(InterruptResolved {
        interrupt_id: record.interrupt.interrupt_id.clone(),
        decision_id: record.decision_id.clone(),
        decisions: record.decisions.clone(),
        by: record.by,
        decided_by: record.decided_by.clone(),
    });
    Frame::from(message.to_json())
}
