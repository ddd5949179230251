//! What a thread page shows, rebuilt from server events. Pure data, so it is
//! tested natively; the page keeps one in a signal and applies each event.

use protocol::{
    ChatMessage, ErrorBody, ErrorCode, Interrupt, InterruptResolved, ResolvedInterrupt,
    RunFinished, RunStatus, ServerMessage, ThreadState, ThreadStatus,
};

/// One item of the conversation, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    Message(ChatMessage),
    /// An answered interrupt, where it happened.
    Outcome(ResolvedInterrupt),
    /// How a run ended, when it did not simply complete.
    RunEnded {
        status: RunStatus,
        error: Option<String>,
    },
}

/// The thread as the server's events describe it (the reducer the server
/// uses too), and what only this page knows: the decision it sent, the
/// errors to show, and runs that ended badly since it connected.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Conversation {
    /// False until the first snapshot arrives.
    pub loaded: bool,
    pub thread: ThreadState,
    /// A decision sent and not yet answered; it is sent again after a
    /// reconnect if the interrupt is still pending.
    pub in_flight: Option<InFlight>,
    /// The latest error for the approval card.
    pub decision_error: Option<ErrorBody>,
    /// The latest error for the message box.
    pub error: Option<ErrorBody>,
    /// The pending interrupt was answered, not by this tab: what happened,
    /// so a half-made choice does not vanish without a word.
    pub decided_elsewhere: Option<String>,
    /// Runs that did not complete, since the last snapshot (which does not
    /// list them).
    endings: Vec<Ending>,
    /// The order of the entries, rebuilt after each event: positions only,
    /// so a page reads one entry without copying the others.
    layout: Vec<Slot>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct InFlight {
    pub interrupt_id: String,
    pub decision_id: String,
    pub decisions: Vec<protocol::Decision>,
}

#[derive(Clone, Debug, PartialEq)]
struct Ending {
    /// How many messages and outcomes came before it.
    messages: usize,
    outcomes: usize,
    status: RunStatus,
    error: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Slot {
    Message(usize),
    Outcome(usize),
    Ending(usize),
}

impl Conversation {
    pub fn status(&self) -> Option<ThreadStatus> {
        self.loaded.then(|| self.thread.status())
    }

    pub fn pending(&self) -> Option<&Interrupt> {
        self.thread.pending_interrupt.as_ref()
    }

    pub fn is_busy(&self) -> bool {
        matches!(
            self.status(),
            Some(ThreadStatus::Running | ThreadStatus::Interrupted)
        )
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.layout.len()
    }

    pub fn is_empty(&self) -> bool {
        self.layout.is_empty()
    }

    pub fn entry(&self, index: usize) -> Option<Entry> {
        let thread = &self.thread;
        Some(match *self.layout.get(index)? {
            Slot::Message(i) => Entry::Message(thread.messages[i].clone()),
            Slot::Outcome(i) => Entry::Outcome(thread.resolved_interrupts[i].clone()),
            Slot::Ending(i) => Entry::RunEnded {
                status: self.endings[i].status,
                error: self.endings[i].error.clone(),
            },
        })
    }

    pub fn entries(&self) -> impl Iterator<Item = Entry> + '_ {
        (0..self.len()).filter_map(|i| self.entry(i))
    }

    pub fn apply(&mut self, message: ServerMessage) {
        match &message {
            ServerMessage::Snapshot(snapshot) => {
                // A decision in flight when the connection dropped stays in
                // flight only if its interrupt is still the pending one.
                let pending = snapshot.pending_interrupt.as_ref();
                let in_flight = self
                    .in_flight
                    .take()
                    .filter(|f| pending.is_some_and(|p| p.interrupt_id == f.interrupt_id));
                *self = Self {
                    loaded: true,
                    in_flight,
                    ..Self::default()
                };
            }
            ServerMessage::RunStarted(_) => {
                self.error = None;
                self.decided_elsewhere = None;
            }
            ServerMessage::Interrupt(_) => {
                self.decision_error = None;
                self.decided_elsewhere = None;
            }
            ServerMessage::InterruptResolved(resolved) => {
                let id = &resolved.interrupt_id;
                let ours = self
                    .in_flight
                    .as_ref()
                    .is_some_and(|f| f.interrupt_id == *id);
                if ours {
                    self.in_flight = None;
                }
                if self.pending().is_some_and(|p| p.interrupt_id == *id) {
                    self.decision_error = None;
                    if !ours {
                        self.decided_elsewhere = Some(elsewhere(resolved));
                    }
                }
            }
            ServerMessage::RunFinished(RunFinished { status, error, .. }) => {
                self.in_flight = None;
                if *status != RunStatus::Completed {
                    self.endings.push(Ending {
                        messages: self.thread.messages.len(),
                        outcomes: self.thread.resolved_interrupts.len(),
                        status: *status,
                        error: error.clone(),
                    });
                }
            }
            ServerMessage::Error(body) => match body.code {
                // About the decision just sent: shown on the card, which
                // can be used again (a storage failure changed nothing, so
                // the same decision may be retried).
                ErrorCode::InvalidDecision
                | ErrorCode::StaleInterrupt
                | ErrorCode::NoPendingInterrupt
                | ErrorCode::StorageFailed => {
                    self.in_flight = None;
                    self.decision_error = Some(body.clone());
                }
                _ => self.error = Some(body.clone()),
            },
            ServerMessage::MessageDelta(_) | ServerMessage::ToolResult(_) => {}
        }
        if self.thread.apply(&message) {
            self.lay_out();
        }
    }

