//! The notifier's settings, read once at start-up.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `NOTIFIER_BIND_ADDR` | `127.0.0.1:8083` | where to listen |
//! | `NOTIFIER_REPLICA_ID` | `HOSTNAME`, else random | names this replica's queue (`<prefix>.notifier.<id>`) |
//! | `DATABASE_URL` | required | PostgreSQL, for snapshots while Redis is unavailable and for rebuilds |
//! | `DATABASE_POOL_SIZE` | `4` | connections in the pool |
//! | `REDIS_URL` | `redis://127.0.0.1:6379` | the fast top-N |
//! | `REDIS_BOARD_PREFIX` | `scoreboard:board:global` | key prefix of the board in Redis |
//! | `AMQP_URL` | `amqp://guest:guest@127.0.0.1:5672/%2f` | RabbitMQ (a secret: it holds a password) |
//! | `AMQP_PREFIX` | `scoreboard` | prefix of the exchange and queue names |
//! | `AMQP_PREFETCH` | `256` | unacknowledged deliveries in flight |
//! | `AMQP_DELIVERY_LIMIT` | `5` | deliveries of one message before it is dead-lettered |
//! | `AMQP_REPLICA_QUEUE_EXPIRY_SECS` | `300` | a replica queue without a consumer this long is deleted |
//! | `SNAPSHOT_WINDOW_MS` | `50` | bursts are coalesced: at most one snapshot per window |
//! | `SNAPSHOT_REFRESH_SECS` | `5` | re-read the board this often even without events |
//! | `WS_MAX_CONNECTIONS` | `20000` | WebSocket clients served at once |
//! | `WS_MAX_FRAME_BYTES` | `1024` | largest frame a client may send |
//! | `WS_MAX_MESSAGES_PER_SEC` | `10` | messages a client may send per second |
//! | `WS_PING_SECS` / `WS_PONG_TIMEOUT_SECS` | `15` / `45` | keep-alive; silent clients are closed |
//! | `WS_SEND_TIMEOUT_MS` | `5000` | a client whose outgoing queue stays full this long is dropped |
//! | `WS_SOCKET_SEND_BUFFER_BYTES` | `32768` | kernel send buffer per connection (bounds a stalled client) |
//! | `WS_ALLOWED_ORIGINS` | `http://127.0.0.1:8080,http://localhost:8080` | comma-separated; `*` allows any |
//! | `WS_REQUIRE_TOKEN` | `false` | require a user token at the handshake (`JWT_*` then apply) |

use std::time::Duration;

use scoreboard_auth::JwtSettings;
use scoreboard_config::{ConfigError, Env};
use scoreboard_messaging::Topology;
use secrecy::SecretString;

#[derive(Debug)]
pub struct Settings {
    pub bind_addr: String,
    pub replica_id: String,
    pub database_url: SecretString,
    pub database_pool_size: u32,
    pub redis_url: String,
    pub redis_board_prefix: String,
    pub amqp_url: SecretString,
    pub topology: Topology,
    pub prefetch: u16,
    pub snapshot_window: Duration,
    pub snapshot_refresh: Duration,
    pub ws: WsSettings,
    pub http_workers: usize,
    /// `Some` when clients must present a user token at the handshake.
    pub jwt: Option<JwtSettings>,
}

/// Limits and keep-alive of WebSocket clients.
#[derive(Debug, Clone)]
pub struct WsSettings {
    pub max_connections: usize,
    pub max_frame_bytes: usize,
    pub max_messages_per_sec: u32,
    pub ping_every: Duration,
    pub pong_timeout: Duration,
    pub send_timeout: Duration,
    /// `SO_SNDBUF` of each connection.
    pub socket_send_buffer: usize,
    /// `None` allows any origin.
    pub allowed_origins: Option<Vec<String>>,
}

impl Settings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let prefix = env.string("AMQP_PREFIX", "scoreboard");
        let origins = env.string("WS_ALLOWED_ORIGINS", "http://127.0.0.1:8080,http://localhost:8080");
        let allowed_origins = if origins.trim() == "*" {
            None
        } else {
            Some(
                origins
                    .split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_owned())
                    .filter(|o| !o.is_empty())
                    .collect(),
            )
        };
        let replica_id = env
            .optional("NOTIFIER_REPLICA_ID")
            .or_else(|| env.optional("HOSTNAME"))
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
        if !replica_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ConfigError::Invalid {
                name: "NOTIFIER_REPLICA_ID",
                reason: "use letters, digits, - and _".into(),
            });
        }
        Ok(Self {
            bind_addr: env.string("NOTIFIER_BIND_ADDR", "127.0.0.1:8083"),
            replica_id,
            database_url: env.secret("DATABASE_URL").ok_or(ConfigError::Missing("DATABASE_URL"))?,
            database_pool_size: env.parse("DATABASE_POOL_SIZE", 4)?,
            redis_url: env.string("REDIS_URL", "redis://127.0.0.1:6379"),
            redis_board_prefix: env.string("REDIS_BOARD_PREFIX", "scoreboard:board:global"),
            amqp_url: SecretString::from(env.string("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")),
            topology: Topology::new(
                &prefix,
                env.parse("AMQP_DELIVERY_LIMIT", 5)?,
                Duration::from_secs(env.parse("AMQP_REPLICA_QUEUE_EXPIRY_SECS", 300)?.max(1)),
            ),
            prefetch: env.parse("AMQP_PREFETCH", 256)?,
            snapshot_window: Duration::from_millis(env.parse("SNAPSHOT_WINDOW_MS", 50)?),
            snapshot_refresh: Duration::from_secs(env.parse("SNAPSHOT_REFRESH_SECS", 5)?.max(1)),
            ws: WsSettings {
                max_connections: env.parse("WS_MAX_CONNECTIONS", 20_000)?,
                max_frame_bytes: env.parse("WS_MAX_FRAME_BYTES", 1024)?,
                max_messages_per_sec: env.parse("WS_MAX_MESSAGES_PER_SEC", 10)?,
                ping_every: Duration::from_secs(env.parse("WS_PING_SECS", 15)?.max(1)),
                pong_timeout: Duration::from_secs(env.parse("WS_PONG_TIMEOUT_SECS", 45)?.max(1)),
                send_timeout: Duration::from_millis(env.parse("WS_SEND_TIMEOUT_MS", 5000)?),
                socket_send_buffer: env.parse("WS_SOCKET_SEND_BUFFER_BYTES", 32 * 1024)?,
                allowed_origins,
            },
            http_workers: env.parse(
                "HTTP_WORKERS",
                std::thread::available_parallelism().map_or(2, usize::from),
            )?,
            jwt: if env.flag("WS_REQUIRE_TOKEN")? {
                Some(env.jwt()?)
            } else {
                None
            },
        })
    }
}
