//! The Redis keys that hold one board.

/// The four keys of one board, all under one prefix, so several boards (or parallel tests) share a Redis
/// without touching each other's data.
///
/// - `{prefix}:zset`: the sorted set, one member per user (see [`crate::member`]).
/// - `{prefix}:members`: hash `user_id -> current member`, to remove a user's old member on update.
/// - `{prefix}:versions`: hash `user_id -> last applied version`, which makes updates idempotent.
/// - `{prefix}:ready`: set once the set was fully built from PostgreSQL; while it is missing (a fresh or
///   flushed Redis) the set may hold only the users updated since, and must not be read as the board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheKeys {
    zset: String,
    members: String,
    versions: String,
    ready: String,
}

impl CacheKeys {
    /// The prefix of the production board.
    pub const GLOBAL_PREFIX: &'static str = "scoreboard:board:global";

    /// The keys of the board under `prefix` (no trailing colon).
    pub fn new(prefix: &str) -> Self {
        Self {
            zset: format!("{prefix}:zset"),
            members: format!("{prefix}:members"),
            versions: format!("{prefix}:versions"),
            ready: format!("{prefix}:ready"),
        }
    }

    /// The keys of the production board.
    pub fn global() -> Self {
        Self::new(Self::GLOBAL_PREFIX)
    }

    /// The sorted set of members, scored by score.
    pub fn zset(&self) -> &str {
        &self.zset
    }

    /// The hash from user id to that user's current member.
    pub fn members(&self) -> &str {
        &self.members
    }

    /// The hash from user id to the last version applied.
    pub fn versions(&self) -> &str {
        &self.versions
    }

    /// The marker saying the set was fully built from PostgreSQL.
    pub fn ready(&self) -> &str {
        &self.ready
    }

    /// All four keys, to delete the board.
    pub fn all(&self) -> [&str; 4] {
        [&self.zset, &self.members, &self.versions, &self.ready]
    }
}
