//! Load tool: drives a running server over real sockets the way a browser
//! does (create a thread, connect, send a message, wait for the interrupt,
//! approve, wait for `run_finished`) and prints what it measured.
//!
//! - `throughput`: closed loop, N concurrent workers, runs per second and
//!   decision round trip.
//! - `latency`: open loop, a new run every 1/R s whatever the server's
//!   speed; decision round trip (decision sent → `interrupt_resolved`).
//! - `seed`: N finished threads, stored, for a start-up measurement.
//! - `hold`: N threads parked on pending interrupts over N open sockets;
//!   the server's resident memory while it holds them.

mod abuse;
mod session;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};
use hdrhistogram::Histogram;

use session::{Http, Run};

/// HTTP connections the open-loop runs share for `POST /api/threads`.
const HTTP_POOL: usize = 16;

#[derive(Parser)]
struct Cli {
    /// The server's address.
    #[arg(long, default_value = "127.0.0.1:3000", global = true)]
    addr: String,
    /// An API token (`POST /api/tokens`) sent as a bearer on every request
    /// and upgrade; none for a server with sign-in off.
    #[arg(long, env = "HITL_TOKEN", global = true)]
    token: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Closed loop: runs per second with a fixed number of concurrent threads.
    Throughput {
        #[arg(long, default_value_t = 50)]
        concurrency: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Open loop: decision round-trip latency at a steady offered rate.
    Latency {
        #[arg(long, default_value_t = 500)]
        rate: u64,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Runs offered in this first stretch are not measured.
        #[arg(long, default_value_t = 1)]
        warmup_seconds: u64,
    },
    /// Stores N finished threads (a message, a plan approved, the
    /// findings): data for a start-up measurement.
    Seed {
        #[arg(long, default_value_t = 10_000)]
        count: u64,
        #[arg(long, default_value_t = 50)]
        concurrency: usize,
    },
    /// Signs in over and over (`POST /api/session`): sign-ins per second,
    /// each a password check.
    SignIn {
        #[arg(long)]
        name: String,
        #[arg(long)]
        password: String,
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// N connections that send half a request and stall: the server's
    /// memory, and how long until it closes them.
    Stall {
        #[arg(long, default_value_t = 200)]
        count: usize,
        #[arg(long)]
        server_pid: u32,
    },
    /// N sockets on one thread that never read while runs stream there.
    Deaf {
        #[arg(long, default_value_t = 50)]
        count: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        #[arg(long)]
        server_pid: u32,
    },
    /// Holds N pending interrupts on N sockets and reads the server's memory.
    Hold {
        #[arg(long, default_value_t = 10_000)]
        count: usize,
        /// The server's process id, for /proc/PID/status.
        #[arg(long)]
        server_pid: u32,
        /// Close each socket once its interrupt arrives: measures the
        /// threads and runs alone, without the connections.
        #[arg(long)]
        without_sockets: bool,
        /// Keep holding after the measurement until interrupted (Ctrl-C),
        /// for a heap profiler to see the held state, not the approvals.
        #[arg(long)]
        linger: bool,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _ = rlimit::increase_nofile_limit(200_000);
    session::TOKEN.get_or_init(|| cli.token.clone());
    match cli.command {
        Command::Throughput {
            concurrency,
            seconds,
        } => throughput(&cli.addr, concurrency, Duration::from_secs(seconds)).await,
        Command::Latency {
            rate,
            seconds,
            warmup_seconds,
        } => {
            let warmup = Duration::from_secs(warmup_seconds);
            latency(&cli.addr, rate, warmup, Duration::from_secs(seconds)).await
        }
        Command::Hold {
            count,
            server_pid,
            without_sockets,
            linger,
        } => hold(&cli.addr, count, server_pid, without_sockets, linger).await,
        Command::Seed { count, concurrency } => seed(&cli.addr, count, concurrency).await,
        Command::Stall { count, server_pid } => abuse::stall(&cli.addr, count, server_pid).await,
        Command::Deaf {
            count,
            seconds,
            server_pid,
        } => abuse::deaf(&cli.addr, count, seconds, server_pid).await,
        Command::SignIn {
            name,
            password,
            concurrency,
            seconds,
        } => sign_ins(&cli.addr, &name, &password, concurrency, seconds).await,
    }
}

async fn sign_ins(
    addr: &str,
    name: &str,
    password: &str,
    concurrency: usize,
    seconds: u64,
) -> anyhow::Result<()> {
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let body = serde_json::json!({"name": name, "password": password}).to_string();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (addr, body) = (addr.to_owned(), body.clone());
        workers.push(tokio::spawn(async move {
            let mut http = Http::connect(&addr).await?;
            let mut latencies = Histogram::<u64>::new(3)?;
            while Instant::now() < deadline {
                let sent = Instant::now();
                http.sign_in(&body).await?;
                latencies.record(sent.elapsed().as_micros() as u64)?;
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut all = Histogram::<u64>::new(3)?;
    for worker in workers {
        all.add(worker.await??)?;
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "sign-in: {} sign-ins in {elapsed:.2} s with {concurrency} at once = {:.1} per second; p50 {} ms, p99 {} ms",
        all.len(),
        all.len() as f64 / elapsed,
        all.value_at_quantile(0.5) / 1000,
        all.value_at_quantile(0.99) / 1000,
    );
    Ok(())
}

async fn throughput(addr: &str, concurrency: usize, length: Duration) -> anyhow::Result<()> {
    // Warm up connections and allocators before measuring.
    run_workers(addr, concurrency, Duration::from_secs(1)).await?;
    let (h, elapsed) = run_workers(addr, concurrency, length).await?;
    let runs = h.len();
    println!(
        "throughput: {runs} runs in {:.2} s with {concurrency} concurrent threads = {:.0} runs/s; decision round trip p50 {} µs, p99 {} µs, max {} µs",
        elapsed.as_secs_f64(),
        runs as f64 / elapsed.as_secs_f64(),
        h.value_at_quantile(0.50),
        h.value_at_quantile(0.99),
        h.max()
    );
    Ok(())
}

/// Closed loop: each worker starts its next run when the last one ends.
/// Returns the decision round trips (one per run) and the time taken.
async fn run_workers(
    addr: &str,
    concurrency: usize,
    length: Duration,
) -> anyhow::Result<(Histogram<u64>, Duration)> {
    let start = Instant::now();
    let deadline = start + length;
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let addr = addr.to_owned();
        workers.push(tokio::spawn(async move {
            let mut http = Http::connect(&addr).await?;
            let mut round_trips = Histogram::<u64>::new(3)?;
            while Instant::now() < deadline {
                let rtt = Run::start(&mut http, &addr)
                    .await?
                    .approve_and_finish()
                    .await?;
                round_trips.record(rtt.as_micros() as u64)?;
            }
            anyhow::Ok(round_trips)
        }));
    }
    let mut all = Histogram::<u64>::new(3)?;
    for worker in workers {
        all.add(worker.await??)?;
    }
    Ok((all, start.elapsed()))
}

async fn seed(addr: &str, count: u64, concurrency: usize) -> anyhow::Result<()> {
    let left = Arc::new(std::sync::atomic::AtomicU64::new(count));
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (addr, left) = (addr.to_owned(), left.clone());
        workers.push(tokio::spawn(async move {
            let mut http = Http::connect(&addr).await?;
            while left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
            {
                Run::start(&mut http, &addr)
                    .await?
                    .approve_and_finish()
                    .await?;
            }
            anyhow::Ok(())
        }));
    }
    for worker in workers {
        worker.await??;
    }
    println!(
        "seed: {count} finished threads stored in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn latency(addr: &str, rate: u64, warmup: Duration, length: Duration) -> anyhow::Result<()> {
    let histogram = Arc::new(Mutex::new(Histogram::<u64>::new(3)?));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let skipped = (rate as f64 * warmup.as_secs_f64()) as u64;
    let total = skipped + (rate as f64 * length.as_secs_f64()) as u64;
    // Kept-alive HTTP connections shared by the runs, as a browser's pool.
    let mut pool = Vec::new();
    for _ in 0..HTTP_POOL {
        pool.push(Arc::new(tokio::sync::Mutex::new(
            Http::connect(addr).await?,
        )));
    }
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        // Each run starts on its own schedule, not when the last one ended.
        tokio::time::sleep_until(start + interval * i as u32).await;
        let (addr, histogram, failures) = (addr.to_owned(), histogram.clone(), failures.clone());
        let http = pool[i as usize % HTTP_POOL].clone();
        tasks.push(tokio::spawn(async move {
            let outcome = async {
                let thread_id = http.lock().await.create_thread().await?;
                let run = Run::start_on(&addr, thread_id).await?;
                let round_trip = run.approve_and_finish().await?;
                anyhow::Ok(round_trip)
            }
            .await;
            match outcome {
                Ok(_) if i < skipped => {}
                Ok(rtt) => histogram
                    .lock()
                    .unwrap()
                    .record(rtt.as_micros() as u64)
                    .unwrap(),
                Err(e) => failures.lock().unwrap().push(e.to_string()),
            }
        }));
    }
    let offered = start.elapsed();
    for task in tasks {
        task.await?;
    }
    let h = histogram.lock().unwrap();
    let failures = failures.lock().unwrap();
    println!(
        "latency: {} runs offered at {rate}/s over {:.2} s ({} warm-up runs not measured, {} failed); decision round trip p50 {} µs, p90 {} µs, p99 {} µs, p99.9 {} µs, max {} µs",
        total,
        offered.as_secs_f64(),
        skipped,
        failures.len(),
        h.value_at_quantile(0.50),
        h.value_at_quantile(0.90),
        h.value_at_quantile(0.99),
        h.value_at_quantile(0.999),
        h.max()
    );
    if let Some(first) = failures.first() {
        println!("first failure: {first}");
    }
    Ok(())
}

async fn hold(
    addr: &str,
    count: usize,
    server_pid: u32,
    without_sockets: bool,
    linger: bool,
) -> anyhow::Result<()> {
    let before = memory(server_pid)?;
    let start = Instant::now();
    let mut held = Vec::with_capacity(count);
    let mut http = Http::connect(addr).await?;
    let mut pending = Vec::new();
    for _ in 0..count {
        let thread_id = http.create_thread().await?;
        let addr = addr.to_owned();
        pending.push(tokio::spawn(async move {
            let run = Run::start_on(&addr, thread_id).await?;
            if without_sockets {
                run.close().await;
                return anyhow::Ok(None);
            }
            anyhow::Ok(Some(run))
        }));
        // Keep a few hundred handshakes in flight, not ten thousand.
        if pending.len() == 256 {
            for task in pending.drain(..) {
                held.extend(task.await??);
            }
        }
    }
    for task in pending {
        held.extend(task.await??);
    }
    let ramp = start.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let holding = memory(server_pid)?;
    println!(
        "hold: {count} pending interrupts on {} open sockets after {:.1} s; server RSS {:.1} MiB (peak {:.1} MiB; {:.1} MiB before), {:.1} KiB per held interrupt",
        held.len(),
        ramp.as_secs_f64(),
        holding.rss_kib as f64 / 1024.0,
        holding.peak_kib as f64 / 1024.0,
        before.rss_kib as f64 / 1024.0,
        (holding.rss_kib - before.rss_kib) as f64 / count as f64,
    );
    if linger {
        tokio::signal::ctrl_c().await?;
        return Ok(());
    }
    // Every one of them can still be approved and completes.
    let held_is_empty = held.is_empty();
    let mut finishing = Vec::with_capacity(count);
    for run in held {
        finishing.push(tokio::spawn(run.approve_and_finish()));
    }
    let mut completed = 0;
    for task in finishing {
        task.await?.context("an approved run did not complete")?;
        completed += 1;
    }
    if !held_is_empty {
        println!("hold: all {completed} held runs approved and completed");
    }
    Ok(())
}

pub(crate) struct Memory {
    pub rss_kib: u64,
    pub peak_kib: u64,
}

pub(crate) fn memory(pid: u32) -> anyhow::Result<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .with_context(|| format!("{name} missing"))?;
        Ok(line
            .split_whitespace()
            .nth(1)
            .context("no value")?
            .parse()?)
    };
    Ok(Memory {
        rss_kib: field("VmRSS:")?,
        peak_kib: field("VmHWM:")?,
    })
}
