//! Domain types of Scoreboard, shared by every service.
//!
//! Nothing here touches a database, a broker or the network: these are the values the rules are stated
//! in (who, which action, which key, how much) and the `ScoreUpdated` event the score service publishes.

mod action;
mod event;
mod ids;

pub use action::{ActionKind, ActionStatus, Challenge, CompletionMode, KindCatalog, KindCatalogError};
pub use event::{ScoreUpdated, SCORE_UPDATED_EVENT_TYPE, SCORE_UPDATED_SCHEMA_VERSION};
pub use ids::{ActionId, InvalidId, KeyStatus, ScoreKey, UserId};
