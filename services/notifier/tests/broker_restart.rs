//! RabbitMQ itself stopped during a burst of redeems, then started again: every committed change is
//! published and the watchers end on the true top 10.
//!
//! This stops the machine's broker (`rabbitmqctl stop_app`), so it lives in a test binary of its own:
//! cargo runs test binaries one after another, and nothing else uses the broker meanwhile.

#![expect(clippy::expect_used, reason = "tests fail loudly when set-up breaks")]

#[path = "api/helpers.rs"]
#[expect(dead_code, reason = "this binary uses part of the shared helpers")]
mod helpers;

use std::process::Command;
use std::time::Duration;

use scoreboard_test_support::broker::{amqp_url, TestBroker};
use scoreboard_test_support::{TestDb, TestRedis};

use helpers::{board, score_points, settings, shows, spawn, spawn_score, true_top_10, Watcher, WAIT};

fn rabbitmqctl(args: &[&str]) {
    let status = Command::new("rabbitmqctl")
        .args(args)
        .status()
        .expect("rabbitmqctl runs");
    assert!(status.success(), "rabbitmqctl {args:?} failed");
}

/// Starts the broker again even if the test fails half-way.
struct RestartOnDrop;

impl Drop for RestartOnDrop {
    fn drop(&mut self) {
        let _ = Command::new("rabbitmqctl").arg("start_app").status();
        let _ = Command::new("rabbitmqctl").args(["await_startup"]).status();
    }
}

#[tokio::test]
async fn every_change_made_while_rabbitmq_is_stopped_reaches_the_watchers_after_it_starts() {
    let (db, broker, redis) = (TestDb::create(), TestBroker::new(), TestRedis::new());
    let notifier = spawn(settings(db.url(), &broker, &redis, "a")).await;
    let score = spawn_score(db.url(), &broker, &redis, &amqp_url()).await;
    let mut watcher = Watcher::connect(notifier.port).await;
    score_points(&score, &db, "warm-up", 1).await;
    watcher
        .until(WAIT, |s| shows(s, "warm-up", 1))
        .await
        .expect("the path works before the outage");

    let restart = RestartOnDrop;
    rabbitmqctl(&["stop_app"]);
    for i in 0..20 {
        score_points(&score, &db, &format!("player{}", i % 12), 3 + i).await;
    }
    let held_back = db.count("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL");
    rabbitmqctl(&["start_app"]);
    rabbitmqctl(&["await_startup"]);
    drop(restart);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while db.count("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL") > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the backlog drains after the broker is back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let truth = true_top_10(&db);
    let converged = watcher.until(Duration::from_secs(60), |s| board(s) == truth).await;

    assert_eq!(held_back, 20, "nothing could be published while the broker was stopped");
    assert_eq!(
        db.count("SELECT count(*) AS n FROM outbox"),
        21,
        "one event per committed change"
    );
    assert!(
        converged.is_some(),
        "watchers end on {truth:?}; last saw {:?}",
        watcher.last
    );
}
