//! Real Claude Code in tests: `claude -p` and the interactive TUI (in a private tmux),
//! against a [`ScriptedModel`](super::model::ScriptedModel), with our hooks installed by
//! `mcp-coord hooks install` into an isolated project.
//!
//! Isolation: every [`Agent`] has its own temporary HOME (so `~/.claude.json` and
//! `~/.claude/` are the test's, never the user's) with onboarding, folder trust and the API
//! key pre-accepted; the process environment is cleared and rebuilt (no `ANTHROPIC_*`,
//! `CLAUDE*`, `MCP_COORD_*` or tmux variables of whoever runs the tests leak in).
//!
//! Where `claude` is not installed (scripts/test.sh installs it with npm when npm is
//! there), [`claude_or_skip`] prints `SKIPPED <test>: …` and the test returns.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use super::binary::BIN;
use super::tmux::TmuxSocket;

/// The version the suite is written against (scripts/test.sh installs it).
pub const CLAUDE_VERSION: &str = "2.1.330";
/// The MCP server name our hooks and `--allowedTools` use.
pub const SERVER: &str = "coordination";
/// Any key works against the scripted model; the TUI approves it by its last 20 characters.
pub const API_KEY: &str = "sk-ant-api03-scripted-model-test-key-0123456789abcdef";
/// Bound for one `claude -p` run.
pub const PRINT_TIMEOUT: Duration = Duration::from_secs(90);

/// The installed Claude Code, or why there is none.
pub fn claude_binary() -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let bin = std::env::split_paths(&path)
        .map(|d| d.join("claude"))
        .find(|p| p.is_file())
        .ok_or(
            "`claude` is not on PATH (scripts/test.sh installs @anthropic-ai/claude-code with npm)",
        )?;
    let out = Command::new(&bin)
        .arg("--version")
        .env("DISABLE_AUTOUPDATER", "1")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{} --version failed: {e}", bin.display()))?;
    let version = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || !version.contains("Claude Code") {
        return Err(format!(
            "{} --version did not answer like Claude Code: {version}",
            bin.display()
        ));
    }
    if !version.contains(CLAUDE_VERSION) {
        eprintln!(
            "note: Claude Code {} found; the suite is written against {CLAUDE_VERSION}",
            version.trim()
        );
    }
    Ok(bin)
}

/// `let Some(claude) = claude_or_skip!("name") else { return };`
#[macro_export]
macro_rules! claude_or_skip {
    ($name:expr) => {
        match $crate::support::claude::claude_binary() {
            Ok(bin) => Some(bin),
            Err(why) => {
                println!("SKIPPED {}: {why}", $name);
                None
            }
        }
    };
}

/// Which transport Claude's MCP client uses to reach the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Sse,
    Http,
}

impl Transport {
    pub fn mcp_server(self, daemon_base: &str) -> Value {
        match self {
            Transport::Sse => json!({ "type": "sse", "url": format!("{daemon_base}/sse") }),
            Transport::Http => json!({ "type": "http", "url": format!("{daemon_base}/mcp") }),
        }
    }
}

/// One isolated Claude Code setup: HOME, a project directory with our hooks, an MCP config.
pub struct Agent {
    pub claude: PathBuf,
    pub home: tempfile::TempDir,
    pub project: PathBuf,
    pub mcp_config: PathBuf,
    pub model_url: String,
    pub daemon_base: String,
    /// Extra environment (e.g. `COORD_SESSION`), given to Claude and so to its hooks.
    pub env: Vec<(String, String)>,
}

