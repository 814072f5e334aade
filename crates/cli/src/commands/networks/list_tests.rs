//! `network ls` output, checked against docker 20.10's for the same networks.

use super::*;

fn net(name: &str, id: char, driver: &str, created: &str) -> Network {
    Network {
        name: name.into(),
        id: id.to_string().repeat(64),
        driver: driver.into(),
        scope: "local".into(),
        created: created.into(),
        ..Default::default()
    }
}

fn sample() -> Vec<Network> {
    let mut b10 = net("b10", 'a', "bridge", "2024-01-02T03:04:05.123Z");
    b10.labels.insert("x".into(), "1".into());
    vec![
        b10,
        net("b9", 'b', "bridge", "2024-01-02T03:04:05Z"),
        net("B1", 'c', "host", "2024-01-02T03:04:05.1+02:00"),
    ]
}

#[test]
fn default_table() {
    assert_eq!(
        render(sample(), None, false, true).unwrap(),
        "NETWORK ID     NAME      DRIVER    SCOPE\n\
         cccccccccccc   B1        host      local\n\
         bbbbbbbbbbbb   b9        bridge    local\n\
         aaaaaaaaaaaa   b10       bridge    local\n"
    );
}

#[test]
fn quiet_and_no_trunc() {
    let out = render(sample(), None, true, false).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines, ["c".repeat(64), "b".repeat(64), "a".repeat(64)]);
    assert_eq!(
        render(sample(), None, true, true).unwrap(),
        "cccccccccccc\nbbbbbbbbbbbb\naaaaaaaaaaaa\n"
    );
    // A custom format wins over -q.
    assert_eq!(
        render(sample(), Some("{{.Name}}"), true, true).unwrap(),
        "B1\nb9\nb10\n"
    );
}

#[test]
fn template_fields() {
    assert_eq!(
        render(
            sample(),
            Some("{{.ID}}|{{.Name}}|{{.IPv6}}|{{.Internal}}|{{.Labels}}|{{.CreatedAt}}"),
            false,
            true
        )
        .unwrap(),
        "cccccccccccc|B1|false|false||2024-01-02 03:04:05.1 +0200 +0200\n\
         bbbbbbbbbbbb|b9|false|false||2024-01-02 03:04:05 +0000 UTC\n\
         aaaaaaaaaaaa|b10|false|false|x=1|2024-01-02 03:04:05.123 +0000 UTC\n"
    );
    assert_eq!(
        render(
            sample(),
            Some("table {{.ID}}\\t{{.IPv6}}\\t{{.Internal}}\\t{{.Labels}}"),
            false,
            true
        )
        .unwrap(),
        "NETWORK ID     IPV6      INTERNAL   LABELS\n\
         cccccccccccc   false     false      \n\
         bbbbbbbbbbbb   false     false      \n\
         aaaaaaaaaaaa   false     false      x=1\n"
    );
}

#[test]
fn raw_format() {
    let out = render(sample()[..1].to_vec(), Some("raw"), false, true).unwrap();
    assert_eq!(
        out,
        "network_id: aaaaaaaaaaaa\nname: b10\ndriver: bridge\nscope: local\n\n"
    );
    assert_eq!(
        render(sample(), Some("raw"), true, true).unwrap(),
        "network_id: cccccccccccc\nnetwork_id: bbbbbbbbbbbb\nnetwork_id: aaaaaaaaaaaa\n"
    );
}

#[test]
fn empty_list_is_the_header() {
    assert_eq!(
        render(Vec::new(), None, false, true).unwrap(),
        "NETWORK ID   NAME      DRIVER    SCOPE\n"
    );
}

#[test]
fn natural_order() {
    let mut names = vec![
        "b10", "b9", "B1", "a", "a01", "a1", "a001", "x2y", "x10y", "1", "", "ab",
    ];
    names.sort_by(|a, b| natural_cmp(a, b));
    assert_eq!(
        names,
        ["", "1", "B1", "a", "a1", "a01", "a001", "ab", "b9", "b10", "x2y", "x10y"]
    );
}

#[test]
fn go_times() {
    assert_eq!(
        go_time("2024-01-02T03:04:05.123456789Z"),
        "2024-01-02 03:04:05.123456789 +0000 UTC"
    );
    assert_eq!(
        go_time("2024-01-02T03:04:05.500-07:30"),
        "2024-01-02 03:04:05.5 -0730 -0730"
    );
    assert_eq!(go_time(""), "0001-01-01 00:00:00 +0000 UTC");
}
