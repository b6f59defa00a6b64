//! The WebSocket endpoint: checks at the handshake (origin, optional token, connection limit), then one
//! task per client that sends the current snapshot at once and every newer one after it.
//!
//! A client never holds up the others: each has its own task, and its only queue toward it is the
//! snapshot watch (newest replaces unsent) plus the socket's own buffer. When that stays full for
//! `send_timeout`, the client is dropped. Clients that stop answering pings, send oversized frames or
//! too many messages are closed.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{CloseCode, CloseReason, Message, ProtocolError};
use futures_util::StreamExt as _;
use scoreboard_auth::JwtVerifier;
use scoreboard_http::{ApiError, ErrorCode};
use serde_json::json;

use crate::hub::{Snapshot, SnapshotHub, SnapshotWatch};
use crate::settings::WsSettings;

/// The subprotocol clients ask for; a token rides along as a second one, `bearer.<jwt>`, because
/// browsers cannot set headers on a WebSocket.
pub const SUBPROTOCOL: &str = "scoreboard.v1";
const BEARER_PROTOCOL_PREFIX: &str = "bearer.";

/// Shared by the handshake and the client tasks.
#[derive(Debug)]
pub struct WsState {
    pub settings: WsSettings,
    pub verifier: Option<JwtVerifier>,
    pub connections: Arc<AtomicUsize>,
    pub dropped_slow: Arc<AtomicU64>,
}

impl WsState {
    pub fn new(settings: WsSettings, verifier: Option<JwtVerifier>) -> Self {
        Self {
            settings,
            verifier,
            connections: Arc::default(),
            dropped_slow: Arc::default(),
        }
    }
}

/// Holds one place under `WS_MAX_CONNECTIONS` until the client is gone.
struct ConnectionSlot(Arc<AtomicUsize>);

impl ConnectionSlot {
    fn take(connections: &Arc<AtomicUsize>, max: usize) -> Option<Self> {
        connections
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max).then_some(n + 1))
            .ok()?;
        Some(Self(connections.clone()))
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn offered_protocols(req: &HttpRequest) -> impl Iterator<Item = &str> {
    req.headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
}

fn check_handshake(req: &HttpRequest, state: &WsState) -> Result<(), ApiError> {
    if let (Some(allowed), Some(origin)) = (&state.settings.allowed_origins, req.headers().get(header::ORIGIN)) {
        let origin = origin.to_str().unwrap_or_default().trim_end_matches('/');
        if !allowed.iter().any(|a| a == origin) {
            return Err(ApiError::new(
                ErrorCode::OriginNotAllowed,
                "this origin may not open the live board",
            ));
        }
    }
    if let Some(verifier) = &state.verifier {
        let token = offered_protocols(req)
            .find_map(|p| p.strip_prefix(BEARER_PROTOCOL_PREFIX))
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "offer the subprotocol `bearer.<token>`"))?;
        verifier
            .verify(token)
            .map_err(|_| ApiError::new(ErrorCode::Unauthorized, "invalid or expired token"))?;
    }
    Ok(())
}

/// `GET /ws`: upgrade to a WebSocket that receives top-10 snapshots.
pub async fn connect(
    req: HttpRequest,
    body: web::Payload,
    hub: web::Data<SnapshotHub>,
    state: web::Data<WsState>,
) -> Result<HttpResponse, ApiError> {
    check_handshake(&req, &state)?;
    let slot = ConnectionSlot::take(&state.connections, state.settings.max_connections).ok_or_else(|| {
        ApiError::new(
            ErrorCode::TooManyConnections,
            "the live board is full, try again shortly",
        )
    })?;
    let (response, session, stream) = actix_ws::handle_with_protocols(&req, body, &[SUBPROTOCOL])
        .map_err(|e| ApiError::new(ErrorCode::InvalidRequest, format!("not a WebSocket handshake: {e}")))?;
    let stream = stream.max_frame_size(state.settings.max_frame_bytes);
    let client = Client {
        session,
        snapshots: hub.subscribe_local(),
        settings: state.settings.clone(),
        dropped_slow: state.dropped_slow.clone(),
        _slot: slot,
    };
    actix_web::rt::spawn(client.run(stream));
    Ok(response)
}

