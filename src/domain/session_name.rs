//! Session names: validation, the generated names of unbound connections, and the readable
//! names of agents started by hand (`<worktree>[.<branch>]`, see [`readable`]).

/// Longest session name (a Claude session id is 36 characters).
pub const MAX_LEN: usize = 128;

/// Names taken by the store's own keys next to session records (`sessions:last_seen`,
/// `sessions:ended`). Every other sub-key of `sessions:` has a `:` in it, which names cannot.
pub const RESERVED: &[&str] = &["last_seen", "ended"];

/// Checks a session name; the error says what is allowed, for a model to fix its call.
pub fn validate(name: &str) -> Result<(), String> {
    if RESERVED.contains(&name) {
        return Err(format!(
            "session name {name:?} is reserved (the store uses it for an index); pick another name"
        ));
    }
    if name.is_empty() {
        return Err(
            "session name is empty; use 1-128 characters of letters, digits, '.', '_' and '-'"
                .into(),
        );
    }
    if name.len() > MAX_LEN {
        return Err(format!(
            "session name is {} characters long; the limit is {MAX_LEN} (letters, digits, '.', '_' and '-')",
            name.len()
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "session name {:?} contains {:?}; allowed are letters, digits, '.', '_' and '-'",
            truncate(name, 40),
            bad
        ));
    }
    Ok(())
}

/// A fresh name for a connection that did not ask for one: `agent-` and 8 hex digits.
pub fn generate() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("agent-{}", &id[..8])
}

/// Longest readable base name: room is left for a `-NN` suffix on collision.
const READABLE_MAX: usize = MAX_LEN - 4;

/// How many readable candidates (`base`, `base-2` … `base-MAX_SUFFIX`) are tried before the
/// caller falls back to Claude's session id.
pub const MAX_SUFFIX: usize = 50;

/// The readable name of an agent working in directory `dir` (its git worktree root, else its
/// cwd) on `branch`: the directory's last component, then `.` and the branch when there is
/// one that says more (not detached `HEAD`, not the directory's own name). Characters a
/// name cannot hold become `-`. `None` when nothing usable is left (then Claude's id is the
/// name, as before).
///
/// `/work/wt/claude` on branch `claude` → `claude`; `~/src/webapp` on `feature/login` →
/// `webapp.feature-login`.
pub fn readable(dir: &str, branch: Option<&str>) -> Option<String> {
    let last = dir
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    let dir = sanitize(last);
    if dir.is_empty() {
        return None;
    }
    let branch = branch
        .map(str::trim)
        .filter(|b| !b.is_empty() && *b != "HEAD")
        .map(sanitize)
        .filter(|b| !b.is_empty() && *b != dir);
    let name = match branch {
        Some(b) => format!("{dir}.{b}"),
        None => dir,
    };
    let name: String = name.chars().take(READABLE_MAX).collect();
    let name = name.trim_end_matches(['-', '.']).to_string();
    validate(&name).ok().map(|()| name)
}

/// The `n`-th candidate for a readable `base`: `base` itself, then `base-2`, `base-3` …
pub fn candidate(base: &str, n: usize) -> String {
    if n <= 1 {
        base.to_string()
    } else {
        format!("{base}-{n}")
    }
}

/// Letters, digits, `.`, `_` and `-` kept; any run of other characters becomes one `-`;
/// no `-` or `.` at either end.
fn sanitize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches(['-', '.']).to_string()
}

/// Shortens user input quoted back in an error, so a 10 000-character name stays readable.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let head: String = s.chars().take(max).collect();
        format!("{head}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_seed_and_claude_names() {
        for ok in [
            "master_project_web",
            "child_web_task_3",
            "0b6c1e9a-3f1d-4c1e-9a55-1c2d3e4f5a6b",
            "a",
        ] {
            validate(ok).unwrap();
        }
    }

    #[test]
    fn refuses_bad_names_with_a_reason() {
        assert!(validate("").unwrap_err().contains("empty"));
        assert!(validate(&"x".repeat(129)).unwrap_err().contains("limit"));
        assert!(validate("a b").unwrap_err().contains("allowed"));
        assert!(validate("a*").unwrap_err().contains("allowed"));
        assert!(validate("a\nb").unwrap_err().contains("allowed"));
        assert!(validate("last_seen").unwrap_err().contains("reserved"));
        assert!(validate("ended").unwrap_err().contains("reserved"));
    }

    #[test]
    fn readable_names_from_worktree_and_branch() {
        assert_eq!(
            readable("/work/wt/claude", Some("claude")).unwrap(),
            "claude"
        );
        assert_eq!(
            readable("/home/ann/src/webapp/", Some("feature/login")).unwrap(),
            "webapp.feature-login"
        );
        assert_eq!(readable("/srv/web app", Some("HEAD")).unwrap(), "web-app");
        assert_eq!(readable("/srv/api", None).unwrap(), "api");
        assert_eq!(
            readable("/srv/ünï code", Some("main")).unwrap(),
            "n-code.main"
        );
        assert_eq!(readable("/", Some("main")), None);
        assert_eq!(readable("/srv/ended", None), None, "reserved");
        let long = readable(&format!("/x/{}", "d".repeat(300)), Some("b")).unwrap();
        validate(&candidate(&long, MAX_SUFFIX)).unwrap();
        assert_eq!(candidate("api", 1), "api");
        assert_eq!(candidate("api", 3), "api-3");
    }

    #[test]
    fn generated_names_are_valid_and_distinct() {
        let a = generate();
        validate(&a).unwrap();
        assert_ne!(a, generate());
    }
}
