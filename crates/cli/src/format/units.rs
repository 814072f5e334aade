//! The human-readable sizes, durations and short IDs docker prints, after
//! docker's go-units (`HumanSizeWithPrecision`, `BytesSize`,
//! `HumanDuration`), `stringid.TruncateID` and the formatter's `Ellipsis`.

use chrono::{DateTime, Utc};

use super::width::is_wide;

pub use berth_api::units::{bytes_size, human_duration, human_size};

/// "5 minutes ago": how docker shows a creation time (`CreatedSince`).
pub fn time_ago(t: DateTime<Utc>) -> String {
    time_ago_at(t, Utc::now())
}

/// [`time_ago`] as seen at `now`; a time in the future counts as now.
pub fn time_ago_at(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    human_duration((now - t).to_std().unwrap_or_default()) + " ago"
}

/// Docker's short ID (`stringid.TruncateID`): drops an `algo:` prefix and
/// keeps 12 characters.
pub fn truncate_id(id: &str) -> &str {
    let id = id.split_once(':').map_or(id, |(_, rest)| rest);
    match id.char_indices().nth(12) {
        Some((end, _)) => &id[..end],
        None => id,
    }
}

/// Docker's `Ellipsis`: fits `s` in `max` terminal columns, ending a cut
/// string with `…`. Wide characters count as two columns. With `max` 1 the
/// first character is returned whatever its width; with 0, nothing.
pub fn ellipsis(s: &str, max: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    match max {
        0 => return String::new(),
        1 => return chars.first().map(|c| c.to_string()).unwrap_or_default(),
        _ => {}
    }
    if s.is_ascii() {
        if s.len() <= max {
            return s.to_string();
        }
        return s[..max - 1].to_string() + "…";
    }
    // Running display width after each character.
    let display: Vec<usize> = chars
        .iter()
        .scan(0, |w, &c| {
            *w += if is_wide(c) { 2 } else { 1 };
            Some(*w)
        })
        .collect();
    if display.last().is_none_or(|&w| w <= max) {
        return s.to_string();
    }
    // Cut after the last character that still leaves a column for "…".
    // As in docker, a string whose first character is already too wide is
    // returned whole.
    for i in 0..display.len().saturating_sub(1) {
        if display[i] < max && display[i + 1] >= max {
            return chars[..=i].iter().collect::<String>() + "…";
        }
    }
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn human_sizes() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0B"),
            (1.0, "1B"),
            (999.0, "999B"),
            (1000.0, "1kB"),
            (1024.0, "1.02kB"),
            (1234.0, "1.23kB"),
            (1235.0, "1.24kB"),
            (5580.0, "5.58kB"),
            (99_950.0, "100kB"),
            (999_499.0, "999kB"),
            (999_500.0, "1e+03kB"),
            (999_999.0, "1e+03kB"),
            (1_000_000.0, "1MB"),
            (1_240_000.0, "1.24MB"),
            (7_340_032.0, "7.34MB"),
            (12_300_000_000.0, "12.3GB"),
            (3.42e12, "3.42TB"),
            (2.22e15, "2.22PB"),
            (1e18, "1EB"),
            (1e21, "1ZB"),
            (1e24, "1YB"),
            (1e27, "1e+03YB"),
            (-1.0, "-1B"),
        ];
        for (size, want) in cases {
            assert_eq!(human_size(*size), *want, "size {size}");
        }
        assert_eq!(berth_api::units::format_g(1.024, 4) + "kB", "1.024kB");
        assert_eq!(berth_api::units::format_g(1.048576, 4) + "MB", "1.049MB");
    }

    #[test]
    fn bytes_sizes() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0B"),
            (1023.0, "1023B"),
            (1024.0, "1KiB"),
            (1_048_576.0, "1MiB"),
            (2.0 * 1_048_576.0, "2MiB"),
            (3.42 * 1_073_741_824.0, "3.42GiB"),
            (5.372 * 1_099_511_627_776.0, "5.372TiB"),
            (2.22 * 1_125_899_906_842_624.0, "2.22PiB"),
            (1024f64.powi(5) * 1024f64.powi(5), "1.049e+06YiB"),
        ];
        for (size, want) in cases {
            assert_eq!(bytes_size(*size), *want, "size {size}");
        }
    }

    #[test]
    fn human_durations() {
        let s = Duration::from_secs;
        let ms = Duration::from_millis;
        let (min, hour, day) = (60, 3600, 86_400);
        let (week, month, year) = (7 * day, 30 * day, 365 * day);
        let cases: &[(Duration, &str)] = &[
            (ms(0), "Less than a second"),
            (ms(999), "Less than a second"),
            (s(1), "1 second"),
            (ms(1999), "1 second"),
            (s(2), "2 seconds"),
            (s(45), "45 seconds"),
            (s(59), "59 seconds"),
            (ms(59_999), "59 seconds"),
            (s(60), "About a minute"),
            (s(119), "About a minute"),
            (s(120), "2 minutes"),
            (s(3 * min), "3 minutes"),
            (s(35 * min + 40), "35 minutes"),
            (s(59 * min + 59), "59 minutes"),
            (s(hour), "About an hour"),
            (s(hour + 29 * min), "About an hour"),
            (s(hour + 30 * min) - ms(1), "About an hour"),
            (s(hour + 30 * min), "2 hours"),
            (s(hour + 59 * min), "2 hours"),
            (s(3 * hour), "3 hours"),
            (s(3 * hour + 29 * min), "3 hours"),
            (s(3 * hour + 31 * min), "4 hours"),
            (s(24 * hour), "24 hours"),
            (s(day + 12 * hour), "36 hours"),
            (s(47 * hour + 29 * min), "47 hours"),
            (s(47 * hour + 30 * min), "2 days"),
            (s(2 * day), "2 days"),
            (s(7 * day), "7 days"),
            (s(13 * day + 5 * hour), "13 days"),
            (s(14 * day - 31 * min), "13 days"),
            (s(14 * day - 30 * min), "2 weeks"),
            (s(2 * week), "2 weeks"),
            (s(2 * week + 4 * day), "2 weeks"),
            (s(3 * week), "3 weeks"),
            (s(4 * week + 3 * day), "4 weeks"),
            (s(month), "4 weeks"),
            (s(month + 2 * week), "6 weeks"),
            (s(2 * month - hour), "8 weeks"),
            (s(2 * month), "2 months"),
            (s(3 * month + week), "3 months"),
            (s(13 * month), "13 months"),
            (s(24 * month), "24 months"),
            (s(2 * year - hour), "24 months"),
            (s(2 * year), "2 years"),
            (s(24 * month + 2 * week), "2 years"),
            (s(3 * year + 2 * month), "3 years"),
            (s(100 * year), "100 years"),
        ];
        for (d, want) in cases {
            assert_eq!(human_duration(*d), *want, "duration {d:?}");
        }
    }

    #[test]
    fn times_ago() {
        let now =
            DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z").map(|t| t.with_timezone(&Utc));
        let now = now.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            time_ago_at(now - chrono::Duration::minutes(5), now),
            "5 minutes ago"
        );
        assert_eq!(
            time_ago_at(now - chrono::Duration::days(3), now),
            "3 days ago"
        );
        assert_eq!(
            time_ago_at(now + chrono::Duration::minutes(5), now),
            "Less than a second ago"
        );
    }

    #[test]
    fn short_ids() {
        let id = "sha256:4f2a9e0c1b7d3e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f";
        assert_eq!(truncate_id(id), "4f2a9e0c1b7d");
        assert_eq!(truncate_id("4f2a9e0c1b7d3e5f"), "4f2a9e0c1b7d");
        assert_eq!(truncate_id("abc"), "abc");
        assert_eq!(truncate_id("sha256:"), "");
        assert_eq!(truncate_id(""), "");
    }

    #[test]
    fn ellipses() {
        assert_eq!(
            ellipsis("\"sh -c 'echo hello'\"", 20),
            "\"sh -c 'echo hello'\""
        );
        assert_eq!(
            ellipsis("\"sh -c 'echo hello world'\"", 20),
            "\"sh -c 'echo hello …"
        );
        assert_eq!(ellipsis("abcdef", 3), "ab…");
        assert_eq!(ellipsis("abcdef", 1), "a");
        assert_eq!(ellipsis("abcdef", 0), "");
        assert_eq!(ellipsis("", 1), "");
        assert_eq!(ellipsis("", 5), "");
        assert_eq!(ellipsis("你好世界", 5), "你好…");
        assert_eq!(ellipsis("你好世界", 8), "你好世界");
        assert_eq!(ellipsis("你好世界", 6), "你好…");
        assert_eq!(ellipsis("你好", 2), "你好");
        assert_eq!(ellipsis("aé日本", 4), "aé…");
    }
}
