//! The agent's tool servers: which are up, which are not and why, and the
//! tools each offers. A server that cannot start is shown here as well as
//! logged.

use leptos::prelude::*;
use protocol::{ToolServerReport, ToolServerStatus, ToolTransport};

#[component]
pub fn ToolsPage(servers: Vec<ToolServerReport>) -> impl IntoView {
    let down = servers
        .iter()
        .filter(|s| s.status != ToolServerStatus::Ready)
        .count();
    let summary = match (servers.len(), down) {
        (0, _) => "The agent has no tool servers (HITL_MCP_CONFIG names them).".to_owned(),
        (1, 0) => "The tool server is ready.".to_owned(),
        (n, 0) => format!("All {n} tool servers are ready."),
        (1, 1) => {
            "The tool server is not ready: its tools are not offered to the agent.".to_owned()
        }
        (n, 1) => {
            format!("1 of {n} tool servers is not ready: its tools are not offered to the agent.")
        }
        (n, d) => format!(
            "{d} of {n} tool servers are not ready: their tools are not offered to the agent."
        ),
    };
    let trouble = down > 0;
    view! {
        <section aria-labelledby="tools-title">
            <h1 id="tools-title">"Tools"</h1>
            <p class="muted">
                "The agent's MCP servers. Every call of their tools goes through the approval policy. "
                <a href="/api/tools" rel="external">"This list as JSON"</a>"."
            </p>
            <p class:error=trouble role=trouble.then_some("alert") data-testid="tools-summary">{summary}</p>
            <ul class="tool-servers" data-testid="tool-servers">
                {servers.into_iter().map(|server| view! { <Server server/> }).collect_view()}
            </ul>
        </section>
    }
}

#[component]
fn Server(server: ToolServerReport) -> impl IntoView {
    let (class, status) = match server.status {
        ToolServerStatus::Ready => ("ok", "ready"),
        ToolServerStatus::Starting => ("muted", "starting"),
        ToolServerStatus::Restarting => ("error", "down, restarting"),
    };
    let transport = match server.transport {
        ToolTransport::Stdio => "stdio",
        ToolTransport::Http => "HTTP",
    };
    let starts = match server.starts {
        0 | 1 => None,
        n => Some(format!(" · started {n} times")),
    };
    let name = server.name;
    let id = name.clone();
    view! {
        <li class="card" data-server=id>
            <h2 class="topic">{name}</h2>
            <p>
                <span class=format!("badge {class}") data-testid="server-status">{status}</span>
                " · " {transport} {starts}
            </p>
            {server.error.map(|e| view! { <p class="error" data-testid="server-error">{e}</p> })}
            {(!server.tools.is_empty()).then(|| view! {
                <ul class="tool-names">
                    {server.tools.into_iter().map(|t| view! { <li><code>{t}</code></li> }).collect_view()}
                </ul>
            })}
        </li>
    }
}
