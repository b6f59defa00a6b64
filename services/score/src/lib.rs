//! The score service: redeems score keys (once, for their owner, for the server's amount), serves the
//! leaderboard and each user's standing, and sweeps expired keys.

pub mod relay;
pub mod routes;
pub mod settings;
pub mod top_cache;

use std::time::Duration;

use actix_web::web;
use chrono::Utc;
use scoreboard_auth::JwtVerifier;
use scoreboard_cache::{Board, CacheKeys, LeaderboardCache};
use scoreboard_db::PgPool;
pub use scoreboard_http::server::Application;
use scoreboard_http::server::ServerOptions;
use scoreboard_http::Endpoint;
use scoreboard_messaging::BrokerStatus;
use secrecy::ExposeSecret as _;

pub use settings::Settings;

/// Redis connections per replica.
const REDIS_POOL_SIZE: usize = 16;

/// Keys marked `expired` per sweep statement.
const EXPIRY_BATCH: i64 = 1_000;

/// Binds the listener, wires the routes and starts the expiry sweep and the outbox relay. Must run inside a tokio runtime.
pub fn build(settings: Settings) -> anyhow::Result<Application> {
    let pool = scoreboard_db::build_pool(settings.database_url.expose_secret(), settings.database_pool_size)?;
    let verifier = web::Data::new(JwtVerifier::new(&settings.jwt)?);
    let cache = LeaderboardCache::new(
        &settings.redis_url,
        CacheKeys::new(&settings.redis_board_prefix),
        REDIS_POOL_SIZE,
    )?;
    let board = web::Data::new(Board::new(cache, pool.clone()));
    let top_responses = web::Data::new(top_cache::TopResponses::new(settings.leaderboard_cache));
    let mut background = vec![tokio::spawn(sweep_expired_keys(
        pool.clone(),
        settings.key_expiry_sweep,
    ))];
    let wake = relay::OutboxWake::default();
    let broker = BrokerStatus::default();
    if let Some(relay_settings) = settings.relay {
        background.push(tokio::spawn(relay::run(
            pool.clone(),
            relay_settings,
            wake.clone(),
            broker.clone(),
        )));
    }
    let (wake, broker) = (web::Data::new(wake), web::Data::new(broker));
    let pool = web::Data::new(pool);
    let options = ServerOptions {
        bind_addr: settings.bind_addr,
        workers: settings.http_workers,
        body_limit_bytes: settings.body_limit_bytes,
        socket_send_buffer: None,
    };
    let app = scoreboard_http::server::start(&options, background, move |cfg| {
        cfg.app_data(verifier.clone())
            .app_data(pool.clone())
            .app_data(wake.clone())
            .app_data(broker.clone())
            .app_data(board.clone())
            .app_data(top_responses.clone());
        Endpoint::register_all(routes::endpoints(), cfg);
    })?;
    Ok(app)
}

/// Marks overdue pending keys `expired`, batch by batch, every `every`.
async fn sweep_expired_keys(pool: PgPool, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        loop {
            match scoreboard_db::run_blocking(&pool, |conn| {
                Ok(scoreboard_db::keys::expire_overdue(conn, Utc::now(), EXPIRY_BATCH)?)
            })
            .await
            {
                Ok(0) => break,
                Ok(expired) => tracing::info!(expired, "expired overdue score keys"),
                Err(err) => {
                    tracing::warn!(error = %err, "key expiry sweep failed; retrying next tick");
                    break;
                }
            }
        }
    }
}
