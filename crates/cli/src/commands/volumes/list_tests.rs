//! `volume ls` output, checked against docker 20.10's for the same volumes.

use berth_api::types::VolumeUsageData;

use super::*;

fn vol(name: &str, driver: &str, mountpoint: &str) -> Volume {
    Volume {
        name: name.into(),
        driver: driver.into(),
        mountpoint: mountpoint.into(),
        scope: "local".into(),
        ..Default::default()
    }
}

/// The volumes docker 20.10 was shown: one with labels and usage, one with unknown usage,
/// one with neither.
fn sample() -> Vec<Volume> {
    let mut v10 = vol("v10", "local", "/x");
    v10.labels = Some(
        [("b", "2"), ("a", "1")]
            .map(|(k, v)| (k.into(), v.into()))
            .into(),
    );
    v10.usage_data = Some(VolumeUsageData {
        size: 123456789,
        ref_count: 2,
    });
    let mut long = vol(
        "averyveryverylongvolumename0123456789abcdef",
        "customdriver",
        "/y",
    );
    long.usage_data = Some(VolumeUsageData::default());
    let mut v9 = vol("v9", "local", "/z");
    v9.scope = "global".into();
    v9.labels = Some(Default::default());
    vec![v10, long, v9]
}

#[test]
fn default_table() {
    assert_eq!(
        render(sample(), None, false).unwrap(),
        "DRIVER         VOLUME NAME\n\
         customdriver   averyveryverylongvolumename0123456789abcdef\n\
         local          v9\n\
         local          v10\n"
    );
    assert_eq!(
        render(Vec::new(), None, false).unwrap(),
        "DRIVER    VOLUME NAME\n"
    );
}

#[test]
fn quiet() {
    assert_eq!(
        render(sample(), None, true).unwrap(),
        "averyveryverylongvolumename0123456789abcdef\nv9\nv10\n"
    );
    assert_eq!(
        render(sample(), Some("table"), true).unwrap(),
        "averyveryverylongvolumename0123456789abcdef\nv9\nv10\n"
    );
    // A custom format wins over -q.
    assert_eq!(
        render(sample(), Some("{{.Driver}}"), true).unwrap(),
        "customdriver\nlocal\nlocal\n"
    );
}

#[test]
fn template_fields() {
    assert_eq!(
        render(
            sample(),
            Some("{{.Name}}|{{.Scope}}|{{.Mountpoint}}|{{.Labels}}|{{.Links}}|{{.Size}}"),
            false
        )
        .unwrap(),
        "averyveryverylongvolumename0123456789abcdef|local|/y||-1|-1B\n\
         v9|global|/z||N/A|N/A\n\
         v10|local|/x|a=1,b=2|2|123.5MB\n"
    );
    assert_eq!(
        render(
            vec![vol("v1", "local", "/x")],
            Some("table {{.Name}}\\t{{.Mountpoint}}\\t{{.Labels}}\\t{{.Scope}}\\t{{.Links}}\\t{{.Size}}"),
            false
        )
        .unwrap(),
        "VOLUME NAME   MOUNTPOINT   LABELS    SCOPE     LINKS     SIZE\n\
         v1            /x                     local     N/A       N/A\n"
    );
}

#[test]
fn json_rows() {
    let want = "{\"Driver\":\"customdriver\",\"Labels\":\"\",\"Links\":\"-1\",\"Mountpoint\":\"/y\",\"Name\":\"averyveryverylongvolumename0123456789abcdef\",\"Scope\":\"local\",\"Size\":\"-1B\"}\n\
                {\"Driver\":\"local\",\"Labels\":\"\",\"Links\":\"N/A\",\"Mountpoint\":\"/z\",\"Name\":\"v9\",\"Scope\":\"global\",\"Size\":\"N/A\"}\n\
                {\"Driver\":\"local\",\"Labels\":\"a=1,b=2\",\"Links\":\"2\",\"Mountpoint\":\"/x\",\"Name\":\"v10\",\"Scope\":\"local\",\"Size\":\"123.5MB\"}\n";
    assert_eq!(render(sample(), Some("{{json .}}"), false).unwrap(), want);
    assert_eq!(render(sample(), Some("json"), false).unwrap(), want);
}

#[test]
fn raw_format() {
    assert_eq!(
        render(sample(), Some("raw"), false).unwrap(),
        "name: averyveryverylongvolumename0123456789abcdef\ndriver: customdriver\n\n\
         name: v9\ndriver: local\n\n\
         name: v10\ndriver: local\n\n"
    );
    assert_eq!(
        render(sample(), Some("raw"), true).unwrap(),
        "name: averyveryverylongvolumename0123456789abcdef\nname: v9\nname: v10\n"
    );
}
