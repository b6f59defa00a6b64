//! Test helpers shared by the services' integration tests.
//!
//! - [`TestDb`]: a fresh PostgreSQL database per test, cloned from a migrated template (one template per
//!   migration set, built once under an advisory lock) and dropped when the test ends.
//! - [`tokens`]: user tokens, valid and deliberately broken, for the auth checks.
//! - [`Api`]: a small JSON client that returns status and body for assertions.

#![expect(clippy::expect_used, reason = "test helpers fail the test loudly when set-up breaks")]

pub mod broker;
pub mod gateway;
pub mod tokens;

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash as _, Hasher as _};
use std::path::Path;

use diesel::pg::PgConnection;
use diesel::{Connection as _, RunQueryDsl as _};
use serde_json::Value;

/// The server tests create their databases on; `TEST_DATABASE_URL` overrides it (no database name).
pub fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

/// A database of one's own, migrated, dropped on `Drop`.
#[derive(Debug)]
pub struct TestDb {
    name: String,
    url: String,
    /// Only the handle that created the database drops it.
    owned: bool,
}

impl TestDb {
    pub fn create() -> Self {
        let template = ensure_template();
        let name = format!("scoreboard_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = admin_connection();
        // Concurrent clones of one template can briefly collide; a retry settles it.
        let mut attempt = 0;
        loop {
            match diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}")).execute(&mut admin) {
                Ok(_) => break,
                Err(err) if attempt < 20 => {
                    attempt += 1;
                    eprintln!("retrying test database creation: {err}");
                    std::thread::sleep(std::time::Duration::from_millis(50 * attempt));
                }
                Err(err) => panic!("cannot create test database: {err}"),
            }
        }
        let url = format!("{}/{name}", server_url());
        Self { name, url, owned: true }
    }

    /// Another handle on an existing test database (a second service replica); it does not drop it.
    pub fn attach(url: &str) -> Self {
        let name = url.rsplit('/').next().unwrap_or_default().to_owned();
        Self {
            name,
            url: url.to_owned(),
            owned: false,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn connect(&self) -> PgConnection {
        PgConnection::establish(&self.url).expect("connect to test database")
    }

    /// Runs a query that returns one bigint column named `n`.
    pub fn count(&self, sql: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query(sql)
            .get_result::<Count>(&mut self.connect())
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .n
    }

    /// Mints a pending key for `user` the way the action service does after a verified completion.
    pub fn mint_key(&self, user: &str, amount: i64) -> String {
        use scoreboard_db::actions::{self, NewAction};
        use scoreboard_db::keys::{self, NewKey};
        let mut conn = self.connect();
        let now = chrono::Utc::now();
        let action_id = uuid::Uuid::new_v4();
        let action = NewAction {
            id: action_id,
            user_id: user,
            kind: "demo",
            status: "completed",
            challenge_prompt: None,
            challenge_answer: None,
            external_id: None,
            started_at: now,
            deadline_at: now,
            completed_at: Some(now),
        };
        actions::insert(&mut conn, &action).expect("insert action");
        let key = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            &uuid::Uuid::new_v4().simple().to_string()[..11]
        );
        let new_key = NewKey {
            key: &key,
            user_id: user,
            action_id,
            amount,
            created_at: now,
            expires_at: now + chrono::Duration::hours(1),
        };
        keys::insert(&mut conn, &new_key).expect("insert key");
        key
    }

    /// Runs a statement; returns the rows it touched.
    pub fn execute(&self, sql: &str) -> usize {
        diesel::sql_query(sql)
            .execute(&mut self.connect())
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        let mut admin = admin_connection();
        if let Err(err) =
            diesel::sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&mut admin)
        {
            eprintln!("could not drop {}: {err}", self.name);
        }
    }
}

fn admin_connection() -> PgConnection {
    let url = format!("{}/postgres", server_url());
    PgConnection::establish(&url).unwrap_or_else(|e| panic!("PostgreSQL must be running at {url}: {e}"))
}

