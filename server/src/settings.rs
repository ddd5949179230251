//! Every setting of the server, read once from the environment into one
//! value. Nothing else in the crate reads the environment: the rest is
//! handed the part of [`Settings`] it needs, so a test builds a server from
//! a `Settings` with overrides, through the same [`crate::startup::Application::build`]
//! the binary uses.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use leptos::config::{Env, LeptosOptions, ReloadWSProtocol};

use crate::agent::openai::{ApprovalPolicy, OpenAiConfig, Secret};

#[derive(Clone, Debug)]
pub struct Settings {
    pub site: Site,
    pub runs: Runs,
    pub storage: Storage,
    pub agent: AgentSettings,
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
            }),
            agent: AgentSettings::Builtin,
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
        let settings = Settings {
            site: vars.site(),
            runs: vars.runs(),
            storage: vars.storage(),
            agent: vars.agent(),
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

/// The variables being read, and what was wrong with them so far.
struct Vars<'a> {
    var: &'a dyn Fn(&str) -> Option<String>,
    errors: Vec<ConfigError>,
}

impl Vars<'_> {
    /// A variable's value, if it is set and not blank.
    fn text(&self, name: &str) -> Option<String> {
        (self.var)(name).filter(|v| !v.trim().is_empty())
    }

    /// A parsed variable; a value that does not parse is recorded and the
    /// default used, so the rest are still checked.
    fn parsed<T: std::str::FromStr>(&mut self, name: &'static str, default: T) -> T
    where
        T::Err: std::fmt::Display,
    {
        let Some(value) = self.text(name) else {
            return default;
        };
        match value.trim().parse() {
            Ok(parsed) => parsed,
            Err(e) => {
                self.errors
                    .push(ConfigError::new(name, &value, &e.to_string()));
                default
            }
        }
    }

    fn fail(&mut self, name: &'static str, value: &str, reason: &str) {
        self.errors.push(ConfigError::new(name, value, reason));
    }

    fn site(&mut self) -> Site {
        let or = |name, default: &str| self.text(name).unwrap_or_else(|| default.to_owned());
        let output_name = or("LEPTOS_OUTPUT_NAME", DEFAULT_OUTPUT_NAME);
        let site_root = or("LEPTOS_SITE_ROOT", "target/site");
        let site_pkg_dir = or("LEPTOS_SITE_PKG_DIR", "pkg");
        let env = match self.text("LEPTOS_ENV").map(|v| v.to_lowercase()).as_deref() {
            None | Some("dev") | Some("development") => Env::DEV,
            Some("prod") | Some("production") => Env::PROD,
            Some(other) => {
                let other = other.to_owned();
                self.fail("LEPTOS_ENV", &other, "must be DEV or PROD");
                Env::DEV
            }
        };
        let reload_ws_protocol = match self.text("LEPTOS_RELOAD_WS_PROTOCOL").as_deref() {
            Some(p) if p.eq_ignore_ascii_case("wss") => ReloadWSProtocol::WSS,
            _ => ReloadWSProtocol::WS,
        };
        let site_addr = self.parsed("LEPTOS_SITE_ADDR", DEFAULT_ADDR);
        let reload_port = self.parsed("LEPTOS_RELOAD_PORT", 3001);
        let reload_external_port = self
            .text("LEPTOS_RELOAD_EXTERNAL_PORT")
            .map(|_| self.parsed("LEPTOS_RELOAD_EXTERNAL_PORT", reload_port));
        Site {
            leptos: LeptosOptions::builder()
                .output_name(output_name)
                .site_root(site_root)
                .site_pkg_dir(site_pkg_dir)
                .env(env)
                .site_addr(site_addr)
                .reload_port(reload_port)
                .reload_external_port(reload_external_port)
                .reload_ws_protocol(reload_ws_protocol)
                .build(),
            watch: self.text("LEPTOS_WATCH").is_some_and(|v| v == "true"),
        }
    }

    fn runs(&mut self) -> Runs {
        let default = Runs::default();
        Runs {
            decision_timeout: Duration::from_secs(self.parsed(
                "HITL_DECISION_TIMEOUT_SECS",
                default.decision_timeout.as_secs(),
            )),
            run_timeout: Duration::from_secs(
                self.parsed("HITL_RUN_TIMEOUT_SECS", default.run_timeout.as_secs()),
            ),
            stream_delay: Duration::from_millis(self.parsed(
                "HITL_STREAM_DELAY_MS",
                default.stream_delay.as_millis() as u64,
            )),
            max_frame_bytes: self.parsed("HITL_MAX_FRAME_BYTES", default.max_frame_bytes),
        }
    }

    fn storage(&mut self) -> Storage {
        match self.text("HITL_IN_MEMORY").as_deref().map(str::trim) {
            Some("1") | Some("true") => return Storage::Memory,
            None | Some("0") | Some("false") => {}
            Some(other) => {
                let other = other.to_owned();
                self.fail("HITL_IN_MEMORY", &other, "must be 1 or 0");
            }
        }
        let url = self.text("DATABASE_URL").unwrap_or_else(|| {
            let dir = self.text("HITL_DATA_DIR");
            sqlite_url(Path::new(dir.as_deref().unwrap_or(DEFAULT_DATA_DIR)))
        });
        Storage::Database(Database {
            url,
            server_id: self.text("HITL_SERVER_ID").map(|id| id.trim().to_owned()),
            lease: Duration::from_secs(self.parsed("HITL_LEASE_SECS", 15u64).max(1)),
        })
    }

    fn agent(&mut self) -> AgentSettings {
        match self.text("HITL_AGENT").as_deref().map(str::trim) {
            None | Some("builtin") => AgentSettings::Builtin,
            Some("openai") => self
                .openai()
                .map_or(AgentSettings::Builtin, AgentSettings::OpenAi),
            Some(other) => {
                let other = other.to_owned();
                self.fail("HITL_AGENT", &other, "must be `builtin` or `openai`");
                AgentSettings::Builtin
            }
        }
    }

    /// `OPENAI_BASE_URL`, `OPENAI_API_KEY`, `HITL_MODEL` (required),
    /// `HITL_TOOL_APPROVAL` and `HITL_SYSTEM_PROMPT`.
    fn openai(&mut self) -> Option<OpenAiConfig> {
        let base_url = self
            .text("OPENAI_BASE_URL")
            .unwrap_or_else(|| OpenAiConfig::DEFAULT_BASE_URL.into());
        if !base_url.starts_with("http://") && !base_url.starts_with("https://") {
            self.fail(
                "OPENAI_BASE_URL",
                &base_url,
                "must start with http:// or https://",
            );
        }
        let approval = match (self.var)("HITL_TOOL_APPROVAL") {
            None => ApprovalPolicy::default(),
            Some(spec) => ApprovalPolicy::parse(&spec).unwrap_or_else(|e| {
                self.fail("HITL_TOOL_APPROVAL", &spec, &e);
                ApprovalPolicy::default()
            }),
        };
        let Some(model) = self.text("HITL_MODEL") else {
            self.fail(
                "HITL_MODEL",
                "",
                "HITL_AGENT=openai needs a model name, e.g. HITL_MODEL=llama3.1",
            );
            return None;
        };
        let mut config = OpenAiConfig::new(base_url, model);
        config.api_key = self.text("OPENAI_API_KEY").map(Secret::new);
        config.approval = approval;
        if let Some(prompt) = self.text("HITL_SYSTEM_PROMPT") {
            config.system_prompt = prompt;
        }
        Some(config)
    }
}

