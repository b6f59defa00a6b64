//! Liveness and readiness.

use actix_web::{web, HttpResponse};
use scoreboard_db::PgPool;
use serde_json::json;

/// The process is up and serving.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Ready for traffic: PostgreSQL answers and its schema is migrated. 503 otherwise, naming the check.
pub async fn readyz(pool: web::Data<PgPool>) -> HttpResponse {
    let database = match scoreboard_db::run_blocking(&pool, scoreboard_db::check_ready).await {
        Ok(true) => "ok",
        Ok(false) => "migrations_pending",
        Err(err) => {
            tracing::warn!(error = %err, "readiness: database check failed");
            "unavailable"
        }
    };
    let body = json!({ "status": if database == "ok" { "ready" } else { "not_ready" }, "checks": { "database": database } });
    if database == "ok" {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
