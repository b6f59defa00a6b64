//! `scoreboard-bench`: drives the real system over HTTP and WebSocket and checks it afterwards.
//!
//! Simulated players sign in (`POST /api/dev/token`), then repeat: start a `demo` action, solve its
//! challenge, complete it, redeem the key. Open loop (`--rate`, latency also measured from each
//! iteration's intended start) or closed loop (`--concurrency`). `--watchers` WebSocket clients record
//! every snapshot. At the end it reports latencies, end-to-end and fan-out times and the services'
//! CPU and peak memory, then checks the system's state in PostgreSQL, the leaderboard API and every
//! watcher's last snapshot; it exits 1 if a check fails.
//!
//! `--redeem-only N` measures the redeem alone: before the timed part it mints N pending keys per player
//! (hot players more, in proportion to their share of the iterations) directly in PostgreSQL, then each
//! iteration is only `POST /api/scores/redeem` of that player's next key.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

use scoreboard_bench::net::{authority, open_socket, source_address};
use scoreboard_bench::procs::{clock_ticks, read_pids, sample_process, ProcSample};
use scoreboard_bench::stats::{hist, hist_json, hist_row, lock, micros, BoxError, Res};

const USAGE: &str = "usage: scoreboard-bench --base-url URL --database-url URL (--rate R | --concurrency C)
  [--duration S=10] [--users N=2000] [--hot-users H=5] [--hot-every K=10] [--watchers N=0]
  [--user-prefix P=bench-] [--settle S=15] [--origin URL] [--pids-file FILE] [--json FILE] [--label TEXT]
  [--redeem-only N (keys pre-minted per player; iterations only redeem)] [--sign-in-url URL=base URL]
  [--overload true (failed requests are reported, not a failed check: a run at or past the maximum)]";

#[derive(Debug, Clone)]
struct Args {
    base_url: String,
    database_url: String,
    rate: Option<f64>,
    concurrency: Option<usize>,
    duration: f64,
    users: usize,
    hot_users: usize,
    hot_every: u64,
    watchers: usize,
    user_prefix: String,
    settle: f64,
    origin: String,
    pids_file: Option<String>,
    json: Option<String>,
    label: String,
    /// Keys pre-minted per (cold) player; iterations only redeem.
    redeem_only: Option<u64>,
    /// Where `POST /api/dev/token` is served (the gateway), when `--base-url` is a score replica.
    sign_in_url: String,
    /// Offered load at or past the maximum: requests that fail (a pool timeout's 503) are expected and
    /// reported; every other check still decides.
    overload: bool,
}

fn parse_args() -> Res<Args> {
    let mut map: HashMap<String, String> = HashMap::new();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let name = flag
            .strip_prefix("--")
            .ok_or_else(|| format!("unexpected argument {flag}"))?;
        let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
        map.insert(name.to_string(), value);
    }
    let mut take = |name: &str| map.remove(name);
    let base_url = take("base-url").ok_or("--base-url is required")?;
    let base_url = base_url.trim_end_matches('/').to_string();
    let args = Args {
        database_url: take("database-url").ok_or("--database-url is required")?,
        rate: take("rate").map(|v| v.parse()).transpose()?,
        concurrency: take("concurrency").map(|v| v.parse()).transpose()?,
        duration: take("duration").map(|v| v.parse()).transpose()?.unwrap_or(10.0),
        users: take("users").map(|v| v.parse()).transpose()?.unwrap_or(2000),
        hot_users: take("hot-users").map(|v| v.parse()).transpose()?.unwrap_or(5),
        hot_every: take("hot-every").map(|v| v.parse()).transpose()?.unwrap_or(10),
        watchers: take("watchers").map(|v| v.parse()).transpose()?.unwrap_or(0),
        user_prefix: take("user-prefix").unwrap_or_else(|| "bench-".to_string()),
        settle: take("settle").map(|v| v.parse()).transpose()?.unwrap_or(15.0),
        origin: take("origin").unwrap_or_else(|| base_url.clone()),
        pids_file: take("pids-file"),
        json: take("json"),
        label: take("label").unwrap_or_default(),
        redeem_only: take("redeem-only").map(|v| v.parse()).transpose()?,
        sign_in_url: take("sign-in-url")
            .map(|u| u.trim_end_matches('/').to_string())
            .unwrap_or_else(|| base_url.clone()),
        overload: take("overload").map(|v| v.parse()).transpose()?.unwrap_or(false),
        base_url,
    };
    if let Some(extra) = map.keys().next() {
        return Err(format!("unknown option --{extra}").into());
    }
    if args.rate.is_some() == args.concurrency.is_some() {
        return Err("give exactly one of --rate and --concurrency".into());
    }
    if args.users <= args.hot_users || args.hot_every == 0 {
        return Err("--users must exceed --hot-users, --hot-every must be positive".into());
    }
    if args.redeem_only == Some(0) {
        return Err("--redeem-only needs at least 1 key per player".into());
    }
    Ok(args)
}

