//! Consumes `ScoreUpdated` from this replica's queue: applies each event to the Redis board (absolute,
//! versioned, so duplicates and reordering are harmless), acknowledges it, and marks the snapshot dirty
//! when the event can change the top 10. Deliveries that have already arrived are handled together: one
//! pipelined Redis round trip and one multiple ack for the burst.
//! A message that cannot be read is rejected without requeue and lands in the dead-letter queue; the
//! queue's delivery limit does the same for one that keeps failing.

use futures_util::{FutureExt as _, StreamExt as _};
use scoreboard_cache::BoardUpdate;
use scoreboard_domain::{ScoreUpdated, SCORE_UPDATED_SCHEMA_VERSION};
use scoreboard_messaging::lapin::message::Delivery;
use scoreboard_messaging::lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions, BasicRejectOptions};
use scoreboard_messaging::lapin::types::FieldTable;
use scoreboard_messaging::{BrokerError, BrokerStatus, Topology};
use secrecy::{ExposeSecret as _, SecretString};

use crate::hub::SnapshotHub;

/// Most deliveries handled together (only those already arrived: a burst never waits for more).
const MAX_BURST: usize = 64;

/// What the consumer needs.
#[derive(Debug, Clone)]
pub struct ConsumerSettings {
    pub amqp_url: SecretString,
    pub topology: Topology,
    pub replica_id: String,
    pub prefetch: u16,
}

/// Consumes until aborted, reconnecting with back-off.
pub async fn run(settings: ConsumerSettings, hub: SnapshotHub, status: BrokerStatus) {
    scoreboard_messaging::reconnect_forever("notifier", &status, || session(&settings, &hub, &status)).await;
}

async fn session(settings: &ConsumerSettings, hub: &SnapshotHub, status: &BrokerStatus) -> BrokerError {
    let connection_name = format!("scoreboard-notifier {}", settings.replica_id);
    let connection = match scoreboard_messaging::connect(settings.amqp_url.expose_secret(), &connection_name).await {
        Ok(connection) => connection,
        Err(error) => return error,
    };
    let consumer = async {
        let channel = connection.create_channel().await?;
        settings.topology.declare(&channel).await?;
        let queue = settings
            .topology
            .declare_replica_queue(&channel, &settings.replica_id)
            .await?;
        channel.basic_qos(settings.prefetch, BasicQosOptions::default()).await?;
        let consumer = channel
            .basic_consume(
                queue.as_str().into(),
                connection_name.as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        tracing::info!(%queue, "notifier consuming");
        Ok::<_, BrokerError>(consumer)
    }
    .await;
    let mut consumer = match consumer {
        Ok(consumer) => consumer,
        Err(error) => return error,
    };
    status.set_connected(true);
    // Whatever happened while disconnected, the board is re-read now.
    hub.mark_dirty();
    while let Some(first) = consumer.next().await {
        // Whatever else has arrived already joins this one: one Redis round trip and one ack per burst.
        let mut deliveries = vec![first];
        while deliveries.len() < MAX_BURST {
            match consumer.next().now_or_never() {
                Some(Some(delivery)) => deliveries.push(delivery),
                _ => break,
            }
        }
        if let Err(error) = handle_burst(deliveries, hub).await {
            return error;
        }
    }
    scoreboard_messaging::connection_lost()
}

/// Applies the readable events of a burst to the board, rejects the unreadable ones (to the dead-letter
/// queue), then acknowledges the rest with one multiple ack.
async fn handle_burst(deliveries: Vec<Result<Delivery, BrokerError>>, hub: &SnapshotHub) -> Result<(), BrokerError> {
    let mut updates = Vec::with_capacity(deliveries.len());
    let mut last_applied: Option<Delivery> = None;
    let mut may_change_top = false;
    for delivery in deliveries {
        let delivery = delivery?;
        let traceparent = scoreboard_messaging::traceparent_of(&delivery.properties);
        match parse(&delivery.data) {
            Ok(event) => {
                tracing::debug!(user = %event.user_id, version = event.version, traceparent, "ScoreUpdated received");
                may_change_top |= hub.may_change_top(event.user_id.as_str(), event.score);
                updates.push(BoardUpdate::from(&event));
                last_applied = Some(delivery);
            }
            Err(reason) => {
                tracing::warn!(%reason, traceparent, "unreadable message sent to the dead-letter queue");
                delivery.reject(BasicRejectOptions { requeue: false }).await?;
            }
        }
    }
    hub.board().apply_all(&updates).await;
    if may_change_top {
        hub.mark_dirty();
    }
    if let Some(last) = last_applied {
        // Acknowledges every delivery up to this one not yet settled: the applied ones of this burst.
        last.ack(BasicAckOptions { multiple: true }).await?;
    }
    Ok(())
}

fn parse(data: &[u8]) -> Result<ScoreUpdated, String> {
    let event: ScoreUpdated = serde_json::from_slice(data).map_err(|e| format!("not a ScoreUpdated: {e}"))?;
    if event.schema_version != SCORE_UPDATED_SCHEMA_VERSION {
        return Err(format!("unsupported schema version {}", event.schema_version));
    }
    Ok(event)
}
