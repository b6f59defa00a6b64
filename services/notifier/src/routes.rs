//! The notifier's endpoints, one table of them.

use actix_web::http::Method;
use actix_web::HttpResponse;
use scoreboard_http::Endpoint;

use crate::ws;

/// The OpenAPI document; `tests/api` checks it lists exactly [`endpoints`].
pub const OPENAPI: &str = include_str!("../openapi.json");

async fn openapi() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(OPENAPI)
}

/// Every endpoint the service serves.
pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint::new(Method::GET, "/ws", ws::connect),
        Endpoint::new(Method::GET, "/stats", ws::stats),
        Endpoint::new(Method::GET, "/healthz", scoreboard_http::healthz),
        Endpoint::new(Method::GET, "/readyz", scoreboard_http::readyz),
        Endpoint::new(Method::GET, "/openapi.json", openapi),
    ]
}
