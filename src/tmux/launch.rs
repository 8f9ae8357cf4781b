//! How a command is started in a pane: always as several words, so tmux `execvp`s it instead
//! of handing a lone word to `$SHELL -c`.
//!
//! The two wrappers below are fixed `/bin/sh` scripts written here; the client's words reach
//! them only as positional parameters (`"$@"`), which a shell never parses, expands or
//! splits. A command `$(touch /tmp/pwned)` is therefore looked up as a program of that name.

/// The shell the wrappers use: present on every POSIX system, independent of `$SHELL`.
pub const SH: &str = "/bin/sh";

/// `exec "$@"`: the pane runs exactly `argv` (the wrapper shell replaces itself with it).
pub fn exec(argv: &[String]) -> Vec<String> {
    let mut out = vec![
        SH.to_string(),
        "-c".into(),
        "exec \"$@\"".into(),
        "mcp-coord-child".into(),
    ];
    out.extend(argv.iter().cloned());
    out
}

/// Runs `argv`, then writes its exit status to `status_file` and exits with it. The path
/// reaches the fixed script as `$0`, the words as `"$@"`: neither is ever parsed by a shell.
pub fn exec_recording_status(status_file: &std::path::Path, argv: &[String]) -> Vec<String> {
    let mut out = vec![
        SH.to_string(),
        "-c".into(),
        "\"$@\"; s=$?; printf '%s\\n' \"$s\" > \"$0\"; exit \"$s\"".into(),
        status_file.to_string_lossy().into_owned(),
    ];
    out.extend(argv.iter().cloned());
    out
}

/// Runs `argv`, then prints `MARKER:<exit code>` on a line of its own and waits, so the pane
/// (with all output up to the marker) stays readable until we kill the session.
///
/// tmux's `remain-on-exit` would also keep the pane, but it sometimes loses the last output
/// of a command that exits quickly; the marker arrives through the same terminal after the
/// command's output, so once we see it, everything before it is on the screen.
pub fn report_exit(marker: &str, argv: &[String]) -> Vec<String> {
    let mut out = vec![
        SH.to_string(),
        "-c".into(),
        "m=$1; shift; \"$@\"; echo \"$m:$?\"; exec sleep 86400".into(),
        "mcp-coord-temp".into(),
        marker.to_string(),
    ];
    out.extend(argv.iter().cloned());
    out
}

/// Finds the last `MARKER:<code>` in captured text: the output before it and the exit code.
pub fn split_exit(captured: &str, marker: &str) -> Option<(String, i32)> {
    let needle = format!("{marker}:");
    let at = captured.rfind(&needle)?;
    let rest = &captured[at + needle.len()..];
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    let code = digits.parse().ok()?;
    Some((captured[..at].to_string(), code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrappers_always_give_tmux_several_words() {
        let one = vec!["claude".to_string()];
        assert!(exec(&one).len() >= 2);
        assert_eq!(exec(&one).last().unwrap(), "claude");
        let r = report_exit("M", &one);
        assert_eq!(&r[4..], &["M".to_string(), "claude".to_string()]);
    }

    #[test]
    fn exit_marker_is_found_after_the_output() {
        let text = "hi\nfake M:0 inside\nM:3\n\n";
        assert_eq!(
            split_exit(text, "M"),
            Some(("hi\nfake M:0 inside\n".into(), 3))
        );
        assert_eq!(split_exit("no marker", "M"), None);
        assert_eq!(split_exit("partialM:", "M"), None);
        assert_eq!(split_exit("printfM:0\n", "M"), Some(("printf".into(), 0)));
    }
}
