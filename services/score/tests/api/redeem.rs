//! Redeeming a key: once, by its owner, for the server's amount, before it expires.

use chrono::Utc;
use scoreboard_domain::ScoreUpdated;
use scoreboard_test_support::tokens;
use serde_json::json;

use crate::helpers::spawn;

#[tokio::test]
async fn redeem_adds_the_keys_amount_and_writes_audit_and_outbox() {
    let app = spawn().await;
    let key = app.mint_key("alice", 10);

    let reply = app.redeem("alice", &key).await;

    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(
        (
            reply.body["score"].as_i64(),
            reply.body["rank"].as_i64(),
            reply.body["amount"].as_i64()
        ),
        (Some(10), Some(1), Some(10))
    );
    assert_eq!(app.score_of("alice"), 10);
    assert_eq!(
        app.db.count(&format!(
            "SELECT count(*) AS n FROM score_keys WHERE key = '{key}' AND status = 'redeemed'"
        )),
        1
    );
    assert_eq!(
        app.db.count(&format!(
            "SELECT count(*) AS n FROM score_audit WHERE score_key = '{key}' AND delta = 10 AND score_after = 10"
        )),
        1
    );

    let mut conn = app.db.connect();
    use diesel::prelude::*;
    use scoreboard_db::schema::outbox;
    let payloads: Vec<serde_json::Value> = outbox::table.select(outbox::payload).load(&mut conn).expect("outbox");
    assert_eq!(payloads.len(), 1);
    let event: ScoreUpdated = serde_json::from_value(payloads[0].clone()).expect("outbox row is a ScoreUpdated");
    assert_eq!(
        (event.user_id.as_str(), event.score, event.delta, event.version),
        ("alice", 10, 10, 1)
    );
}

#[tokio::test]
async fn a_replay_by_the_owner_is_already_redeemed_and_changes_nothing() {
    let app = spawn().await;
    let key = app.mint_key("alice", 10);
    assert_eq!(app.redeem("alice", &key).await.status, 200);

    let replay = app.redeem("alice", &key).await;

    assert_eq!((replay.status, replay.code()), (409, "key_already_redeemed"));
    assert_eq!(app.score_of("alice"), 10);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM outbox"), 1);
}

#[tokio::test]
async fn another_users_key_looks_exactly_like_an_unknown_key() {
    let app = spawn().await;
    let key = app.mint_key("alice", 10);

    let stolen = app.redeem("bob", &key).await;
    let unknown = app
        .redeem("bob", scoreboard_domain::ScoreKey::generate().as_str())
        .await;

    assert_eq!((stolen.status, stolen.code()), (404, "key_not_found"));
    assert_eq!(stolen.body, unknown.body);
    assert_eq!(app.score_of("bob"), 0);
    assert_eq!(
        app.db.count(&format!(
            "SELECT count(*) AS n FROM score_keys WHERE key = '{key}' AND status = 'pending'"
        )),
        1
    );
    assert_eq!(app.redeem("alice", &key).await.status, 200, "the owner still can");
}

#[tokio::test]
async fn an_expired_key_has_its_own_code_before_and_after_the_sweep() {
    let app = spawn().await;
    let key = app.mint_key("alice", 10);
    app.db.execute(&format!(
        "UPDATE score_keys SET expires_at = now() - interval '1 second' WHERE key = '{key}'"
    ));

    let before_sweep = app.redeem("alice", &key).await;
    let swept = scoreboard_db::keys::expire_overdue(&mut app.db.connect(), Utc::now(), 100).expect("sweep");
    let after_sweep = app.redeem("alice", &key).await;

    assert_eq!((before_sweep.status, before_sweep.code()), (410, "key_expired"));
    assert_eq!(swept, 1);
    assert_eq!(after_sweep.code(), "key_expired");
    assert_eq!(app.score_of("alice"), 0);
}

#[tokio::test]
async fn the_client_cannot_choose_the_amount_or_the_user() {
    let app = spawn().await;
    let key = app.mint_key("alice", 10);

    let reply = app
        .api
        .post(
            "/api/scores/redeem",
            Some(&tokens::token("alice")),
            &json!({ "key": key, "amount": 1_000_000, "user_id": "mallory" }),
        )
        .await;

    assert_eq!(reply.status, 200);
    assert_eq!(app.score_of("alice"), 10);
    assert_eq!(app.score_of("mallory"), 0);
}

#[tokio::test]
async fn malformed_oversized_and_unauthenticated_redeems_get_their_codes() {
    let app = spawn().await;
    let alice = tokens::token("alice");

    let malformed = app
        .api
        .post("/api/scores/redeem", Some(&alice), &json!({ "key": "not-a-key" }))
        .await;
    let missing = app.api.post("/api/scores/redeem", Some(&alice), &json!({})).await;
    let oversized = app
        .api
        .post("/api/scores/redeem", Some(&alice), &json!({ "key": "k".repeat(2000) }))
        .await;
    let anonymous = app
        .api
        .post("/api/scores/redeem", None, &json!({ "key": app.mint_key("alice", 10) }))
        .await;

    assert_eq!((malformed.status, malformed.code()), (400, "invalid_request"));
    assert_eq!((missing.status, missing.code()), (400, "invalid_request"));
    assert_eq!((oversized.status, oversized.code()), (413, "payload_too_large"));
    assert_eq!((anonymous.status, anonymous.code()), (401, "unauthorized"));
    assert_eq!(app.db.count("SELECT count(*) AS n FROM user_scores"), 0);
}

#[tokio::test]
async fn unredeemed_keys_are_listed_for_their_owner_only() {
    let app = spawn().await;
    let first = app.mint_key("alice", 10);
    let second = app.mint_key("alice", 10);
    let expired = app.mint_key("alice", 10);
    app.mint_key("bob", 10);
    app.db.execute(&format!(
        "UPDATE score_keys SET expires_at = now() - interval '1 second' WHERE key = '{expired}'"
    ));
    assert_eq!(app.redeem("alice", &first).await.status, 200);

    let listed = app.api.get("/api/scores/keys", Some(&tokens::token("alice"))).await;

    assert_eq!(listed.status, 200);
    let keys: Vec<&str> = listed.body["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k["key"].as_str())
        .collect();
    assert_eq!(keys, vec![second.as_str()]);
    assert_eq!(listed.body["keys"][0]["amount"], 10);
}
