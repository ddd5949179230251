//! The tools on offer to the model: the built-in ones and, when MCP servers
//! are configured, every tool they list now.

use std::sync::Arc;

use protocol::Args;

use super::tools::{self, CATALOG};
use super::wire::{FunctionDefinition, ToolDefinition};
use crate::agent::mcp::{McpHub, McpTool, Outcome};
use crate::contract::ArgsError;

pub enum Offered {
    Builtin(&'static tools::Tool),
    Mcp(Arc<McpTool>),
}

impl Offered {
    pub fn check(&self, args: &Args) -> Result<(), ArgsError> {
        match self {
            Self::Builtin(tool) => tool.check(args),
            Self::Mcp(tool) => tool.check(args),
        }
    }

    /// The JSON Schema of its arguments.
    pub fn schema(&self) -> Option<Args> {
        let schema = match self {
            Self::Builtin(tool) => tool.definition().function.parameters,
            Self::Mcp(tool) => tool.input_schema.clone(),
        };
        match schema {
            serde_json::Value::Object(schema) => Some(schema),
            _ => None,
        }
    }

    /// Runs the tool on checked arguments.
    pub async fn run(&self, args: Args) -> Outcome {
        match self {
            Self::Builtin(tool) => Outcome {
                text: (tool.execute)(&args),
                is_error: false,
            },
            Self::Mcp(tool) => tool.call(args).await,
        }
    }
}

pub struct Offer {
    builtin: Vec<ToolDefinition>,
    mcp: Option<Arc<McpHub>>,
}

impl Offer {
    pub fn new(mcp: Option<Arc<McpHub>>) -> Self {
        Self {
            builtin: CATALOG.iter().map(tools::Tool::definition).collect(),
            mcp,
        }
    }

    pub fn hub(&self) -> Option<&Arc<McpHub>> {
        self.mcp.as_ref()
    }

    pub fn find(&self, name: &str) -> Option<Offered> {
        if let Some(tool) = tools::find(name) {
            return Some(Offered::Builtin(tool));
        }
        self.mcp.as_ref()?.find(name).map(Offered::Mcp)
    }

    /// What the model is told, for this turn: MCP servers' lists change.
    pub fn definitions(&self) -> Vec<ToolDefinition> {
        let mut definitions = self.builtin.clone();
        if let Some(hub) = &self.mcp {
            definitions.extend(hub.tools().iter().map(|tool| ToolDefinition {
                kind: "function",
                function: FunctionDefinition {
                    name: tool.name.clone(),
                    description: tool.description.clone(),
                    parameters: tool.input_schema.clone(),
                },
            }));
        }
        definitions
    }
}
