//! Development sign-in: mints a user token. Served only with `DEV_TOKENS_ENABLED=true`.

use actix_web::{web, HttpResponse};
use scoreboard_domain::UserId;
use scoreboard_http::ApiError;
use serde::Deserialize;

use crate::AppState;

#[derive(Debug, Deserialize)]
pub struct TokenRequest {
    user_id: UserId,
}

/// `POST /api/dev/token`: a token for any user id. Never enable this in production.
pub async fn mint(body: web::Json<TokenRequest>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let issuer = state
        .dev_tokens
        .as_ref()
        .ok_or_else(|| ApiError::new(scoreboard_http::ErrorCode::NotFound, "no such endpoint"))?;
    let token = issuer.mint(&body.user_id).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(token))
}
