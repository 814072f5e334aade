//! What the server's tests share: a server on 127.0.0.1 with a few containers' names,
//! clients that ask over UDP and TCP, and a fake upstream resolver on 127.0.0.2.

pub(crate) use std::net::{Ipv4Addr, SocketAddr};
pub(crate) use std::sync::{Arc, Mutex};
pub(crate) use std::time::{Duration, Instant};

pub(crate) use hickory_proto::op::{Edns, Message, MessageType, Query, ResponseCode};
pub(crate) use hickory_proto::rr::rdata::A;
pub(crate) use hickory_proto::rr::{Name, RData, Record, RecordType};
pub(crate) use tokio::io::{AsyncReadExt, AsyncWriteExt};
pub(crate) use tokio::net::{TcpListener, TcpStream, UdpSocket};
pub(crate) use tokio::time::timeout;

pub(crate) use super::*;

pub(crate) const WEB: Ipv4Addr = Ipv4Addr::new(172, 18, 0, 2);
pub(crate) const DB1: Ipv4Addr = Ipv4Addr::new(172, 18, 0, 3);
pub(crate) const DB2: Ipv4Addr = Ipv4Addr::new(172, 18, 0, 4);
/// What the fake upstream answers every A query with.
pub(crate) const UPSTREAM_ANSWER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 7);
pub(crate) const WAIT: Duration = Duration::from_secs(5);
pub(crate) const SHORT: Duration = Duration::from_millis(200);

pub(crate) fn records() -> Records {
    let r = Records::new();
    r.insert("web", WEB);
    r.insert("project-web-1", WEB);
    r.insert("db", DB1);
    r.insert("db", DB2);
    r
}

pub(crate) async fn start(records: Records, upstreams: Vec<SocketAddr>) -> DnsServer {
    let options = ServeOptions {
        upstreams,
        upstream_timeout: SHORT,
    };
    serve_with(Ipv4Addr::LOCALHOST, 0, records, options)
        .await
        .unwrap()
}

pub(crate) fn query(name: &str, kind: RecordType) -> Message {
    let mut m = Message::query();
    m.metadata.recursion_desired = true;
    // On the wire every name is fully qualified, trailing dot written or not.
    let mut name = Name::from_ascii(name).unwrap();
    name.set_fqdn(true);
    m.add_query(Query::query(name, kind));
    m
}

pub(crate) async fn udp_ask(server: SocketAddr, request: &Message) -> Message {
    let reply = udp_exchange(server, &request.to_vec().unwrap(), WAIT).await;
    Message::from_vec(&reply.expect("no UDP reply")).unwrap()
}

pub(crate) async fn udp_exchange(
    server: SocketAddr,
    packet: &[u8],
    wait: Duration,
) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.send_to(packet, server).await.unwrap();
    let mut buf = vec![0u8; 65535];
    let (len, _) = timeout(wait, socket.recv_from(&mut buf)).await.ok()?.ok()?;
    buf.truncate(len);
    Some(buf)
}

pub(crate) async fn tcp_send(stream: &mut TcpStream, packet: &[u8]) {
    let len = u16::try_from(packet.len()).unwrap();
    stream.write_all(&len.to_be_bytes()).await.unwrap();
    stream.write_all(packet).await.unwrap();
}

pub(crate) async fn tcp_recv(stream: &mut TcpStream) -> Message {
    let len = timeout(WAIT, stream.read_u16()).await.unwrap().unwrap();
    let mut buf = vec![0u8; usize::from(len)];
    stream.read_exact(&mut buf).await.unwrap();
    Message::from_vec(&buf).unwrap()
}

pub(crate) async fn tcp_ask(server: SocketAddr, request: &Message) -> Message {
    let mut stream = TcpStream::connect(server).await.unwrap();
    tcp_send(&mut stream, &request.to_vec().unwrap()).await;
    tcp_recv(&mut stream).await
}

pub(crate) fn a_records(reply: &Message) -> Vec<Ipv4Addr> {
    reply
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(A(ip)) => Some(*ip),
            _ => None,
        })
        .collect()
}