/// A hot user's redeem whose new rank was in the top 10, so watchers can see it.
#[derive(Debug, Clone)]
struct Observable {
    user: usize,
    score: i64,
    sent: Instant,
    responded: Instant,
}

#[derive(Debug)]
struct Recorder {
    start: Histogram<u64>,
    complete: Histogram<u64>,
    redeem: Histogram<u64>,
    iteration: Histogram<u64>,
    tally: Vec<i64>,
    uncertain: Vec<i64>,
    errors: HashMap<String, u64>,
    observable: Vec<Observable>,
}

#[derive(Debug)]
struct Shared {
    client: reqwest::Client,
    base: String,
    tokens: Vec<String>,
    users: usize,
    hot_users: usize,
    hot_every: u64,
    rec: Mutex<Recorder>,
    redeems: AtomicU64,
    errors: AtomicU64,
    /// Redeem-only mode: the pre-minted keys.
    keys: Option<Keys>,
}

/// Pre-minted keys: player `u`'s `j`-th key is `Keys::key(u, j)`, `j < minted[u]`.
#[derive(Debug)]
struct Keys {
    nonce: String,
    minted: Vec<u64>,
    next: Vec<AtomicU64>,
    amount: i64,
    exhausted: std::sync::atomic::AtomicBool,
}

impl Keys {
    /// 43 characters of `[A-Za-z0-9]`, the shape of a real key (`ScoreKey::ENCODED_LEN`).
    fn key(&self, user: usize, j: u64) -> String {
        format!("rk{}u{user:09}n{j:014}", self.nonce)
    }
}

impl Shared {
    fn pick_user(&self, n: u64) -> usize {
        let cold = (self.users - self.hot_users) as u64;
        if self.hot_users > 0 && n % self.hot_every == 0 {
            ((n / self.hot_every) % self.hot_users as u64) as usize
        } else {
            self.hot_users + (n % cold) as usize
        }
    }

    fn error(&self, what: &str) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        *lock(&self.rec).errors.entry(what.to_string()).or_default() += 1;
    }

    async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Result<(u16, Value), reqwest::Error> {
        let mut request = self.client.post(format!("{}{path}", self.base)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
    }
}

/// "What is A + B?" -> A + B.
fn solve(prompt: &str) -> Option<i64> {
    let numbers: Vec<i64> = prompt
        .split(|c: char| !c.is_ascii_digit() && c != '-')
        .filter_map(|part| part.parse().ok())
        .collect();
    (numbers.len() == 2).then(|| numbers[0] + numbers[1])
}

/// One player iteration: start, complete, redeem. `intended` is when it should have started.
async fn iteration(sh: &Shared, user: usize, intended: Instant) {
    let token = sh.tokens[user].as_str();
    let t0 = Instant::now();
    let started = match sh.post("/api/actions", Some(token), &json!({"kind": "demo"})).await {
        Ok((201, body)) => body,
        Ok((status, _)) => return sh.error(&format!("start {status}")),
        Err(_) => return sh.error("start transport"),
    };
    lock(&sh.rec).start.saturating_record(micros(t0.elapsed()));
    let (Some(id), Some(answer)) = (
        started["action_id"].as_str(),
        started["challenge"]["prompt"].as_str().and_then(solve),
    ) else {
        return sh.error("start unreadable");
    };
    let t1 = Instant::now();
    let path = format!("/api/actions/{id}/complete");
    let completed = match sh
        .post(&path, Some(token), &json!({"answer": answer.to_string()}))
        .await
    {
        Ok((201, body)) => body,
        Ok((status, _)) => return sh.error(&format!("complete {status}")),
        Err(_) => return sh.error("complete transport"),
    };
    lock(&sh.rec).complete.saturating_record(micros(t1.elapsed()));
    let (Some(key), Some(amount)) = (completed["key"].as_str(), completed["amount"].as_i64()) else {
        return sh.error("complete unreadable");
    };
    redeem(sh, user, key, amount, intended).await;
}

/// Redeem-only iteration: the player's next pre-minted key. Returns false once the player has none left.
async fn redeem_only_iteration(sh: &Shared, keys: &Keys, user: usize, intended: Instant) -> bool {
    let j = keys.next[user].fetch_add(1, Ordering::Relaxed);
    if j >= keys.minted[user] {
        keys.exhausted.store(true, Ordering::Relaxed);
        return false;
    }
    redeem(sh, user, &keys.key(user, j), keys.amount, intended).await;
    true
}

