//! A thread whose run lives on another server: this copy follows the
//! events that server sends through the database and forwards them to this
//! server's connections.

use super::*;

impl Thread {
    /// Applies another server's event for this thread and forwards it.
    pub(crate) fn apply_remote(&self, frame: Frame) {
        let Some(message) = std::str::from_utf8(&frame)
            .ok()
            .and_then(|text| ServerMessage::from_json(text).ok())
        else {
            return;
        };
        let mut state = self.lock();
        if state.run.as_ref().is_some_and(|r| !r.remote) {
            return; // Our own run's events start here, not there.
        }
        match message {
            ServerMessage::RunStarted(RunStarted {
                run_id,
                user_message,
            }) => {
                if let Some(content) = user_message {
                    add_user_message(&mut state, content);
                }
                state.run = Some(ActiveRun {
                    id: run_id.into(),
                    cancel: CancellationToken::new(),
                    pending: None,
                    remote: true,
                });
                state.streaming_text = false;
            }
            ServerMessage::MessageDelta(MessageDelta { content, .. }) => {
                append_text(&mut state, &content)
            }
            ServerMessage::Interrupt(interrupt) => {
                state.streaming_text = false;
                let Some(run) = state.run.as_mut() else {
                    return;
                };
                run.pending = Some(Pending {
                    interrupt,
                    reply: oneshot::channel().0,
                    claimed: false,
                });
            }
            ServerMessage::InterruptResolved(InterruptResolved {
                interrupt_id,
                decision_id,
                decisions,
                by,
            }) => {
                // Decided here: connections here have heard of it already.
                if state
                    .resolved
                    .iter()
                    .any(|r| r.record.interrupt.interrupt_id == interrupt_id)
                {
                    return;
                }
                let Some(pending) = take_pending(&mut state) else {
                    return;
                };
                let record = ResolvedInterrupt {
                    after_message: state.messages.len(),
                    interrupt: pending.interrupt,
                    decision_id,
                    decisions,
                    by,
                };
                state.resolved.push(Resolved {
                    record,
                    frame: frame.clone(),
                });
            }
            ServerMessage::ToolResult(ToolResult { output, .. }) => {
                state.streaming_text = false;
                state.messages.push(ChatMessage {
                    role: Role::Tool,
                    content: output,
                });
            }
            ServerMessage::RunFinished(_) => {
                state.run = None;
                state.streaming_text = false;
            }
            ServerMessage::Snapshot(_) | ServerMessage::Error(_) => return,
        }
        state.updated_at = SystemTime::now();
        deliver(&state, frame);
    }

    /// Another server saved a resolution of the interrupt this server's run
    /// waits at: the run goes on with it.
    pub(crate) fn apply_stored_resolution(
        &self,
        interrupt_id: &str,
        decision_id: Option<String>,
        decisions: Vec<Decision>,
        by: ResolvedBy,
    ) {
        let mut state = self.lock();
        let waiting = state
            .run
            .as_ref()
            .filter(|r| !r.remote)
            .and_then(|r| r.pending.as_ref())
            .is_some_and(|p| p.interrupt.interrupt_id == interrupt_id);
        if !waiting {
            return;
        }
        let run_id = state
            .run
            .as_ref()
            .map(|r| r.id.to_string())
            .unwrap_or_default();
        self.persist(|| Write::RunResumed {
            thread_id: self.id.to_string(),
            run_id,
            at: millis(SystemTime::now()),
        });
        tracing::info!(%interrupt_id, "decision from another server received");
        self.resolve(&mut state, decision_id, decisions, by);
    }
}
