//! What a thread page shows, rebuilt from server events. Pure data, so it is
//! tested natively; the page keeps one in a signal and applies each event.

use protocol::{
    ChatMessage, ErrorBody, ErrorCode, Interrupt, InterruptResolved, MessageDelta,
    ResolvedInterrupt, Role, RunFinished, RunStarted, RunStatus, ServerMessage, ThreadSnapshot,
    ThreadStatus, ToolResult,
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

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Conversation {
    /// False until the first snapshot arrives.
    pub loaded: bool,
    pub status: Option<ThreadStatus>,
    pub entries: Vec<Entry>,
    pub run_id: Option<String>,
    pub pending: Option<Interrupt>,
    /// A decision sent and not yet answered; it is sent again after a
    /// reconnect if the interrupt is still pending.
    pub in_flight: Option<InFlight>,
    /// The latest error for the approval card.
    pub decision_error: Option<ErrorBody>,
    /// The latest error for the message box.
    pub error: Option<ErrorBody>,
    streaming: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct InFlight {
    pub interrupt_id: String,
    pub decision_id: String,
    pub decisions: Vec<protocol::Decision>,
}

impl Conversation {
    pub fn is_busy(&self) -> bool {
        matches!(
            self.status,
            Some(ThreadStatus::Running | ThreadStatus::Interrupted)
        )
    }

    pub fn apply(&mut self, message: ServerMessage) {
        match message {
            ServerMessage::Snapshot(snapshot) => self.reset(snapshot),
            ServerMessage::RunStarted(RunStarted {
                run_id,
                user_message,
            }) => {
                if let Some(content) = user_message {
                    self.entries.push(Entry::Message(ChatMessage {
                        role: Role::User,
                        content,
                    }));
                }
                self.status = Some(ThreadStatus::Running);
                self.run_id = Some(run_id);
                self.streaming = false;
                self.error = None;
            }
            ServerMessage::MessageDelta(MessageDelta { content, .. }) => {
                match self.entries.last_mut() {
                    Some(Entry::Message(m)) if self.streaming && m.role == Role::Assistant => {
                        m.content.push_str(&content)
                    }
                    _ => self.entries.push(Entry::Message(ChatMessage {
                        role: Role::Assistant,
                        content,
                    })),
                }
                self.streaming = true;
            }
            ServerMessage::Interrupt(interrupt) => {
                self.streaming = false;
                self.status = Some(ThreadStatus::Interrupted);
                self.decision_error = None;
                self.pending = Some(interrupt);
            }
            ServerMessage::InterruptResolved(InterruptResolved {
                interrupt_id,
                decision_id,
                decisions,
                by,
            }) => {
                if self
                    .in_flight
                    .as_ref()
                    .is_some_and(|f| f.interrupt_id == interrupt_id)
                {
                    self.in_flight = None;
                }
                let already = self.entries.iter().any(
                    |e| matches!(e, Entry::Outcome(o) if o.interrupt.interrupt_id == interrupt_id),
                );
                let Some(interrupt) = self.pending.take_if(|p| p.interrupt_id == interrupt_id)
                else {
                    return;
                };
                if !already {
                    let after_message = self.message_count();
                    self.entries.push(Entry::Outcome(ResolvedInterrupt {
                        interrupt,
                        decision_id,
                        decisions,
                        by,
                        after_message,
                    }));
                }
                self.decision_error = None;
                self.status = Some(ThreadStatus::Running);
            }
            ServerMessage::ToolResult(ToolResult { output, .. }) => {
                self.streaming = false;
                self.entries.push(Entry::Message(ChatMessage {
                    role: Role::Tool,
                    content: output,
                }));
            }
            ServerMessage::RunFinished(RunFinished { status, error, .. }) => {
                self.streaming = false;
                self.status = Some(ThreadStatus::Idle);
                self.run_id = None;
                self.pending = None;
                self.in_flight = None;
                if status != RunStatus::Completed {
                    self.entries.push(Entry::RunEnded { status, error });
                }
            }
            ServerMessage::Error(body) => {
                match body.code {
                    // About the decision just sent: shown on the card,
                    // which can be used again (a storage failure changed
                    // nothing, so the same decision may be retried).
                    ErrorCode::InvalidDecision
                    | ErrorCode::StaleInterrupt
                    | ErrorCode::NoPendingInterrupt
                    | ErrorCode::StorageFailed => {
                        self.in_flight = None;
                        self.decision_error = Some(body);
                    }
                    _ => self.error = Some(body),
                }
            }
        }
    }

    fn message_count(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| matches!(e, Entry::Message(_)))
            .count()
    }

    fn reset(&mut self, snapshot: ThreadSnapshot) {
        let mut entries = Vec::new();
        let mut outcomes = snapshot.resolved_interrupts.into_iter().peekable();
        for (i, message) in snapshot.messages.into_iter().enumerate() {
            while let Some(o) = outcomes.next_if(|o| o.after_message <= i) {
                entries.push(Entry::Outcome(o));
            }
            entries.push(Entry::Message(message));
        }
        entries.extend(outcomes.map(Entry::Outcome));
        // A decision in flight when the connection dropped stays in flight
        // only if its interrupt is still the pending one.
        let in_flight = self.in_flight.take().filter(|f| {
            snapshot
                .pending_interrupt
                .as_ref()
                .is_some_and(|p| p.interrupt_id == f.interrupt_id)
        });
        *self = Self {
            loaded: true,
            status: Some(snapshot.status),
            streaming: snapshot.status == ThreadStatus::Running
                && matches!(entries.last(), Some(Entry::Message(m)) if m.role == Role::Assistant),
            entries,
            run_id: snapshot.run_id,
            pending: snapshot.pending_interrupt,
            in_flight,
            decision_error: None,
            error: None,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{Decision, ResolvedBy};

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

    #[test]
    fn a_run_streams_pauses_for_approval_and_finishes() {
        let mut c = Conversation::default();
        c.apply(ServerMessage::Snapshot(snapshot()));
        assert!(c.loaded && !c.is_busy());
        c.apply(ServerMessage::RunStarted(RunStarted {
            run_id: "r".into(),
            user_message: Some("plan for X".into()),
        }));
        c.apply(delta("Hel"));
        c.apply(delta("lo"));
        assert!(c.is_busy());
        c.apply(ServerMessage::Interrupt(interrupt("i")));
        assert_eq!(c.status, Some(ThreadStatus::Interrupted));
        c.apply(ServerMessage::InterruptResolved(InterruptResolved {
            interrupt_id: "i".into(),
            decision_id: None,
            decisions: vec![Decision::Approve],
            by: ResolvedBy::User,
        }));
        assert!(c.pending.is_none());
        c.apply(delta("Done"));
        c.apply(ServerMessage::RunFinished(RunFinished {
            run_id: "r".into(),
            status: RunStatus::Completed,
            error: None,
        }));
        let kinds: Vec<_> = c
            .entries
            .iter()
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
        }];
        s.pending_interrupt = Some(interrupt("i2"));
        c.apply(ServerMessage::Snapshot(s.clone()));
        assert!(matches!(c.entries[2], Entry::Outcome(_)));
        assert_eq!(c.entries.len(), 4);
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
            c.entries.last(),
            Some(&Entry::RunEnded {
                status: RunStatus::Failed,
                error: Some("boom".into())
            })
        );
    }
}
