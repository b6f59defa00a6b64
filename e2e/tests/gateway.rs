//! The nginx gateway in front of the real services: routing, load balancing across replicas, the
//! WebSocket upgrade, the per-client write limit and body limit, all as JSON errors.

#![expect(clippy::expect_used, reason = "tests fail loudly when set-up breaks")]

use std::num::NonZeroU32;
use std::time::Duration;

use futures_util::StreamExt as _;
use scoreboard_domain::{ActionKind, KindCatalog};
use scoreboard_test_support::broker::{amqp_url, TestBroker};
use scoreboard_test_support::gateway::TestGateway;
use scoreboard_test_support::{tokens, TestDb, TestRedis};
use secrecy::SecretString;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(15);

/// One action, two score and one notifier replica, on one database.
struct System {
    db: TestDb,
    _broker: TestBroker,
    _redis: TestRedis,
    action: u16,
    scores: [u16; 2],
    notifier: u16,
}

async fn start_system() -> System {
    let (db, broker, redis) = (TestDb::create(), TestBroker::new(), TestRedis::new());
    let action = scoreboard_action::build(scoreboard_action::Settings {
        bind_addr: "127.0.0.1:0".into(),
        database_url: SecretString::from(db.url().to_owned()),
        database_pool_size: 4,
        http_workers: 1,
        body_limit_bytes: 16 * 1024,
        jwt: tokens::hs256_settings(),
        kinds: KindCatalog::new(vec![ActionKind {
            min_duration: Duration::ZERO,
            ..ActionKind::demo()
        }])
        .expect("kinds"),
        starts_per_minute: NonZeroU32::new(1000).expect("non-zero"),
        completes_per_minute: NonZeroU32::new(1000).expect("non-zero"),
        service_credential: None,
        dev_tokens_enabled: true,
        dev_token_ttl: Duration::from_secs(600),
    })
    .expect("action service");
    let action_port = action.port();
    tokio::spawn(action.run_until_stopped());
    let mut scores = [0; 2];
    for port in &mut scores {
        let score = scoreboard_score::build(scoreboard_score::Settings {
            bind_addr: "127.0.0.1:0".into(),
            database_url: SecretString::from(db.url().to_owned()),
            database_pool_size: 4,
            http_workers: 1,
            body_limit_bytes: 16 * 1024,
            jwt: tokens::hs256_settings(),
            key_expiry_sweep: Duration::from_secs(3600),
            redis_url: redis.url.clone(),
            redis_board_prefix: redis.prefix.clone(),
            leaderboard_cache: Duration::from_millis(100),
            relay: Some(scoreboard_score::relay::RelaySettings {
                amqp_url: SecretString::from(amqp_url()),
                topology: broker.topology.clone(),
                batch_size: 50,
                lease: Duration::from_secs(30),
                sweep_every: Duration::from_millis(200),
                linger: Duration::from_millis(5),
            }),
        })
        .expect("score service");
        *port = score.port();
        tokio::spawn(score.run_until_stopped());
    }
    let notifier_settings =
        scoreboard_notifier::Settings::from_env(&notifier_env(&db, &broker, &redis)).expect("notifier settings");
    let notifier = scoreboard_notifier::build(notifier_settings).expect("notifier");
    let notifier_port = notifier.port();
    tokio::spawn(notifier.run_until_stopped());
    for port in [action_port, scores[0], scores[1], notifier_port] {
        scoreboard_test_support::Api::new(port).wait_ready().await;
    }
    System {
        db,
        _broker: broker,
        _redis: redis,
        action: action_port,
        scores,
        notifier: notifier_port,
    }
}

/// The notifier is configured the way an operator configures it: from environment variables.
fn notifier_env(db: &TestDb, broker: &TestBroker, redis: &TestRedis) -> scoreboard_config::Env {
    let prefix = broker.topology.exchange.trim_end_matches(".events").to_owned();
    let pairs: Vec<(&str, String)> = vec![
        ("DATABASE_URL", db.url().to_owned()),
        ("REDIS_URL", redis.url.clone()),
        ("REDIS_BOARD_PREFIX", redis.prefix.clone()),
        ("AMQP_URL", amqp_url()),
        ("AMQP_PREFIX", prefix),
        ("NOTIFIER_REPLICA_ID", "gateway-test".into()),
        ("NOTIFIER_BIND_ADDR", "127.0.0.1:0".into()),
        ("SNAPSHOT_WINDOW_MS", "10".into()),
        ("WS_ALLOWED_ORIGINS", "*".into()),
        ("HTTP_WORKERS", "1".into()),
    ];
    scoreboard_config::Env::from_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())))
}

async fn get(url: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let response = reqwest::get(url).await.expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.expect("body"))
}

