//! Logging: human-readable by default, JSON under systemd or by flag (for `journalctl -o cat`).

use tracing_subscriber::EnvFilter;

use crate::config::LogSettings;

/// True when systemd started us (it sets `INVOCATION_ID`; `JOURNAL_STREAM` when logging to
/// the journal).
pub fn under_systemd() -> bool {
    std::env::var_os("JOURNAL_STREAM").is_some() || std::env::var_os("INVOCATION_ID").is_some()
}

/// Installs the global subscriber. Safe to call once; later calls do nothing.
pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_new(&settings.level).unwrap_or_else(|_| EnvFilter::new("info"));
    let json = match settings.format.as_str() {
        "json" => true,
        "text" => false,
        _ => under_systemd(),
    };
    // Colour codes only on a terminal: not in log files (start-server.sh --daemon) or journald.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init()
    } else {
        builder.with_target(false).try_init()
    };
}
