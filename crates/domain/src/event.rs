//! The `ScoreUpdated` event: written to the outbox in the redeem transaction, published to the broker.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::UserId;

pub const SCORE_UPDATED_EVENT_TYPE: &str = "ScoreUpdated";
pub const SCORE_UPDATED_SCHEMA_VERSION: u32 = 1;

/// A user's score changed. Carries the absolute new score and a per-user version, so a consumer that
/// sees an event twice, or out of order, keeps the newest and is never off by a delta.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreUpdated {
    pub event_id: Uuid,
    pub schema_version: u32,
    pub user_id: UserId,
    pub score: i64,
    pub delta: i64,
    /// When the user reached `score`; ties on the board rank by this.
    pub reached_at: DateTime<Utc>,
    pub version: i64,
}
