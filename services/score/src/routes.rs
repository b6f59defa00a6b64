//! The score service's endpoints, one table of them.

mod keys;
mod leaderboard;

use actix_web::http::Method;
use scoreboard_http::Endpoint;

/// The OpenAPI document; `tests/api` checks it lists exactly [`endpoints`].
pub const OPENAPI: &str = include_str!("../openapi.json");

/// Every endpoint the service serves.
pub fn endpoints() -> Vec<Endpoint> {
    let mut endpoints = vec![
        Endpoint::new(Method::POST, "/api/scores/redeem", keys::redeem),
        Endpoint::new(Method::GET, "/api/scores/keys", keys::list_redeemable),
        Endpoint::new(Method::GET, "/api/scores/me", leaderboard::me),
        Endpoint::new(Method::GET, "/api/leaderboard", leaderboard::top),
    ];
    endpoints.extend(Endpoint::operational(OPENAPI));
    endpoints
}
