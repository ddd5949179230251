//! Tools from MCP servers (the Model Context Protocol), through the
//! official SDK, `rmcp`. Each configured server is kept connected by a task
//! of its own ([`supervisor`]): started with this server, restarted with
//! backoff when it dies, its tools listed again when it says they changed.
//! A server that cannot start is logged and reported (`GET /api/tools`);
//! the others keep working.
//!
//! A tool is offered to the model as `server__tool`.

mod config;
mod content;
mod supervisor;

use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use protocol::Args;
use rmcp::model::CallToolRequestParams;
use rmcp::{Peer, RoleClient};
use tokio::sync::{watch, Notify};

pub use config::{McpConfig, ServerSpec, Transport};
pub use content::Outcome;

use super::schema::ArgsSchema;

/// Between a server's name and its tool's in the name the model sees.
pub const SEPARATOR: &str = "__";

/// How long a run's first model turn waits for servers still starting, so
/// the model is not offered a partial list while they come up.
const STARTUP_WAIT: Duration = Duration::from_secs(30);

/// One tool of one server.
#[derive(Debug)]
pub struct McpTool {
    /// `server__tool`, as the model and the approval policy name it.
    pub name: String,
    /// The tool's own name on its server.
    pub remote: String,
    pub description: String,
    pub input_schema: serde_json::Value,
    schema: ArgsSchema,
    /// Weak: the server holds its tools.
    server: Weak<Server>,
}

impl McpTool {
    pub fn check(&self, args: &Args) -> Result<(), crate::contract::ArgsError> {
        self.schema.check(args)
    }

    /// Runs the tool. Every failure (the server down, dying mid-call, a
    /// timeout, the tool's own error) is an [`Outcome`] with `is_error`, for
    /// the model to read: the run goes on.
    pub async fn call(&self, args: Args) -> Outcome {
        let Some(server) = self.server.upgrade() else {
            return Outcome::error("The tool server was removed, so the tool did not run.".into());
        };
        let Some(peer) = server.peer() else {
            return Outcome::error(format!(
                "The tool server `{}` is not running ({}), so `{}` did not run.",
                server.spec.name,
                server.status_line(),
                self.name
            ));
        };
        let request = CallToolRequestParams::new(self.remote.clone()).with_arguments(args);
        match tokio::time::timeout(server.spec.call_timeout, peer.call_tool(request)).await {
            Err(_) => Outcome::error(format!(
                "`{}` did not answer within {} s, so its result is unknown.",
                self.name,
                server.spec.call_timeout.as_secs()
            )),
            Ok(Err(e)) => {
                tracing::warn!(server = %server.spec.name, tool = %self.remote, error = %e, "MCP call failed");
                Outcome::error(format!(
                    "The tool server `{}` failed during the call ({e}); `{}` may not have run.",
                    server.spec.name, self.name
                ))
            }
            Ok(Ok(result)) => content::outcome(result),
        }
    }
}

pub use protocol::{ToolServerReport as ServerReport, ToolServerStatus as Status};

/// Every configured server, and the tools they offer now.
pub struct McpHub {
    servers: Vec<Arc<Server>>,
    supervisors: Vec<tokio::task::AbortHandle>,
}

/// Stopping a supervisor drops its connection, which ends a stdio server's
/// process.
impl Drop for McpHub {
    fn drop(&mut self) {
        for task in &self.supervisors {
            task.abort();
        }
    }
}

struct Server {
    spec: ServerSpec,
    state: RwLock<Connection>,
    /// `false` while it starts for the first time, or lists its tools
    /// again after saying they changed.
    settled: watch::Sender<bool>,
    /// The server said its tools changed.
    changed: Notify,
    /// A stdio server's last line on stderr.
    stderr: std::sync::Mutex<Option<String>>,
}

#[derive(Default)]
struct Connection {
    status: Status,
    peer: Option<Peer<RoleClient>>,
    tools: Vec<Arc<McpTool>>,
    error: Option<String>,
    starts: u32,
}

impl McpHub {
    /// Starts a supervisor per server; returns at once. Call within Tokio.
    pub fn start(config: &McpConfig) -> Arc<Self> {
        let servers: Vec<_> = config
            .servers
            .iter()
            .map(|spec| {
                Arc::new(Server {
                    spec: spec.clone(),
                    state: RwLock::default(),
                    settled: watch::Sender::new(false),
                    changed: Notify::new(),
                    stderr: std::sync::Mutex::default(),
                })
            })
            .collect();
        let supervisors = servers
            .iter()
            .map(|server| tokio::spawn(supervisor::supervise(server.clone())).abort_handle())
            .collect();
        Arc::new(Self {
            servers,
            supervisors,
        })
    }

    /// Waits (up to [`STARTUP_WAIT`]) until every server's first start
    /// ended and no announced change is still being listed.
    pub async fn settled(&self) {
        let all = futures_util::future::join_all(self.servers.iter().map(|server| async {
            let mut settled = server.settled.subscribe();
            let _ = settled.wait_for(|done| *done).await;
        }));
        let _ = tokio::time::timeout(STARTUP_WAIT, all).await;
    }

    /// The tools on offer now, server by server.
    pub fn tools(&self) -> Vec<Arc<McpTool>> {
        self.servers
            .iter()
            .flat_map(|server| server.read().tools.clone())
            .collect()
    }

    pub fn find(&self, name: &str) -> Option<Arc<McpTool>> {
        let (server, _) = name.split_once(SEPARATOR)?;
        let server = self.servers.iter().find(|s| s.spec.name == server)?;
        let found = server.read().tools.iter().find(|t| t.name == name).cloned();
        found
    }

    pub fn report(&self) -> Vec<ServerReport> {
        self.servers
            .iter()
            .map(|server| {
                let state = server.read();
                ServerReport {
                    name: server.spec.name.clone(),
                    transport: match server.spec.transport {
                        Transport::Stdio { .. } => protocol::ToolTransport::Stdio,
                        Transport::Http { .. } => protocol::ToolTransport::Http,
                    },
                    status: state.status,
                    error: state.error.clone(),
                    starts: state.starts,
                    tools: state.tools.iter().map(|t| t.name.clone()).collect(),
                }
            })
            .collect()
    }
}

impl Server {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Connection> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Connection> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    fn stderr_tail(&self) -> Option<String> {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn peer(&self) -> Option<Peer<RoleClient>> {
        let state = self.read();
        (state.status == Status::Ready)
            .then(|| state.peer.clone())
            .flatten()
    }

    fn status_line(&self) -> String {
        let state = self.read();
        match (&state.status, &state.error) {
            (Status::Starting, _) => "it is starting".into(),
            (_, Some(error)) => format!("it is restarting after: {error}"),
            _ => "it is restarting".into(),
        }
    }
}

/// The name the model sees for `remote` on `server`: OpenAI-compatible
/// servers take `[A-Za-z0-9_-]{1,64}`.
fn exposed_name(server: &str, remote: &str) -> String {
    let mut name = format!("{server}{SEPARATOR}");
    name.extend(remote.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            c
        } else {
            '_'
        }
    }));
    name.truncate(64);
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_every_model_server() {
        assert_eq!(exposed_name("fetch", "fetch"), "fetch__fetch");
        assert_eq!(exposed_name("fs", "read.file/v2"), "fs__read_file_v2");
        assert_eq!(exposed_name("s", &"x".repeat(100)).len(), 64);
    }
}
