//! Every setting of the server, read once from the environment into one
//! value. Nothing else in the crate reads the environment: the rest is
//! handed the part of [`Settings`] it needs, so a test builds a server from
//! a `Settings` with overrides, through the same [`crate::startup::Application::build`]
//! the binary uses.

#[cfg(test)]
mod tests;
mod vars;

use vars::Vars;
pub use vars::MIN_PASSWORD;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use leptos::config::LeptosOptions;

use crate::agent::openai::OpenAiConfig;

#[derive(Clone, Debug)]
pub struct Settings {
    pub site: Site,
    pub runs: Runs,
    pub storage: Storage,
    pub agent: AgentSettings,
    pub auth: Auth,
    pub http: Http,
    pub limits: Limits,
    /// Where the SQLite file and the receipt signing key live
    /// (`HITL_DATA_DIR`).
    pub data_dir: PathBuf,
    /// The `tracing` filter (`RUST_LOG`).
    pub log_filter: String,
}

/// Where the server listens and where its built site is.
#[derive(Clone, Debug)]
pub struct Site {
    /// Leptos's settings; its `site_addr` is where the server listens.
    pub leptos: LeptosOptions,
    /// `cargo leptos watch` rebuilds the assets while this server runs, so
    /// the precompressed copies a release build wrote would be stale.
    pub watch: bool,
}

/// How runs and connections behave.
#[derive(Clone, Debug)]
pub struct Runs {
    /// How long an interrupt waits before it resolves `by: "timeout"`.
    pub decision_timeout: Duration,
    /// How long a run may work, time spent waiting for decisions not counted.
    pub run_timeout: Duration,
    /// Pause between the built-in agent's chunks.
    pub stream_delay: Duration,
    /// Text frames above this get `message_too_large`; the connection stays.
    pub max_frame_bytes: usize,
    /// Longest message a person may send, in characters
    /// (`HITL_MAX_MESSAGE_CHARS`).
    pub max_message_chars: usize,
    /// Whoever started a run may not decide its requests
    /// (`HITL_SEPARATION_OF_DUTIES`): another approver must.
    pub separation_of_duties: bool,
}

/// Where threads are kept.
#[derive(Clone, Debug, PartialEq)]
pub enum Storage {
    /// `HITL_IN_MEMORY=1`: nothing survives the process (benchmarks, demos).
    Memory,
    Database(Database),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Database {
    /// An sqlx URL: `DATABASE_URL`, else an SQLite file in `HITL_DATA_DIR`.
    pub url: String,
    /// This process's name to other servers on the same database
    /// (`HITL_SERVER_ID`); `None`: host and port. A server restarted with
    /// the same name takes its waiting runs back at once.
    pub server_id: Option<String>,
    /// How long a server that stops renewing keeps its runs before another
    /// takes them over (`HITL_LEASE_SECS`).
    pub lease: Duration,
    /// The pause before listening again to the other servers after the
    /// connection was lost (`HITL_LISTEN_RETRY_MS`).
    pub listen_backoff: Duration,
    /// SQLite only: how much a commit waits for the disk
    /// (`HITL_SQLITE_SYNC`: `normal` or `full`).
    pub durability: crate::store::Durability,
}

/// How HTTP connections are held.
#[derive(Clone, Debug)]
pub struct Http {
    /// A request's headers must arrive within this, and a kept-alive
    /// connection with no request is closed after it
    /// (`HITL_HEADER_TIMEOUT_SECS`).
    pub header_timeout: Duration,
    /// Open connections, HTTP and WebSocket, past which new ones are
    /// answered 503 (`HITL_MAX_CONNECTIONS`).
    pub max_connections: usize,
}

impl Default for Http {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            max_connections: 25_000,
        }
    }
}

/// What one person may start per minute (`0`: no limit).
#[derive(Clone, Debug)]
pub struct Limits {
    /// `HITL_THREADS_PER_MINUTE`.
    pub threads_per_minute: u32,
    /// `HITL_RUNS_PER_MINUTE`: messages that start a run.
    pub runs_per_minute: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            threads_per_minute: 60,
            runs_per_minute: 60,
        }
    }
}

