//! Redeeming score keys, and finding the ones not yet redeemed.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use scoreboard_cache::{Board, BoardUpdate};
use scoreboard_db::keys::{self, RedeemRefusal};
use scoreboard_db::PgPool;
use scoreboard_domain::ScoreKey;
use scoreboard_http::{ApiError, AuthenticatedUser, ErrorCode};
use serde::{Deserialize, Serialize};
use tracing_actix_web::RequestId;
use uuid::Uuid;

use crate::relay::OutboxWake;
use crate::top_cache::TopResponses;

/// Most keys listed at once; a client redeems them and asks again.
const MAX_LISTED_KEYS: i64 = 100;

#[derive(Debug, Deserialize)]
pub struct RedeemRequest {
    key: ScoreKey,
}

#[derive(Debug, Serialize)]
struct RedeemResponse {
    user_id: String,
    amount: i64,
    score: i64,
    rank: i64,
    reached_at: DateTime<Utc>,
    version: i64,
}

/// `POST /api/scores/redeem`: spend a key once, as its owner, for the amount the server chose.
#[tracing::instrument(skip_all, fields(user = %user.0, key = ?body.key))]
pub async fn redeem(
    user: AuthenticatedUser,
    body: web::Json<RedeemRequest>,
    pool: web::Data<PgPool>,
    relay: web::Data<OutboxWake>,
    board: web::Data<Board>,
    top_responses: web::Data<TopResponses>,
    request_id: RequestId,
) -> Result<HttpResponse, ApiError> {
    let key = body.into_inner().key;
    let traceparent = scoreboard_messaging::traceparent_for_request(*request_id);
    let outcome = scoreboard_db::run_blocking(&pool, move |conn| {
        Ok(keys::redeem(
            conn,
            key.as_str(),
            user.0.as_str(),
            Utc::now(),
            Some(&traceparent),
        )?)
    })
    .await?;
    match outcome {
        Ok(done) => {
            relay.wake();
            // The Redis board learns the change now (the notifiers apply the published event too) and
            // answers the new rank in the same step; PostgreSQL answers it when Redis cannot.
            let update = BoardUpdate {
                user_id: done.user_id.clone(),
                score: done.score,
                reached_at: done.reached_at,
                version: done.version,
            };
            let rank = match board.apply_and_rank(&update).await {
                Some(rank) => rank,
                None => {
                    board
                        .standing_in_database(&done.user_id)
                        .await?
                        .ok_or_else(|| ApiError::new(ErrorCode::InternalError, "the redeemed score is missing"))?
                        .rank
                }
            };
            top_responses.invalidate();
            tracing::info!(amount = done.amount, score = done.score, event_id = %done.event_id, "key redeemed");
            Ok(HttpResponse::Ok().json(RedeemResponse {
                user_id: done.user_id,
                amount: done.amount,
                score: done.score,
                rank,
                reached_at: done.reached_at,
                version: done.version,
            }))
        }
        Err(RedeemRefusal::NotFound) => Err(ApiError::new(ErrorCode::KeyNotFound, "no such key for this user")),
        Err(RedeemRefusal::AlreadyRedeemed) => Err(ApiError::new(
            ErrorCode::KeyAlreadyRedeemed,
            "this key was already redeemed; it counts once",
        )),
        Err(RedeemRefusal::Expired) => Err(ApiError::new(ErrorCode::KeyExpired, "this key has expired")),
    }
}

#[derive(Debug, Serialize)]
struct PendingKey {
    key: String,
    action_id: Uuid,
    amount: i64,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

/// `GET /api/scores/keys`: the caller's keys that can still be redeemed, oldest first (at most 100), so a
/// client whose redeem call failed can finish later.
#[tracing::instrument(skip_all, fields(user = %user.0))]
pub async fn list_redeemable(user: AuthenticatedUser, pool: web::Data<PgPool>) -> Result<HttpResponse, ApiError> {
    let rows = scoreboard_db::run_blocking(&pool, move |conn| {
        Ok(keys::list_redeemable(
            conn,
            user.0.as_str(),
            Utc::now(),
            MAX_LISTED_KEYS,
        )?)
    })
    .await?;
    let keys: Vec<PendingKey> = rows
        .into_iter()
        .map(|row| PendingKey {
            key: row.key,
            action_id: row.action_id,
            amount: row.amount,
            created_at: row.created_at,
            expires_at: row.expires_at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "keys": keys })))
}
