//! Sending the queries a network's DNS server can't answer to the host's resolvers:
//! over UDP to each upstream in turn, again over TCP when the UDP reply came back
//! truncated, and the reply relayed as the upstream wrote it (the client's query ID
//! included, since the query goes out unchanged).

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::timeout;

use super::answer::TCP_MAX;

/// Reply codes after which the next upstream is worth asking (docker does the same):
/// SERVFAIL and REFUSED say something about that server, not about the name.
const RCODE_SERVFAIL: u8 = 2;
const RCODE_REFUSED: u8 = 5;

/// The smallest receive buffer for UDP replies: what a client without EDNS accepts.
const UDP_MIN: usize = 512;

#[derive(Debug, Clone)]
pub(crate) struct Forwarder {
    upstreams: Vec<SocketAddr>,
    /// For each upstream, for the UDP exchange and again for a TCP retry.
    timeout: Duration,
}

impl Forwarder {
    pub(crate) fn new(upstreams: Vec<SocketAddr>, timeout: Duration) -> Forwarder {
        Forwarder { upstreams, timeout }
    }

    /// The upstream reply to `query`, or `None` when no upstream gave a usable one.
    /// `udp_payload` is the size the client advertised, which the upstream keeps to.
    pub(crate) async fn forward(&self, query: &[u8], udp_payload: usize) -> Option<Vec<u8>> {
        let id = query_id(query)?;
        let mut failed_reply = None;
        for &upstream in &self.upstreams {
            let reply = match self.exchange(upstream, query, id, udp_payload).await {
                Ok(reply) => reply,
                Err(err) => {
                    tracing::debug!(%upstream, %err, "dns: upstream did not answer");
                    continue;
                }
            };
            if matches!(rcode(&reply), RCODE_SERVFAIL | RCODE_REFUSED) {
                failed_reply = Some(reply);
                continue;
            }
            return Some(reply);
        }
        failed_reply
    }

    async fn exchange(
        &self,
        upstream: SocketAddr,
        query: &[u8],
        id: u16,
        udp_payload: usize,
    ) -> io::Result<Vec<u8>> {
        let within = |what| io::Error::new(io::ErrorKind::TimedOut, what);
        let reply = timeout(self.timeout, udp_exchange(upstream, query, id, udp_payload))
            .await
            .map_err(|_| within("no UDP reply in time"))??;
        if !truncated(&reply) {
            return Ok(reply);
        }
        match timeout(self.timeout, tcp_exchange(upstream, query, id)).await {
            Ok(Ok(full)) => Ok(full),
            // A truncated answer still tells the client to retry over TCP itself.
            Ok(Err(err)) => {
                tracing::debug!(%upstream, %err, "dns: TCP retry failed");
                Ok(reply)
            }
            Err(_) => Ok(reply),
        }
    }
}

async fn udp_exchange(
    upstream: SocketAddr,
    query: &[u8],
    id: u16,
    udp_payload: usize,
) -> io::Result<Vec<u8>> {
    // A fresh socket per query: the kernel picks a random source port, which (with the
    // connected peer filtering what comes in) makes spoofed replies hard to land.
    let local: SocketAddr = match upstream {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local).await?;
    socket.connect(upstream).await?;
    socket.send(query).await?;
    // One byte more than the client accepts shows a reply cut short by the buffer.
    let mut buf = vec![0u8; udp_payload.clamp(UDP_MIN, TCP_MAX) + 1];
    loop {
        let len = socket.recv(&mut buf).await?;
        if is_reply_to(&buf[..len], id) {
            if len == buf.len() {
                // Cut short: make it look truncated so the TCP retry happens.
                buf[2] |= TC_BIT;
            }
            buf.truncate(len);
            return Ok(buf);
        }
    }
}

async fn tcp_exchange(upstream: SocketAddr, query: &[u8], id: u16) -> io::Result<Vec<u8>> {
    let len = u16::try_from(query.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "query too large for TCP"))?;
    let mut stream = TcpStream::connect(upstream).await?;
    let mut framed = Vec::with_capacity(query.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(query);
    stream.write_all(&framed).await?;
    loop {
        let len = stream.read_u16().await?;
        let mut reply = vec![0u8; usize::from(len)];
        stream.read_exact(&mut reply).await?;
        if is_reply_to(&reply, id) {
            return Ok(reply);
        }
    }
}

const QR_BIT: u8 = 0x80;
const TC_BIT: u8 = 0x02;

/// The header fields are read off the raw bytes rather than a full parse, so replies
/// are relayed even when they hold records this server couldn't decode.
fn query_id(packet: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes([*packet.first()?, *packet.get(1)?]))
}

fn is_reply_to(packet: &[u8], id: u16) -> bool {
    packet.len() >= 12 && query_id(packet) == Some(id) && packet[2] & QR_BIT != 0
}

fn truncated(packet: &[u8]) -> bool {
    packet.get(2).is_some_and(|flags| flags & TC_BIT != 0)
}

fn rcode(packet: &[u8]) -> u8 {
    packet.get(3).map_or(0, |b| b & 0x0f)
}
