//! RabbitMQ for Scoreboard: the topology every service declares the same way, connecting with back-off
//! (lapin does not reconnect by itself; each service runs its own reconnect loop), and publishing with
//! publisher confirms.
//!
//! Topology, for a prefix `p` (production: `scoreboard`):
//! - `p.events`: durable topic exchange; `ScoreUpdated` is published with routing key `score.updated`;
//! - `p.events.dlx` / `p.events.dead`: the dead-letter exchange and its durable queue;
//! - `p.notifier.<replica>`: one quorum queue per notifier replica, bound to `p.events`, with a delivery
//!   limit (a message redelivered that often is dead-lettered instead of blocking the queue) and an
//!   expiry, so the queue of a replica that is gone for good is removed by the broker.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use uuid::Uuid;

pub use lapin;

/// Routing key of `ScoreUpdated`.
pub const SCORE_UPDATED_ROUTING_KEY: &str = "score.updated";

/// A broker failure. Every one of them means "drop the connection and reconnect".
pub type BrokerError = lapin::Error;

/// Exchange and queue names, and the dead-letter policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    pub exchange: String,
    pub dead_letter_exchange: String,
    pub dead_letter_queue: String,
    /// Deliveries of one message to a replica queue before it is dead-lettered.
    pub delivery_limit: u32,
    /// A replica queue unused this long is deleted by the broker.
    pub replica_queue_expiry: Duration,
    prefix: String,
}

impl Topology {
    pub fn new(prefix: &str, delivery_limit: u32, replica_queue_expiry: Duration) -> Self {
        Self {
            exchange: format!("{prefix}.events"),
            dead_letter_exchange: format!("{prefix}.events.dlx"),
            dead_letter_queue: format!("{prefix}.events.dead"),
            delivery_limit,
            replica_queue_expiry,
            prefix: prefix.to_owned(),
        }
    }

    /// The queue of one notifier replica.
    pub fn replica_queue(&self, replica: &str) -> String {
        format!("{}.notifier.{replica}", self.prefix)
    }

    /// Declares the exchanges and the dead-letter queue. Idempotent: every service calls it on connect.
    pub async fn declare(&self, channel: &Channel) -> Result<(), BrokerError> {
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        };
        channel
            .exchange_declare(
                self.exchange.as_str().into(),
                ExchangeKind::Topic,
                durable,
                FieldTable::default(),
            )
            .await?;
        channel
            .exchange_declare(
                self.dead_letter_exchange.as_str().into(),
                ExchangeKind::Fanout,
                durable,
                FieldTable::default(),
            )
            .await?;
        let mut dead_args = FieldTable::default();
        dead_args.insert("x-queue-type".into(), AMQPValue::LongString("quorum".into()));
        channel
            .queue_declare(
                self.dead_letter_queue.as_str().into(),
                QueueDeclareOptions {
                    durable: true,
                    ..QueueDeclareOptions::default()
                },
                dead_args,
            )
            .await?;
        channel
            .queue_bind(
                self.dead_letter_queue.as_str().into(),
                self.dead_letter_exchange.as_str().into(),
                "".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
    }

    /// Declares (idempotently) and binds one replica's queue; returns its name.
    pub async fn declare_replica_queue(&self, channel: &Channel, replica: &str) -> Result<String, BrokerError> {
        let name = self.replica_queue(replica);
        let mut args = FieldTable::default();
        args.insert("x-queue-type".into(), AMQPValue::LongString("quorum".into()));
        args.insert(
            "x-delivery-limit".into(),
            AMQPValue::LongLongInt(i64::from(self.delivery_limit)),
        );
        args.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString(self.dead_letter_exchange.as_str().into()),
        );
        let expiry_ms = i64::try_from(self.replica_queue_expiry.as_millis()).unwrap_or(i64::MAX);
        args.insert("x-expires".into(), AMQPValue::LongLongInt(expiry_ms));
        channel
            .queue_declare(
                name.as_str().into(),
                QueueDeclareOptions {
                    durable: true,
                    ..QueueDeclareOptions::default()
                },
                args,
            )
            .await?;
        channel
            .queue_bind(
                name.as_str().into(),
                self.exchange.as_str().into(),
                SCORE_UPDATED_ROUTING_KEY.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        Ok(name)
    }
}

/// Opens a connection named after the service (shown in the management UI).
pub async fn connect(url: &str, connection_name: &str) -> Result<Connection, BrokerError> {
    let properties = ConnectionProperties::default().with_connection_name(connection_name.into());
    Connection::connect(url, properties).await
}

/// The error a session ends with when it finds its connection closed.
pub fn connection_lost() -> BrokerError {
    lapin::ErrorKind::IOError(Arc::new(std::io::Error::new(
        std::io::ErrorKind::NotConnected,
        "broker connection lost",
    )))
    .into()
}

/// Whether this process holds a working broker connection; shared with `/readyz`.
#[derive(Debug, Clone, Default)]
pub struct BrokerStatus(Arc<AtomicBool>);

impl BrokerStatus {
    pub fn set_connected(&self, connected: bool) {
        self.0.store(connected, Ordering::Relaxed);
    }

