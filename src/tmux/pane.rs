//! Reading a session's active pane: its text and its cursor.

use super::{Tmux, TmuxCommand, TmuxError};

/// Which part of the pane to capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capture {
    /// The visible screen only, rows as they are (row N is cursor row N).
    Screen,
    /// The last N lines of scrollback plus the screen, wrapped lines joined.
    Recent(usize),
    /// All scrollback plus the screen, wrapped lines joined.
    All,
}

/// Where the cursor is and whether the program still runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaneState {
    pub cursor_x: u32,
    pub cursor_y: u32,
    pub dead: bool,
    pub exit_status: Option<i32>,
    /// Lines in the scrollback, and how many it may hold: equal means older lines were lost.
    pub history_size: u64,
    pub history_limit: u64,
}

const STATE_FIELDS: &str = "#{pane_active}\t#{cursor_x}\t#{cursor_y}\t#{pane_dead}\t\
#{pane_dead_status}\t#{history_size}\t#{history_limit}";

impl Tmux {
    /// The pane's text. Trailing blank lines (the empty part of the screen) are dropped.
    pub async fn capture_pane(&self, name: &str, what: Capture) -> Result<String, TmuxError> {
        let mut cmd = TmuxCommand::new("capture-pane").arg("-p").pane(name);
        match what {
            Capture::Screen => {}
            Capture::Recent(lines) => {
                cmd = cmd.args(["-J", "-S", &format!("-{lines}"), "-E", "-"]);
            }
            Capture::All => cmd = cmd.args(["-J", "-S", "-", "-E", "-"]),
        }
        let out = self.run(cmd, Some(name)).await?;
        Ok(trim_trailing_blank_lines(&out))
    }

    pub async fn pane_state(&self, name: &str) -> Result<PaneState, TmuxError> {
        let out = self
            .run(
                TmuxCommand::new("list-panes")
                    .pane(name)
                    .args(["-F", STATE_FIELDS]),
                Some(name),
            )
            .await?;
        let rows: Vec<Vec<&str>> = out.lines().map(|l| l.split('\t').collect()).collect();
        let row = rows
            .iter()
            .find(|f| f.first() == Some(&"1"))
            .or(rows.first())
            .filter(|f| f.len() == 7)
            .ok_or_else(|| TmuxError::NoSession {
                name: name.to_string(),
                socket: self.socket().to_string(),
            })?;
        Ok(PaneState {
            cursor_x: row[1].parse().unwrap_or(0),
            cursor_y: row[2].parse().unwrap_or(0),
            dead: row[3] == "1",
            exit_status: row[4].parse().ok(),
            history_size: row[5].parse().unwrap_or(0),
            history_limit: row[6].parse().unwrap_or(0),
        })
    }
}

/// Drops empty lines at the end and trailing spaces of each line; keeps a final newline off.
pub fn trim_trailing_blank_lines(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let keep = lines
        .iter()
        .rposition(|l| !l.is_empty())
        .map_or(0, |i| i + 1);
    lines[..keep].join("\n")
}

/// The last `n` lines of `text`.
pub fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(n);
    lines[from..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_tail_is_dropped() {
        assert_eq!(trim_trailing_blank_lines("a  \n\nb\n\n   \n"), "a\n\nb");
        assert_eq!(trim_trailing_blank_lines("\n\n"), "");
        assert_eq!(last_lines("1\n2\n3", 2), "2\n3");
        assert_eq!(last_lines("1", 5), "1");
    }
}
