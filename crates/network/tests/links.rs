//! Namespaces, bridges and veth pairs end to end. Needs root. Every test runs on a thread
//! of its own in a private mount namespace, and everything network happens in network
//! namespaces the test creates (one playing the host, others the containers), so the
//! machine's own namespaces are never touched and the test's mounts vanish with it.

#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use berth_network::link::{format_mac, mac_for, Endpoint, LinkError, Links};
use berth_network::{netns, sysctl};
use nlink::netlink::link::VethLink;
use nlink::{Connection, Ipv4Address, Route};
use rustix::mount::{MountPropagationFlags, UnmountFlags};
use rustix::thread::UnshareFlags;

/// A test's scratch directory and the namespace files it made, removed on drop, panic
/// or not.
struct Sandbox {
    dir: tempfile::TempDir,
    made: Vec<PathBuf>,
}

impl Sandbox {
    fn netns_dir(&self) -> PathBuf {
        self.dir.path().join("netns")
    }

    fn netns(&mut self, name: &str) -> PathBuf {
        let path = self.netns_dir().join(name);
        self.made.push(path.clone());
        netns::create(&path).unwrap_or_else(|e| panic!("{e}"));
        path
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for path in &self.made {
            if let Err(e) = netns::remove(path) {
                eprintln!("cleanup: {e}");
            }
        }
        // create() made the directory a mount of its own; the TempDir can't go while it
        // is one.
        let _ = rustix::mount::unmount(self.netns_dir(), UnmountFlags::DETACH);
    }
}

/// Runs `test` on a new thread in a private copy of the mount namespace, on a
/// current-thread runtime, and re-raises its panic.
fn sandboxed<F, Fut>(test: F)
where
    F: FnOnce(Sandbox) -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let worker = std::thread::spawn(move || {
        private_mount_namespace();
        let sandbox = Sandbox {
            dir: tempfile::tempdir().unwrap(),
            made: Vec::new(),
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(test(sandbox));
    });
    if let Err(panic) = worker.join() {
        std::panic::resume_unwind(panic);
    }
}

/// Moves the calling thread into a copy of its mount namespace that shares nothing back.
fn private_mount_namespace() {
    // SAFETY: NEWNS (with the FS unshare it implies) changes only this thread's mount
    // namespace, root and cwd; no fd table is unshared.
    unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNS) }.expect("unshare(CLONE_NEWNS)");
    rustix::mount::mount_change(
        "/",
        MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
    )
    .expect("making / private");
}

/// This thread's view of the mount table: (mount point, optional fields).
fn mounts() -> Vec<(String, String)> {
    std::fs::read_to_string("/proc/thread-self/mountinfo")
        .unwrap()
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let optional = fields[6..]
                .iter()
                .take_while(|f| **f != "-")
                .copied()
                .collect::<Vec<_>>()
                .join(" ");
            (fields[4].to_owned(), optional)
        })
        .collect()
}

fn is_mounted(path: &Path) -> bool {
    let path = path.to_str().unwrap();
    mounts().iter().any(|(point, _)| point == path)
}

fn conn_in(netns: &Path) -> Connection<Route> {
    Connection::<Route>::new_in(netns).unwrap()
}

fn endpoint(netns: &Path, host_ifname: &str, ifname: &str, address: Ipv4Addr) -> Endpoint {
    Endpoint {
        host_ifname: host_ifname.into(),
        bridge: "br-test".into(),
        netns: netns.to_path_buf(),
        ifname: ifname.into(),
        address,
        prefix_len: 24,
        gateway: Some(GATEWAY),
        address6: None,
        gateway6: None,
        mac: mac_for(address),
        mtu: None,
        route_mtu: None,
    }
}

const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 88, 0, 1);

async fn ipv4_of(conn: &Connection<Route>, ifname: &str) -> Vec<(Ipv4Addr, u8, Option<IpAddr>)> {
    conn.get_addresses_by_name(ifname)
        .await
        .unwrap()
        .iter()
        .filter_map(|a| match a.local() {
            Some(IpAddr::V4(ip)) => Some((*ip, a.prefix_len(), a.broadcast().copied())),
            _ => None,
        })
        .collect()
}

async fn default_routes(conn: &Connection<Route>) -> Vec<(Option<IpAddr>, Option<u32>)> {
    conn.get_routes()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.family() == AF_INET && r.dst_len() == 0 && r.table_id() == RT_TABLE_MAIN)
        .map(|r| (r.gateway().copied(), r.oif()))
        .collect()
}

