//! The board when Redis loses it, and the service contract.

use std::collections::BTreeSet;

use scoreboard_cache::{CacheKeys, LeaderboardCache};
use scoreboard_test_support::broker::TestBroker;
use scoreboard_test_support::{TestDb, TestRedis};

use crate::helpers::{board, settings, shows, spawn, true_top_10, EventSource, Watcher, WAIT};

#[tokio::test]
async fn after_redis_is_flushed_snapshots_stay_correct_and_the_board_is_rebuilt() {
    let (db, broker, redis) = (TestDb::create(), TestBroker::new(), TestRedis::new());
    db.execute(
        "INSERT INTO user_scores (user_id, score, reached_at, version) VALUES
         ('ada', 30, now() - interval '3 minutes', 3), ('bob', 20, now() - interval '2 minutes', 2),
         ('cyd', 20, now() - interval '1 minute', 1)",
    );
    let notifier = spawn(settings(db.url(), &broker, &redis, "a")).await;
    let mut watcher = Watcher::connect(notifier.port).await;
    let truth = true_top_10(&db);
    assert!(
        watcher.until(WAIT, |s| board(s) == truth).await.is_some(),
        "built from PostgreSQL"
    );
    let cache = LeaderboardCache::new(&redis.url, CacheKeys::new(&redis.prefix), 2).expect("cache");

    cache.clear().await.expect("flush the board");
    let events = EventSource::new(&broker).await;
    db.execute("INSERT INTO user_scores (user_id, score, reached_at, version) VALUES ('dee', 25, now(), 1)");
    events.score("dee", 25, chrono::Utc::now().timestamp_millis(), 1).await;
    let after = watcher
        .until(WAIT, |s| shows(s, "dee", 25))
        .await
        .expect("the new event arrives");

    assert_eq!(board(&after), true_top_10(&db), "nothing that was flushed is missing");
    assert!(cache.is_ready().await.expect("redis answers"), "the board was rebuilt");
    let rebuilt: Vec<(String, i64)> = cache
        .top(10)
        .await
        .expect("redis")
        .expect("built")
        .into_iter()
        .map(|e| (e.user_id, e.score))
        .collect();
    assert_eq!(rebuilt, true_top_10(&db));
}

#[tokio::test]
async fn openapi_document_lists_exactly_the_routes() {
    let (db, broker, redis) = (TestDb::create(), TestBroker::new(), TestRedis::new());
    let notifier = spawn(settings(db.url(), &broker, &redis, "a")).await;

    let document = notifier.api.get("/openapi.json", None).await;

    let documented = scoreboard_test_support::documented_operations(&document.body);
    let served: BTreeSet<(String, String)> = scoreboard_notifier::routes::endpoints()
        .iter()
        .map(|e| (e.method.to_string(), e.path.to_owned()))
        .collect();
    assert_eq!(documented, served);
}
