//! Modes and life: host, none and `container:`, connect and disconnect on a running
//! container, a new namespace for each start, nothing left after rm and stop, and crashes
//! of the engine.

use super::*;

#[test]
fn host_none_and_container_modes() {
    let d = engine();
    let none = d.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "netbox",
        "ip",
        "-o",
        "link",
    ]);
    assert_eq!(none.lines().count(), 1, "{none}");
    assert_contains(&none, "lo");
    let host = d.ok(&[
        "run",
        "--rm",
        "--network",
        "host",
        "netbox",
        "ip",
        "-o",
        "link",
    ]);
    assert_contains(&host, &d.bridge());

    web(&d, "shared", &[]);
    let ip = inspect(&d, "shared", "{{.NetworkSettings.IPAddress}}");
    let out = d.ok(&[
        "run",
        "--rm",
        "--network",
        "container:shared",
        "netbox",
        "sh",
        "-c",
        "ip -o -4 addr show eth0; wget -qO- http://127.0.0.1/",
    ]);
    assert_contains(&out, &ip);
    assert_contains(&out, "hello");
}

#[test]
fn connect_and_disconnect_a_running_container() {
    let d = engine();
    d.ok(&["network", "create", "extra"]);
    d.ok(&["run", "-d", "--name", "c1", "netbox", "sleep", "1000"]);
    d.ok(&["network", "connect", "--alias", "one", "extra", "c1"]);
    let ip = inspect(&d, "c1", "{{.NetworkSettings.Networks.extra.IPAddress}}");
    let addrs = d.ok(&["exec", "c1", "ip", "-o", "-4", "addr"]);
    assert_contains(&addrs, &ip);
    assert_contains(&addrs, "eth1");
    let seen = d.ok(&[
        "run",
        "--rm",
        "--network",
        "extra",
        "netbox",
        "nslookup",
        "one",
    ]);
    assert_contains(&seen, &ip);
    assert_contains(&d.ok(&["network", "inspect", "extra"]), "\"Name\": \"c1\"");

    d.ok(&["network", "disconnect", "extra", "c1"]);
    let addrs = d.ok(&["exec", "c1", "ip", "-o", "-4", "addr"]);
    assert!(!addrs.contains(&ip), "{addrs}");
    assert!(!d.ok(&["network", "inspect", "extra"]).contains("\"c1\""));
    let r = d.fails(&["network", "disconnect", "extra", "c1"]);
    assert_contains(&r.stderr, "is not connected");
    d.ok(&["network", "rm", "extra"]);
}

#[test]
fn nothing_is_left_after_rm_and_after_the_engine_stops() {
    let mut d = engine();
    d.ok(&["network", "create", "tmpnet"]);
    let bridge = d.ok(&[
        "network",
        "inspect",
        "-f",
        "{{index .Options \"com.docker.network.bridge.name\"}}",
        "tmpnet",
    ]);
    let user_bridge = if bridge.trim().is_empty() || bridge.contains("no value") {
        format!(
            "br-{}",
            &d.ok(&["network", "inspect", "-f", "{{.Id}}", "tmpnet"])
                .trim()[..12]
        )
    } else {
        bridge.trim().to_string()
    };
    assert!(net::link_exists(&user_bridge));
    d.ok(&[
        "run",
        "-d",
        "--name",
        "aa",
        "--network",
        "tmpnet",
        "-p",
        "80",
        "netbox",
        "sleep",
        "1000",
    ]);
    let endpoint = inspect(&d, "aa", "{{.NetworkSettings.Networks.tmpnet.EndpointID}}");
    let veth = format!("veth{}", &endpoint[..11]);
    assert!(net::link_exists(&veth), "{veth}");
    d.ok(&["rm", "-f", "aa"]);
    // The veth and namespace go in the background, soon after.
    eventually("no veth or namespace is left", || {
        !net::link_exists(&veth) && d.only_the_spare_netns()
    });
    d.ok(&["network", "rm", "tmpnet"]);
    assert!(!net::link_exists(&user_bridge));
    d.stop();
    assert!(!net::link_exists(&d.bridge()));
    assert_eq!(
        d.netns_files(),
        Vec::<String>::new(),
        "the spare outlived the engine"
    );
}

