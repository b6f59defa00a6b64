//! The score service's endpoints, one table of them.

mod keys;
mod leaderboard;

use actix_web::http::Method;
use actix_web::HttpResponse;
use scoreboard_http::Endpoint;

/// The OpenAPI document; `tests/api` checks it lists exactly [`endpoints`].
pub const OPENAPI: &str = include_str!("../openapi.json");

async fn openapi() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(OPENAPI)
}

/// Every endpoint the service serves.
pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint::new(Method::POST, "/api/scores/redeem", keys::redeem),
        Endpoint::new(Method::GET, "/api/scores/keys", keys::list_redeemable),
        Endpoint::new(Method::GET, "/api/scores/me", leaderboard::me),
        Endpoint::new(Method::GET, "/api/leaderboard", leaderboard::top),
        Endpoint::new(Method::GET, "/healthz", scoreboard_http::healthz),
        Endpoint::new(Method::GET, "/readyz", scoreboard_http::readyz),
        Endpoint::new(Method::GET, "/openapi.json", openapi),
    ]
}
