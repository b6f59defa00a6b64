//! The score service's settings, read once at start-up.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `SCORE_BIND_ADDR` | `127.0.0.1:8082` | where to listen |
//! | `DATABASE_URL` | required | PostgreSQL URL (a secret: it may hold a password) |
//! | `DATABASE_POOL_SIZE` | `16` | connections in the pool |
//! | `HTTP_WORKERS` | cores | actix worker threads |
//! | `HTTP_BODY_LIMIT_BYTES` | `16384` | largest accepted JSON body |
//! | `JWT_*` | | see `scoreboard_config::Env::jwt` |
//! | `KEY_EXPIRY_SWEEP_SECS` | `60` | how often overdue pending keys are marked `expired` |
//! | `REDIS_URL` | `redis://127.0.0.1:6379` | the fast top-N (reads fall back to PostgreSQL without it) |
//! | `REDIS_BOARD_PREFIX` | `scoreboard:board:global` | key prefix of the board in Redis |
//! | `LEADERBOARD_CACHE_MS` | `100` | how long a replica reuses an encoded top-N answer (`0`: never) |
//! | `AMQP_URL` | `amqp://guest:guest@127.0.0.1:5672/%2f` | RabbitMQ (a secret: it holds a password) |
//! | `AMQP_PREFIX` | `scoreboard` | prefix of the exchange and queue names |
//! | `OUTBOX_RELAY_ENABLED` | `true` | publish the outbox from this replica |
//! | `OUTBOX_BATCH_SIZE` | `500` | rows published per confirmed batch |
//! | `OUTBOX_SWEEP_MS` | `1000` | sweep interval for rows no commit woke the relay for |
//! | `OUTBOX_LEASE_SECS` | `30` | how long a batch stays reserved for the replica publishing it |
//! | `OUTBOX_LINGER_MS` | `5` | pause after each round, so that under load a round carries many commits |

use std::time::Duration;

use scoreboard_auth::JwtSettings;
use scoreboard_config::{ConfigError, Env};
use scoreboard_messaging::Topology;

use crate::relay::RelaySettings;
use secrecy::SecretString;

/// RabbitMQ on this machine with its default account.
pub const DEFAULT_AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

#[derive(Debug)]
pub struct Settings {
    pub bind_addr: String,
    pub database_url: SecretString,
    pub database_pool_size: u32,
    pub http_workers: usize,
    pub body_limit_bytes: usize,
    pub jwt: JwtSettings,
    pub key_expiry_sweep: Duration,
    pub redis_url: String,
    pub redis_board_prefix: String,
    /// How long an encoded `GET /api/leaderboard` answer is reused; this replica's own redeems clear it.
    pub leaderboard_cache: Duration,
    /// `None` turns the relay off on this replica (another one publishes).
    pub relay: Option<RelaySettings>,
}

impl Settings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            bind_addr: env.string("SCORE_BIND_ADDR", "127.0.0.1:8082"),
            database_url: env.secret("DATABASE_URL").ok_or(ConfigError::Missing("DATABASE_URL"))?,
            database_pool_size: env.parse("DATABASE_POOL_SIZE", 16)?,
            http_workers: env.parse(
                "HTTP_WORKERS",
                std::thread::available_parallelism().map_or(2, usize::from),
            )?,
            body_limit_bytes: env.parse("HTTP_BODY_LIMIT_BYTES", 16 * 1024)?,
            jwt: env.jwt()?,
            key_expiry_sweep: Duration::from_secs(env.parse("KEY_EXPIRY_SWEEP_SECS", 60)?.max(1)),
            redis_url: env.string("REDIS_URL", "redis://127.0.0.1:6379"),
            redis_board_prefix: env.string("REDIS_BOARD_PREFIX", "scoreboard:board:global"),
            leaderboard_cache: Duration::from_millis(env.parse("LEADERBOARD_CACHE_MS", 100)?),
            relay: if env.parse("OUTBOX_RELAY_ENABLED", true)? {
                Some(RelaySettings {
                    amqp_url: SecretString::from(env.string("AMQP_URL", DEFAULT_AMQP_URL)),
                    topology: Topology::new(&env.string("AMQP_PREFIX", "scoreboard"), 5, Duration::from_secs(3600)),
                    batch_size: env.parse("OUTBOX_BATCH_SIZE", 500)?,
                    lease: Duration::from_secs(env.parse("OUTBOX_LEASE_SECS", 30)?),
                    sweep_every: Duration::from_millis(env.parse("OUTBOX_SWEEP_MS", 1000)?),
                    linger: Duration::from_millis(env.parse("OUTBOX_LINGER_MS", 5)?),
                })
            } else {
                None
            },
        })
    }
}
