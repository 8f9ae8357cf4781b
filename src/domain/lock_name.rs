//! Lock names: validation, the canonical form, `work` resolution from a git branch, and the
//! hierarchy (which locks conflict with which).
//!
//! Canonical names are `kind:id`:
//!
//! | kind | example | hierarchy |
//! |---|---|---|
//! | `issue` | `issue:42` | none: `issue:42` and `issue:420` are unrelated, and an issue is not inside a wave |
//! | `wave` | `wave:5c`, `wave:5c.1` | `.`-separated: `wave:5c` is the parent of `wave:5c.1` |
//! | `path` | `path:src/auth/login.rs` | `/`-separated: `path:src` ⊃ `path:src/auth` ⊃ `path:src/auth/login.rs` |
//! | `resource` | `resource:pytest` (also written bare: `pytest`) | none |
//! | `branch` | `branch:feature/x` (only from `work`) | none |
//!
//! Names use a small charset (ASCII letters, digits and `. _ : / -`), so a name can never be
//! a glob pattern (`* ? [ ]`), split a Redis Cluster slot (`{ }`), or carry whitespace and
//! control characters into logs and keys.

use super::session_name::truncate;

/// Longest canonical lock name.
pub const MAX_LEN: usize = 200;

/// The lock-name kinds, with their prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    Issue,
    Wave,
    Path,
    Resource,
    Branch,
}

impl LockKind {
    pub const ALL: [LockKind; 5] = [
        LockKind::Issue,
        LockKind::Wave,
        LockKind::Path,
        LockKind::Resource,
        LockKind::Branch,
    ];

    pub fn prefix(self) -> &'static str {
        match self {
            LockKind::Issue => "issue",
            LockKind::Wave => "wave",
            LockKind::Path => "path",
            LockKind::Resource => "resource",
            LockKind::Branch => "branch",
        }
    }

    /// The separator between hierarchy levels, for the kinds that have a hierarchy.
    pub fn separator(self) -> Option<char> {
        match self {
            LockKind::Wave => Some('.'),
            LockKind::Path => Some('/'),
            LockKind::Issue | LockKind::Resource | LockKind::Branch => None,
        }
    }

    fn from_prefix(p: &str) -> Option<LockKind> {
        LockKind::ALL.into_iter().find(|k| k.prefix() == p)
    }
}

/// A validated lock name in canonical form (`resource:pytest`, `wave:5c.1`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockName {
    kind: LockKind,
    canonical: String,
}

const ALLOWED: &str = "ASCII letters, digits and . _ : / -";
/// Longest issue number accepted (no tracker has more).
const MAX_ISSUE_DIGITS: usize = 18;

const FORMS: &str = "issue:42, wave:5c, wave:5c.1, path:src/auth/login.rs, a bare resource name like pytest or pr-create, or work (your git branch)";

impl LockName {
    /// Parses what a caller typed. `work` resolves from `branch` (the caller's git branch);
    /// bare names are resources. The error says what is allowed.
    pub fn parse(input: &str, branch: Option<&str>) -> Result<LockName, String> {
        if input == "work" {
            let Some(branch) = branch.filter(|b| !b.is_empty()) else {
                return Err(
                    "lock name \"work\" means the issue or wave of your git branch, but \
                     no branch is known for this session; pass branch=\"issue-42-auth\" (the \
                     output of `git branch --show-current`), or name the lock directly (e.g. \
                     issue:42)"
                        .into(),
                );
            };
            return from_branch(branch);
        }
        check_charset(input, "lock name")?;
        let Some((prefix, id)) = input.split_once(':') else {
            return LockName::build(LockKind::Resource, input);
        };
        let Some(kind) = LockKind::from_prefix(prefix) else {
            return Err(format!(
                "lock name {:?} has the unknown prefix {prefix:?}; known prefixes are issue:, \
                 wave:, path:, resource:, branch: (forms: {FORMS})",
                truncate(input, 60)
            ));
        };
        LockName::build(kind, id)
    }

