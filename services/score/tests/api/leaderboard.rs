//! Reading the board: order, ties, limits, and the caller's own standing.

use std::time::Duration;

use scoreboard_test_support::{tokens, TestDb};

use crate::helpers::{spawn, spawn_on, spawn_with};

fn board(reply: &scoreboard_test_support::Reply) -> Vec<(String, i64, i64)> {
    reply.body["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["user_id"].as_str().unwrap_or_default().to_owned(),
                e["score"].as_i64().unwrap_or(-1),
                e["rank"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

#[tokio::test]
async fn equal_scores_rank_by_who_reached_the_score_first() {
    let app = spawn().await;
    // bob scores first, then carol passes him, then bob catches up to carol's score: carol got there first.
    for (user, amount) in [("bob", 10), ("carol", 20), ("bob", 10), ("dave", 5)] {
        let key = app.mint_key(user, amount);
        assert_eq!(app.redeem(user, &key).await.status, 200);
    }

    let top = app.api.get("/api/leaderboard", None).await;
    let bob = app.api.get("/api/scores/me", Some(&tokens::token("bob"))).await;
    let carol = app.api.get("/api/scores/me", Some(&tokens::token("carol"))).await;

    assert_eq!(top.status, 200);
    assert_eq!(
        board(&top),
        vec![
            ("carol".to_owned(), 20, 1),
            ("bob".to_owned(), 20, 2),
            ("dave".to_owned(), 5, 3)
        ]
    );
    assert_eq!(
        (carol.body["score"].as_i64(), carol.body["rank"].as_i64()),
        (Some(20), Some(1))
    );
    assert_eq!(
        (bob.body["score"].as_i64(), bob.body["rank"].as_i64()),
        (Some(20), Some(2))
    );
}

#[tokio::test]
async fn the_redeem_answer_ranks_ties_the_same_way() {
    let app = spawn().await;
    let first = app.mint_key("erin", 15);
    let second = app.mint_key("frank", 15);

    let erin = app.redeem("erin", &first).await;
    let frank = app.redeem("frank", &second).await;

    assert_eq!(erin.body["rank"], 1);
    assert_eq!(frank.body["rank"], 2, "frank reached 15 second");
}

#[tokio::test]
async fn top_n_is_limited_and_validated() {
    let app = spawn().await;
    for i in 0..12 {
        let user = format!("player{i:02}");
        let key = app.mint_key(&user, 100 - i);
        assert_eq!(app.redeem(&user, &key).await.status, 200);
    }

    let default = app.api.get("/api/leaderboard", None).await;
    let three = app.api.get("/api/leaderboard?limit=3", None).await;
    let hundred = app.api.get("/api/leaderboard?limit=100", None).await;

    assert_eq!(board(&default).len(), 10);
    assert_eq!(board(&three).iter().map(|e| e.1).collect::<Vec<_>>(), vec![100, 99, 98]);
    assert_eq!(board(&hundred).len(), 12);
    for bad in ["0", "101", "-1", "ten"] {
        let reply = app.api.get(&format!("/api/leaderboard?limit={bad}"), None).await;
        assert_eq!((reply.status, reply.code()), (400, "invalid_request"), "limit={bad}");
    }
}

#[tokio::test]
async fn a_user_who_never_scored_has_no_rank() {
    let app = spawn().await;

    let me = app.api.get("/api/scores/me", Some(&tokens::token("newcomer"))).await;

    assert_eq!(me.status, 200);
    assert_eq!((me.body["score"].as_i64(), me.body["rank"].is_null()), (Some(0), true));
}

#[tokio::test]
async fn a_replica_reuses_its_top_n_answer_until_it_redeems_itself() {
    let cached = spawn_with(|s| s.leaderboard_cache = Duration::from_secs(3600)).await;
    let uncached = spawn_on(TestDb::attach(cached.db.url()), |s| {
        s.redis_board_prefix = cached.board_prefix().to_owned();
        s.leaderboard_cache = Duration::ZERO;
    })
    .await;
    let alice = cached.mint_key("alice", 10);
    assert_eq!(cached.redeem("alice", &alice).await.status, 200);
    let before = cached.api.get("/api/leaderboard", None).await;

    // A redeem through the other replica: the caching replica keeps its answer (its time to live is an
    // hour here), the other one, caching nothing, shows it at once.
    let bob = cached.mint_key("bob", 20);
    assert_eq!(uncached.redeem("bob", &bob).await.status, 200);
    let reused = cached.api.get("/api/leaderboard", None).await;
    let fresh = uncached.api.get("/api/leaderboard", None).await;

    // A redeem through the caching replica clears what it kept.
    let carol = cached.mint_key("carol", 5);
    assert_eq!(cached.redeem("carol", &carol).await.status, 200);
    let after = cached.api.get("/api/leaderboard", None).await;
    let limited = cached.api.get("/api/leaderboard?limit=1", None).await;

    assert_eq!(board(&before), vec![("alice".to_owned(), 10, 1)]);
    assert_eq!(board(&reused), board(&before));
    assert_eq!(
        reused.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    assert_eq!(
        board(&fresh),
        vec![("bob".to_owned(), 20, 1), ("alice".to_owned(), 10, 2)]
    );
    assert_eq!(
        board(&after),
        vec![
            ("bob".to_owned(), 20, 1),
            ("alice".to_owned(), 10, 2),
            ("carol".to_owned(), 5, 3)
        ]
    );
    assert_eq!(
        board(&limited),
        vec![("bob".to_owned(), 20, 1)],
        "each limit has its own answer"
    );
}

#[tokio::test]
async fn the_redeem_answer_ranks_the_same_from_redis_and_from_postgresql() {
    let with_redis = spawn().await;
    // Reading the board builds it in Redis, so the redeems below take their rank from Redis.
    assert_eq!(with_redis.api.get("/api/leaderboard", None).await.status, 200);
    let without_redis = spawn_with(|s| s.redis_url = "redis://127.0.0.1:1".into()).await;

    let mut answers = Vec::new();
    for app in [&with_redis, &without_redis] {
        let mut ranks = Vec::new();
        for (user, amount) in [("erin", 15), ("frank", 15), ("gus", 20), ("frank", 10)] {
            let key = app.mint_key(user, amount);
            let reply = app.redeem(user, &key).await;
            assert_eq!(reply.status, 200);
            ranks.push((user, reply.body["rank"].as_i64()));
        }
        answers.push(ranks);
    }

    let expected = vec![
        ("erin", Some(1)),
        ("frank", Some(2)),
        ("gus", Some(1)),
        ("frank", Some(1)),
    ];
    assert_eq!(answers, vec![expected.clone(), expected]);
}