/// A restart's namespace is a new one, under a new name: the last one may still be going
/// away in the background when the next start makes its own. It is the spare the engine
/// made ahead.
#[test]
fn each_start_gets_a_namespace_of_its_own() {
    let d = engine();
    web(&d, "again", &[]);
    let mut keys = vec![inspect(&d, "again", "{{.NetworkSettings.SandboxKey}}")];
    for _ in 0..3 {
        let netns_dir = d.exec_root().join("netns");
        let current = keys.last().unwrap().clone();
        let spare = || {
            d.netns_files()
                .into_iter()
                .map(|f| netns_dir.join(f).display().to_string())
                .find(|f| *f != current)
        };
        eventually("a spare namespace is made", || spare().is_some());
        let spare = spare().unwrap();
        d.ok(&["restart", "-t", "0", "again"]);
        let key = inspect(&d, "again", "{{.NetworkSettings.SandboxKey}}");
        assert_eq!(key, spare, "the start did not take the spare");
        let id = inspect(&d, "again", "{{.NetworkSettings.SandboxID}}");
        assert!(
            key.ends_with(&format!("/{id}")),
            "{key} is not named by {id}"
        );
        assert!(!keys.contains(&key), "{key} reused: {keys:?}");
        keys.push(key);
        let ip = inspect(&d, "again", "{{.NetworkSettings.IPAddress}}");
        let page = d.ok(&["exec", "again", "wget", "-qO-", &format!("http://{ip}/")]);
        assert_contains(&page, "hello");
    }
    d.ok(&["rm", "-f", "again"]);
    for key in &keys {
        let gone = || !std::path::Path::new(key).exists();
        eventually("the container's namespaces are gone", gone);
    }
    eventually("no namespace is left but the spare", || {
        d.only_the_spare_netns()
    });
}

#[test]
fn published_ports_survive_an_engine_crash() {
    let mut d = engine();
    let port = net::free_port();
    web(&d, "web", &["-p", &format!("{port}:80")]);
    eventually("the published port answers", || {
        net::http_get(addr(Ipv4Addr::LOCALHOST, port)).is_some_and(|r| r.contains("hello"))
    });
    d.kill9();
    // The kernel's rules outlive the engine, and so does the container.
    assert_contains(
        &net::http_get(addr(Ipv4Addr::LOCALHOST, port)).unwrap_or_default(),
        "hello",
    );
    d.relaunch();
    assert_contains(
        &net::http_get(addr(Ipv4Addr::LOCALHOST, port)).unwrap_or_default(),
        "hello",
    );
    // The address stays taken: a new container gets another one.
    let web_ip = inspect(&d, "web", "{{.NetworkSettings.IPAddress}}");
    let other = d.ok(&[
        "run",
        "--rm",
        "netbox",
        "sh",
        "-c",
        "ip -o -4 addr show eth0",
    ]);
    assert!(!other.contains(&format!("{web_ip}/")), "{other}");
    d.ok(&["stop", "-t", "1", "web"]);
    assert!(net::http_get(addr(Ipv4Addr::LOCALHOST, port)).is_none());
}

#[test]
fn a_container_that_dies_while_the_engine_is_down_leaves_nothing() {
    let mut d = engine();
    let port = net::free_port();
    d.ok(&[
        "run",
        "-d",
        "--name",
        "doomed",
        "-p",
        &format!("{port}:80"),
        "netbox",
        "sh",
        "-c",
        "httpd -p 80 -h /www; sleep 2",
    ]);
    let endpoint = inspect(&d, "doomed", "{{.NetworkSettings.EndpointID}}");
    let veth = format!("veth{}", &endpoint[..11]);
    assert!(net::link_exists(&veth));
    d.kill9();
    // The container's process ends (after its sleep) while no engine is there.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    d.relaunch();
    eventually("the dead container's sandbox is gone", || {
        inspect(&d, "doomed", "{{.State.Status}}") == "exited"
            && d.only_the_spare_netns()
            && !net::link_exists(&veth)
    });
    assert!(net::http_get(addr(Ipv4Addr::LOCALHOST, port)).is_none());
    // Its address and port serve the next container.
    web(&d, "next", &["-p", &format!("{port}:80")]);
    eventually("the port answers for the next container", || {
        net::http_get(addr(Ipv4Addr::LOCALHOST, port)).is_some_and(|r| r.contains("hello"))
    });
}
