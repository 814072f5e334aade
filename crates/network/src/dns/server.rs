//! The listening side of a network's DNS server: one UDP socket and one TCP listener on
//! the same address and port, each served by one tokio task. Local answers are made in
//! line; forwarded queries get a task each, owned by the listener's task so that
//! stopping the server stops them too.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::timeout;

use super::answer::{self, Decision, Transport};
use super::forward::Forwarder;
use super::{DnsError, Records, Result};

/// How long each upstream gets to answer unless told otherwise.
pub const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(2);

/// Forwarded queries in flight per server; past this, new ones are dropped and the
/// client's own retry comes back later (docker caps its server the same way).
const MAX_FORWARDS: usize = 256;

/// Open TCP connections per server.
const MAX_TCP_CONNECTIONS: usize = 64;

/// A TCP client that sends nothing for this long is disconnected.
const TCP_IDLE: Duration = Duration::from_secs(10);

/// Large enough for any query a client sends over UDP (EDNS payloads are about replies).
const UDP_QUERY_BUF: usize = 4096;

/// A pause after a failing `recv`/`accept`, so an error that repeats (out of file
/// descriptors, say) doesn't spin the task.
const ERROR_PAUSE: Duration = Duration::from_millis(50);

/// How a server forwards what it can't answer.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Resolvers asked in order for names the network doesn't hold.
    pub upstreams: Vec<SocketAddr>,
    /// How long each upstream gets, for its UDP reply and again for a TCP retry.
    pub upstream_timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> ServeOptions {
        ServeOptions {
            upstreams: Vec::new(),
            upstream_timeout: DEFAULT_UPSTREAM_TIMEOUT,
        }
    }
}

/// A running DNS server. It stops when dropped or on [`DnsServer::shutdown`].
#[derive(Debug)]
pub struct DnsServer {
    addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl DnsServer {
    /// The address both the UDP socket and the TCP listener are bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn local_port(&self) -> u16 {
        self.addr.port()
    }

