use serde::{Deserialize, Serialize};

use crate::interrupt::{Args, DecisionType, STOPPED_MESSAGE};

/// A frame from a client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    SendMessage {
        content: String,
    },
    Decision {
        /// Without it the decision goes to the thread's one pending interrupt.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        interrupt_id: Option<String>,
        /// Client-made; a retry with the same id is answered, never re-applied.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        decision_id: Option<String>,
        /// One entry per action request, in the same order.
        decisions: Vec<Decision>,
    },
    Cancel,
}

impl ClientMessage {
    /// Parses one text frame. The error reads well enough to show a person.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("client messages always serialize")
    }
}

/// A person's decision on one action request.
// `Deserialize` is written out below.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Edit {
        edited_action: EditedAction,
    },
    Reject {
        /// Shown to the agent as the reason.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// The person's answer stands in for the tool's result.
    Respond {
        message: String,
    },
}

/// Read through one flat struct: the derived reader of a tagged enum
/// buffers every value in serde's private content tree, and in the browser
/// that costs far more code than these three fields.
impl<'de> Deserialize<'de> for Decision {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Fields {
            #[serde(rename = "type")]
            kind: DecisionType,
            edited_action: Option<EditedAction>,
            message: Option<String>,
        }
        let fields = Fields::deserialize(deserializer)?;
        Ok(match fields.kind {
            DecisionType::Approve => Self::Approve,
            DecisionType::Edit => Self::Edit {
                edited_action: fields
                    .edited_action
                    .ok_or_else(|| serde::de::Error::missing_field("edited_action"))?,
            },
            DecisionType::Reject => Self::Reject {
                message: fields.message,
            },
            DecisionType::Respond => Self::Respond {
                message: fields
                    .message
                    .ok_or_else(|| serde::de::Error::missing_field("message"))?,
            },
        })
    }
}

impl Decision {
    /// Whether this is the rejection a run's pending request gets when the
    /// run is stopped (`cancel`), not a person's rejection.
    pub fn is_stop(&self) -> bool {
        matches!(self, Self::Reject { message } if message.as_deref() == Some(STOPPED_MESSAGE))
    }

    pub fn kind(&self) -> DecisionType {
        match self {
            Self::Approve => DecisionType::Approve,
            Self::Edit { .. } => DecisionType::Edit,
            Self::Reject { .. } => DecisionType::Reject,
            Self::Respond { .. } => DecisionType::Respond,
        }
    }
}

/// The tool call as the person edited it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EditedAction {
    pub name: String,
    pub args: Args,
}