/// `POST /api/scores/redeem`; tallies the amount on success (and as uncertain on a 5xx or no answer).
async fn redeem(sh: &Shared, user: usize, key: &str, amount: i64, intended: Instant) {
    let token = sh.tokens[user].as_str();
    let t2 = Instant::now();
    let result = sh.post("/api/scores/redeem", Some(token), &json!({"key": key})).await;
    let done = Instant::now();
    match result {
        Ok((200, body)) => {
            let (Some(got), Some(score)) = (body["amount"].as_i64(), body["score"].as_i64()) else {
                lock(&sh.rec).uncertain[user] += amount;
                return sh.error("redeem unreadable");
            };
            let rank = body["rank"].as_i64().unwrap_or(i64::MAX);
            let mut rec = lock(&sh.rec);
            rec.redeem.saturating_record(micros(done - t2));
            rec.iteration
                .saturating_record(micros(done.saturating_duration_since(intended)));
            rec.tally[user] += got;
            // Only the few hot users stay in the top region, so only their redeems are sure to be
            // seen by watchers (a cold user at rank 10 may be pushed out before the next snapshot).
            if user < sh.hot_users && rank <= 10 {
                rec.observable.push(Observable {
                    user,
                    score,
                    sent: t2,
                    responded: done,
                });
            }
            drop(rec);
            sh.redeems.fetch_add(1, Ordering::Relaxed);
        }
        // A 5xx or a lost answer may or may not have committed.
        Ok((status, _)) if status >= 500 => {
            lock(&sh.rec).uncertain[user] += amount;
            sh.error(&format!("redeem {status}"));
        }
        Ok((status, _)) => sh.error(&format!("redeem {status}")),
        Err(_) => {
            lock(&sh.rec).uncertain[user] += amount;
            sh.error("redeem transport");
        }
    }
}

#[derive(Debug, Clone)]
struct Snap {
    at: Instant,
    epoch: String,
    version: u64,
    entries: Vec<(String, i64)>,
    on_connect: bool,
}

#[derive(Debug, Default)]
struct WatcherState {
    snaps: Vec<Snap>,
    connected: bool,
    closed: Option<String>,
}

/// A snapshot frame as sent, read without building a JSON tree (a watcher reads thousands a second).
#[derive(serde::Deserialize)]
struct WireSnapshot<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    epoch: Cow<'a, str>,
    version: u64,
    #[serde(borrow)]
    entries: Vec<WireEntry<'a>>,
}

#[derive(serde::Deserialize)]
struct WireEntry<'a> {
    #[serde(borrow)]
    user_id: Cow<'a, str>,
    score: i64,
}

fn parse_snapshot(text: &str, at: Instant, on_connect: bool) -> Option<Snap> {
    let wire: WireSnapshot<'_> = serde_json::from_str(text).ok()?;
    if wire.kind != "snapshot" {
        return None;
    }
    Some(Snap {
        at,
        epoch: wire.epoch.into_owned(),
        version: wire.version,
        entries: wire
            .entries
            .into_iter()
            .map(|entry| (entry.user_id.into_owned(), entry.score))
            .collect(),
        on_connect,
    })
}

async fn watcher(
    url: String,
    origin: String,
    source: Option<IpAddr>,
    state: Arc<Mutex<WatcherState>>,
    mut stop: watch::Receiver<bool>,
) {
    let closed = |reason: String| lock(&state).closed = Some(reason);
    let mut request = match url.as_str().into_client_request() {
        Ok(r) => r,
        Err(e) => return closed(format!("bad url: {e}")),
    };
    let headers = request.headers_mut();
    headers.insert("sec-websocket-protocol", HeaderValue::from_static("scoreboard.v1"));
    match HeaderValue::from_str(&origin) {
        Ok(value) => headers.insert("origin", value),
        Err(e) => return closed(format!("bad origin: {e}")),
    };
    let target = authority(&url);
    let stream = match open_socket(target, source).await {
        Ok(stream) => stream,
        Err(e) => return closed(format!("connect {target} from {source:?}: {e}")),
    };
    let mut socket = match tokio_tungstenite::client_async(request, stream).await {
        Ok((socket, _)) => socket,
        Err(e) => return closed(format!("handshake: {e}")),
    };
    lock(&state).connected = true;
    let mut first = true;
    loop {
        tokio::select! {
            _ = stop.changed() => {
                let _ = socket.close(None).await;
                return;
            }
            message = socket.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    let at = Instant::now();
                    if let Some(snap) = parse_snapshot(text.as_str(), at, first) {
                        lock(&state).snaps.push(snap);
                        first = false;
                    }
                }
                Some(Ok(Message::Ping(payload))) => {
                    let _ = socket.send(Message::Pong(payload)).await;
                }
                Some(Ok(Message::Close(frame))) => return closed(format!("closed by server: {frame:?}")),
                Some(Ok(_)) => {}
                Some(Err(e)) => return closed(format!("error: {e}")),
                None => return closed("ended".to_string()),
            }
        }
    }
}

