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

/// Up to `limit` users strictly after `after` in leaderboard order (from the first user when `after` is
/// `None`): keyset pagination, so a caller can walk the whole board in pages without `OFFSET`, each page
/// costing an index range scan however deep it is. Rebuilding the Redis board reads every row this way.
///
/// The board orders `score` descending but `reached_at` and `user_id` ascending, which one row comparison
/// cannot express; so the rest of `after`'s score group and the lower scores are read separately, each as
/// a range of the leaderboard index, and merged.
pub fn page_after(conn: &mut PgConnection, after: Option<&ScoreRow>, limit: i64) -> QueryResult<Vec<ScoreRow>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        user_id: String,
        #[diesel(sql_type = BigInt)]
        score: i64,
        #[diesel(sql_type = Timestamptz)]
        reached_at: DateTime<Utc>,
        #[diesel(sql_type = BigInt)]
        version: i64,
    }

    let Some(after) = after else {
        return top(conn, limit);
    };
    let rows: Vec<Row> = diesel::sql_query(
        "(SELECT user_id, score, reached_at, version FROM user_scores
          WHERE score = $1 AND (reached_at, user_id) > ($2, $3)
          ORDER BY reached_at ASC, user_id ASC LIMIT $4)
         UNION ALL
         (SELECT user_id, score, reached_at, version FROM user_scores
          WHERE score < $1
          ORDER BY score DESC, reached_at ASC, user_id ASC LIMIT $4)
         ORDER BY score DESC, reached_at ASC, user_id ASC LIMIT $4",
    )
    .bind::<BigInt, _>(after.score)
    .bind::<Timestamptz, _>(after.reached_at)
    .bind::<Text, _>(&after.user_id)
    .bind::<BigInt, _>(limit)
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|row| ScoreRow {
            user_id: row.user_id,
            score: row.score,
            reached_at: row.reached_at,
            version: row.version,
        })
        .collect())
}