impl Agent {
    /// A fresh HOME and project for `claude` talking to `model_url`, with our hooks
    /// (`hooks install --project`) and the daemon as MCP server `coordination`.
    pub fn new(claude: &Path, daemon_base: &str, model_url: &str, transport: Transport) -> Self {
        let home = tempfile::Builder::new()
            .prefix("mcp-coord-claude-home-")
            .tempdir()
            .expect("temp HOME");
        let project = home.path().join("project");
        std::fs::create_dir_all(&project).unwrap();
        let mcp_config = home.path().join("mcp.json");
        std::fs::write(
            &mcp_config,
            json!({ "mcpServers": { SERVER: transport.mcp_server(daemon_base) } }).to_string(),
        )
        .unwrap();
        let agent = Self {
            claude: claude.to_path_buf(),
            home,
            project,
            mcp_config,
            model_url: model_url.to_string(),
            daemon_base: daemon_base.to_string(),
            env: Vec::new(),
        };
        agent.trust(&agent.project);
        agent.install_hooks(&agent.project);
        agent
    }

    /// Makes the project a git repository on `branch` (one empty commit), as an agent's
    /// worktree is.
    pub fn git_branch(self, branch: &str) -> Self {
        let git = |args: &[&str]| {
            let out = Command::new("git")
                .arg("-C")
                .arg(&self.project)
                .args(["-c", "user.name=t", "-c", "user.email=t@localhost"])
                .args(args)
                .output()
                .expect("git runs");
            assert!(
                out.status.success(),
                "git {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        git(&["init", "-q", "-b", branch]);
        git(&["commit", "-q", "--allow-empty", "-m", "init"]);
        self
    }

    pub fn with_env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.to_string(), v.to_string()));
        self
    }

    /// Marks `dir` trusted (and onboarding done, the key approved) in this HOME's
    /// `~/.claude.json`, so the TUI asks nothing.
    pub fn trust(&self, dir: &Path) {
        let path = self.home.path().join(".claude.json");
        let mut config: Value = std::fs::read_to_string(&path)
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_else(|| json!({}));
        config["hasCompletedOnboarding"] = json!(true);
        config["customApiKeyResponses"] = json!({
            "approved": [&API_KEY[API_KEY.len() - 20..]], "rejected": []
        });
        if config.get("projects").is_none() {
            config["projects"] = json!({});
        }
        config["projects"][dir.display().to_string()] = json!({
            "hasTrustDialogAccepted": true,
            "hasCompletedProjectOnboarding": true,
            "allowedTools": [],
        });
        std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    }

    /// Runs `mcp-coord hooks install --project DIR` pointed at this daemon.
    pub fn install_hooks(&self, dir: &Path) {
        self.install_hooks_with(dir, &[]);
    }

    /// [`Agent::install_hooks`] with more global options (e.g. `--ca-cert FILE`).
    pub fn install_hooks_with(&self, dir: &Path, globals: &[&str]) {
        let out = Command::new(BIN)
            .args(globals)
            .args(["hooks", "install", "--project"])
            .arg(dir)
            .args(["--hook-url", &self.daemon_base, "--server", SERVER])
            .env("HOME", self.home.path())
            .output()
            .expect("mcp-coord hooks install runs");
        assert!(
            out.status.success(),
            "hooks install failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Where this agent's waiting hooks trace what they do (`MCP_COORD_WAKE_TRACE`).
    pub fn wake_trace_path(&self) -> PathBuf {
        self.home.path().join("wake-trace.log")
    }

    /// That trace, for assertion messages.
    pub fn wake_trace(&self) -> String {
        std::fs::read_to_string(self.wake_trace_path())
            .unwrap_or_else(|e| format!("(no wake trace: {e})"))
    }

    /// The whole environment Claude runs with (nothing inherited but PATH).
    pub fn environment(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
            ("HOME".into(), self.home.path().display().to_string()),
            ("LANG".into(), "C.UTF-8".into()),
            ("TERM".into(), "xterm-256color".into()),
            ("ANTHROPIC_BASE_URL".into(), self.model_url.clone()),
            ("ANTHROPIC_API_KEY".into(), API_KEY.into()),
            ("DISABLE_AUTOUPDATER".into(), "1".into()),
            ("DISABLE_TELEMETRY".into(), "1".into()),
            ("DISABLE_ERROR_REPORTING".into(), "1".into()),
            (
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC".into(),
                "1".into(),
            ),
            (
                "MCP_COORD_WAKE_TRACE".into(),
                self.wake_trace_path().display().to_string(),
            ),
        ];
        env.extend(self.env.iter().cloned());
        env
    }

    /// The arguments every run gets: our MCP server only, and its tools allowed.
    pub fn base_args(&self) -> Vec<String> {
        vec![
            "--mcp-config".into(),
            self.mcp_config.display().to_string(),
            "--strict-mcp-config".into(),
            "--allowedTools".into(),
            format!("mcp__{SERVER}"),
        ]
    }

    /// The command line of the interactive TUI (for tmux): `env -i K=V … claude ARGS`.
    pub fn tui_argv(&self) -> Vec<String> {
        let mut argv = vec!["env".to_string(), "-i".to_string()];
        argv.extend(
            self.environment()
                .into_iter()
                .map(|(k, v)| format!("{k}={v}")),
        );
        argv.push(self.claude.display().to_string());
        argv.extend(self.base_args());
        argv
    }

    /// The command line for `create_session(command=[…])`: this agent's Claude Code with the
    /// variables create_session gives a child (`COORD_SESSION`, `MASTER_SESSION_ID`,
    /// `TASK_ID`, `SESSION_ROLE`) and tmux's own kept, everything else of the test's
    /// environment (which the tmux server inherited) removed, and this agent's set.
    pub fn spawned_argv(&self) -> Vec<String> {
        const KEEP: [&str; 6] = [
            "COORD_SESSION",
            "MASTER_SESSION_ID",
            "TASK_ID",
            "SESSION_ROLE",
            "TMUX",
            "TMUX_PANE",
        ];
        let ours = self.environment();
        let mut argv = vec!["env".to_string()];
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy().into_owned();
            if !KEEP.contains(&name.as_str()) && !ours.iter().any(|(k, _)| *k == name) {
                argv.extend(["-u".to_string(), name]);
            }
        }
        argv.extend(ours.into_iter().map(|(k, v)| format!("{k}={v}")));
        argv.push(self.claude.display().to_string());
        argv.extend(self.base_args());
        argv
    }

    /// `claude -p PROMPT … --output-format stream-json --verbose`, bounded by
    /// [`PRINT_TIMEOUT`]; returns its JSON events and exit status.
    pub async fn print(&self, prompt: &str) -> PrintRun {
        self.print_with(prompt, &[]).await
    }

    /// [`Agent::print`] with extra arguments (e.g. `--resume ID`).
    pub async fn print_with(&self, prompt: &str, extra: &[&str]) -> PrintRun {
        let mut cmd = tokio::process::Command::new(&self.claude);
        cmd.arg("-p")
            .arg(prompt)
            .args(self.base_args())
            .args(extra)
            .args(["--output-format", "stream-json", "--verbose"])
            .current_dir(&self.project)
            .env_clear()
            .envs(self.environment())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let child = cmd.spawn().expect("claude starts");
        let out = tokio::time::timeout(PRINT_TIMEOUT, child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("claude -p did not finish within {PRINT_TIMEOUT:?}"))
            .expect("claude -p runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        PrintRun {
            status: out.status.code(),
            events: stdout
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Starts the interactive TUI in tmux session `name` on `tmux` and waits for its prompt.
    pub async fn tui(&self, tmux: &TmuxSocket, name: &str) -> Tui {
        self.tui_with(tmux, name, &[]).await
    }

    /// [`Agent::tui`] with variables in the tmux session's environment (not Claude's: its
    /// command line starts with `env -i`), e.g. `MASTER_SESSION_ID`, which says who may
    /// drive it with `send_keys`.
    pub async fn tui_with(&self, tmux: &TmuxSocket, name: &str, tmux_env: &[(&str, &str)]) -> Tui {
        let mut args = vec![
            "new-session".to_string(),
            "-d".into(),
            "-s".into(),
            name.into(),
            "-x".into(),
            "160".into(),
            "-y".into(),
            "50".into(),
            "-c".into(),
            self.project.display().to_string(),
        ];
        for (k, v) in tmux_env {
            args.extend(["-e".to_string(), format!("{k}={v}")]);
        }
        args.extend(self.tui_argv());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = tmux.run(&refs);
        assert!(
            out.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let tui = Tui {
            socket: tmux.name.clone(),
            target: name.to_string(),
        };
        tui.wait_screen(Duration::from_secs(60), |s| s.contains("❯"))
            .await
            .unwrap_or_else(|s| panic!("the Claude Code TUI showed no prompt:\n{s}"));
        tui
    }
}

/// What `claude -p` printed.
#[derive(Debug)]
pub struct PrintRun {
    pub status: Option<i32>,
    pub events: Vec<Value>,
    pub stderr: String,
}

impl PrintRun {
    /// Claude's session id (from the `system/init` event).
    pub fn session_id(&self) -> Option<String> {
        self.events
            .iter()
            .find(|e| e["type"] == "system" && e["subtype"] == "init")
            .and_then(|e| e["session_id"].as_str())
            .map(str::to_string)
    }

    /// Status of MCP server `name` in the init event (`connected`, `failed`, …).
    pub fn mcp_status(&self, name: &str) -> Option<String> {
        self.events
            .iter()
            .find(|e| e["type"] == "system" && e["subtype"] == "init")?
            .get("mcp_servers")?
            .as_array()?
            .iter()
            .find(|s| s["name"] == name)
            .and_then(|s| s["status"].as_str())
            .map(str::to_string)
    }

    /// The text of every tool result Claude got back.
    pub fn tool_results(&self) -> Vec<String> {
        self.events
            .iter()
            .filter(|e| e["type"] == "user")
            .flat_map(|e| {
                e["message"]["content"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter(|b| b["type"] == "tool_result")
            .map(|b| match &b["content"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect()
    }

    /// A one-screen summary for assertion messages.
    pub fn describe(&self) -> String {
        let events: Vec<String> = self
            .events
            .iter()
            .map(|e| {
                let s = e.to_string();
                s.chars().take(400).collect()
            })
            .collect();
        format!(
            "exit {:?}\nstderr: {}\nevents:\n{}",
            self.status,
            self.stderr,
            events.join("\n")
        )
    }
}

/// An interactive Claude Code in a tmux pane.
pub struct Tui {
    pub socket: String,
    pub target: String,
}

impl Tui {
    fn tmux(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("tmux runs")
    }

    /// The visible screen.
    pub fn screen(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-t", &format!("={}:", self.target)]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits (bounded) until `pred(screen)`; `Err(last screen)` on timeout.
    pub async fn wait_screen(
        &self,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Result<String, String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let s = self.screen();
            if pred(&s) {
                return Ok(s);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(s);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Types `text` and submits it (text literally, then Enter on its own). Claude Code may
    /// still be drawing its start screen (a notice over the prompt box swallows keys), so
    /// the text is typed again until it shows in the prompt box (bounded), then Enter.
    pub async fn submit(&self, text: &str) {
        let target = format!("={}:", self.target);
        let probe: String = text.chars().take(24).collect();
        for _ in 0..5 {
            let _ = self
                .wait_screen(Duration::from_secs(10), |s| s.contains('❯'))
                .await;
            self.tmux(&["send-keys", "-t", &target, "-l", text]);
            let shown = self
                .wait_screen(Duration::from_secs(3), |s| s.contains(&probe))
                .await;
            if shown.is_ok() {
                tokio::time::sleep(Duration::from_millis(300)).await;
                self.tmux(&["send-keys", "-t", &target, "Enter"]);
                return;
            }
            // Clear whatever half-arrived before trying again.
            self.tmux(&["send-keys", "-t", &target, "C-u"]);
        }
        panic!(
            "the TUI never showed the typed text; screen:\n{}",
            self.screen()
        );
    }
}
