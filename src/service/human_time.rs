//! Times and durations as people (and models) read them, for every message the service
//! words: `14:02:11 UTC`, `5 min`, seconds left until a store timestamp.

/// Whole seconds from `now_ms` until `at_ms`, rounded up; 0 once past.
pub fn secs_until(at_ms: i64, now_ms: i64) -> i64 {
    ((at_ms - now_ms).max(0) + 999) / 1000
}

/// `14:02:11 UTC` for a store timestamp.
pub fn utc_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000).rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02} UTC",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// `12 s`, `5 min`, `3 h 10 min`.
pub fn human_ms(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    if s < 120 {
        format!("{s} s")
    } else if s < 7200 {
        format!("{} min", s / 60)
    } else {
        format!("{} h {} min", s / 3600, (s / 60) % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_well() {
        assert_eq!(utc_time(0), "00:00:00 UTC");
        assert_eq!(
            utc_time((14 * 3600 + 2 * 60 + 11) * 1000 + 999),
            "14:02:11 UTC"
        );
        assert_eq!(human_ms(12_400), "12 s");
        assert_eq!(human_ms(5 * 60_000), "5 min");
        assert_eq!(human_ms(3 * 3_600_000 + 600_000), "3 h 10 min");
        assert_eq!(secs_until(1500, 1000), 1);
        assert_eq!(secs_until(0, 1000), 0);
    }
}