    pub fn is_connected(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Exponential back-off with jitter for reconnect loops: 100 ms doubling to `max`.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(max: Duration) -> Self {
        Self {
            next: Duration::from_millis(100),
            max,
        }
    }

    /// The wait before the next attempt (between half and all of the current step).
    pub fn next_delay(&mut self) -> Duration {
        let step = self.next;
        self.next = (self.next * 2).min(self.max);
        step.mul_f64(rand::random_range(0.5..=1.0))
    }

    pub fn reset(&mut self) {
        self.next = Duration::from_millis(100);
    }
}

/// Runs one broker session after another until the task is aborted: each `session` call holds a
/// connection and returns the error that ended it (lapin does not reconnect by itself). Between sessions it
/// waits with back-off, which starts over after a session that got connected (it set `status`).
pub async fn reconnect_forever<F, Fut>(what: &str, status: &BrokerStatus, mut session: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = BrokerError>,
{
    let mut backoff = Backoff::new(Duration::from_secs(5));
    loop {
        let error = session().await;
        if status.is_connected() {
            backoff.reset();
        }
        status.set_connected(false);
        let delay = backoff.next_delay();
        tracing::warn!(error = %error, retry_in_ms = delay.as_millis() as u64, "{what} lost the broker");
        tokio::time::sleep(delay).await;
    }
}

/// One event to publish.
#[derive(Debug, Clone, Copy)]
pub struct OutgoingEvent<'a> {
    pub id: Uuid,
    pub event_type: &'a str,
    pub schema_version: u32,
    pub payload: &'a [u8],
    pub traceparent: Option<&'a str>,
}

/// A channel in confirm mode on the events exchange.
#[derive(Debug, Clone)]
pub struct ConfirmedPublisher {
    channel: Channel,
    topology: Topology,
}

impl ConfirmedPublisher {
    /// Opens a channel, turns on publisher confirms and declares the topology.
    pub async fn open(connection: &Connection, topology: Topology) -> Result<Self, BrokerError> {
        let channel = connection.create_channel().await?;
        channel.confirm_select(ConfirmSelectOptions::default()).await?;
        topology.declare(&channel).await?;
        Ok(Self { channel, topology })
    }

    /// Publishes every event as a persistent message and waits for the broker's confirms. Returns, per
    /// event, whether the broker took responsibility for it (an ack); a nack means "try again later".
    pub async fn publish_all(&self, events: &[OutgoingEvent<'_>]) -> Result<Vec<bool>, BrokerError> {
        let mut pending = Vec::with_capacity(events.len());
        for event in events {
            let mut headers = FieldTable::default();
            headers.insert(
                "schema_version".into(),
                AMQPValue::LongLongInt(i64::from(event.schema_version)),
            );
            if let Some(traceparent) = event.traceparent {
                headers.insert(
                    "traceparent".into(),
                    AMQPValue::LongString(LongString::from(traceparent)),
                );
            }
            let properties = BasicProperties::default()
                .with_message_id(ShortString::from(event.id.to_string()))
                .with_type(event.event_type.into())
                .with_content_type("application/json".into())
                .with_delivery_mode(2)
                .with_headers(headers);
            let confirm = self
                .channel
                .basic_publish(
                    self.topology.exchange.as_str().into(),
                    SCORE_UPDATED_ROUTING_KEY.into(),
                    BasicPublishOptions::default(),
                    event.payload,
                    properties,
                )
                .await?;
            pending.push(confirm);
        }
        let mut acked = Vec::with_capacity(pending.len());
        for confirm in pending {
            acked.push(confirm.await?.is_ack());
        }
        Ok(acked)
    }
}

/// Reads the `traceparent` header of a delivery, if any.
pub fn traceparent_of(properties: &BasicProperties) -> Option<String> {
    let headers = properties.headers().as_ref()?;
    match headers.inner().get("traceparent")? {
        AMQPValue::LongString(value) => Some(value.to_string()),
        _ => None,
    }
}

/// A W3C `traceparent` whose trace id is the request id, so a redeem's log lines and the notifier's
/// can be joined on it.
pub fn traceparent_for_request(request_id: Uuid) -> String {
    let span_id = Uuid::new_v4().simple().to_string();
    format!("00-{}-{}-01", request_id.simple(), &span_id[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_prefix() {
        let topology = Topology::new("sb", 5, Duration::from_secs(60));
        assert_eq!(topology.exchange, "sb.events");
        assert_eq!(topology.dead_letter_queue, "sb.events.dead");
        assert_eq!(topology.replica_queue("n1"), "sb.notifier.n1");
    }

    #[test]
    fn backoff_grows_to_its_cap() {
        let mut backoff = Backoff::new(Duration::from_secs(1));
        let delays: Vec<_> = (0..8).map(|_| backoff.next_delay()).collect();
        assert!(delays[0] <= Duration::from_millis(100));
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(1)));
        assert!(delays[7] >= Duration::from_millis(500));
    }

    #[test]
    fn traceparent_is_well_formed() {
        let request = Uuid::new_v4();
        let traceparent = traceparent_for_request(request);
        let parts: Vec<_> = traceparent.split('-').collect();
        assert_eq!(parts.len(), 4);
        assert_eq!(parts[1], request.simple().to_string());
        assert_eq!(parts[2].len(), 16);
    }
}
