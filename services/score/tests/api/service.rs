//! Health, readiness and the OpenAPI document of the score service.

use std::collections::BTreeSet;

use crate::helpers::spawn;

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn().await;
    assert_eq!(app.api.get("/healthz", None).await.status, 200);
    let ready = app.api.get("/readyz", None).await;
    assert_eq!(
        (ready.status, ready.body["checks"]["database"].as_str()),
        (200, Some("ok"))
    );
}

#[tokio::test]
async fn readiness_reports_pending_migrations() {
    let app = spawn().await;
    app.db.execute("DELETE FROM __diesel_schema_migrations");

    let ready = app.api.get("/readyz", None).await;

    assert_eq!(
        (ready.status, ready.body["checks"]["database"].as_str()),
        (503, Some("migrations_pending"))
    );
}

#[tokio::test]
async fn openapi_document_lists_exactly_the_routes() {
    let app = spawn().await;

    let document = app.api.get("/openapi.json", None).await;

    let documented = scoreboard_test_support::documented_operations(&document.body);
    let served: BTreeSet<(String, String)> = scoreboard_score::routes::endpoints()
        .iter()
        .map(|e| (e.method.to_string(), e.path.to_owned()))
        .collect();
    assert_eq!(documented, served);
}
