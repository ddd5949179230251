use serde::{Deserialize, Serialize};

/// A tool call's arguments: always a JSON object.
pub type Args = serde_json::Map<String, serde_json::Value>;

/// One tool call the agent wants to make and a person must review.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ActionRequest {
    pub name: String,
    pub args: Args,
    pub description: String,
    /// The JSON Schema of `args` (an extension of version 1), for a client
    /// to build an editor from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args_schema: Option<Args>,
}

/// Which decisions a person may make on one action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ReviewConfig {
    pub action_name: String,
    pub allowed_decisions: Vec<DecisionType>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum DecisionType {
    Approve,
    Edit,
    Reject,
    /// The person answers in the tool's place (LangChain's fourth type);
    /// only where the tool approval policy allows it.
    Respond,
}

/// The rejection message of an interrupt resolved because its run was
/// stopped (`cancel`), so a client can say "stopped", not "rejected".
pub const STOPPED_MESSAGE: &str = "Cancelled by the user.";

impl DecisionType {
    /// What a tool that waits for a person allows unless the policy names
    /// others: `respond` is opt-in.
    pub const ALL: [DecisionType; 3] = [Self::Approve, Self::Edit, Self::Reject];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Edit => "edit",
            Self::Reject => "reject",
            Self::Respond => "respond",
        }
    }
}

/// A pending request for a human decision. Sent as the `interrupt` event and
/// embedded (without `type`) as a snapshot's `pending_interrupt`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Interrupt {
    pub interrupt_id: String,
    pub run_id: String,
    pub action_requests: Vec<ActionRequest>,
    pub review_configs: Vec<ReviewConfig>,
    /// RFC 3339 UTC time at which the interrupt resolves by itself.
    pub expires_at: String,
}

impl Interrupt {
    /// The review config that governs `action`, if the interrupt has one.
    pub fn review_config(&self, action: &str) -> Option<&ReviewConfig> {
        self.review_configs.iter().find(|c| c.action_name == action)
    }

    /// Whether the decision type is allowed for the action at `index`.
    /// An action without a review config allows every decision.
    pub fn allows(&self, index: usize, decision: DecisionType) -> bool {
        let Some(request) = self.action_requests.get(index) else {
            return false;
        };
        self.review_config(&request.name)
            .is_none_or(|c| c.allowed_decisions.contains(&decision))
    }
}

/// An interrupt that was answered, as a snapshot lists it (an extension of
/// version 1, so a reconnecting client can show past outcomes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ResolvedInterrupt {
    pub interrupt: Interrupt,
    pub decision_id: Option<String>,
    pub decisions: Vec<crate::client::Decision>,
    pub by: crate::server::ResolvedBy,
    /// How many of the thread's messages preceded the interrupt.
    pub after_message: usize,
    /// Who decided (absent for a timeout, and with sign-in off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<crate::auth::DecidedBy>,
}
