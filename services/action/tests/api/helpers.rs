use std::num::NonZeroU32;
use std::time::Duration;

use scoreboard_action::Settings;
use scoreboard_domain::{ActionKind, KindCatalog};
use scoreboard_test_support::{tokens, Api, Reply, TestDb};
use secrecy::SecretString;
use serde_json::json;

pub const SERVICE_SECRET: &str = "backend-credential-for-tests-0123456789abcdef";

/// A running action service and its database.
pub struct TestApp {
    pub api: Api,
    pub db: TestDb,
}

/// Settings for a test: demo kind with no minimum duration, generous limits, dev tokens on.
pub fn settings(db: &TestDb) -> Settings {
    Settings {
        bind_addr: "127.0.0.1:0".into(),
        database_url: SecretString::from(db.url().to_owned()),
        database_pool_size: 8,
        http_workers: 2,
        body_limit_bytes: 1024,
        jwt: tokens::hs256_settings(),
        kinds: KindCatalog::new(vec![
            ActionKind {
                min_duration: Duration::ZERO,
                ..ActionKind::demo()
            },
            ActionKind::reported("match_won", 25),
        ])
        .expect("valid kinds"),
        starts_per_minute: NonZeroU32::new(10_000).expect("non-zero"),
        completes_per_minute: NonZeroU32::new(10_000).expect("non-zero"),
        service_credential: Some(SecretString::from(SERVICE_SECRET.to_owned())),
        dev_tokens_enabled: true,
        dev_token_ttl: Duration::from_secs(600),
    }
}

pub async fn spawn() -> TestApp {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let db = TestDb::create();
    let mut settings = settings(&db);
    tweak(&mut settings);
    let app = scoreboard_action::build(settings).expect("build action service");
    let api = Api::new(app.port());
    tokio::spawn(app.run_until_stopped());
    api.wait_ready().await;
    TestApp { api, db }
}

impl TestApp {
    pub async fn start(&self, token: &str) -> Reply {
        self.api
            .post("/api/actions", Some(token), &json!({ "kind": "demo" }))
            .await
    }

    pub async fn complete(&self, token: &str, action_id: &str, answer: &str) -> Reply {
        self.api
            .post(
                &format!("/api/actions/{action_id}/complete"),
                Some(token),
                &json!({ "answer": answer }),
            )
            .await
    }
}

/// Solves the demo challenge the way a person would: reads the two numbers and adds them.
pub fn solve(prompt: &str) -> String {
    let numbers: Vec<u64> = prompt
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|s| s.parse().ok())
        .collect();
    assert_eq!(numbers.len(), 2, "unexpected prompt {prompt:?}");
    (numbers[0] + numbers[1]).to_string()
}

/// Starts a demo action for the token's user; returns its id and the correct answer.
pub async fn started_action(app: &TestApp, token: &str) -> (String, String) {
    let reply = app.start(token).await;
    assert_eq!(reply.status, 201, "{reply:?}");
    let id = reply.body["action_id"].as_str().expect("action id").to_owned();
    (id, solve(reply.body["challenge"]["prompt"].as_str().expect("prompt")))
}
