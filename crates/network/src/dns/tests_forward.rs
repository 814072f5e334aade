//! The server end to end over loopback, for the names it forwards: to a fake upstream
//! on 127.0.0.2, with the query ID kept, TCP retries, dead upstreams and SERVFAIL.

use super::test_support::*;

#[tokio::test]
async fn unknown_names_forwarded_with_the_query_id_kept() {
    let upstream = FakeUpstream::start(Upstream::Answers).await;
    let server = start(records(), vec![upstream.addr]).await;
    let mut request = query("example.org.", RecordType::A);
    request.metadata.id = 0x4242;
    let reply = udp_ask(server.local_addr(), &request).await;
    assert_eq!(reply.metadata.id, 0x4242);
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert!(!reply.metadata.authoritative);
    assert_eq!(a_records(&reply), vec![UPSTREAM_ANSWER]);
    assert_eq!(upstream.ids(), vec![0x4242]);

    // A search domain appended to a known name is not the known name: forwarded.
    let reply = udp_ask(
        server.local_addr(),
        &query("web.example.com", RecordType::A),
    )
    .await;
    assert_eq!(a_records(&reply), vec![UPSTREAM_ANSWER]);
    let reply = udp_ask(server.local_addr(), &query("nope", RecordType::AAAA)).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);
}

#[tokio::test]
async fn tcp_queries_forwarded_too() {
    let upstream = FakeUpstream::start(Upstream::Answers).await;
    let server = start(records(), vec![upstream.addr]).await;
    let mut request = query("example.org", RecordType::A);
    request.metadata.id = 77;
    let reply = tcp_ask(server.local_addr(), &request).await;
    assert_eq!(reply.metadata.id, 77);
    assert_eq!(a_records(&reply), vec![UPSTREAM_ANSWER]);
}

#[tokio::test]
async fn truncated_upstream_reply_retried_over_tcp() {
    let upstream = FakeUpstream::start(Upstream::TruncatesUdp).await;
    let server = start(records(), vec![upstream.addr]).await;
    let request = query("big.example.org", RecordType::A);
    let reply = udp_ask(server.local_addr(), &request).await;
    assert_eq!(reply.metadata.id, request.metadata.id);
    assert!(!reply.metadata.truncation);
    assert_eq!(a_records(&reply), vec![UPSTREAM_ANSWER]);
}

#[tokio::test]
async fn next_upstream_asked_after_a_dead_or_failing_one() {
    let failing = FakeUpstream::start(Upstream::Fails).await;
    let good = FakeUpstream::start(Upstream::Answers).await;
    let dead = dead_upstream().await;
    let server = start(records(), vec![dead, failing.addr, good.addr]).await;
    let reply = udp_ask(server.local_addr(), &query("example.org", RecordType::A)).await;
    assert_eq!(a_records(&reply), vec![UPSTREAM_ANSWER]);
    assert_eq!(failing.ids().len(), 1);
}

#[tokio::test]
async fn servfail_when_no_upstream_answers() {
    let silent = FakeUpstream::start(Upstream::Silent).await;
    let dead = dead_upstream().await;
    let server = start(records(), vec![dead, silent.addr]).await;
    let request = query("example.org", RecordType::A);
    let started = Instant::now();
    let reply = udp_ask(server.local_addr(), &request).await;
    assert_eq!(reply.metadata.id, request.metadata.id);
    assert_eq!(reply.metadata.response_code, ResponseCode::ServFail);
    assert_eq!(reply.queries, request.queries);
    assert!(started.elapsed() < WAIT, "{:?}", started.elapsed());
    let reply = tcp_ask(server.local_addr(), &request).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::ServFail);
}

#[tokio::test]
async fn an_upstream_servfail_is_relayed_when_it_is_all_there_is() {
    let failing = FakeUpstream::start(Upstream::Fails).await;
    let server = start(records(), vec![failing.addr]).await;
    let reply = udp_ask(server.local_addr(), &query("example.org", RecordType::A)).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::ServFail);
}

#[tokio::test]
async fn forwards_run_concurrently() {
    let delay = Duration::from_millis(300);
    let upstream = FakeUpstream::start(Upstream::Slow(delay)).await;
    let options = ServeOptions {
        upstreams: vec![upstream.addr],
        upstream_timeout: WAIT,
    };
    let server = serve_with(Ipv4Addr::LOCALHOST, 0, records(), options)
        .await
        .unwrap();
    let addr = server.local_addr();
    let started = Instant::now();
    let mut asks = tokio::task::JoinSet::new();
    for i in 0..40u16 {
        asks.spawn(async move {
            let mut request = query(&format!("host{i}.example.org"), RecordType::A);
            request.metadata.id = 1000 + i;
            let reply = udp_ask(addr, &request).await;
            assert_eq!(reply.metadata.id, 1000 + i);
            assert_eq!(a_records(&reply), vec![UPSTREAM_ANSWER]);
        });
    }
    while let Some(done) = asks.join_next().await {
        done.unwrap();
    }
    // One after another would take 40 delays.
    assert!(started.elapsed() < delay * 10, "{:?}", started.elapsed());
    assert_eq!(upstream.ids().len(), 40);
}

#[tokio::test]
async fn shutdown_while_forwarding_frees_the_port() {
    let silent = FakeUpstream::start(Upstream::Silent).await;
    let options = ServeOptions {
        upstreams: vec![silent.addr],
        upstream_timeout: WAIT,
    };
    let server = serve_with(Ipv4Addr::LOCALHOST, 0, records(), options)
        .await
        .unwrap();
    let addr = server.local_addr();
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let packet = query("example.org", RecordType::A).to_vec().unwrap();
    socket.send_to(&packet, addr).await.unwrap();
    let deadline = Instant::now() + WAIT;
    while silent.ids().is_empty() {
        assert!(Instant::now() < deadline, "query never forwarded");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.shutdown().await;
    assert!(port_free(addr));
}
