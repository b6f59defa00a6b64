//! Actions X: started by a user, verified and completed on the server, or reported by a trusted backend.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::schema::actions;

/// An action as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = actions)]
pub struct ActionRow {
    pub id: Uuid,
    pub user_id: String,
    pub kind: String,
    pub status: String,
    pub challenge_prompt: Option<String>,
    pub challenge_answer: Option<String>,
    pub failed_attempts: i32,
    pub external_id: Option<String>,
    pub started_at: DateTime<Utc>,
    pub deadline_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// A new action: started by a user (with a challenge) or already completed (reported).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = actions)]
pub struct NewAction<'a> {
    pub id: Uuid,
    pub user_id: &'a str,
    pub kind: &'a str,
    pub status: &'a str,
    pub challenge_prompt: Option<&'a str>,
    pub challenge_answer: Option<&'a str>,
    pub external_id: Option<&'a str>,
    pub started_at: DateTime<Utc>,
    pub deadline_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

pub fn insert(conn: &mut PgConnection, action: &NewAction<'_>) -> QueryResult<()> {
    diesel::insert_into(actions::table)
        .values(action)
        .execute(conn)
        .map(drop)
}

/// Inserts a reported action unless one with the same kind and external id exists; `false` if it did.
pub fn insert_reported(conn: &mut PgConnection, action: &NewAction<'_>) -> QueryResult<bool> {
    let inserted = diesel::insert_into(actions::table)
        .values(action)
        .on_conflict((actions::kind, actions::external_id))
        .do_nothing()
        .execute(conn)?;
    Ok(inserted == 1)
}

/// Loads an action and locks its row until the transaction ends, so completions of it are serialised.
pub fn lock(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<ActionRow>> {
    actions::table
        .find(id)
        .select(ActionRow::as_select())
        .for_update()
        .first(conn)
        .optional()
}

pub fn find_by_external_id(conn: &mut PgConnection, kind: &str, external_id: &str) -> QueryResult<Option<ActionRow>> {
    actions::table
        .filter(actions::kind.eq(kind))
        .filter(actions::external_id.eq(external_id))
        .select(ActionRow::as_select())
        .first(conn)
        .optional()
}

/// Counts one more wrong proof; the action fails for good when `fail` is set.
pub fn record_wrong_proof(conn: &mut PgConnection, id: Uuid, fail: bool) -> QueryResult<()> {
    let status = if fail { "failed" } else { "started" };
    diesel::update(actions::table.find(id))
        .set((
            actions::failed_attempts.eq(actions::failed_attempts + 1),
            actions::status.eq(status),
        ))
        .execute(conn)
        .map(drop)
}

pub fn mark_failed(conn: &mut PgConnection, id: Uuid) -> QueryResult<()> {
    diesel::update(actions::table.find(id))
        .set(actions::status.eq("failed"))
        .execute(conn)
        .map(drop)
}

pub fn mark_completed(conn: &mut PgConnection, id: Uuid, at: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(actions::table.find(id))
        .set((actions::status.eq("completed"), actions::completed_at.eq(at)))
        .execute(conn)
        .map(drop)
}
