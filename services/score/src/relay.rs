//! The outbox relay: publishes committed `ScoreUpdated` rows to RabbitMQ with publisher confirms.
//!
//! Woken right after each redeem commits, it also sweeps on a timer, so rows left by a broker outage, a
//! failed publish or a crashed replica go out when the broker is back. A batch is leased (`FOR UPDATE SKIP
//! LOCKED` plus a lease time), published, and marked published only after the broker's confirm; so
//! replicas never publish one row at the same time, and a duplicate can only follow a crash between the
//! confirm and the mark. Consumers apply events idempotently.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use scoreboard_db::outbox::{self, PendingEvent};
use scoreboard_db::PgPool;
use scoreboard_domain::SCORE_UPDATED_SCHEMA_VERSION;
use scoreboard_messaging::{BrokerError, BrokerStatus, ConfirmedPublisher, OutgoingEvent, Topology};
use secrecy::{ExposeSecret as _, SecretString};
use tokio::sync::Notify;
use uuid::Uuid;

/// Relay configuration.
#[derive(Debug, Clone)]
pub struct RelaySettings {
    pub amqp_url: SecretString,
    pub topology: Topology,
    /// Rows leased and published per round.
    pub batch_size: i64,
    /// How long a leased batch stays reserved for this replica.
    pub lease: Duration,
    /// Sweep interval for rows nobody woke the relay for.
    pub sweep_every: Duration,
    /// Pause after each drain, so that under load a round publishes the rows of many commits rather than
    /// one or two; a commit after a quiet spell still goes out at once.
    pub linger: Duration,
}

/// Wakes the relay after a commit; cheap to clone into handlers.
#[derive(Debug, Clone, Default)]
pub struct OutboxWake(Arc<Notify>);

impl OutboxWake {
    /// Wakes the relay; a wake while it is busy is remembered, so none is lost.
    pub fn wake(&self) {
        self.0.notify_one();
    }

    async fn woken(&self) {
        self.0.notified().await;
    }
}

/// Runs the relay until the task is aborted, reconnecting with back-off after every broker failure.
pub async fn run(pool: PgPool, settings: RelaySettings, wake: OutboxWake, status: BrokerStatus) {
    scoreboard_messaging::reconnect_forever("outbox relay", &status, || session(&pool, &settings, &wake, &status))
        .await;
}

/// One connection's life: publish whatever is pending, then wait for a wake or the sweep timer.
async fn session(pool: &PgPool, settings: &RelaySettings, wake: &OutboxWake, status: &BrokerStatus) -> BrokerError {
    let connection =
        match scoreboard_messaging::connect(settings.amqp_url.expose_secret(), "scoreboard-score outbox relay").await {
            Ok(connection) => connection,
            Err(error) => return error,
        };
    let publisher = match ConfirmedPublisher::open(&connection, settings.topology.clone()).await {
        Ok(publisher) => publisher,
        Err(error) => return error,
    };
    status.set_connected(true);
    tracing::info!(exchange = %settings.topology.exchange, "outbox relay connected");
    loop {
        if let Err(error) = drain(pool, settings, &publisher).await {
            return error;
        }
        // A wake during the pause is kept by `Notify` and starts the next drain right after it.
        tokio::time::sleep(settings.linger).await;
        tokio::select! {
            () = wake.woken() => {}
            () = tokio::time::sleep(settings.sweep_every) => {}
        }
        if !connection.status().connected() {
            return scoreboard_messaging::connection_lost();
        }
    }
}

/// Publishes leased batches until none is left. Database trouble is logged and left for the next sweep;
/// broker trouble ends the session.
async fn drain(pool: &PgPool, settings: &RelaySettings, publisher: &ConfirmedPublisher) -> Result<(), BrokerError> {
    loop {
        let (batch_size, lease) = (settings.batch_size, settings.lease);
        let leased = scoreboard_db::run_blocking(pool, move |conn| {
            let now = Utc::now();
            let lease_until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(30));
            Ok(outbox::lease_batch(conn, now, lease_until, batch_size)?)
        })
        .await;
        let batch = match leased {
            Ok(batch) if batch.is_empty() => return Ok(()),
            Ok(batch) => batch,
            Err(error) => {
                tracing::warn!(error = %error, "outbox relay cannot read the outbox; retrying at the next sweep");
                return Ok(());
            }
        };
        let outcome = publish(publisher, &batch).await;
        let (published, refused): (Vec<Uuid>, Vec<Uuid>) = match &outcome {
            Ok(acks) => {
                let mut published = Vec::new();
                let mut refused = Vec::new();
                for (row, acked) in batch.iter().zip(acks) {
                    if *acked {
                        published.push(row.id)
                    } else {
                        refused.push(row.id)
                    }
                }
                (published, refused)
            }
            Err(_) => (Vec::new(), batch.iter().map(|row| row.id).collect()),
        };
        let count = published.len();
        let marked = scoreboard_db::run_blocking(pool, move |conn| {
            Ok(outbox::settle(conn, &published, &refused, Utc::now())?)
        })
        .await;
        if let Err(error) = marked {
            // The rows stay leased and go out again when the lease ends: a duplicate, never a loss.
            tracing::warn!(error = %error, "outbox relay could not mark published rows");
        }
        tracing::debug!(published = count, "outbox batch published");
        outcome?;
    }
}

async fn publish(publisher: &ConfirmedPublisher, batch: &[PendingEvent]) -> Result<Vec<bool>, BrokerError> {
    let payloads: Vec<Vec<u8>> = batch
        .iter()
        .map(|row| serde_json::to_vec(&row.payload).unwrap_or_default())
        .collect();
    let events: Vec<OutgoingEvent<'_>> = batch
        .iter()
        .zip(&payloads)
        .map(|(row, payload)| OutgoingEvent {
            id: row.id,
            event_type: &row.event_type,
            schema_version: SCORE_UPDATED_SCHEMA_VERSION,
            payload,
            traceparent: row.traceparent.as_deref(),
        })
        .collect();
    publisher.publish_all(&events).await
}
