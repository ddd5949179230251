//! What an operator scrapes: `GET /metrics` in the Prometheus text format
//! (`prometheus-client`). One registry per server, so servers in one test
//! process count apart. Events are counted where they happen; levels (open
//! connections, threads loaded, runs active, interrupts pending, the
//! storage queue) are read when scraped.

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Outcome {
    pub status: Status,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum Status {
    completed,
    cancelled,
    failed,
}

impl From<protocol::RunStatus> for Outcome {
    fn from(status: protocol::RunStatus) -> Self {
        let status = match status {
            protocol::RunStatus::Completed => Status::completed,
            protocol::RunStatus::Cancelled => Status::cancelled,
            protocol::RunStatus::Failed => Status::failed,
        };
        Self { status }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Kind {
    pub kind: &'static str,
}

/// Every metric of one server.
pub struct Metrics {
    registry: Registry,
    /// Runs that ended, by how.
    pub runs_finished: Family<Outcome, Counter>,
    /// A decision's time in the server: received to applied (its commit
    /// included), in seconds.
    pub decision_latency: Histogram,
    /// Interrupts that resolved by their timeout.
    pub expiries: Counter,
    /// One batch's commit, in seconds.
    pub storage_commit: Histogram,
    /// Commits that failed, by whether they will be retried.
    pub storage_errors: Family<Kind, Counter>,
    /// Times the connection that hears other servers was lost.
    pub listen_reconnects: Counter,
    /// A model endpoint's failures (HTTP errors, broken streams).
    pub model_errors: Counter,
    /// Requests refused by a quota or a sign-in limit, by which.
    pub rate_limited: Family<Kind, Counter>,
    /// Sign-in attempts, by result.
    pub sign_ins: Family<Kind, Counter>,
    // Levels, set when scraped.
    connections: Gauge,
    http_connections: Gauge,
    threads_loaded: Gauge,
    runs_active: Gauge,
    interrupts_pending: Gauge,
    storage_queue: Gauge,
    ready: Gauge,
}

/// The levels a scrape reads from the server.
pub struct Levels {
    pub connections: usize,
    pub http_connections: usize,
    pub threads_loaded: usize,
    pub runs_active: usize,
    pub interrupts_pending: usize,
    pub storage_queue: usize,
    pub ready: bool,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("hitl");
        let runs_finished = Family::<Outcome, Counter>::default();
        registry.register(
            "runs_finished",
            "Runs that ended, by status",
            runs_finished.clone(),
        );
        // 100 µs to ~6.5 s.
        let decision_latency = Histogram::new(exponential_buckets(0.0001, 2.0, 17));
        registry.register_with_unit(
            "decision_latency",
            "A decision from its frame to applied, storage commit included",
            Unit::Seconds,
            decision_latency.clone(),
        );
        let expiries = Counter::default();
        registry.register(
            "interrupts_expired",
            "Interrupts resolved by their timeout",
            expiries.clone(),
        );
        let storage_commit = Histogram::new(exponential_buckets(0.0001, 2.0, 17));
        registry.register_with_unit(
            "storage_commit",
            "One batch of writes, from begin to commit",
            Unit::Seconds,
            storage_commit.clone(),
        );
        let storage_errors = Family::<Kind, Counter>::default();
        registry.register(
            "storage_errors",
            "Failed commits: transient (retried, or answered storage_failed) or rejected writes",
            storage_errors.clone(),
        );
        let listen_reconnects = Counter::default();
        registry.register(
            "listen_reconnects",
            "Times the LISTEN connection to the other servers was lost and made again",
            listen_reconnects.clone(),
        );
        let model_errors = Counter::default();
        registry.register(
            "model_errors",
            "Failed requests to the model endpoint",
            model_errors.clone(),
        );
        let rate_limited = Family::<Kind, Counter>::default();
        registry.register(
            "rate_limited",
            "Requests refused by a limit, by limit",
            rate_limited.clone(),
        );
        let sign_ins = Family::<Kind, Counter>::default();
        registry.register("sign_ins", "Sign-in attempts, by result", sign_ins.clone());
        let level = |registry: &mut Registry, name: &str, help: &str| {
            let gauge = Gauge::default();
            registry.register(name, help, gauge.clone());
            gauge
        };
        let connections = level(
            &mut registry,
            "websockets_open",
            "Open WebSocket connections",
        );
        let http_connections = level(
            &mut registry,
            "http_connections_open",
            "Open HTTP connections",
        );
        let threads_loaded = level(&mut registry, "threads_loaded", "Threads in memory");
        let runs_active = level(
            &mut registry,
            "runs_active",
            "Runs working or waiting, on this server",
        );
        let interrupts_pending = level(
            &mut registry,
            "interrupts_pending",
            "Interrupts waiting for a decision",
        );
        let storage_queue = level(
            &mut registry,
            "storage_queue_depth",
            "Writes queued for storage",
        );
        let ready = level(
            &mut registry,
            "ready",
            "1 when storage answers, 0 when it does not",
        );
        Self {
            registry,
            runs_finished,
            decision_latency,
            expiries,
            storage_commit,
            storage_errors,
            listen_reconnects,
            model_errors,
            rate_limited,
            sign_ins,
            connections,
            http_connections,
            threads_loaded,
            runs_active,
            interrupts_pending,
            storage_queue,
            ready,
        }
    }
}

impl Metrics {
    /// The text format, with the levels as they are now.
    pub fn render(&self, levels: Levels) -> String {
        self.connections.set(levels.connections as i64);
        self.http_connections.set(levels.http_connections as i64);
        self.threads_loaded.set(levels.threads_loaded as i64);
        self.runs_active.set(levels.runs_active as i64);
        self.interrupts_pending
            .set(levels.interrupts_pending as i64);
        self.storage_queue.set(levels.storage_queue as i64);
        self.ready.set(levels.ready as i64);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String does not fail");
        text
    }

    pub fn kind(kind: &'static str) -> Kind {
        Kind { kind }
    }
}
