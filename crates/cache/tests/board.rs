//! The Redis board against the real Redis (`TEST_REDIS_URL`, default `redis://127.0.0.1:6379`) and a fresh
//! PostgreSQL database per test. Each test owns a random key prefix and deletes its keys when it ends,
//! even when it fails, so tests run in parallel on one shared Redis.

#![expect(clippy::expect_used, reason = "test helpers fail the test loudly when set-up breaks")]

use chrono::{DateTime, Utc};
use scoreboard_cache::redis;
use scoreboard_cache::{Board, BoardEntry, BoardUpdate, CacheError, CacheKeys, LeaderboardCache, RebuildError};
use scoreboard_db::scores;
use scoreboard_test_support::TestDb;

fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A test's database, board and Redis keys; the keys are deleted on drop.
struct Fixture {
    db: TestDb,
    cache: LeaderboardCache,
    board: Board,
}

impl Fixture {
    fn new() -> Self {
        Self::with_redis(&redis_url())
    }

    fn with_redis(url: &str) -> Self {
        let db = TestDb::create();
        let keys = CacheKeys::new(&format!("test:{}", uuid::Uuid::new_v4().simple()));
        let cache = LeaderboardCache::new(url, keys, 4).expect("build the Redis pool");
        let pool = scoreboard_db::build_pool(db.url(), 4).expect("build the PostgreSQL pool");
        let board = Board::new(cache.clone(), pool);
        Self { db, cache, board }
    }

    /// Inserts `(user_id, score, reached_at, version)` rows into `user_scores`.
    fn insert(&self, rows: &[(&str, i64, &str, i64)]) {
        let values: Vec<String> = rows
            .iter()
            .map(|(user, score, reached_at, version)| {
                format!("('{}', {score}, '{reached_at}', {version})", user.replace('\'', "''"))
            })
            .collect();
        self.db.execute(&format!(
            "INSERT INTO user_scores (user_id, score, reached_at, version) VALUES {}",
            values.join(", ")
        ));
    }

    /// The first `n` of the board as PostgreSQL reads it, ranked from 1.
    fn pg_top(&self, n: i64) -> Vec<BoardEntry> {
        let rows = scores::top(&mut self.db.connect(), n).expect("read top from PostgreSQL");
        BoardEntry::ranked(rows)
    }

    fn pg_standing(&self, user_id: &str) -> Option<scores::Standing> {
        scores::standing(&mut self.db.connect(), user_id).expect("read standing from PostgreSQL")
    }

    fn pg_user_ids(&self) -> Vec<String> {
        self.pg_top(i64::MAX).into_iter().map(|e| e.user_id).collect()
    }

    /// Redis's top, which must be built.
    async fn redis_top(&self, n: usize) -> Vec<BoardEntry> {
        self.cache
            .top(n)
            .await
            .expect("read top from Redis")
            .expect("the board is built")
    }

    fn zcard(&self) -> i64 {
        let mut conn = redis::Client::open(redis_url())
            .expect("redis url")
            .get_connection()
            .expect("connect to Redis");
        redis::cmd("ZCARD")
            .arg(self.cache.keys().zset())
            .query(&mut conn)
            .expect("ZCARD")
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // Synchronous, so it also runs while a failed test unwinds.
        let Ok(mut conn) = redis::Client::open(redis_url()).and_then(|c| c.get_connection()) else {
            return;
        };
        let deleted: redis::RedisResult<()> = redis::cmd("DEL").arg(&self.cache.keys().all()[..]).query(&mut conn);
        if let Err(err) = deleted {
            eprintln!("could not delete the test's Redis keys: {err}");
        }
    }
}

fn at(timestamp: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(timestamp)
        .expect("RFC 3339 timestamp")
        .with_timezone(&Utc)
}

fn update(user_id: &str, score: i64, reached_at: &str, version: i64) -> BoardUpdate {
    BoardUpdate {
        user_id: user_id.to_owned(),
        score,
        reached_at: at(reached_at),
        version,
    }
}

const T0: &str = "2026-11-27T10:00:00.000000Z";
const T1: &str = "2026-11-27T10:00:00.000001Z";
const T2: &str = "2026-11-27T10:00:01.500000Z";

/// Different scores, equal scores reached at different times (one microsecond apart too), and equal
/// score and time with user ids that are prefixes of each other or differ in punctuation.
const TIES: &[(&str, i64, &str, i64)] = &[
    ("low", 5, T0, 1),
    ("high", 90, T2, 3),
    ("late", 50, T2, 2),
    ("early", 50, T0, 2),
    ("micro-later", 50, T1, 2),
    ("abc", 40, T1, 1),
    ("ab", 40, T1, 1),
    ("a", 40, T1, 1),
    ("ab.", 40, T1, 1),
    ("ab-", 40, T1, 1),
    ("ab|", 40, T1, 1),
    ("Ab", 40, T1, 1),
    ("b", 40, T1, 1),
    ("é", 40, T1, 1),
    ("e", 40, T1, 1),
    ("zero", 0, T0, 1),
];

