//! Loading and validation: layers, seed variable names, errors, and that the shipped
//! `config/default.toml` and `.env.example` match the code.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::*;

fn opts(env: &[(&str, &str)]) -> LoadOptions {
    LoadOptions {
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    }
}

#[test]
fn defaults_are_valid() {
    let (s, sources) = Settings::load(&opts(&[])).unwrap();
    assert_eq!(s, Settings::default());
    assert_eq!(s.server.port, 8082);
    assert_eq!(s.store_kind(), "embedded");
    assert_eq!(sources.to_string(), "defaults");
}

#[test]
fn seed_variables_work() {
    let (s, sources) = Settings::load(&opts(&[
        ("REDIS_URL", "redis://127.0.0.1:6390/0"),
        ("SERVER_PORT", "9000"),
        ("DEFAULT_LOCK_TIMEOUT", "600"),
        ("HEARTBEAT_TTL", "120"),
    ]))
    .unwrap();
    assert_eq!(s.store.redis_url, "redis://127.0.0.1:6390/0");
    assert_eq!(s.server.port, 9000);
    assert_eq!(s.locks.default_timeout_seconds, 600);
    assert_eq!(s.sessions.active_seconds, 120);
    assert_eq!(s.store_kind(), "redis");
    assert!(sources.to_string().contains("REDIS_URL"));
}

#[test]
fn later_layers_win() {
    let mut o = opts(&[("SERVER_PORT", "9000"), ("MCP_COORD_PORT", "9001")]);
    let (s, _) = Settings::load(&o).unwrap();
    assert_eq!(s.server.port, 9001, "MCP_COORD_PORT is later in the table");
    o.overrides.push(("server.port".into(), "9002".into()));
    let (s, _) = Settings::load(&o).unwrap();
    assert_eq!(s.server.port, 9002, "flags win over the environment");
}

#[test]
fn config_file_and_dotenv_layers() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    std::fs::write(
        dir.path().join("config/default.toml"),
        "[server]\nport = 7000\n[locks]\nlock_delay_seconds = 2\n",
    )
    .unwrap();
    let extra = dir.path().join("extra.toml");
    std::fs::write(&extra, "[server]\nport = 7001\n").unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "DEFAULT_LOCK_TIMEOUT=42\nSERVER_PORT=7002\n",
    )
    .unwrap();
    let mut o = opts(&[("SERVER_PORT", "7003")]);
    o.base_dir = Some(dir.path().to_path_buf());
    o.read_dotenv = true;
    let (s, sources) = Settings::load(&o).unwrap();
    assert_eq!(s.server.port, 7003, "real environment wins over .env");
    assert_eq!(
        s.locks.default_timeout_seconds, 42,
        ".env fills what env lacks"
    );
    assert_eq!(s.locks.lock_delay_seconds, 2, "config/default.toml applies");
    o.config_file = Some(extra);
    o.env.clear();
    let (s, _) = Settings::load(&o).unwrap();
    assert_eq!(s.server.port, 7002, ".env wins over --config");
    assert!(sources.0.len() >= 3);
}

#[test]
fn bad_settings_name_the_setting_and_the_allowed_values() {
    let cases: &[(&str, &str, &str)] = &[
        ("SERVER_PORT", "eighty", "port"),
        ("MCP_COORD_HOST", "0.0.0.0", "server.host"),
        ("MCP_COORD_HOST", "not-an-ip", "server.host"),
        ("REDIS_URL", "http://x", "store.redis_url"),
        ("MCP_COORD_LOG_FORMAT", "xml", "log.format"),
        ("HEARTBEAT_TTL", "999999", "sessions"),
        ("DEFAULT_LOCK_TIMEOUT", "0", "locks.default_timeout_seconds"),
        ("MCP_COORD_KEY_PREFIX", "a*b", "store.key_prefix"),
        ("MCP_COORD_TMUX_SOCKET", "../x", "tmux.socket"),
        ("MCP_COORD_TMUX_SOCKET", "", "tmux.socket"),
    ];
    for (var, value, needle) in cases {
        let err = Settings::load(&opts(&[(var, value)]))
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{var}={value}: {err}");
        assert!(err.contains("allowed"), "{var}={value}: {err}");
    }
}

#[test]
fn list_settings_split_on_commas() {
    let (s, _) = Settings::load(&opts(&[(
        "MCP_COORD_ALLOWED_ORIGINS",
        "https://a.example, https://b.example:8443",
    )]))
    .unwrap();
    assert_eq!(
        s.server.allowed_origins,
        vec!["https://a.example", "https://b.example:8443"]
    );
}

#[test]
fn data_dir_prefers_setting_then_systemd_then_xdg() {
    let mut s = Settings::default();
    let mut env = BTreeMap::new();
    env.insert("HOME".to_string(), "/home/u".to_string());
    assert_eq!(
        s.data_dir(&env),
        PathBuf::from("/home/u/.local/state/mcp-coord")
    );
    env.insert("XDG_STATE_HOME".to_string(), "/x".to_string());
    assert_eq!(s.data_dir(&env), PathBuf::from("/x/mcp-coord"));
    env.insert(
        "STATE_DIRECTORY".to_string(),
        "/var/lib/mcp-coord".to_string(),
    );
    assert_eq!(s.data_dir(&env), PathBuf::from("/var/lib/mcp-coord"));
    s.store.data_dir = "/d".into();
    assert_eq!(s.data_dir(&env), PathBuf::from("/d"));
}

#[test]
fn shipped_default_toml_equals_the_built_in_defaults() {
    let text = include_str!("../../config/default.toml");
    let parsed: Settings = config::Config::builder()
        .add_source(config::File::from_str(text, config::FileFormat::Toml))
        .build()
        .unwrap()
        .try_deserialize()
        .unwrap();
    assert_eq!(
        parsed,
        Settings::default(),
        "config/default.toml documents the defaults"
    );
}

#[test]
fn env_example_lists_every_variable() {
    let text = include_str!("../../.env.example");
    for var in ENV_VARS {
        assert!(
            text.contains(&format!("#{}=", var.name)),
            "{} missing from .env.example",
            var.name
        );
    }
}

#[test]
fn passwords_never_reach_logs() {
    assert_eq!(
        redact_url("redis://127.0.0.1:6379/0"),
        "redis://127.0.0.1:6379/0"
    );
    assert_eq!(redact_url("redis://u:pw@h:1/0"), "redis://u:***@h:1/0");
    assert_eq!(redact_url("redis://:pw@h:1"), "redis://:***@h:1");
    assert_eq!(redact_url("redis://pw@h"), "redis://***@h");
}