/// An SQLite file in `dir`, created on first start.
fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("hitl.db").display())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_vars(|name| vars.get(name).cloned())
    }

    #[test]
    fn no_variables_give_the_documented_defaults() {
        let settings = read(&[]).unwrap();
        assert_eq!(settings.addr().to_string(), "127.0.0.1:3000");
        assert_eq!(settings.runs.decision_timeout, Duration::from_secs(300));
        assert_eq!(settings.runs.run_timeout, Duration::from_secs(600));
        assert_eq!(settings.runs.max_frame_bytes, 65536);
        let Storage::Database(db) = settings.storage else {
            panic!("SQLite by default");
        };
        assert_eq!(db.url, "sqlite://data/hitl.db?mode=rwc");
        assert_eq!(db.lease, Duration::from_secs(15));
        assert!(matches!(settings.agent, AgentSettings::Builtin));
        assert_eq!(&*settings.site.leptos.output_name, "hitl");
    }

    #[test]
    fn every_bad_value_is_reported_at_once() {
        let error = read(&[
            ("HITL_DECISION_TIMEOUT_SECS", "five minutes"),
            ("LEPTOS_SITE_ADDR", "nowhere"),
            ("HITL_IN_MEMORY", "maybe"),
            ("HITL_AGENT", "openai"),
        ])
        .unwrap_err();
        let names: Vec<_> = error.0.iter().map(|e| e.name).collect();
        assert_eq!(
            names,
            [
                "LEPTOS_SITE_ADDR",
                "HITL_DECISION_TIMEOUT_SECS",
                "HITL_IN_MEMORY",
                "HITL_MODEL"
            ]
        );
        let text = error.to_string();
        assert!(
            text.contains("HITL_DECISION_TIMEOUT_SECS=\"five minutes\""),
            "{text}"
        );
        assert_eq!(text.lines().count(), 4, "{text}");
    }

    #[test]
    fn storage_and_agent_variables_are_read() {
        let settings = read(&[
            ("DATABASE_URL", "postgres://db/hitl"),
            ("HITL_SERVER_ID", " a "),
            ("HITL_LEASE_SECS", "0"),
            ("HITL_AGENT", "openai"),
            ("HITL_MODEL", "llama3.1"),
            ("OPENAI_API_KEY", "sk-secret"),
        ])
        .unwrap();
        assert_eq!(
            settings.storage,
            Storage::Database(Database {
                url: "postgres://db/hitl".into(),
                server_id: Some("a".into()),
                lease: Duration::from_secs(1),
            })
        );
        let AgentSettings::OpenAi(config) = &settings.agent else {
            panic!("openai");
        };
        assert_eq!(config.model, "llama3.1");
        assert!(!format!("{settings:?}").contains("sk-secret"));
        assert!(matches!(
            read(&[("HITL_IN_MEMORY", "1")]).unwrap().storage,
            Storage::Memory
        ));
        let dir = read(&[("HITL_DATA_DIR", "/var/hitl")]).unwrap().storage;
        assert!(
            matches!(dir, Storage::Database(db) if db.url == "sqlite:///var/hitl/hitl.db?mode=rwc")
        );
    }
}