/// Who may do what (`HITL_AUTH` and the variables beside it).
#[derive(Clone, Debug)]
pub struct Auth {
    /// Sign-in required (`HITL_AUTH=on`, the default). Off is allowed on a
    /// loopback address only: then anyone who reaches the port decides.
    pub enabled: bool,
    /// `HITL_BOOTSTRAP_ADMIN=name:password`: the first admin, created at a
    /// start that finds no account. Without it the server prints a setup link.
    pub bootstrap_admin: Option<(String, Secret)>,
    /// `HITL_PUBLIC_URL`: where people reach the server. Its origin is
    /// allowed, and an https one makes the session cookie `Secure`.
    pub public_url: Option<String>,
    /// `HITL_ALLOWED_ORIGINS`: other browser origins allowed to make
    /// requests (comma-separated, e.g. `https://console.example`).
    pub allowed_origins: Vec<String>,
    /// `HITL_RECEIPT_KEY`: the receipts' Ed25519 signing key as a base64url
    /// 32-byte seed; otherwise one is made in the data directory.
    pub receipt_key: Option<Secret>,
    /// `HITL_SESSION_COOKIE`: the session cookie's name. Servers that share
    /// sessions use one name; two separate servers on one host use two.
    pub cookie_name: String,
    /// How long a session lasts without use (`HITL_SESSION_HOURS`).
    pub session_idle: Duration,
}

impl Default for Auth {
    fn default() -> Self {
        Self {
            enabled: true,
            bootstrap_admin: None,
            public_url: None,
            allowed_origins: Vec::new(),
            receipt_key: None,
            cookie_name: "hitl_session".into(),
            session_idle: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// A value kept out of logs and `Debug` output (keys, passwords).
#[derive(Clone, PartialEq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Which agent answers messages (`HITL_AGENT`).
#[derive(Clone, Debug)]
pub enum AgentSettings {
    /// The built-in research agent: no model, no network.
    Builtin,
    OpenAi(OpenAiConfig),
}

impl Default for Settings {
    /// What the server runs with when no variable is set.
    fn default() -> Self {
        Self {
            site: Site {
                leptos: LeptosOptions::builder()
                    .output_name(DEFAULT_OUTPUT_NAME)
                    .site_root("target/site")
                    .site_pkg_dir("pkg")
                    .site_addr(DEFAULT_ADDR)
                    .build(),
                watch: false,
            },
            runs: Runs::default(),
            storage: Storage::Database(Database {
                url: sqlite_url(Path::new(DEFAULT_DATA_DIR)),
                server_id: None,
                lease: Duration::from_secs(15),
                listen_backoff: Duration::from_millis(500),
                durability: Default::default(),
            }),
            agent: AgentSettings::Builtin,
            auth: Auth::default(),
            http: Http::default(),
            limits: Limits::default(),
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            log_filter: "info".into(),
        }
    }
}

impl Default for Runs {
    fn default() -> Self {
        Self {
            decision_timeout: Duration::from_secs(300),
            run_timeout: Duration::from_secs(600),
            stream_delay: Duration::from_millis(40),
            max_frame_bytes: 64 * 1024,
            max_message_chars: 20_000,
            separation_of_duties: false,
        }
    }
}

const DEFAULT_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 3000);
const DEFAULT_OUTPUT_NAME: &str = "hitl";
const DEFAULT_DATA_DIR: &str = "data";

/// One setting that could not be used.
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

/// Every setting that could not be used, so one start reports them all.
#[derive(Debug, thiserror::Error)]
pub struct SettingsError(pub Vec<ConfigError>);

impl std::fmt::Display for SettingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut errors = self.0.iter();
        if let Some(first) = errors.next() {
            write!(f, "{first}")?;
        }
        for error in errors {
            write!(f, "\n{error}")?;
        }
        Ok(())
    }
}

impl Settings {
    /// Reads the environment; unset variables keep their defaults.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads settings through `var` (a name to its value, if set).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let mut vars = Vars {
            var: &var,
            errors: Vec::new(),
        };
        let defaults = Settings::default();
        let site = vars.site();
        let data_dir = vars
            .text("HITL_DATA_DIR")
            .map_or(defaults.data_dir, PathBuf::from);
        let settings = Settings {
            runs: vars.runs(),
            storage: vars.storage(&data_dir),
            agent: vars.agent(),
            auth: vars.auth(site.leptos.site_addr),
            http: vars.http(),
            limits: vars.limits(),
            site,
            data_dir,
            log_filter: vars.text("RUST_LOG").unwrap_or(defaults.log_filter),
        };
        match vars.errors.is_empty() {
            true => Ok(settings),
            false => Err(SettingsError(vars.errors)),
        }
    }

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.site.leptos.site_addr
    }
}

/// An SQLite file in `dir`, created on first start.
fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("hitl.db").display())
}