    fn build(kind: LockKind, id: &str) -> Result<LockName, String> {
        let shown = format!("{}:{}", kind.prefix(), truncate(id, 60));
        if id.is_empty() {
            return Err(format!(
                "lock name {shown:?} has nothing after the prefix; forms: {FORMS}"
            ));
        }
        let canonical = format!("{}:{id}", kind.prefix());
        if canonical.len() > MAX_LEN {
            return Err(format!(
                "lock name is {} characters long; the limit is {MAX_LEN} ({ALLOWED})",
                canonical.len()
            ));
        }
        let bad_char = |allowed: &dyn Fn(char) -> bool| id.chars().find(|c| !allowed(*c));
        let word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-');
        match kind {
            // An issue is its tracker's number: issue:42, never issue:-1 or issue:abc.
            LockKind::Issue
                if !id.bytes().all(|b| b.is_ascii_digit()) || id.len() > MAX_ISSUE_DIGITS =>
            {
                return Err(format!(
                    "issue numbers are non-negative integers of at most {MAX_ISSUE_DIGITS} digits \
                     (issue:42); {shown:?} is not one — for other names use a bare name or path:…"
                ));
            }
            LockKind::Issue | LockKind::Resource => {
                if let Some(c) = bad_char(&|c| word(c) || c == '.') {
                    return Err(format!(
                        "{} names are letters, digits, '.', '_' and '-'; {shown:?} contains {c:?}{}",
                        kind.prefix(),
                        if c == '/' {
                            " (for files and directories use path:…)"
                        } else {
                            ""
                        }
                    ));
                }
            }
            LockKind::Branch => {
                if let Some(c) = bad_char(&|c| word(c) || matches!(c, '.' | '/')) {
                    return Err(format!(
                        "branch: names are letters, digits, '.', '_', '-' and '/'; {shown:?} contains {c:?}"
                    ));
                }
            }
            LockKind::Wave | LockKind::Path => {
                let sep = kind.separator().unwrap_or('/');
                // Paths may have dots inside a level (`login.rs`); for waves `.` is the separator.
                if let Some(c) = bad_char(&|c| word(c) || c == sep || c == '.') {
                    return Err(format!(
                        "{shown:?} contains {c:?}; {} names are letters, digits, '_', '-'{} separated by {sep:?}",
                        kind.prefix(),
                        if kind == LockKind::Path { ", '.'" } else { "" }
                    ));
                }
                if id
                    .split(sep)
                    .any(|seg| seg.is_empty() || seg == "." || seg == "..")
                {
                    return Err(format!(
                        "{shown:?} has an empty, '.' or '..' level; write levels separated by single {sep:?} with no leading or trailing {sep:?} (e.g. {})",
                        if kind == LockKind::Path {
                            "path:src/auth/login.rs, relative to the repository root"
                        } else {
                            "wave:5c.1"
                        }
                    ));
                }
            }
        }
        // A wave's levels are letters and digits (wave:5c, wave:5c.1): no '_' or '-'.
        if kind == LockKind::Wave && !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.') {
            return Err(format!(
                "wave ids are levels of letters and digits separated by '.' (wave:5c, \
                 wave:5c.1); {shown:?} is not one"
            ));
        }
        Ok(LockName { kind, canonical })
    }

    pub fn kind(&self) -> LockKind {
        self.kind
    }

    /// `resource:pytest`: the name used in keys, records and results.
    pub fn as_str(&self) -> &str {
        &self.canonical
    }

    /// The part after `kind:`.
    pub fn id(&self) -> &str {
        &self.canonical[self.kind.prefix().len() + 1..]
    }

    /// Enclosing locks, outermost first: `path:src/auth/login.rs` → `[path:src, path:src/auth]`.
    pub fn ancestors(&self) -> Vec<String> {
        let Some(sep) = self.kind.separator() else {
            return Vec::new();
        };
        let id = self.id();
        id.match_indices(sep)
            .map(|(i, _)| format!("{}:{}", self.kind.prefix(), &id[..i]))
            .collect()
    }

    /// Every descendant's name starts with this (`wave:5c.`, `path:src/auth/`); `None` for
    /// kinds without hierarchy.
    pub fn descendant_prefix(&self) -> Option<String> {
        self.kind
            .separator()
            .map(|sep| format!("{}{sep}", self.canonical))
    }

    /// True when `other` (a canonical name) is this lock, an ancestor, or a descendant: the
    /// locks whose release may let a waiter for this one in.
    pub fn is_related(&self, other: &str) -> bool {
        if other == self.canonical {
            return true;
        }
        let Some(sep) = self.kind.separator() else {
            return false;
        };
        let prefix_of = |long: &str, short: &str| {
            long.len() > short.len()
                && long.starts_with(short)
                && long[short.len()..].starts_with(sep)
        };
        prefix_of(other, &self.canonical) || prefix_of(&self.canonical, other)
    }
}

impl std::fmt::Display for LockName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.canonical)
    }
}

fn check_charset(input: &str, what: &str) -> Result<(), String> {
    if input.is_empty() {
        return Err(format!("{what} is empty; forms: {FORMS}"));
    }
    if input.len() > MAX_LEN {
        return Err(format!(
            "{what} is {} characters long; the limit is {MAX_LEN} ({ALLOWED})",
            input.chars().count()
        ));
    }
    if let Some(c) = input
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '/' | '-')))
    {
        return Err(format!(
            "{what} {:?} contains {c:?}; allowed are {ALLOWED} (no spaces, globs or braces); forms: {FORMS}",
            truncate(input, 60)
        ));
    }
    Ok(())
}

