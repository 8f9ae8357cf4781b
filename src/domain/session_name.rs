//! Session names: validation and the generated names of unbound connections.

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
    fn generated_names_are_valid_and_distinct() {
        let a = generate();
        validate(&a).unwrap();
        assert_ne!(a, generate());
    }
}
