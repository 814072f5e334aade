//! Sizes, CPU counts, restart policies, ulimits and durations read as docker reads them.

use super::*;

#[test]
fn sizes_like_dockers_ram_in_bytes() {
    assert_eq!(ram_in_bytes("512").unwrap(), 512);
    assert_eq!(ram_in_bytes("64m").unwrap(), 64 << 20);
    assert_eq!(ram_in_bytes("1g").unwrap(), 1 << 30);
    assert_eq!(ram_in_bytes("1.5G").unwrap(), 3 << 29);
    assert_eq!(ram_in_bytes("10MB").unwrap(), 10 << 20);
    assert_eq!(ram_in_bytes("64 m").unwrap(), 64 << 20);
    assert_eq!(ram_in_bytes("64MiB").unwrap(), 64 << 20);
    assert_eq!(ram_in_bytes("64ki").unwrap(), 64 << 10);
    assert_eq!(ram_in_bytes("5b").unwrap(), 5);
    assert!(ram_in_bytes("lots").is_err());
    assert!(ram_in_bytes("5x").is_err());
    assert!(ram_in_bytes("5bb").is_err());
    assert!(ram_in_bytes("1.5.2m")
        .unwrap_err()
        .message
        .contains("1.5.2m"));
    assert!(ram_in_bytes(".5m").is_err());
    assert!(ram_in_bytes("-1").is_err());
    assert!(ram_in_bytes("").is_err());
}

#[test]
fn restart_ulimit_duration() {
    assert_eq!(
        restart_policy("on-failure:3").unwrap().maximum_retry_count,
        3
    );
    assert!(restart_policy("always:3").is_err());
    assert!(restart_policy("sometimes").is_err());
    let u = ulimit("nofile=1024:2048").unwrap();
    assert_eq!((u.soft, u.hard), (1024, 2048));
    assert!(ulimit("nofile=10:5").is_err());
    assert_eq!(duration_ns("1m30s").unwrap(), 90_000_000_000);
    assert!(duration_ns("5x").is_err());
}
