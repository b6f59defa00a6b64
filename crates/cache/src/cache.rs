//! [`LeaderboardCache`]: the board as a Redis sorted set, written only with absolute, versioned updates.

use std::sync::LazyLock;
use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_redis::redis::{self, AsyncConnectionConfig, Script};
use deadpool_redis::{Manager, Pool, Runtime};
use serde::Serialize;

use crate::member::{self, check_score, score_from_f64};
use crate::{CacheError, CacheKeys};

/// How long to wait for a TCP connection to Redis: a down Redis must not hold a request for long, the
/// caller answers from PostgreSQL instead.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long to wait for one reply (a rebuild pipeline of [`APPLY_BATCH`] script calls included).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long to wait for a pooled connection to become free, to be opened, or to answer its recycle ping.
const POOL_TIMEOUT: Duration = Duration::from_secs(1);
/// Script calls sent in one pipeline by [`LeaderboardCache::apply_many`].
const APPLY_BATCH: usize = 1_000;

/// Applies one absolute update if it is newer than the last one applied for the user.
///
/// KEYS: zset, members, versions, and optionally ready. ARGV: user id, version, score, member. Returns 1
/// when applied, 0 when stale or repeated; with the fourth key, returns instead the user's 0-based rank
/// after the update (whichever version is stored), or -1 when the board is not built (no ready marker).
/// Versions are positive `i64`s in canonical decimal: a longer one is larger, and equal lengths compare
/// as two numbers of at most 10 digits each, exact as Lua numbers (a whole `i64` would round beyond 2^53,
/// and Lua compares strings by the server's locale).
const APPLY_LUA: &str = r"
local function newer(incoming, last)
  if #incoming ~= #last then
    return #incoming > #last
  end
  local split = math.max(#incoming - 10, 0)
  if split > 0 then
    local high_in, high_last = tonumber(string.sub(incoming, 1, split)), tonumber(string.sub(last, 1, split))
    if high_in ~= high_last then
      return high_in > high_last
    end
  end
  return tonumber(string.sub(incoming, split + 1)) > tonumber(string.sub(last, split + 1))
end

local applied = 0
local last = redis.call('HGET', KEYS[3], ARGV[1])
if not last or newer(ARGV[2], last) then
  local old = redis.call('HGET', KEYS[2], ARGV[1])
  if old then
    redis.call('ZREM', KEYS[1], old)
  end
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
  applied = 1
end
if #KEYS < 4 then
  return applied
end
if redis.call('EXISTS', KEYS[4]) == 0 then
  return -1
end
return redis.call('ZREVRANK', KEYS[1], redis.call('HGET', KEYS[2], ARGV[1]))
";

/// Reads one user's member, score and rank in one atomic step (a concurrent update replaces the member).
///
/// KEYS: zset, members, ready. ARGV: user id. Returns nil when the board is not built, an empty array
/// when the user is not on it, else `{member, score, rank0}`.
const ENTRY_LUA: &str = r"
if redis.call('EXISTS', KEYS[3]) == 0 then
  return false
end
local member = redis.call('HGET', KEYS[2], ARGV[1])
if not member then
  return {}
end
local score = redis.call('ZSCORE', KEYS[1], member)
local rank = redis.call('ZREVRANK', KEYS[1], member)
if not score or not rank then
  return redis.error_reply('board: the member of ' .. ARGV[1] .. ' is missing from the sorted set')
end
return {member, score, tostring(rank)}
";

static APPLY: LazyLock<Script> = LazyLock::new(|| Script::new(APPLY_LUA));
static ENTRY: LazyLock<Script> = LazyLock::new(|| Script::new(ENTRY_LUA));

/// A user's new absolute standing, as carried by a `ScoreUpdated` event or read from `user_scores`.
///
/// Updates are absolute and versioned (never increments), so applying one twice, or an older one after
/// a newer one, changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardUpdate {
    pub user_id: String,
    pub score: i64,
    /// When the user reached `score`; equal scores rank by it.
    pub reached_at: DateTime<Utc>,
    /// The per-user version from `user_scores.version`, positive and increasing with every change.
    pub version: i64,
}

impl From<&scoreboard_db::scores::ScoreRow> for BoardUpdate {
    fn from(row: &scoreboard_db::scores::ScoreRow) -> Self {
        Self {
            user_id: row.user_id.clone(),
            score: row.score,
            reached_at: row.reached_at,
            version: row.version,
        }
    }
}

impl From<&scoreboard_domain::ScoreUpdated> for BoardUpdate {
    fn from(event: &scoreboard_domain::ScoreUpdated) -> Self {
        Self {
            user_id: event.user_id.as_str().to_owned(),
            score: event.score,
            reached_at: event.reached_at,
            version: event.version,
        }
    }
}

