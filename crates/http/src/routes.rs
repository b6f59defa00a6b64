//! One table of endpoints per service: the same list registers the routes and is compared with the
//! OpenAPI document in tests, so the two cannot drift apart.

use actix_web::http::Method;
use actix_web::{web, FromRequest, Handler, Responder};

/// A method, a path (actix syntax, which is also OpenAPI's `{param}` syntax) and its handler.
pub struct Endpoint {
    pub method: Method,
    pub path: &'static str,
    route: actix_web::Route,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

impl Endpoint {
    pub fn new<F, Args>(method: Method, path: &'static str, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        Self {
            route: web::route().method(method.clone()).to(handler),
            method,
            path,
        }
    }

    /// What every service serves besides its API: `/healthz`, `/readyz` and its OpenAPI `document`.
    pub fn operational(document: &'static str) -> [Self; 3] {
        let openapi = move || async move {
            actix_web::HttpResponse::Ok()
                .content_type("application/json")
                .body(document)
        };
        [
            Self::new(Method::GET, "/healthz", crate::healthz),
            Self::new(Method::GET, "/readyz", crate::readyz),
            Self::new(Method::GET, "/openapi.json", openapi),
        ]
    }

    /// Registers every endpoint on the service config.
    pub fn register_all(endpoints: Vec<Self>, cfg: &mut web::ServiceConfig) {
        for endpoint in endpoints {
            cfg.route(endpoint.path, endpoint.route);
        }
    }
}
