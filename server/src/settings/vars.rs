//! Reading the variables: each value parsed, each bad one recorded so one
//! start reports them all.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use leptos::config::{Env, LeptosOptions, ReloadWSProtocol};

use super::{
    sqlite_url, AgentSettings, Auth, ConfigError, Database, Http, Limits, Runs, Secret, Site,
    Storage, DEFAULT_ADDR, DEFAULT_OUTPUT_NAME,
};
use crate::agent::mcp::McpConfig;
use crate::agent::openai::{ApprovalPolicy, OpenAiConfig};

/// The variables being read, and what was wrong with them so far.
pub(super) struct Vars<'a> {
    pub var: &'a dyn Fn(&str) -> Option<String>,
    pub errors: Vec<ConfigError>,
}

impl Vars<'_> {
    /// A variable's value, if it is set and not blank.
    pub fn text(&self, name: &str) -> Option<String> {
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

    pub fn site(&mut self) -> Site {
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

    pub fn runs(&mut self) -> Runs {
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
            max_message_chars: self
                .parsed("HITL_MAX_MESSAGE_CHARS", default.max_message_chars)
                .max(1),
            separation_of_duties: self.switch("HITL_SEPARATION_OF_DUTIES", false),
        }
    }

    pub fn storage(&mut self, data_dir: &Path) -> Storage {
        if self.switch("HITL_IN_MEMORY", false) {
            return Storage::Memory;
        }
        let url = self
            .text("DATABASE_URL")
            .unwrap_or_else(|| sqlite_url(data_dir));
        Storage::Database(Database {
            url,
            server_id: self.text("HITL_SERVER_ID").map(|id| id.trim().to_owned()),
            lease: Duration::from_secs(self.parsed("HITL_LEASE_SECS", 15u64).max(1)),
            listen_backoff: Duration::from_millis(self.parsed("HITL_LISTEN_RETRY_MS", 500u64)),
            durability: match self
                .text("HITL_SQLITE_SYNC")
                .map(|v| v.trim().to_lowercase())
                .as_deref()
            {
                None | Some("normal") => crate::store::Durability::Normal,
                Some("full") => crate::store::Durability::Full,
                Some(other) => {
                    let other = other.to_owned();
                    self.fail("HITL_SQLITE_SYNC", &other, "must be normal or full");
                    crate::store::Durability::Normal
                }
            },
        })
    }

    pub fn agent(&mut self) -> AgentSettings {
        match self.text("HITL_AGENT").as_deref().map(str::trim) {
            None | Some("builtin") => {
                // Read only by the model agent: set here, they would be
                // ignored, and a person would think tools were gated.
                for name in ["HITL_TOOL_POLICY", "HITL_MCP_CONFIG"] {
                    if let Some(value) = self.text(name) {
                        self.fail(name, &value, "needs HITL_AGENT=openai");
                    }
                }
                AgentSettings::Builtin
            }
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
    /// `HITL_TOOL_APPROVAL` or `HITL_TOOL_POLICY`, and `HITL_SYSTEM_PROMPT`.
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
        let approval = match (
            (self.var)("HITL_TOOL_APPROVAL"),
            self.text("HITL_TOOL_POLICY"),
        ) {
            (None, None) => ApprovalPolicy::default(),
            (Some(spec), None) => ApprovalPolicy::parse(&spec).unwrap_or_else(|e| {
                self.fail("HITL_TOOL_APPROVAL", &spec, &e);
                ApprovalPolicy::default()
            }),
            (None, Some(path)) => ApprovalPolicy::from_file(std::path::Path::new(&path))
                .unwrap_or_else(|e| {
                    self.fail("HITL_TOOL_POLICY", &path, &e);
                    ApprovalPolicy::default()
                }),
            (Some(_), Some(path)) => {
                self.fail(
                    "HITL_TOOL_POLICY",
                    &path,
                    "set it or HITL_TOOL_APPROVAL, not both",
                );
                ApprovalPolicy::default()
            }
        };
        let Some(model) = self.text("HITL_MODEL") else {
            self.fail(
                "HITL_MODEL",
                "",
                "HITL_AGENT=openai needs a model name, e.g. HITL_MODEL=llama3.1",
            );
            return None;
        };
        let mcp = self.text("HITL_MCP_CONFIG").and_then(|path| {
            McpConfig::from_file(std::path::Path::new(&path))
                .map_err(|e| self.fail("HITL_MCP_CONFIG", &path, &e))
                .ok()
        });
        let mut config = OpenAiConfig::new(base_url, model);
        config.api_key = self.text("OPENAI_API_KEY").map(Secret::new);
        config.approval = approval;
        config.mcp = mcp;
        if let Some(prompt) = self.text("HITL_SYSTEM_PROMPT") {
            config.system_prompt = prompt;
        }
        Some(config)
    }

    pub fn http(&mut self) -> Http {
        let default = Http::default();
        Http {
            header_timeout: Duration::from_secs(
                self.parsed("HITL_HEADER_TIMEOUT_SECS", default.header_timeout.as_secs())
                    .max(1),
            ),
            max_connections: self
                .parsed("HITL_MAX_CONNECTIONS", default.max_connections)
                .max(1),
        }
    }

    pub fn limits(&mut self) -> Limits {
        let default = Limits::default();
        Limits {
            threads_per_minute: self.parsed("HITL_THREADS_PER_MINUTE", default.threads_per_minute),
            runs_per_minute: self.parsed("HITL_RUNS_PER_MINUTE", default.runs_per_minute),
        }
    }

    /// A yes/no variable: `1`, `true` or `on`; `0`, `false` or `off`.
    fn switch(&mut self, name: &'static str, default: bool) -> bool {
        match self.text(name).map(|v| v.trim().to_lowercase()).as_deref() {
            None => default,
            Some("1" | "true" | "on") => true,
            Some("0" | "false" | "off") => false,
            Some(other) => {
                let other = other.to_owned();
                self.fail(name, &other, "must be 1 or 0 (or on or off)");
                default
            }
        }
    }

    /// `HITL_AUTH`, `HITL_BOOTSTRAP_ADMIN`, `HITL_PUBLIC_URL`,
    /// `HITL_ALLOWED_ORIGINS`, `HITL_RECEIPT_KEY`, `HITL_SESSION_COOKIE`,
    /// `HITL_SESSION_HOURS`.
    pub fn auth(&mut self, addr: SocketAddr) -> Auth {
        let default = Auth::default();
        let enabled = self.switch("HITL_AUTH", true);
        if !enabled && !addr.ip().is_loopback() {
            self.fail(
                "HITL_AUTH",
                "off",
                "sign-in may be off only on a loopback address (LEPTOS_SITE_ADDR=127.0.0.1:…): \
                 without it anyone who reaches the port decides",
            );
        }
        let bootstrap_admin =
            self.text("HITL_BOOTSTRAP_ADMIN")
                .and_then(|spec| match spec.split_once(':') {
                    Some((name, password))
                        if !name.trim().is_empty() && password.len() >= MIN_PASSWORD =>
                    {
                        Some((name.trim().to_owned(), Secret::new(password.to_owned())))
                    }
                    _ => {
                        self.fail(
                            "HITL_BOOTSTRAP_ADMIN",
                            "[redacted]",
                            "must be name:password, the password at least 8 characters",
                        );
                        None
                    }
                });
        let public_url = self
            .text("HITL_PUBLIC_URL")
            .map(|url| url.trim().trim_end_matches('/').to_owned());
        if let Some(url) = &public_url {
            if !url.starts_with("http://") && !url.starts_with("https://") {
                let url = url.clone();
                self.fail(
                    "HITL_PUBLIC_URL",
                    &url,
                    "must start with http:// or https://",
                );
            }
        }
        let mut allowed_origins = Vec::new();
        for origin in self
            .text("HITL_ALLOWED_ORIGINS")
            .unwrap_or_default()
            .split(',')
        {
            let origin = origin.trim().trim_end_matches('/');
            if origin.is_empty() {
                continue;
            }
            match origin.starts_with("http://") || origin.starts_with("https://") {
                true => allowed_origins.push(origin.to_owned()),
                false => self.fail(
                    "HITL_ALLOWED_ORIGINS",
                    origin,
                    "each origin must be scheme://host[:port], e.g. https://console.example",
                ),
            }
        }
        let hours = self.parsed("HITL_SESSION_HOURS", default.session_idle.as_secs() / 3600);
        Auth {
            enabled,
            bootstrap_admin,
            public_url,
            allowed_origins,
            receipt_key: self
                .text("HITL_RECEIPT_KEY")
                .map(|k| Secret::new(k.trim().to_owned())),
            cookie_name: self
                .text("HITL_SESSION_COOKIE")
                .unwrap_or(default.cookie_name),
            session_idle: Duration::from_secs(hours.max(1) * 3600),
        }
    }
}

/// The shortest password an account may have.
pub const MIN_PASSWORD: usize = 8;
