//! Consumes `ScoreUpdated` from this replica's queue: applies each event to the Redis board (absolute,
//! versioned, so duplicates and reordering are harmless), acknowledges it, and marks the snapshot dirty
//! when the event can change the top 10.
//! A message that cannot be read is rejected without requeue and lands in the dead-letter queue; the
//! queue's delivery limit does the same for one that keeps failing.

use futures_util::StreamExt as _;
use scoreboard_cache::BoardUpdate;
use scoreboard_domain::{ScoreUpdated, SCORE_UPDATED_SCHEMA_VERSION};
use scoreboard_messaging::lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions, BasicRejectOptions};
use scoreboard_messaging::lapin::types::FieldTable;
use scoreboard_messaging::{BrokerError, BrokerStatus, Topology};
use secrecy::{ExposeSecret as _, SecretString};

use crate::hub::SnapshotHub;

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
    while let Some(delivery) = consumer.next().await {
        let delivery = match delivery {
            Ok(delivery) => delivery,
            Err(error) => return error,
        };
        let traceparent = scoreboard_messaging::traceparent_of(&delivery.properties);
        let outcome = match parse(&delivery.data) {
            Ok(event) => {
                tracing::debug!(user = %event.user_id, version = event.version, traceparent, "ScoreUpdated received");
                hub.board().apply(&BoardUpdate::from(&event)).await;
                if hub.may_change_top(event.user_id.as_str(), event.score) {
                    hub.mark_dirty();
                }
                delivery.ack(BasicAckOptions::default()).await
            }
            Err(reason) => {
                tracing::warn!(%reason, traceparent, "unreadable message sent to the dead-letter queue");
                delivery.reject(BasicRejectOptions { requeue: false }).await
            }
        };
        if let Err(error) = outcome {
            return error;
        }
    }
    scoreboard_messaging::connection_lost()
}

fn parse(data: &[u8]) -> Result<ScoreUpdated, String> {
    let event: ScoreUpdated = serde_json::from_slice(data).map_err(|e| format!("not a ScoreUpdated: {e}"))?;
    if event.schema_version != SCORE_UPDATED_SCHEMA_VERSION {
        return Err(format!("unsupported schema version {}", event.schema_version));
    }
    Ok(event)
}