    /// Stops the server and waits until its sockets are closed, so the address can be
    /// bound again (or the interface removed) once this returns. Dropping the server
    /// stops it too, but the sockets close a moment later, on the runtime's time.
    pub async fn shutdown(mut self) {
        let tasks = std::mem::take(&mut self.tasks);
        for task in &tasks {
            task.abort();
        }
        for task in tasks {
            // Cancelled is the expected outcome; a task that panicked has ended too.
            let _ = task.await;
        }
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Serves `records` on UDP and TCP at `bind:port` (port 0 picks a free one, the same for
/// both), forwarding other names to `upstreams` with the default timeout.
pub async fn serve(
    bind: Ipv4Addr,
    port: u16,
    records: Records,
    upstreams: Vec<SocketAddr>,
) -> Result<DnsServer> {
    let options = ServeOptions {
        upstreams,
        ..ServeOptions::default()
    };
    serve_with(bind, port, records, options).await
}

/// [`serve`] with every forwarding setting spelled out.
pub async fn serve_with(
    bind: Ipv4Addr,
    port: u16,
    records: Records,
    options: ServeOptions,
) -> Result<DnsServer> {
    let (udp, tcp, addr) = bind_pair(bind, port).await?;
    // Sending a query to itself would loop until the timeout.
    let upstreams = options
        .upstreams
        .into_iter()
        .filter(|upstream| *upstream != addr)
        .collect();
    let forwarder = Arc::new(Forwarder::new(upstreams, options.upstream_timeout));
    let tasks = vec![
        tokio::spawn(run_udp(udp, records.clone(), forwarder.clone())),
        tokio::spawn(run_tcp(tcp, records, forwarder)),
    ];
    tracing::debug!(%addr, "dns: serving");
    Ok(DnsServer { addr, tasks })
}

/// A UDP socket and a TCP listener on one port. With port 0 the UDP socket picks it,
/// and a TCP socket may already hold that number; then another is tried.
async fn bind_pair(bind: Ipv4Addr, port: u16) -> Result<(UdpSocket, TcpListener, SocketAddr)> {
    let wanted = SocketAddr::from((bind, port));
    let mut attempts = 0;
    loop {
        let udp = UdpSocket::bind(wanted)
            .await
            .map_err(|source| DnsError::BindUdp {
                addr: wanted,
                source,
            })?;
        let addr = udp.local_addr().map_err(|source| DnsError::BindUdp {
            addr: wanted,
            source,
        })?;
        match TcpListener::bind(addr).await {
            Ok(tcp) => return Ok((udp, tcp, addr)),
            Err(err) if port == 0 && attempts < 16 => {
                tracing::debug!(%addr, %err, "dns: TCP port taken, picking another");
                attempts += 1;
            }
            Err(source) => return Err(DnsError::BindTcp { addr, source }),
        }
    }
}

async fn run_udp(socket: UdpSocket, records: Records, forwarder: Arc<Forwarder>) {
    // Forwarding tasks hand their replies back here rather than sharing the socket, so
    // the socket closes with this task and no forward in flight keeps the port bound.
    let (replies, mut outbox) = mpsc::channel::<(Vec<u8>, SocketAddr)>(64);
    let mut forwards = JoinSet::new();
    let mut buf = vec![0u8; UDP_QUERY_BUF];
    loop {
        tokio::select! {
            received = socket.recv_from(&mut buf) => {
                let (len, peer) = match received {
                    Ok(received) => received,
                    Err(err) => {
                        tracing::debug!(%err, "dns: UDP receive failed");
                        tokio::time::sleep(ERROR_PAUSE).await;
                        continue;
                    }
                };
                let packet = &buf[..len];
                match answer::decide(packet, &records, Transport::Udp) {
                    Decision::Ignore => {}
                    Decision::Answer(reply) => send(&socket, &reply, peer).await,
                    Decision::Forward(request) => {
                        if forwards.len() >= MAX_FORWARDS {
                            tracing::debug!(%peer, "dns: too many queries in flight, dropping one");
                            continue;
                        }
                        let query = packet.to_vec();
                        let forwarder = forwarder.clone();
                        let replies = replies.clone();
                        forwards.spawn(async move {
                            let limit = answer::reply_limit(&request, Transport::Udp);
                            let reply = match forwarder.forward(&query, limit).await {
                                Some(reply) if reply.len() <= limit => Some(reply),
                                Some(_) => answer::truncated(&request),
                                None => answer::servfail(&request),
                            };
                            if let Some(reply) = reply {
                                // Fails only once the server is stopping.
                                let _ = replies.send((reply, peer)).await;
                            }
                        });
                    }
                }
            }
            Some((reply, peer)) = outbox.recv() => send(&socket, &reply, peer).await,
            Some(_) = forwards.join_next(), if !forwards.is_empty() => {}
        }
    }
}

async fn send(socket: &UdpSocket, reply: &[u8], peer: SocketAddr) {
    if let Err(err) = socket.send_to(reply, peer).await {
        tracing::debug!(%peer, %err, "dns: UDP reply not sent");
    }
}

async fn run_tcp(listener: TcpListener, records: Records, forwarder: Arc<Forwarder>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    if connections.len() >= MAX_TCP_CONNECTIONS {
                        tracing::debug!(%peer, "dns: too many TCP connections, closing one");
                        continue;
                    }
                    connections.spawn(serve_connection(stream, records.clone(), forwarder.clone()));
                }
                Err(err) => {
                    tracing::debug!(%err, "dns: TCP accept failed");
                    tokio::time::sleep(ERROR_PAUSE).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Answers length-prefixed queries on one connection, in order, until the client closes
/// it, goes quiet, or sends something that is not a query.
async fn serve_connection(mut stream: TcpStream, records: Records, forwarder: Arc<Forwarder>) {
    loop {
        let Ok(Ok(len)) = timeout(TCP_IDLE, stream.read_u16()).await else {
            return;
        };
        let mut query = vec![0u8; usize::from(len)];
        let Ok(Ok(_)) = timeout(TCP_IDLE, stream.read_exact(&mut query)).await else {
            return;
        };
        let reply = match answer::decide(&query, &records, Transport::Tcp) {
            Decision::Ignore => return,
            Decision::Answer(reply) => reply,
            Decision::Forward(request) => {
                let limit = answer::reply_limit(&request, Transport::Udp);
                match forwarder.forward(&query, limit).await {
                    Some(reply) => reply,
                    None => match answer::servfail(&request) {
                        Some(reply) => reply,
                        None => return,
                    },
                }
            }
        };
        let Ok(len) = u16::try_from(reply.len()) else {
            return;
        };
        let mut framed = Vec::with_capacity(reply.len() + 2);
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(&reply);
        // A client that stops reading would otherwise hold the task forever.
        let Ok(Ok(())) = timeout(TCP_IDLE, stream.write_all(&framed)).await else {
            return;
        };
    }
}
