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

/// The gateway keeps idle upstream connections for 60 s; the service must keep them longer, or a request
/// the gateway sends just as the service closes one fails (502, a 503 to the client). Checked past the
/// 5 s actix-web would otherwise use.
#[tokio::test]
async fn an_idle_keep_alive_connection_outlives_the_frameworks_default() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let app = spawn().await;
    let port = app.api.base.rsplit(':').next().expect("port").to_owned();
    let mut connection = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
        .await
        .expect("connect");
    let request = b"GET /healthz HTTP/1.1\r\nHost: scoreboard\r\n\r\n";
    let mut buffer = vec![0u8; 4096];

    connection.write_all(request).await.expect("first request");
    let first = connection.read(&mut buffer).await.expect("first answer");
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    connection.write_all(request).await.expect("second request");
    let second = connection.read(&mut buffer).await.unwrap_or(0);

    assert!(first > 0);
    assert!(
        String::from_utf8_lossy(&buffer[..second]).starts_with("HTTP/1.1 200"),
        "the idle connection was closed: {second} bytes after 6 s"
    );
}
