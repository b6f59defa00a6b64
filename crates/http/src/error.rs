//! The API's error contract.
//!
//! Policy: every failure a client can see is an [`ApiError`] with a stable snake_case [`ErrorCode`]; the
//! body is always `{"error": {"code", "message"}}`. Codes are part of the API and never change meaning.
//! 4xx messages explain what to fix; 5xx messages are opaque and the cause chain is logged instead.
//! [`ErrorCode::status`] is the one table from code to HTTP status.

use std::fmt;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// Every error code the API returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidRequest,
    PayloadTooLarge,
    Unauthorized,
    OriginNotAllowed,
    NotFound,
    RateLimited,
    UnknownActionKind,
    ActionNotFound,
    ActionAlreadyCompleted,
    ActionFailed,
    ActionExpired,
    ActionTooFast,
    InvalidProof,
    ExternalIdConflict,
    KeyNotFound,
    KeyAlreadyRedeemed,
    KeyExpired,
    TooManyConnections,
    ServiceUnavailable,
    InternalError,
}

impl ErrorCode {
    /// The HTTP status of each code: the whole table.
    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidRequest | Self::UnknownActionKind => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::OriginNotAllowed => StatusCode::FORBIDDEN,
            Self::NotFound | Self::ActionNotFound | Self::KeyNotFound => StatusCode::NOT_FOUND,
            Self::ActionAlreadyCompleted | Self::ActionFailed | Self::ExternalIdConflict | Self::KeyAlreadyRedeemed => {
                StatusCode::CONFLICT
            }
            Self::ActionExpired | Self::KeyExpired => StatusCode::GONE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::InvalidProof | Self::ActionTooFast => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::ServiceUnavailable | Self::TooManyConnections => StatusCode::SERVICE_UNAVAILABLE,
            Self::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::PayloadTooLarge => "payload_too_large",
            Self::Unauthorized => "unauthorized",
            Self::OriginNotAllowed => "origin_not_allowed",
            Self::NotFound => "not_found",
            Self::RateLimited => "rate_limited",
            Self::UnknownActionKind => "unknown_action_kind",
            Self::ActionNotFound => "action_not_found",
            Self::ActionAlreadyCompleted => "action_already_completed",
            Self::ActionFailed => "action_failed",
            Self::ActionExpired => "action_expired",
            Self::ActionTooFast => "action_too_fast",
            Self::InvalidProof => "invalid_proof",
            Self::ExternalIdConflict => "external_id_conflict",
            Self::KeyNotFound => "key_not_found",
            Self::KeyAlreadyRedeemed => "key_already_redeemed",
            Self::KeyExpired => "key_expired",
            Self::TooManyConnections => "too_many_connections",
            Self::ServiceUnavailable => "service_unavailable",
            Self::InternalError => "internal_error",
        }
    }
}

/// An error answer: a code, a message for the client and, for 5xx, the logged cause.
pub struct ApiError {
    code: ErrorCode,
    message: String,
    retry_after_secs: Option<u64>,
    /// Machine-readable facts a client acts on (for example attempts left), beside the message.
    details: Option<serde_json::Value>,
    cause: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after_secs: None,
            details: None,
            cause: None,
        }
    }

    /// Adds a `Retry-After` header: when trying again can succeed.
    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    /// Adds `details` to the error body.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// An internal failure: the client sees an opaque message, the log gets `cause` and its chain.
    pub fn internal(cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self {
            cause: Some(Box::new(cause)),
            ..Self::new(ErrorCode::InternalError, "internal error")
        }
    }

    /// A dependency is down: 503, with the cause logged.
    pub fn unavailable(cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self {
            cause: Some(Box::new(cause)),
            ..Self::new(
                ErrorCode::ServiceUnavailable,
                "a dependency is unavailable, try again shortly",
            )
        }
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Self::new(ErrorCode::RateLimited, "too many requests, slow down").with_retry_after(retry_after_secs)
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("code", &self.code)
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)?;
        let mut cause = self.cause.as_deref().map(|c| c as &(dyn std::error::Error + 'static));
        while let Some(err) = cause {
            write!(f, ": {err}")?;
            cause = err.source();
        }
        Ok(())
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'static str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a serde_json::Value>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        if self.code.status().is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let mut response = HttpResponse::build(self.status_code());
        if let Some(secs) = self.retry_after_secs {
            response.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        response.json(ErrorBody {
            error: ErrorDetail {
                code: self.code.as_str(),
                message: &self.message,
                details: self.details.as_ref(),
            },
        })
    }
}

impl From<scoreboard_db::DbError> for ApiError {
    fn from(err: scoreboard_db::DbError) -> Self {
        match err {
            scoreboard_db::DbError::Pool(_) => Self::unavailable(err),
            _ => Self::internal(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialized_code_matches_as_str() {
        for code in [
            ErrorCode::InvalidRequest,
            ErrorCode::KeyAlreadyRedeemed,
            ErrorCode::ActionTooFast,
        ] {
            assert_eq!(
                serde_json::to_value(code).expect("serializes"),
                serde_json::json!(code.as_str())
            );
        }
    }

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let err = ApiError::internal(std::io::Error::other("password=hunter2"));
        let body = actix_web::body::to_bytes(err.error_response().into_body());
        let body = futures_util::FutureExt::now_or_never(body)
            .expect("ready")
            .expect("body");
        assert!(!String::from_utf8_lossy(&body).contains("hunter2"));
    }
}
