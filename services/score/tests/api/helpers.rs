use std::time::Duration;

use scoreboard_score::Settings;
use scoreboard_test_support::{tokens, Api, Reply, TestDb, TestRedis};
use secrecy::SecretString;
use serde_json::json;

/// A running score service and its database.
pub struct TestApp {
    pub api: Api,
    pub db: TestDb,
    /// Keeps the test's Redis keys until the test ends.
    redis: TestRedis,
}

pub fn settings(db: &TestDb) -> Settings {
    Settings {
        bind_addr: "127.0.0.1:0".into(),
        database_url: SecretString::from(db.url().to_owned()),
        database_pool_size: 8,
        http_workers: 2,
        body_limit_bytes: 1024,
        jwt: tokens::hs256_settings(),
        key_expiry_sweep: Duration::from_secs(3600),
        redis_url: "redis://127.0.0.1:6379".into(),
        redis_board_prefix: String::new(),
        leaderboard_cache: Duration::from_millis(100),
        relay: None,
    }
}

pub async fn spawn() -> TestApp {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_on(TestDb::create(), tweak).await
}

/// Starts a score service on an existing database (a second replica, say).
pub async fn spawn_on(db: TestDb, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let redis = TestRedis::new();
    let mut settings = settings(&db);
    settings.redis_board_prefix.clone_from(&redis.prefix);
    tweak(&mut settings);
    let app = scoreboard_score::build(settings).expect("build score service");
    let api = Api::new(app.port());
    tokio::spawn(app.run_until_stopped());
    api.wait_ready().await;
    TestApp { api, db, redis }
}

/// Mints a pending key for `user` (see `TestDb::mint_key`).
pub fn mint_key(db: &TestDb, user: &str, amount: i64) -> String {
    db.mint_key(user, amount)
}

/// Relay settings publishing to `topology` at `amqp_url`, sweeping often so tests wait little.
pub fn relay(amqp_url: &str, topology: &scoreboard_messaging::Topology) -> scoreboard_score::relay::RelaySettings {
    scoreboard_score::relay::RelaySettings {
        amqp_url: SecretString::from(amqp_url.to_owned()),
        topology: topology.clone(),
        batch_size: 50,
        lease: Duration::from_secs(30),
        sweep_every: Duration::from_millis(200),
        linger: Duration::from_millis(5),
    }
}

impl TestApp {
    /// The Redis key prefix of this app's board, for a second replica sharing it.
    pub fn board_prefix(&self) -> &str {
        &self.redis.prefix
    }

    pub fn mint_key(&self, user: &str, amount: i64) -> String {
        mint_key(&self.db, user, amount)
    }

    pub async fn redeem(&self, user: &str, key: &str) -> Reply {
        self.api
            .post("/api/scores/redeem", Some(&tokens::token(user)), &json!({ "key": key }))
            .await
    }

    pub fn score_of(&self, user: &str) -> i64 {
        self.db.count(&format!(
            "SELECT COALESCE((SELECT score FROM user_scores WHERE user_id = '{user}'), 0) AS n"
        ))
    }
}
