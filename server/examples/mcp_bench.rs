//! `bench/run mcp`: what an MCP tool call over stdio costs, and what a
//! configured server costs the agent in memory.
//!
//! The overhead of a call is its round trip through the agent's hub (rmcp,
//! the pipe, the server's framework and back) minus the tool's own time.
//! The tool is `echo` of the reference `server-everything` (its own time is
//! nil) and `get_current_time` of `mcp-server-time`; beside each, the same
//! `tools/call` written by hand as one JSON line on the same kind of pipe,
//! so the hub's own share shows.
//!
//! Usage: mcp_bench <folder of the reference servers' commands>

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use server::agent::mcp::{McpConfig, McpHub};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CALLS: usize = 2000;

#[tokio::main]
async fn main() {
    let bin = std::env::args()
        .nth(1)
        .expect("usage: mcp_bench <bin folder>");
    let bin = Path::new(&bin);
    let everything = bin.join("mcp-server-everything").display().to_string();
    let time = bin.join("mcp-server-time").display().to_string();

    println!(
        "| tool (stdio) | via the agent's hub, p50 / p99 | hand-written JSON-RPC, p50 / p99 |"
    );
    println!("| --- | --- | --- |");
    for (server, command, args, tool, call_args) in [
        (
            "every",
            &everything,
            vec!["stdio"],
            "echo",
            json!({"message": "hi"}),
        ),
        (
            "time",
            &time,
            vec![],
            "get_current_time",
            json!({"timezone": "UTC"}),
        ),
    ] {
        let hub_times = via_hub(server, command, &args, tool, &call_args).await;
        let raw_times = by_hand(command, &args, tool, &call_args).await;
        println!(
            "| {server}__{tool} | {} / {} | {} / {} |",
            micros(&hub_times, 0.50),
            micros(&hub_times, 0.99),
            micros(&raw_times, 0.50),
            micros(&raw_times, 0.99),
        );
    }

    // Memory: the agent's side of each server (its connection, tool list
    // and schemas), not the server's own process.
    let before = rss_kib();
    let servers: serde_json::Map<String, Value> = (0..10)
        .map(|i| (format!("time{i}"), json!({"command": time})))
        .collect();
    let config = McpConfig::from_json(&json!({ "mcpServers": servers }).to_string()).unwrap();
    let hub = McpHub::start(&config);
    hub.settled().await;
    assert_eq!(hub.tools().len(), 20, "ten servers of two tools each");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib();
    let children: u64 = hub_children_rss_kib();
    println!();
    println!(
        "memory per configured server: {:.1} KiB in the agent's process (10 servers: {} → {} KiB RSS); each mcp-server-time process itself: {:.1} MiB",
        (after.saturating_sub(before)) as f64 / 10.0,
        before,
        after,
        children as f64 / 10.0 / 1024.0
    );
    drop(hub);
}

async fn via_hub(
    server: &str,
    command: &str,
    args: &[&str],
    tool: &str,
    call_args: &Value,
) -> Vec<Duration> {
    let config = McpConfig::from_json(
        &json!({"mcpServers": {server: {"command": command, "args": args}}}).to_string(),
    )
    .unwrap();
    let hub = McpHub::start(&config);
    hub.settled().await;
    let tool = hub
        .find(&format!("{server}__{tool}"))
        .expect("the tool is listed");
    let args = call_args.as_object().unwrap().clone();
    for _ in 0..100 {
        assert!(!tool.call(args.clone()).await.is_error);
    }
    let mut times = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let start = Instant::now();
        let outcome = tool.call(args.clone()).await;
        times.push(start.elapsed());
        assert!(!outcome.is_error, "{}", outcome.text);
    }
    times
}

/// The same calls as JSON lines on the server's stdin, read back from its
/// stdout: the least any client can do.
async fn by_hand(command: &str, args: &[&str], tool: &str, call_args: &Value) -> Vec<Duration> {
    let mut child = tokio::process::Command::new(command)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut send = async |message: Value| {
        stdin
            .write_all(format!("{message}\n").as_bytes())
            .await
            .unwrap();
        stdin.flush().await.unwrap();
    };
    send(
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "bench", "version": "1"}}}),
    )
    .await;
    let _ = lines.next_line().await.unwrap();
    send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;
    let mut times = Vec::with_capacity(CALLS);
    for id in 1..=(CALLS + 100) {
        let start = Instant::now();
        send(json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": tool, "arguments": call_args}}))
        .await;
        // Notifications (logging) may come first: read to the answer.
        loop {
            let line = lines.next_line().await.unwrap().expect("an answer");
            let message: Value = serde_json::from_str(&line).unwrap();
            if message["id"] == json!(id) {
                assert!(message["result"]["isError"] != json!(true), "{line}");
                break;
            }
        }
        if id > 100 {
            times.push(start.elapsed());
        }
    }
    times
}

fn micros(times: &[Duration], q: f64) -> String {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    let at = ((sorted.len() as f64 * q) as usize).min(sorted.len() - 1);
    format!("{} µs", sorted[at].as_micros())
}

fn rss_kib() -> u64 {
    kib_of(&std::fs::read_to_string("/proc/self/status").unwrap())
}

fn kib_of(status: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The RSS of this process's children (the servers), summed.
fn hub_children_rss_kib() -> u64 {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let ppid = stat
                .rsplit(')')
                .next()?
                .split_whitespace()
                .nth(1)?
                .to_owned();
            (ppid == me).then(|| {
                kib_of(&std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default())
            })
        })
        .sum()
}
