//! Sizes and durations as docker prints them (`1.24MB`), shared by the daemon's progress messages and
//! the CLI's tables.

use std::time::Duration;

const DECIMAL: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
const BINARY: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

/// docker's `units.HumanSize`: decimal units, three significant digits (`HumanSizeWithPrecision(size, 3)`).
pub fn human_size(size: f64) -> String {
    human_size_with_precision(size, 3)
}

/// go-units' `HumanSizeWithPrecision`: decimal units, `precision` significant digits. Its
/// `HumanSize` is precision 4 (what `volume ls` and `volume prune` print); docker's image
/// and container tables ask for 3.
pub fn human_size_with_precision(size: f64, precision: usize) -> String {
    let (value, unit) = scale(size, 1000.0, &DECIMAL);
    format!("{}{unit}", format_g(value, precision))
}

/// docker's `units.BytesSize`: binary units, four significant digits.
pub fn bytes_size(size: f64) -> String {
    let (value, unit) = scale(size, 1024.0, &BINARY);
    format!("{}{unit}", format_g(value, 4))
}

fn scale(mut size: f64, base: f64, units: &[&'static str]) -> (f64, &'static str) {
    let mut i = 0;
    while size >= base && i < units.len() - 1 {
        size /= base;
        i += 1;
    }
    (size, units[i])
}

/// Go's `%.*g`: `precision` significant digits, trailing zeros dropped, scientific
/// notation (`1e+03`) when the exponent is below -4 or at least the precision.
pub fn format_g(value: f64, precision: usize) -> String {
    if value == 0.0 || !value.is_finite() {
        return if value.is_finite() {
            "0".into()
        } else {
            value.to_string()
        };
    }
    let precision = precision.max(1);
    let sci = format!("{:.*e}", precision - 1, value);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= precision as i32 {
        let mantissa = trim_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (precision as i32 - 1 - exp).max(0) as usize;
        trim_zeros(&format!("{value:.decimals$}")).to_string()
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// go-units `HumanDuration`: "Less than a second", "1 second",
/// "59 seconds", "About a minute", "5 minutes", "About an hour",
/// "3 hours" (up to 47), "2 days" (up to 13), "2 weeks" (up to 8),
/// "3 months" (up to 24), then years.
pub fn human_duration(d: Duration) -> String {
    const HOUR: u128 = 3_600_000_000_000;
    let seconds = d.as_secs();
    let minutes = seconds / 60;
    // Go rounds the hours: int(d.Hours() + 0.5).
    let hours = (d.as_nanos() + HOUR / 2) / HOUR;
    if seconds < 1 {
        "Less than a second".into()
    } else if seconds == 1 {
        "1 second".into()
    } else if seconds < 60 {
        format!("{seconds} seconds")
    } else if minutes == 1 {
        "About a minute".into()
    } else if minutes < 60 {
        format!("{minutes} minutes")
    } else if hours == 1 {
        "About an hour".into()
    } else if hours < 48 {
        format!("{hours} hours")
    } else if hours < 24 * 7 * 2 {
        format!("{} days", hours / 24)
    } else if hours < 24 * 30 * 2 {
        format!("{} weeks", hours / 24 / 7)
    } else if hours < 24 * 365 * 2 {
        format!("{} months", hours / 24 / 30)
    } else {
        // Years use the truncated hours, not the rounded ones.
        format!("{} years", d.as_nanos() / HOUR / 24 / 365)
    }
}

/// Go's `time.ParseDuration` for the units docker's flags and filters take (h, m, s, ms,
/// us or µs, ns, combined as in `1m30s`; a sign in front), in nanoseconds.
pub fn parse_go_duration(s: &str) -> Option<i64> {
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest.is_empty() {
        return None;
    }
    if rest == "0" {
        return Some(0);
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, tail) = rest.split_at(num_end);
        let value: f64 = num.parse().ok()?;
        let unit_end = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_end);
        let scale = match unit {
            "h" => 3.6e12,
            "m" => 6e10,
            "s" => 1e9,
            "ms" => 1e6,
            "us" | "µs" => 1e3,
            "ns" => 1.0,
            _ => return None,
        };
        total += value * scale;
        rest = tail;
    }
    Some(if neg { -(total as i64) } else { total as i64 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1m30s"), Some(90_000_000_000));
        assert_eq!(parse_go_duration("500ms"), Some(500_000_000));
        assert_eq!(parse_go_duration("1.5h"), Some(5_400_000_000_000));
        assert_eq!(parse_go_duration("-2s"), Some(-2_000_000_000));
        assert_eq!(parse_go_duration("0"), Some(0));
        assert_eq!(parse_go_duration("10"), None, "a unit is needed");
        assert_eq!(parse_go_duration("3d"), None);
        assert_eq!(parse_go_duration(""), None);
    }

    #[test]
    fn human_size_matches_go_units() {
        for (n, want) in [
            (0.0, "0B"),
            (999.0, "999B"),
            (1000.0, "1kB"),
            (1024.0, "1.02kB"),
            (5580.0, "5.58kB"),
            (123_456.0, "123kB"),
            (1_240_000.0, "1.24MB"),
            (999_999.0, "1e+03kB"),
            (12_300_000_000.0, "12.3GB"),
            (1e24, "1YB"),
        ] {
            assert_eq!(human_size(n), want, "{n}");
        }
    }

    #[test]
    fn human_size_with_precision_four_as_go_units_human_size() {
        for (n, want) in [
            (0.0, "0B"),
            (-1.0, "-1B"),
            (1_234_567.0, "1.235MB"),
            (123_456_789.0, "123.5MB"),
            (1024.0, "1.024kB"),
            (9_999_999.0, "10MB"),
        ] {
            assert_eq!(human_size_with_precision(n, 4), want, "{n}");
        }
    }

    #[test]
    fn bytes_size_matches_go_units() {
        assert_eq!(bytes_size(1024.0), "1KiB");
        assert_eq!(bytes_size(1536.0), "1.5KiB");
        assert_eq!(bytes_size(67_108_864.0), "64MiB");
    }

    #[test]
    fn format_g_small_numbers() {
        assert_eq!(format_g(0.00012345, 3), "0.000123");
        assert_eq!(format_g(0.000012345, 3), "1.23e-05");
        assert_eq!(format_g(42.0, 3), "42");
    }

    #[test]
    fn floats_like_go_g() {
        assert_eq!(format_g(999.0, 3), "999");
        assert_eq!(format_g(999.999, 3), "1e+03");
        assert_eq!(format_g(1.0, 3), "1");
        assert_eq!(format_g(1.24, 3), "1.24");
        assert_eq!(format_g(1.245, 3), "1.25"); // 1.245 is just above the tie
        assert_eq!(format_g(1.125, 3), "1.12"); // exact tie: half to even
        assert_eq!(format_g(12.34, 3), "12.3");
        assert_eq!(format_g(100.0, 3), "100");
        assert_eq!(format_g(0.0, 3), "0");
        assert_eq!(format_g(0.000012345, 3), "1.23e-05");
        assert_eq!(format_g(1048.576, 4), "1049");
        assert_eq!(format_g(1.0, 0), "1");
    }
}
