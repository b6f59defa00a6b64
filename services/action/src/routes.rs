//! The action service's endpoints, one table of them.

mod actions;
mod dev_token;
mod reported;

use actix_web::http::Method;
use scoreboard_http::Endpoint;

/// The OpenAPI document; `tests/api` checks it lists exactly [`endpoints`].
pub const OPENAPI: &str = include_str!("../openapi.json");

/// Every endpoint the service serves with these settings.
pub fn endpoints(dev_tokens_enabled: bool) -> Vec<Endpoint> {
    let mut endpoints = vec![
        Endpoint::new(Method::POST, "/api/actions", actions::start),
        Endpoint::new(Method::POST, "/api/actions/{action_id}/complete", actions::complete),
        Endpoint::new(Method::POST, "/api/actions/reported", reported::report),
    ];
    endpoints.extend(Endpoint::operational(OPENAPI));
    if dev_tokens_enabled {
        endpoints.push(Endpoint::new(Method::POST, "/api/dev/token", dev_token::mint));
    }
    endpoints
}
