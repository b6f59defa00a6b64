//! The rules of an action's life, each run as one database transaction: start it, complete it with a
//! proof (minting its one key), or record a trusted backend's report of it.

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use scoreboard_db::actions::{self, NewAction};
use scoreboard_db::keys::{self, KeyRow, NewKey};
use scoreboard_db::{Conn, Connection as _, QueryResult};
use scoreboard_domain::{ActionId, ActionKind, ActionStatus, Challenge, ScoreKey, UserId};
use serde::Serialize;
use uuid::Uuid;

/// A minted key as the client sees it.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedKey {
    pub key: String,
    pub action_id: Uuid,
    pub amount: i64,
    pub expires_at: DateTime<Utc>,
}

impl From<KeyRow> for IssuedKey {
    fn from(row: KeyRow) -> Self {
        Self {
            key: row.key,
            action_id: row.action_id,
            amount: row.amount,
            expires_at: row.expires_at,
        }
    }
}

/// A started action and the challenge the client must answer.
#[derive(Debug, Clone, Serialize)]
pub struct StartedAction {
    pub action_id: Uuid,
    pub kind: String,
    pub challenge: ChallengePrompt,
    pub started_at: DateTime<Utc>,
    /// Completions before this instant are refused as implausibly fast.
    pub complete_after: DateTime<Utc>,
    pub deadline_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChallengePrompt {
    pub prompt: String,
}

/// Why a completion was refused. Every refusal leaves no key behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompleteRefusal {
    /// Unknown, or another user's: the same answer, so ids cannot be probed.
    NotFound,
    AlreadyCompleted,
    Failed,
    Expired,
    TooFast {
        wait_ms: i64,
    },
    WrongAnswer {
        attempts_left: i32,
    },
    /// The action's kind is no longer configured.
    KindRetired,
}

/// Why a report was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportRefusal {
    /// This external id was already reported for another user.
    ExternalIdTaken,
}

/// A report's result: a new key, or the key an earlier identical report minted.
#[derive(Debug, Clone)]
pub enum Reported {
    Minted(IssuedKey),
    Replayed(IssuedKey),
}

fn chrono(duration: std::time::Duration) -> ChronoDuration {
    ChronoDuration::from_std(duration).unwrap_or(ChronoDuration::MAX)
}

/// Records a new action of a challenge kind for `user`.
pub fn start(conn: &mut Conn, user: &UserId, kind: &ActionKind, now: DateTime<Utc>) -> QueryResult<StartedAction> {
    let challenge = Challenge::generate();
    let action_id = ActionId::new_random().0;
    let deadline_at = now + chrono(kind.time_limit);
    actions::insert(
        conn,
        &NewAction {
            id: action_id,
            user_id: user.as_str(),
            kind: &kind.name,
            status: ActionStatus::Started.as_str(),
            challenge_prompt: Some(&challenge.prompt),
            challenge_answer: Some(&challenge.answer),
            external_id: None,
            started_at: now,
            deadline_at,
            completed_at: None,
        },
    )?;
    Ok(StartedAction {
        action_id,
        kind: kind.name.clone(),
        challenge: ChallengePrompt {
            prompt: challenge.prompt,
        },
        started_at: now,
        complete_after: now + chrono(kind.min_duration),
        deadline_at,
    })
}

fn mint(conn: &mut Conn, user: &str, action_id: Uuid, kind: &ActionKind, now: DateTime<Utc>) -> QueryResult<IssuedKey> {
    let key = ScoreKey::generate();
    let expires_at = now + chrono(kind.key_ttl);
    keys::insert(
        conn,
        &NewKey {
            key: key.as_str(),
            user_id: user,
            action_id,
            amount: kind.amount,
            created_at: now,
            expires_at,
        },
    )?;
    Ok(IssuedKey {
        key: key.as_str().to_owned(),
        action_id,
        amount: kind.amount,
        expires_at,
    })
}

/// Verifies a completion and mints the action's one key, in one transaction that holds the action's row
/// lock: concurrent completions of one action queue behind it and find it completed.
///
/// A refusal that changes the action (a wrong answer counted, a missed deadline) is committed too.
pub fn complete(
    conn: &mut Conn,
    action_id: Uuid,
    user: &UserId,
    answer: &str,
    kind_of: impl Fn(&str) -> Option<ActionKind>,
    now: DateTime<Utc>,
) -> QueryResult<Result<IssuedKey, CompleteRefusal>> {
    conn.transaction(|conn| {
        let Some(action) = actions::lock(conn, action_id)?.filter(|a| a.user_id == user.as_str()) else {
            return Ok(Err(CompleteRefusal::NotFound));
        };
        match ActionStatus::from_db(&action.status) {
            Some(ActionStatus::Started) => {}
            Some(ActionStatus::Completed) => return Ok(Err(CompleteRefusal::AlreadyCompleted)),
            Some(ActionStatus::Failed) | None => return Ok(Err(CompleteRefusal::Failed)),
        }
        let Some(kind) = kind_of(&action.kind) else {
            return Ok(Err(CompleteRefusal::KindRetired));
        };
        if now > action.deadline_at {
            actions::mark_failed(conn, action_id)?;
            return Ok(Err(CompleteRefusal::Expired));
        }
        let earliest = action.started_at + chrono(kind.min_duration);
        if now < earliest {
            return Ok(Err(CompleteRefusal::TooFast {
                wait_ms: (earliest - now).num_milliseconds().max(1),
            }));
        }
        let expected = action.challenge_answer.as_deref().unwrap_or_default();
        if expected.is_empty() || !Challenge::accepts(expected, answer) {
            let attempts_left = kind.max_attempts - action.failed_attempts - 1;
            actions::record_wrong_proof(conn, action_id, attempts_left <= 0)?;
            return Ok(Err(CompleteRefusal::WrongAnswer {
                attempts_left: attempts_left.max(0),
            }));
        }
        actions::mark_completed(conn, action_id, now)?;
        mint(conn, user.as_str(), action_id, &kind, now).map(Ok)
    })
}

/// Records that a trusted backend saw `user` complete `kind` (its id `external_id`) and mints a key.
/// Idempotent on (`kind`, `external_id`): a repeat returns the first key.
pub fn report(
    conn: &mut Conn,
    user: &UserId,
    kind: &ActionKind,
    external_id: &str,
    now: DateTime<Utc>,
) -> QueryResult<Result<Reported, ReportRefusal>> {
    conn.transaction(|conn| {
        let action_id = ActionId::new_random().0;
        let inserted = actions::insert_reported(
            conn,
            &NewAction {
                id: action_id,
                user_id: user.as_str(),
                kind: &kind.name,
                status: ActionStatus::Completed.as_str(),
                challenge_prompt: None,
                challenge_answer: None,
                external_id: Some(external_id),
                started_at: now,
                deadline_at: now,
                completed_at: Some(now),
            },
        )?;
        if inserted {
            return mint(conn, user.as_str(), action_id, kind, now).map(|key| Ok(Reported::Minted(key)));
        }
        let existing = actions::find_by_external_id(conn, &kind.name, external_id)?;
        match existing {
            Some(action) if action.user_id == user.as_str() => {
                let key = keys::find_by_action(conn, action.id)?.ok_or(scoreboard_db::QueryError::NotFound)?;
                Ok(Ok(Reported::Replayed(key.into())))
            }
            _ => Ok(Err(ReportRefusal::ExternalIdTaken)),
        }
    })
}
