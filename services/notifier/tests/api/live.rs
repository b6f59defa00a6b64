//! The live path end to end: redeem at the score service, relay to RabbitMQ, notifier, WebSocket.

use scoreboard_test_support::broker::{amqp_url, FaultProxy, TestBroker};
use scoreboard_test_support::{TestDb, TestRedis};

use crate::helpers::{
    board, score_points, settings, shows, spawn, spawn_score, true_top_10, EventSource, Watcher, WAIT,
};

#[tokio::test]
async fn a_redeem_reaches_watchers_and_a_late_joiner_gets_the_current_snapshot_at_once() {
    let (db, broker, redis) = (TestDb::create(), TestBroker::new(), TestRedis::new());
    let notifier = spawn(settings(db.url(), &broker, &redis, "a")).await;
    let score = spawn_score(db.url(), &broker, &redis, &amqp_url()).await;
    let mut early = Watcher::connect(notifier.port).await;
    let first = early.next(WAIT).await.expect("a snapshot on connect");

    score_points(&score, &db, "alice", 10).await;
    let updated = early.until(WAIT, |s| shows(s, "alice", 10)).await;
    let mut late = Watcher::connect(notifier.port).await;
    let on_connect = late.next(WAIT).await;

    assert_eq!(first["type"], "snapshot");
    assert!(board(&first).is_empty());
    let updated = updated.expect("the watcher saw alice's new score");
    assert!(updated["version"].as_u64() > first["version"].as_u64());
    assert_eq!(updated["epoch"], first["epoch"]);
    assert!(
        on_connect.is_some_and(|s| shows(&s, "alice", 10)),
        "a late joiner starts from the current board"
    );
}

#[tokio::test]
async fn watchers_end_on_the_true_top_10_after_a_broker_outage_during_a_burst() {
    let (db, broker, redis) = (TestDb::create(), TestBroker::new(), TestRedis::new());
    let proxy = FaultProxy::start("127.0.0.1:5672".parse().expect("address")).await;
    let notifier = spawn(settings(db.url(), &broker, &redis, "a")).await;
    let score = spawn_score(db.url(), &broker, &redis, &proxy.amqp_url()).await;
    let mut watcher = Watcher::connect(notifier.port).await;
    score_points(&score, &db, "warm-up", 1).await;
    watcher
        .until(WAIT, |s| shows(s, "warm-up", 1))
        .await
        .expect("relay connected");

    proxy.cut();
    for i in 0..30 {
        score_points(&score, &db, &format!("player{}", i % 15), 5 + i).await;
    }
    let held_back = db.count("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL");
    proxy.restore();
    let truth = true_top_10(&db);
    let converged = watcher.until(WAIT, |s| board(s) == truth).await;

    assert!(held_back > 0, "the outage held events back");
    assert!(
        converged.is_some(),
        "watchers converge to {truth:?}, last saw {:?}",
        watcher.last
    );
    let deadline = tokio::time::Instant::now() + WAIT;
    while db.count("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL") > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "every committed change was published"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(db.count("SELECT count(*) AS n FROM outbox"), 31);
}

#[tokio::test]
async fn two_notifier_replicas_both_deliver_every_change() {
    let (db, broker, redis) = (TestDb::create(), TestBroker::new(), TestRedis::new());
    let first = spawn(settings(db.url(), &broker, &redis, "one")).await;
    let second = spawn(settings(db.url(), &broker, &redis, "two")).await;
    let mut on_first = Watcher::connect(first.port).await;
    let mut on_second = Watcher::connect(second.port).await;
    let events = EventSource::new(&broker).await;
    let now = chrono::Utc::now().timestamp_millis();

    for (i, user) in ["ann", "ben", "cat", "dan", "eve"].iter().enumerate() {
        let i = i64::try_from(i).expect("small");
        events.score(user, 100 - i, now + i, 1).await;
    }
    let expected = vec![
        ("ann".to_owned(), 100),
        ("ben".to_owned(), 99),
        ("cat".to_owned(), 98),
        ("dan".to_owned(), 97),
        ("eve".to_owned(), 96),
    ];

    assert!(
        on_first.until(WAIT, |s| board(s) == expected).await.is_some(),
        "replica one: {:?}",
        on_first.last
    );
    assert!(
        on_second.until(WAIT, |s| board(s) == expected).await.is_some(),
        "replica two: {:?}",
        on_second.last
    );
}
