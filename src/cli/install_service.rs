//! `mcp-coord install-service [--user] [--uninstall] [--dry-run]`: writes the systemd unit
//! with this binary's real path, reloads systemd, enables and starts it (or reverses that).
//!
//! The unit templates are `deploy/mcp-coord.service` and `deploy/mcp-coord.user.service`,
//! compiled in so the installed binary needs no source tree.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use super::InstallMode;

/// The system unit template (`@BINARY@` is replaced at install).
pub const SYSTEM_UNIT: &str = include_str!("../../deploy/mcp-coord.service");
/// The user unit template.
pub const USER_UNIT: &str = include_str!("../../deploy/mcp-coord.user.service");
/// The unit's file name, in both scopes.
pub const UNIT_NAME: &str = "mcp-coord.service";

#[derive(Debug, clap::Args)]
pub struct InstallServiceArgs {
    /// Install a user unit (`systemctl --user`, ~/.config/systemd/user) instead of a system
    /// unit (/etc/systemd/system, needs root).
    #[arg(long)]
    pub user: bool,
    /// `--uninstall` stops, disables and removes the unit; `--dry-run` prints the unit and
    /// the commands.
    #[command(flatten)]
    pub mode: InstallMode,
}

/// Where a unit goes and what it contains.
#[derive(Debug)]
pub struct Plan {
    pub unit_path: PathBuf,
    pub unit: String,
    /// `systemctl` argument lists, run in order.
    pub commands: Vec<Vec<String>>,
}

/// `template` with `@BINARY@` replaced by `binary`, quoted and `%`-escaped for systemd.
pub fn render(template: &str, binary: &Path) -> String {
    let path = binary.display().to_string().replace('%', "%%");
    let exec = if path
        .chars()
        .any(|c| c.is_whitespace() || c == '"' || c == '\\')
    {
        format!("\"{}\"", path.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        path
    };
    template.replace("@BINARY@", &exec)
}

/// The unit directory for the scope: /etc/systemd/system, or
/// `$XDG_CONFIG_HOME/systemd/user` (default `~/.config/systemd/user`).
pub fn unit_dir(user: bool) -> Result<PathBuf, String> {
    if !user {
        return Ok(PathBuf::from("/etc/systemd/system"));
    }
    let config = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            Some(home) => PathBuf::from(home).join(".config"),
            None => return Err("neither XDG_CONFIG_HOME nor HOME is set".into()),
        },
    };
    Ok(config.join("systemd/user"))
}

/// What install (or uninstall) would do, for `binary`.
pub fn plan(args: &InstallServiceArgs, binary: &Path) -> Result<Plan, String> {
    let unit_path = unit_dir(args.user)?.join(UNIT_NAME);
    let template = if args.user { USER_UNIT } else { SYSTEM_UNIT };
    let systemctl = |rest: &[&str]| {
        let mut argv = vec!["systemctl".to_string()];
        if args.user {
            argv.push("--user".into());
        }
        argv.extend(rest.iter().map(|s| s.to_string()));
        argv
    };
    let commands = if args.mode.uninstall {
        vec![
            systemctl(&["disable", "--now", UNIT_NAME]),
            systemctl(&["daemon-reload"]),
        ]
    } else {
        vec![
            systemctl(&["daemon-reload"]),
            systemctl(&["enable", "--now", UNIT_NAME]),
        ]
    };
    Ok(Plan {
        unit_path,
        unit: render(template, binary),
        commands,
    })
}

/// Why systemd cannot be used here, if it cannot: no `systemctl` on PATH, or not booted
/// with systemd (`/run/systemd/system` missing: containers, WSL without systemd, macOS).
pub fn systemd_missing() -> Option<String> {
    if find_on_path("systemctl").is_none() {
        return Some("`systemctl` is not on PATH".into());
    }
    if !Path::new("/run/systemd/system").is_dir() {
        return Some(
            "this system was not booted with systemd (/run/systemd/system is missing)".into(),
        );
    }
    None
}

/// The first `name` in `$PATH` that is a file.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