#[tokio::test]
async fn redis_top_is_exactly_postgresql_order() {
    let f = Fixture::new();
    f.insert(TIES);

    let applied = f.board.rebuild().await.expect("rebuild");

    assert_eq!(applied, TIES.len());
    let expected = f.pg_top(100);
    assert_eq!(expected.len(), TIES.len());
    assert_eq!(f.redis_top(100).await, expected);
    assert_eq!(f.redis_top(4).await, expected[..4]);
    assert_eq!(f.redis_top(0).await, []);
    assert_eq!(f.board.top(100).await.expect("board top"), expected);
    // The order itself, spelled out: score, then who reached it first, then user id bytes.
    let users: Vec<&str> = expected.iter().map(|e| e.user_id.as_str()).collect();
    assert_eq!(
        users,
        [
            "high",
            "early",
            "micro-later",
            "late",
            "Ab",
            "a",
            "ab",
            "ab-",
            "ab.",
            "abc",
            "ab|",
            "b",
            "e",
            "é",
            "low",
            "zero"
        ]
    );
}

#[tokio::test]
async fn unbuilt_board_is_never_read_from_redis() {
    let f = Fixture::new();

    assert!(f.cache.apply(&update("alice", 10, T0, 1)).await.expect("apply"));

    // Updates reach the set, but without the marker it is not the board.
    assert_eq!(f.cache.top(10).await.expect("top"), None);
    assert_eq!(f.cache.standing("alice").await.expect("standing"), None);
    assert!(!f.cache.is_ready().await.expect("is_ready"));
    f.cache.mark_ready().await.expect("mark ready");
    assert!(f.cache.is_ready().await.expect("is_ready"));
    assert_eq!(f.redis_top(10).await.len(), 1);
    assert_eq!(f.cache.standing("alice").await.expect("standing"), Some(Some((10, 1))));
}

#[tokio::test]
async fn apply_is_idempotent_and_order_safe() {
    let f = Fixture::new();
    f.cache.mark_ready().await.expect("mark ready");
    let v1 = update("alice", 10, T0, 1);
    let v2 = update("alice", 30, T2, 2);

    assert!(f.cache.apply(&v2).await.expect("apply v2"));
    assert!(!f.cache.apply(&v1).await.expect("apply stale v1"));
    assert!(!f.cache.apply(&v2).await.expect("apply v2 again"));

    let expected = vec![BoardEntry {
        rank: 1,
        user_id: "alice".into(),
        score: 30,
        reached_at: at(T2),
    }];
    assert_eq!(f.redis_top(10).await, expected);
    assert_eq!(f.zcard(), 1, "one member per user");

    // A newer version replaces the member (old one removed), whatever the score does.
    assert!(f.cache.apply(&update("alice", 25, T1, 3)).await.expect("apply v3"));
    assert_eq!(f.zcard(), 1);
    assert_eq!(f.cache.standing("alice").await.expect("standing"), Some(Some((25, 1))));
}

#[tokio::test]
async fn versions_compare_as_integers_at_any_size() {
    let f = Fixture::new();
    f.cache.mark_ready().await.expect("mark ready");

    // 10 after 9: a byte-wise comparison of "10" and "9" would refuse it.
    assert!(f.cache.apply(&update("u", 9, T0, 9)).await.expect("v9"));
    assert!(f.cache.apply(&update("u", 10, T0, 10)).await.expect("v10"));
    assert!(!f.cache.apply(&update("u", 9, T0, 9)).await.expect("v9 again"));
    // Versions that differ beyond 2^53, where a Lua number would round them equal.
    let big = 9_000_000_000_000_000_000;
    assert!(f.cache.apply(&update("u", 11, T0, big)).await.expect("big"));
    assert!(f.cache.apply(&update("u", 12, T0, big + 1)).await.expect("big + 1"));
    assert!(!f.cache.apply(&update("u", 11, T0, big)).await.expect("big again"));
    assert!(f.cache.apply(&update("u", 13, T0, i64::MAX)).await.expect("max"));
    assert_eq!(f.cache.standing("u").await.expect("standing"), Some(Some((13, 1))));
}

#[tokio::test]
async fn updates_redis_cannot_hold_exactly_are_refused() {
    let f = Fixture::new();

    let too_big = f.cache.apply(&update("u", (1 << 53) + 1, T0, 1)).await;
    let no_version = f.cache.apply(&update("u", 1, T0, 0)).await;

    assert!(matches!(too_big, Err(CacheError::ScoreOutOfRange { .. })));
    assert!(matches!(no_version, Err(CacheError::VersionOutOfRange { .. })));
    assert_eq!(f.zcard(), 0);
}

