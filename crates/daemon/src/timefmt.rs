//! Timestamps as Go formats them, since docker's clients parse and compare these strings.

use chrono::{DateTime, Utc};

/// What Go prints for its zero `time.Time`, which docker sends for "never".
pub const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Go's `time.RFC3339Nano`: fractional seconds with trailing zeros dropped.
pub fn go_rfc3339_nano(t: DateTime<Utc>) -> String {
    let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = t.timestamp_subsec_nanos();
    if nanos == 0 {
        return format!("{base}Z");
    }
    let frac = format!("{nanos:09}");
    format!("{base}.{}Z", frac.trim_end_matches('0'))
}

/// Parses docker's time filter values: RFC 3339 timestamps, Unix seconds (with optional
/// fraction), or a Go duration (`10m`, `1h30m`) meaning that long before `now`.
pub fn parse_time_filter(value: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    }
    if let Ok(secs) = value.parse::<f64>() {
        let whole = secs.trunc() as i64;
        let nanos = ((secs - secs.trunc()) * 1e9) as u32;
        return DateTime::from_timestamp(whole, nanos);
    }
    parse_go_duration(value).map(|d| now - d)
}

/// Go's `time.ParseDuration` for the units docker users type: h, m, s, ms, us, ns.
pub fn parse_go_duration(s: &str) -> Option<chrono::Duration> {
    berth_api::units::parse_go_duration(s).map(chrono::Duration::nanoseconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_nano_trims_like_go() {
        let t = DateTime::parse_from_rfc3339("2023-05-19T20:19:24.104124800Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(go_rfc3339_nano(t), "2023-05-19T20:19:24.1041248Z");
        let t = DateTime::from_timestamp(0, 0).unwrap();
        assert_eq!(go_rfc3339_nano(t), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn time_filters() {
        let now = DateTime::from_timestamp(10_000, 0).unwrap();
        assert_eq!(
            parse_time_filter("1h", now).unwrap().timestamp(),
            10_000 - 3600
        );
        assert_eq!(
            parse_time_filter("1h30m", now).unwrap().timestamp(),
            10_000 - 5400
        );
        assert_eq!(parse_time_filter("5000", now).unwrap().timestamp(), 5000);
        assert_eq!(
            parse_time_filter("2020-01-01T00:00:00Z", now)
                .unwrap()
                .timestamp(),
            1_577_836_800
        );
        assert!(parse_time_filter("yesterday", now).is_none());
        assert!(parse_go_duration("10x").is_none());
        assert!(parse_go_duration("").is_none());
    }
}