const AF_INET: u8 = 2;
const RT_TABLE_MAIN: u32 = 254;

/// Connects from `from` to `listener` over TCP, swaps a few bytes, and returns the
/// address the connection came from.
fn exchange(listener: &TcpListener, from: &Path) -> IpAddr {
    let to = listener.local_addr().unwrap();
    let mut client = netns::run_in(from, || {
        TcpStream::connect_timeout(&to, Duration::from_secs(5))
    })
    .unwrap()
    .unwrap_or_else(|e| panic!("connecting to {to}: {e}"));
    // The handshake completed against the backlog; this returns at once.
    let (mut server, peer) = listener.accept().unwrap();
    client.write_all(b"ping").unwrap();
    let mut got = [0; 4];
    server.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"ping");
    peer.ip()
}

fn listen_in(netns: &Path, address: Ipv4Addr) -> TcpListener {
    netns::run_in(netns, || TcpListener::bind(SocketAddr::from((address, 0))))
        .unwrap()
        .unwrap()
}

#[test]
fn create_makes_a_namespace_with_lo_up_and_remove_undoes_it() {
    sandboxed(|mut sb| async move {
        let path = sb.netns("c1");
        assert!(is_mounted(&path));
        assert_eq!(netns::list(&sb.netns_dir()).unwrap(), ["c1"]);

        let conn = conn_in(&path);
        let links = conn.get_links().await.unwrap();
        let names: Vec<_> = links.iter().filter_map(|l| l.name()).collect();
        assert_eq!(names, ["lo"]);
        assert!(links[0].is_up());
        // A namespace of its own, not ours.
        let ours = std::fs::metadata("/proc/thread-self/ns/net").unwrap();
        let theirs = std::fs::metadata(&path).unwrap();
        assert_ne!(
            std::os::unix::fs::MetadataExt::ino(&ours),
            std::os::unix::fs::MetadataExt::ino(&theirs)
        );
        drop(conn);

        // A second create on the same path fails and leaves the first alone.
        let err = netns::create(&path).unwrap_err();
        assert!(err.to_string().contains("c1"), "{err}");
        assert!(is_mounted(&path));

        netns::remove(&path).unwrap();
        assert!(!path.exists());
        assert!(!is_mounted(&path));
        assert!(netns::list(&sb.netns_dir()).unwrap().is_empty());
        netns::remove(&path).unwrap();
    });
}

#[test]
fn failed_create_leaves_nothing() {
    sandboxed(|sb| async move {
        // Its "directory" is a file.
        let blocker = sb.dir.path().join("file");
        std::fs::write(&blocker, "").unwrap();
        let err = netns::create(&blocker.join("c1")).unwrap_err();
        assert!(err.to_string().contains("file"), "{err}");
        assert_eq!(std::fs::read_dir(sb.dir.path()).unwrap().count(), 1);

        // An existing file is not taken over, nor removed.
        let dir = sb.netns_dir();
        std::fs::create_dir(&dir).unwrap();
        let taken = dir.join("taken");
        std::fs::write(&taken, "mine").unwrap();
        assert!(netns::create(&taken).is_err());
        assert_eq!(std::fs::read_to_string(&taken).unwrap(), "mine");
        assert!(!is_mounted(&taken));
    });
}

#[test]
fn directory_is_shared_so_removal_reaches_later_mount_namespaces() {
    sandboxed(|mut sb| async move {
        let path = sb.netns("c1");
        let dir = sb.netns_dir();
        let dir_text = dir.to_str().unwrap().to_owned();
        let (_, optional) = mounts()
            .into_iter()
            .rfind(|(point, _)| *point == dir_text)
            .expect("the directory is a mount point");
        assert!(optional.contains("shared:"), "{optional}");

        // Another mount namespace copied now holds a copy of the namespace mount.
        let (removed_tx, removed_rx) = mpsc::channel();
        let (seen_tx, seen_rx) = mpsc::channel();
        let watched = path.clone();
        let copy = std::thread::spawn(move || {
            // SAFETY: as in private_mount_namespace.
            unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNS) }.unwrap();
            seen_tx.send(is_mounted(&watched)).unwrap();
            removed_rx.recv().unwrap();
            is_mounted(&watched)
        });
        assert!(seen_rx.recv().unwrap(), "the copy has the mount");
        netns::remove(&path).unwrap();
        removed_tx.send(()).unwrap();
        assert!(
            !copy.join().unwrap(),
            "the unmount propagated into the copy"
        );
    });
}

