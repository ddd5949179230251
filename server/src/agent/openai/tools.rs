//! The tools this agent offers the model, and which of them wait for a
//! person (configuration, not code: `HITL_TOOL_APPROVAL`).

use std::collections::BTreeMap;
use std::time::SystemTime;

use protocol::{Args, DecisionType, ResearchPlan, CREATE_RESEARCH_PLAN};
use serde_json::json;

use super::wire::{FunctionDefinition, ToolDefinition};
use crate::time::rfc3339;

pub const GET_CURRENT_TIME: &str = "get_current_time";

/// A tool: what the model is told about it, and what running it does.
pub struct Tool {
    pub name: &'static str,
    description: &'static str,
    parameters: fn() -> serde_json::Value,
    /// Checks arguments; `Err` explains what is wrong.
    pub validate: fn(&Args) -> Result<(), String>,
    /// Runs the tool on valid arguments; the text goes back to the model.
    pub execute: fn(&Args) -> String,
}

impl Tool {
    pub fn definition(&self) -> ToolDefinition {
        ToolDefinition {
            kind: "function",
            function: FunctionDefinition {
                name: self.name,
                description: self.description,
                parameters: (self.parameters)(),
            },
        }
    }
}

pub static CATALOG: &[Tool] = &[
    Tool {
        name: CREATE_RESEARCH_PLAN,
        description: "Create a research plan: a topic and the ordered steps to research it. \
                      A person reviews the plan first and may approve, edit or reject it.",
        parameters: || {
            json!({
                "type": "object",
                "properties": {
                    "topic": {"type": "string", "minLength": 1, "description": "What to research."},
                    "steps": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"type": "string", "minLength": 1},
                        "description": "The research steps, in order."
                    }
                },
                "required": ["topic", "steps"],
                "additionalProperties": false
            })
        },
        validate: |args| {
            ResearchPlan::parse(args)
                .map(drop)
                .map_err(|e| e.to_string())
        },
        execute: |args| match ResearchPlan::parse(args) {
            Ok(plan) => {
                let steps: Vec<_> = plan
                    .steps()
                    .iter()
                    .enumerate()
                    .map(|(i, step)| format!("{}. {step}", i + 1))
                    .collect();
                format!(
                    "Created a {}-step research plan on {}:\n{}",
                    plan.steps().len(),
                    plan.topic(),
                    steps.join("\n")
                )
            }
            Err(e) => format!("Error: {e}"),
        },
    },
    Tool {
        name: GET_CURRENT_TIME,
        description: "Get the current date and time (UTC, RFC 3339).",
        parameters: || json!({"type": "object", "properties": {}, "additionalProperties": false}),
        validate: |_| Ok(()),
        execute: |_| rfc3339(SystemTime::now()),
    },
];

pub fn find(name: &str) -> Option<&'static Tool> {
    CATALOG.iter().find(|tool| tool.name == name)
}

/// Which tools wait for a person, and the decisions each allows.
#[derive(Clone, Debug, PartialEq)]
pub struct ApprovalPolicy(BTreeMap<&'static str, Vec<DecisionType>>);

impl Default for ApprovalPolicy {
    fn default() -> Self {
        Self(BTreeMap::from([(
            CREATE_RESEARCH_PLAN,
            DecisionType::ALL.to_vec(),
        )]))
    }
}

impl ApprovalPolicy {
    /// Parses `tool:decision,decision;tool:decision`, e.g.
    /// `create_research_plan:approve,edit,reject;get_current_time:approve,reject`.
    /// An empty spec lets every tool run without review.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut tools = BTreeMap::new();
        for entry in spec.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, decisions) = entry
                .split_once(':')
                .ok_or_else(|| format!("`{entry}` should be `tool:decision,…`"))?;
            let tool = find(name.trim()).ok_or_else(|| {
                let known: Vec<_> = CATALOG.iter().map(|t| t.name).collect();
                format!(
                    "unknown tool `{}` (known: {})",
                    name.trim(),
                    known.join(", ")
                )
            })?;
            let allowed = decisions
                .split(',')
                .map(|d| {
                    let d = d.trim();
                    DecisionType::ALL
                        .into_iter()
                        .find(|t| t.as_str() == d)
                        .ok_or_else(|| {
                            format!(
                                "unknown decision `{d}` for `{}` (approve, edit or reject)",
                                tool.name
                            )
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            tools.insert(tool.name, allowed);
        }
        Ok(Self(tools))
    }

    /// The decisions a person may make on `tool`, or `None` if it runs
    /// without review.
    pub fn review(&self, tool: &str) -> Option<&[DecisionType]> {
        self.0.get(tool).map(Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_policy() {
        let policy = ApprovalPolicy::parse(
            " create_research_plan: approve, reject ; get_current_time:approve",
        )
        .unwrap();
        assert_eq!(
            policy.review(CREATE_RESEARCH_PLAN),
            Some(&[DecisionType::Approve, DecisionType::Reject][..])
        );
        assert_eq!(
            policy.review(GET_CURRENT_TIME),
            Some(&[DecisionType::Approve][..])
        );
        assert_eq!(
            ApprovalPolicy::parse("")
                .unwrap()
                .review(CREATE_RESEARCH_PLAN),
            None
        );
        assert!(ApprovalPolicy::parse("send_email:approve")
            .unwrap_err()
            .contains("unknown tool"));
        assert!(ApprovalPolicy::parse("get_current_time:maybe")
            .unwrap_err()
            .contains("maybe"));
        assert!(ApprovalPolicy::parse("get_current_time").is_err());
    }

    #[test]
    fn the_plan_tool_checks_and_runs() {
        let plan = find(CREATE_RESEARCH_PLAN).unwrap();
        let args = json!({"topic": "Rust", "steps": ["Read", "Write"]});
        let args = args.as_object().unwrap();
        assert!((plan.validate)(args).is_ok());
        assert!((plan.execute)(args).contains("2-step research plan on Rust:\n1. Read\n2. Write"));
        let bad = json!({"topic": "", "steps": []});
        assert!((plan.validate)(bad.as_object().unwrap()).is_err());
    }
}
