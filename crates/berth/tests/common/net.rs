//! Networking test helpers: an image with busybox's network applets and a UDP echo server,
//! a second "host" (a network namespace joined to this one by a veth pair) to reach Berth
//! from and to be reached through NAT, and TCP/UDP clients with timeouts.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use super::images::{busybox_layer, layer, Image};

/// The busybox applets the network tests use, beyond the base image's.
const NET_APPLETS: [&str; 9] = [
    "ip", "nc", "httpd", "wget", "nslookup", "ping", "ping6", "ifconfig", "route",
];

/// `udp-echo`, compiled once per test process as a static binary; the build directory is
/// removed again, so test runs leave nothing in the temporary directory.
fn udp_echo() -> Vec<u8> {
    static BIN: OnceLock<Vec<u8>> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("berth-udp-echo-")
            .tempdir()
            .unwrap();
        let out = dir.path().join("udp-echo");
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/udp_echo.c");
        let st = Command::new("gcc")
            .args(["-static", "-Os", "-o"])
            .arg(&out)
            .arg(src)
            .status()
            .expect("gcc (build-essential) is needed for the UDP tests");
        assert!(st.success(), "compiling udp-echo");
        std::fs::read(&out).unwrap()
    })
    .clone()
}

/// busybox with its network applets, `udp-echo`, and /www/index.html saying `hello`.
pub fn netbox() -> Image {
    let echo = udp_echo();
    let mut entries: Vec<(&str, &[u8], u32)> = vec![
        ("bin/udp-echo", &echo, 0o755),
        ("www/", b"", 0o755),
        ("www/index.html", b"hello\n", 0o644),
    ];
    let links: Vec<String> = NET_APPLETS.iter().map(|a| format!("bin/{a}")).collect();
    for l in &links {
        entries.push((l.as_str(), b"-> busybox", 0o777));
    }
    Image::new(vec![busybox_layer(), layer(&entries)], &["sh"])
}

fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("ip (iproute2)");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A second host: a network namespace with a veth to this one, on a /30 of its own.
pub struct Outside {
    pub name: String,
    pub host_side: String,
    /// This host's address on the link.
    pub near: Ipv4Addr,
    /// The outside host's address.
    pub far: Ipv4Addr,
}

impl Outside {
    pub fn new() -> Outside {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let pid = std::process::id();
        let tag = format!("{:x}{n:x}", pid % 0x10_0000);
        let name = format!("berth-out-{tag}");
        let host_side = format!("bo{tag}");
        let peer = format!("bi{tag}");
        // /30 links in 10.251.0.0/16, away from Berth's 10.200.0.0/13 pool.
        let slot = (pid.wrapping_mul(7).wrapping_add(n) % 16_000) * 4;
        let near = Ipv4Addr::new(10, 251, (slot >> 8) as u8, (slot & 0xff) as u8 + 1);
        let far = Ipv4Addr::new(10, 251, (slot >> 8) as u8, (slot & 0xff) as u8 + 2);
        ip(&["netns", "add", &name]);
        let o = Outside {
            name: name.clone(),
            host_side: host_side.clone(),
            near,
            far,
        };
        ip(&[
            "link", "add", &host_side, "type", "veth", "peer", "name", &peer,
        ]);
        ip(&["link", "set", &peer, "netns", &name]);
        ip(&["addr", "add", &format!("{near}/30"), "dev", &host_side]);
        ip(&["link", "set", &host_side, "up"]);
        ip(&[
            "-n",
            &name,
            "addr",
            "add",
            &format!("{far}/30"),
            "dev",
            &peer,
        ]);
        ip(&["-n", &name, "link", "set", &peer, "up"]);
        ip(&["-n", &name, "link", "set", "lo", "up"]);
        o
    }

    /// Gives the link IPv6 addresses too (a /64 of fd00:251::/32 picked like the IPv4 /30):
    /// returns this host's and the outside host's.
    pub fn with_ipv6(&self) -> (std::net::Ipv6Addr, std::net::Ipv6Addr) {
        let o = self.near.octets();
        let net = format!("fd00:251:{:x}:{:x}", o[2], o[3]);
        let (near, far) = (format!("{net}::1"), format!("{net}::2"));
        ip(&[
            "addr",
            "add",
            &format!("{near}/64"),
            "dev",
            &self.host_side,
            "nodad",
        ]);
        let peer = self.host_side.replacen("bo", "bi", 1);
        ip(&[
            "-n",
            &self.name,
            "addr",
            "add",
            &format!("{far}/64"),
            "dev",
            &peer,
            "nodad",
        ]);
        (near.parse().unwrap(), far.parse().unwrap())
    }

    /// Runs `f` on a thread inside the outside namespace.
    pub fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/run/netns/{}", self.name);
        std::thread::spawn(move || {
            let file = std::fs::File::open(&path).unwrap();
            use std::os::fd::AsRawFd;
            // SAFETY: setns on this thread only, with a namespace file we opened.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns into {path}");
            f()
        })
        .join()
        .unwrap()
    }
}

impl Drop for Outside {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_side])
            .status();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// `GET /` over HTTP/1.0, or None if nothing answered within a second.
pub fn http_get(addr: SocketAddr) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// One datagram to `addr` and its answer, or None.
pub fn udp_ask(addr: SocketAddr, what: &str) -> Option<String> {
    let s = UdpSocket::bind("0.0.0.0:0").ok()?;
    s.set_read_timeout(Some(Duration::from_millis(500))).ok()?;
    s.send_to(what.as_bytes(), addr).ok()?;
    let mut buf = [0u8; 1500];
    let (n, _) = s.recv_from(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// The host's first IPv4 address that is neither loopback nor on a bridge or veth.
pub fn host_address() -> Option<Ipv4Addr> {
    let out = Command::new("ip")
        .args(["-4", "-o", "addr", "show"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        let dev = *f.get(1)?;
        let skip = dev == "lo"
            || ["bt-", "br-", "berth", "docker", "veth", "bo"]
                .iter()
                .any(|p| dev.starts_with(p));
        if skip {
            return None;
        }
        f.get(3)?.split('/').next()?.parse().ok()
    })
}

/// A TCP port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("0.0.0.0:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether a network interface exists on the host.
pub fn link_exists(name: &str) -> bool {
    std::path::Path::new("/sys/class/net").join(name).exists()
}

/// The host's interfaces whose names start with `prefix`.
pub fn links_with_prefix(prefix: &str) -> Vec<String> {
    std::fs::read_dir("/sys/class/net")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(prefix))
                .collect()
        })
        .unwrap_or_default()
}
