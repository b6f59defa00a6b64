//! Reading the board: the top N, and the caller's own standing. Served from the Redis board when it is
//! current, from PostgreSQL otherwise (the board then rebuilds itself); both order ties the same way.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use scoreboard_cache::Board;
use scoreboard_http::{ApiError, AuthenticatedUser, ErrorCode};
use serde::{Deserialize, Serialize};

const DEFAULT_LIMIT: usize = 10;
const MAX_LIMIT: usize = 100;

#[derive(Debug, Deserialize)]
pub struct TopQuery {
    limit: Option<i64>,
}

/// `GET /api/leaderboard?limit=N`: the first N users (default 10, at most 100). Public.
#[tracing::instrument(skip_all)]
pub async fn top(query: web::Query<TopQuery>, board: web::Data<Board>) -> Result<HttpResponse, ApiError> {
    let limit = match query.limit.map(usize::try_from) {
        None => DEFAULT_LIMIT,
        Some(Ok(limit)) if (1..=MAX_LIMIT).contains(&limit) => limit,
        Some(_) => {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                format!("limit must be between 1 and {MAX_LIMIT}"),
            ))
        }
    };
    let entries = board.top(limit).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "entries": entries })))
}

#[derive(Debug, Serialize)]
struct Me {
    user_id: String,
    score: i64,
    /// `None` until the user first scores.
    rank: Option<i64>,
    reached_at: Option<DateTime<Utc>>,
}

/// `GET /api/scores/me`: the caller's score and rank.
#[tracing::instrument(skip_all, fields(user = %user.0))]
pub async fn me(user: AuthenticatedUser, board: web::Data<Board>) -> Result<HttpResponse, ApiError> {
    let user_id = user.0.as_str().to_owned();
    let me = match board.standing(&user_id).await? {
        Some(entry) => Me {
            user_id,
            score: entry.score,
            rank: Some(entry.rank),
            reached_at: Some(entry.reached_at),
        },
        None => Me {
            user_id,
            score: 0,
            rank: None,
            reached_at: None,
        },
    };
    Ok(HttpResponse::Ok().json(me))
}
