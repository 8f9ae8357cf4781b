//! The systemd units: `systemd-analyze verify` on both (rendered exactly as
//! `install-service` renders them), and `install-service` itself (dry run, no systemd).

use std::path::Path;
use std::process::Command;

use mcp_coord::cli::install_service::{SYSTEM_UNIT, USER_UNIT, render};

use crate::support::binary;

/// Runs `systemd-analyze verify` on `unit` rendered with the test binary; any output
/// (systemd prints warnings such as unknown keys but still exits 0) is a failure.
fn verify(dir: &Path, file: &str, template: &str, user: bool) {
    let path = dir.join(file);
    std::fs::write(&path, render(template, Path::new(binary::BIN))).unwrap();
    let runtime = dir.join("runtime");
    std::fs::create_dir_all(&runtime).unwrap();
    let mut cmd = Command::new("systemd-analyze");
    if user {
        // The user manager's verify needs a runtime directory; a private one will do.
        cmd.arg("--user").env("XDG_RUNTIME_DIR", &runtime);
    }
    let out = cmd.arg("verify").arg(&path).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.trim().is_empty(),
        "systemd-analyze verify {file}: {}\n{text}",
        out.status
    );
}

#[test]
fn units_pass_systemd_analyze_verify() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        // Printed so a CI log shows why this did not run; scripts/test.sh installs systemd
        // where apt-get is available, so this only happens on other systems.
        eprintln!("SKIPPED units_pass_systemd_analyze_verify: systemd-analyze is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    verify(dir.path(), "mcp-coord.service", SYSTEM_UNIT, false);
    verify(dir.path(), "mcp-coord.user.service", USER_UNIT, true);
}

#[test]
fn verify_catches_a_broken_unit() {
    // The check above can fail: a misspelt key is reported.
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED verify_catches_a_broken_unit: systemd-analyze is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.service");
    let broken = SYSTEM_UNIT.replace("WatchdogSec=", "WatchdogSek=");
    std::fs::write(&path, render(&broken, Path::new(binary::BIN))).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("WatchdogSek"));
}

#[test]
fn install_service_dry_run_prints_the_unit_and_commands_and_writes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let out = binary::command(home.path(), &["install-service", "--user", "--dry-run"])
        .env("HOME", home.path())
        .env_remove("XDG_CONFIG_HOME")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let unit_path = home.path().join(".config/systemd/user/mcp-coord.service");
    assert!(
        text.contains(&format!("# would write {}:", unit_path.display())),
        "{text}"
    );
    // The real path of the binary, not the placeholder.
    let exe = std::fs::canonicalize(binary::BIN).unwrap();
    assert!(
        text.contains(&format!("ExecStart={} serve", exe.display())),
        "{text}"
    );
    assert!(!text.contains("@BINARY@"));
    assert!(text.contains("EnvironmentFile=-%h/.config/mcp-coord/env"));
    assert!(text.contains("systemctl --user daemon-reload\n"), "{text}");
    assert!(
        text.contains("systemctl --user enable --now mcp-coord.service\n"),
        "{text}"
    );
    assert!(!unit_path.exists(), "a dry run writes nothing");

    let out = binary::command(
        home.path(),
        &["install-service", "--uninstall", "--dry-run"],
    )
    .output()
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.contains("systemctl disable --now mcp-coord.service"),
        "{text}"
    );
    assert!(
        text.contains("# would remove /etc/systemd/system/mcp-coord.service"),
        "{text}"
    );
}

#[test]
fn install_service_without_systemd_says_so_and_fails() {
    // No systemctl on PATH: what a container or macOS looks like to the installer.
    let home = tempfile::tempdir().unwrap();
    let empty_path = home.path().join("bin");
    std::fs::create_dir_all(&empty_path).unwrap();
    let out = binary::command(home.path(), &["install-service", "--user"])
        .env("HOME", home.path())
        .env("PATH", &empty_path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("cannot install a systemd service"), "{err}");
    assert!(err.contains("`systemctl` is not on PATH"), "{err}");
    assert!(err.contains("start-server.sh --daemon"), "{err}");
    assert!(
        !home.path().join(".config/systemd").exists(),
        "nothing written when refusing"
    );
}
