//! Conversion from an OCI runtime spec's `linux.resources` to Berth's [`Resources`], so a
//! bundle's config.json and the engine's HostConfig path end up in the same code.

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType, LinuxResources, LinuxThrottleDevice};

use super::devices::{DeviceAccess, DeviceRule, DeviceType};
use super::resources::{Resources, ThrottleDevice, WeightDevice};

fn num(v: i64) -> Option<u32> {
    u32::try_from(v).ok()
}

fn throttles(list: &Option<Vec<LinuxThrottleDevice>>) -> Vec<ThrottleDevice> {
    list.iter()
        .flatten()
        .filter_map(|t| {
            Some(ThrottleDevice {
                major: num(t.major())?,
                minor: num(t.minor())?,
                rate: t.rate(),
            })
        })
        .collect()
}

/// A rule the kernel can express; `None` (with a warning) for types cgroups do not know.
fn device_rule(d: &LinuxDeviceCgroup) -> Option<DeviceRule> {
    let typ = match d.typ().unwrap_or_default() {
        LinuxDeviceType::A => DeviceType::All,
        LinuxDeviceType::C | LinuxDeviceType::U => DeviceType::Char,
        LinuxDeviceType::B => DeviceType::Block,
        LinuxDeviceType::P => {
            tracing::warn!("device cgroup rule for a FIFO ignored: cgroups only know a, b and c");
            return None;
        }
    };
    // An unreadable access string on a deny rule must still deny: read it as "everything".
    let access =
        DeviceAccess::parse(d.access().as_deref().unwrap_or("")).unwrap_or(DeviceAccess::ALL);
    Some(DeviceRule {
        allow: d.allow(),
        typ,
        major: d.major().and_then(num),
        minor: d.minor().and_then(num),
        access,
    })
}

impl From<&LinuxResources> for Resources {
    fn from(r: &LinuxResources) -> Resources {
        let mut out = Resources::default();
        if let Some(m) = r.memory() {
            out.memory = m.limit();
            out.memory_swap = m.swap();
            out.memory_reservation = m.reservation();
            out.memory_swappiness = m.swappiness();
            out.oom_kill_disable = m.disable_oom_killer();
        }
        if let Some(c) = r.cpu() {
            out.cpu_shares = c.shares();
            out.cpu_quota = c.quota();
            out.cpu_period = c.period();
            out.cpuset_cpus = c.cpus().clone();
            out.cpuset_mems = c.mems().clone();
        }
        if let Some(p) = r.pids() {
            // OCI's 0 is a real limit, but Berth (like runc) reads 0 as "unset".
            out.pids_limit = Some(p.limit());
        }
        if let Some(b) = r.block_io() {
            out.blkio_weight = b.weight();
            out.blkio_weight_device = b
                .weight_device()
                .iter()
                .flatten()
                .filter_map(|w| {
                    Some(WeightDevice {
                        major: num(w.major())?,
                        minor: num(w.minor())?,
                        weight: w.weight()?,
                    })
                })
                .collect();
            out.throttle_read_bps = throttles(b.throttle_read_bps_device());
            out.throttle_write_bps = throttles(b.throttle_write_bps_device());
            out.throttle_read_iops = throttles(b.throttle_read_iops_device());
            out.throttle_write_iops = throttles(b.throttle_write_iops_device());
        }
        if let Some(devs) = r.devices() {
            out.devices = Some(devs.iter().filter_map(device_rule).collect());
        }
        if let Some(u) = r.unified() {
            out.unified = u.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_a_spec() {
        let json = r#"{
            "devices": [{"allow": false, "access": "rwm"},
                        {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}],
            "memory": {"limit": 67108864, "swap": 134217728},
            "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"},
            "pids": {"limit": 100},
            "blockIO": {"weight": 300,
                        "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}]},
            "unified": {"memory.high": "50000000"}
        }"#;
        let spec: LinuxResources = serde_json::from_str(json).expect("spec");
        let r = Resources::from(&spec);
        assert_eq!(r.memory, Some(64 << 20));
        assert_eq!(r.memory_swap, Some(128 << 20));
        assert_eq!(
            (r.cpu_shares, r.cpu_quota, r.cpu_period),
            (Some(512), Some(50_000), Some(100_000))
        );
        assert_eq!(r.cpuset_cpus.as_deref(), Some("0"));
        assert_eq!(r.pids_limit, Some(100));
        assert_eq!(r.blkio_weight, Some(300));
        assert_eq!(
            r.throttle_read_bps,
            vec![ThrottleDevice {
                major: 8,
                minor: 0,
                rate: 1 << 20
            }]
        );
        let devs = r.devices.expect("devices");
        assert!(devs[0].is_reset() && !devs[0].allow);
        assert_eq!(devs[1].to_string(), "c 1:3 rw");
        assert_eq!(
            r.unified.get("memory.high").map(String::as_str),
            Some("50000000")
        );
    }
}