#[derive(Debug, QueryableByName)]
struct UserScore {
    #[diesel(sql_type = Text)]
    user_id: String,
    #[diesel(sql_type = BigInt)]
    score: i64,
}

#[derive(Debug, QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn user_scores(url: &str, prefix: &str) -> Res<HashMap<String, i64>> {
    let mut conn = PgConnection::establish(url)?;
    let rows: Vec<UserScore> =
        diesel::sql_query("SELECT user_id, score FROM user_scores WHERE left(user_id, length($1)) = $1")
            .bind::<Text, _>(prefix)
            .load(&mut conn)?;
    Ok(rows.into_iter().map(|r| (r.user_id, r.score)).collect())
}

fn sql_top10(url: &str) -> Res<Vec<(String, i64)>> {
    let mut conn = PgConnection::establish(url)?;
    Ok(scoreboard_db::scores::top(&mut conn, 10)?
        .into_iter()
        .map(|r| (r.user_id, r.score))
        .collect())
}

/// Transactions committed in the database so far (PostgreSQL's cumulative statistics, which backends
/// report about once a second).
fn database_commits(url: &str) -> Res<i64> {
    let mut conn = PgConnection::establish(url)?;
    let rows: Vec<Count> =
        diesel::sql_query("SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()")
            .load(&mut conn)?;
    Ok(rows.first().map(|r| r.n).unwrap_or(0))
}

fn double_redemptions(url: &str) -> Res<i64> {
    let mut conn = PgConnection::establish(url)?;
    let rows: Vec<Count> = diesel::sql_query(
        "SELECT count(*) AS n FROM (SELECT score_key FROM score_audit WHERE score_key IS NOT NULL \
         GROUP BY score_key HAVING count(*) > 1) d",
    )
    .load(&mut conn)?;
    Ok(rows.first().map(|r| r.n).unwrap_or(0))
}

/// Keys each player gets: `per_user` for a cold player; a hot player gets as many more as its share of the
/// iterations is larger (`pick_user`), so every player runs out at about the same iteration.
fn keys_per_player(args: &Args, per_user: u64) -> Vec<u64> {
    let cold = (args.users - args.hot_users) as f64;
    let hot_share = 1.0 / (args.hot_every as f64 * args.hot_users.max(1) as f64);
    let cold_share = if args.hot_users > 0 {
        (1.0 - 1.0 / args.hot_every as f64) / cold
    } else {
        1.0 / cold
    };
    let factor = (hot_share / cold_share).ceil().max(1.0) as u64;
    (0..args.users)
        .map(|u| {
            if u < args.hot_users {
                per_user * factor
            } else {
                per_user
            }
        })
        .collect()
}

/// Mints every player's pending keys (amount 10, expiring in a day) with completed actions behind them,
/// in two bulk statements, the way the action service stores them after a verified completion.
fn mint_keys(url: &str, prefix: &str, nonce: &str, hot_users: usize, minted: &[u64]) -> Res<u64> {
    let mut conn = PgConnection::establish(url)?;
    let users = i32::try_from(minted.len())?;
    let cold = i64::try_from(minted.last().copied().unwrap_or(0))?;
    let hot = i64::try_from(minted.first().copied().unwrap_or(0))?;
    let hot_users = i32::try_from(hot_users)?;
    // $1 user prefix, $2 nonce, $3 players, $4 hot players, $5 keys per hot player, $6 per cold player.
    let keys = "SELECT $1 || u AS user_id,                 'rk' || $2 || 'u' || lpad(u::text, 9, '0') || 'n' || lpad(j::text, 14, '0') AS key                 FROM generate_series(0, $3 - 1) u,                 generate_series(0::bigint, CASE WHEN u < $4 THEN $5 ELSE $6 END - 1) j";
    let inserts = [
        format!(
            "INSERT INTO actions (id, user_id, kind, status, started_at, deadline_at, completed_at) \
             SELECT md5(key)::uuid, user_id, 'demo', 'completed', now(), now(), now() FROM ({keys}) k"
        ),
        format!(
            "INSERT INTO score_keys (key, user_id, action_id, amount, status, created_at, expires_at) \
             SELECT key, user_id, md5(key)::uuid, 10, 'pending', now(), now() + interval '1 day' FROM ({keys}) k"
        ),
    ];
    // The actions first (the keys refer to them); the count returned is the keys'.
    let inserted = conn.transaction::<_, BoxError, _>(|conn| {
        let mut inserted = 0;
        for insert in &inserts {
            inserted = diesel::sql_query(insert)
                .bind::<Text, _>(prefix)
                .bind::<Text, _>(nonce)
                .bind::<Integer, _>(users)
                .bind::<Integer, _>(hot_users)
                .bind::<BigInt, _>(hot)
                .bind::<BigInt, _>(cold)
                .execute(conn)?;
        }
        Ok(inserted)
    })?;
    diesel::sql_query("ANALYZE actions, score_keys").execute(&mut conn)?;
    Ok(u64::try_from(inserted)?)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Res<T> + Send + 'static) -> Res<T> {
    tokio::task::spawn_blocking(f).await?
}

