//! The ports the host's own sockets hold, read in one sock_diag dump per protocol and
//! family (what `ss -tuln` reads) instead of a trial bind per port: a start publishing
//! hundreds of ports asks the kernel once.
//!
//! The dump is a filter, not the verdict. It lists TCP listeners and every bound UDP
//! socket, over IPv4 and IPv6, whatever their address; whether one of them really stands
//! in a publish's way (a v6-only socket, another address) is for a trial bind of that one
//! port to say. A TCP socket that is bound but neither listening nor connected is not in
//! the dump: it accepts no connection, and the kernel's NAT takes the port's traffic before
//! any local socket would.

use std::collections::HashSet;

use nlink::netlink::{Connection, SockDiag};
use nlink::sockdiag::{SocketFilter, SocketInfo};

use crate::firewall::Proto;

/// Which ports have a socket on the host, per protocol.
#[derive(Debug, Clone, Default)]
pub struct HostPorts {
    /// None: not read (or not readable), so every port may be held.
    tcp: Option<HashSet<u16>>,
    udp: Option<HashSet<u16>>,
}

impl HostPorts {
    /// Nothing is known: every port may be held, and each is tried.
    pub fn unknown() -> HostPorts {
        HostPorts::default()
    }

    /// The sockets of the calling thread's network namespace, for the protocols asked. A
    /// protocol not asked for, or whose table cannot be read (no sock_diag in the kernel),
    /// has every port possibly held.
    pub async fn read(tcp: bool, udp: bool) -> HostPorts {
        if !tcp && !udp {
            // Nothing to check (no fixed host port): no socket opened on the start's path.
            return HostPorts::unknown();
        }
        let conn = match Connection::<SockDiag>::new() {
            Ok(conn) => conn,
            Err(e) => {
                tracing::debug!(error = %e, "no sock_diag socket; trying each port");
                return HostPorts::unknown();
            }
        };
        let read = |filter: SocketFilter| {
            let conn = &conn;
            async move {
                match conn.query(&filter).await {
                    Ok(sockets) => Some(ports(sockets)),
                    Err(e) => {
                        tracing::debug!(error = %e, "reading the host's sockets; trying each port");
                        None
                    }
                }
            }
        };
        HostPorts {
            tcp: match tcp {
                true => read(SocketFilter::tcp().listening().build()).await,
                false => None,
            },
            udp: match udp {
                true => read(SocketFilter::udp().build()).await,
                false => None,
            },
        }
    }

    /// Whether a host socket may hold `port` for `proto` (on some address).
    pub fn may_hold(&self, proto: Proto, port: u16) -> bool {
        let table = match proto {
            Proto::Tcp => &self.tcp,
            Proto::Udp => &self.udp,
        };
        table.as_ref().is_none_or(|held| held.contains(&port))
    }
}

fn ports(sockets: Vec<SocketInfo>) -> HashSet<u16> {
    sockets
        .into_iter()
        .filter_map(|s| match s {
            SocketInfo::Inet(s) => Some(s.local.port()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, UdpSocket};

    #[tokio::test]
    async fn listeners_and_bound_udp_sockets_are_seen() {
        let tcp4 = TcpListener::bind("127.0.0.1:0").unwrap();
        let tcp6 = TcpListener::bind("[::1]:0").ok();
        let udp = UdpSocket::bind("0.0.0.0:0").unwrap();
        let host = HostPorts::read(true, true).await;
        let tcp_port = tcp4.local_addr().unwrap().port();
        let udp_port = udp.local_addr().unwrap().port();
        assert!(host.may_hold(Proto::Tcp, tcp_port));
        assert!(host.may_hold(Proto::Udp, udp_port));
        if let Some(l) = &tcp6 {
            assert!(host.may_hold(Proto::Tcp, l.local_addr().unwrap().port()));
        }

        // A port freed is seen free; a client's connection is no listener.
        drop(tcp4);
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(server.local_addr().unwrap()).unwrap();
        let client_port = client.local_addr().unwrap().port();
        let host = HostPorts::read(true, false).await;
        assert!(!host.may_hold(Proto::Tcp, tcp_port));
        assert!(!host.may_hold(Proto::Tcp, client_port));
        // A protocol not read may hold any port.
        assert!(host.may_hold(Proto::Udp, udp_port.wrapping_add(1)));
    }

    #[test]
    fn an_unknown_table_holds_everything() {
        assert!(HostPorts::unknown().may_hold(Proto::Udp, 53));
    }
}
