//! The tools this agent offers the model (which of them wait for a person
//! is configuration: `policy`).

use std::sync::LazyLock;
use std::time::SystemTime;

use protocol::{Args, ResearchPlan, CREATE_RESEARCH_PLAN};
use serde_json::json;

use super::wire::{FunctionDefinition, ToolDefinition};
use crate::agent::schema::ArgsSchema;
use crate::contract::ArgsError;
use crate::time::rfc3339;

pub const GET_CURRENT_TIME: &str = "get_current_time";

/// A tool: what the model is told about it, and what running it does.
pub struct Tool {
    pub name: &'static str,
    description: &'static str,
    parameters: fn() -> serde_json::Value,
    /// `parameters`, compiled once: every call and every edit is checked.
    schema: LazyLock<ArgsSchema>,
    /// Checks what the schema cannot say.
    validate: fn(&Args) -> Result<(), ArgsError>,
    /// Runs the tool on valid arguments; the text goes back to the model.
    pub execute: fn(&Args) -> String,
}

impl Tool {
    pub fn definition(&self) -> ToolDefinition {
        ToolDefinition {
            kind: "function",
            function: FunctionDefinition {
                name: self.name.into(),
                description: self.description.into(),
                parameters: (self.parameters)(),
            },
        }
    }

    /// Checks arguments against the schema the model is given, then the
    /// tool's own rules; `Err` says what is wrong, field by field.
    pub fn check(&self, args: &Args) -> Result<(), ArgsError> {
        self.schema.check(args)?;
        (self.validate)(args)
    }
}

pub static CATALOG: [Tool; 2] = [
    Tool {
        name: CREATE_RESEARCH_PLAN,
        description: "Create a research plan: a topic and the ordered steps to research it. \
                      A person reviews the plan first and may approve, edit or reject it.",
        parameters: plan_parameters,
        schema: LazyLock::new(|| compile(plan_parameters())),
        validate: |args| {
            ResearchPlan::parse(args)
                .map(drop)
                .map_err(|e| ArgsError::field(e.path(), e.to_string()))
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
        parameters: no_parameters,
        schema: LazyLock::new(|| compile(no_parameters())),
        validate: |_| Ok(()),
        execute: |_| rfc3339(SystemTime::now()),
    },
];

fn plan_parameters() -> serde_json::Value {
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
}

fn no_parameters() -> serde_json::Value {
    json!({"type": "object", "properties": {}, "additionalProperties": false})
}

fn compile(schema: serde_json::Value) -> ArgsSchema {
    ArgsSchema::new(&schema).expect("built-in schemas compile")
}

pub fn find(name: &str) -> Option<&'static Tool> {
    CATALOG.iter().find(|tool| tool.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_tool_checks_and_runs() {
        let plan = find(CREATE_RESEARCH_PLAN).unwrap();
        let args = json!({"topic": "Rust", "steps": ["Read", "Write"]});
        let args = args.as_object().unwrap();
        assert!(plan.check(args).is_ok());
        assert!((plan.execute)(args).contains("2-step research plan on Rust:\n1. Read\n2. Write"));
        let bad = json!({"topic": "", "steps": []});
        let error = plan.check(bad.as_object().unwrap()).unwrap_err();
        assert_eq!(error.details[0].path, "/steps", "{error:?}");
        let blank = json!({"topic": " ", "steps": ["Read"]});
        let error = plan.check(blank.as_object().unwrap()).unwrap_err();
        assert_eq!(error.details[0].path, "/topic", "{error:?}");
    }
}
