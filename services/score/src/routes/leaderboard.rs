//! Reading the board: the top N, and the caller's own standing.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use scoreboard_db::scores;
use scoreboard_db::PgPool;
use scoreboard_http::{ApiError, AuthenticatedUser, ErrorCode};
use serde::{Deserialize, Serialize};

const DEFAULT_LIMIT: i64 = 10;
const MAX_LIMIT: i64 = 100;

#[derive(Debug, Deserialize)]
pub struct TopQuery {
    limit: Option<i64>,
}

#[derive(Debug, Serialize)]
struct Entry {
    rank: i64,
    user_id: String,
    score: i64,
    reached_at: DateTime<Utc>,
}

/// `GET /api/leaderboard?limit=N`: the first N users (default 10, at most 100). Public.
#[tracing::instrument(skip_all)]
pub async fn top(query: web::Query<TopQuery>, pool: web::Data<PgPool>) -> Result<HttpResponse, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!("limit must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let rows = scoreboard_db::run_blocking(&pool, move |conn| Ok(scores::top(conn, limit)?)).await?;
    let entries: Vec<Entry> = (1..)
        .zip(rows)
        .map(|(rank, row)| Entry {
            rank,
            user_id: row.user_id,
            score: row.score,
            reached_at: row.reached_at,
        })
        .collect();
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
pub async fn me(user: AuthenticatedUser, pool: web::Data<PgPool>) -> Result<HttpResponse, ApiError> {
    let user_id = user.0.as_str().to_owned();
    let lookup = user_id.clone();
    let standing = scoreboard_db::run_blocking(&pool, move |conn| Ok(scores::standing(conn, &lookup)?)).await?;
    let me = match standing {
        Some(s) => Me {
            user_id,
            score: s.score,
            rank: Some(s.rank),
            reached_at: Some(s.reached_at),
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
