//! Which messages wake an idle agent (issue 15). A Claude Code session that sits at its
//! prompt is woken by its `asyncRewake` hook when a message arrives that it should act on
//! now; the rest waits for its next prompt, where hooks show it as context.
//!
//! The names a policy is written in (`messages.wake_kinds`): the message kinds `task`,
//! `question`, `reply`, `info`, `status` (any status report of a child), and `final` (a
//! child's last report: `done` or `failed`). The default wakes for work, questions, answers
//! and children that finished; `info` and progress reports wait.

use serde::Serialize;

use super::message::{Message, MessageKind};

/// Every name a wake policy may use.
pub const WAKE_NAMES: &[&str] = &["task", "question", "reply", "info", "status", "final"];

/// The default `messages.wake_kinds`.
pub const DEFAULT_WAKE_KINDS: &[&str] = &["task", "question", "reply", "final"];

/// A parsed `messages.wake_kinds`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WakePolicy {
    kinds: Vec<MessageKind>,
    /// A status report wakes only when it is final (done/failed).
    final_status: bool,
}

impl WakePolicy {
    /// Parses names from [`WAKE_NAMES`]; an empty list wakes for nothing (wake-ups off).
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<WakePolicy, String> {
        let mut p = WakePolicy::default();
        for name in names {
            match name.as_ref().trim() {
                "final" => p.final_status = true,
                other => {
                    let kind = MessageKind::parse(other).map_err(|_| {
                        format!(
                            "wake kind {other:?} is not known; use any of {}",
                            WAKE_NAMES.join(", ")
                        )
                    })?;
                    if !p.kinds.contains(&kind) {
                        p.kinds.push(kind);
                    }
                }
            }
        }
        Ok(p)
    }

    /// Does `m` wake its recipient?
    pub fn wakes(&self, m: &Message) -> bool {
        self.kinds.contains(&m.kind)
            || (self.final_status && m.kind == MessageKind::Status && m.is_final)
    }

    /// Nothing wakes (an empty `messages.wake_kinds`).
    pub fn is_off(&self) -> bool {
        self.kinds.is_empty() && !self.final_status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(kind: MessageKind, is_final: bool) -> Message {
        let mut m = Message::new("a", "b", kind, "x".into());
        m.is_final = is_final;
        m
    }

    #[test]
    fn the_default_wakes_for_work_questions_answers_and_final_reports() {
        let p = WakePolicy::parse(DEFAULT_WAKE_KINDS).unwrap();
        assert!(p.wakes(&m(MessageKind::Task, false)));
        assert!(p.wakes(&m(MessageKind::Question, false)));
        assert!(p.wakes(&m(MessageKind::Reply, false)));
        assert!(p.wakes(&m(MessageKind::Status, true)));
        assert!(!p.wakes(&m(MessageKind::Status, false)), "progress waits");
        assert!(!p.wakes(&m(MessageKind::Info, false)), "info waits");
        assert!(!p.is_off());
    }

    #[test]
    fn status_wakes_for_every_report_and_empty_is_off() {
        let p = WakePolicy::parse(&["status", "info"]).unwrap();
        assert!(p.wakes(&m(MessageKind::Status, false)));
        assert!(p.wakes(&m(MessageKind::Info, false)));
        assert!(!p.wakes(&m(MessageKind::Task, false)));
        let off = WakePolicy::parse::<&str>(&[]).unwrap();
        assert!(off.is_off());
        assert!(!off.wakes(&m(MessageKind::Task, false)));
    }

    #[test]
    fn unknown_names_are_refused_with_the_allowed_ones() {
        let e = WakePolicy::parse(&["tasks"]).unwrap_err();
        assert!(e.contains("\"tasks\"") && e.contains("final"), "{e}");
    }
}