pub fn run(args: InstallServiceArgs) -> ExitCode {
    let binary = match std::env::current_exe().and_then(|p| p.canonicalize()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("mcp-coord: cannot find this binary's path: {e}");
            return ExitCode::FAILURE;
        }
    };
    let plan = match plan(&args, &binary) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("mcp-coord: {e}");
            return ExitCode::FAILURE;
        }
    };
    let missing = systemd_missing();
    if args.mode.dry_run {
        print_plan(&args, &plan);
        if let Some(why) = missing {
            println!("# note: {why}; a real run would stop here");
        }
        return ExitCode::SUCCESS;
    }
    if let Some(why) = missing {
        eprintln!(
            "mcp-coord: cannot install a systemd service: {why}. Run the daemon another way: \
             `scripts/start-server.sh --daemon` (background, pid file and log file) or \
             `mcp-coord serve` under your own supervisor."
        );
        return ExitCode::FAILURE;
    }
    if !args.user && !args.mode.uninstall && is_in_home(&binary) {
        eprintln!(
            "mcp-coord: warning: {} is under a home directory, which the system unit's \
             transient user may not be able to read; if the service fails with status \
             203/EXEC, copy the binary first (`sudo install -m755 {} /usr/local/bin/`) and run \
             `sudo /usr/local/bin/mcp-coord install-service`, or use `install-service --user`.",
            binary.display(),
            binary.display()
        );
    }
    let result = if args.mode.uninstall {
        uninstall(&plan)
    } else {
        install(&plan)
    };
    match result {
        Ok(()) => {
            let scope = if args.user { " --user" } else { "" };
            if args.mode.uninstall {
                println!("removed {}", plan.unit_path.display());
            } else {
                println!(
                    "installed {} and started it.\n  status: systemctl{scope} status mcp-coord\n  \
                     logs:   journalctl{scope} -u mcp-coord -f\n  check:  mcp-coord doctor",
                    plan.unit_path.display()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mcp-coord: {e}");
            ExitCode::FAILURE
        }
    }
}

fn print_plan(args: &InstallServiceArgs, plan: &Plan) {
    if args.mode.uninstall {
        println!("# would run:");
        println!("{}", plan.commands[0].join(" "));
        println!("# would remove {}", plan.unit_path.display());
        for cmd in &plan.commands[1..] {
            println!("{}", cmd.join(" "));
        }
    } else {
        println!("# would write {}:", plan.unit_path.display());
        print!("{}", plan.unit);
        println!("# would run:");
        for cmd in &plan.commands {
            println!("{}", cmd.join(" "));
        }
    }
}

fn install(plan: &Plan) -> Result<(), String> {
    if let Some(dir) = plan.unit_path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| write_error(&plan.unit_path, e))?;
    }
    std::fs::write(&plan.unit_path, &plan.unit).map_err(|e| write_error(&plan.unit_path, e))?;
    for cmd in &plan.commands {
        run_command(cmd)?;
    }
    Ok(())
}

fn uninstall(plan: &Plan) -> Result<(), String> {
    if !plan.unit_path.exists() {
        return Err(format!(
            "{} does not exist: nothing to uninstall (a unit in the other scope? try with{} --user)",
            plan.unit_path.display(),
            if plan.commands[0].iter().any(|a| a == "--user") {
                "out"
            } else {
                ""
            }
        ));
    }
    // Disabling a unit that is not enabled is not an error worth stopping for.
    if let Err(e) = run_command(&plan.commands[0]) {
        eprintln!("mcp-coord: warning: {e}");
    }
    std::fs::remove_file(&plan.unit_path).map_err(|e| write_error(&plan.unit_path, e))?;
    for cmd in &plan.commands[1..] {
        run_command(cmd)?;
    }
    Ok(())
}

fn write_error(path: &Path, e: std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::PermissionDenied {
        format!(
            "cannot write {}: permission denied (the system unit needs root: \
             `sudo mcp-coord install-service`, or install for yourself with --user)",
            path.display()
        )
    } else {
        format!("cannot write {}: {e}", path.display())
    }
}

fn run_command(argv: &[String]) -> Result<(), String> {
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .output()
        .map_err(|e| format!("cannot run `{}`: {e}", argv.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{}` failed ({}): {}",
            argv.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn is_in_home(path: &Path) -> bool {
    path.starts_with("/home") || path.starts_with("/root")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_quotes_and_escapes_the_binary_path() {
        assert!(
            render(SYSTEM_UNIT, Path::new("/usr/bin/mcp-coord"))
                .contains("\nExecStart=/usr/bin/mcp-coord serve\n")
        );
        assert!(
            render(USER_UNIT, Path::new("/home/a b/100%/mcp-coord"))
                .contains("\nExecStart=\"/home/a b/100%%/mcp-coord\" serve\n")
        );
        assert!(!render(USER_UNIT, Path::new("/x")).contains("@BINARY@"));
    }
}
