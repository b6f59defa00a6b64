//! Liveness and readiness.

use actix_web::{web, HttpRequest, HttpResponse};
use scoreboard_db::PgPool;
use scoreboard_messaging::BrokerStatus;
use serde_json::json;

/// The process is up and serving.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Ready for traffic: PostgreSQL answers and its schema is migrated; 503 otherwise, naming the check.
///
/// A service that talks to RabbitMQ (it has `web::Data<BrokerStatus>`) also reports `broker`, without
/// failing readiness on it: redeems stay safe while the broker is away (the outbox keeps every event) and
/// the notifier still serves snapshots from Redis or PostgreSQL.
pub async fn readyz(req: HttpRequest, pool: web::Data<PgPool>) -> HttpResponse {
    let database = match scoreboard_db::run_blocking(&pool, scoreboard_db::check_ready).await {
        Ok(true) => "ok",
        Ok(false) => "migrations_pending",
        Err(err) => {
            tracing::warn!(error = %err, "readiness: database check failed");
            "unavailable"
        }
    };
    let mut checks = json!({ "database": database });
    if let Some(broker) = req.app_data::<web::Data<BrokerStatus>>() {
        checks["broker"] = json!(if broker.is_connected() {
            "connected"
        } else {
            "disconnected"
        });
    }
    let ready = database == "ok";
    let body = json!({ "status": if ready { "ready" } else { "not_ready" }, "checks": checks });
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
