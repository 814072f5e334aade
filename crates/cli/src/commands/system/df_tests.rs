use berth_api::types::{SystemDataUsage, Volume, VolumeUsageData};
use serde_json::json;

use super::*;

fn volume(name: &str, size: i64, ref_count: i64) -> Volume {
    Volume {
        name: name.into(),
        driver: "local".into(),
        usage_data: Some(VolumeUsageData { size, ref_count }),
        ..Default::default()
    }
}

fn usage() -> SystemDataUsage {
    SystemDataUsage {
        volumes: vec![
            volume("data", 3_000, 1),
            volume("old", 1_000, 0),
            volume("empty", 0, 0),
        ],
        containers: vec![
            json!({"Id": "a".repeat(64), "Names": ["/web"], "Image": "netbox", "Command": "sleep 100",
                   "Created": 0, "State": "running", "Status": "Up", "SizeRw": 300}),
            json!({"Id": "b".repeat(64), "Names": ["/done"], "Image": "netbox", "Command": "true",
                   "Created": 0, "State": "exited", "Status": "Exited (0)", "SizeRw": 100}),
        ],
        ..Default::default()
    }
}

#[test]
fn summary_counts_volumes_and_what_is_reclaimable() {
    let out = df_summary(&usage(), None).unwrap();
    assert_eq!(
        out,
        "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE\n\
         Images          0         0         0B        0B\n\
         Containers      2         1         400B      100B (25%)\n\
         Local Volumes   3         1         4kB       1kB (25%)\n\
         Build Cache     0         0         0B        0B\n"
    );
}

#[test]
fn summary_sizes_have_four_digits_as_go_units_human_size() {
    let du = SystemDataUsage {
        volumes: vec![volume("a", 1_234_567, 0)],
        ..Default::default()
    };
    let out = df_summary(&du, Some("{{.Type}}:{{.Size}}:{{.Reclaimable}}")).unwrap();
    assert!(
        out.contains("Local Volumes:1.235MB:1.235MB (100%)\n"),
        "{out}"
    );
}

#[test]
fn volumes_without_usage_are_unknown() {
    let mut v = volume("x", 0, 0);
    v.usage_data = None;
    let du = SystemDataUsage {
        volumes: vec![v, volume("y", 10, 2)],
        ..Default::default()
    };
    let out = df_summary(&du, Some("{{.Type}} {{.TotalCount}} {{.Active}} {{.Size}}")).unwrap();
    assert!(out.contains("Local Volumes 2 1 10B\n"), "{out}");
    assert_eq!(volume_row(&du.volumes[0])["Links"], "N/A");
    assert_eq!(volume_row(&du.volumes[0])["Size"], "N/A");
}

#[test]
fn verbose_lists_volumes_with_links_and_size_then_the_build_cache() {
    let out = df_verbose(&usage()).unwrap();
    let volumes = out.split("Local Volumes space usage:\n\n").nth(1).unwrap();
    assert_eq!(
        volumes,
        "VOLUME NAME   LINKS     SIZE\n\
         data          1         3kB\n\
         old           0         1kB\n\
         empty         0         0B\n\
         \nBuild cache usage: 0B\n\n\
         CACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED\n"
    );
    assert!(
        out.starts_with("Images space usage:\n\nREPOSITORY"),
        "{out}"
    );
    assert!(
        out.contains("\nContainers space usage:\n\nCONTAINER ID"),
        "{out}"
    );
    assert!(out.contains("web\n"), "{out}");
}

#[test]
fn verbose_prints_the_headers_when_there_is_nothing() {
    let out = df_verbose(&SystemDataUsage::default()).unwrap();
    assert!(
        out.contains(
            "Local Volumes space usage:\n\nVOLUME NAME   LINKS     SIZE\n\nBuild cache usage: 0B\n"
        ),
        "{out}"
    );
}

#[test]
fn a_long_volume_name_is_printed_whole() {
    let name = "f".repeat(64);
    let du = SystemDataUsage {
        volumes: vec![volume(&name, 5, 1)],
        ..Default::default()
    };
    let out = df_verbose(&du).unwrap();
    assert!(out.contains(&format!("{name}   1         5B\n")), "{out}");
}
