//! Score keys: minted once per verified action, redeemed once by their owner.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamptz, Uuid as SqlUuid};
use scoreboard_domain::{KeyStatus, SCORE_UPDATED_EVENT_TYPE, SCORE_UPDATED_SCHEMA_VERSION};
use uuid::Uuid;

use crate::schema::score_keys;

/// A key as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = score_keys)]
pub struct KeyRow {
    pub key: String,
    pub user_id: String,
    pub action_id: Uuid,
    pub amount: i64,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub redeemed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = score_keys)]
pub struct NewKey<'a> {
    pub key: &'a str,
    pub user_id: &'a str,
    pub action_id: Uuid,
    pub amount: i64,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub fn insert(conn: &mut PgConnection, key: &NewKey<'_>) -> QueryResult<()> {
    diesel::insert_into(score_keys::table)
        .values(key)
        .execute(conn)
        .map(drop)
}

pub fn find_by_action(conn: &mut PgConnection, action_id: Uuid) -> QueryResult<Option<KeyRow>> {
    score_keys::table
        .filter(score_keys::action_id.eq(action_id))
        .select(KeyRow::as_select())
        .first(conn)
        .optional()
}

/// The caller's keys that can still be redeemed, oldest first.
pub fn list_redeemable(
    conn: &mut PgConnection,
    user_id: &str,
    now: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<KeyRow>> {
    score_keys::table
        .filter(score_keys::user_id.eq(user_id))
        .filter(score_keys::status.eq(KeyStatus::Pending.as_str()))
        .filter(score_keys::expires_at.gt(now))
        .order(score_keys::created_at.asc())
        .limit(limit)
        .select(KeyRow::as_select())
        .load(conn)
}

/// Marks up to `batch` pending keys past their expiry as `expired`; returns how many.
///
/// Redeem checks expiry itself, so this sweep only keeps the status truthful and the pending index small.
pub fn expire_overdue(conn: &mut PgConnection, now: DateTime<Utc>, batch: i64) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE score_keys SET status = 'expired'
         WHERE key IN (SELECT key FROM score_keys
                       WHERE status = 'pending' AND expires_at <= $1
                       ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<BigInt, _>(batch)
    .execute(conn)
}

/// What a successful redeem changed.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct Redeemed {
    #[diesel(sql_type = Text)]
    pub user_id: String,
    #[diesel(sql_type = BigInt)]
    pub amount: i64,
    #[diesel(sql_type = BigInt)]
    pub score: i64,
    #[diesel(sql_type = Timestamptz)]
    pub reached_at: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    pub version: i64,
    #[diesel(sql_type = SqlUuid)]
    pub event_id: Uuid,
}

/// Why a key could not be redeemed. An unknown key and another user's key are the same answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedeemRefusal {
    NotFound,
    AlreadyRedeemed,
    Expired,
}

/// The whole redeem as one statement: a guarded update of the key (owner, `pending`, not expired), the
/// atomic score increment, the audit row and the `ScoreUpdated` outbox row. The new rank is not counted
/// here (that is O(rank) in PostgreSQL): the score service reads it from the Redis board, or from
/// [`crate::scores::standing`] when Redis cannot be trusted.
///
/// The key row's update takes its row lock; a concurrent redeem of the same key waits for it, re-checks
/// the guard against the committed row (`status` is no longer `pending`) and matches nothing. One
/// statement is one round trip and its own transaction, unless the caller opened one.
const REDEEM_SQL: &str = r#"
WITH redeemed AS (
    UPDATE score_keys SET status = 'redeemed', redeemed_at = $3
    WHERE key = $1 AND user_id = $2 AND status = 'pending' AND expires_at > $3
    RETURNING key, user_id, amount
), scored AS (
    INSERT INTO user_scores AS s (user_id, score, reached_at, version)
    SELECT user_id, amount, $3, 1 FROM redeemed
    ON CONFLICT (user_id) DO UPDATE
        SET score = s.score + EXCLUDED.score,
            reached_at = GREATEST(s.reached_at, EXCLUDED.reached_at),
            version = s.version + 1
    RETURNING user_id, score, reached_at, version
), audited AS (
    INSERT INTO score_audit (user_id, delta, score_after, version, reason, score_key, actor, created_at)
    SELECT r.user_id, r.amount, sc.score, sc.version, 'key_redeemed', r.key, r.user_id, $3
    FROM redeemed r JOIN scored sc USING (user_id)
), published AS (
    INSERT INTO outbox (id, event_type, payload, created_at, traceparent)
    SELECT $4, $5, jsonb_build_object(
               'event_id', $4, 'schema_version', $6, 'user_id', sc.user_id, 'score', sc.score,
               'delta', r.amount, 'reached_at', sc.reached_at, 'version', sc.version),
           $3, $7
    FROM redeemed r JOIN scored sc USING (user_id)
)
SELECT sc.user_id, r.amount, sc.score, sc.reached_at, sc.version, $4 AS event_id
FROM redeemed r JOIN scored sc USING (user_id)
"#;

/// Redeems `key` for `user_id`: exactly once, for its owner only, before it expires. `traceparent` is
/// stored with the outbox row so the published event continues the request's trace.
pub fn redeem(
    conn: &mut PgConnection,
    key: &str,
    user_id: &str,
    now: DateTime<Utc>,
    traceparent: Option<&str>,
) -> QueryResult<Result<Redeemed, RedeemRefusal>> {
    let redeemed = diesel::sql_query(REDEEM_SQL)
        .bind::<Text, _>(key)
        .bind::<Text, _>(user_id)
        .bind::<Timestamptz, _>(now)
        .bind::<SqlUuid, _>(Uuid::new_v4())
        .bind::<Text, _>(SCORE_UPDATED_EVENT_TYPE)
        .bind::<diesel::sql_types::Integer, _>(i32::try_from(SCORE_UPDATED_SCHEMA_VERSION).unwrap_or(i32::MAX))
        .bind::<diesel::sql_types::Nullable<Text>, _>(traceparent)
        .get_result::<Redeemed>(conn)
        .optional()?;
    match redeemed {
        Some(redeemed) => Ok(Ok(redeemed)),
        None => explain_refusal(conn, key, user_id, now).map(Err),
    }
}

/// Says why the guarded update matched nothing, without revealing other users' keys.
fn explain_refusal(
    conn: &mut PgConnection,
    key: &str,
    user_id: &str,
    now: DateTime<Utc>,
) -> QueryResult<RedeemRefusal> {
    let found: Option<(String, String, DateTime<Utc>)> = score_keys::table
        .find(key)
        .select((score_keys::user_id, score_keys::status, score_keys::expires_at))
        .first(conn)
        .optional()?;
    Ok(match found {
        Some((owner, status, expires_at)) if owner == user_id => {
            match KeyStatus::from_db(&status) {
                Some(KeyStatus::Redeemed) => RedeemRefusal::AlreadyRedeemed,
                Some(KeyStatus::Expired) => RedeemRefusal::Expired,
                Some(KeyStatus::Pending) if expires_at <= now => RedeemRefusal::Expired,
                // Pending and valid yet unmatched cannot follow a committed read; treat it as spent rather
                // than ever risk a second increment.
                Some(KeyStatus::Pending) | None => RedeemRefusal::AlreadyRedeemed,
            }
        }
        _ => RedeemRefusal::NotFound,
    })
}
