//! `send_keys`: type text literally, press Enter separately, and check that it was submitted.
//!
//! A known failure of other orchestrators: text and Enter sent in one burst look like a
//! paste to a TUI such as Claude Code, which then inserts the Enter as a line break and
//! leaves the prompt sitting unsubmitted. So: the text goes first (`send-keys -l`), we wait
//! for it to appear (or a short settle time), then Enter goes alone, and we watch the pane.
//!
//! "Submitted" means: after Enter the pane changed, and the cursor's line no longer ends with
//! the typed text (an unsubmitted prompt keeps the text on the input line; a shell, `read`, or
//! a REPL moves the cursor to a fresh line; Claude Code clears its input box). When that is
//! not seen within the verify time, Enter is pressed once more and watched again; if it still
//! is not seen the report says `confirmed: false` and why.

use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use super::pane::Capture;
use super::{Tmux, TmuxCommand, TmuxError};

/// Bytes per `send-keys` call: tmux carries a whole command in one message of at most 16 KiB.
const CHUNK_BYTES: usize = 2048;
/// How often the pane is looked at while waiting.
const POLL: Duration = Duration::from_millis(25);
/// Characters of the typed text's last line looked for on the cursor's line.
const TAIL_CHARS: usize = 12;

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SendKeysReport {
    /// With Enter: the pane showed the text submitted. Without: the text showed up.
    pub confirmed: bool,
    /// Enter presses sent (0 without Enter, 2 after a retry).
    pub enter_presses: u32,
    /// What was observed, in words.
    pub detail: String,
}

/// The visible screen and the cursor at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Snapshot {
    screen: String,
    cursor: (u32, u32),
}

impl Snapshot {
    fn cursor_line(&self) -> &str {
        self.screen
            .lines()
            .nth(self.cursor.1 as usize)
            .unwrap_or("")
            .trim_end()
    }
}

impl Tmux {
    async fn snapshot(&self, name: &str) -> Result<Snapshot, TmuxError> {
        let screen = self.capture_pane(name, Capture::Screen).await?;
        let state = self.pane_state(name).await?;
        Ok(Snapshot {
            screen,
            cursor: (state.cursor_x, state.cursor_y),
        })
    }

    /// Polls until `done(snapshot)` or the deadline; returns the last snapshot and whether
    /// `done` held.
    async fn watch(
        &self,
        name: &str,
        within: Duration,
        done: impl Fn(&Snapshot) -> bool,
    ) -> Result<(Snapshot, bool), TmuxError> {
        let deadline = Instant::now() + within;
        loop {
            let snap = self.snapshot(name).await?;
            if done(&snap) {
                return Ok((snap, true));
            }
            if Instant::now() >= deadline {
                return Ok((snap, false));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Types `text` literally into the session's active pane; with `enter`, presses Enter
    /// separately and verifies (see the module docs). `verify` bounds each watch.
    pub async fn send_keys(
        &self,
        name: &str,
        text: &str,
        enter: bool,
        verify: Duration,
    ) -> Result<SendKeysReport, TmuxError> {
        let before = self.snapshot(name).await?;
        for chunk in chunks(text, CHUNK_BYTES) {
            let cmd = TmuxCommand::new("send-keys")
                .arg("-l")
                .pane(name)
                .arg("--")
                .arg(chunk);
            self.run(cmd, Some(name)).await?;
        }
        // Let the program take the text in before Enter follows, so the two are not one burst.
        let settle = (verify / 3).min(Duration::from_millis(500));
        let (typed, echoed) = if text.is_empty() {
            (before.clone(), false)
        } else {
            self.watch(name, settle, |s| *s != before).await?
        };
        if !enter {
            return Ok(SendKeysReport {
                confirmed: echoed,
                enter_presses: 0,
                detail: if echoed {
                    "text typed; it shows in the pane; Enter not pressed (enter=false)".into()
                } else {
                    "text typed; the pane did not change (the program may not echo input); \
                     Enter not pressed (enter=false)"
                        .into()
                },
            });
        }
        let tail = tail_of(text);
        let mut last = typed;
        for press in 1..=2u32 {
            self.run(
                TmuxCommand::new("send-keys").pane(name).arg("Enter"),
                Some(name),
            )
            .await?;
            let reference = last.clone();
            let (snap, submitted) = self
                .watch(name, verify, |s| {
                    *s != reference && !ends_with_tail(s.cursor_line(), &tail)
                })
                .await?;
            if submitted {
                return Ok(SendKeysReport {
                    confirmed: true,
                    enter_presses: press,
                    detail: if press == 1 {
                        "text typed, Enter pressed, the pane shows it submitted".into()
                    } else {
                        "text typed; the first Enter showed no effect, the second did".into()
                    },
                });
            }
            last = snap;
        }
        let still_there = ends_with_tail(last.cursor_line(), &tail);
        Ok(SendKeysReport {
            confirmed: false,
            enter_presses: 2,
            detail: if still_there {
                "text typed and Enter pressed twice, but the text still sits on the input line; \
                 read get_session_logs and send_keys with text=\"\" to press Enter again"
                    .into()
            } else {
                "text typed and Enter pressed twice, but the pane did not change afterwards (the \
                 program may be busy or ignore input); read get_session_logs to see its state"
                    .into()
            },
        })
    }
}

/// The last characters of the text's last non-empty line: what an unsubmitted input line
/// would still end with.
fn tail_of(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim_end)
        .rfind(|l| !l.is_empty())
        .unwrap_or("");
    let n = line.chars().count();
    line.chars().skip(n.saturating_sub(TAIL_CHARS)).collect()
}

fn ends_with_tail(cursor_line: &str, tail: &str) -> bool {
    !tail.is_empty() && cursor_line.ends_with(tail)
}

/// Splits at character boundaries into pieces of at most `max` bytes.
fn chunks(text: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut end = rest.len().min(max);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        out.push(&rest[..end]);
        rest = &rest[end..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_respect_char_boundaries() {
        let text = "é".repeat(3000);
        let parts = chunks(&text, 2048);
        assert!(parts.iter().all(|p| p.len() <= 2048));
        assert_eq!(parts.concat(), text);
        assert!(chunks("", 10).is_empty());
    }

    #[test]
    fn tail_is_the_end_of_the_last_line() {
        assert_eq!(tail_of("first\nsecond line here  \n\n"), "nd line here");
        assert_eq!(tail_of("hi"), "hi");
        assert_eq!(tail_of(""), "");
        assert!(ends_with_tail("$ echo hi", "hi"));
        assert!(!ends_with_tail("$ ", "hi"));
        assert!(!ends_with_tail("anything", ""));
    }
}
