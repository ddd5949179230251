//! The JSON of PROTOCOL.md, byte for byte where the document gives it.

use protocol::*;
use serde_json::{json, Value};

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap()
}

#[test]
fn client_frames_parse_as_documented() {
    let m = ClientMessage::from_json(
        r#"{"type": "send_message", "content": "Create a research plan for Anthropic"}"#,
    )
    .unwrap();
    assert_eq!(
        m,
        ClientMessage::SendMessage {
            content: "Create a research plan for Anthropic".into()
        }
    );

    let m = ClientMessage::from_json(
        r#"{"type": "decision", "interrupt_id": "i1", "decision_id": "d1", "decisions": [
            {"type": "approve"},
            {"type": "edit", "edited_action": {"name": "create_research_plan", "args": {"topic": "x", "steps": ["a"]}}},
            {"type": "reject", "message": "no"},
            {"type": "reject"}
        ]}"#,
    )
    .unwrap();
    let ClientMessage::Decision {
        interrupt_id,
        decision_id,
        decisions,
    } = m
    else {
        panic!()
    };
    assert_eq!(interrupt_id.as_deref(), Some("i1"));
    assert_eq!(decision_id.as_deref(), Some("d1"));
    assert_eq!(
        decisions.iter().map(Decision::kind).collect::<Vec<_>>(),
        [
            DecisionType::Approve,
            DecisionType::Edit,
            DecisionType::Reject,
            DecisionType::Reject
        ]
    );

    // interrupt_id and decision_id are optional.
    let m = ClientMessage::from_json(r#"{"type": "decision", "decisions": [{"type": "approve"}]}"#)
        .unwrap();
    assert!(matches!(
        m,
        ClientMessage::Decision {
            interrupt_id: None,
            decision_id: None,
            ..
        }
    ));
    assert_eq!(
        ClientMessage::from_json(r#"{"type": "cancel"}"#).unwrap(),
        ClientMessage::Cancel
    );
}

#[test]
fn bad_client_frames_are_errors() {
    for bad in [
        "not json",
        "[]",
        "42",
        r#"{"content": "no type"}"#,
        r#"{"type": "launch_missiles"}"#,
        r#"{"type": "send_message"}"#,
        r#"{"type": "send_message", "content": 5}"#,
        r#"{"type": "decision", "decisions": [{"type": "maybe"}]}"#,
        r#"{"type": "decision", "decisions": [{"type": "edit"}]}"#,
    ] {
        assert!(ClientMessage::from_json(bad).is_err(), "{bad} parsed");
    }
}

#[test]
fn server_frames_serialize_as_documented() {
    let interrupt = Interrupt {
        interrupt_id: "i".into(),
        run_id: "r".into(),
        action_requests: vec![ActionRequest {
            name: "create_research_plan".into(),
            args: json!({"topic": "Anthropic", "steps": ["a"]})
                .as_object()
                .unwrap()
                .clone(),
            description: "d".into(),
            args_schema: None,
        }],
        review_configs: vec![ReviewConfig {
            action_name: "create_research_plan".into(),
            allowed_decisions: DecisionType::ALL.to_vec(),
        }],
        expires_at: "2026-02-16T12:05:00Z".into(),
    };
    assert_eq!(
        to_value(&ServerMessage::Interrupt(interrupt.clone())),
        json!({"type": "interrupt", "interrupt_id": "i", "run_id": "r",
               "action_requests": [{"name": "create_research_plan", "args": {"topic": "Anthropic", "steps": ["a"]}, "description": "d"}],
               "review_configs": [{"action_name": "create_research_plan", "allowed_decisions": ["approve", "edit", "reject"]}],
               "expires_at": "2026-02-16T12:05:00Z"})
    );
    let snapshot = ThreadSnapshot {
        thread_id: "t".into(),
        status: ThreadStatus::Interrupted,
        messages: vec![ChatMessage {
            role: Role::User,
            content: "hi".into(),
        }],
        pending_interrupt: Some(interrupt),
        run_id: Some("r".into()),
        resolved_interrupts: vec![],
    };
    let v = to_value(&ServerMessage::Snapshot(snapshot.clone()));
    assert_eq!(v["type"], "snapshot");
    assert_eq!(v["status"], "interrupted");
    assert_eq!(v["messages"], json!([{"role": "user", "content": "hi"}]));
    assert_eq!(v["pending_interrupt"]["interrupt_id"], "i");
    assert!(v["pending_interrupt"].get("type").is_none());
    assert_eq!(
        ServerMessage::from_json(&v.to_string()).unwrap(),
        ServerMessage::Snapshot(snapshot)
    );

    assert_eq!(
        to_value(&ServerMessage::InterruptResolved(InterruptResolved {
            interrupt_id: "i".into(),
            decision_id: None,
            decisions: vec![Decision::Reject { message: None }],
            by: ResolvedBy::Timeout,
            decided_by: None,
        })),
        json!({"type": "interrupt_resolved", "interrupt_id": "i", "decision_id": null,
               "decisions": [{"type": "reject"}], "by": "timeout"})
    );
    assert_eq!(
        to_value(&ServerMessage::ToolResult(ToolResult {
            run_id: "r".into(),
            name: "n".into(),
            status: ToolStatus::Expired,
            output: "o".into()
        })),
        json!({"type": "tool_result", "run_id": "r", "name": "n", "status": "expired", "output": "o"})
    );
    assert_eq!(
        to_value(&ServerMessage::RunFinished(RunFinished {
            run_id: "r".into(),
            status: RunStatus::Completed,
            error: None
        })),
        json!({"type": "run_finished", "run_id": "r", "status": "completed", "error": null})
    );
    assert_eq!(
        to_value(&ServerMessage::error(
            ErrorCode::AlreadyStreaming,
            "Already streaming a response"
        )),
        json!({"type": "error", "code": "already_streaming", "error": "Already streaming a response"})
    );
    assert_eq!(
        to_value(&ServerMessage::RunStarted(RunStarted {
            run_id: "r".into(),
            user_message: None,
            started_by: None,
        })),
        json!({"type": "run_started", "run_id": "r"})
    );
    assert_eq!(
        to_value(&ServerMessage::MessageDelta(MessageDelta {
            run_id: "r".into(),
            content: "c".into()
        })),
        json!({"type": "message_delta", "run_id": "r", "content": "c"})
    );
}

/// One frame of every kind, with every optional field set.
fn one_of_each_server_frame() -> Vec<ServerMessage> {
    let interrupt = Interrupt {
        interrupt_id: "i".into(),
        run_id: "r".into(),
        action_requests: vec![ActionRequest {
            name: "create_research_plan".into(),
            args: json!({"topic": "T", "steps": ["a", "b"]})
                .as_object()
                .unwrap()
                .clone(),
            description: "d".into(),
            args_schema: None,
        }],
        review_configs: vec![],
        expires_at: "2026-02-16T12:05:00Z".into(),
    };
    let decisions = vec![
        Decision::Approve,
        Decision::Edit {
            edited_action: EditedAction {
                name: "create_research_plan".into(),
                args: json!({"topic": "U"}).as_object().unwrap().clone(),
            },
        },
        Decision::Reject {
            message: Some("no".into()),
        },
        Decision::Reject { message: None },
    ];
    vec![
        ServerMessage::Snapshot(ThreadSnapshot {
            thread_id: "t".into(),
            status: ThreadStatus::Running,
            messages: vec![ChatMessage {
                role: Role::Tool,
                content: "out".into(),
            }],
            pending_interrupt: Some(interrupt.clone()),
            run_id: Some("r".into()),
            resolved_interrupts: vec![ResolvedInterrupt {
                interrupt: interrupt.clone(),
                decision_id: Some("d".into()),
                decisions: decisions.clone(),
                by: ResolvedBy::User,
                after_message: 1,
                decided_by: None,
            }],
        }),
        ServerMessage::RunStarted(RunStarted {
            run_id: "r".into(),
            user_message: Some("hi".into()),
            started_by: Some(Person {
                user_id: "u".into(),
                name: "Grace".into(),
            }),
        }),
        ServerMessage::MessageDelta(MessageDelta {
            run_id: "r".into(),
            content: "\"quoted\" \u{e9}".into(),
        }),
        ServerMessage::Interrupt(interrupt),
        ServerMessage::InterruptResolved(InterruptResolved {
            interrupt_id: "i".into(),
            decision_id: Some("d".into()),
            decisions,
            by: ResolvedBy::User,
            decided_by: Some(DecidedBy {
                user_id: "u".into(),
                name: "Ada".into(),
            }),
        }),
        ServerMessage::ToolResult(ToolResult {
            run_id: "r".into(),
            name: "n".into(),
            status: ToolStatus::Rejected,
            output: "o".into(),
        }),
        ServerMessage::RunFinished(RunFinished {
            run_id: "r".into(),
            status: RunStatus::Failed,
            error: Some("e".into()),
        }),
        ServerMessage::error(ErrorCode::StaleInterrupt, "gone"),
    ]
}

#[test]
fn from_json_reads_every_frame_as_serde_does() {
    // `from_json` lists the frame kinds again, by hand. This match has no
    // wildcard, so a new kind does not compile here until it is numbered,
    // and the assertion fails until the fixture has one of it.
    let kind = |m: &ServerMessage| match m {
        ServerMessage::Snapshot(_) => 0,
        ServerMessage::RunStarted(_) => 1,
        ServerMessage::MessageDelta(_) => 2,
        ServerMessage::Interrupt(_) => 3,
        ServerMessage::InterruptResolved(_) => 4,
        ServerMessage::ToolResult(_) => 5,
        ServerMessage::RunFinished(_) => 6,
        ServerMessage::Error(_) => 7,
    };
    let frames = one_of_each_server_frame();
    let kinds: std::collections::BTreeSet<_> = frames.iter().map(kind).collect();
    assert_eq!(kinds, (0..8).collect(), "one frame of every kind");
    for message in frames {
        let text = message.to_json();
        assert_eq!(ServerMessage::from_json(&text).unwrap(), message, "{text}");
        // The derived reader, which generic serde users get, agrees.
        assert_eq!(
            serde_json::from_str::<ServerMessage>(&text).unwrap(),
            message
        );
    }
}

#[test]
fn from_json_finds_the_tag_wherever_it_is() {
    let text = r#"{"run_id": "r", "content": "c", "type": "message_delta"}"#;
    assert_eq!(
        ServerMessage::from_json(text).unwrap(),
        ServerMessage::MessageDelta(MessageDelta {
            run_id: "r".into(),
            content: "c".into()
        })
    );
    let text = r#"{"decisions": [{"message": "why", "type": "reject"}],
                   "by": "user", "decision_id": null, "interrupt_id": "i",
                   "type": "interrupt_resolved"}"#;
    let ServerMessage::InterruptResolved(resolved) = ServerMessage::from_json(text).unwrap() else {
        panic!("{text}");
    };
    assert_eq!(
        resolved.decisions,
        [Decision::Reject {
            message: Some("why".into())
        }]
    );
}

