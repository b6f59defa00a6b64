//! Events as they really arrive: twice, out of order, or unreadable.

use std::time::Duration;

use scoreboard_cache::{CacheKeys, LeaderboardCache};
use scoreboard_messaging::lapin::options::{BasicGetOptions, QueueDeclareOptions};
use scoreboard_messaging::lapin::types::FieldTable;
use scoreboard_test_support::broker::{FaultProxy, TestBroker};
use scoreboard_test_support::{TestDb, TestRedis};
use secrecy::SecretString;

use crate::helpers::{score_event, settings, shows, spawn, EventSource, Watcher, WAIT};

#[tokio::test]
async fn duplicated_and_reordered_events_leave_redis_and_the_snapshot_correct() {
    let (db, broker, redis) = (TestDb::create(), TestBroker::new(), TestRedis::new());
    let notifier = spawn(settings(db.url(), &broker, &redis, "a")).await;
    let mut watcher = Watcher::connect(notifier.port).await;
    let events = EventSource::new(&broker).await;
    let now = chrono::Utc::now().timestamp_millis();

    events.score("alice", 20, now + 2, 2).await;
    events.score("alice", 10, now + 1, 1).await; // older, arrives late
    events.score("alice", 20, now + 2, 2).await; // duplicate
    events.score("zed", 5, now + 3, 1).await; // marks the end of the sequence
    let last = watcher
        .until(WAIT, |s| shows(s, "zed", 5))
        .await
        .expect("all events processed");

    assert!(shows(&last, "alice", 20), "{last}");
    let cache = LeaderboardCache::new(&redis.url, CacheKeys::new(&redis.prefix), 2).expect("cache");
    let top = cache.top(10).await.expect("redis answers").expect("board built");
    let alice = top.iter().find(|e| e.user_id == "alice").expect("alice in redis");
    assert_eq!(alice.score, 20);
}

#[tokio::test]
async fn a_poison_message_is_dead_lettered_and_the_consumer_keeps_going() {
    let (db, broker, redis) = (TestDb::create(), TestBroker::new(), TestRedis::new());
    let notifier = spawn(settings(db.url(), &broker, &redis, "a")).await;
    let mut watcher = Watcher::connect(notifier.port).await;
    let events = EventSource::new(&broker).await;

    events.publish_raw(b"\x00 not json at all").await;
    events
        .publish_raw(br#"{"event_id":"3f1b9c1e-5d7a-4c3e-9a53-0d7e3c1b2a10","schema_version":99}"#)
        .await;
    events
        .score("survivor", 7, chrono::Utc::now().timestamp_millis(), 1)
        .await;

    assert!(
        watcher.until(WAIT, |s| shows(s, "survivor", 7)).await.is_some(),
        "the consumer kept going"
    );
    let connection = broker.connect().await;
    let channel = connection.create_channel().await.expect("channel");
    let mut dead = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while dead.len() < 2 && tokio::time::Instant::now() < deadline {
        match channel
            .basic_get(
                broker.topology.dead_letter_queue.as_str().into(),
                BasicGetOptions { no_ack: true },
            )
            .await
            .expect("basic.get")
        {
            Some(message) => dead.push(message.delivery.data.clone()),
            None => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    assert_eq!(dead.len(), 2, "both unreadable messages are in the dead-letter queue");
    assert_eq!(dead[0], b"\x00 not json at all".to_vec());
}

#[tokio::test]
async fn bursts_beyond_the_prefetch_are_applied_and_acknowledged_around_a_poison_message() {
    let (db, broker, redis) = (TestDb::create(), TestBroker::new(), TestRedis::new());
    let proxy = FaultProxy::start("127.0.0.1:5672".parse().expect("address")).await;
    let mut notifier_settings = settings(db.url(), &broker, &redis, "a");
    notifier_settings.amqp_url = SecretString::from(proxy.amqp_url());
    // Few deliveries in flight, so the 101 messages arrive in bursts that must each be acknowledged.
    notifier_settings.prefetch = 8;
    let notifier = spawn(notifier_settings).await;
    let mut watcher = Watcher::connect(notifier.port).await;
    let events = EventSource::new(&broker).await;
    let now = chrono::Utc::now().timestamp_millis();

    let mut payloads = Vec::new();
    for i in 1..=100 {
        if i == 50 {
            payloads.push(b"not an event".to_vec());
        }
        payloads.push(score_event(&format!("burst{i:03}"), i, now + i, 1));
    }
    events.publish_all_raw(&payloads).await;

    assert!(
        watcher.until(WAIT, |s| shows(s, "burst100", 100)).await.is_some(),
        "the last event was applied, so every earlier delivery was acknowledged"
    );
    // Cut the notifier's broker connection: whatever it left unacknowledged goes back to its queue.
    proxy.cut();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let connection = broker.connect().await;
    let channel = connection.create_channel().await.expect("channel");
    let queue = channel
        .queue_declare(
            broker.topology.replica_queue("a").as_str().into(),
            QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("the replica queue exists");
    assert_eq!(
        queue.message_count(),
        0,
        "every delivery was acknowledged or dead-lettered"
    );
    let cache = LeaderboardCache::new(&redis.url, CacheKeys::new(&redis.prefix), 2).expect("cache");
    let board = cache.top(200).await.expect("redis answers").expect("board built");
    assert_eq!(board.len(), 100, "every readable event is on the board");
    assert!(board.iter().all(|e| e.user_id == format!("burst{:03}", e.score)));
    let dead = channel
        .basic_get(
            broker.topology.dead_letter_queue.as_str().into(),
            BasicGetOptions { no_ack: true },
        )
        .await
        .expect("basic.get");
    assert_eq!(
        dead.map(|message| message.delivery.data.clone()),
        Some(b"not an event".to_vec())
    );
}
