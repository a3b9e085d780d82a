//! Human durations as upstream `k8s.io/apimachinery/pkg/util/duration` (the AGE column), and RFC3339 helpers for API timestamps.

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};

/// Printed for a missing timestamp (upstream `translateTimestampSince`).
pub const UNKNOWN: &str = "<unknown>";
/// Printed for a duration more than a second in the past of "now" (clock skew).
pub const INVALID: &str = "<invalid>";

const MINUTE: i64 = 60;
const HOUR: i64 = 60 * MINUTE;
const DAY_HOURS: i64 = 24;
const YEAR_DAYS: i64 = 365;

/// Upstream `HumanDuration`, ~2–3 significant figures (api.md §3 AGE): `<2m` → `Ns`,
/// `<10m` → `MmSs`, `<3h` → `Mm`, `<8h` → `HhMm`, `<48h` → `Hh`, `<8d` → `DdHh`, `<2y` → `Dd`,
/// `<8y` → `YyDd`, else `Yy`. Up to one second negative prints `0s` (clock skew tolerance).
pub fn human_duration(d: SignedDuration) -> String {
    // Go's int(d.Seconds()) truncates toward zero, as as_secs does.
    let seconds = d.as_secs();
    if seconds < -1 {
        return INVALID.to_string();
    } else if seconds < 0 {
        return "0s".to_string();
    } else if seconds < 2 * MINUTE {
        return format!("{seconds}s");
    }
    let minutes = seconds / MINUTE;
    if minutes < 10 {
        let s = seconds % MINUTE;
        if s == 0 {
            return format!("{minutes}m");
        }
        return format!("{minutes}m{s}s");
    } else if minutes < 3 * 60 {
        return format!("{minutes}m");
    }
    let hours = seconds / HOUR;
    if hours < 8 {
        let m = minutes % 60;
        if m == 0 {
            return format!("{hours}h");
        }
        return format!("{hours}h{m}m");
    } else if hours < 48 {
        return format!("{hours}h");
    } else if hours < DAY_HOURS * 8 {
        let h = hours % DAY_HOURS;
        if h == 0 {
            return format!("{}d", hours / DAY_HOURS);
        }
        return format!("{}d{h}h", hours / DAY_HOURS);
    } else if hours < DAY_HOURS * YEAR_DAYS * 2 {
        return format!("{}d", hours / DAY_HOURS);
    } else if hours < DAY_HOURS * YEAR_DAYS * 8 {
        let days = hours / DAY_HOURS;
        let dy = days % YEAR_DAYS;
        if dy == 0 {
            return format!("{}y", days / YEAR_DAYS);
        }
        return format!("{}y{dy}d", days / YEAR_DAYS);
    }
    format!("{}y", hours / DAY_HOURS / YEAR_DAYS)
}

/// Upstream `ShortHumanDuration`: one unit only (`Ns`, `Nm`, `Nh`, `Nd`, `Ny`).
pub fn short_human_duration(d: SignedDuration) -> String {
    let seconds = d.as_secs();
    if seconds < -1 {
        INVALID.to_string()
    } else if seconds < 0 {
        "0s".to_string()
    } else if seconds < MINUTE {
        format!("{seconds}s")
    } else if seconds < HOUR {
        format!("{}m", seconds / MINUTE)
    } else if seconds < DAY_HOURS * HOUR {
        format!("{}h", seconds / HOUR)
    } else if seconds < DAY_HOURS * HOUR * YEAR_DAYS {
        format!("{}d", seconds / HOUR / DAY_HOURS)
    } else {
        format!("{}y", seconds / HOUR / DAY_HOURS / YEAR_DAYS)
    }
}

/// Upstream `translateTimestampSince`: the age of `ts` at `now`, `<unknown>` when absent.
pub fn translate_timestamp_since(ts: Option<&Time>, now: Timestamp) -> String {
    match ts {
        Some(t) => human_duration(now.duration_since(t.0)),
        None => UNKNOWN.to_string(),
    }
}

/// Upstream `translateMicroTimestampSince`.
pub fn translate_micro_timestamp_since(ts: Option<&MicroTime>, now: Timestamp) -> String {
    match ts {
        Some(t) => human_duration(now.duration_since(t.0)),
        None => UNKNOWN.to_string(),
    }
}

