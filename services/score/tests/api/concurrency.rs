//! One key, one increment, however many redeem it at once, with a negative control showing the check
//! catches a double spend.

use std::sync::Barrier;

use chrono::Utc;
use diesel::pg::PgConnection;
use futures_util::future::join_all;
use scoreboard_test_support::TestDb;

use crate::helpers::{mint_key, spawn_with};

const AMOUNT: i64 = 10;

#[tokio::test]
async fn sixty_four_concurrent_redeems_over_http_give_one_increment() {
    let app = spawn_with(|s| s.database_pool_size = 24).await;
    let key = app.mint_key("alice", AMOUNT);

    let replies = join_all((0..64).map(|_| app.redeem("alice", &key))).await;

    assert_eq!(replies.iter().filter(|r| r.status == 200).count(), 1);
    assert!(replies
        .iter()
        .filter(|r| r.status != 200)
        .all(|r| r.code() == "key_already_redeemed"));
    assert_eq!(spent_once(&app.db, &key, 1), Ok(()));
}

/// Redeems one key from `threads` connections released together by a barrier; returns the successes.
fn hammer(db: &TestDb, threads: usize, redeem: impl Fn(&mut PgConnection) -> bool + Sync) -> usize {
    let barrier = Barrier::new(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut conn = db.connect();
                    barrier.wait();
                    redeem(&mut conn)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join())
            .filter(|r| matches!(r, Ok(true)))
            .count()
    })
}

/// The invariant: one success, one increment of exactly the amount, one audit row, one outbox row.
fn spent_once(db: &TestDb, key: &str, successes: usize) -> Result<(), String> {
    let score = db.count("SELECT COALESCE(sum(score), 0)::bigint AS n FROM user_scores");
    let audit = db.count(&format!(
        "SELECT count(*) AS n FROM score_audit WHERE score_key = '{key}'"
    ));
    let outbox = db.count("SELECT count(*) AS n FROM outbox");
    if (successes, score, audit, outbox) == (1, AMOUNT, 1, 1) {
        Ok(())
    } else {
        Err(format!(
            "double spend: {successes} successes, score {score}, {audit} audit rows, {outbox} outbox rows"
        ))
    }
}

const THREADS: usize = 40;

#[test]
fn concurrent_redeems_of_one_key_spend_it_once() {
    let db = TestDb::create();
    let key = mint_key(&db, "alice", AMOUNT);

    let successes = hammer(&db, THREADS, |conn| {
        matches!(
            scoreboard_db::keys::redeem(conn, &key, "alice", Utc::now(), None),
            Ok(Ok(_))
        )
    });

    assert_eq!(spent_once(&db, &key, successes), Ok(()));
}

/// Negative control: a check-then-act redeem without the guarded update (read the status, then write)
/// double-spends under the same load, and [`spent_once`] says so. If this test ever fails, the harness
/// has stopped producing real concurrency and the test above proves nothing.
#[test]
fn negative_control_the_harness_catches_a_check_then_act_double_spend() {
    let db = TestDb::create();
    let key = mint_key(&db, "alice", AMOUNT);

    let successes = hammer(&db, THREADS, |_conn| unguarded_redeem(&db, &key, "alice"));

    let verdict = spent_once(&db, &key, successes);
    assert!(
        verdict.is_err(),
        "the unguarded redeem should have double-spent ({successes} successes)"
    );
}

/// The bug the real redeem is built to avoid: the status check and the update are separate statements
/// with no lock between them (the pause stands for any scheduling gap).
fn unguarded_redeem(db: &TestDb, key: &str, user: &str) -> bool {
    let pending = db.count(&format!(
        "SELECT count(*) AS n FROM score_keys WHERE key = '{key}' AND user_id = '{user}' AND status = 'pending'"
    ));
    if pending == 0 {
        return false;
    }
    db.execute("SELECT pg_sleep(0.05)");
    db.execute(&format!(
        "UPDATE score_keys SET status = 'redeemed', redeemed_at = now() WHERE key = '{key}'"
    ));
    db.execute(&format!(
        "INSERT INTO user_scores (user_id, score, reached_at, version) VALUES ('{user}', {AMOUNT}, now(), 1)
         ON CONFLICT (user_id) DO UPDATE SET score = user_scores.score + {AMOUNT}, version = user_scores.version + 1"
    ));
    true
}
