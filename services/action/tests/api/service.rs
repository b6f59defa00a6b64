//! What every HTTP service owes its callers: JSON errors for bad input, health, request ids, an OpenAPI
//! document that matches the routes.

use std::collections::BTreeSet;

use scoreboard_test_support::tokens;
use serde_json::json;

use crate::helpers::spawn;

#[tokio::test]
async fn malformed_and_oversized_input_get_their_codes() {
    let app = spawn().await;
    let alice = tokens::token("alice");
    let raw = |path: &str, content_type: &str, body: String| {
        app.api
            .client
            .post(format!("{}{path}", app.api.base))
            .bearer_auth(&alice)
            .header("content-type", content_type.to_owned())
            .body(body)
            .send()
    };

    let malformed = raw("/api/actions", "application/json", "{\"kind\":".into())
        .await
        .expect("reply");
    let not_json = raw("/api/actions", "text/plain", "kind=demo".into())
        .await
        .expect("reply");
    let oversized = raw(
        "/api/actions",
        "application/json",
        json!({ "kind": "x".repeat(4096) }).to_string(),
    )
    .await
    .expect("reply");
    let bad_id = app.complete(&alice, "not-a-uuid", "1").await;
    let long_answer = app
        .complete(&alice, &uuid::Uuid::new_v4().to_string(), &"9".repeat(65))
        .await;
    let no_route = app.api.get("/api/nothing-here", None).await;

    for (response, status, code) in [
        (malformed, 400, "invalid_request"),
        (not_json, 400, "invalid_request"),
        (oversized, 413, "payload_too_large"),
    ] {
        assert_eq!(response.status().as_u16(), status);
        let body: serde_json::Value = response.json().await.expect("JSON error body");
        assert_eq!(body["error"]["code"], code, "{body}");
        assert!(body["error"]["message"].is_string());
    }
    assert_eq!((bad_id.status, bad_id.code()), (400, "invalid_request"));
    assert_eq!((long_answer.status, long_answer.code()), (400, "invalid_request"));
    assert_eq!((no_route.status, no_route.code()), (404, "not_found"));
    assert_eq!(app.db.count("SELECT count(*) AS n FROM actions"), 0);
}

#[tokio::test]
async fn health_readiness_and_request_ids() {
    let app = spawn().await;

    let health = app.api.get("/healthz", None).await;
    let ready = app.api.get("/readyz", None).await;

    assert_eq!(health.status, 200);
    assert_eq!(ready.status, 200);
    assert_eq!(ready.body["checks"]["database"], "ok");
    assert!(health.headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_unreachable() {
    // The pool connects lazily, so the service starts without its database and says so in /readyz.
    let db = scoreboard_test_support::TestDb::create();
    let mut settings = crate::helpers::settings(&db);
    settings.database_url = secrecy::SecretString::from(format!("{}_missing", db.url()));
    let server = scoreboard_action::build(settings).expect("builds without a database");
    let api = scoreboard_test_support::Api::new(server.port());
    tokio::spawn(server.run_until_stopped());

    let ready = api.get("/readyz", None).await;
    let health = api.get("/healthz", None).await;

    assert_eq!(ready.status, 503);
    assert_eq!(ready.body["checks"]["database"], "unavailable");
    assert_eq!(health.status, 200, "liveness does not depend on the database");
}

#[tokio::test]
async fn openapi_document_lists_exactly_the_routes() {
    let app = spawn().await;

    let document = app.api.get("/openapi.json", None).await;

    let documented = scoreboard_test_support::documented_operations(&document.body);
    let served: BTreeSet<(String, String)> = scoreboard_action::routes::endpoints(true)
        .iter()
        .map(|e| (e.method.to_string(), e.path.to_owned()))
        .collect();
    assert_eq!(documented, served);
}
