//! The settings as the environment gives them.

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
            listen_backoff: Duration::from_millis(500),
            durability: Default::default(),
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

#[test]
fn sign_in_is_on_by_default_and_off_only_on_loopback() {
    let settings = read(&[]).unwrap();
    assert!(settings.auth.enabled);
    assert_eq!(settings.auth.cookie_name, "hitl_session");
    assert!(!settings.runs.separation_of_duties);
    assert!(!read(&[("HITL_AUTH", "off")]).unwrap().auth.enabled);
    let error = read(&[("HITL_AUTH", "off"), ("LEPTOS_SITE_ADDR", "0.0.0.0:3000")]).unwrap_err();
    assert_eq!(error.0.len(), 1);
    assert!(error.to_string().contains("loopback"), "{error}");
    assert!(read(&[("HITL_AUTH", "off"), ("LEPTOS_SITE_ADDR", "[::1]:3000")]).is_ok());
    assert!(read(&[("HITL_AUTH", "on"), ("LEPTOS_SITE_ADDR", "0.0.0.0:3000")]).is_ok());
}

#[test]
fn auth_variables_are_read_and_secrets_stay_out_of_debug() {
    let settings = read(&[
        ("HITL_BOOTSTRAP_ADMIN", "ada:correct horse"),
        ("HITL_PUBLIC_URL", "https://console.example/"),
        (
            "HITL_ALLOWED_ORIGINS",
            "https://a.example, http://b.example:8080",
        ),
        ("HITL_RECEIPT_KEY", "c2VjcmV0LWtleQ"),
        ("HITL_SEPARATION_OF_DUTIES", "1"),
        ("HITL_SESSION_HOURS", "2"),
    ])
    .unwrap();
    let (name, password) = settings.auth.bootstrap_admin.clone().unwrap();
    assert_eq!((name.as_str(), password.expose()), ("ada", "correct horse"));
    assert_eq!(
        settings.auth.public_url.as_deref(),
        Some("https://console.example")
    );
    assert_eq!(
        settings.auth.allowed_origins,
        ["https://a.example", "http://b.example:8080"]
    );
    assert!(settings.runs.separation_of_duties);
    assert_eq!(settings.auth.session_idle, Duration::from_secs(7200));
    let debug = format!("{settings:?}");
    assert!(
        !debug.contains("correct horse") && !debug.contains("c2VjcmV0"),
        "{debug}"
    );

    let error = read(&[
        ("HITL_BOOTSTRAP_ADMIN", "ada:short"),
        ("HITL_PUBLIC_URL", "console.example"),
        ("HITL_ALLOWED_ORIGINS", "b.example"),
    ])
    .unwrap_err();
    let names: Vec<_> = error.0.iter().map(|e| e.name).collect();
    assert_eq!(
        names,
        [
            "HITL_BOOTSTRAP_ADMIN",
            "HITL_PUBLIC_URL",
            "HITL_ALLOWED_ORIGINS"
        ]
    );
    assert!(!error.to_string().contains("short"), "{error}");
}

#[test]
fn a_tool_policy_file_is_read_and_its_faults_reported() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("policy.json");
    std::fs::write(
        &good,
        r#"{"rules": [{"tool": "get_current_time", "auto": true}]}"#,
    )
    .unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"rules": [{"tool": "x", "decisions": []}]}"#).unwrap();
    let openai = |extra: &[(&'static str, String)]| {
        let mut vars = vec![
            ("HITL_AGENT", "openai".to_owned()),
            ("HITL_MODEL", "m".into()),
        ];
        vars.extend(extra.iter().cloned());
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        read(&vars)
    };
    let settings = openai(&[("HITL_TOOL_POLICY", good.display().to_string())]).unwrap();
    let AgentSettings::OpenAi(config) = &settings.agent else {
        panic!("openai");
    };
    let args = protocol::Args::new();
    assert_eq!(config.approval.review("get_current_time", &args), None);
    assert!(
        config.approval.review("unnamed", &args).is_some(),
        "a file fails closed"
    );

    let err = openai(&[("HITL_TOOL_POLICY", bad.display().to_string())])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("HITL_TOOL_POLICY") && err.contains("empty"),
        "{err}"
    );
    let missing = dir.path().join("missing.json").display().to_string();
    let err = openai(&[("HITL_TOOL_POLICY", missing)])
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing.json"), "{err}");
    let err = openai(&[
        ("HITL_TOOL_POLICY", good.display().to_string()),
        ("HITL_TOOL_APPROVAL", "get_current_time:approve".into()),
    ])
    .unwrap_err()
    .to_string();
    assert!(err.contains("not both"), "{err}");
}

#[test]
fn mcp_servers_come_from_a_file_and_only_the_model_agent_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("mcp.json");
    std::fs::write(
        &good,
        r#"{"mcpServers": {"time": {"command": "mcp-server-time"}}}"#,
    )
    .unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"mcpServers": {"a__b": {"command": "x"}}}"#).unwrap();
    let good = good.display().to_string();
    let settings = read(&[
        ("HITL_AGENT", "openai"),
        ("HITL_MODEL", "m"),
        ("HITL_MCP_CONFIG", &good),
    ])
    .unwrap();
    let AgentSettings::OpenAi(config) = &settings.agent else {
        panic!("openai");
    };
    let servers = &config.mcp.as_ref().unwrap().servers;
    assert_eq!(servers[0].name, "time");

    let bad = bad.display().to_string();
    let err = read(&[
        ("HITL_AGENT", "openai"),
        ("HITL_MODEL", "m"),
        ("HITL_MCP_CONFIG", &bad),
    ])
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("HITL_MCP_CONFIG") && err.contains("a__b"),
        "{err}"
    );
    for name in ["HITL_MCP_CONFIG", "HITL_TOOL_POLICY"] {
        let err = read(&[(name, &good)]).unwrap_err().to_string();
        assert!(
            err.contains(name) && err.contains("HITL_AGENT=openai"),
            "{err}"
        );
    }
}
