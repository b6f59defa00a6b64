//! Completions reported by a trusted backend with the service credential.

use futures_util::future::join_all;
use scoreboard_test_support::tokens;
use serde_json::{json, Value};

use crate::helpers::{spawn, spawn_with, SERVICE_SECRET};

fn report(user: &str, external_id: &str) -> Value {
    json!({ "user_id": user, "kind": "match_won", "external_id": external_id })
}

#[tokio::test]
async fn a_report_mints_a_key_once_per_external_id() {
    let app = spawn().await;

    let first = app
        .api
        .post(
            "/api/actions/reported",
            Some(SERVICE_SECRET),
            &report("alice", "match-1"),
        )
        .await;
    let replay = app
        .api
        .post(
            "/api/actions/reported",
            Some(SERVICE_SECRET),
            &report("alice", "match-1"),
        )
        .await;
    let other_user = app
        .api
        .post("/api/actions/reported", Some(SERVICE_SECRET), &report("bob", "match-1"))
        .await;

    assert_eq!(first.status, 201, "{first:?}");
    assert_eq!(first.body["amount"], 25);
    assert_eq!(replay.status, 200);
    assert_eq!(replay.body["key"], first.body["key"], "a replay returns the first key");
    assert_eq!((other_user.status, other_user.code()), (409, "external_id_conflict"));
    assert_eq!(app.db.count("SELECT count(*) AS n FROM score_keys"), 1);
}

#[tokio::test]
async fn concurrent_identical_reports_mint_one_key() {
    let app = spawn().await;
    let body = report("alice", "match-7");

    let replies = join_all((0..32).map(|_| app.api.post("/api/actions/reported", Some(SERVICE_SECRET), &body))).await;

    assert_eq!(replies.iter().filter(|r| r.status == 201).count(), 1);
    assert!(
        replies.iter().all(|r| r.body["key"] == replies[0].body["key"]),
        "every caller gets the same key"
    );
    assert_eq!(app.db.count("SELECT count(*) AS n FROM score_keys"), 1);
}

#[tokio::test]
async fn user_tokens_cannot_report() {
    let app = spawn().await;

    let as_user = app
        .api
        .post(
            "/api/actions/reported",
            Some(&tokens::token("alice")),
            &report("alice", "m"),
        )
        .await;
    let no_credential = app.api.post("/api/actions/reported", None, &report("alice", "m")).await;
    let wrong = app
        .api
        .post(
            "/api/actions/reported",
            Some("x".repeat(40).as_str()),
            &report("alice", "m"),
        )
        .await;

    for reply in [as_user, no_credential, wrong] {
        assert_eq!((reply.status, reply.code()), (401, "unauthorized"), "{reply:?}");
    }
    assert_eq!(app.db.count("SELECT count(*) AS n FROM actions"), 0);
}

#[tokio::test]
async fn reports_are_refused_when_no_credential_is_configured() {
    let app = spawn_with(|s| s.service_credential = None).await;
    let reply = app
        .api
        .post("/api/actions/reported", Some(SERVICE_SECRET), &report("alice", "m"))
        .await;
    assert_eq!(reply.status, 401);
}

#[tokio::test]
async fn bad_reports_get_their_codes() {
    let app = spawn().await;
    let post = |body: Value| {
        let api = app.api.clone();
        async move { api.post("/api/actions/reported", Some(SERVICE_SECRET), &body).await }
    };

    let challenge_kind = post(json!({ "user_id": "alice", "kind": "demo", "external_id": "e" })).await;
    let unknown_kind = post(json!({ "user_id": "alice", "kind": "nope", "external_id": "e" })).await;
    let bad_user = post(json!({ "user_id": "", "kind": "match_won", "external_id": "e" })).await;
    let long_id = post(report("alice", &"e".repeat(129))).await;
    let missing = post(json!({ "user_id": "alice" })).await;

    assert_eq!((challenge_kind.status, challenge_kind.code()), (400, "invalid_request"));
    assert_eq!((unknown_kind.status, unknown_kind.code()), (400, "unknown_action_kind"));
    for reply in [bad_user, long_id, missing] {
        assert_eq!((reply.status, reply.code()), (400, "invalid_request"), "{reply:?}");
    }
    assert_eq!(app.db.count("SELECT count(*) AS n FROM actions"), 0);
}
