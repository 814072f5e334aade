//! What the server does with one query: answer it from the network's [`Records`] (A,
//! AAAA and PTR for the containers it knows), hand it on to the upstream resolvers, or
//! drop it when it is not a query at all. Also the replies the server makes up itself
//! (SERVFAIL, truncated) for queries that were forwarded.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hickory_proto::op::{Edns, Message, MessageType, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, PTR};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use super::records::{normalize, Records};

/// How long clients may cache a container's address; docker's embedded server uses the
/// same.
pub(crate) const TTL: u32 = 600;

/// The UDP payload size this server advertises back to EDNS clients: the size that
/// avoids IP fragmentation on common links (the DNS flag day 2020 value).
const EDNS_PAYLOAD: u16 = 1232;

/// The largest message TCP framing (a 16-bit length) can carry.
pub(crate) const TCP_MAX: usize = u16::MAX as usize;

/// The transport a query came in on, which bounds the reply's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    Udp,
    Tcp,
}

/// What to do with a received packet.
#[derive(Debug)]
pub(crate) enum Decision {
    /// Not a query we can make sense of (malformed, or itself a response): drop it.
    Ignore,
    /// The encoded reply, already within the transport's size limit.
    Answer(Vec<u8>),
    /// A name this network doesn't know: send the packet, unchanged, upstream. The
    /// parsed query is kept for the replies made up when that fails.
    Forward(Box<Message>),
}

/// The largest reply the client of `request` accepts over `transport`.
pub(crate) fn reply_limit(request: &Message, transport: Transport) -> usize {
    match transport {
        Transport::Udp => usize::from(request.max_payload()),
        Transport::Tcp => TCP_MAX,
    }
}

pub(crate) fn decide(packet: &[u8], records: &Records, transport: Transport) -> Decision {
    let request = match Message::from_vec(packet) {
        Ok(request) => request,
        Err(err) => {
            tracing::debug!(%err, len = packet.len(), "dns: ignoring a malformed packet");
            return Decision::Ignore;
        }
    };
    if request.metadata.message_type != MessageType::Query {
        return Decision::Ignore;
    }
    match local_answers(&request, records) {
        Some(answers) => {
            let mut reply = response(&request, ResponseCode::NoError);
            reply.metadata.authoritative = true;
            reply.answers = answers;
            match encode_within(&reply, &request, transport) {
                Some(bytes) => Decision::Answer(bytes),
                None => Decision::Ignore,
            }
        }
        None => Decision::Forward(Box::new(request)),
    }
}

/// The answer section for a query about this network's names, or `None` when the
/// query is not about them. A known name asked for a type it has no address of (AAAA on
/// an IPv4-only network, MX) gets an empty answer (NOERROR, no data): forwarding it would
/// bring back NXDOMAIN for a name that exists, and an AAAA query answered at once spares
/// resolvers a wait.
fn local_answers(request: &Message, records: &Records) -> Option<Vec<Record>> {
    if request.metadata.op_code != OpCode::Query {
        return None;
    }
    let [query] = request.queries.as_slice() else {
        return None;
    };
    if query.query_class() != DNSClass::IN {
        return None;
    }
    let asked = query.name();
    let name = asked.to_ascii();
    let wanted = query.query_type();
    match wanted {
        RecordType::A | RecordType::AAAA | RecordType::ANY => {
            let ips = records.lookup(&name);
            if ips.is_empty() {
                return None;
            }
            let answers = ips
                .into_iter()
                .filter_map(|ip| match ip {
                    IpAddr::V4(v4) if wanted != RecordType::AAAA => Some(RData::A(A(v4))),
                    IpAddr::V6(v6) if wanted != RecordType::A => Some(RData::AAAA(AAAA(v6))),
                    _ => None,
                })
                .map(|data| Record::from_rdata(asked.clone(), TTL, data))
                .collect();
            Some(answers)
        }
        RecordType::PTR => {
            let ip = in_addr_arpa(&name)
                .map(IpAddr::V4)
                .or_else(|| ip6_arpa(&name).map(IpAddr::V6))?;
            let host = records.reverse(ip)?;
            let mut target = Name::from_ascii(&host).ok()?;
            target.set_fqdn(true);
            Some(vec![Record::from_rdata(
                asked.clone(),
                TTL,
                RData::PTR(PTR(target)),
            )])
        }
        _ if records.contains(&name) => Some(Vec::new()),
        _ => None,
    }
}

/// The address a full `b.a.9.8. … .ip6.arpa` name (32 nibbles, lowest first) stands for.
fn ip6_arpa(name: &str) -> Option<Ipv6Addr> {
    let name = normalize(name);
    let nibbles = name.strip_suffix(".ip6.arpa")?;
    let mut value: u128 = 0;
    let mut count = 0;
    for (i, part) in nibbles.split('.').enumerate() {
        if i >= 32 || part.len() != 1 {
            return None;
        }
        let digit = u128::from(part.chars().next()?.to_digit(16)?);
        value |= digit << (4 * i);
        count += 1;
    }
    (count == 32).then(|| Ipv6Addr::from(value))
}