#[tokio::test]
async fn flushed_board_is_answered_from_postgresql_and_rebuilt() {
    let f = Fixture::new();
    f.insert(TIES);
    f.board.rebuild().await.expect("first build");

    f.cache.clear().await.expect("clear (as FLUSHALL)");
    // An update arriving after the flush, before anyone reads: it must not pass for the board.
    f.db.execute("UPDATE user_scores SET score = 95, version = 2 WHERE user_id = 'low'");
    f.board.apply(&update("low", 95, "2026-11-27T10:00:00Z", 2)).await;
    assert_eq!(f.cache.top(10).await.expect("top"), None);

    let top = f.board.top(100).await.expect("board top");

    let expected = f.pg_top(100);
    assert_eq!(top, expected);
    assert_eq!(top[0].user_id, "low");
    assert!(f.cache.is_ready().await.expect("is_ready"), "marker set");
    assert_eq!(f.redis_top(100).await, expected, "Redis rebuilt");
    assert_eq!(f.zcard(), i64::try_from(TIES.len()).expect("small"));
    assert!(!f.board.needs_rebuild());
}

#[tokio::test]
async fn flushed_board_is_rebuilt_on_a_standing_read_too() {
    let f = Fixture::new();
    f.insert(TIES);

    let standing = f.board.standing("ab").await.expect("standing");

    let pg = f.pg_standing("ab").expect("ab scored");
    assert_eq!(standing.map(|e| (e.score, e.rank)), Some((pg.score, pg.rank)));
    assert!(f.cache.is_ready().await.expect("is_ready"));
}

#[tokio::test]
async fn rebuild_pages_through_the_whole_board() {
    let f = Fixture::new();
    // 12,345 users over 3 pages, with large tie groups straddling the page boundaries.
    f.db.execute(
        "INSERT INTO user_scores (user_id, score, reached_at, version)
         SELECT 'user-' || g, g % 7, TIMESTAMPTZ '2026-11-27 10:00:00+00' + (g % 3) * INTERVAL '1 second', 1
         FROM generate_series(1, 12345) AS g",
    );

    let applied = f.board.rebuild().await.expect("rebuild");

    assert_eq!(applied, 12_345);
    assert_eq!(f.zcard(), 12_345);
    assert_eq!(f.redis_top(20_000).await, f.pg_top(20_000));
}

#[tokio::test]
async fn page_after_walks_the_board_in_order() {
    let f = Fixture::new();
    f.insert(TIES);
    let mut conn = f.db.connect();

    for limit in [1, 2, 3, 5, 16, 17] {
        let mut walked = Vec::new();
        let mut after: Option<scores::ScoreRow> = None;
        loop {
            let page = scores::page_after(&mut conn, after.as_ref(), limit).expect("page");
            assert!(page.len() <= usize::try_from(limit).expect("small"));
            let Some(last) = page.last().cloned() else {
                break;
            };
            walked.extend(page.into_iter().map(|row| row.user_id));
            after = Some(last);
        }
        assert_eq!(walked, f.pg_user_ids(), "pages of {limit}");
    }
}

#[tokio::test]
async fn rebuild_never_overwrites_a_newer_update() {
    let f = Fixture::new();
    f.insert(&[("alice", 10, T0, 1), ("bob", 20, T0, 1)]);
    // Alice's v2 reached Redis while the rebuild was reading her older row.
    f.cache.apply(&update("alice", 30, T2, 2)).await.expect("apply v2");

    f.board.rebuild().await.expect("rebuild");

    let top = f.redis_top(10).await;
    assert_eq!(top[0].user_id, "alice");
    assert_eq!((top[0].score, top[0].reached_at), (30, at(T2)));
    assert_eq!(top[1].user_id, "bob");
}

#[tokio::test]
async fn a_failed_write_sends_reads_to_postgresql_until_rebuilt() {
    let f = Fixture::new();
    f.insert(TIES);
    f.board.rebuild().await.expect("build");
    // PostgreSQL commits Low's new score, but its update never reaches Redis (here: refused as
    // malformed, which Board::apply treats like any Redis failure).
    f.db.execute("UPDATE user_scores SET score = 99, version = 2 WHERE user_id = 'low'");
    f.board.apply(&update("low", 99, T0, 0)).await;
    assert!(f.board.needs_rebuild());

    let top = f.board.top(3).await.expect("board top");

    assert_eq!(top, f.pg_top(3));
    assert_eq!(top[0].user_id, "low");
    assert!(!f.board.needs_rebuild(), "the read rebuilt the board");
    assert_eq!(f.redis_top(100).await, f.pg_top(100));
}

