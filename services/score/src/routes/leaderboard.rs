//! Reading the board: the top N, and the caller's own standing. Served from the Redis board when it is
//! current, from PostgreSQL otherwise (the board then rebuilds itself); both order ties the same way.

use actix_web::http::header::ContentType;
use actix_web::web::Bytes;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use scoreboard_cache::{Board, BoardEntry};
use scoreboard_http::{ApiError, AuthenticatedUser, ErrorCode};
use serde::{Deserialize, Serialize};

use crate::top_cache::TopResponses;

const DEFAULT_LIMIT: usize = 10;
const MAX_LIMIT: usize = 100;

#[derive(Debug, Deserialize)]
pub struct TopQuery {
    limit: Option<i64>,
}

#[derive(Serialize)]
struct Top<'a> {
    entries: &'a [BoardEntry],
}

/// `GET /api/leaderboard?limit=N`: the first N users (default 10, at most 100). Public; answered from this
/// replica's short-lived copy of the encoded body when it has one (see [`TopResponses`]).
#[tracing::instrument(skip_all)]
pub async fn top(
    query: web::Query<TopQuery>,
    board: web::Data<Board>,
    cached: web::Data<TopResponses>,
) -> Result<HttpResponse, ApiError> {
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
    let body = match cached.get(limit) {
        Some(body) => body,
        None => {
            let read_began = cached.generation();
            let entries = board.top(limit).await?;
            let body = Bytes::from(
                serde_json::to_vec(&Top { entries: &entries })
                    .map_err(|_| ApiError::new(ErrorCode::InternalError, "cannot encode the leaderboard"))?,
            );
            cached.store(limit, read_began, body.clone());
            body
        }
    };
    Ok(HttpResponse::Ok().content_type(ContentType::json()).body(body))
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
