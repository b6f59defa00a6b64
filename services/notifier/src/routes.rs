//! The notifier's endpoints, one table of them.

use actix_web::http::Method;
use scoreboard_http::Endpoint;

use crate::ws;

/// The OpenAPI document; `tests/api` checks it lists exactly [`endpoints`].
pub const OPENAPI: &str = include_str!("../openapi.json");

/// Every endpoint the service serves.
pub fn endpoints() -> Vec<Endpoint> {
    let mut endpoints = vec![
        Endpoint::new(Method::GET, "/ws", ws::connect),
        Endpoint::new(Method::GET, "/stats", ws::stats),
    ];
    endpoints.extend(Endpoint::operational(OPENAPI));
    endpoints
}
