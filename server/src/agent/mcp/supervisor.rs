//! Keeps one MCP server connected: starts it, lists its tools, lists them
//! again when it announces a change, and when it dies or cannot start,
//! tries again after a pause that doubles up to a ceiling.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use axum::http::{HeaderName, HeaderValue};
use backon::{BackoffBuilder, ExponentialBuilder};
use rmcp::model::{ClientCapabilities, ClientConfig, Implementation};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{ClientHandler, Peer, RoleClient, ServiceExt};
use tokio::io::AsyncBufReadExt;

use super::{exposed_name, McpTool, Server, Status, Transport};
use crate::agent::schema::ArgsSchema;

/// How long a server may take to start and answer `initialize` (`uvx`
/// may be fetching it).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A server up this long has its backoff forgiven.
const HEALTHY: Duration = Duration::from_secs(60);

/// Hears the server's notifications for the supervisor.
#[derive(Clone)]
struct Handler(Weak<Server>);

impl ClientHandler for Handler {
    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        if let Some(server) = self.0.upgrade() {
            // Unsettled until listed again: the next model turn waits for
            // the new list (`McpHub::settled`).
            server.settled.send_replace(false);
            server.changed.notify_one();
        }
    }

    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("hitl-console", env!("CARGO_PKG_VERSION")),
        )
    }
}

pub(super) async fn supervise(server: Arc<Server>) {
    let name = server.spec.name.clone();
    let mut pauses = backoff();
    loop {
        server.write().starts += 1;
        let started = Instant::now();
        match connect(&server).await {
            Ok(service) => {
                let peer = service.peer().clone();
                list_tools(&server, &peer).await;
                tracing::info!(server = %name, tools = server.read().tools.len(), "MCP server ready");
                server.settled.send_replace(true);
                let mut quit = std::pin::pin!(service.waiting());
                let reason = loop {
                    tokio::select! {
                        reason = &mut quit => break reason,
                        () = server.changed.notified() => {
                            list_tools(&server, &peer).await;
                            server.settled.send_replace(true);
                        }
                    }
                };
                let error = match reason {
                    Ok(reason) => format!("the server stopped ({reason:?})"),
                    Err(e) => format!("the connection task failed: {e}"),
                };
                tracing::warn!(server = %name, %error, "MCP server down; restarting");
                down(&server, error);
            }
            Err(error) => {
                tracing::warn!(server = %name, %error, "MCP server did not start");
                down(&server, error);
                server.settled.send_replace(true);
            }
        }
        if started.elapsed() > HEALTHY {
            pauses = backoff();
        }
        let pause = pauses.next().unwrap_or(Duration::from_secs(30));
        tokio::time::sleep(pause).await;
    }
}

fn backoff() -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(250))
        .with_max_delay(Duration::from_secs(30))
        .with_jitter()
        .without_max_times()
        .build()
}

fn down(server: &Server, error: String) {
    let mut state = server.write();
    let detail = server.stderr_tail();
    state.status = Status::Restarting;
    state.peer = None;
    state.tools.clear();
    state.error = Some(match detail {
        Some(line) => format!("{error} (its last words: {line})"),
        None => error,
    });
}

async fn connect(server: &Arc<Server>) -> Result<RunningService<RoleClient, Handler>, String> {
    let handler = Handler(Arc::downgrade(server));
    let start = async {
        match &server.spec.transport {
            Transport::Stdio {
                command,
                args,
                env,
                cwd,
            } => {
                let mut cmd = tokio::process::Command::new(command);
                cmd.args(args).envs(env);
                if let Some(cwd) = cwd {
                    cmd.current_dir(cwd);
                }
                let (transport, stderr) = TokioChildProcess::builder(cmd)
                    .stderr(Stdio::piped())
                    .spawn()
                    .map_err(|e| format!("could not start `{command}`: {e}"))?;
                if let Some(stderr) = stderr {
                    tokio::spawn(relay_stderr(Arc::downgrade(server), stderr));
                }
                handler.serve(transport).await.map_err(|e| e.to_string())
            }
            Transport::Http { url, headers } => {
                let mut config = StreamableHttpClientTransportConfig::with_uri(url.as_str());
                let mut custom = HashMap::new();
                for (key, value) in headers {
                    if key.eq_ignore_ascii_case("authorization") {
                        let token = value.strip_prefix("Bearer ").unwrap_or(value);
                        config = config.auth_header(token);
                        continue;
                    }
                    let key = HeaderName::try_from(key.as_str())
                        .map_err(|e| format!("header `{key}`: {e}"))?;
                    let value = HeaderValue::try_from(value.as_str())
                        .map_err(|e| format!("header `{key}`: {e}"))?;
                    custom.insert(key, value);
                }
                let transport =
                    StreamableHttpClientTransport::from_config(config.custom_headers(custom));
                handler.serve(transport).await.map_err(|e| e.to_string())
            }
        }
    };
    tokio::time::timeout(START_TIMEOUT, start)
        .await
        .map_err(|_| format!("it did not start within {} s", START_TIMEOUT.as_secs()))?
}

/// A stdio server's stderr, line by line, into the log; the last line is
/// kept to say why it died.
async fn relay_stderr(server: Weak<Server>, stderr: tokio::process::ChildStderr) {
    let mut lines = tokio::io::BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let Some(server) = server.upgrade() else {
            return;
        };
        tracing::info!(server = %server.spec.name, "{line}");
        if !line.trim().is_empty() {
            let mut tail = server.stderr.lock().unwrap_or_else(|e| e.into_inner());
            *tail = Some(line.chars().take(300).collect());
        }
    }
}

async fn list_tools(server: &Arc<Server>, peer: &Peer<RoleClient>) {
    let listing = tokio::time::timeout(server.spec.call_timeout, peer.list_all_tools());
    let listed = match listing.await {
        Ok(Ok(listed)) => listed,
        Ok(Err(e)) => {
            tracing::warn!(server = %server.spec.name, error = %e, "MCP tools/list failed");
            Vec::new()
        }
        Err(_) => {
            tracing::warn!(server = %server.spec.name, "MCP tools/list did not answer");
            Vec::new()
        }
    };
    let mut tools: Vec<Arc<McpTool>> = Vec::with_capacity(listed.len());
    for tool in listed {
        let name = exposed_name(&server.spec.name, &tool.name);
        let input_schema = serde_json::Value::Object((*tool.input_schema).clone());
        let schema = match ArgsSchema::new(&input_schema) {
            Ok(schema) => schema,
            Err(error) => {
                tracing::warn!(server = %server.spec.name, tool = %tool.name, %error, "tool not offered");
                continue;
            }
        };
        if tools.iter().any(|t| t.name == name) {
            tracing::warn!(server = %server.spec.name, tool = %tool.name, "tool not offered: its name clashes with another's as `{name}`");
            continue;
        }
        tools.push(Arc::new(McpTool {
            name,
            remote: tool.name.to_string(),
            description: tool
                .description
                .as_deref()
                .or(tool.title.as_deref())
                .unwrap_or_default()
                .to_owned(),
            input_schema,
            schema,
            server: Arc::downgrade(server),
        }));
    }
    let mut state = server.write();
    state.status = Status::Ready;
    state.peer = Some(peer.clone());
    state.tools = tools;
    state.error = None;
}
