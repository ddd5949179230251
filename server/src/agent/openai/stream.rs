//! Assembles a streamed completion, one `data:` event at a time, into the
//! model's turn: its text (passed on as it arrives) and its tool calls
//! (whose names and arguments arrive in pieces).

use super::client::ModelError;
use super::wire::{Chunk, FunctionCall, ToolCall};

/// What one model turn said and asked for.
#[derive(Debug, Default, PartialEq)]
pub struct Turn {
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
}

#[derive(Default)]
pub struct Assembler {
    text: String,
    calls: Vec<PartialCall>,
    finished: bool,
    done: bool,
}

#[derive(Default)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
}

impl Assembler {
    /// Takes one event's data. Returns the text it adds, if any.
    pub fn push(&mut self, data: &str) -> Result<Option<String>, ModelError> {
        if self.done {
            return Ok(None);
        }
        if data.trim() == "[DONE]" {
            self.done = true;
            return Ok(None);
        }
        let chunk: Chunk = serde_json::from_str(data)
            .map_err(|e| ModelError::Malformed(format!("{e} in event `{}`", excerpt(data))))?;
        if let Some(error) = chunk.error {
            return Err(ModelError::Stream(error.message().to_owned()));
        }
        let mut added: Option<String> = None;
        // Only the first choice: this agent never asks for more than one.
        if let Some(choice) = chunk.choices.into_iter().next() {
            if choice.finish_reason.is_some() {
                self.finished = true;
            }
            if let Some(content) = choice.delta.content.filter(|c| !c.is_empty()) {
                self.text.push_str(&content);
                added = Some(content);
            }
            for piece in choice.delta.tool_calls.unwrap_or_default() {
                if piece.index > self.calls.len() + 16 {
                    return Err(ModelError::Malformed(format!(
                        "tool call index {} out of order",
                        piece.index
                    )));
                }
                if self.calls.len() <= piece.index {
                    self.calls
                        .resize_with(piece.index + 1, PartialCall::default);
                }
                let call = &mut self.calls[piece.index];
                if let Some(id) = piece.id {
                    call.id.push_str(&id);
                }
                if let Some(function) = piece.function {
                    call.name
                        .push_str(function.name.as_deref().unwrap_or_default());
                    call.arguments
                        .push_str(function.arguments.as_deref().unwrap_or_default());
                }
            }
        }
        Ok(added)
    }

    /// The turn, once the stream has ended. A stream that stops before
    /// `[DONE]` or a finish reason was cut off.
    pub fn finish(self) -> Result<Turn, ModelError> {
        if !self.done && !self.finished {
            return Err(ModelError::Truncated);
        }
        let tool_calls = self
            .calls
            .into_iter()
            .enumerate()
            .filter(|(_, call)| !(call.name.is_empty() && call.arguments.is_empty()))
            .map(|(i, call)| {
                if call.name.is_empty() {
                    return Err(ModelError::Malformed(format!("tool call {i} has no name")));
                }
                Ok(ToolCall {
                    id: if call.id.is_empty() {
                        format!("call_{i}")
                    } else {
                        call.id
                    },
                    kind: "function".into(),
                    function: FunctionCall {
                        name: call.name,
                        arguments: call.arguments,
                    },
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Turn {
            text: self.text,
            tool_calls,
        })
    }
}

/// The start of a long string, for error messages.
pub fn excerpt(text: &str) -> String {
    const MAX: usize = 120;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assemble(events: &[&str]) -> (Vec<String>, Result<Turn, ModelError>) {
        let mut assembler = Assembler::default();
        let mut texts = Vec::new();
        for event in events {
            match assembler.push(event) {
                Ok(Some(text)) => texts.push(text),
                Ok(None) => {}
                Err(e) => return (texts, Err(e)),
            }
        }
        (texts, assembler.finish())
    }

    #[test]
    fn joins_text_and_split_tool_calls() {
        let (texts, turn) = assemble(&[
            r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"content":"Hel"}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"content":"lo"}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"create_research","arguments":""}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"_plan","arguments":"{\"topic\":"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","function":{"name":"get_current_time","arguments":"{}"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Rust\"}"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
            "[DONE]",
        ]);
        assert_eq!(texts, ["Hel", "lo"]);
        let turn = turn.unwrap();
        assert_eq!(turn.text, "Hello");
        let calls: Vec<_> = turn
            .tool_calls
            .iter()
            .map(|c| (&*c.id, &*c.function.name, &*c.function.arguments))
            .collect();
        assert_eq!(
            calls,
            [
                ("call_a", "create_research_plan", r#"{"topic":"Rust"}"#),
                ("call_b", "get_current_time", "{}")
            ]
        );
    }

    #[test]
    fn a_stream_without_an_end_is_truncated() {
        let (_, turn) = assemble(&[r#"{"choices":[{"index":0,"delta":{"content":"Hel"}}]}"#]);
        assert!(matches!(turn, Err(ModelError::Truncated)));
        // A finish reason without [DONE] is a complete answer.
        let (_, turn) = assemble(&[r#"{"choices":[{"delta":{},"finish_reason":"stop"}]}"#]);
        assert!(turn.is_ok());
    }

    #[test]
    fn bad_events_are_reported() {
        let (_, turn) = assemble(&["{not json"]);
        assert!(matches!(turn, Err(ModelError::Malformed(_))));
        let (_, turn) = assemble(&[r#"{"error":{"message":"overloaded"}}"#]);
        assert!(matches!(turn, Err(ModelError::Stream(m)) if m == "overloaded"));
        let (_, turn) = assemble(&[
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}}]}"#,
            "[DONE]",
        ]);
        assert!(matches!(turn, Err(ModelError::Malformed(_))));
    }
}
