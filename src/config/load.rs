//! Loading: defaults, then `config/default.toml`, `--config FILE`, `.env`, the environment
//! and the flags, each later layer winning; then validation.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::env::{ENV_VARS, LIST_KEYS};
use super::{ConfigError, Settings};

/// Where the settings came from, in the order they were applied (logged at start).
#[derive(Debug, Clone, Default)]
pub struct Sources(pub Vec<String>);

impl std::fmt::Display for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(" < "))
    }
}

/// Inputs to loading: explicit so tests never depend on the process environment.
#[derive(Debug, Default, Clone)]
pub struct LoadOptions {
    /// `--config FILE`.
    pub config_file: Option<PathBuf>,
    /// Directory searched for `config/default.toml` and `.env` (usually the working directory).
    pub base_dir: Option<PathBuf>,
    /// Environment variables to read (the process environment in production).
    pub env: BTreeMap<String, String>,
    /// Flag overrides as (setting key, value), applied last.
    pub overrides: Vec<(String, String)>,
    /// Read `.env` from `base_dir` into the environment view (not into the process).
    pub read_dotenv: bool,
}

impl LoadOptions {
    /// The options a real start uses: this process's environment, the working directory.
    pub fn from_process(config_file: Option<PathBuf>, overrides: Vec<(String, String)>) -> Self {
        Self {
            config_file,
            base_dir: std::env::current_dir().ok(),
            env: std::env::vars().collect(),
            overrides,
            read_dotenv: true,
        }
    }
}

impl Settings {
    /// Builds the settings from every layer and validates them.
    pub fn load(opts: &LoadOptions) -> Result<(Settings, Sources), ConfigError> {
        let mut sources = Sources(vec!["defaults".into()]);
        let defaults = config::Config::try_from(&Settings::default())
            .map_err(|e| ConfigError::new("defaults", e.to_string(), "-"))?;
        let mut builder = config::Config::builder().add_source(defaults);

        if let Some(base) = &opts.base_dir {
            let default_toml = base.join("config/default.toml");
            if default_toml.is_file() {
                builder = builder.add_source(config::File::from(default_toml.as_path()));
                sources.0.push(default_toml.display().to_string());
            }
        }
        if let Some(file) = &opts.config_file {
            if !file.is_file() {
                return Err(ConfigError::new(
                    "--config",
                    format!("{} does not exist or is not a file", file.display()),
                    "a path to a TOML file like config/default.toml",
                ));
            }
            builder = builder.add_source(config::File::from(file.as_path()));
            sources.0.push(file.display().to_string());
        }

        // `.env` fills in variables the real environment does not set (dotenv semantics).
        let mut env = opts.env.clone();
        if opts.read_dotenv
            && let Some(base) = &opts.base_dir
        {
            let dotenv = base.join(".env");
            if dotenv.is_file() {
                let iter = dotenvy::from_path_iter(&dotenv)
                    .map_err(|e| ConfigError::new(".env", e.to_string(), "KEY=value lines"))?;
                for item in iter {
                    let (k, v) = item
                        .map_err(|e| ConfigError::new(".env", e.to_string(), "KEY=value lines"))?;
                    env.entry(k).or_insert(v);
                }
                sources.0.push(dotenv.display().to_string());
            }
        }

        let mut from_env = Vec::new();
        for var in ENV_VARS {
            let Some(value) = env.get(var.name) else {
                continue;
            };
            builder = set_value(builder, var.key, value, var.name)?;
            from_env.push(var.name);
        }
        if !from_env.is_empty() {
            sources.0.push(format!("env ({})", from_env.join(", ")));
        }
        if !opts.overrides.is_empty() {
            for (key, value) in &opts.overrides {
                builder = set_value(builder, key, value, key)?;
            }
            let keys: Vec<_> = opts.overrides.iter().map(|(k, _)| k.as_str()).collect();
            sources.0.push(format!("flags ({})", keys.join(", ")));
        }

        let built = builder
            .build()
            .map_err(|e| ConfigError::new("config", e.to_string(), "see config/default.toml"))?;
        let settings: Settings = built.try_deserialize().map_err(|e| {
            ConfigError::new(
                "config",
                e.to_string(),
                "the types and names in config/default.toml",
            )
        })?;
        settings.validate()?;
        Ok((settings, sources))
    }
}

fn set_value(
    builder: config::ConfigBuilder<config::builder::DefaultState>,
    key: &str,
    value: &str,
    origin: &str,
) -> Result<config::ConfigBuilder<config::builder::DefaultState>, ConfigError> {
    let result = if LIST_KEYS.contains(&key) {
        let items: Vec<String> = value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        builder.set_override(key, items)
    } else {
        builder.set_override(key, value)
    };
    result.map_err(|e| ConfigError::new(origin, e.to_string(), "see config/default.toml"))
}
