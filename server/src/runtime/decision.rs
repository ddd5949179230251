//! Whether a list of decisions fits the interrupt it answers.

use protocol::{Decision, Interrupt};

use super::RuntimeError;

use crate::contract::Agent;

pub(crate) fn validate(
    interrupt: &Interrupt,
    decisions: &[Decision],
    agent: &dyn Agent,
) -> Result<(), RuntimeError> {
    let invalid = RuntimeError::InvalidDecision;
    let expected = interrupt.action_requests.len();
    if decisions.len() != expected {
        return Err(invalid(format!(
            "expected {expected} decision(s), one per action request, got {}",
            decisions.len()
        )));
    }
    for (i, (decision, request)) in decisions.iter().zip(&interrupt.action_requests).enumerate() {
        let kind = decision.kind();
        if !interrupt.allows(i, kind) {
            return Err(invalid(format!(
                "decision {i}: `{}` is not allowed for `{}`",
                kind.as_str(),
                request.name
            )));
        }
        if let Decision::Respond { message } = decision {
            if message.trim().is_empty() {
                return Err(invalid(format!(
                    "decision {i}: `respond` needs a message: it is the tool's result"
                )));
            }
        }
        if let Decision::Edit { edited_action } = decision {
            if edited_action.name != request.name {
                return Err(invalid(format!(
                    "decision {i}: the edited action must be `{}`, not `{}`",
                    request.name, edited_action.name
                )));
            }
            agent
                .validate_args(&request.name, &edited_action.args)
                .map_err(|e| RuntimeError::InvalidEdit {
                    message: format!("decision {i}: edited args are invalid: {e}"),
                    details: e
                        .details
                        .into_iter()
                        .map(|mut field| {
                            field.path = format!("/decisions/{i}/edited_action/args{}", field.path);
                            field
                        })
                        .collect(),
                })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Decisions from anyone: every frame is a valid decision or gets a code
    //! of the protocol's table (`invalid_message` when it does not parse,
    //! `invalid_decision` when it does not fit), never a panic.

    use proptest::prelude::*;
    use protocol::{
        ActionRequest, ClientMessage, DecisionType, ErrorCode, ResearchPlan, ReviewConfig,
        CREATE_RESEARCH_PLAN,
    };
    use serde_json::{json, Value};

    use super::*;
    use crate::agent::ResearchAgent;

    fn interrupt(allowed: Vec<DecisionType>, requests: usize) -> Interrupt {
        let args = json!({"topic": "Tides", "steps": ["a", "b", "c"]});
        Interrupt {
            interrupt_id: "i".into(),
            run_id: "r".into(),
            action_requests: (0..requests)
                .map(|_| ActionRequest {
                    name: CREATE_RESEARCH_PLAN.into(),
                    args: serde_json::from_value(args.clone()).unwrap(),
                    description: "d".into(),
                    args_schema: None,
                })
                .collect(),
            review_configs: vec![ReviewConfig {
                action_name: CREATE_RESEARCH_PLAN.into(),
                allowed_decisions: allowed,
            }],
            expires_at: "2026-12-07T12:00:00Z".into(),
        }
    }

    fn arg_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<i64>().prop_map(Value::from),
            ".{0,8}".prop_map(Value::from),
            prop::collection::vec(".{0,6}".prop_map(Value::from), 0..4).prop_map(Value::Array),
        ]
    }

    /// Decisions of any type, with edits whose args are of any shape.
    fn decision() -> impl Strategy<Value = Value> {
        let kind = prop_oneof![
            Just("approve".to_owned()),
            Just("edit".to_owned()),
            Just("reject".to_owned()),
            Just("respond".to_owned()),
            "[a-z]{0,6}",
        ];
        let name = prop_oneof![Just(CREATE_RESEARCH_PLAN.to_owned()), "[a-z_]{0,12}"];
        let args = prop::collection::btree_map(
            prop_oneof![
                Just("topic".to_owned()),
                Just("steps".to_owned()),
                "[a-z]{1,5}"
            ],
            arg_value(),
            0..4,
        );
        (kind, name, args, any::<bool>(), any::<bool>()).prop_map(
            |(kind, name, args, with_edit, with_message)| {
                let mut decision = json!({ "type": kind });
                if with_edit {
                    decision["edited_action"] = json!({"name": name, "args": args});
                }
                if with_message {
                    decision["message"] = json!("because");
                }
                decision
            },
        )
    }

    fn allowed() -> impl Strategy<Value = Vec<DecisionType>> {
        prop::sample::subsequence(DecisionType::ALL.to_vec(), 0..=3)
    }

    proptest! {
        #[test]
        fn every_decision_frame_is_valid_or_gets_a_code_of_the_table(
            decisions in prop::collection::vec(decision(), 0..4),
            allowed in allowed(),
            requests in 1usize..3,
        ) {
            let frame = json!({"type": "decision", "interrupt_id": "i", "decisions": decisions});
            let code = match ClientMessage::from_json(&frame.to_string()) {
                Err(_) => ErrorCode::InvalidMessage,
                Ok(ClientMessage::Decision { decisions, .. }) => {
                    let interrupt = interrupt(allowed.clone(), requests);
                    match validate(&interrupt, &decisions, &ResearchAgent) {
                        Ok(()) => {
                            // What was accepted is what the interrupt allows.
                            prop_assert_eq!(decisions.len(), requests);
                            for decision in &decisions {
                                prop_assert!(allowed.contains(&decision.kind()));
                                if let Decision::Edit { edited_action } = decision {
                                    prop_assert!(ResearchPlan::parse(&edited_action.args).is_ok());
                                }
                            }
                            return Ok(());
                        }
                        Err(e) => e.code(),
                    }
                }
                Ok(other) => panic!("a decision frame read as {other:?}"),
            };
            prop_assert!(
                matches!(code, ErrorCode::InvalidMessage | ErrorCode::InvalidDecision),
                "{code}"
            );
        }
    }
}