async fn api_top10(sh: &Shared) -> Res<Vec<(String, i64)>> {
    let body: Value = sh
        .client
        .get(format!("{}/api/leaderboard?limit=10", sh.base))
        .send()
        .await?
        .json()
        .await?;
    Ok(body["entries"]
        .as_array()
        .ok_or("leaderboard without entries")?
        .iter()
        .filter_map(|e| Some((e["user_id"].as_str()?.to_string(), e["score"].as_i64()?)))
        .collect())
}

async fn sign_in(client: &reqwest::Client, base: &str, ids: &[String]) -> Res<Vec<String>> {
    let next = AtomicUsize::new(0);
    let tokens: Vec<Mutex<String>> = ids.iter().map(|_| Mutex::new(String::new())).collect();
    let worker = || async {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(id) = ids.get(i) else {
                return Ok::<(), BoxError>(());
            };
            let body: Value = client
                .post(format!("{base}/api/dev/token"))
                .json(&json!({"user_id": id}))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            *lock(&tokens[i]) = body["token"].as_str().ok_or("token answer without token")?.to_string();
        }
    };
    let results = futures_util::future::join_all((0..16).map(|_| worker())).await;
    for r in results {
        r?;
    }
    Ok(tokens
        .into_iter()
        .map(|m| m.into_inner().unwrap_or_else(|p| p.into_inner()))
        .collect())
}

#[derive(Debug)]
struct Check {
    name: String,
    ok: bool,
    detail: String,
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    match run(args).await {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("scoreboard-bench: {e}");
            std::process::exit(2);
        }
    }
}

