//! The leaderboard's fast top N: a Redis sorted set kept from `ScoreUpdated` changes, read through with
//! PostgreSQL as the fallback and the source of rebuilds.
//!
//! - [`LeaderboardCache`]: the board in Redis. Updates are absolute and versioned and applied by one Lua
//!   script only when newer, so repeats and reordering are harmless. The sorted-set member encodes the
//!   tie-breaks ([`member`]), so `ZREVRANGE` returns exactly PostgreSQL's order: score descending, then
//!   who reached the score first, then user id.
//! - [`Board`]: what services use. Reads come from Redis only when it holds the whole, current board
//!   (ready marker set, no failed write since the last rebuild); otherwise from PostgreSQL, and the board
//!   is rebuilt in the background of the next read. Redis failures are logged, never returned.
//!
//! Keys of one board ([`CacheKeys`]): `{prefix}:zset`, `{prefix}:members`, `{prefix}:versions`,
//! `{prefix}:ready`; production uses [`CacheKeys::GLOBAL_PREFIX`].

mod board;
mod cache;
mod error;
mod keys;
pub mod member;

/// The `redis` crate this one is built on (the version `deadpool-redis` brings).
pub use deadpool_redis::redis;

pub use board::{Board, RebuildError, REBUILD_PAGE_SIZE};
pub use cache::{BoardEntry, BoardUpdate, LeaderboardCache};
pub use error::CacheError;
pub use keys::CacheKeys;
