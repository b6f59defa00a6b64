//! The HTTP server every service runs: the same middleware, input limits and fallbacks around the
//! service's own routes.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use tracing_actix_web::TracingLogger;

use crate::{json_config, not_found, path_config, query_config, request_id_header};

/// How long an idle keep-alive connection stays open. Longer than any proxy in front keeps its idle
/// upstream connections (the gateway: 60 s), so the proxy always closes first: when the server closed
/// first, a request the proxy sent at that moment met a closed connection and the client got a 502/503.
pub const IDLE_KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(75);

/// Where and how to listen.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub bind_addr: String,
    pub workers: usize,
    pub body_limit_bytes: usize,
    /// Kernel send buffer per connection (`SO_SNDBUF`); `None` keeps the system's auto-tuning. A small
    /// one makes a client that stops reading show up as a full queue soon, instead of after megabytes.
    pub socket_send_buffer: Option<usize>,
}

/// A built, bound service with its background tasks, ready to run.
pub struct Application {
    port: u16,
    server: Server,
    background: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// The bound port (useful when binding port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGTERM or SIGINT, then stops the background tasks.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        for task in self.background {
            task.abort();
        }
        result
    }
}

/// Binds (port 0 picks a free port) and builds the server around the service's `configure`.
/// The server stops gracefully on SIGTERM or SIGINT, finishing requests in flight for up to 10 s.
pub fn start<F>(
    options: &ServerOptions,
    background: Vec<tokio::task::JoinHandle<()>>,
    configure: F,
) -> std::io::Result<Application>
where
    F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
{
    let listener = TcpListener::bind(&options.bind_addr)?;
    let port = listener.local_addr()?.port();
    let body_limit = options.body_limit_bytes;
    let send_buffer = options.socket_send_buffer;
    let server = HttpServer::new(move || {
        App::new()
            .wrap(from_fn(request_id_header))
            .wrap(TracingLogger::default())
            .app_data(json_config(body_limit))
            .app_data(path_config())
            .app_data(query_config())
            .app_data(web::PayloadConfig::new(body_limit))
            .configure(configure.clone())
            .default_service(web::to(not_found))
    })
    .on_connect(move |connection, _extensions| {
        if let (Some(bytes), Some(stream)) = (send_buffer, connection.downcast_ref::<actix_web::rt::net::TcpStream>()) {
            if let Err(error) = socket2::SockRef::from(stream).set_send_buffer_size(bytes) {
                tracing::warn!(%error, "cannot set the socket send buffer");
            }
        }
    })
    .workers(options.workers.max(1))
    .keep_alive(IDLE_KEEP_ALIVE)
    .shutdown_timeout(10)
    .listen(listener)?
    .run();
    Ok(Application {
        port,
        server,
        background,
    })
}