/// `work` for a git branch: `issue-42-auth` → `issue:42`, `wave-5c.1-feat` → `wave:5c.1`,
/// `wave-5c-feat` → `wave:5c`, anything else → `branch:<name>`. Only the last `/` component
/// is looked at for the issue and wave patterns (`alice/issue-42-x` → `issue:42`).
pub fn from_branch(branch: &str) -> Result<LockName, String> {
    check_charset(branch, "branch name").map_err(|e| {
        format!(
            "{e}; cannot derive a lock from this branch, name the lock directly (e.g. issue:42)"
        )
    })?;
    let last = branch.rsplit('/').next().unwrap_or(branch);
    for (marker, kind) in [("issue-", LockKind::Issue), ("wave-", LockKind::Wave)] {
        if let Some(rest) = last.strip_prefix(marker) {
            let id = rest.split('-').next().unwrap_or("");
            if !id.is_empty()
                && let Ok(name) = LockName::build(kind, id)
            {
                return Ok(name);
            }
        }
    }
    LockName::build(LockKind::Branch, branch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        LockName::parse(s, None).unwrap().to_string()
    }

    #[test]
    fn seed_names_parse() {
        assert_eq!(canon("pytest"), "resource:pytest");
        assert_eq!(canon("pr-create"), "resource:pr-create");
        assert_eq!(canon("resource:pytest"), "resource:pytest");
        assert_eq!(canon("issue:42"), "issue:42");
        assert_eq!(canon("wave:5c"), "wave:5c");
        assert_eq!(canon("wave:5c.1"), "wave:5c.1");
        assert_eq!(canon("path:src/auth/login.rs"), "path:src/auth/login.rs");
        assert_eq!(canon("branch:feature/x"), "branch:feature/x");
    }

    #[test]
    fn work_resolves_from_the_branch() {
        let w = |b: &str| LockName::parse("work", Some(b)).unwrap().to_string();
        assert_eq!(w("issue-42-auth"), "issue:42");
        assert_eq!(w("issue-42"), "issue:42");
        assert_eq!(w("wave-5c.1-feat"), "wave:5c.1");
        assert_eq!(w("wave-5c-feat"), "wave:5c");
        assert_eq!(w("alice/issue-7-x"), "issue:7");
        assert_eq!(w("main"), "branch:main");
        assert_eq!(w("feature/login"), "branch:feature/login");
        assert_eq!(w("issue-"), "branch:issue-");
        assert_eq!(w("wave-5c..1-x"), "branch:wave-5c..1-x");
        let no_branch = LockName::parse("work", None).unwrap_err();
        assert!(no_branch.contains("branch="), "{no_branch}");
        assert!(LockName::parse("work", Some("a b")).is_err());
    }

    #[test]
    fn bad_names_say_what_is_allowed() {
        let long = "x".repeat(10_000);
        let cases = [
            ("", "empty"),
            (long.as_str(), "limit"),
            ("a*", "allowed"),
            ("a?", "allowed"),
            ("a[b]", "allowed"),
            ("{claude}", "allowed"),
            ("a\nb", "allowed"),
            ("a\u{7}b", "allowed"),
            ("a b", "allowed"),
            ("foo:bar", "unknown prefix"),
            ("issue:", "nothing after"),
            ("path:/etc", "leading"),
            ("path:src//a", "empty"),
            ("path:../x", "'..'"),
            ("wave:5c.", "trailing"),
            ("wave:5c/1", "contains"),
            ("issue:4/2", "non-negative integers"),
            ("issue:-1", "non-negative integers"),
            ("issue:+1", "contains"),
            ("issue:4.2", "non-negative integers"),
            ("issue:abc", "non-negative integers"),
            ("issue:1234567890123456789", "non-negative integers"),
            ("wave:-1", "letters and digits"),
            ("wave:5c.-1", "letters and digits"),
            ("wave:5_c", "letters and digits"),
            ("src/auth", "path:"),
            ("é", "allowed"),
        ];
        for (input, needle) in cases {
            let e = LockName::parse(input, None).unwrap_err();
            assert!(e.contains(needle), "{input:?}: {e}");
            assert!(e.len() < 400, "short message for {input:?}: {e}");
        }
    }

    #[test]
    fn hierarchy() {
        let p = LockName::parse("path:src/auth/login.rs", None).unwrap();
        assert_eq!(p.ancestors(), vec!["path:src", "path:src/auth"]);
        assert_eq!(
            p.descendant_prefix().as_deref(),
            Some("path:src/auth/login.rs/")
        );
        let w = LockName::parse("wave:5c.1", None).unwrap();
        assert_eq!(w.ancestors(), vec!["wave:5c"]);
        let top = LockName::parse("wave:5c", None).unwrap();
        assert!(top.ancestors().is_empty());
        assert_eq!(top.descendant_prefix().as_deref(), Some("wave:5c."));
        assert!(top.is_related("wave:5c.1"));
        assert!(w.is_related("wave:5c"));
        assert!(!top.is_related("wave:5c1"));
        assert!(!top.is_related("wave:5"));
        let i = LockName::parse("issue:42", None).unwrap();
        assert!(i.ancestors().is_empty());
        assert!(i.descendant_prefix().is_none());
        assert!(!i.is_related("issue:420"));
        assert!(i.is_related("issue:42"));
    }
}
