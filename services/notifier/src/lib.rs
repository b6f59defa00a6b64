//! The notifier service: consumes `ScoreUpdated` from its own queue, keeps the Redis board current, and
//! pushes top-10 snapshots to WebSocket clients (coalesced, shared, never held up by a slow client).

pub mod consumer;
pub mod hub;
pub mod routes;
pub mod settings;
pub mod ws;

use actix_web::web;
use scoreboard_auth::JwtVerifier;
use scoreboard_cache::{Board, CacheKeys, LeaderboardCache};
pub use scoreboard_http::server::Application;
use scoreboard_http::server::ServerOptions;
use scoreboard_http::Endpoint;
use scoreboard_messaging::BrokerStatus;
use secrecy::ExposeSecret as _;

pub use settings::Settings;

/// Redis connections per notifier.
const REDIS_POOL_SIZE: usize = 16;

/// Binds the listener, starts the consumer and the snapshot task. Must run inside a tokio runtime.
pub fn build(settings: Settings) -> anyhow::Result<Application> {
    let pool = scoreboard_db::build_pool(settings.database_url.expose_secret(), settings.database_pool_size)?;
    let cache = LeaderboardCache::new(
        &settings.redis_url,
        CacheKeys::new(&settings.redis_board_prefix),
        REDIS_POOL_SIZE,
    )?;
    let hub = hub::SnapshotHub::new(Board::new(cache, pool.clone()));
    let broker = BrokerStatus::default();
    let consumer_settings = consumer::ConsumerSettings {
        amqp_url: settings.amqp_url.clone(),
        topology: settings.topology.clone(),
        replica_id: settings.replica_id.clone(),
        prefetch: settings.prefetch,
    };
    hub.mark_dirty();
    let background = vec![
        tokio::spawn(hub.clone().run(settings.snapshot_window, settings.snapshot_refresh)),
        tokio::spawn(consumer::run(consumer_settings, hub.clone(), broker.clone())),
    ];
    let verifier = settings.jwt.as_ref().map(JwtVerifier::new).transpose()?;
    let ws_state = web::Data::new(ws::WsState::new(settings.ws.clone(), verifier));
    let (hub, broker, pool) = (web::Data::new(hub), web::Data::new(broker), web::Data::new(pool));
    let options = ServerOptions {
        bind_addr: settings.bind_addr,
        workers: settings.http_workers,
        body_limit_bytes: 1024,
        socket_send_buffer: Some(settings.ws.socket_send_buffer),
    };
    let app = scoreboard_http::server::start(&options, background, move |cfg| {
        cfg.app_data(hub.clone())
            .app_data(ws_state.clone())
            .app_data(broker.clone())
            .app_data(pool.clone());
        Endpoint::register_all(routes::endpoints(), cfg);
    })?;
    Ok(app)
}
