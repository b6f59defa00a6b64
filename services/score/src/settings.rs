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

use std::time::Duration;

use scoreboard_auth::JwtSettings;
use scoreboard_config::{ConfigError, Env};
use secrecy::SecretString;

#[derive(Debug)]
pub struct Settings {
    pub bind_addr: String,
    pub database_url: SecretString,
    pub database_pool_size: u32,
    pub http_workers: usize,
    pub body_limit_bytes: usize,
    pub jwt: JwtSettings,
    pub key_expiry_sweep: Duration,
}

impl Settings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            bind_addr: env.string("SCORE_BIND_ADDR", "127.0.0.1:8082"),
            database_url: env
                .secret("DATABASE_URL")
                .ok_or(ConfigError::Missing("DATABASE_URL"))?,
            database_pool_size: env.parse("DATABASE_POOL_SIZE", 16)?,
            http_workers: env.parse(
                "HTTP_WORKERS",
                std::thread::available_parallelism().map_or(2, usize::from),
            )?,
            body_limit_bytes: env.parse("HTTP_BODY_LIMIT_BYTES", 16 * 1024)?,
            jwt: env.jwt()?,
            key_expiry_sweep: Duration::from_secs(env.parse("KEY_EXPIRY_SWEEP_SECS", 60)?.max(1)),
        })
    }
}
