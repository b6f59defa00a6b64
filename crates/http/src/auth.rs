//! Extractors for the two kinds of caller.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use scoreboard_auth::{JwtVerifier, ServiceCredential};
use scoreboard_domain::UserId;

use crate::{ApiError, ErrorCode};

/// A user signed in with a valid bearer JWT. Needs `web::Data<JwtVerifier>` in the app.
#[derive(Debug, Clone)]
pub struct AuthenticatedUser(pub UserId);

/// A trusted backend that presented the service credential. Needs `web::Data<ServiceCredential>`; where
/// none is configured, every request is refused.
#[derive(Debug, Clone, Copy)]
pub struct TrustedBackend;

fn bearer_token(req: &HttpRequest) -> Result<&str, ApiError> {
    let unauthorized = |message: &str| ApiError::new(ErrorCode::Unauthorized, message);
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| unauthorized("missing Authorization header"))?
        .to_str()
        .map_err(|_| unauthorized("malformed Authorization header"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => Ok(token.trim()),
        _ => Err(unauthorized("Authorization must be `Bearer <token>`")),
    }
}

impl FromRequest for AuthenticatedUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(bearer_token(req).and_then(|token| {
            let verifier = req
                .app_data::<web::Data<JwtVerifier>>()
                .ok_or_else(|| ApiError::new(ErrorCode::InternalError, "authentication is not configured"))?;
            verifier.verify(token).map(Self).map_err(|err| {
                tracing::debug!(%err, "token refused");
                ApiError::new(ErrorCode::Unauthorized, "invalid or expired token")
            })
        }))
    }
}

impl FromRequest for TrustedBackend {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(bearer_token(req).and_then(|token| {
            match req
                .app_data::<web::Data<Option<ServiceCredential>>>()
                .and_then(|c| c.as_ref().as_ref())
            {
                Some(credential) if credential.matches(token) => Ok(Self),
                _ => Err(ApiError::new(
                    ErrorCode::Unauthorized,
                    "a valid service credential is required",
                )),
            }
        }))
    }
}
