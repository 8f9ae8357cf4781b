//! Text output: colour only on a terminal (and never with `NO_COLOR`), JSON when asked.

use std::io::IsTerminal;

use serde_json::Value;

/// Where command output goes and how it is styled.
#[derive(Debug, Clone)]
pub struct Out {
    pub json: bool,
    colour: bool,
}

impl Out {
    /// For stdout: colour when it is a terminal and `NO_COLOR` is unset.
    pub fn stdout(json: bool) -> Self {
        let colour = !json
            && std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Self { json, colour }
    }

    pub fn plain(json: bool) -> Self {
        Self {
            json,
            colour: false,
        }
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    pub fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    pub fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
    pub fn green(&self, s: &str) -> String {
        self.paint("32", s)
    }
    pub fn yellow(&self, s: &str) -> String {
        self.paint("33", s)
    }
    pub fn red(&self, s: &str) -> String {
        self.paint("31", s)
    }
    pub fn cyan(&self, s: &str) -> String {
        self.paint("36", s)
    }

    /// A tier (or `ended`) in its colour: active green, idle yellow, stale/abandoned red.
    pub fn tier(&self, tier: &str) -> String {
        match tier.trim() {
            "active" => self.green(tier),
            "idle" => self.yellow(tier),
            "stale" | "abandoned" => self.red(tier),
            _ => self.dim(tier),
        }
    }

    /// Prints a tool's JSON answer (for `--json`).
    pub fn json(&self, v: &Value) {
        println!("{}", pretty(v));
    }
}

pub fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

/// `v[key]` as a string, or "".
pub fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// A duration in seconds, short: `42s`, `3m05s`, `2h10m`, `3d4h`.
pub fn human_secs(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86_400 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{}h", s / 86_400, (s % 86_400) / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(human_secs(0.4), "0s");
        assert_eq!(human_secs(59.0), "59s");
        assert_eq!(human_secs(185.0), "3m05s");
        assert_eq!(human_secs(7800.0), "2h10m");
        assert_eq!(human_secs(273_600.0), "3d4h");
        assert_eq!(human_secs(-5.0), "0s");
    }
}
