//! Settings from the environment (PROTOCOL.md, "Configuration").

use std::net::SocketAddr;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Config {
    /// How long an interrupt waits before it resolves `by: "timeout"`.
    pub decision_timeout: Duration,
    /// How long a run may work, time spent waiting for decisions not counted.
    pub run_timeout: Duration,
    /// Pause between the built-in agent's chunks.
    pub stream_delay: Duration,
    /// Text frames above this get `message_too_large`; the connection stays.
    pub max_frame_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            decision_timeout: Duration::from_secs(300),
            run_timeout: Duration::from_secs(600),
            stream_delay: Duration::from_millis(40),
            max_frame_bytes: 64 * 1024,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{name}={value:?} is not valid: {reason}")]
pub struct ConfigError {
    name: &'static str,
    value: String,
    reason: String,
}

impl ConfigError {
    pub fn new(name: &'static str, value: &str, reason: &str) -> Self {
        Self {
            name,
            value: value.to_owned(),
            reason: reason.to_owned(),
        }
    }
}

impl Config {
    /// Reads `HITL_*` variables; unset ones keep their defaults.
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut config = Self::default();
        if let Some(secs) = env_number("HITL_DECISION_TIMEOUT_SECS")? {
            config.decision_timeout = Duration::from_secs(secs);
        }
        if let Some(secs) = env_number("HITL_RUN_TIMEOUT_SECS")? {
            config.run_timeout = Duration::from_secs(secs);
        }
        if let Some(ms) = env_number("HITL_STREAM_DELAY_MS")? {
            config.stream_delay = Duration::from_millis(ms);
        }
        if let Some(bytes) = env_number("HITL_MAX_FRAME_BYTES")? {
            config.max_frame_bytes = bytes as usize;
        }
        Ok(config)
    }
}

/// `LEPTOS_SITE_ADDR`, else the default of PROTOCOL.md.
pub fn site_addr() -> Result<SocketAddr, ConfigError> {
    let value = std::env::var("LEPTOS_SITE_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    value
        .parse()
        .map_err(|e: std::net::AddrParseError| ConfigError {
            name: "LEPTOS_SITE_ADDR",
            value,
            reason: e.to_string(),
        })
}

fn env_number(name: &'static str) -> Result<Option<u64>, ConfigError> {
    match std::env::var(name) {
        Err(_) => Ok(None),
        Ok(value) => value
            .trim()
            .parse()
            .map(Some)
            .map_err(|e: std::num::ParseIntError| ConfigError {
                name,
                value,
                reason: e.to_string(),
            }),
    }
}

/// Where threads are kept.
#[derive(Clone, Debug, PartialEq)]
pub enum Storage {
    /// `HITL_IN_MEMORY=1`: nothing survives the process (benchmarks, demos).
    Memory,
    /// An sqlx URL: `DATABASE_URL`, else an SQLite file in `HITL_DATA_DIR`
    /// (default `data`).
    Database(String),
}

pub fn storage() -> Result<Storage, ConfigError> {
    match std::env::var("HITL_IN_MEMORY").as_deref() {
        Ok("1") | Ok("true") => return Ok(Storage::Memory),
        Ok("0") | Ok("false") | Ok("") | Err(_) => {}
        Ok(other) => return Err(ConfigError::new("HITL_IN_MEMORY", other, "must be 1 or 0")),
    }
    let dir = std::env::var("HITL_DATA_DIR").unwrap_or_else(|_| "data".into());
    Ok(Storage::Database(crate::store::Store::url_from_env(
        std::path::Path::new(&dir),
    )))
}

/// This process's name to other servers on the same database:
/// `HITL_SERVER_ID`, else host and port. A server restarted with the same
/// name takes its waiting runs back at once; others wait for the lease.
pub fn server_id(addr: SocketAddr) -> String {
    if let Ok(id) = std::env::var("HITL_SERVER_ID") {
        if !id.trim().is_empty() {
            return id.trim().to_owned();
        }
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".into());
    format!("{host}:{}", addr.port())
}

/// `HITL_LEASE_SECS`: how long a server that stops renewing keeps its
/// runs before another server takes them over.
pub fn lease() -> Result<Duration, ConfigError> {
    Ok(Duration::from_secs(
        env_number("HITL_LEASE_SECS")?.unwrap_or(15).max(1),
    ))
}