    /// Messages in order, each outcome after the messages that preceded
    /// its interrupt, each ending after what came before it.
    fn lay_out(&mut self) {
        let (messages, outcomes) = (self.thread.messages.len(), &self.thread.resolved_interrupts);
        let mut layout = Vec::with_capacity(messages + outcomes.len() + self.endings.len());
        let (mut o, mut e) = (0, 0);
        for i in 0..=messages {
            loop {
                let ends_here = |x: &Ending| x.messages <= i && x.outcomes <= o;
                if self.endings.get(e).is_some_and(ends_here) {
                    layout.push(Slot::Ending(e));
                    e += 1;
                } else if outcomes.get(o).is_some_and(|x| x.after_message <= i) {
                    layout.push(Slot::Outcome(o));
                    o += 1;
                } else {
                    break;
                }
            }
            if i < messages {
                layout.push(Slot::Message(i));
            }
        }
        self.layout = layout;
    }
}

/// What the notice says when another tab, another person, a stop or the
/// clock answered the request this page showed.
fn elsewhere(resolved: &InterruptResolved) -> String {
    use protocol::{Decision, ResolvedBy};
    if resolved.by == ResolvedBy::Timeout {
        return "The request expired: nobody decided in time.".into();
    }
    let what = match resolved.decisions.first() {
        Some(stop) if stop.is_stop() => {
            return "The run was stopped, so the request was withdrawn.".into();
        }
        Some(Decision::Approve) => "Approved",
        Some(Decision::Edit { .. }) => "Edited and approved",
        Some(Decision::Respond { .. }) => "Answered",
        Some(Decision::Reject { .. }) | None => "Rejected",
    };
    match &resolved.decided_by {
        Some(person) => format!(
            "{what} elsewhere by {} (another tab or person).",
            person.name
        ),
        None => format!("{what} in another tab."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{Decision, MessageDelta, ResolvedBy, Role, RunStarted, ThreadSnapshot};

    fn interrupt(id: &str) -> Interrupt {
        Interrupt {
            interrupt_id: id.into(),
            run_id: "r".into(),
            action_requests: vec![],
            review_configs: vec![],
            expires_at: "2026-02-16T12:05:00Z".into(),
        }
    }

    fn snapshot() -> ThreadSnapshot {
        ThreadSnapshot {
            thread_id: "t".into(),
            status: ThreadStatus::Idle,
            messages: vec![],
            pending_interrupt: None,
            run_id: None,
            resolved_interrupts: vec![],
        }
    }

    fn delta(s: &str) -> ServerMessage {
        ServerMessage::MessageDelta(MessageDelta {
            run_id: "r".into(),
            content: s.into(),
        })
    }

    fn resolved(id: &str, decision: Decision) -> ServerMessage {
        ServerMessage::InterruptResolved(InterruptResolved {
            interrupt_id: id.into(),
            decision_id: None,
            decisions: vec![decision],
            by: ResolvedBy::User,
            decided_by: None,
        })
    }

    #[test]
    fn a_request_answered_elsewhere_says_so_and_ours_does_not() {
        let mut c = Conversation::default();
        c.apply(ServerMessage::Snapshot(snapshot()));
        c.apply(ServerMessage::Interrupt(interrupt("i")));
        c.in_flight = Some(InFlight {
            interrupt_id: "i".into(),
            decision_id: "d".into(),
            decisions: vec![Decision::Approve],
        });
        c.apply(resolved("i", Decision::Approve));
        assert_eq!(c.decided_elsewhere, None, "this tab's own decision");

        c.apply(ServerMessage::Interrupt(interrupt("j")));
        c.apply(resolved("j", Decision::Reject { message: None }));
        assert_eq!(
            c.decided_elsewhere.as_deref(),
            Some("Rejected in another tab.")
        );

        c.apply(ServerMessage::Interrupt(interrupt("k")));
        assert_eq!(c.decided_elsewhere, None, "a new request clears it");
        let stop = Decision::Reject {
            message: Some(protocol::STOPPED_MESSAGE.into()),
        };
        c.apply(resolved("k", stop));
        assert_eq!(
            c.decided_elsewhere.as_deref(),
            Some("The run was stopped, so the request was withdrawn.")
        );
    }

    #[test]
    fn a_run_streams_pauses_for_approval_and_finishes() {
        let mut c = Conversation::default();
        c.apply(ServerMessage::Snapshot(snapshot()));
        assert!(c.loaded && !c.is_busy());
        c.apply(ServerMessage::RunStarted(RunStarted {
            run_id: "r".into(),
            user_message: Some("plan for X".into()),
            started_by: None,
        }));
        c.apply(delta("Hel"));
        c.apply(delta("lo"));
        assert!(c.is_busy());
        c.apply(ServerMessage::Interrupt(interrupt("i")));
        assert_eq!(c.status(), Some(ThreadStatus::Interrupted));
        c.apply(ServerMessage::InterruptResolved(InterruptResolved {
            interrupt_id: "i".into(),
            decision_id: None,
            decisions: vec![Decision::Approve],
            by: ResolvedBy::User,
            decided_by: None,
        }));
        assert!(c.pending().is_none());
        c.apply(delta("Done"));
        c.apply(ServerMessage::RunFinished(RunFinished {
            run_id: "r".into(),
            status: RunStatus::Completed,
            error: None,
        }));
        let kinds: Vec<_> = c
            .entries()
            .map(|e| match e {
                Entry::Message(m) => format!("{:?}:{}", m.role, m.content),
                Entry::Outcome(o) => format!("outcome:{}", o.interrupt.interrupt_id),
                Entry::RunEnded { .. } => "ended".into(),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "User:plan for X",
                "Assistant:Hello",
                "outcome:i",
                "Assistant:Done"
            ]
        );
        assert!(!c.is_busy());
    }

    #[test]
    fn a_snapshot_interleaves_outcomes_and_keeps_a_live_decision_in_flight() {
        let mut c = Conversation {
            in_flight: Some(InFlight {
                interrupt_id: "i2".into(),
                decision_id: "d".into(),
                decisions: vec![Decision::Approve],
            }),
            ..Conversation::default()
        };
        let mut s = snapshot();
        s.status = ThreadStatus::Interrupted;
        s.messages = ["a", "b", "c"]
            .map(|t| ChatMessage {
                role: Role::User,
                content: t.into(),
            })
            .to_vec();
        s.resolved_interrupts = vec![ResolvedInterrupt {
            interrupt: interrupt("i1"),
            decision_id: None,
            decisions: vec![],
            by: ResolvedBy::Timeout,
            after_message: 2,
            decided_by: None,
        }];
        s.pending_interrupt = Some(interrupt("i2"));
        c.apply(ServerMessage::Snapshot(s.clone()));
        assert!(matches!(c.entry(2), Some(Entry::Outcome(_))));
        assert_eq!(c.len(), 4);
        assert!(c.in_flight.is_some());

        // Decided elsewhere while we were away: nothing left in flight.
        s.pending_interrupt = None;
        c.apply(ServerMessage::Snapshot(s));
        assert!(c.in_flight.is_none());
    }

    #[test]
    fn errors_go_where_they_belong_and_failures_show() {
        let mut c = Conversation::default();
        c.apply(ServerMessage::error(ErrorCode::InvalidDecision, "bad"));
        c.apply(ServerMessage::error(ErrorCode::AlreadyStreaming, "busy"));
        assert_eq!(c.decision_error.as_ref().unwrap().error, "bad");
        assert_eq!(c.error.as_ref().unwrap().code, ErrorCode::AlreadyStreaming);
        c.apply(ServerMessage::error(ErrorCode::StorageFailed, "not saved"));
        assert_eq!(c.decision_error.as_ref().unwrap().error, "not saved");
        assert!(c.in_flight.is_none());
        c.apply(ServerMessage::RunFinished(RunFinished {
            run_id: "r".into(),
            status: RunStatus::Failed,
            error: Some("boom".into()),
        }));
        assert_eq!(
            c.entries().last().as_ref(),
            Some(&Entry::RunEnded {
                status: RunStatus::Failed,
                error: Some("boom".into())
            })
        );
    }

    #[test]
    fn an_ending_stays_where_the_run_stopped() {
        let mut c = Conversation::default();
        c.apply(ServerMessage::Snapshot(snapshot()));
        let started = |m: &str| {
            ServerMessage::RunStarted(RunStarted {
                run_id: "r".into(),
                user_message: Some(m.into()),
                started_by: None,
            })
        };
        c.apply(started("first"));
        c.apply(delta("par"));
        c.apply(ServerMessage::RunFinished(RunFinished {
            run_id: "r".into(),
            status: RunStatus::Cancelled,
            error: None,
        }));
        c.apply(started("second"));
        c.apply(delta("whole"));
        let kinds: Vec<_> = c
            .entries()
            .map(|e| match e {
                Entry::Message(m) => m.content,
                Entry::RunEnded { status, .. } => format!("{status:?}"),
                Entry::Outcome(_) => "outcome".into(),
            })
            .collect();
        assert_eq!(kinds, ["first", "par", "Cancelled", "second", "whole"]);
    }
}
