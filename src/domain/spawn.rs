//! Rules for spawning tmux sessions: child names, environment, commands, typed text.
//! Pure functions; every error says what is allowed.

/// Longest project or task id.
pub const MAX_ID_LEN: usize = 32;
/// Variables every child gets from us; a caller's `env` may not override them.
pub const RESERVED_ENV: [&str; 6] = [
    "COORD_SESSION",
    "COORD_CREDENTIAL",
    "MASTER_SESSION_ID",
    "TASK_ID",
    "SESSION_ROLE",
    // The child's own bearer token when the daemon requires tokens (service/tmux/child_token.rs).
    "MCP_COORD_TOKEN",
];
pub const MAX_ENV_VARS: usize = 32;
pub const MAX_ENV_KEY_LEN: usize = 64;
pub const MAX_ENV_VALUE_LEN: usize = 4096;
/// Bounds of a command: tmux carries the whole `new-session` in one 16 KiB message.
pub const MAX_COMMAND_WORDS: usize = 256;
pub const MAX_COMMAND_BYTES: usize = 8192;
/// Longest text one `send_keys` types.
pub const MAX_TEXT_BYTES: usize = 32 * 1024;
pub const MAX_PATH_BYTES: usize = 4096;

/// A project or task id: 1-32 letters, digits and `-`.
///
/// `.` is refused although it would be natural in a task id (`5c.1`): tmux silently turns
/// `.` in a session name into `_`, so `child_web_task_5c.1` would exist as
/// `child_web_task_5c_1` and nobody could find it by the name they gave. `_` is refused
/// because it separates the parts of `child_<project>_task_<task>`.
pub fn validate_id(kind: &str, value: &str) -> Result<(), String> {
    let allowed = "1-32 letters, digits and '-' (tmux turns '.' into '_', and '_' separates \
                   the parts of child_<project>_task_<task>)";
    if value.is_empty() {
        return Err(format!("{kind} is empty; use {allowed}"));
    }
    if value.len() > MAX_ID_LEN {
        return Err(format!(
            "{kind} is {} characters long; use {allowed}",
            value.len()
        ));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Err(format!(
            "{kind} {:?} contains {bad:?}; use {allowed}",
            super::session_name::truncate(value, 40)
        ));
    }
    Ok(())
}

/// `child_<project>_task_<task>` (the seed's naming, which also tells the parent by name).
pub fn child_name(project: &str, task: &str) -> String {
    format!("child_{project}_task_{task}")
}

/// Whether a session name follows the child pattern (so it is a child, whoever spawned it).
pub fn looks_like_child(name: &str) -> bool {
    name.strip_prefix("child_")
        .and_then(|rest| rest.split_once("_task_"))
        .is_some_and(|(p, t)| !p.is_empty() && !t.is_empty())
}

/// `tmp_<caller>_<id>`: the caller part shortened and with `.` replaced (tmux would do it).
pub fn temp_name(caller: &str, id: &str) -> String {
    let caller: String = caller
        .chars()
        .take(40)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("tmp_{caller}_{id}")
}

/// One variable of a caller's `env`.
pub fn validate_env(key: &str, value: &str) -> Result<(), String> {
    let key_ok = !key.is_empty()
        && key.len() <= MAX_ENV_KEY_LEN
        && key.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if !key_ok {
        return Err(format!(
            "env name {:?} is not allowed; use [A-Z_][A-Z0-9_]* up to {MAX_ENV_KEY_LEN} characters",
            super::session_name::truncate(key, 40)
        ));
    }
    if RESERVED_ENV.contains(&key) {
        return Err(format!(
            "env {key} is set by mcp-coord for every child ({}); leave it out",
            RESERVED_ENV.join(", ")
        ));
    }
    if value.len() > MAX_ENV_VALUE_LEN {
        return Err(format!(
            "env {key} is {} bytes long; the limit is {MAX_ENV_VALUE_LEN}",
            value.len()
        ));
    }
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(format!(
            "env {key} contains a control character (newline, NUL, …); only printable text and tabs are allowed"
        ));
    }
    Ok(())
}

/// A command as the caller gave it: one string, split into words the way a shell splits them
/// (quotes, backslashes) but never run by a shell; or the words themselves.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum CommandSpec {
    Line(String),
    Words(Vec<String>),
}

/// The argv a command spec stands for, validated.
pub fn command_words(spec: &CommandSpec) -> Result<Vec<String>, String> {
    let argv = match spec {
        CommandSpec::Line(line) => shell_words::split(line).map_err(|e| {
            format!(
                "command {:?} cannot be split into words ({e}); fix the quoting, or pass the words \
                 as a list like [\"sh\", \"-c\", \"echo hi\"]",
                super::session_name::truncate(line, 60)
            )
        })?,
        CommandSpec::Words(words) => words.clone(),
    };
    validate_command(&argv)?;
    Ok(argv)
}

