//! Clients that misbehave, and what they cost the server: connections that
//! send half a request and stall, and sockets that never read while runs
//! stream to them.

use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::session::{bearer, Http, Run};
use crate::{memory, Memory};

fn mib(memory: &Memory) -> String {
    format!(
        "RSS {:.1} MiB (peak {:.1} MiB)",
        memory.rss_kib as f64 / 1024.0,
        memory.peak_kib as f64 / 1024.0
    )
}

/// `count` connections that send half a request's headers and stall: the
/// server's memory while it holds them, and how long until it closes them.
pub async fn stall(addr: &str, count: usize, server_pid: u32) -> anyhow::Result<()> {
    let before = memory(server_pid)?;
    let started = Instant::now();
    let mut stalled = Vec::with_capacity(count);
    for _ in 0..count {
        let mut tcp = TcpStream::connect(addr).await?;
        tcp.write_all(b"POST /api/threads HTTP/1.1\r\nHost: stall\r\nContent-Le")
            .await?;
        stalled.push(tcp);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let holding = memory(server_pid)?;
    let mut closed = Vec::new();
    for mut tcp in stalled {
        closed.push(tokio::spawn(async move {
            let mut buf = [0u8; 256];
            while tcp.read(&mut buf).await.is_ok_and(|n| n > 0) {}
        }));
    }
    for task in closed {
        task.await?;
    }
    println!(
        "stall: {count} half-sent requests held: {} ({} before); all closed by the server after {:.1} s",
        mib(&holding),
        mib(&before),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `deaf` sockets on one thread that never read, while one client runs
/// there for `seconds`: the server's memory, and the runs completed.
pub async fn deaf(addr: &str, deaf: usize, seconds: u64, server_pid: u32) -> anyhow::Result<()> {
    let before = memory(server_pid)?;
    let mut http = Http::connect(addr).await?;
    let thread_id = http.create_thread().await?;
    let mut sockets = Vec::with_capacity(deaf);
    for _ in 0..deaf {
        let tcp = TcpStream::connect(addr).await?;
        // A small receive window: the server's writes back up at once.
        let url = format!("ws://{addr}/ws/threads/{thread_id}");
        let mut request = url.into_client_request()?;
        if let Some(bearer) = bearer() {
            request
                .headers_mut()
                .insert("authorization", bearer.parse()?);
        }
        let config = WebSocketConfig::default().read_buffer_size(1024);
        let (ws, _) = tokio_tungstenite::client_async_with_config(request, tcp, Some(config))
            .await
            .context("deaf socket")?;
        sockets.push(ws); // never read
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut runs = 0;
    let mut peak = memory(server_pid)?;
    while Instant::now() < deadline {
        Run::start_on(addr, thread_id.clone())
            .await?
            .approve_and_finish()
            .await?;
        runs += 1;
        if runs % 20 == 0 {
            let now = memory(server_pid)?;
            if now.rss_kib > peak.rss_kib {
                peak = now;
            }
        }
    }
    let after = memory(server_pid)?;
    println!(
        "deaf: {deaf} sockets that never read, {runs} runs streamed to them in {seconds} s: {} at the end, highest {:.1} MiB ({} before)",
        mib(&after),
        peak.rss_kib as f64 / 1024.0,
        mib(&before)
    );
    drop(sockets);
    Ok(())
}
