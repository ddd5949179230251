//! Which tool calls wait for a person, and the decisions each allows.
//!
//! Two sources. `HITL_TOOL_APPROVAL` (the first): `tool:decision,…;…`, naming
//! built-in tools; a built-in tool it does not name runs without review, a
//! tool from an MCP server waits. A policy
//! file (`HITL_TOOL_POLICY`): rules tried in order, each naming tools by a
//! glob (`fetch__*`) and, with `when`, conditions on the arguments under
//! which the rule applies; it gives the decisions allowed, or `auto` to run
//! without a person, and `auto_when`: conditions under which the call runs
//! at once. A tool no rule names waits for a person, with approve, edit and
//! reject: a newly offered tool never runs silently.
//!
//! ```json
//! {"rules": [
//!   {"tool": "fetch__fetch", "auto_when": {"url": {"starts_with": "https://en.wikipedia.org/"}}},
//!   {"tool": "fs__write_file", "when": {"path": {"starts_with": "/srv/drafts/"}},
//!    "decisions": ["approve", "edit", "reject"]},
//!   {"tool": "fs__*", "decisions": ["approve", "reject"]},
//!   {"tool": "get_current_time", "auto": true}
//! ]}
//! ```
//!
//! A person's edit is a new call: it is reviewed again, and goes back for a
//! decision of its own when the rule it falls under does not allow `edit`.

use std::collections::BTreeMap;
use std::path::Path;

use globset::{Glob, GlobMatcher};
use protocol::{Args, DecisionType};
use serde::Deserialize;
use serde_json::Value;

use super::tools::{find, CATALOG};

#[derive(Clone, Debug)]
pub struct ApprovalPolicy {
    rules: Vec<Rule>,
    /// What a tool no rule names does: `true` (a policy file) waits.
    fail_closed: bool,
}

#[derive(Clone, Debug)]
struct Rule {
    tool: GlobMatcher,
    /// All of them hold, or the rule does not apply.
    when: Vec<(String, Condition)>,
    /// `None`: runs without a person.
    decisions: Option<Vec<DecisionType>>,
    /// All of them hold: the call runs at once.
    auto_when: Vec<(String, Condition)>,
}

/// A condition on one argument.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    Equals(Value),
    StartsWith(String),
}

impl Condition {
    fn holds(&self, value: Option<&Value>) -> bool {
        match (self, value) {
            (Self::Equals(want), Some(v)) => v == want,
            (Self::StartsWith(prefix), Some(Value::String(s))) => s.starts_with(prefix),
            _ => false,
        }
    }
}

/// A rule as the file writes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    tool: String,
    #[serde(default)]
    auto: bool,
    decisions: Option<Vec<DecisionType>>,
    #[serde(default)]
    when: BTreeMap<String, Condition>,
    #[serde(default)]
    auto_when: BTreeMap<String, Condition>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    rules: Vec<RuleFile>,
}

impl Default for ApprovalPolicy {
    fn default() -> Self {
        Self::parse("create_research_plan:approve,edit,reject").expect("the default parses")
    }
}

impl ApprovalPolicy {
    /// Parses `tool:decision,decision;tool:decision`, e.g.
    /// `create_research_plan:approve,edit,reject;get_current_time:approve,reject`.
    /// An empty spec lets every tool run without review.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut rules = Vec::new();
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
                        .chain([DecisionType::Respond])
                        .find(|t| t.as_str() == d)
                        .ok_or_else(|| {
                            format!(
                                "unknown decision `{d}` for `{}` (approve, edit, reject or respond)",
                                tool.name
                            )
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            rules.push(Rule {
                tool: matcher(tool.name)?,
                when: Vec::new(),
                decisions: Some(allowed),
                auto_when: Vec::new(),
            });
        }
        Ok(Self {
            rules,
            fail_closed: false,
        })
    }

    /// Reads a policy file (JSON, see the module's documentation).
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        Self::from_json(&text)
    }

    pub fn from_json(text: &str) -> Result<Self, String> {
        let file: PolicyFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let rules = file
            .rules
            .into_iter()
            .enumerate()
            .map(|(i, rule)| {
                let which = || format!("rule {} (`{}`)", i + 1, rule.tool);
                let decisions = match (rule.auto, rule.decisions) {
                    (true, Some(_)) => {
                        return Err(format!("{}: `auto` and `decisions` both set", which()))
                    }
                    (true, None) => None,
                    (false, Some(d)) if d.is_empty() => {
                        return Err(format!("{}: `decisions` is empty", which()))
                    }
                    (false, Some(d)) => Some(d),
                    (false, None) => Some(DecisionType::ALL.to_vec()),
                };
                Ok(Rule {
                    tool: matcher(&rule.tool).map_err(|e| format!("{}: {e}", which()))?,
                    when: rule.when.into_iter().collect(),
                    decisions,
                    auto_when: rule.auto_when.into_iter().collect(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            rules,
            fail_closed: true,
        })
    }

    /// The decisions a person may make on this call, or `None` if it runs
    /// without review. The first rule that names the tool and whose `when`
    /// holds decides.
    pub fn review(&self, tool: &str, args: &Args) -> Option<&[DecisionType]> {
        let holds = |conditions: &[(String, Condition)]| {
            conditions
                .iter()
                .all(|(arg, condition)| condition.holds(args.get(arg)))
        };
        let Some(rule) = self
            .rules
            .iter()
            .find(|r| r.tool.is_match(tool) && holds(&r.when))
        else {
            // `HITL_TOOL_APPROVAL` lets built-in tools it does not name run;
            // a tool from an MCP server waits all the same.
            let waits = self.fail_closed || find(tool).is_none();
            return waits.then_some(&DecisionType::ALL[..]);
        };
        let auto = !rule.auto_when.is_empty() && holds(&rule.auto_when);
        if auto {
            return None;
        }
        rule.decisions.as_deref()
    }
}

fn matcher(pattern: &str) -> Result<GlobMatcher, String> {
    Glob::new(pattern)
        .map(|g| g.compile_matcher())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests;
