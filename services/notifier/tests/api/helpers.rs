use std::time::Duration;

use chrono::Utc;
use futures_util::{SinkExt as _, StreamExt as _};
use scoreboard_messaging::{ConfirmedPublisher, OutgoingEvent};
use scoreboard_notifier::settings::{Settings, WsSettings};
use scoreboard_test_support::broker::{amqp_url, TestBroker};
use scoreboard_test_support::{Api, TestRedis};
use secrecy::SecretString;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

pub const ORIGIN: &str = "http://scoreboard.test";
pub const WAIT: Duration = Duration::from_secs(15);

pub fn settings(db_url: &str, broker: &TestBroker, redis: &TestRedis, replica: &str) -> Settings {
    Settings {
        bind_addr: "127.0.0.1:0".into(),
        replica_id: replica.to_owned(),
        database_url: SecretString::from(db_url.to_owned()),
        database_pool_size: 4,
        redis_url: redis.url.clone(),
        redis_board_prefix: redis.prefix.clone(),
        amqp_url: SecretString::from(amqp_url()),
        topology: broker.topology.clone(),
        prefetch: 64,
        snapshot_window: Duration::from_millis(10),
        snapshot_refresh: Duration::from_secs(2),
        ws: WsSettings {
            max_connections: 100,
            max_frame_bytes: 1024,
            max_messages_per_sec: 20,
            ping_every: Duration::from_secs(5),
            pong_timeout: Duration::from_secs(30),
            send_timeout: Duration::from_secs(5),
            socket_send_buffer: 32 * 1024,
            allowed_origins: Some(vec![ORIGIN.to_owned()]),
        },
        http_workers: 2,
        jwt: None,
    }
}

/// A running notifier.
pub struct Notifier {
    pub api: Api,
    pub port: u16,
}

/// Starts a notifier and waits until it is ready and consuming from its queue.
pub async fn spawn(settings: Settings) -> Notifier {
    let app = scoreboard_notifier::build(settings).expect("build notifier");
    let port = app.port();
    tokio::spawn(app.run_until_stopped());
    let api = Api::new(port);
    api.wait_ready().await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while api.get("/readyz", None).await.body["checks"]["broker"] != "connected" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "notifier never reached the broker"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Notifier { api, port }
}

/// A WebSocket client that collects every snapshot it is sent.
pub struct Watcher {
    snapshots: mpsc::UnboundedReceiver<Value>,
    pub last: Option<Value>,
}

impl Watcher {
    pub async fn connect(port: u16) -> Self {
        Self::try_connect(port, Some(ORIGIN), &["scoreboard.v1"])
            .await
            .expect("WebSocket handshake")
    }

    pub async fn try_connect(
        port: u16,
        origin: Option<&str>,
        protocols: &[&str],
    ) -> Result<Self, tokio_tungstenite::tungstenite::Error> {
        let mut request = format!("ws://127.0.0.1:{port}/ws").into_client_request()?;
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("origin", HeaderValue::from_str(origin).expect("origin"));
        }
        if !protocols.is_empty() {
            let offered = HeaderValue::from_str(&protocols.join(", ")).expect("protocols");
            request.headers_mut().insert("sec-websocket-protocol", offered);
        }
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
        let (sender, snapshots) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(Ok(message)) = socket.next().await {
                match message {
                    Message::Text(text) => {
                        let Ok(value) = serde_json::from_str::<Value>(&text) else {
                            continue;
                        };
                        if sender.send(value).is_err() {
                            break;
                        }
                    }
                    Message::Ping(payload) => {
                        let _ = socket.send(Message::Pong(payload)).await;
                    }
                    Message::Close(_) => break,
                    _ => {}
                }
            }
        });
        Ok(Self { snapshots, last: None })
    }

    /// The next snapshot, or `None` after `wait`.
    pub async fn next(&mut self, wait: Duration) -> Option<Value> {
        let snapshot = tokio::time::timeout(wait, self.snapshots.recv()).await.ok()??;
        self.last = Some(snapshot.clone());
        Some(snapshot)
    }

    /// The first snapshot that satisfies `wanted`, or `None` after `wait`.
    pub async fn until(&mut self, wait: Duration, wanted: impl Fn(&Value) -> bool) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let snapshot = self.next(left).await?;
            if wanted(&snapshot) {
                return Some(snapshot);
            }
        }
    }
}