pub(crate) fn assert_local_answer(request: &Message, reply: &Message) {
    assert_eq!(reply.metadata.id, request.metadata.id);
    assert_eq!(reply.metadata.message_type, MessageType::Response);
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert!(reply.metadata.authoritative);
    assert!(reply.metadata.recursion_available);
    assert_eq!(reply.queries, request.queries);
}

/// How the fake upstream behaves.
#[derive(Clone, Copy)]
pub(crate) enum Upstream {
    /// Answers every A query with [`UPSTREAM_ANSWER`], NXDOMAIN otherwise.
    Answers,
    /// Over UDP only says "truncated"; the full answer comes over TCP.
    TruncatesUdp,
    /// Answers SERVFAIL to everything.
    Fails,
    /// Receives and never answers.
    Silent,
    /// Answers like `Answers`, after a delay.
    Slow(Duration),
}

/// A resolver on 127.0.0.2 standing in for the host's; it records the IDs it was asked.
pub(crate) struct FakeUpstream {
    pub(crate) addr: SocketAddr,
    ids: Arc<Mutex<Vec<u16>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

pub(crate) fn upstream_reply(request: &Message, mode: Upstream, over_tcp: bool) -> Option<Message> {
    let mut reply = Message::response(request.metadata.id, request.metadata.op_code);
    reply.add_queries(request.queries.iter().cloned());
    reply.metadata.recursion_available = true;
    match mode {
        Upstream::Silent => return None,
        Upstream::Fails => reply.metadata.response_code = ResponseCode::ServFail,
        Upstream::TruncatesUdp if !over_tcp => reply.metadata.truncation = true,
        _ => {
            let q = request.queries.first()?;
            if q.query_type() == RecordType::A {
                reply.add_answer(Record::from_rdata(
                    q.name().clone(),
                    30,
                    RData::A(A(UPSTREAM_ANSWER)),
                ));
            } else {
                reply.metadata.response_code = ResponseCode::NXDomain;
            }
        }
    }
    Some(reply)
}

impl FakeUpstream {
    pub(crate) async fn start(mode: Upstream) -> FakeUpstream {
        let udp = UdpSocket::bind("127.0.0.2:0").await.unwrap();
        let addr = udp.local_addr().unwrap();
        let tcp = TcpListener::bind(addr).await.unwrap();
        let ids = Arc::new(Mutex::new(Vec::new()));
        let udp = Arc::new(udp);
        let udp_task = {
            let ids = ids.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                loop {
                    let (len, peer) = udp.recv_from(&mut buf).await.unwrap();
                    let request = Message::from_vec(&buf[..len]).unwrap();
                    ids.lock().unwrap().push(request.metadata.id);
                    let udp = udp.clone();
                    tokio::spawn(async move {
                        if let Upstream::Slow(delay) = mode {
                            tokio::time::sleep(delay).await;
                        }
                        if let Some(reply) = upstream_reply(&request, mode, false) {
                            udp.send_to(&reply.to_vec().unwrap(), peer).await.unwrap();
                        }
                    });
                }
            })
        };
        let tcp_task = tokio::spawn(async move {
            loop {
                let (mut stream, _) = tcp.accept().await.unwrap();
                tokio::spawn(async move {
                    let Ok(len) = stream.read_u16().await else {
                        return;
                    };
                    let mut buf = vec![0u8; usize::from(len)];
                    stream.read_exact(&mut buf).await.unwrap();
                    let request = Message::from_vec(&buf).unwrap();
                    if let Some(reply) = upstream_reply(&request, mode, true) {
                        tcp_send(&mut stream, &reply.to_vec().unwrap()).await;
                    }
                });
            }
        });
        FakeUpstream {
            addr,
            ids,
            tasks: vec![udp_task, tcp_task],
        }
    }

    pub(crate) fn ids(&self) -> Vec<u16> {
        self.ids.lock().unwrap().clone()
    }
}

/// A loopback address with nothing listening on it: its port was just given up.
pub(crate) async fn dead_upstream() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.3:0").await.unwrap();
    socket.local_addr().unwrap()
}

pub(crate) fn port_free(addr: SocketAddr) -> bool {
    std::net::UdpSocket::bind(addr).is_ok() && std::net::TcpListener::bind(addr).is_ok()
}