async fn run(args: Args) -> Res<bool> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .tcp_nodelay(true)
        .pool_max_idle_per_host(4096)
        .build()?;
    let ids: Vec<String> = (0..args.users).map(|i| format!("{}{i}", args.user_prefix)).collect();
    let (url, prefix) = (args.database_url.clone(), args.user_prefix.clone());
    let baseline = blocking(move || user_scores(&url, &prefix)).await?;
    let tokens = sign_in(&client, &args.sign_in_url, &ids).await?;
    let mut mint_report = Value::Null;
    let keys = match args.redeem_only {
        None => None,
        Some(per_user) => {
            let minted = keys_per_player(&args, per_user);
            let nonce = format!(
                "{:016x}",
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)?
                    .as_nanos() as u64
                    ^ u64::from(std::process::id())
            );
            let (url, prefix, n, m) = (
                args.database_url.clone(),
                args.user_prefix.clone(),
                nonce.clone(),
                minted.clone(),
            );
            let hot_users = args.hot_users;
            let t = Instant::now();
            let inserted = blocking(move || mint_keys(&url, &prefix, &n, hot_users, &m)).await?;
            let secs = t.elapsed().as_secs_f64();
            eprintln!(
                "{} minted {inserted} pending keys in {secs:.1} s ({per_user} per player, {} per hot player)",
                args.label,
                minted.first().copied().unwrap_or(0)
            );
            mint_report = json!({"keys_minted": inserted, "keys_per_player": per_user,
                "keys_per_hot_player": minted.first(), "mint_seconds": secs});
            Some(Keys {
                nonce,
                next: minted.iter().map(|_| AtomicU64::new(0)).collect(),
                minted,
                amount: 10,
                exhausted: std::sync::atomic::AtomicBool::new(false),
            })
        }
    };
    let sh = Arc::new(Shared {
        client,
        base: args.base_url.clone(),
        tokens,
        users: args.users,
        hot_users: args.hot_users,
        hot_every: args.hot_every,
        rec: Mutex::new(Recorder {
            start: hist()?,
            complete: hist()?,
            redeem: hist()?,
            iteration: hist()?,
            tally: vec![0; args.users],
            uncertain: vec![0; args.users],
            errors: HashMap::new(),
            observable: Vec::new(),
        }),
        redeems: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        keys,
    });

    // Watchers connect before the load starts.
    let (stop_tx, stop_rx) = watch::channel(false);
    let ws_url = format!("{}/ws", args.base_url.replacen("http", "ws", 1));
    let mut watchers = Vec::new();
    let mut watcher_tasks = Vec::new();
    for i in 0..args.watchers {
        let state = Arc::new(Mutex::new(WatcherState::default()));
        watchers.push(state.clone());
        watcher_tasks.push(tokio::spawn(watcher(
            ws_url.clone(),
            args.origin.clone(),
            source_address(&args.base_url, i),
            state,
            stop_rx.clone(),
        )));
        if i % 50 == 49 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let connect_deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < connect_deadline
        && watchers.iter().any(|w| {
            let w = lock(w);
            !w.connected && w.closed.is_none()
        })
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut pids = read_pids(&args.pids_file);
    pids.push(std::process::id()); // the generator itself shares the machine
    let before: Vec<ProcSample> = pids.iter().filter_map(|p| sample_process(*p)).collect();
    let url = args.database_url.clone();
    let commits_before = blocking(move || database_commits(&url)).await?;
    let tck = clock_ticks();
    let only = if args.redeem_only.is_some() {
        ", redeem only"
    } else {
        ""
    };
    let mode = match (args.rate, args.concurrency) {
        (Some(r), _) => format!("open loop{only}, target {r} redeems/s"),
        (_, Some(c)) => format!("closed loop{only}, concurrency {c}"),
        _ => unreachable!("checked in parse_args"),
    };
    eprintln!(
        "{} {mode}, {} s, {} users ({} hot), {} watchers",
        args.label, args.duration, args.users, args.hot_users, args.watchers
    );

    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs_f64(args.duration);
    let progress = {
        let sh = sh.clone();
        let watchers = watchers.clone();
        tokio::spawn(async move {
            let mut last = 0;
            let mut tick = tokio::time::interval_at(
                tokio::time::Instant::now() + Duration::from_secs(1),
                Duration::from_secs(1),
            );
            loop {
                tick.tick().await;
                let n = sh.redeems.load(Ordering::Relaxed);
                let (connected, snaps) = watchers.iter().fold((0, 0), |(c, s), w| {
                    let w = lock(w);
                    (c + usize::from(w.connected && w.closed.is_none()), s + w.snaps.len())
                });
                eprintln!(
                    "[{:>5.1}s] redeems {n:>8} ({:>6}/s)  errors {:>5}  watchers {connected}/{}  snapshots {snaps}",
                    t0.elapsed().as_secs_f64(),
                    n - last,
                    sh.errors.load(Ordering::Relaxed),
                    watchers.len()
                );
                last = n;
            }
        })
    };

    let mut tasks = tokio::task::JoinSet::new();
    if let Some(c) = args.concurrency {
        let counter = Arc::new(AtomicU64::new(0));
        for _ in 0..c {
            let (sh, counter) = (sh.clone(), counter.clone());
            tasks.spawn(async move {
                while Instant::now() < deadline {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    match &sh.keys {
                        Some(keys) => {
                            if keys.exhausted.load(Ordering::Relaxed)
                                || !redeem_only_iteration(&sh, keys, sh.pick_user(n), Instant::now()).await
                            {
                                break;
                            }
                        }
                        None => iteration(&sh, sh.pick_user(n), Instant::now()).await,
                    }
                }
            });
        }
    } else if let Some(rate) = args.rate {
        let interval = Duration::from_secs_f64(1.0 / rate);
        let mut i: u64 = 0;
        loop {
            let intended = t0 + interval.mul_f64(i as f64);
            if intended >= deadline {
                break;
            }
            tokio::time::sleep_until(intended.into()).await;
            if sh.keys.as_ref().is_some_and(|k| k.exhausted.load(Ordering::Relaxed)) {
                break;
            }
            let sh = sh.clone();
            tasks.spawn(async move {
                match &sh.keys {
                    Some(keys) => {
                        redeem_only_iteration(&sh, keys, sh.pick_user(i), intended).await;
                    }
                    None => iteration(&sh, sh.pick_user(i), intended).await,
                }
            });
            while tasks.try_join_next().is_some() {}
            i += 1;
        }
    }
    while tasks.join_next().await.is_some() {}
    let elapsed = t0.elapsed().as_secs_f64();
    let after: Vec<ProcSample> = pids.iter().filter_map(|p| sample_process(*p)).collect();
    progress.abort();
    let url = args.database_url.clone();
    let commits = blocking(move || database_commits(&url)).await? - commits_before;

    // Settle, then check.
    let mut checks = Vec::new();
    let url = args.database_url.clone();
    let truth = blocking(move || sql_top10(&url)).await?;
    let settle_deadline = Instant::now() + Duration::from_secs_f64(args.settle);
    let mut api = api_top10(&sh).await?;
    while api != truth && Instant::now() < settle_deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        api = api_top10(&sh).await?;
    }
    checks.push(Check {
        name: "leaderboard API (Redis) equals PostgreSQL top 10".into(),
        ok: api == truth,
        detail: if api == truth {
            format!("{} entries", truth.len())
        } else {
            format!("api {api:?} sql {truth:?}")
        },
    });
    let last_ok = |w: &Arc<Mutex<WatcherState>>| lock(w).snaps.last().is_some_and(|s| s.entries == truth);
    while !watchers.iter().all(last_ok) && Instant::now() < settle_deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let matching = watchers.iter().filter(|w| last_ok(w)).count();
    let closed: Vec<String> = watchers.iter().filter_map(|w| lock(w).closed.clone()).collect();
    checks.push(Check {
        name: "every watcher's last snapshot equals the true top 10".into(),
        ok: matching == watchers.len(),
        detail: format!(
            "{matching}/{} match{}",
            watchers.len(),
            closed
                .first()
                .map(|c| format!("; {} closed, e.g. {c}", closed.len()))
                .unwrap_or_default()
        ),
    });
    let _ = stop_tx.send(true);
    for t in watcher_tasks {
        let _ = tokio::time::timeout(Duration::from_secs(2), t).await;
    }

    let url = args.database_url.clone();
    let doubles = blocking(move || double_redemptions(&url)).await?;
    checks.push(Check {
        name: "no key redeemed twice (score_audit)".into(),
        ok: doubles == 0,
        detail: format!("{doubles} keys with more than one audit row"),
    });
    let (url, prefix) = (args.database_url.clone(), args.user_prefix.clone());
    let finals = blocking(move || user_scores(&url, &prefix)).await?;
    let rec = std::mem::replace(
        &mut *lock(&sh.rec),
        Recorder {
            start: hist()?,
            complete: hist()?,
            redeem: hist()?,
            iteration: hist()?,
            tally: Vec::new(),
            uncertain: Vec::new(),
            errors: HashMap::new(),
            observable: Vec::new(),
        },
    );
    let mut mismatched = Vec::new();
    let mut uncertain_users = 0;
    for (i, id) in ids.iter().enumerate() {
        let expected = baseline.get(id).copied().unwrap_or(0) + rec.tally[i];
        let got = finals.get(id).copied().unwrap_or(0);
        if rec.uncertain[i] > 0 {
            uncertain_users += 1;
        }
        if got < expected || got > expected + rec.uncertain[i] {
            mismatched.push(format!("{id}: database {got}, expected {expected}"));
        }
    }
    checks.push(Check {
        name: "each user's score = baseline + sum of successful redeems".into(),
        ok: mismatched.is_empty(),
        detail: format!(
            "{} users, {} mismatched{}, {uncertain_users} with an unknown redeem outcome{}",
            ids.len(),
            mismatched.len(),
            mismatched.first().map(|m| format!(" (e.g. {m})")).unwrap_or_default(),
            if uncertain_users > 0 {
                " (allowed either way)"
            } else {
                ""
            }
        ),
    });
    let redeems = rec.redeem.len();
    let errors: u64 = rec.errors.values().sum();
    checks.push(Check {
        name: "redeems succeeded, no failed requests".into(),
        ok: redeems > 0 && (errors == 0 || args.overload),
        detail: format!(
            "{redeems} redeems, {errors} failed requests {:?}{}",
            rec.errors,
            if args.overload && errors > 0 {
                " (overload run: reported, not failed)"
            } else {
                ""
            }
        ),
    });

    // End-to-end: redeem response -> each watcher's first snapshot holding that user at >= that score.
    let snaps: Vec<Vec<Snap>> = watchers.iter().map(|w| std::mem::take(&mut lock(w).snaps)).collect();
    let mut e2e = hist()?;
    let mut pairs = 0u64;
    for o in &rec.observable {
        let user = &ids[o.user];
        for list in &snaps {
            let from = list.partition_point(|s| s.at < o.sent);
            pairs += 1;
            if let Some(s) = list[from..]
                .iter()
                .find(|s| s.entries.iter().any(|(u, sc)| u == user && *sc >= o.score))
            {
                e2e.saturating_record(micros(s.at.saturating_duration_since(o.responded)));
            }
        }
    }
    // Fan-out: per pushed snapshot (epoch, version), first to last watcher arrival.
    let mut versions: HashMap<(String, u64), (Instant, Instant, usize)> = HashMap::new();
    for s in snaps.iter().flatten().filter(|s| !s.on_connect) {
        let e = versions.entry((s.epoch.clone(), s.version)).or_insert((s.at, s.at, 0));
        e.0 = e.0.min(s.at);
        e.1 = e.1.max(s.at);
        e.2 += 1;
    }
    let mut fanout = hist()?;
    for (first, last, _) in versions.values() {
        fanout.saturating_record(micros(*last - *first));
    }
    let receivers: usize = versions.values().map(|v| v.2).sum();

    // Report.
    let throughput = redeems as f64 / elapsed;
    let mut out = String::new();
    out += &format!(
        "== {} {mode}: {elapsed:.1} s, {} users, {} watchers\n",
        args.label, args.users, args.watchers
    );
    out += &format!("redeems: {redeems} ok, {throughput:.1}/s; failed requests: {errors}\n");
    let exhausted = sh.keys.as_ref().is_some_and(|k| k.exhausted.load(Ordering::Relaxed));
    if exhausted {
        out += &format!(
            "NOTE: the pre-minted keys ran out after {elapsed:.1} s of the {} s; throughput is over the time run\n",
            args.duration
        );
    }
    out += &format!(
        "{:<38} {:>8} {:>9} {:>9} {:>9} {:>9}\n",
        "latency (ms)", "count", "p50", "p95", "p99", "max"
    );
    if args.redeem_only.is_none() {
        out += &(hist_row("start action", &rec.start) + "\n");
        out += &(hist_row("complete", &rec.complete) + "\n");
    }
    out += &(hist_row("redeem", &rec.redeem) + "\n");
    out += &(hist_row("iteration, from intended start", &rec.iteration) + "\n");
    out += &(hist_row("end-to-end redeem -> watcher", &e2e) + "\n");
    out += &(hist_row("fan-out first -> last watcher", &fanout) + "\n");
    out += &format!(
        "end-to-end: {} observable redeems (hot users, rank <= 10) x {} watchers = {pairs} pairs, {} observed\n",
        rec.observable.len(),
        args.watchers,
        e2e.len()
    );
    out += &format!(
        "fan-out: {} pushed snapshot versions, {:.1} watchers received each on average\n",
        versions.len(),
        if versions.is_empty() {
            0.0
        } else {
            receivers as f64 / versions.len() as f64
        }
    );
    out += &format!(
        "PostgreSQL: {commits} transactions committed in the run's database, {:.2} per redeem (redeems, starts, \
         completes, outbox rounds, readiness probes)\n",
        if redeems > 0 {
            commits as f64 / redeems as f64
        } else {
            f64::NAN
        }
    );
    let mut procs = Vec::new();
    out += &format!(
        "{:<38} {:>8} {:>9} {:>9} {:>9}\n",
        "process", "pid", "cpu s", "cpu %", "peak MiB"
    );
    for b in &before {
        let Some(a) = after.iter().find(|a| a.pid == b.pid) else {
            continue;
        };
        let cpu = a.ticks.saturating_sub(b.ticks) as f64 / tck;
        let label = if a.children > 0 {
            format!("{} (+{} children)", a.label, a.children)
        } else {
            a.label.clone()
        };
        out += &format!(
            "{label:<38} {:>8} {cpu:>9.2} {:>9.1} {:>9.1}\n",
            a.pid,
            100.0 * cpu / elapsed,
            a.hwm_kb as f64 / 1024.0
        );
        procs.push(json!({"pid": a.pid, "label": label, "cpu_seconds": cpu, "peak_rss_kib": a.hwm_kb}));
    }
    let mut all_ok = true;
    for c in &checks {
        all_ok &= c.ok;
        out += &format!(
            "check {:<4} {}: {}\n",
            if c.ok { "ok" } else { "FAIL" },
            c.name,
            c.detail
        );
    }
    print!("{out}");

    if let Some(file) = &args.json {
        let report = json!({
            "label": args.label,
            "mode": if args.rate.is_some() { "open" } else { "closed" },
            "target_rate": args.rate,
            "redeem_only": args.redeem_only.is_some(),
            "redeem_only_keys": mint_report,
            "keys_exhausted": exhausted,
            "base_url": args.base_url,
            "concurrency": args.concurrency,
            "duration_s": elapsed,
            "users": args.users,
            "watchers": args.watchers,
            "redeems": redeems,
            "redeems_per_s": throughput,
            "database_commits": commits,
            "failed_requests": rec.errors,
            "latency": {
                "start": hist_json(&rec.start),
                "complete": hist_json(&rec.complete),
                "redeem": hist_json(&rec.redeem),
                "iteration_from_intended_start": hist_json(&rec.iteration),
                "end_to_end": hist_json(&e2e),
                "fan_out": hist_json(&fanout),
            },
            "end_to_end_observable_redeems": rec.observable.len(),
            "end_to_end_pairs": pairs,
            "fan_out_versions": versions.len(),
            "processes": procs,
            "checks": checks.iter().map(|c| json!({"name": c.name, "ok": c.ok, "detail": c.detail})).collect::<Vec<_>>(),
            "ok": all_ok,
        });
        std::fs::write(file, serde_json::to_string_pretty(&report)?)?;
    }
    Ok(all_ok)
}
