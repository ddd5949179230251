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
        if let Decision::Edit { edited_action } = decision {
            if edited_action.name != request.name {
                return Err(invalid(format!(
                    "decision {i}: the edited action must be `{}`, not `{}`",
                    request.name, edited_action.name
                )));
            }
            agent
                .validate_args(&request.name, &edited_action.args)
                .map_err(|e| invalid(format!("decision {i}: edited args are invalid: {e}")))?;
        }
    }
    Ok(())
}