/// `(user_id, score)` pairs of a snapshot, in order.
pub fn board(snapshot: &Value) -> Vec<(String, i64)> {
    snapshot["entries"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| {
                    (
                        e["user_id"].as_str().unwrap_or_default().to_owned(),
                        e["score"].as_i64().unwrap_or(-1),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the snapshot shows `user` with `score`.
pub fn shows(snapshot: &Value, user: &str, score: i64) -> bool {
    board(snapshot).iter().any(|(u, s)| u == user && *s == score)
}

/// Publishes events straight to the test's exchange, as the score service's relay would.
pub struct EventSource {
    _connection: scoreboard_messaging::lapin::Connection,
    publisher: ConfirmedPublisher,
}

impl EventSource {
    pub async fn new(broker: &TestBroker) -> Self {
        let connection = broker.connect().await;
        let publisher = ConfirmedPublisher::open(&connection, broker.topology.clone())
            .await
            .expect("publisher");
        Self {
            _connection: connection,
            publisher,
        }
    }

    pub async fn publish_raw(&self, payload: &[u8]) {
        self.publish_all_raw(&[payload.to_vec()]).await;
    }

    /// Publishes every payload back to back, then waits for all the confirms: they reach the consumer as
    /// a burst.
    pub async fn publish_all_raw(&self, payloads: &[Vec<u8>]) {
        let events: Vec<OutgoingEvent<'_>> = payloads
            .iter()
            .map(|payload| OutgoingEvent {
                id: uuid::Uuid::new_v4(),
                event_type: "ScoreUpdated",
                schema_version: 1,
                payload,
                traceparent: None,
            })
            .collect();
        let acked = self.publisher.publish_all(&events).await.expect("publish");
        assert!(acked.iter().all(|ack| *ack), "the broker confirmed every message");
    }

    /// Publishes a `ScoreUpdated` for `user`: absolute `score`, reached at `reached_at_ms` (ms since the
    /// epoch), per-user `version`.
    pub async fn score(&self, user: &str, score: i64, reached_at_ms: i64, version: i64) {
        self.publish_raw(&score_event(user, score, reached_at_ms, version))
            .await;
    }
}

/// The JSON of a `ScoreUpdated` (see [`EventSource::score`]).
pub fn score_event(user: &str, score: i64, reached_at_ms: i64, version: i64) -> Vec<u8> {
    let reached_at = chrono::DateTime::from_timestamp_millis(reached_at_ms).unwrap_or_else(Utc::now);
    json!({
        "event_id": uuid::Uuid::new_v4(), "schema_version": 1, "user_id": user, "score": score,
        "delta": 1, "reached_at": reached_at, "version": version,
    })
    .to_string()
    .into_bytes()
}

/// A score service on the same database and Redis board, publishing to `amqp_url` under the broker's
/// topology.
pub async fn spawn_score(
    db_url: &str,
    broker: &TestBroker,
    redis: &TestRedis,
    amqp_url: &str,
) -> scoreboard_test_support::Api {
    use scoreboard_score::relay::RelaySettings;
    let settings = scoreboard_score::Settings {
        bind_addr: "127.0.0.1:0".into(),
        database_url: SecretString::from(db_url.to_owned()),
        database_pool_size: 8,
        http_workers: 2,
        body_limit_bytes: 1024,
        jwt: scoreboard_test_support::tokens::hs256_settings(),
        key_expiry_sweep: Duration::from_secs(3600),
        redis_url: redis.url.clone(),
        redis_board_prefix: redis.prefix.clone(),
        leaderboard_cache: Duration::from_millis(100),
        relay: Some(RelaySettings {
            amqp_url: SecretString::from(amqp_url.to_owned()),
            topology: broker.topology.clone(),
            batch_size: 50,
            lease: Duration::from_secs(30),
            sweep_every: Duration::from_millis(200),
            linger: Duration::from_millis(5),
        }),
    };
    let app = scoreboard_score::build(settings).expect("build score service");
    let api = Api::new(app.port());
    tokio::spawn(app.run_until_stopped());
    api.wait_ready().await;
    api
}

/// Redeems a freshly minted key of `amount` for `user` through the score service.
pub async fn score_points(score: &Api, db: &scoreboard_test_support::TestDb, user: &str, amount: i64) {
    let key = db.mint_key(user, amount);
    let token = scoreboard_test_support::tokens::token(user);
    let reply = score
        .post("/api/scores/redeem", Some(&token), &json!({ "key": key }))
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
}

/// PostgreSQL's top 10 as `(user_id, score)` pairs: the truth watchers must converge to.
pub fn true_top_10(db: &scoreboard_test_support::TestDb) -> Vec<(String, i64)> {
    let mut conn = db.connect();
    scoreboard_db::scores::top(&mut conn, 10)
        .expect("top 10")
        .into_iter()
        .map(|row| (row.user_id, row.score))
        .collect()
}