#[test]
fn bad_server_frames_are_errors_that_say_why() {
    for (bad, says) in [
        ("not json", "must be a JSON object"),
        (r#"["snapshot"]"#, "must be a JSON object"),
        (r#"{"type": "snapshot""#, "EOF while parsing"),
        (r#"{"run_id": "r"}"#, "missing field `type`"),
        (
            r#"{"type": "launch_missiles"}"#,
            "unknown variant `launch_missiles`",
        ),
        (r#"{"type": "run_started"}"#, "missing field `run_id`"),
        (
            r#"{"type": "message_delta", "run_id": "r", "content": 5}"#,
            "invalid type: integer `5`",
        ),
        (
            r#"{"type": "interrupt_resolved", "interrupt_id": "i", "decision_id": null,
                "decisions": [{"type": "edit"}], "by": "user"}"#,
            "missing field `edited_action`",
        ),
        (
            r#"{"type": "run_started", "run_id": "r"} trailing"#,
            "trailing characters",
        ),
    ] {
        let error = ServerMessage::from_json(bad).unwrap_err().to_string();
        assert!(error.contains(says), "{bad}: {error}");
    }
}

#[test]
fn every_error_code_reads_back_and_unknown_ones_are_refused() {
    use protocol::ErrorCode;
    // Each variant once: `as_str` is an exhaustive match, so a variant
    // missing from ALL would leave its name unread here.
    let mut names: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), ErrorCode::ALL.len());
    for code in ErrorCode::ALL {
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(json, format!("\"{}\"", code.as_str()));
        assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), code);
    }
    let err = serde_json::from_str::<ErrorCode>("\"no_such_code\"").unwrap_err();
    assert!(err.to_string().contains("no_such_code"), "{err}");
}