async fn post(url: &str, token: Option<&str>, body: &Value) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = reqwest::Client::new().post(url).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn routes_every_api_to_its_service_and_serves_the_page() {
    let system = start_system().await;
    let gateway = TestGateway::start(&[system.action], &system.scores, &[system.notifier], "100r/s", 100);
    let alice = tokens::token("alice");

    let (page_status, page_headers, page) = get(&gateway.url("/")).await;
    let (started, _, action) = post(&gateway.url("/api/actions"), Some(&alice), &json!({ "kind": "demo" })).await;
    let (board_status, _, board) = get(&gateway.url("/api/leaderboard")).await;
    let (token_status, _, token) = post(&gateway.url("/api/dev/token"), None, &json!({ "user_id": "bob" })).await;
    let (missing_status, _, missing) = get(&gateway.url("/api/nothing")).await;

    assert_eq!(page_status, 200);
    assert!(page.to_lowercase().contains("<!doctype html"));
    for header in [
        "content-security-policy",
        "x-frame-options",
        "x-content-type-options",
        "referrer-policy",
    ] {
        assert!(page_headers.contains_key(header), "missing {header}");
    }
    assert_eq!((started, action["kind"].as_str()), (201, Some("demo")));
    assert_eq!(board_status, 200);
    assert!(serde_json::from_str::<Value>(&board).expect("JSON")["entries"].is_array());
    assert_eq!(token_status, 200);
    assert!(token["token"].is_string());
    assert_eq!(missing_status, 404);
    assert_eq!(
        serde_json::from_str::<Value>(&missing).expect("JSON")["error"]["code"],
        "not_found"
    );
    assert_eq!(system.db.count("SELECT count(*) AS n FROM actions"), 1);
}

#[tokio::test]
async fn spreads_requests_over_both_score_replicas() {
    let system = start_system().await;
    let gateway = TestGateway::start(&[system.action], &system.scores, &[system.notifier], "100r/s", 100);

    for _ in 0..20 {
        assert_eq!(get(&gateway.url("/api/leaderboard")).await.0, 200);
    }

    let log = gateway.access_log();
    for port in system.scores {
        assert!(
            log.contains(&format!("127.0.0.1:{port}")),
            "replica {port} served nothing:\n{log}"
        );
    }
}

#[tokio::test]
async fn upgrades_the_websocket_and_streams_snapshots_through_nginx() {
    let system = start_system().await;
    let gateway = TestGateway::start(&[system.action], &system.scores, &[system.notifier], "100r/s", 100);
    let mut request = format!("ws://127.0.0.1:{}/ws", gateway.port)
        .into_client_request()
        .expect("request");
    request
        .headers_mut()
        .insert("sec-websocket-protocol", HeaderValue::from_static("scoreboard.v1"));
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("upgrade through nginx");
    let first = next_snapshot(&mut socket).await.expect("a snapshot on connect");

    let key = system.db.mint_key("carol", 10);
    let (redeemed, _, _) = post(
        &gateway.url("/api/scores/redeem"),
        Some(&tokens::token("carol")),
        &json!({ "key": key }),
    )
    .await;
    let mut latest = None;
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::time::Instant::now() < deadline {
        match next_snapshot(&mut socket).await {
            Some(snapshot) if snapshot["entries"][0]["user_id"] == "carol" => {
                latest = Some(snapshot);
                break;
            }
            Some(_) => {}
            None => break,
        }
    }

    assert_eq!(first["type"], "snapshot");
    assert_eq!(redeemed, 200);
    let latest = latest.expect("carol's score arrives over the WebSocket");
    assert_eq!(latest["entries"][0]["score"], 10);
}

async fn next_snapshot<S>(socket: &mut S) -> Option<Value>
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        match tokio::time::timeout(WAIT, socket.next()).await.ok()?? {
            Ok(Message::Text(text)) => return serde_json::from_str(&text).ok(),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

#[tokio::test]
async fn limits_writes_per_client_with_a_json_429_and_refuses_large_bodies() {
    let system = start_system().await;
    let gateway = TestGateway::start(&[system.action], &system.scores, &[system.notifier], "2r/s", 5);

    let mut statuses = Vec::new();
    let mut limited = None;
    for _ in 0..20 {
        let (status, headers, body) = post(&gateway.url("/api/dev/token"), None, &json!({ "user_id": "dora" })).await;
        if status == 429 && limited.is_none() {
            limited = Some((headers, body));
        }
        statuses.push(status);
    }
    let reads_ok = get(&gateway.url("/api/leaderboard")).await.0;
    let (too_large, _, too_large_body) = post(
        &gateway.url("/api/actions"),
        None,
        &json!({ "kind": "x".repeat(20 * 1024) }),
    )
    .await;

    assert!(
        statuses.iter().filter(|s| **s == 200).count() >= 5,
        "the burst is served: {statuses:?}"
    );
    let (headers, body) = limited.expect("a 429 once the burst is used up");
    assert_eq!(body["error"]["code"], "rate_limited");
    assert_eq!(headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    assert_eq!(reads_ok, 200, "reads are not limited by the write limit");
    assert_eq!(too_large, 413);
    assert_eq!(too_large_body["error"]["code"], "payload_too_large");
}
