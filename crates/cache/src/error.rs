//! Why a Redis board operation failed. Every variant is recoverable for the caller: the board in Redis is
//! a cache, so [`crate::Board`] answers from PostgreSQL and schedules a rebuild instead of failing.

use deadpool_redis::redis::RedisError;
use deadpool_redis::{BuildError, PoolError};

/// Why a [`crate::LeaderboardCache`] call failed.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The pool could not be built (bad configuration; never a connection failure, which is lazy).
    #[error("cannot build the Redis connection pool")]
    PoolBuild(#[from] BuildError),
    /// No connection within the pool's timeouts: Redis is down, unreachable or saturated.
    #[error("no Redis connection available")]
    Pool(#[from] PoolError),
    /// Redis refused the URL, a command, or the reply did not have the expected shape.
    #[error("Redis command failed")]
    Redis(#[from] RedisError),
    /// A sorted-set score is an `f64`: integers beyond ±2^53 would no longer compare exactly.
    #[error("score {score} of user {user_id:?} is beyond ±2^53, which a Redis score cannot hold exactly")]
    ScoreOutOfRange { user_id: String, score: i64 },
    /// Versions must be positive (as in PostgreSQL): the apply script compares them as decimal strings.
    #[error("version {version} of user {user_id:?} is not positive")]
    VersionOutOfRange { user_id: String, version: i64 },
    /// A sorted-set member or score that this crate did not write (or a different encoding wrote).
    #[error("corrupt board member {0:?}")]
    CorruptMember(String),
}
