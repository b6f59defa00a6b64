//! Reading the board: order, ties, limits, and the caller's own standing.

use scoreboard_test_support::tokens;

use crate::helpers::spawn;

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
