//! PostgreSQL access for Scoreboard.
//!
//! Every query function takes `&mut PgConnection` and returns `QueryResult<T>`, so callers compose them in
//! one transaction. Services reach them through [`run_blocking`], which moves the synchronous diesel work to
//! tokio's blocking pool without losing the tracing span.

pub mod actions;
pub mod keys;
pub mod outbox;
pub mod schema;
pub mod scores;

use std::time::Duration;

use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, Pool, PooledConnection};
use diesel::sql_types::Integer;
use diesel::RunQueryDsl as _;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness as _};

pub use diesel::result::Error as QueryError;
pub use diesel::{Connection, QueryResult};

/// The migrations in `migrations/`, compiled into every binary that can run `migrate`.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

pub type PgPool = Pool<ConnectionManager<PgConnection>>;
pub type PgPooledConnection = PooledConnection<ConnectionManager<PgConnection>>;
pub use diesel::pg::PgConnection as Conn;

/// Why a database call failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("no database connection available")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("database query failed")]
    Query(#[from] diesel::result::Error),
    #[error("database task panicked or was cancelled")]
    Join(#[from] tokio::task::JoinError),
    #[error("migration failed: {0}")]
    Migration(String),
}

/// Builds the connection pool. Connections are opened lazily, so a service starts even while PostgreSQL
/// is down and reports it in `/readyz`.
pub fn build_pool(database_url: &str, max_size: u32) -> Result<PgPool, DbError> {
    let manager = ConnectionManager::<PgConnection>::new(database_url);
    Ok(Pool::builder()
        .max_size(max_size)
        .min_idle(Some(0))
        .connection_timeout(Duration::from_secs(5))
        .test_on_check_out(false)
        .build_unchecked(manager))
}

/// Runs synchronous diesel work on the blocking pool with one pooled connection.
pub async fn run_blocking<T, F>(pool: &PgPool, work: F) -> Result<T, DbError>
where
    F: FnOnce(&mut PgConnection) -> Result<T, DbError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        let mut conn = pool.get()?;
        work(&mut conn)
    })
    .await?
}

/// Applies every pending migration; returns the versions applied.
pub fn run_migrations(conn: &mut PgConnection) -> Result<Vec<String>, DbError> {
    conn.run_pending_migrations(MIGRATIONS)
        .map(|versions| versions.iter().map(ToString::to_string).collect())
        .map_err(|e| DbError::Migration(e.to_string()))
}

/// Whether the database answers and every migration this build knows has been applied.
pub fn check_ready(conn: &mut PgConnection) -> Result<bool, DbError> {
    #[derive(diesel::QueryableByName)]
    struct One {
        #[diesel(sql_type = Integer)]
        #[expect(dead_code, reason = "the row only proves the round trip")]
        one: i32,
    }
    diesel::sql_query("SELECT 1 AS one").get_result::<One>(conn)?;
    let pending = conn
        .has_pending_migration(MIGRATIONS)
        .map_err(|e| DbError::Migration(e.to_string()))?;
    Ok(!pending)
}

/// Creates the database named in `database_url` if it does not exist, then applies pending migrations.
/// Returns the versions applied. This is the `migrate` command: services never migrate on start.
pub fn migrate(database_url: &str) -> Result<Vec<String>, DbError> {
    let mut conn = match PgConnection::establish(database_url) {
        Ok(conn) => conn,
        Err(diesel::ConnectionError::BadConnection(message)) if message.contains("does not exist") => {
            create_database(database_url)?;
            PgConnection::establish(database_url).map_err(|e| DbError::Migration(e.to_string()))?
        }
        Err(err) => return Err(DbError::Migration(err.to_string())),
    };
    let applied = run_migrations(&mut conn)?;
    for version in &applied {
        tracing::info!(%version, "applied migration");
    }
    Ok(applied)
}

fn create_database(database_url: &str) -> Result<(), DbError> {
    let (server, rest) = database_url
        .rsplit_once('/')
        .ok_or_else(|| DbError::Migration("DATABASE_URL has no database name".into()))?;
    let (name, query) = rest.split_once('?').map_or((rest, ""), |(n, q)| (n, q));
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(DbError::Migration(format!(
            "refusing to create database {name:?}: use letters, digits and _"
        )));
    }
    let maintenance_url = if query.is_empty() {
        format!("{server}/postgres")
    } else {
        format!("{server}/postgres?{query}")
    };
    let mut conn = PgConnection::establish(&maintenance_url).map_err(|e| DbError::Migration(e.to_string()))?;
    diesel::sql_query(format!("CREATE DATABASE \"{name}\"")).execute(&mut conn)?;
    tracing::info!(database = name, "created database");
    Ok(())
}