/// The address a full `d.c.b.a.in-addr.arpa` name stands for.
fn in_addr_arpa(name: &str) -> Option<Ipv4Addr> {
    let name = normalize(name);
    let octets = name.strip_suffix(".in-addr.arpa")?;
    let mut parts = octets.split('.').map(|p| p.parse::<u8>().ok());
    let (d, c, b, a) = (
        parts.next()??,
        parts.next()??,
        parts.next()??,
        parts.next()??,
    );
    if parts.next().is_some() {
        return None;
    }
    Some(Ipv4Addr::new(a, b, c, d))
}

/// A reply to `request` with its question, ID and RD bit, and no records yet.
fn response(request: &Message, code: ResponseCode) -> Message {
    let mut reply = Message::response(request.metadata.id, request.metadata.op_code);
    reply.metadata = Metadata::response_from_request(&request.metadata);
    // Names this server doesn't hold are resolved upstream on the client's behalf.
    reply.metadata.recursion_available = true;
    reply.metadata.response_code = code;
    reply.add_queries(request.queries.iter().cloned());
    if request.edns.is_some() {
        let mut edns = Edns::new();
        edns.set_max_payload(EDNS_PAYLOAD);
        reply.set_edns(edns);
    }
    reply
}

/// The reply for a forwarded query no upstream answered.
pub(crate) fn servfail(request: &Message) -> Option<Vec<u8>> {
    encode(&response(request, ResponseCode::ServFail))
}

/// A reply that tells a UDP client to ask again over TCP, for an answer too large for it.
pub(crate) fn truncated(request: &Message) -> Option<Vec<u8>> {
    let mut reply = response(request, ResponseCode::NoError);
    reply.metadata.truncation = true;
    encode(&reply)
}

fn encode_within(reply: &Message, request: &Message, transport: Transport) -> Option<Vec<u8>> {
    let bytes = encode(reply)?;
    if bytes.len() <= reply_limit(request, transport) {
        return Some(bytes);
    }
    match transport {
        Transport::Udp => encode(&reply.truncate()),
        Transport::Tcp => None,
    }
}

fn encode(message: &Message) -> Option<Vec<u8>> {
    match message.to_vec() {
        Ok(bytes) => Some(bytes),
        Err(err) => {
            tracing::warn!(%err, "dns: could not encode a reply");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip6_arpa_names_read_back_to_addresses() {
        let ip: Ipv6Addr = "fd00:1::2".parse().unwrap();
        let name: String = format!("{:032x}", u128::from(ip))
            .chars()
            .rev()
            .map(|c| format!("{c}."))
            .collect::<String>()
            + "ip6.arpa.";
        assert_eq!(ip6_arpa(&name), Some(ip));
        assert_eq!(ip6_arpa("2.0.0.0.ip6.arpa."), None);
        assert_eq!(ip6_arpa("4.0.18.172.in-addr.arpa."), None);
    }

    #[test]
    fn in_addr_arpa_names_read_back_to_addresses() {
        assert_eq!(
            in_addr_arpa("4.0.18.172.in-addr.arpa."),
            Some(Ipv4Addr::new(172, 18, 0, 4))
        );
        assert_eq!(
            in_addr_arpa("4.0.18.172.IN-ADDR.ARPA"),
            Some(Ipv4Addr::new(172, 18, 0, 4))
        );
        assert_eq!(in_addr_arpa("0.18.172.in-addr.arpa."), None);
        assert_eq!(in_addr_arpa("1.4.0.18.172.in-addr.arpa."), None);
        assert_eq!(in_addr_arpa("x.0.18.172.in-addr.arpa."), None);
        assert_eq!(in_addr_arpa("example.com."), None);
    }

    #[test]
    fn responses_are_ignored() {
        let mut m = Message::query();
        m.metadata.message_type = MessageType::Response;
        let bytes = m.to_vec().unwrap();
        assert!(matches!(
            decide(&bytes, &Records::new(), Transport::Udp),
            Decision::Ignore
        ));
    }

    #[test]
    fn many_addresses_truncate_over_udp_but_not_tcp() {
        let records = Records::new();
        for i in 0..100 {
            records.insert("big", Ipv4Addr::new(10, 0, 0, i));
        }
        let mut q = Message::query();
        q.add_query(hickory_proto::op::Query::query(
            Name::from_ascii("big.").unwrap(),
            RecordType::A,
        ));
        let bytes = q.to_vec().unwrap();
        let Decision::Answer(udp) = decide(&bytes, &records, Transport::Udp) else {
            panic!("expected an answer over udp");
        };
        let udp = Message::from_vec(&udp).unwrap();
        assert!(udp.metadata.truncation);
        assert!(udp.answers.is_empty());
        let Decision::Answer(tcp) = decide(&bytes, &records, Transport::Tcp) else {
            panic!("expected an answer over tcp");
        };
        let tcp = Message::from_vec(&tcp).unwrap();
        assert!(!tcp.metadata.truncation);
        assert_eq!(tcp.answers.len(), 100);
    }
}