/// RFC3339 in whole seconds, UTC (`2006-01-02T15:04:05Z`), the wire form of `metav1.Time`
/// and of `kubectl.kubernetes.io/restartedAt`.
pub fn format_rfc3339(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// RFC3339 with microseconds, UTC (`2006-01-02T15:04:05.000000Z`), the wire form of `metav1.MicroTime`.
pub fn format_rfc3339_micro(ts: Timestamp) -> String {
    format!(
        "{}.{:06}Z",
        ts.strftime("%Y-%m-%dT%H:%M:%S"),
        ts.subsec_microsecond()
    )
}

/// Parses an RFC3339 timestamp (any precision or offset).
pub fn parse_rfc3339(s: &str) -> Option<Timestamp> {
    s.parse().ok()
}

/// `ts` truncated to whole seconds, as a `metav1.Time` stores it on the wire.
pub fn truncate_to_seconds(ts: Timestamp) -> Timestamp {
    Timestamp::from_second(ts.as_second()).unwrap_or(ts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: i64) -> SignedDuration {
        SignedDuration::from_secs(s)
    }

    #[test]
    fn human_duration_like_upstream_duration_test() {
        let m = 60;
        let h = 3600;
        let d = 24 * h;
        let y = 365 * d;
        let cases: &[(SignedDuration, &str)] = &[
            (secs(1), "1s"),
            (secs(70), "70s"),
            (secs(190), "3m10s"),
            (secs(70 * m), "70m"),
            (secs(47 * h), "47h"),
            (secs(49 * h), "2d1h"),
            (secs((8 * 24 + 2) * h), "8d"),
            (secs(367 * d), "367d"),
            (secs(365 * 2 * d + 25 * d), "2y25d"),
            (secs(365 * 8 * d + 25 * d), "8y"),
            (SignedDuration::from_millis(-1500), "0s"),
            (secs(-2), "<invalid>"),
            (secs(0), "0s"),
            (secs(119), "119s"),
            (secs(120), "2m"),
            (secs(121), "2m1s"),
            (secs(9 * m + 59), "9m59s"),
            (secs(10 * m), "10m"),
            (secs(179 * m), "179m"),
            (secs(3 * h), "3h"),
            (secs(3 * h + 5 * m), "3h5m"),
            (secs(8 * h), "8h"),
            (secs(2 * d), "2d"),
            (secs(7 * d + 23 * h), "7d23h"),
            (secs(2 * y), "2y"),
            (secs(3 * y + d), "3y1d"),
            (secs(20 * y), "20y"),
        ];
        for (d, want) in cases {
            assert_eq!(human_duration(*d), *want, "{d:?}");
        }
    }

    #[test]
    fn short_human_duration_like_upstream() {
        let cases: &[(i64, &str)] = &[
            (-2, "<invalid>"),
            (0, "0s"),
            (59, "59s"),
            (60, "1m"),
            (3599, "59m"),
            (3600, "1h"),
            (86_399, "23h"),
            (86_400, "1d"),
            (364 * 86_400, "364d"),
            (365 * 86_400, "1y"),
        ];
        for (s, want) in cases {
            assert_eq!(short_human_duration(secs(*s)), *want, "{s}");
        }
        assert_eq!(
            short_human_duration(SignedDuration::from_millis(-500)),
            "0s"
        );
    }

    #[test]
    fn timestamps_translate_and_format() {
        let now: Timestamp = "2024-05-01T12:00:00Z".parse().expect("valid");
        let created = Time("2024-05-01T11:55:00Z".parse().expect("valid"));
        assert_eq!(translate_timestamp_since(Some(&created), now), "5m");
        assert_eq!(translate_timestamp_since(None, now), "<unknown>");
        let micro = MicroTime("2024-05-01T11:59:30.5Z".parse().expect("valid"));
        assert_eq!(translate_micro_timestamp_since(Some(&micro), now), "29s");
        let ts: Timestamp = "2024-05-01T11:59:30.123456789Z".parse().expect("valid");
        assert_eq!(format_rfc3339(ts), "2024-05-01T11:59:30Z");
        assert_eq!(format_rfc3339_micro(ts), "2024-05-01T11:59:30.123456Z");
        assert_eq!(
            parse_rfc3339("2024-05-01T13:59:30+02:00"),
            Some(truncate_to_seconds(ts))
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
