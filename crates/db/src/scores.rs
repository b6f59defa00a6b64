//! Scores and ranks, read from PostgreSQL in leaderboard order: score descending, then who reached it
//! first, then user id (so the order is total and the same in every read path).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamptz};

use crate::schema::user_scores;

/// One row of the board.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = user_scores)]
pub struct ScoreRow {
    pub user_id: String,
    pub score: i64,
    pub reached_at: DateTime<Utc>,
    pub version: i64,
}

/// The first `limit` users in leaderboard order.
pub fn top(conn: &mut PgConnection, limit: i64) -> QueryResult<Vec<ScoreRow>> {
    user_scores::table
        .order((
            user_scores::score.desc(),
            user_scores::reached_at.asc(),
            user_scores::user_id.asc(),
        ))
        .limit(limit)
        .select(ScoreRow::as_select())
        .load(conn)
}

/// A user's score and 1-based rank.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct Standing {
    #[diesel(sql_type = Text)]
    pub user_id: String,
    #[diesel(sql_type = BigInt)]
    pub score: i64,
    #[diesel(sql_type = Timestamptz)]
    pub reached_at: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    pub rank: i64,
}

/// The user's standing, or `None` if they have never scored.
pub fn standing(conn: &mut PgConnection, user_id: &str) -> QueryResult<Option<Standing>> {
    diesel::sql_query(
        "SELECT me.user_id, me.score, me.reached_at,
                1 + (SELECT count(*) FROM user_scores o
                     WHERE o.score > me.score
                        OR (o.score = me.score AND (o.reached_at, o.user_id) < (me.reached_at, me.user_id))) AS rank
         FROM user_scores me WHERE me.user_id = $1",
    )
    .bind::<Text, _>(user_id)
    .get_result(conn)
    .optional()
}
