//! What one client can and cannot do to the others: be slow, come from the wrong origin, send too much.

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use scoreboard_test_support::broker::TestBroker;
use scoreboard_test_support::{tokens, TestDb, TestRedis};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_tungstenite::tungstenite::{self, Message};

use crate::helpers::{settings, shows, spawn, EventSource, Watcher, ORIGIN, WAIT};

/// Opens a WebSocket with a tiny receive buffer, completes the handshake, and never reads again.
async fn stalled_client(port: u16) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("small receive buffer");
    let mut stream = socket.connect(([127, 0, 0, 1], port).into()).await.expect("connect");
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: {ORIGIN}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("handshake");
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await.expect("handshake answer");
    assert_eq!(&head, b"HTTP/1.1 101");
    stream
}

async fn stats(notifier: &crate::helpers::Notifier) -> serde_json::Value {
    notifier.api.get("/stats", None).await.body
}

#[tokio::test]
async fn a_client_that_never_reads_is_dropped_and_does_not_delay_the_others() {
    let (db, broker, redis) = (TestDb::create(), TestBroker::new(), TestRedis::new());
    let mut config = settings(db.url(), &broker, &redis, "a");
    config.snapshot_window = Duration::from_millis(2);
    config.ws.send_timeout = Duration::from_millis(300);
    config.ws.socket_send_buffer = 4096;
    let notifier = spawn(config).await;
    let _stalled = stalled_client(notifier.port).await;
    let mut healthy = Watcher::connect(notifier.port).await;
    let events = EventSource::new(&broker).await;
    let long_name = |i: i64| format!("player-with-a-rather-long-name-to-fill-buffers-{i:04}");
    let start = chrono::Utc::now().timestamp_millis();

    // Every event raises a new user to the top, so every window publishes a fresh snapshot. Bounded:
    // at most 3,000 events, stopping as soon as the stalled client has been dropped.
    let mut published = 0;
    while published < 3_000 && stats(&notifier).await["dropped_slow_clients"] == 0 {
        for _ in 0..50 {
            events
                .score(&long_name(published), 1_000 + published, start + published, 1)
                .await;
            published += 1;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let last_user = long_name(published - 1);
    let healthy_saw_the_end = healthy
        .until(WAIT, |s| shows(s, &last_user, 1_000 + published - 1))
        .await;
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut after = stats(&notifier).await;
    while after["connections"] != 1 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        after = stats(&notifier).await;
    }

    assert_eq!(
        after["dropped_slow_clients"], 1,
        "the stalled client was dropped ({published} events)"
    );
    assert_eq!(after["connections"], 1, "only the healthy client is left");
    assert!(
        healthy_saw_the_end.is_some(),
        "the healthy client kept up: {:?}",
        healthy.last
    );
}

#[tokio::test]
async fn a_disallowed_origin_is_refused_at_the_handshake() {
    let (db, broker, redis) = (TestDb::create(), TestBroker::new(), TestRedis::new());
    let notifier = spawn(settings(db.url(), &broker, &redis, "a")).await;

    let refused = Watcher::try_connect(notifier.port, Some("http://evil.example"), &["scoreboard.v1"]).await;
    let no_origin = Watcher::try_connect(notifier.port, None, &["scoreboard.v1"]).await;

    match refused {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status().as_u16(), 403),
        other => panic!("expected 403, got {:?}", other.map(|_| "a connection")),
    }
    assert!(no_origin.is_ok(), "non-browser clients send no Origin and are served");
    assert_eq!(stats(&notifier).await["connections"], 1);
}

#[tokio::test]
async fn an_oversized_frame_closes_the_connection_with_1009() {
    let (db, broker, redis) = (TestDb::create(), TestBroker::new(), TestRedis::new());
    let notifier = spawn(settings(db.url(), &broker, &redis, "a")).await;
    let url = format!("ws://127.0.0.1:{}/ws", notifier.port);
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.expect("handshake");

    socket.send(Message::text("x".repeat(4096))).await.expect("send");
    let mut close_code = None;
    while let Ok(Some(Ok(message))) = tokio::time::timeout(WAIT, socket.next()).await {
        if let Message::Close(frame) = message {
            close_code = frame.map(|f| u16::from(f.code));
            break;
        }
    }

    assert_eq!(close_code, Some(1009));
}

#[tokio::test]
async fn connections_beyond_the_limit_are_refused() {
    let (db, broker, redis) = (TestDb::create(), TestBroker::new(), TestRedis::new());
    let mut config = settings(db.url(), &broker, &redis, "a");
    config.ws.max_connections = 1;
    let notifier = spawn(config).await;

    let _first = Watcher::connect(notifier.port).await;
    let second = Watcher::try_connect(notifier.port, Some(ORIGIN), &["scoreboard.v1"]).await;

    match second {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status().as_u16(), 503),
        other => panic!("expected 503, got {:?}", other.map(|_| "a connection")),
    }
}

#[tokio::test]
async fn a_token_is_required_when_configured_and_offered_as_a_subprotocol() {
    let (db, broker, redis) = (TestDb::create(), TestBroker::new(), TestRedis::new());
    let mut config = settings(db.url(), &broker, &redis, "a");
    config.jwt = Some(tokens::hs256_settings());
    let notifier = spawn(config).await;

    let anonymous = Watcher::try_connect(notifier.port, Some(ORIGIN), &["scoreboard.v1"]).await;
    let bad = Watcher::try_connect(notifier.port, Some(ORIGIN), &["scoreboard.v1", "bearer.not-a-token"]).await;
    let signed_in = format!("bearer.{}", tokens::token("alice"));
    let mut good = Watcher::try_connect(notifier.port, Some(ORIGIN), &["scoreboard.v1", &signed_in])
        .await
        .expect("accepted");

    for refused in [anonymous, bad] {
        match refused {
            Err(tungstenite::Error::Http(response)) => assert_eq!(response.status().as_u16(), 401),
            other => panic!("expected 401, got {:?}", other.map(|_| "a connection")),
        }
    }
    assert!(good.next(WAIT).await.is_some(), "a signed-in client gets the snapshot");
}
