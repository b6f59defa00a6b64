//! [`Board`]: the leaderboard read through Redis, answered from PostgreSQL whenever Redis cannot be
//! trusted, and rebuilt from PostgreSQL when Redis lost data or missed an update.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use scoreboard_db::scores::{self, ScoreRow};
use scoreboard_db::{DbError, PgPool};
use tokio::sync::Mutex;

use crate::{BoardEntry, BoardUpdate, CacheError, LeaderboardCache};

/// Rows read from PostgreSQL per page while rebuilding.
pub const REBUILD_PAGE_SIZE: i64 = 5_000;

/// After a failed rebuild, reads go to PostgreSQL without trying Redis again for this long, so an outage
/// costs one failed attempt per interval rather than one per request.
const REBUILD_RETRY_AFTER: Duration = Duration::from_secs(2);

/// Why a rebuild failed; the board keeps answering from PostgreSQL and tries again later.
#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    #[error("cannot read the board from PostgreSQL")]
    Db(#[from] DbError),
    #[error("cannot write the board to Redis")]
    Cache(#[from] CacheError),
}

/// State guarded by the rebuild lock.
#[derive(Debug, Default)]
struct RebuildState {
    last_failure: Option<Instant>,
}

/// The leaderboard: reads from Redis when it holds the whole, current board, otherwise from PostgreSQL
/// (the truth), and repairs Redis by rebuilding it from PostgreSQL.
///
/// Redis is best effort: no method fails because of it. A write that did not reach Redis marks the board
/// stale (`needs_rebuild`), and stale or unbuilt boards are never read from Redis until rebuilt.
#[derive(Debug, Clone)]
pub struct Board {
    cache: LeaderboardCache,
    pool: PgPool,
    /// Redis may be missing an update: read PostgreSQL until a rebuild succeeds.
    needs_rebuild: Arc<AtomicBool>,
    /// Counts failed writes, so a rebuild that overlapped one does not declare the board current.
    failed_writes: Arc<AtomicU64>,
    /// One rebuild at a time (single flight); holds when the last one failed.
    rebuild_lock: Arc<Mutex<RebuildState>>,
}

impl Board {
    /// The board served from `cache`, with PostgreSQL behind `pool` as the fallback and the source of
    /// rebuilds.
    pub fn new(cache: LeaderboardCache, pool: PgPool) -> Self {
        Self {
            cache,
            pool,
            needs_rebuild: Arc::new(AtomicBool::new(false)),
            failed_writes: Arc::new(AtomicU64::new(0)),
            rebuild_lock: Arc::new(Mutex::new(RebuildState::default())),
        }
    }

    /// The Redis side, for readiness checks and tests.
    pub fn cache(&self) -> &LeaderboardCache {
        &self.cache
    }

    /// Whether Redis is known to miss an update (a write failed since the last successful rebuild).
    pub fn needs_rebuild(&self) -> bool {
        self.needs_rebuild.load(Ordering::SeqCst)
    }

    /// Applies a committed score change to Redis. Never fails: on a Redis error it logs and marks the
    /// board for rebuild, since PostgreSQL already holds the change.
    pub async fn apply(&self, update: &BoardUpdate) {
        if let Err(err) = self.cache.apply(update).await {
            self.write_failed(&err, std::slice::from_ref(update));
        }
    }

    /// Applies a committed change like [`apply`](Self::apply) and returns the user's rank from Redis, in
    /// one round trip; `None` when Redis cannot be trusted for it (not built, a write failed since the last
    /// rebuild, or unreachable), and the caller asks PostgreSQL.
    pub async fn apply_and_rank(&self, update: &BoardUpdate) -> Option<i64> {
        if self.needs_rebuild() {
            self.apply(update).await;
            return None;
        }
        match self.cache.apply_and_rank(update).await {
            Ok(rank) => rank,
            Err(err) => {
                self.write_failed(&err, std::slice::from_ref(update));
                None
            }
        }
    }

    /// Applies a burst of committed changes in one Redis round trip; like [`apply`](Self::apply) it never
    /// fails, and a Redis error marks the board for rebuild.
    pub async fn apply_all(&self, updates: &[BoardUpdate]) {
        match updates {
            [] => {}
            [update] => self.apply(update).await,
            _ => {
                if let Err(err) = self.cache.apply_many(updates).await {
                    self.write_failed(&err, updates);
                }
            }
        }
    }

    /// The first `n` users in leaderboard order, ranked from 1: from Redis when it holds the current
    /// board (building it first if needed), otherwise from PostgreSQL.
    pub async fn top(&self, n: usize) -> Result<Vec<BoardEntry>, DbError> {
        if let Some(entries) = self.read_cache(|| self.cache.top(n)).await {
            return Ok(entries);
        }
        let limit = i64::try_from(n).unwrap_or(i64::MAX);
        let rows = scoreboard_db::run_blocking(&self.pool, move |conn| Ok(scores::top(conn, limit)?)).await?;
        Ok(BoardEntry::ranked(rows))
    }

    /// The user's line of the board (score, rank, when reached), or `None` if they have never scored;
    /// from Redis when it holds the current board, otherwise from PostgreSQL.
    pub async fn standing(&self, user_id: &str) -> Result<Option<BoardEntry>, DbError> {
        if let Some(entry) = self.read_cache(|| self.cache.entry(user_id)).await {
            return Ok(entry);
        }
        self.standing_in_database(user_id).await
    }

    /// The user's line of the board counted in PostgreSQL, whatever Redis holds (O(rank)): for when Redis
    /// cannot be trusted.
    pub async fn standing_in_database(&self, user_id: &str) -> Result<Option<BoardEntry>, DbError> {
        let lookup = user_id.to_owned();
        let standing =
            scoreboard_db::run_blocking(&self.pool, move |conn| Ok(scores::standing(conn, &lookup)?)).await?;
        Ok(standing.map(|s| BoardEntry {
            rank: s.rank,
            user_id: s.user_id,
            score: s.score,
            reached_at: s.reached_at,
        }))
    }

    /// Rebuilds the Redis board from PostgreSQL and returns the number of rows applied.
    ///
    /// Every row of `user_scores` is read in leaderboard order, [`REBUILD_PAGE_SIZE`] at a time (keyset
    /// pagination), and applied to the *live* keys with apply-if-newer, so score updates applied while
    /// the rebuild runs are never lost or overwritten by older rows. (Building in a temporary key and
    /// renaming it over the live one would drop exactly those updates.) Then the ready marker is set.
    ///
    /// Waits for a rebuild already running, then rebuilds again: callers that only need *a* current
    /// board go through [`top`](Self::top) and [`standing`](Self::standing).
    pub async fn rebuild(&self) -> Result<usize, RebuildError> {
        let mut state = self.rebuild_lock.lock().await;
        self.rebuild_locked(&mut state).await
    }

    /// Reads through Redis: `Some` with Redis's answer when it holds the whole current board, `None` when
    /// the caller must read PostgreSQL.
    async fn read_cache<T, F, Fut>(&self, read: F) -> Option<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Option<T>, CacheError>>,
    {
        if self.needs_rebuild() && !self.ensure_built().await {
            return None;
        }
        match read().await {
            Ok(Some(value)) => return Some(value),
            Ok(None) => {}
            Err(err) => {
                tracing::warn!(error = %report(&err), "cannot read the board from Redis; reading PostgreSQL");
                self.mark_stale();
                return None;
            }
        }
        // Not built (a fresh or flushed Redis): build it, then read again.
        if !self.ensure_built().await {
            return None;
        }
        match read().await {
            Ok(value) => value,
            Err(err) => {
                tracing::warn!(error = %report(&err), "cannot read the board from Redis; reading PostgreSQL");
                self.mark_stale();
                None
            }
        }
    }

    /// Makes sure Redis holds the whole current board; returns whether it does. Single flight: while
    /// another task rebuilds, returns `false` at once (the caller reads PostgreSQL, which is cheap for
    /// top-N and rank) instead of queueing behind it.
    async fn ensure_built(&self) -> bool {
        let Ok(mut state) = self.rebuild_lock.try_lock() else {
            return false;
        };
        // Another task may have rebuilt between our check and the lock: don't repeat its work.
        if !self.needs_rebuild() {
            match self.cache.is_ready().await {
                Ok(true) => return true,
                Ok(false) => {}
                Err(err) => {
                    tracing::warn!(error = %report(&err), "cannot reach Redis; reading PostgreSQL");
                    self.mark_stale();
                    return false;
                }
            }
        }
        if state.last_failure.is_some_and(|at| at.elapsed() < REBUILD_RETRY_AFTER) {
            return false;
        }
        match self.rebuild_locked(&mut state).await {
            Ok(rows) => {
                tracing::info!(rows, "rebuilt the Redis board from PostgreSQL");
                // A write that failed during the rebuild leaves it stale again.
                !self.needs_rebuild()
            }
            Err(err) => {
                tracing::warn!(error = %report(&err), "could not rebuild the Redis board; reading PostgreSQL");
                false
            }
        }
    }

    async fn rebuild_locked(&self, state: &mut RebuildState) -> Result<usize, RebuildError> {
        let failed_before = self.failed_writes.load(Ordering::SeqCst);
        match self.copy_all().await {
            Ok(rows) => {
                state.last_failure = None;
                self.needs_rebuild.store(false, Ordering::SeqCst);
                // A write that failed while we copied may have missed both Redis and our read of its
                // row: keep the board stale. (`mark_stale` counts before setting the flag, and we clear
                // before checking the count, so no failed write is ever cleared away unseen.)
                if self.failed_writes.load(Ordering::SeqCst) != failed_before {
                    self.needs_rebuild.store(true, Ordering::SeqCst);
                }
                Ok(rows)
            }
            Err(err) => {
                state.last_failure = Some(Instant::now());
                self.needs_rebuild.store(true, Ordering::SeqCst);
                Err(err)
            }
        }
    }

    async fn copy_all(&self) -> Result<usize, RebuildError> {
        // Fail fast on a down Redis, before reading a page from PostgreSQL for nothing.
        self.cache.ping().await?;
        let mut after: Option<ScoreRow> = None;
        let mut applied = 0;
        loop {
            let cursor = after.take();
            let page = scoreboard_db::run_blocking(&self.pool, move |conn| {
                Ok(scores::page_after(conn, cursor.as_ref(), REBUILD_PAGE_SIZE)?)
            })
            .await?;
            let updates: Vec<BoardUpdate> = page.iter().map(BoardUpdate::from).collect();
            self.cache.apply_many(&updates).await?;
            applied += page.len();
            if page.len() < usize::try_from(REBUILD_PAGE_SIZE).unwrap_or(usize::MAX) {
                break;
            }
            after = page.into_iter().last();
        }
        self.cache.mark_ready().await?;
        Ok(applied)
    }

    /// Redis did not take `updates`: PostgreSQL holds them, so log and read PostgreSQL until a rebuild.
    fn write_failed(&self, err: &CacheError, updates: &[BoardUpdate]) {
        let first = updates.first();
        tracing::warn!(
            error = %report(err),
            updates = updates.len(),
            user_id = first.map_or("", |update| update.user_id.as_str()),
            version = first.map_or(0, |update| update.version),
            "could not apply score updates to Redis; reading PostgreSQL until the board is rebuilt"
        );
        self.mark_stale();
    }

    fn mark_stale(&self) {
        self.failed_writes.fetch_add(1, Ordering::SeqCst);
        self.needs_rebuild.store(true, Ordering::SeqCst);
    }
}

/// An error with its causes, for logs (the variants' own messages leave the cause to `source`).
fn report(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(err) = cause {
        text.push_str(": ");
        text.push_str(&err.to_string());
        cause = err.source();
    }
    text
}
