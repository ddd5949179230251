//! The MCP servers to connect to (`HITL_MCP_CONFIG`), in the `mcpServers`
//! format of Claude Desktop, Cursor and VS Code:
//!
//! ```json
//! {"mcpServers": {
//!   "fetch": {"command": "uvx", "args": ["mcp-server-fetch"], "env": {"KEY": "v"}},
//!   "docs": {"url": "http://127.0.0.1:8000/mcp", "headers": {"Authorization": "Bearer …"}}
//! }}
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// How long a call may take unless a server says otherwise
/// (`"timeout_secs"`).
const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Clone, Debug, PartialEq)]
pub struct McpConfig {
    /// In the file's order of names (sorted), which is the order tools are
    /// offered in.
    pub servers: Vec<ServerSpec>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ServerSpec {
    /// The prefix of its tools' names: `fetch` offers `fetch__fetch`.
    pub name: String,
    pub transport: Transport,
    pub call_timeout: Duration,
}

#[derive(Clone, PartialEq)]
pub enum Transport {
    Stdio {
        command: String,
        args: Vec<String>,
        env: BTreeMap<String, String>,
        cwd: Option<PathBuf>,
    },
    Http {
        url: String,
        headers: BTreeMap<String, String>,
    },
}

/// Environment values and headers carry secrets: only their names print.
impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Stdio {
                command, args, env, ..
            } => f
                .debug_struct("Stdio")
                .field("command", command)
                .field("args", args)
                .field("env", &env.keys().collect::<Vec<_>>())
                .finish(),
            Self::Http { url, headers } => f
                .debug_struct("Http")
                .field("url", url)
                .field("headers", &headers.keys().collect::<Vec<_>>())
                .finish(),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct File {
    mcp_servers: BTreeMap<String, Entry>,
}

/// One server as the file writes it. Other clients' keys (`type`,
/// `disabled`, `autoApprove` …) are read where they mean something here and
/// ignored otherwise, so one file serves several clients.
#[derive(Deserialize)]
struct Entry {
    command: Option<String>,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    cwd: Option<PathBuf>,
    url: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    disabled: bool,
    timeout_secs: Option<u64>,
}

impl McpConfig {
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        Self::from_json(&text)
    }

    pub fn from_json(text: &str) -> Result<Self, String> {
        let file: File = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut servers = Vec::new();
        for (name, entry) in file.mcp_servers {
            if entry.disabled {
                continue;
            }
            check_name(&name)?;
            let transport = match (entry.command, entry.url) {
                (Some(command), None) => Transport::Stdio {
                    command,
                    args: entry.args,
                    env: entry.env,
                    cwd: entry.cwd,
                },
                (None, Some(url)) if url.starts_with("http://") || url.starts_with("https://") => {
                    Transport::Http {
                        url,
                        headers: entry.headers,
                    }
                }
                (None, Some(url)) => {
                    return Err(format!(
                        "server `{name}`: `url` must start with http:// or https://, not `{url}`"
                    ))
                }
                (Some(_), Some(_)) => {
                    return Err(format!(
                        "server `{name}`: give `command` (stdio) or `url` (HTTP), not both"
                    ))
                }
                (None, None) => {
                    return Err(format!(
                        "server `{name}`: give `command` (stdio) or `url` (HTTP)"
                    ))
                }
            };
            servers.push(ServerSpec {
                name,
                transport,
                call_timeout: entry
                    .timeout_secs
                    .map_or(DEFAULT_CALL_TIMEOUT, Duration::from_secs),
            });
        }
        Ok(Self { servers })
    }
}

/// A name that, joined to a tool's by `__`, gives a function name every
/// OpenAI-compatible server takes, and that can be split back.
fn check_name(name: &str) -> Result<(), String> {
    let fits = !name.is_empty()
        && name.len() <= 24
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !name.contains("__");
    if fits {
        Ok(())
    } else {
        Err(format!(
            "server name `{name}`: use 1 to 24 letters, digits, `-` or `_` (not `__`)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_common_format() {
        let config = McpConfig::from_json(
            r#"{"mcpServers": {
                "time": {"command": "uvx", "args": ["mcp-server-time"], "env": {"TZ": "UTC"}},
                "docs": {"type": "http", "url": "http://127.0.0.1:8000/mcp",
                         "headers": {"Authorization": "Bearer sk-secret"}, "timeout_secs": 5},
                "old": {"command": "x", "disabled": true}
            }}"#,
        )
        .unwrap();
        let names: Vec<_> = config.servers.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["docs", "time"]);
        assert_eq!(config.servers[0].call_timeout, Duration::from_secs(5));
        assert_eq!(config.servers[1].call_timeout, DEFAULT_CALL_TIMEOUT);
        let printed = format!("{config:?}");
        assert!(!printed.contains("sk-secret") && printed.contains("Authorization"));
    }

    #[test]
    fn refuses_what_cannot_work() {
        for (file, says) in [
            (r#"{"mcpServers": {"a__b": {"command": "x"}}}"#, "not `__`"),
            (r#"{"mcpServers": {"a": {}}}"#, "give `command`"),
            (
                r#"{"mcpServers": {"a": {"command": "x", "url": "http://h"}}}"#,
                "not both",
            ),
            (r#"{"mcpServers": {"a": {"url": "ftp://h"}}}"#, "http://"),
            (r#"{"servers": {}}"#, "mcpServers"),
        ] {
            let error = McpConfig::from_json(file).unwrap_err();
            assert!(error.contains(says), "{file}: {error}");
        }
    }
}
