//! A thread as its events describe it, and the one function that applies
//! an event to it. The server's thread, a server following another server's
//! run, and the browser all keep a [`ThreadState`] and change it only
//! through [`ThreadState::apply`], so the three cannot drift apart: a
//! snapshot of any of them is what the events said.

use crate::interrupt::{Interrupt, ResolvedInterrupt};
use crate::server::{
    ChatMessage, InterruptResolved, MessageDelta, Role, RunStarted, ServerMessage, ThreadSnapshot,
    ThreadStatus, ToolResult,
};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ThreadState {
    pub messages: Vec<ChatMessage>,
    /// The active run.
    pub run_id: Option<String>,
    pub pending_interrupt: Option<Interrupt>,
    /// Answered interrupts, oldest first.
    pub resolved_interrupts: Vec<ResolvedInterrupt>,
    /// The last message is the active run's assistant text, still growing.
    pub streaming: bool,
}

impl ThreadState {
    /// The state a snapshot describes.
    pub fn from_snapshot(snapshot: ThreadSnapshot) -> Self {
        let streaming = snapshot.status == ThreadStatus::Running
            && snapshot
                .messages
                .last()
                .is_some_and(|m| m.role == Role::Assistant);
        Self {
            messages: snapshot.messages,
            run_id: snapshot.run_id,
            pending_interrupt: snapshot.pending_interrupt,
            resolved_interrupts: snapshot.resolved_interrupts,
            streaming,
        }
    }

    pub fn snapshot(&self, thread_id: &str) -> ThreadSnapshot {
        ThreadSnapshot {
            thread_id: thread_id.to_owned(),
            status: self.status(),
            messages: self.messages.clone(),
            pending_interrupt: self.pending_interrupt.clone(),
            run_id: self.run_id.clone(),
            resolved_interrupts: self.resolved_interrupts.clone(),
        }
    }

    pub fn status(&self) -> ThreadStatus {
        match (&self.pending_interrupt, &self.run_id) {
            (Some(_), _) => ThreadStatus::Interrupted,
            (None, Some(_)) => ThreadStatus::Running,
            (None, None) => ThreadStatus::Idle,
        }
    }

