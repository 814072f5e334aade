//! Real traffic through the installed rules, as root, inside the test's own network namespace:
//! the `output` chain's DNAT sends connections the host makes to a published port on to the
//! "container" address and port (here a listener on a local address), for TCP and UDP.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use nlink::netlink::{Connection, Route};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::time::timeout;

use super::netns_tests::{in_netns, net, port};
use super::*;

const LOOPBACK: Ipv4Addr = Ipv4Addr::LOCALHOST;
/// An extra address the tests put on `lo`, in their own namespace only.
const EXTRA: Ipv4Addr = Ipv4Addr::new(10, 99, 1, 2);
const WAIT: Duration = Duration::from_secs(5);

fn ruleset(ports: Vec<PortRule>) -> Ruleset {
    Ruleset {
        networks: vec![net("bt0", "10.99.0.0/24")],
        ports,
    }
}

async fn add_extra_address() {
    let route = Connection::<Route>::new().expect("route socket");
    route
        .add_address_by_name("lo", EXTRA.into(), 32)
        .await
        .expect("address on lo");
}

/// Connects to `to`, sends a line and reads the answer of whoever `listener` accepted.
async fn tcp_round_trip(listener: &TcpListener, to: SocketAddr) -> std::io::Result<()> {
    let client = async {
        let mut stream = timeout(WAIT, TcpStream::connect(to)).await??;
        stream.write_all(b"ping").await?;
        let mut answer = [0u8; 4];
        timeout(WAIT, stream.read_exact(&mut answer)).await??;
        assert_eq!(&answer, b"pong");
        Ok::<_, std::io::Error>(())
    };
    let server = async {
        let (mut stream, _) = timeout(WAIT, listener.accept()).await??;
        let mut question = [0u8; 4];
        stream.read_exact(&mut question).await?;
        assert_eq!(&question, b"ping");
        stream.write_all(b"pong").await?;
        Ok::<_, std::io::Error>(())
    };
    tokio::try_join!(client, server).map(drop)
}

async fn refused(to: SocketAddr) -> bool {
    matches!(timeout(WAIT, TcpStream::connect(to)).await, Ok(Err(_)))
}

#[test]
fn published_tcp_port_reaches_the_target_through_output_dnat() {
    in_netns(|| async {
        let listener = TcpListener::bind((LOOPBACK, 0)).await.expect("listen");
        let target = listener.local_addr().expect("addr").port();
        let published = SocketAddr::from((LOOPBACK, 18080));
        assert!(refused(published).await, "nothing listens there yet");

        let fw = Firewall::new("berth-tcp").expect("firewall");
        let rule = port(Proto::Tcp, 18080, (LOOPBACK, target), "bt0");
        fw.apply(&ruleset(vec![rule])).await.expect("apply");
        tcp_round_trip(&listener, published)
            .await
            .expect("through the DNAT");

        fw.remove().await.expect("remove");
        assert!(refused(published).await, "the DNAT outlived the table");
    });
}

#[test]
fn port_on_every_address_matches_each_local_address() {
    in_netns(|| async {
        add_extra_address().await;
        let listener = TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0))
            .await
            .expect("listen");
        let target = listener.local_addr().expect("addr").port();
        let fw = Firewall::new("berth-fib").expect("firewall");
        let rule = port(Proto::Tcp, 18081, (EXTRA, target), "bt0");
        fw.apply(&ruleset(vec![rule])).await.expect("apply");
        for addr in [LOOPBACK, EXTRA] {
            tcp_round_trip(&listener, (addr, 18081).into())
                .await
                .unwrap_or_else(|e| panic!("via {addr}: {e}"));
        }
        fw.remove().await.expect("remove");
    });
}

#[test]
fn port_on_one_address_matches_only_that_address() {
    in_netns(|| async {
        add_extra_address().await;
        let listener = TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0))
            .await
            .expect("listen");
        let target = listener.local_addr().expect("addr").port();
        let fw = Firewall::new("berth-hostip").expect("firewall");
        let rule = PortRule {
            host_ip: Some(EXTRA),
            ..port(Proto::Tcp, 18082, (EXTRA, target), "bt0")
        };
        fw.apply(&ruleset(vec![rule])).await.expect("apply");
        tcp_round_trip(&listener, (EXTRA, 18082).into())
            .await
            .expect("via the published address");
        assert!(
            refused((LOOPBACK, 18082).into()).await,
            "published on {EXTRA} only, yet 127.0.0.1 was forwarded"
        );
        fw.remove().await.expect("remove");
    });
}

#[test]
fn published_udp_port_reaches_the_target_and_answers_come_back() {
    in_netns(|| async {
        let server = UdpSocket::bind((LOOPBACK, 0)).await.expect("bind");
        let target = server.local_addr().expect("addr").port();
        let fw = Firewall::new("berth-udp").expect("firewall");
        let rule = port(Proto::Udp, 15353, (LOOPBACK, target), "bt0");
        fw.apply(&ruleset(vec![rule])).await.expect("apply");

        let client = UdpSocket::bind((LOOPBACK, 0)).await.expect("client");
        // Connected: the kernel only hands it datagrams from the published address, so the
        // answer arriving proves the reply was translated back too.
        client.connect((LOOPBACK, 15353)).await.expect("connect");
        client.send(b"ping").await.expect("send");
        let mut buf = [0u8; 16];
        let (n, from) = timeout(WAIT, server.recv_from(&mut buf))
            .await
            .expect("datagram forwarded in time")
            .expect("recv");
        assert_eq!(&buf[..n], b"ping");
        server.send_to(b"pong", from).await.expect("answer");
        let n = timeout(WAIT, client.recv(&mut buf))
            .await
            .expect("answer in time")
            .expect("recv");
        assert_eq!(&buf[..n], b"pong");
        fw.remove().await.expect("remove");
    });
}
