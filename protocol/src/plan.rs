use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::interrupt::Args;

/// The one tool of the built-in agent that needs a person's approval.
pub const CREATE_RESEARCH_PLAN: &str = "create_research_plan";

/// The arguments of `create_research_plan`, parsed: a non-empty topic and a
/// non-empty list of non-empty steps. Server and browser parse with the same
/// function, so the edit form shows exactly the errors the server would send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResearchPlan {
    topic: String,
    steps: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("the topic must be a non-empty string")]
    EmptyTopic,
    #[error("the plan needs at least one step")]
    NoSteps,
    #[error("step {0} is empty")]
    EmptyStep(usize),
    #[error("`{0}` must be {1}")]
    WrongType(&'static str, &'static str),
}

impl PlanError {
    /// The JSON Pointer, within the arguments, of the field at fault.
    pub fn path(&self) -> String {
        match self {
            Self::EmptyTopic => "/topic".into(),
            Self::NoSteps => "/steps".into(),
            Self::EmptyStep(n) => format!("/steps/{}", n - 1),
            Self::WrongType(field, _) => format!("/{field}"),
        }
    }
}

impl ResearchPlan {
    /// Validates typed fields (the browser's form). Step numbers in errors
    /// count from 1, as a person reads them.
    pub fn new(topic: &str, steps: &[String]) -> Result<Self, PlanError> {
        let topic = topic.trim();
        if topic.is_empty() {
            return Err(PlanError::EmptyTopic);
        }
        if steps.is_empty() {
            return Err(PlanError::NoSteps);
        }
        if let Some(i) = steps.iter().position(|s| s.trim().is_empty()) {
            return Err(PlanError::EmptyStep(i + 1));
        }
        Ok(Self {
            topic: topic.to_owned(),
            steps: steps.iter().map(|s| s.trim().to_owned()).collect(),
        })
    }

    /// Validates tool-call arguments as they arrive over the wire.
    pub fn parse(args: &Args) -> Result<Self, PlanError> {
        let topic = match args.get("topic") {
            Some(Value::String(s)) => s,
            Some(_) => return Err(PlanError::WrongType("topic", "a string")),
            None => return Err(PlanError::EmptyTopic),
        };
        let steps = match args.get("steps") {
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(PlanError::WrongType("steps", "an array of strings")),
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => return Err(PlanError::WrongType("steps", "an array of strings")),
            None => return Err(PlanError::NoSteps),
        };
        Self::new(topic, &steps)
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    pub fn steps(&self) -> &[String] {
        &self.steps
    }

    pub fn to_args(&self) -> Args {
        let mut args = Args::new();
        args.insert("topic".into(), Value::String(self.topic.clone()));
        args.insert(
            "steps".into(),
            Value::Array(self.steps.iter().cloned().map(Value::String).collect()),
        );
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(v: Value) -> Args {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn accepts_a_plan_and_trims_it() {
        let plan =
            ResearchPlan::parse(&args(json!({"topic": " Rust ", "steps": ["a", " b"]}))).unwrap();
        assert_eq!(plan.topic(), "Rust");
        assert_eq!(plan.steps(), ["a", "b"]);
        assert_eq!(ResearchPlan::parse(&plan.to_args()).unwrap(), plan);
    }

    #[test]
    fn rejects_each_kind_of_bad_args() {
        let cases = [
            (json!({"steps": ["a"]}), PlanError::EmptyTopic),
            (
                json!({"topic": "  ", "steps": ["a"]}),
                PlanError::EmptyTopic,
            ),
            (
                json!({"topic": 3, "steps": ["a"]}),
                PlanError::WrongType("topic", "a string"),
            ),
            (json!({"topic": "t"}), PlanError::NoSteps),
            (json!({"topic": "t", "steps": []}), PlanError::NoSteps),
            (
                json!({"topic": "t", "steps": ["a", ""]}),
                PlanError::EmptyStep(2),
            ),
            (
                json!({"topic": "t", "steps": "a"}),
                PlanError::WrongType("steps", "an array of strings"),
            ),
            (
                json!({"topic": "t", "steps": [1]}),
                PlanError::WrongType("steps", "an array of strings"),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                ResearchPlan::parse(&args(input.clone())),
                Err(want),
                "{input}"
            );
        }
    }
}
