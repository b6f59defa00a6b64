//! The action service's settings, read once at start-up.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `ACTION_BIND_ADDR` | `127.0.0.1:8081` | where to listen |
//! | `DATABASE_URL` | required | PostgreSQL URL (a secret: it may hold a password) |
//! | `DATABASE_POOL_SIZE` | `16` | connections in the pool |
//! | `HTTP_WORKERS` | cores | actix worker threads |
//! | `HTTP_BODY_LIMIT_BYTES` | `16384` | largest accepted JSON body |
//! | `JWT_*` | | see `scoreboard_config::Env::jwt` |
//! | `ACTION_KINDS` | demo + match_won | JSON array of action kinds |
//! | `ACTION_STARTS_PER_MINUTE` | `30` | per-user limit on starting actions |
//! | `ACTION_COMPLETES_PER_MINUTE` | `60` | per-user limit on completion attempts |
//! | `SERVICE_CREDENTIAL` | unset | bearer secret of trusted backends; reports are refused without it |
//! | `DEV_TOKENS_ENABLED` | `false` | serve `POST /api/dev/token` (development sign-in) |
//! | `DEV_TOKEN_TTL_SECS` | `86400` | lifetime of development tokens |

use std::num::NonZeroU32;
use std::time::Duration;

use scoreboard_auth::JwtSettings;
use scoreboard_config::{ConfigError, Env};
use scoreboard_domain::KindCatalog;
use secrecy::SecretString;

#[derive(Debug)]
pub struct Settings {
    pub bind_addr: String,
    pub database_url: SecretString,
    pub database_pool_size: u32,
    pub http_workers: usize,
    pub body_limit_bytes: usize,
    pub jwt: JwtSettings,
    pub kinds: KindCatalog,
    pub starts_per_minute: NonZeroU32,
    pub completes_per_minute: NonZeroU32,
    pub service_credential: Option<SecretString>,
    pub dev_tokens_enabled: bool,
    pub dev_token_ttl: Duration,
}

impl Settings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let kinds = match env.optional("ACTION_KINDS") {
            None => KindCatalog::default_kinds(),
            Some(raw) => KindCatalog::from_json(&raw).map_err(|e| ConfigError::Invalid {
                name: "ACTION_KINDS",
                reason: e.to_string(),
            })?,
        };
        Ok(Self {
            bind_addr: env.string("ACTION_BIND_ADDR", "127.0.0.1:8081"),
            database_url: env.secret("DATABASE_URL").ok_or(ConfigError::Missing("DATABASE_URL"))?,
            database_pool_size: env.parse("DATABASE_POOL_SIZE", 16)?,
            http_workers: env.parse(
                "HTTP_WORKERS",
                std::thread::available_parallelism().map_or(2, usize::from),
            )?,
            body_limit_bytes: env.parse("HTTP_BODY_LIMIT_BYTES", 16 * 1024)?,
            jwt: env.jwt()?,
            kinds,
            starts_per_minute: env.parse(
                "ACTION_STARTS_PER_MINUTE",
                NonZeroU32::new(30).unwrap_or(NonZeroU32::MIN),
            )?,
            completes_per_minute: env.parse(
                "ACTION_COMPLETES_PER_MINUTE",
                NonZeroU32::new(60).unwrap_or(NonZeroU32::MIN),
            )?,
            service_credential: env.secret("SERVICE_CREDENTIAL"),
            dev_tokens_enabled: env.flag("DEV_TOKENS_ENABLED")?,
            dev_token_ttl: Duration::from_secs(env.parse("DEV_TOKEN_TTL_SECS", 86_400)?),
        })
    }
}