/// `GET /stats`: what this replica serves now.
pub async fn stats(hub: web::Data<SnapshotHub>, state: web::Data<WsState>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "connections": state.connections.load(Ordering::Acquire),
        "dropped_slow_clients": state.dropped_slow.load(Ordering::Acquire),
        "snapshot_version": hub.current().map(|s| s.version),
    }))
}

struct Client {
    session: actix_ws::Session,
    snapshots: SnapshotWatch,
    settings: WsSettings,
    dropped_slow: Arc<AtomicU64>,
    _slot: ConnectionSlot,
}

impl Client {
    async fn run(mut self, mut stream: actix_ws::MessageStream) {
        let reason = self.serve(&mut stream).await;
        // Closing goes through the same queue as snapshots; a stuck client does not get to hold us.
        let _ = tokio::time::timeout(self.settings.send_timeout, self.session.close(reason)).await;
    }

    /// Serves the client until it leaves or must be closed; returns the close reason to send.
    async fn serve(&mut self, stream: &mut actix_ws::MessageStream) -> Option<CloseReason> {
        let current = self.snapshots.borrow_and_update().clone();
        if let Some(snapshot) = current {
            if let Err(reason) = self.send(&snapshot).await {
                return reason;
            }
        }
        let mut ping = tokio::time::interval(self.settings.ping_every);
        ping.tick().await;
        let mut last_heard = Instant::now();
        let mut rate = (Instant::now(), 0u32);
        loop {
            tokio::select! {
                changed = self.snapshots.changed() => {
                    if changed.is_err() {
                        return Some(CloseCode::Restart.into());
                    }
                    let snapshot = self.snapshots.borrow_and_update().clone();
                    if let Some(snapshot) = snapshot {
                        if let Err(reason) = self.send(&snapshot).await {
                            return reason;
                        }
                    }
                }
                message = stream.next() => {
                    let message = match message {
                        None => return None,
                        Some(Ok(message)) => message,
                        Some(Err(ProtocolError::Overflow)) => {
                            return Some(CloseReason { code: CloseCode::Size, description: Some("frame too large".into()) });
                        }
                        Some(Err(_)) => return Some(CloseCode::Protocol.into()),
                    };
                    last_heard = Instant::now();
                    if rate.0.elapsed().as_secs() >= 1 {
                        rate = (Instant::now(), 0);
                    }
                    rate.1 += 1;
                    if rate.1 > self.settings.max_messages_per_sec {
                        return Some(CloseReason { code: CloseCode::Policy, description: Some("too many messages".into()) });
                    }
                    match message {
                        Message::Ping(bytes) => {
                            let answered = self.session.pong(&bytes).await;
                            if answered.is_err() {
                                return None;
                            }
                        }
                        Message::Close(_) => return None,
                        // Any text asks for the current snapshot again (a client that suspects it missed one).
                        Message::Text(_) => {
                            let current = self.snapshots.borrow().clone();
                            if let Some(snapshot) = current {
                                if let Err(reason) = self.send(&snapshot).await {
                                    return reason;
                                }
                            }
                        }
                        _ => {}
                    }
                }
                _ = ping.tick() => {
                    if last_heard.elapsed() > self.settings.pong_timeout {
                        return Some(CloseReason { code: CloseCode::Away, description: Some("no pong".into()) });
                    }
                    if self.session.ping(b"").await.is_err() {
                        return None;
                    }
                }
            }
        }
    }

    /// Sends one snapshot; a client whose queue stays full for `send_timeout` is dropped.
    async fn send(&mut self, snapshot: &Snapshot) -> Result<(), Option<CloseReason>> {
        match tokio::time::timeout(self.settings.send_timeout, self.session.text(snapshot.frame.clone())).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_closed)) => Err(None),
            Err(_elapsed) => {
                self.dropped_slow.fetch_add(1, Ordering::AcqRel);
                tracing::info!("dropping a client whose send queue stayed full");
                Err(Some(CloseReason {
                    code: CloseCode::Policy,
                    description: Some("too slow".into()),
                }))
            }
        }
    }
}