    /// Applies one event. `false` if it changes nothing: an error frame, or
    /// the resolution of an interrupt that is not the pending one (already
    /// applied here, say).
    pub fn apply(&mut self, event: &ServerMessage) -> bool {
        match event {
            ServerMessage::Snapshot(snapshot) => *self = Self::from_snapshot(snapshot.clone()),
            ServerMessage::RunStarted(RunStarted {
                run_id,
                user_message,
                ..
            }) => {
                if let Some(content) = user_message {
                    self.messages.push(ChatMessage {
                        role: Role::User,
                        content: content.clone(),
                    });
                }
                self.run_id = Some(run_id.clone());
                self.streaming = false;
            }
            ServerMessage::MessageDelta(MessageDelta { content, .. }) => {
                match self.messages.last_mut() {
                    Some(last) if self.streaming => last.content.push_str(content),
                    _ => self.messages.push(ChatMessage {
                        role: Role::Assistant,
                        content: content.clone(),
                    }),
                }
                self.streaming = true;
            }
            ServerMessage::Interrupt(interrupt) => {
                self.streaming = false;
                self.pending_interrupt = Some(interrupt.clone());
            }
            ServerMessage::InterruptResolved(InterruptResolved {
                interrupt_id,
                decision_id,
                decisions,
                by,
                decided_by,
            }) => {
                let Some(interrupt) = self
                    .pending_interrupt
                    .take_if(|p| p.interrupt_id == *interrupt_id)
                else {
                    return false;
                };
                self.resolved_interrupts.push(ResolvedInterrupt {
                    after_message: self.messages.len(),
                    interrupt,
                    decision_id: decision_id.clone(),
                    decisions: decisions.clone(),
                    by: *by,
                    decided_by: decided_by.clone(),
                });
            }
            ServerMessage::ToolResult(ToolResult { output, .. }) => {
                self.streaming = false;
                self.messages.push(ChatMessage {
                    role: Role::Tool,
                    content: output.clone(),
                });
            }
            ServerMessage::RunFinished(_) => {
                self.streaming = false;
                self.run_id = None;
                self.pending_interrupt = None;
            }
            ServerMessage::Error(_) => return false,
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Decision;
    use crate::server::{ResolvedBy, RunFinished, RunStatus, ToolStatus};

    fn interrupt(id: &str) -> Interrupt {
        Interrupt {
            interrupt_id: id.into(),
            run_id: "r".into(),
            action_requests: vec![],
            review_configs: vec![],
            expires_at: "2026-02-16T12:05:00Z".into(),
        }
    }

    fn delta(s: &str) -> ServerMessage {
        ServerMessage::MessageDelta(MessageDelta {
            run_id: "r".into(),
            content: s.into(),
        })
    }

    fn resolved(id: &str) -> ServerMessage {
        ServerMessage::InterruptResolved(InterruptResolved {
            interrupt_id: id.into(),
            decision_id: Some("d".into()),
            decisions: vec![Decision::Approve],
            by: ResolvedBy::User,
            decided_by: Some(crate::DecidedBy {
                user_id: "u".into(),
                name: "Ada".into(),
            }),
        })
    }

    fn started(user_message: Option<&str>) -> ServerMessage {
        ServerMessage::RunStarted(RunStarted {
            run_id: "r".into(),
            user_message: user_message.map(Into::into),
            started_by: None,
        })
    }

    fn finished() -> ServerMessage {
        ServerMessage::RunFinished(RunFinished {
            run_id: "r".into(),
            status: RunStatus::Completed,
            error: None,
        })
    }

    fn texts(state: &ThreadState) -> Vec<String> {
        state
            .messages
            .iter()
            .map(|m| format!("{:?}:{}", m.role, m.content))
            .collect()
    }

    #[test]
    fn a_run_streams_waits_is_decided_and_finishes() {
        let mut state = ThreadState::default();
        assert_eq!(state.status(), ThreadStatus::Idle);
        assert!(state.apply(&started(Some("plan X"))));
        assert_eq!(state.status(), ThreadStatus::Running);
        state.apply(&delta("Hel"));
        state.apply(&delta("lo"));
        state.apply(&ServerMessage::Interrupt(interrupt("i")));
        assert_eq!(state.status(), ThreadStatus::Interrupted);
        assert!(state.apply(&resolved("i")));
        assert_eq!(state.status(), ThreadStatus::Running);
        assert_eq!(state.resolved_interrupts[0].after_message, 2);
        let decider = state.resolved_interrupts[0].decided_by.as_ref();
        assert_eq!(decider.map(|d| d.name.as_str()), Some("Ada"));
        state.apply(&delta("Done"));
        state.apply(&ServerMessage::ToolResult(ToolResult {
            run_id: "r".into(),
            name: "create_research_plan".into(),
            status: ToolStatus::Executed,
            output: "ok".into(),
        }));
        state.apply(&delta("Bye"));
        state.apply(&finished());
        assert_eq!(state.status(), ThreadStatus::Idle);
        assert_eq!(
            texts(&state),
            [
                "User:plan X",
                "Assistant:Hello",
                "Assistant:Done",
                "Tool:ok",
                "Assistant:Bye"
            ]
        );
    }

    #[test]
    fn a_resolution_applies_once_and_only_to_the_pending_interrupt() {
        let mut state = ThreadState::default();
        state.apply(&started(None));
        assert!(!state.apply(&resolved("i")), "nothing pending");
        state.apply(&ServerMessage::Interrupt(interrupt("i")));
        assert!(!state.apply(&resolved("other")));
        assert!(state.apply(&resolved("i")));
        assert!(!state.apply(&resolved("i")), "applied twice");
        assert_eq!(state.resolved_interrupts.len(), 1);
        assert!(!state.apply(&ServerMessage::error(
            crate::ErrorCode::StaleInterrupt,
            "late"
        )));
    }

    #[test]
    fn a_snapshot_round_trips_and_resumes_streaming() {
        let mut state = ThreadState::default();
        state.apply(&started(Some("q")));
        state.apply(&delta("par"));
        let snapshot = state.snapshot("t");
        assert_eq!(snapshot.status, ThreadStatus::Running);
        let mut copy = ThreadState::default();
        assert!(copy.apply(&ServerMessage::Snapshot(snapshot)));
        assert_eq!(copy, state);
        copy.apply(&delta("tial"));
        assert_eq!(texts(&copy), ["User:q", "Assistant:partial"]);
    }

    #[test]
    fn a_finished_run_leaves_nothing_pending() {
        let mut state = ThreadState::default();
        state.apply(&started(Some("q")));
        state.apply(&ServerMessage::Interrupt(interrupt("i")));
        state.apply(&finished());
        assert_eq!(state.pending_interrupt, None);
        assert_eq!(state.run_id, None);
        // The next run's text is a new message, not the old one's tail.
        state.apply(&started(None));
        state.apply(&delta("new"));
        assert_eq!(texts(&state), ["User:q", "Assistant:new"]);
    }
}
