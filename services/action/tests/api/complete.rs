//! Starting and completing action X: one verified completion, one key.

use futures_util::future::join_all;
use scoreboard_test_support::tokens;
use serde_json::json;

use crate::helpers::{spawn, spawn_with, started_action};

#[tokio::test]
async fn start_gives_a_challenge_but_never_its_answer() {
    let app = spawn().await;
    let reply = app.start(&tokens::token("alice")).await;
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(reply.body["kind"], "demo");
    let id = reply.body["action_id"].as_str().expect("id");
    let answer = app.db.count(&format!(
        "SELECT challenge_answer::bigint AS n FROM actions WHERE id = '{id}'"
    ));
    assert!(!reply.body.to_string().contains(&format!("\"{answer}\"")));
    assert!(!reply.body.to_string().contains("answer"));
}

#[tokio::test]
async fn a_correct_answer_mints_one_key_with_the_servers_amount() {
    let app = spawn().await;
    let alice = tokens::token("alice");
    let (id, answer) = started_action(&app, &alice).await;

    // The client tries to choose the amount and the owner; both are ignored.
    let reply = app
        .api
        .post(
            &format!("/api/actions/{id}/complete"),
            Some(&alice),
            &json!({ "answer": answer, "amount": 1_000_000, "user_id": "mallory" }),
        )
        .await;

    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(reply.body["amount"], 10);
    assert_eq!(reply.body["action_id"], id.as_str());
    assert_eq!(reply.body["key"].as_str().map(str::len), Some(43));
    let key = reply.body["key"].as_str().expect("key");
    assert_eq!(app.db.count(&format!("SELECT count(*) AS n FROM score_keys WHERE key = '{key}' AND user_id = 'alice' AND amount = 10 AND status = 'pending'")), 1);
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM score_keys WHERE user_id = 'mallory'"),
        0
    );
}

#[tokio::test]
async fn sixty_four_concurrent_completes_give_one_key() {
    let app = spawn().await;
    let alice = tokens::token("alice");
    let (id, answer) = started_action(&app, &alice).await;

    let replies = join_all((0..64).map(|_| app.complete(&alice, &id, &answer))).await;

    let created: Vec<_> = replies.iter().filter(|r| r.status == 201).collect();
    assert_eq!(created.len(), 1, "exactly one completion succeeds");
    assert!(replies
        .iter()
        .filter(|r| r.status != 201)
        .all(|r| r.code() == "action_already_completed"));
    assert_eq!(
        app.db.count(&format!(
            "SELECT count(*) AS n FROM score_keys WHERE action_id = '{id}'"
        )),
        1
    );
}

#[tokio::test]
async fn another_user_cannot_complete_my_action() {
    let app = spawn().await;
    let (alice, bob) = (tokens::token("alice"), tokens::token("bob"));
    let (id, answer) = started_action(&app, &alice).await;

    let stolen = app.complete(&bob, &id, &answer).await;
    let unknown = app.complete(&bob, &uuid::Uuid::new_v4().to_string(), &answer).await;

    assert_eq!((stolen.status, stolen.code()), (404, "action_not_found"));
    assert_eq!(
        stolen.body, unknown.body,
        "someone else's action looks exactly like an unknown one"
    );
    assert_eq!(app.db.count("SELECT count(*) AS n FROM score_keys"), 0);
    assert_eq!(
        app.complete(&alice, &id, &answer).await.status,
        201,
        "the owner still can"
    );
}

#[tokio::test]
async fn wrong_answers_count_down_then_fail_the_action() {
    let app = spawn().await;
    let alice = tokens::token("alice");
    let (id, answer) = started_action(&app, &alice).await;

    let first = app.complete(&alice, &id, "-1").await;
    let second = app.complete(&alice, &id, "-1").await;
    let third = app.complete(&alice, &id, "-1").await;
    let then_right = app.complete(&alice, &id, &answer).await;

    assert_eq!((first.status, first.code()), (422, "invalid_proof"));
    assert_eq!(first.body["error"]["details"]["attempts_left"], 2);
    assert!(first.body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("2 attempt"));
    assert_eq!(second.code(), "invalid_proof");
    assert_eq!(third.code(), "invalid_proof");
    assert_eq!(third.body["error"]["details"]["attempts_left"], 0);
    assert_eq!((then_right.status, then_right.code()), (409, "action_failed"));
    assert_eq!(app.db.count("SELECT count(*) AS n FROM score_keys"), 0);
}

#[tokio::test]
async fn completing_too_fast_is_refused_and_changes_nothing() {
    let app = spawn_with(|s| {
        s.kinds = scoreboard_domain::KindCatalog::new(vec![scoreboard_domain::ActionKind {
            min_duration: std::time::Duration::from_secs(3600),
            time_limit: std::time::Duration::from_secs(7200),
            ..scoreboard_domain::ActionKind::demo()
        }])
        .expect("kinds");
    })
    .await;
    let alice = tokens::token("alice");
    let (id, answer) = started_action(&app, &alice).await;

    let reply = app.complete(&alice, &id, &answer).await;

    assert_eq!((reply.status, reply.code()), (422, "action_too_fast"));
    let retry_after: u64 = reply.headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((3500..=3600).contains(&retry_after), "{retry_after}");
    assert!(reply.body["error"]["details"]["retry_after_ms"]
        .as_i64()
        .is_some_and(|ms| ms > 3_500_000));
    assert_eq!(
        app.db.count(&format!(
            "SELECT count(*) AS n FROM actions WHERE id = '{id}' AND status = 'started' AND failed_attempts = 0"
        )),
        1
    );
}

#[tokio::test]
async fn a_completion_after_the_deadline_is_refused() {
    let app = spawn().await;
    let alice = tokens::token("alice");
    let (id, answer) = started_action(&app, &alice).await;
    app.db.execute(&format!("UPDATE actions SET started_at = now() - interval '1 hour', deadline_at = now() - interval '1 minute' WHERE id = '{id}'"),
    );

    let reply = app.complete(&alice, &id, &answer).await;
    let again = app.complete(&alice, &id, &answer).await;

    assert_eq!((reply.status, reply.code()), (410, "action_expired"));
    assert_eq!(again.code(), "action_failed");
    assert_eq!(app.db.count("SELECT count(*) AS n FROM score_keys"), 0);
}

#[tokio::test]
async fn kinds_are_checked_at_start() {
    let app = spawn().await;
    let alice = tokens::token("alice");

    let unknown = app
        .api
        .post("/api/actions", Some(&alice), &json!({ "kind": "teleport" }))
        .await;
    let reported_only = app
        .api
        .post("/api/actions", Some(&alice), &json!({ "kind": "match_won" }))
        .await;

    assert_eq!((unknown.status, unknown.code()), (400, "unknown_action_kind"));
    assert_eq!((reported_only.status, reported_only.code()), (400, "invalid_request"));
    assert_eq!(app.db.count("SELECT count(*) AS n FROM actions"), 0);
}

#[tokio::test]
async fn starting_too_often_is_rate_limited_with_retry_after() {
    let app = spawn_with(|s| s.starts_per_minute = std::num::NonZeroU32::new(2).expect("non-zero")).await;
    let alice = tokens::token("alice");

    let statuses = [app.start(&alice).await.status, app.start(&alice).await.status];
    let limited = app.start(&alice).await;
    let bob = app.start(&tokens::token("bob")).await;

    assert_eq!(statuses, [201, 201]);
    assert_eq!((limited.status, limited.code()), (429, "rate_limited"));
    let retry_after: u64 = limited.headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(bob.status, 201, "limits are per user");
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM actions WHERE user_id = 'alice'"),
        2
    );
}