#[tokio::test]
async fn a_score_redis_cannot_hold_keeps_reads_on_postgresql() {
    let f = Fixture::new();
    f.insert(TIES);
    f.insert(&[("whale", (1 << 53) + 1, T0, 1)]);

    let rebuilt = f.board.rebuild().await;
    let top = f.board.top(3).await.expect("board top");

    assert!(matches!(
        rebuilt,
        Err(RebuildError::Cache(CacheError::ScoreOutOfRange { .. }))
    ));
    assert!(f.board.needs_rebuild());
    assert_eq!(top, f.pg_top(3));
    assert_eq!(top[0].score, (1 << 53) + 1);
}

#[tokio::test]
async fn redis_down_answers_from_postgresql() {
    let f = Fixture::with_redis("redis://127.0.0.1:1");
    f.insert(TIES);

    // Writes never fail the caller; they mark the board for rebuild.
    f.board.apply(&update("low", 5, T0, 1)).await;
    assert!(f.board.needs_rebuild());
    let top = f.board.top(5).await.expect("board top");
    let standing = f.board.standing("ab-").await.expect("standing");
    let nobody = f.board.standing("nobody").await.expect("standing");

    assert_eq!(top, f.pg_top(5));
    let pg = f.pg_standing("ab-").expect("ab- scored");
    assert_eq!(
        standing,
        Some(BoardEntry {
            rank: pg.rank,
            user_id: pg.user_id,
            score: pg.score,
            reached_at: pg.reached_at,
        })
    );
    assert_eq!(nobody, None);
    assert!(f.board.rebuild().await.is_err());
    assert!(matches!(f.cache.ping().await, Err(CacheError::Pool(_))));
}

#[tokio::test]
async fn standing_rank_matches_postgresql_including_ties() {
    let f = Fixture::new();
    f.insert(TIES);
    f.board.rebuild().await.expect("rebuild");

    for (user, ..) in TIES {
        let pg = f.pg_standing(user).expect("scored");
        assert_eq!(
            f.cache.standing(user).await.expect("standing"),
            Some(Some((pg.score, pg.rank))),
            "{user}"
        );
        let entry = f
            .board
            .standing(user)
            .await
            .expect("board standing")
            .expect("on the board");
        assert_eq!(
            (entry.rank, entry.score, entry.reached_at),
            (pg.rank, pg.score, pg.reached_at),
            "{user}"
        );
    }
    assert_eq!(f.cache.standing("nobody").await.expect("standing"), Some(None));
    assert_eq!(f.board.standing("nobody").await.expect("standing"), None);
    // Ranks agree with positions in the top list.
    for entry in f.redis_top(100).await {
        assert_eq!(
            f.cache.standing(&entry.user_id).await.expect("standing"),
            Some(Some((entry.score, entry.rank)))
        );
    }
}

#[tokio::test]
async fn apply_and_rank_answers_postgresql_ranks_and_only_from_a_built_board() {
    let f = Fixture::new();
    let (first, rest) = TIES.split_first().expect("ties");
    f.insert(rest);
    let (user, score, reached_at, version) = *first;
    let change = update(user, score, reached_at, version);

    // Not built yet: no rank from Redis, though the update is applied.
    assert_eq!(f.cache.apply_and_rank(&change).await.expect("apply"), None);
    assert_eq!(f.board.apply_and_rank(&change).await, None);

    f.insert(&[*first]);
    f.board.rebuild().await.expect("rebuild");
    for (user, score, reached_at, version) in TIES {
        let pg = f.pg_standing(user).expect("scored");
        // A repeated update changes nothing and still answers the rank.
        let rank = f
            .board
            .apply_and_rank(&update(user, *score, reached_at, *version))
            .await;
        assert_eq!(rank, Some(pg.rank), "{user}");
    }

    // A user moving up: the answer is the rank after the change, as PostgreSQL would count it.
    let (last_user, ..) = *TIES.last().expect("ties");
    let top_score = TIES.iter().map(|t| t.1).max().expect("scores");
    f.db.execute(&format!(
        "UPDATE user_scores SET score = {}, version = version + 1 WHERE user_id = '{}'",
        top_score + 1,
        last_user.replace('\'', "''")
    ));
    let moved = f.pg_standing(last_user).expect("scored");
    let rank = f
        .board
        .apply_and_rank(&BoardUpdate {
            user_id: last_user.to_owned(),
            score: moved.score,
            reached_at: moved.reached_at,
            version: i64::MAX,
        })
        .await;
    assert_eq!((rank, moved.rank), (Some(1), 1));
}

#[tokio::test]
async fn apply_and_rank_without_redis_leaves_the_rank_to_postgresql() {
    let f = Fixture::with_redis("redis://127.0.0.1:1");
    f.insert(TIES);
    let (user, score, reached_at, version) = TIES[0];

    assert_eq!(
        f.board.apply_and_rank(&update(user, score, reached_at, version)).await,
        None
    );
    assert!(f.board.needs_rebuild(), "the missed write is remembered");
}
