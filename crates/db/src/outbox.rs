//! The transactional outbox: rows written in the redeem statement, leased and published by the relay.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

use crate::schema::outbox;

/// A row to publish.
#[derive(Debug, Clone, QueryableByName)]
pub struct PendingEvent {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = BigInt)]
    pub seq: i64,
    #[diesel(sql_type = Text)]
    pub event_type: String,
    #[diesel(sql_type = Jsonb)]
    pub payload: serde_json::Value,
    #[diesel(sql_type = Nullable<Text>)]
    pub traceparent: Option<String>,
}

/// Leases up to `limit` unpublished rows (oldest first) until `lease_until`, skipping rows another relay
/// holds or has leased, so replicas never publish the same row at the same time.
pub fn lease_batch(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<PendingEvent>> {
    let mut rows: Vec<PendingEvent> = diesel::sql_query(
        "UPDATE outbox SET leased_until = $2
         WHERE id IN (SELECT id FROM outbox
                      WHERE published_at IS NULL AND (leased_until IS NULL OR leased_until < $1)
                      ORDER BY seq LIMIT $3 FOR UPDATE SKIP LOCKED)
         RETURNING id, seq, event_type, payload, traceparent",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(lease_until)
    .bind::<BigInt, _>(limit)
    .load(conn)?;
    rows.sort_by_key(|row| row.seq);
    Ok(rows)
}

/// Records the outcome of a published batch in one transaction: `published` rows (the broker confirmed
/// them) are marked published, `refused` rows are given back at once instead of waiting for their lease.
///
/// The commit does not wait for the WAL flush (`synchronous_commit = off` for this transaction only): if
/// PostgreSQL crashes before the flush, the rows are simply published again, and consumers apply events
/// idempotently. The redeem itself always commits synchronously.
pub fn settle(conn: &mut PgConnection, published: &[Uuid], refused: &[Uuid], at: DateTime<Utc>) -> QueryResult<()> {
    if published.is_empty() && refused.is_empty() {
        return Ok(());
    }
    conn.transaction(|conn| {
        diesel::sql_query("SET LOCAL synchronous_commit = off").execute(conn)?;
        if !published.is_empty() {
            diesel::update(outbox::table.filter(outbox::id.eq_any(published)))
                .set((
                    outbox::published_at.eq(at),
                    outbox::leased_until.eq(None::<DateTime<Utc>>),
                ))
                .execute(conn)?;
        }
        if !refused.is_empty() {
            diesel::update(outbox::table.filter(outbox::id.eq_any(refused)))
                .set(outbox::leased_until.eq(None::<DateTime<Utc>>))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// How many rows wait to be published.
pub fn count_unpublished(conn: &mut PgConnection) -> QueryResult<i64> {
    outbox::table
        .filter(outbox::published_at.is_null())
        .count()
        .get_result(conn)
}