#[test]
fn ensure_bridge_is_idempotent_and_exact() {
    sandboxed(|mut sb| async move {
        let host = sb.netns("host");
        let links = Links::in_namespace(&host).await.unwrap();
        let conn = conn_in(&host);

        links
            .ensure_bridge("br-test", GATEWAY, 24, None)
            .await
            .unwrap();
        links
            .ensure_bridge("br-test", GATEWAY, 24, None)
            .await
            .unwrap();
        let bridge = conn.get_link_by_name("br-test").await.unwrap().unwrap();
        assert!(bridge.is_up());
        assert_eq!(bridge.kind(), Some("bridge"));
        assert_eq!(bridge.address(), Some(&mac_for(GATEWAY)[..]));
        let brd = Some(IpAddr::V4(Ipv4Addr::new(10, 88, 0, 255)));
        assert_eq!(ipv4_of(&conn, "br-test").await, [(GATEWAY, 24, brd)]);

        // Strays go, a changed prefix replaces the old one, the MTU is set.
        conn.add_address(Ipv4Address::new("br-test", Ipv4Addr::new(10, 88, 0, 9), 24))
            .await
            .unwrap();
        conn.add_address(Ipv4Address::new(
            "br-test",
            Ipv4Addr::new(192, 168, 7, 1),
            24,
        ))
        .await
        .unwrap();
        conn.set_link_down("br-test").await.unwrap();
        links
            .ensure_bridge("br-test", GATEWAY, 16, Some(1400))
            .await
            .unwrap();
        let brd = Some(IpAddr::V4(Ipv4Addr::new(10, 88, 255, 255)));
        assert_eq!(ipv4_of(&conn, "br-test").await, [(GATEWAY, 16, brd)]);
        let bridge = conn.get_link_by_name("br-test").await.unwrap().unwrap();
        assert!(bridge.is_up());
        assert_eq!(bridge.mtu(), Some(1400));

        // A port with a larger MTU doesn't move the bridge's.
        let c1 = sb.netns("c1");
        let mut ep = endpoint(&c1, "vethtest1", "eth0", Ipv4Addr::new(10, 88, 0, 2));
        ep.prefix_len = 16;
        links.attach(&ep).await.unwrap();
        let bridge = conn.get_link_by_name("br-test").await.unwrap().unwrap();
        assert_eq!(bridge.mtu(), Some(1400));
        assert_eq!(bridge.address(), Some(&mac_for(GATEWAY)[..]));

        // A link of that name that is no bridge is refused, not reused.
        // A veth: the dummy driver is not built into every kernel.
        conn.add_link(VethLink::new("br-dummy", "br-dummy-peer"))
            .await
            .unwrap();
        let err = links
            .ensure_bridge("br-dummy", GATEWAY, 24, None)
            .await
            .unwrap_err();
        assert!(matches!(err, LinkError::NotABridge { .. }), "{err}");
        assert!(links.link_exists("br-dummy").await.unwrap());

        links.delete_link("br-dummy").await.unwrap();
        links.delete_link("br-dummy").await.unwrap();
        assert!(!links.link_exists("br-dummy").await.unwrap());
        assert!(links
            .ensure_bridge("br-0123456789abcdef", GATEWAY, 24, None)
            .await
            .is_err());
    });
}

