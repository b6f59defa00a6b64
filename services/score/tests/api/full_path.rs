//! The whole path as a client walks it: start action X, complete it, redeem the key, read the board.

use std::num::NonZeroU32;
use std::time::Duration;

use scoreboard_domain::{ActionKind, KindCatalog};
use scoreboard_test_support::{tokens, Api};
use secrecy::SecretString;
use serde_json::json;

use crate::helpers::spawn;

#[tokio::test]
async fn start_complete_redeem_then_read_top_n_and_my_rank() {
    let score = spawn().await;
    let action_app = scoreboard_action::build(scoreboard_action::Settings {
        bind_addr: "127.0.0.1:0".into(),
        database_url: SecretString::from(score.db.url().to_owned()),
        database_pool_size: 4,
        http_workers: 1,
        body_limit_bytes: 1024,
        jwt: tokens::hs256_settings(),
        kinds: KindCatalog::new(vec![ActionKind {
            min_duration: Duration::ZERO,
            ..ActionKind::demo()
        }])
        .expect("kinds"),
        starts_per_minute: NonZeroU32::new(100).expect("non-zero"),
        completes_per_minute: NonZeroU32::new(100).expect("non-zero"),
        service_credential: None,
        dev_tokens_enabled: false,
        dev_token_ttl: Duration::from_secs(60),
    })
    .expect("build action service");
    let actions = Api::new(action_app.port());
    tokio::spawn(action_app.run_until_stopped());
    actions.wait_ready().await;
    let alice = tokens::token("alice");

    let started = actions
        .post("/api/actions", Some(&alice), &json!({ "kind": "demo" }))
        .await;
    assert_eq!(started.status, 201, "{started:?}");
    let prompt = started.body["challenge"]["prompt"].as_str().expect("prompt");
    let answer: u64 = prompt
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|s| s.parse::<u64>().ok())
        .sum();
    let action_id = started.body["action_id"].as_str().expect("id");
    let completed = actions
        .post(
            &format!("/api/actions/{action_id}/complete"),
            Some(&alice),
            &json!({ "answer": answer.to_string() }),
        )
        .await;
    assert_eq!(completed.status, 201, "{completed:?}");
    let key = completed.body["key"].as_str().expect("key");

    let pending = score.api.get("/api/scores/keys", Some(&alice)).await;
    let redeemed = score
        .api
        .post("/api/scores/redeem", Some(&alice), &json!({ "key": key }))
        .await;
    let top = score.api.get("/api/leaderboard?limit=10", None).await;
    let me = score.api.get("/api/scores/me", Some(&alice)).await;

    assert_eq!(pending.body["keys"][0]["key"], key);
    assert_eq!(
        (
            redeemed.status,
            redeemed.body["score"].as_i64(),
            redeemed.body["rank"].as_i64()
        ),
        (200, Some(10), Some(1))
    );
    assert_eq!(top.body["entries"][0]["user_id"], "alice");
    assert_eq!(top.body["entries"][0]["score"], 10);
    assert_eq!(
        (me.body["score"].as_i64(), me.body["rank"].as_i64()),
        (Some(10), Some(1))
    );
}