/// One line of the board as served to clients, whichever store answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BoardEntry {
    /// 1-based position in leaderboard order.
    pub rank: i64,
    pub user_id: String,
    pub score: i64,
    pub reached_at: DateTime<Utc>,
}

impl BoardEntry {
    /// Rows already in leaderboard order, ranked from 1.
    pub fn ranked(rows: Vec<scoreboard_db::scores::ScoreRow>) -> Vec<Self> {
        (1..)
            .zip(rows)
            .map(|(rank, row)| Self {
                rank,
                user_id: row.user_id,
                score: row.score,
                reached_at: row.reached_at,
            })
            .collect()
    }
}

/// The board in Redis: a sorted set in leaderboard order plus the bookkeeping that makes updates
/// idempotent. It only ever holds what PostgreSQL already committed; it is a cache, never the truth.
///
/// Cheap to clone (the pool is shared). Connections are opened lazily, so building one never fails
/// because Redis is down.
#[derive(Clone, Debug)]
pub struct LeaderboardCache {
    pool: Pool,
    keys: CacheKeys,
}

impl LeaderboardCache {
    /// A cache of the board under `keys`, with at most `pool_size` connections to `redis_url`.
    pub fn new(redis_url: &str, keys: CacheKeys, pool_size: usize) -> Result<Self, CacheError> {
        let connection = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT));
        let manager = Manager::new_with_config(redis_url, connection)?;
        let pool = Pool::builder(manager)
            .max_size(pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_TIMEOUT))
            .create_timeout(Some(POOL_TIMEOUT))
            .recycle_timeout(Some(POOL_TIMEOUT))
            .build()?;
        Ok(Self { pool, keys })
    }

    /// The keys this cache reads and writes.
    pub fn keys(&self) -> &CacheKeys {
        &self.keys
    }

    /// Applies `update` if it is newer than the user's last applied version: removes the user's old
    /// member and adds the new one, atomically (one Lua script). Returns whether it changed anything.
    pub async fn apply(&self, update: &BoardUpdate) -> Result<bool, CacheError> {
        Ok(self.invoke_apply(update, false).await? == 1)
    }

    /// Applies `update` like [`apply`](Self::apply) and, in the same atomic step, returns the user's rank
    /// (from 1) on the board: O(log n) in Redis, where counting the users ahead in PostgreSQL is O(rank).
    /// `None` when the board was not built from PostgreSQL (no ready marker): the rank would be wrong.
    pub async fn apply_and_rank(&self, update: &BoardUpdate) -> Result<Option<i64>, CacheError> {
        let rank0 = self.invoke_apply(update, true).await?;
        Ok((rank0 >= 0).then_some(rank0 + 1))
    }

    /// Runs the apply script for one update; `with_rank` passes the ready key, so it answers the rank.
    async fn invoke_apply(&self, update: &BoardUpdate, with_rank: bool) -> Result<i64, CacheError> {
        let member = Self::checked_member(update)?;
        let mut invocation = APPLY.prepare_invoke();
        self.bind_apply(&mut invocation, update, &member);
        if with_rank {
            invocation.key(self.keys.ready());
        }
        let mut conn = self.pool.get().await?;
        // EVALSHA, falling back to EVAL-after-load when Redis lost the script (restart, SCRIPT FLUSH).
        Ok(invocation.invoke_async(&mut conn).await?)
    }

    /// Applies many updates with the same rule as [`apply`](Self::apply), pipelined (for rebuilds). Each
    /// update is atomic on its own; the batch is not, which apply-if-newer makes harmless.
    pub async fn apply_many(&self, updates: &[BoardUpdate]) -> Result<(), CacheError> {
        let members = updates
            .iter()
            .map(Self::checked_member)
            .collect::<Result<Vec<_>, _>>()?;
        let mut conn = self.pool.get().await?;
        for (updates, members) in updates.chunks(APPLY_BATCH).zip(members.chunks(APPLY_BATCH)) {
            let invocations: Vec<_> = updates
                .iter()
                .zip(members)
                .map(|(update, member)| {
                    let mut invocation = APPLY.prepare_invoke();
                    self.bind_apply(&mut invocation, update, member);
                    invocation
                })
                .collect();
            let mut pipe = redis::pipe();
            // A pipeline does not retry EVALSHA after NOSCRIPT, so the script is loaded first, in order.
            pipe.load_script(&APPLY).ignore();
            for invocation in &invocations {
                pipe.invoke_script(invocation).ignore();
            }
            pipe.exec_async(&mut conn).await?;
        }
        Ok(())
    }

    /// The first `n` users in leaderboard order, ranked from 1; `None` when the board was not built from
    /// PostgreSQL (no ready marker), so the caller must read PostgreSQL instead.
    pub async fn top(&self, n: usize) -> Result<Option<Vec<BoardEntry>>, CacheError> {
        let mut conn = self.pool.get().await?;
        if n == 0 {
            let ready: bool = redis::cmd("EXISTS")
                .arg(self.keys.ready())
                .query_async(&mut conn)
                .await?;
            return Ok(ready.then(Vec::new));
        }
        let stop = isize::try_from(n - 1).unwrap_or(isize::MAX);
        // MULTI/EXEC: the marker and the range are read at one instant.
        let (ready, rows): (bool, Vec<(String, f64)>) = redis::pipe()
            .atomic()
            .exists(self.keys.ready())
            .zrevrange_withscores(self.keys.zset(), 0, stop)
            .query_async(&mut conn)
            .await?;
        if !ready {
            return Ok(None);
        }
        (1..)
            .zip(rows)
            .map(|(rank, (member, score))| {
                let (user_id, reached_at) = member::decode(&member)?;
                Ok(BoardEntry {
                    rank,
                    user_id,
                    score: score_from_f64(&member, score)?,
                    reached_at,
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// The user's `(score, rank)` (rank 1-based, ties broken as on the board). Outer `None`: the board
    /// was not built; inner `None`: the user is not on it.
    pub async fn standing(&self, user_id: &str) -> Result<Option<Option<(i64, i64)>>, CacheError> {
        Ok(self.entry(user_id).await?.map(|entry| entry.map(|e| (e.score, e.rank))))
    }

    /// The user's whole line of the board, read atomically. Outer `None`: the board was not built; inner
    /// `None`: the user is not on it.
    pub async fn entry(&self, user_id: &str) -> Result<Option<Option<BoardEntry>>, CacheError> {
        let mut conn = self.pool.get().await?;
        let reply: Option<Vec<String>> = ENTRY
            .key(self.keys.zset())
            .key(self.keys.members())
            .key(self.keys.ready())
            .arg(user_id)
            .invoke_async(&mut conn)
            .await?;
        let Some(fields) = reply else {
            return Ok(None);
        };
        let [member, score, rank0] = match <[String; 3]>::try_from(fields) {
            Ok(fields) => fields,
            Err(fields) if fields.is_empty() => return Ok(Some(None)),
            Err(fields) => return Err(CacheError::CorruptMember(fields.join(" "))),
        };
        let corrupt = || CacheError::CorruptMember(member.clone());
        let (decoded_user, reached_at) = member::decode(&member)?;
        if decoded_user != user_id {
            return Err(corrupt());
        }
        let score = score.parse::<f64>().map_err(|_| corrupt())?;
        let rank0 = rank0.parse::<i64>().map_err(|_| corrupt())?;
        Ok(Some(Some(BoardEntry {
            rank: rank0 + 1,
            user_id: decoded_user,
            score: score_from_f64(&member, score)?,
            reached_at,
        })))
    }

    /// Whether the ready marker is set, i.e. the set was fully built from PostgreSQL since Redis last lost
    /// its data.
    pub async fn is_ready(&self) -> Result<bool, CacheError> {
        let mut conn = self.pool.get().await?;
        Ok(redis::cmd("EXISTS")
            .arg(self.keys.ready())
            .query_async(&mut conn)
            .await?)
    }

    /// Sets the ready marker (to the time of the build, for whoever inspects it). Only after every row of
    /// PostgreSQL was applied: from then on the set may be read as the board.
    pub async fn mark_ready(&self) -> Result<(), CacheError> {
        let mut conn = self.pool.get().await?;
        redis::cmd("SET")
            .arg(self.keys.ready())
            .arg(Utc::now().to_rfc3339())
            .exec_async(&mut conn)
            .await?;
        Ok(())
    }

    /// Whether Redis answers.
    pub async fn ping(&self) -> Result<(), CacheError> {
        let mut conn = self.pool.get().await?;
        redis::cmd("PING").exec_async(&mut conn).await?;
        Ok(())
    }

    /// Deletes the board's four keys, as a `FLUSHALL` would (tests use it to clean up and to simulate it).
    pub async fn clear(&self) -> Result<(), CacheError> {
        let mut conn = self.pool.get().await?;
        redis::cmd("DEL")
            .arg(&self.keys.all()[..])
            .exec_async(&mut conn)
            .await?;
        Ok(())
    }

    fn checked_member(update: &BoardUpdate) -> Result<String, CacheError> {
        check_score(&update.user_id, update.score)?;
        if update.version <= 0 {
            return Err(CacheError::VersionOutOfRange {
                user_id: update.user_id.clone(),
                version: update.version,
            });
        }
        Ok(member::encode(&update.user_id, update.reached_at))
    }

    fn bind_apply(&self, invocation: &mut redis::ScriptInvocation<'_>, update: &BoardUpdate, member: &str) {
        invocation
            .key(self.keys.zset())
            .key(self.keys.members())
            .key(self.keys.versions())
            .arg(&update.user_id)
            .arg(update.version)
            .arg(update.score)
            .arg(member);
    }
}