fn validate_command(argv: &[String]) -> Result<(), String> {
    if argv.is_empty() || argv[0].is_empty() {
        return Err(
            "command is empty; give a program and its arguments, e.g. \"claude\" or \
                    [\"npm\", \"test\"]"
                .into(),
        );
    }
    if argv.len() > MAX_COMMAND_WORDS {
        return Err(format!(
            "command has {} words; the limit is {MAX_COMMAND_WORDS}",
            argv.len()
        ));
    }
    let bytes: usize = argv.iter().map(|w| w.len() + 1).sum();
    if bytes > MAX_COMMAND_BYTES {
        return Err(format!(
            "command is {bytes} bytes long; the limit is {MAX_COMMAND_BYTES} (put a long script in a file and run that)"
        ));
    }
    if argv.iter().any(|w| w.contains('\0')) {
        return Err("command contains a NUL character, which no program can receive".into());
    }
    Ok(())
}

/// Text for `send_keys`: printable text, tabs and newlines (typed as Ctrl-J).
pub fn validate_text(text: &str) -> Result<(), String> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(format!(
            "text is {} bytes long; the limit is {MAX_TEXT_BYTES} (write long instructions to a \
             file and send the path)",
            text.len()
        ));
    }
    if let Some(bad) = text
        .chars()
        .find(|c| c.is_control() && *c != '\n' && *c != '\t')
    {
        return Err(format!(
            "text contains the control character {bad:?}; send_keys types printable text, tabs \
             and newlines only (Enter is pressed for you with enter=true)"
        ));
    }
    Ok(())
}

/// A working directory as given: absolute, bounded, printable (existence is checked by I/O).
pub fn validate_working_dir(dir: &str) -> Result<(), String> {
    if dir.is_empty() || !dir.starts_with('/') {
        return Err(format!(
            "working_dir {:?} is not an absolute path; give one like /home/me/src/web",
            super::session_name::truncate(dir, 60)
        ));
    }
    if dir.len() > MAX_PATH_BYTES {
        return Err(format!(
            "working_dir is {} bytes long; the limit is {MAX_PATH_BYTES}",
            dir.len()
        ));
    }
    if dir.chars().any(char::is_control) {
        return Err("working_dir contains a control character".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names() {
        validate_id("task", "42").unwrap();
        validate_id("project", "web-app").unwrap();
        for bad in ["", "a.b", "a_b", "a b", "x;", &"x".repeat(33)] {
            assert!(validate_id("task", bad).is_err(), "{bad:?}");
        }
        assert_eq!(child_name("web", "3"), "child_web_task_3");
        assert!(looks_like_child("child_web_task_3"));
        assert!(!looks_like_child("child_web"));
        assert!(!looks_like_child("master_project_web"));
        assert_eq!(temp_name("agent.1;x", "ab12"), "tmp_agent_1_x_ab12");
    }

    #[test]
    fn env_rules() {
        validate_env("FOO_1", "bar baz").unwrap();
        assert!(validate_env("foo", "x").unwrap_err().contains("[A-Z_]"));
        assert!(validate_env("1A", "x").is_err());
        assert!(
            validate_env("TASK_ID", "x")
                .unwrap_err()
                .contains("leave it out")
        );
        assert!(validate_env("A", "x\ny").unwrap_err().contains("control"));
        assert!(validate_env("A", &"x".repeat(5000)).is_err());
    }

    #[test]
    fn commands_split_without_a_shell() {
        assert_eq!(
            command_words(&CommandSpec::Line("sh -c 'echo $HOME; exit 3'".into())).unwrap(),
            vec!["sh", "-c", "echo $HOME; exit 3"]
        );
        assert_eq!(
            command_words(&CommandSpec::Line("$(touch /tmp/x)".into())).unwrap(),
            vec!["$(touch", "/tmp/x)"]
        );
        assert!(
            command_words(&CommandSpec::Line("sh -c 'unclosed".into()))
                .unwrap_err()
                .contains("quoting")
        );
        assert!(
            command_words(&CommandSpec::Line("   ".into()))
                .unwrap_err()
                .contains("empty")
        );
        let words = vec!["a".to_string(); 300];
        assert!(
            command_words(&CommandSpec::Words(words))
                .unwrap_err()
                .contains("limit")
        );
    }

    #[test]
    fn text_and_dirs() {
        validate_text("hello\n\tworld ;$(x)").unwrap();
        assert!(validate_text("\u{3}").unwrap_err().contains("control"));
        assert!(validate_text(&"x".repeat(40_000)).is_err());
        validate_working_dir("/tmp").unwrap();
        assert!(validate_working_dir("tmp").is_err());
        assert!(validate_working_dir("").is_err());
    }
}
