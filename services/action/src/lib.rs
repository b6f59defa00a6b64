//! The action service: users start action X and complete it with a proof the server checks; trusted
//! backends report completions. Each verified completion mints exactly one score key.

mod lifecycle;
pub mod routes;
pub mod settings;

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use scoreboard_auth::{DevTokenIssuer, JwtVerifier, ServiceCredential};
use scoreboard_db::PgPool;
use scoreboard_domain::KindCatalog;
pub use scoreboard_http::server::Application;
use scoreboard_http::server::ServerOptions;
use scoreboard_http::{Endpoint, UserRateLimiter};
use secrecy::ExposeSecret as _;

pub use settings::Settings;

/// What handlers share.
#[derive(Debug)]
pub struct AppState {
    pub pool: PgPool,
    pub kinds: Arc<KindCatalog>,
    pub start_limiter: UserRateLimiter,
    pub complete_limiter: UserRateLimiter,
    pub dev_tokens: Option<DevTokenIssuer>,
}

/// Binds the listener and wires the routes. Must be called inside a tokio runtime.
pub fn build(settings: Settings) -> anyhow::Result<Application> {
    let pool = scoreboard_db::build_pool(settings.database_url.expose_secret(), settings.database_pool_size)?;
    let verifier = web::Data::new(JwtVerifier::new(&settings.jwt)?);
    let credential = web::Data::new(
        settings
            .service_credential
            .as_ref()
            .map(ServiceCredential::new)
            .transpose()?,
    );
    let dev_tokens = if settings.dev_tokens_enabled {
        tracing::warn!("development tokens are enabled: anyone can sign in as any user");
        Some(DevTokenIssuer::new(&settings.jwt, settings.dev_token_ttl)?)
    } else {
        None
    };
    let state = web::Data::new(AppState {
        pool: pool.clone(),
        kinds: Arc::new(settings.kinds),
        start_limiter: UserRateLimiter::per_minute(settings.starts_per_minute),
        complete_limiter: UserRateLimiter::per_minute(settings.completes_per_minute),
        dev_tokens,
    });
    let background = tokio::spawn(forget_idle_users(state.clone().into_inner()));
    let pool = web::Data::new(pool);
    let dev_tokens_enabled = settings.dev_tokens_enabled;
    let options = ServerOptions {
        bind_addr: settings.bind_addr,
        workers: settings.http_workers,
        body_limit_bytes: settings.body_limit_bytes,
        socket_send_buffer: None,
    };
    let app = scoreboard_http::server::start(&options, vec![background], move |cfg| {
        cfg.app_data(state.clone())
            .app_data(verifier.clone())
            .app_data(credential.clone())
            .app_data(pool.clone());
        Endpoint::register_all(routes::endpoints(dev_tokens_enabled), cfg);
    })?;
    Ok(app)
}

async fn forget_idle_users(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        state.start_limiter.forget_idle();
        state.complete_limiter.forget_idle();
    }
}
