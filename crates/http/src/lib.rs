//! What every Scoreboard HTTP service shares: the error contract, extractor configuration that turns bad
//! input into that contract, the authenticated-caller extractors, health endpoints, request ids, the
//! per-user rate limiter and the route table the OpenAPI document is checked against.

mod auth;
mod error;
mod health;
mod rate_limit;
mod routes;
pub mod server;

pub use auth::{AuthenticatedUser, TrustedBackend};
pub use error::{ApiError, ErrorCode};
pub use health::{healthz, readyz};
pub use rate_limit::UserRateLimiter;
pub use routes::Endpoint;

use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{web, HttpMessage as _, HttpRequest};

/// JSON bodies larger than `limit_bytes` get `payload_too_large`; malformed ones `invalid_request`.
pub fn json_config(limit_bytes: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit_bytes)
        .error_handler(move |err: JsonPayloadError, _req: &HttpRequest| {
            match err {
                JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    format!("request body is larger than {limit_bytes} bytes"),
                ),
                JsonPayloadError::ContentType => ApiError::new(
                    ErrorCode::InvalidRequest,
                    "request body must be JSON (Content-Type: application/json)",
                ),
                other => ApiError::new(ErrorCode::InvalidRequest, format!("invalid JSON body: {other}")),
            }
            .into()
        })
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err: PathError, _req: &HttpRequest| {
        ApiError::new(ErrorCode::InvalidRequest, format!("invalid path parameter: {err}")).into()
    })
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err: QueryPayloadError, _req: &HttpRequest| {
        ApiError::new(ErrorCode::InvalidRequest, format!("invalid query string: {err}")).into()
    })
}

/// Any path or method the service does not serve.
pub async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::new(ErrorCode::NotFound, "no such endpoint"))
}

/// Copies the request id that `TracingLogger` put on the request span into an `x-request-id` response
/// header, so a client report can be matched to the log.
pub async fn request_id_header<B: actix_web::body::MessageBody>(
    req: ServiceRequest,
    next: actix_web::middleware::Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let request_id = req
        .extensions()
        .get::<tracing_actix_web::RequestId>()
        .map(ToString::to_string);
    let mut response = next.call(req).await?;
    if let Some(value) = request_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("x-request-id"), value);
    }
    Ok(response)
}
