//! The server end to end over loopback, for the names it answers itself: A, AAAA and
//! PTR over UDP and TCP, malformed packets, shutdown, and reading resolv.conf.

use super::test_support::*;

#[tokio::test]
async fn known_name_answered_over_udp_with_ttl_and_aa() {
    let server = start(records(), vec![]).await;
    let request = query("web.", RecordType::A);
    let reply = udp_ask(server.local_addr(), &request).await;
    assert_local_answer(&request, &reply);
    assert_eq!(a_records(&reply), vec![WEB]);
    assert_eq!(reply.answers[0].ttl, 600);
    let compose = udp_ask(server.local_addr(), &query("project-web-1", RecordType::A)).await;
    assert_eq!(a_records(&compose), vec![WEB]);
}

#[tokio::test]
async fn names_match_in_any_case_and_the_answer_keeps_the_asked_case() {
    let server = start(records(), vec![]).await;
    for name in ["WEB", "Web.", "wEb"] {
        let request = query(name, RecordType::A);
        let reply = udp_ask(server.local_addr(), &request).await;
        assert_local_answer(&request, &reply);
        assert_eq!(a_records(&reply), vec![WEB], "{name}");
        assert!(reply.answers[0].name.eq_case(request.queries[0].name()));
    }
}

#[tokio::test]
async fn shared_alias_answers_every_address() {
    let server = start(records(), vec![]).await;
    let mut firsts = Vec::new();
    for _ in 0..4 {
        let reply = udp_ask(server.local_addr(), &query("db", RecordType::A)).await;
        let mut ips = a_records(&reply);
        firsts.push(ips[0]);
        ips.sort();
        assert_eq!(ips, vec![DB1, DB2]);
    }
    assert!(firsts.contains(&DB1) && firsts.contains(&DB2), "{firsts:?}");
}

#[tokio::test]
async fn aaaa_for_a_known_name_is_an_empty_answer() {
    let server = start(records(), vec![]).await;
    let request = query("web", RecordType::AAAA);
    let reply = udp_ask(server.local_addr(), &request).await;
    assert_local_answer(&request, &reply);
    assert!(reply.answers.is_empty());
}

#[tokio::test]
async fn ptr_for_a_known_address_names_it() {
    let server = start(records(), vec![]).await;
    let request = query("2.0.18.172.in-addr.arpa.", RecordType::PTR);
    let reply = udp_ask(server.local_addr(), &request).await;
    assert_local_answer(&request, &reply);
    assert_eq!(reply.answers.len(), 1);
    let RData::PTR(ptr) = &reply.answers[0].data else {
        panic!("not a PTR: {:?}", reply.answers[0]);
    };
    assert_eq!(ptr.0.to_ascii(), "web.");
}

#[tokio::test]
async fn removed_container_is_no_longer_answered() {
    let records = records();
    let server = start(records.clone(), vec![]).await;
    records.remove_ip(WEB);
    let reply = udp_ask(server.local_addr(), &query("web", RecordType::A)).await;
    // Forwarded now, and with no upstream at all that fails.
    assert_eq!(reply.metadata.response_code, ResponseCode::ServFail);
    let reply = udp_ask(server.local_addr(), &query("db", RecordType::A)).await;
    assert_eq!(a_records(&reply).len(), 2);
}

#[tokio::test]
async fn tcp_queries_answered_in_turn_on_one_connection() {
    let server = start(records(), vec![]).await;
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let asks = [
        query("web", RecordType::A),
        query("2.0.18.172.in-addr.arpa", RecordType::PTR),
        query("WEB", RecordType::AAAA),
    ];
    for request in &asks {
        tcp_send(&mut stream, &request.to_vec().unwrap()).await;
    }
    let replies = [
        tcp_recv(&mut stream).await,
        tcp_recv(&mut stream).await,
        tcp_recv(&mut stream).await,
    ];
    for (request, reply) in asks.iter().zip(&replies) {
        assert_local_answer(request, reply);
    }
    assert_eq!(a_records(&replies[0]), vec![WEB]);
    assert_eq!(replies[1].answers.len(), 1);
    assert!(replies[2].answers.is_empty());
}

#[tokio::test]
async fn edns_query_gets_an_edns_answer() {
    let server = start(records(), vec![]).await;
    let mut request = query("web", RecordType::A);
    let mut edns = Edns::new();
    edns.set_max_payload(4096);
    request.set_edns(edns);
    let reply = udp_ask(server.local_addr(), &request).await;
    assert_local_answer(&request, &reply);
    assert!(reply.edns.is_some());
    assert_eq!(a_records(&reply), vec![WEB]);
}

#[tokio::test]
async fn malformed_packets_ignored_and_the_server_goes_on() {
    let server = start(records(), vec![]).await;
    let addr = server.local_addr();
    for junk in [&b""[..], b"\x01", b"\x12\x34\x01\x00\x00\x05", &[0xff; 300]] {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        socket.send_to(junk, addr).await.unwrap();
    }
    // A query's bytes cut short get no reply at all.
    let cut = query("web", RecordType::A).to_vec().unwrap();
    assert_eq!(udp_exchange(addr, &cut[..cut.len() - 3], SHORT).await, None);

    let mut stream = TcpStream::connect(addr).await.unwrap();
    tcp_send(&mut stream, b"garbage that is no dns").await;
    let mut rest = Vec::new();
    let closed = timeout(WAIT, stream.read_to_end(&mut rest)).await;
    assert!(matches!(closed, Ok(Ok(0))), "{closed:?}");

    let reply = udp_ask(addr, &query("web", RecordType::A)).await;
    assert_eq!(a_records(&reply), vec![WEB]);
    let reply = tcp_ask(addr, &query("web", RecordType::A)).await;
    assert_eq!(a_records(&reply), vec![WEB]);
}

#[tokio::test]
async fn shutdown_frees_the_port() {
    let server = start(records(), vec![]).await;
    let addr = server.local_addr();
    // An open client connection must not keep anything bound either.
    let _client = TcpStream::connect(addr).await.unwrap();
    assert!(!port_free(addr));
    server.shutdown().await;
    assert!(port_free(addr));
    let again = serve(Ipv4Addr::LOCALHOST, addr.port(), records(), vec![])
        .await
        .unwrap();
    assert_eq!(again.local_addr(), addr);
}

#[tokio::test]
async fn dropping_the_server_frees_the_port() {
    let server = start(records(), vec![]).await;
    let addr = server.local_addr();
    drop(server);
    let deadline = Instant::now() + WAIT;
    while !port_free(addr) {
        assert!(Instant::now() < deadline, "{addr} still bound");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_taken_port_is_an_error_naming_the_address() {
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let err = serve(Ipv4Addr::LOCALHOST, port, records(), vec![])
        .await
        .unwrap_err();
    assert!(matches!(err, DnsError::BindUdp { .. }), "{err}");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
}

#[test]
fn resolv_conf_nameservers_in_order_on_port_53() {
    let text = "\
# generated
search example.com
nameserver 10.0.0.2
nameserver   2001:db8::53  # v6
; nameserver 10.9.9.9
nameserver fe80::1%3
nameserver fe80::2%eth0
nameserver not-an-address
nameserver
options ndots:2
nameserver 127.0.0.53
";
    let got: Vec<String> = upstreams_from_resolv_conf(text)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        got,
        vec![
            "10.0.0.2:53",
            "[2001:db8::53]:53",
            "[fe80::1%3]:53",
            "127.0.0.53:53"
        ]
    );
    assert!(upstreams_from_resolv_conf("").is_empty());
}