#[test]
fn attach_configures_the_container_end() {
    sandboxed(|mut sb| async move {
        let host = sb.netns("host");
        let links = Links::in_namespace(&host).await.unwrap();
        links
            .ensure_bridge("br-test", GATEWAY, 24, None)
            .await
            .unwrap();

        let started = Instant::now();
        let c1 = sb.netns("c1");
        let created = started.elapsed();
        let address = Ipv4Addr::new(10, 88, 0, 2);
        let mut ep = endpoint(&c1, "vethab12cd3", "eth0", address);
        ep.mtu = Some(1450);
        let started = Instant::now();
        links.attach(&ep).await.unwrap();
        eprintln!("netns::create {created:?}, attach {:?}", started.elapsed());

        let inside = conn_in(&c1);
        let eth0 = inside.get_link_by_name("eth0").await.unwrap().unwrap();
        assert!(eth0.is_up());
        assert_eq!(eth0.mtu(), Some(1450));
        assert_eq!(eth0.address(), Some(&mac_for(address)[..]));
        assert_eq!(
            format_mac(&mac_for(address)),
            "02:42:0a:58:00:02",
            "docker's MAC scheme"
        );
        let brd = Some(IpAddr::V4(Ipv4Addr::new(10, 88, 0, 255)));
        assert_eq!(ipv4_of(&inside, "eth0").await, [(address, 24, brd)]);
        assert_eq!(
            default_routes(&inside).await,
            [(Some(IpAddr::V4(GATEWAY)), Some(eth0.ifindex()))]
        );

        let outside = conn_in(&host);
        let bridge = outside.get_link_by_name("br-test").await.unwrap().unwrap();
        let veth = outside
            .get_link_by_name("vethab12cd3")
            .await
            .unwrap()
            .unwrap();
        assert!(veth.is_up());
        assert_eq!(veth.master(), Some(bridge.ifindex()));
        assert_eq!(veth.mtu(), Some(1450));
        // One transmit queue on both ends, asked for at creation (not cut down after it,
        // which waits for RCU grace periods).
        for end in [&veth, &eth0] {
            assert_eq!(end.num_tx_queues(), Some(1));
        }
        assert_eq!(bridge.address(), Some(&mac_for(GATEWAY)[..]));
        assert_eq!(
            links.links_with_prefix("veth").await.unwrap(),
            ["vethab12cd3"]
        );

        // Attaching the same endpoint again fails on the existing pair and leaves it.
        assert!(links.attach(&ep).await.is_err());
        assert!(links.link_exists("vethab12cd3").await.unwrap());

        links.detach("vethab12cd3").await.unwrap();
        assert!(inside.get_link_by_name("eth0").await.unwrap().is_none());
        assert!(links.links_with_prefix("veth").await.unwrap().is_empty());
        links.detach("vethab12cd3").await.unwrap();
    });
}

#[test]
fn a_second_network_keeps_the_first_default_route() {
    sandboxed(|mut sb| async move {
        let host = sb.netns("host");
        let links = Links::in_namespace(&host).await.unwrap();
        let gateway_b = Ipv4Addr::new(10, 89, 0, 1);
        links
            .ensure_bridge("br-test", GATEWAY, 24, None)
            .await
            .unwrap();
        links
            .ensure_bridge("br-b", gateway_b, 24, None)
            .await
            .unwrap();

        let c1 = sb.netns("c1");
        links
            .attach(&endpoint(&c1, "vetha", "eth0", Ipv4Addr::new(10, 88, 0, 2)))
            .await
            .unwrap();
        let mut second = endpoint(&c1, "vethb", "eth1", Ipv4Addr::new(10, 89, 0, 2));
        second.bridge = "br-b".into();
        second.gateway = Some(gateway_b);
        links.attach(&second).await.unwrap();

        let inside = conn_in(&c1);
        let eth0 = inside.get_link_by_name("eth0").await.unwrap().unwrap();
        assert_eq!(
            default_routes(&inside).await,
            [(Some(IpAddr::V4(GATEWAY)), Some(eth0.ifindex()))]
        );
        assert_eq!(ipv4_of(&inside, "eth1").await.len(), 1);

        // No gateway, no default route.
        let c2 = sb.netns("c2");
        let mut internal = endpoint(&c2, "vethc", "eth0", Ipv4Addr::new(10, 88, 0, 3));
        internal.gateway = None;
        links.attach(&internal).await.unwrap();
        assert!(default_routes(&conn_in(&c2)).await.is_empty());
    });
}

#[test]
fn endpoints_on_one_bridge_reach_each_other_the_gateway_and_beyond() {
    sandboxed(|mut sb| async move {
        let host = sb.netns("host");
        let links = Links::in_namespace(&host).await.unwrap();
        links
            .ensure_bridge("br-test", GATEWAY, 24, None)
            .await
            .unwrap();
        let (a, b) = (Ipv4Addr::new(10, 88, 0, 2), Ipv4Addr::new(10, 88, 0, 3));
        let c1 = sb.netns("c1");
        let c2 = sb.netns("c2");
        links
            .attach(&endpoint(&c1, "veth1", "eth0", a))
            .await
            .unwrap();
        links
            .attach(&endpoint(&c2, "veth2", "eth0", b))
            .await
            .unwrap();

        // Container to container, straight over the bridge.
        assert_eq!(exchange(&listen_in(&c1, a), &c2), IpAddr::V4(b));
        assert_eq!(exchange(&listen_in(&c2, b), &c1), IpAddr::V4(a));
        // Container to its gateway.
        assert_eq!(exchange(&listen_in(&host, GATEWAY), &c1), IpAddr::V4(a));
        // Off the subnet through the default route: an address the "host" has on lo.
        let beyond = Ipv4Addr::new(10, 99, 0, 1);
        conn_in(&host)
            .add_address(Ipv4Address::new("lo", beyond, 32))
            .await
            .unwrap();
        assert_eq!(exchange(&listen_in(&host, beyond), &c2), IpAddr::V4(b));
    });
}

