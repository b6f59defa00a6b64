//! Every bad token is a 401 JSON error, whatever is wrong with it.

use scoreboard_test_support::tokens;
use serde_json::json;

use crate::helpers::{spawn, spawn_with};

fn claims_with(field: &str, value: serde_json::Value) -> serde_json::Value {
    let mut claims = tokens::claims("alice");
    claims[field] = value;
    claims
}

#[tokio::test]
async fn bad_tokens_are_refused_with_401() {
    let app = spawn().await;
    let past = chrono::Utc::now().timestamp() - 3600;
    let cases = [
        ("alg none", tokens::alg_none(&tokens::claims("alice"))),
        (
            "wrong signature",
            tokens::hs256(&tokens::claims("alice"), b"another-secret-that-is-long-enough-too"),
        ),
        (
            "wrong audience",
            tokens::hs256(&claims_with("aud", json!("other-api")), tokens::SECRET.as_bytes()),
        ),
        (
            "wrong issuer",
            tokens::hs256(&claims_with("iss", json!("evil")), tokens::SECRET.as_bytes()),
        ),
        (
            "expired",
            tokens::hs256(&claims_with("exp", json!(past)), tokens::SECRET.as_bytes()),
        ),
        ("RS256 when HS256 is pinned", tokens::rs256(&tokens::claims("alice"))),
        ("garbage", "not.a.jwt".to_owned()),
        (
            "invalid subject",
            tokens::hs256(&claims_with("sub", json!("a b")), tokens::SECRET.as_bytes()),
        ),
    ];
    for (case, token) in cases {
        let reply = app.start(&token).await;
        assert_eq!((reply.status, reply.code()), (401, "unauthorized"), "{case}: {reply:?}");
    }
    let missing = app.api.post("/api/actions", None, &json!({ "kind": "demo" })).await;
    assert_eq!((missing.status, missing.code()), (401, "unauthorized"));
    assert_eq!(app.db.count("SELECT count(*) AS n FROM actions"), 0);
}

#[tokio::test]
async fn missing_required_claims_are_refused() {
    let app = spawn().await;
    for claim in ["exp", "iss", "aud", "sub"] {
        let mut claims = tokens::claims("alice");
        claims.as_object_mut().expect("object").remove(claim);
        let reply = app.start(&tokens::hs256(&claims, tokens::SECRET.as_bytes())).await;
        assert_eq!(reply.status, 401, "without {claim}: {reply:?}");
    }
}

#[tokio::test]
async fn rs256_deployment_refuses_an_hs256_token_signed_with_its_public_key() {
    let app = spawn_with(|s| {
        s.jwt = tokens::rs256_settings();
        s.dev_tokens_enabled = false;
    })
    .await;

    let swapped = tokens::hs256(&tokens::claims("alice"), tokens::RSA_PUBLIC_PEM.as_bytes());
    let genuine = tokens::rs256(&tokens::claims("alice"));

    assert_eq!(app.start(&swapped).await.status, 401);
    assert_eq!(app.start(&genuine).await.status, 201);
}

#[tokio::test]
async fn es256_deployment_accepts_its_own_tokens_only() {
    let app = spawn_with(|s| {
        s.jwt = tokens::es256_settings();
        s.dev_tokens_enabled = false;
    })
    .await;

    assert_eq!(app.start(&tokens::es256(&tokens::claims("alice"))).await.status, 201);
    assert_eq!(app.start(&tokens::token("alice")).await.status, 401);
    assert_eq!(app.start(&tokens::rs256(&tokens::claims("alice"))).await.status, 401);
}

#[tokio::test]
async fn dev_tokens_sign_in_only_when_enabled() {
    let enabled = spawn().await;
    let reply = enabled
        .api
        .post("/api/dev/token", None, &json!({ "user_id": "carol" }))
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let token = reply.body["token"].as_str().expect("token");
    assert_eq!(enabled.start(token).await.status, 201);
    let bad_user = enabled
        .api
        .post("/api/dev/token", None, &json!({ "user_id": "no spaces" }))
        .await;
    assert_eq!((bad_user.status, bad_user.code()), (400, "invalid_request"));

    let disabled = spawn_with(|s| s.dev_tokens_enabled = false).await;
    let refused = disabled
        .api
        .post("/api/dev/token", None, &json!({ "user_id": "carol" }))
        .await;
    assert_eq!((refused.status, refused.code()), (404, "not_found"));
}