/// The template for the current migrations, built once per migration set.
fn ensure_template() -> String {
    let template = format!("scoreboard_template_{:016x}", migrations_fingerprint());
    let mut admin = admin_connection();
    // One builder at a time across every test process; the others wait, then find it built.
    diesel::sql_query("SELECT pg_advisory_lock(7340001)")
        .execute(&mut admin)
        .expect("advisory lock");
    #[derive(diesel::QueryableByName)]
    struct Exists {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        exists: bool,
    }
    let exists = diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
        .bind::<diesel::sql_types::Text, _>(&template)
        .get_result::<Exists>(&mut admin)
        .expect("look up template")
        .exists;
    // A template left by a build that embedded fewer migrations is rebuilt, never trusted.
    let complete = exists && {
        let mut conn = PgConnection::establish(&format!("{}/{template}", server_url())).expect("connect to template");
        scoreboard_db::check_ready(&mut conn).unwrap_or(false)
    };
    if exists && !complete {
        diesel::sql_query(format!("DROP DATABASE {template} WITH (FORCE)"))
            .execute(&mut admin)
            .expect("drop stale template");
    }
    if !complete {
        let building = format!("{template}_building");
        let run = |sql: String, conn: &mut PgConnection| {
            diesel::sql_query(&sql)
                .execute(conn)
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
        };
        run(format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"), &mut admin);
        run(format!("CREATE DATABASE {building}"), &mut admin);
        {
            let mut conn =
                PgConnection::establish(&format!("{}/{building}", server_url())).expect("connect to template");
            scoreboard_db::run_migrations(&mut conn).expect("migrate template");
        }
        run(format!("ALTER DATABASE {building} RENAME TO {template}"), &mut admin);
    }
    diesel::sql_query("SELECT pg_advisory_unlock(7340001)")
        .execute(&mut admin)
        .expect("advisory unlock");
    template
}

fn migrations_fingerprint() -> u64 {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let mut files: Vec<_> = walk(&dir);
    files.sort();
    let mut hasher = DefaultHasher::new();
    for file in files {
        file.strip_prefix(&dir).unwrap_or(&file).hash(&mut hasher);
        std::fs::read(&file).expect("read migration").hash(&mut hasher);
    }
    hasher.finish()
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .expect("migrations directory")
        .flatten()
        .flat_map(|entry| {
            let path = entry.path();
            if path.is_dir() {
                walk(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}

/// A JSON client for one service, with an optional bearer token.
#[derive(Debug, Clone)]
pub struct Api {
    pub base: String,
    pub client: reqwest::Client,
}

/// A response: its status and JSON body (`Null` when the body was not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    /// The stable error code of an error body.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("<no error code>")
    }
}

impl Api {
    pub fn new(port: u16) -> Self {
        Self {
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
        }
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, token: Option<&str>, body: Option<&Value>) -> Reply {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("request reaches the service");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("response body");
        Reply {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            headers,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(reqwest::Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.send(reqwest::Method::POST, path, token, Some(body)).await
    }

    /// Waits until `/readyz` answers 200.
    pub async fn wait_ready(&self) {
        for _ in 0..200 {
            if let Ok(response) = self.client.get(format!("{}/readyz", self.base)).send().await {
                if response.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("{} never became ready", self.base);
    }
}

/// A Redis key prefix of one's own (`test:<uuid>`); its keys are deleted on `Drop`.
#[derive(Debug)]
pub struct TestRedis {
    pub url: String,
    pub prefix: String,
}

impl Default for TestRedis {
    fn default() -> Self {
        Self::new()
    }
}

impl TestRedis {
    pub fn new() -> Self {
        Self {
            url: std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned()),
            prefix: format!("test:{}", uuid::Uuid::new_v4().simple()),
        }
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        use deadpool_redis::redis;
        let Ok(client) = redis::Client::open(self.url.as_str()) else {
            return;
        };
        let Ok(mut conn) = client.get_connection() else { return };
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}:*", self.prefix))
            .query(&mut conn)
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: Result<(), _> = redis::cmd("DEL").arg(keys).query(&mut conn);
        }
    }
}

/// The `(METHOD, path)` pairs an OpenAPI document lists, to compare with a service's route table.
pub fn documented_operations(document: &Value) -> std::collections::BTreeSet<(String, String)> {
    const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
    document["paths"]
        .as_object()
        .expect("an OpenAPI document has paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("path item")
                .keys()
                .filter(|key| METHODS.contains(&key.as_str()))
                .map(|method| (method.to_uppercase(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}