#[test]
fn failed_attach_leaves_nothing_behind() {
    sandboxed(|mut sb| async move {
        let host = sb.netns("host");
        let links = Links::in_namespace(&host).await.unwrap();
        links
            .ensure_bridge("br-test", GATEWAY, 24, None)
            .await
            .unwrap();
        let c1 = sb.netns("c1");
        let inside = conn_in(&c1);
        let no_eth0 = || async { inside.get_link_by_name("eth0").await.unwrap().is_none() };

        // No such bridge: nothing is made.
        let mut ep = endpoint(&c1, "vethfail", "eth0", Ipv4Addr::new(10, 88, 0, 2));
        ep.bridge = "br-missing".into();
        let err = links.attach(&ep).await.unwrap_err().to_string();
        assert!(err.contains("looking up bridge br-missing"), "{err}");
        assert!(links.links_with_prefix("veth").await.unwrap().is_empty());
        assert!(no_eth0().await);

        // A failure once the pair exists (a gateway off the subnet) removes the pair.
        let mut ep = endpoint(&c1, "vethfail", "eth0", Ipv4Addr::new(10, 88, 0, 2));
        ep.gateway = Some(Ipv4Addr::new(192, 0, 2, 1));
        let err = links.attach(&ep).await.unwrap_err().to_string();
        assert!(
            err.contains("adding the default route via 192.0.2.1"),
            "{err}"
        );
        assert!(err.contains("vethfail"), "{err}");
        assert!(links.links_with_prefix("veth").await.unwrap().is_empty());
        assert!(no_eth0().await);

        // A host name already taken: the existing link is not ours to delete.
        let conn = conn_in(&host);
        conn.add_link(VethLink::new("vethtaken", "vethtakenpeer"))
            .await
            .unwrap();
        let ep = endpoint(&c1, "vethtaken", "eth0", Ipv4Addr::new(10, 88, 0, 2));
        let err = links.attach(&ep).await.unwrap_err().to_string();
        assert!(err.contains("creating the veth pair"), "{err}");
        assert!(links.link_exists("vethtaken").await.unwrap());
        assert!(no_eth0().await);

        // A missing namespace file.
        let ep = endpoint(&sb.dir.path().join("nope"), "vethx", "eth0", GATEWAY);
        let err = links.attach(&ep).await.unwrap_err().to_string();
        assert!(err.contains("opening the namespace file"), "{err}");
        assert!(!links.link_exists("vethx").await.unwrap());
    });
}

#[test]
fn sysctls_and_run_in_act_on_the_namespace_entered() {
    sandboxed(|mut sb| async move {
        let host = sb.netns("host");
        let links = Links::in_namespace(&host).await.unwrap();
        links
            .ensure_bridge("br.test", GATEWAY, 24, None)
            .await
            .unwrap();
        let ours = sysctl::get("net.ipv4.ip_forward").unwrap();

        netns::run_in(&host, || {
            sysctl::set("net.ipv4.ip_forward", "1").unwrap();
            assert_eq!(sysctl::get("net.ipv4.ip_forward").unwrap(), "1");
            sysctl::set_iface("br.test", "route_localnet", "1").unwrap();
            assert_eq!(sysctl::get_iface("br.test", "route_localnet").unwrap(), "1");
            assert_eq!(
                sysctl::get("net/ipv4/conf/br.test/route_localnet").unwrap(),
                "1"
            );
            let err = sysctl::set_iface("br-none", "route_localnet", "1").unwrap_err();
            assert!(err.to_string().contains("br-none"), "{err}");
        })
        .unwrap();
        // This thread's namespace is as it was.
        assert_eq!(sysctl::get("net.ipv4.ip_forward").unwrap(), ours);
        assert!(sysctl::get_iface("br.test", "route_localnet").is_err());

        let err = netns::run_in(&sb.dir.path().join("nope"), || ()).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    });
}
