//! RabbitMQ for tests: a topology of one's own, a probe queue that collects what was published, and a
//! proxy that can cut the connection to the broker to stage an outage without stopping the shared broker.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt as _;
use scoreboard_messaging::lapin::options::{
    BasicAckOptions, BasicConsumeOptions, ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use scoreboard_messaging::lapin::types::FieldTable;
use scoreboard_messaging::lapin::{message::Delivery, Channel, Connection};
use scoreboard_messaging::{Topology, SCORE_UPDATED_ROUTING_KEY};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The broker tests use; `TEST_AMQP_URL` overrides it.
pub fn amqp_url() -> String {
    std::env::var("TEST_AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

/// Exchange and queue names of one's own (`test.<uuid>.*`), deleted on `Drop`; replica queues expire.
#[derive(Debug)]
pub struct TestBroker {
    pub topology: Topology,
}

impl Default for TestBroker {
    fn default() -> Self {
        Self::new()
    }
}

impl TestBroker {
    pub fn new() -> Self {
        let prefix = format!("test.{}", uuid::Uuid::new_v4().simple());
        Self {
            topology: Topology::new(&prefix, 3, Duration::from_secs(120)),
        }
    }

    pub async fn connect(&self) -> Connection {
        scoreboard_messaging::connect(&amqp_url(), "scoreboard tests")
            .await
            .expect("RabbitMQ must be running")
    }

    /// Declares the topology and a private queue bound to the events exchange, so the test sees every
    /// message published from now on.
    pub async fn probe(&self) -> Probe {
        let connection = self.connect().await;
        let channel = connection.create_channel().await.expect("channel");
        self.topology.declare(&channel).await.expect("declare topology");
        let queue = channel
            .queue_declare(
                "".into(),
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .expect("probe queue");
        channel
            .queue_bind(
                queue.name().clone(),
                self.topology.exchange.as_str().into(),
                SCORE_UPDATED_ROUTING_KEY.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("bind probe");
        let consumer = channel
            .basic_consume(
                queue.name().clone(),
                "probe".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("consume probe");
        Probe {
            _connection: connection,
            channel,
            consumer,
        }
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        let topology = self.topology.clone();
        // Drop cannot await; a short-lived runtime on its own thread does the clean-up.
        let cleanup = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            runtime.block_on(async move {
                let Ok(connection) = scoreboard_messaging::connect(&amqp_url(), "scoreboard test clean-up").await
                else {
                    return;
                };
                let Ok(channel) = connection.create_channel().await else {
                    return;
                };
                let _ = channel
                    .queue_delete(
                        topology.dead_letter_queue.as_str().into(),
                        QueueDeleteOptions::default(),
                    )
                    .await;
                for exchange in [&topology.exchange, &topology.dead_letter_exchange] {
                    let _ = channel
                        .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
                        .await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

/// Messages published to the events exchange, as a test receives them.
pub struct Probe {
    _connection: Connection,
    pub channel: Channel,
    consumer: scoreboard_messaging::lapin::Consumer,
}

impl std::fmt::Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Probe")
    }
}

impl Probe {
    /// The next message, acknowledged, or `None` after `wait`.
    pub async fn next(&mut self, wait: Duration) -> Option<Delivery> {
        let delivery = tokio::time::timeout(wait, self.consumer.next()).await.ok()??.ok()?;
        delivery.ack(BasicAckOptions::default()).await.expect("ack");
        Some(delivery)
    }

    /// Collects messages until `count` arrived or `wait` passed.
    pub async fn collect(&mut self, count: usize, wait: Duration) -> Vec<Delivery> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut received = Vec::new();
        while received.len() < count {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Some(delivery) => received.push(delivery),
                None => break,
            }
        }
        received
    }
}

/// A TCP proxy to an upstream (the broker) that a test can cut and restore.
#[derive(Debug)]
pub struct FaultProxy {
    pub port: u16,
    state: Arc<Mutex<ProxyState>>,
    accept: JoinHandle<()>,
}

#[derive(Debug, Default)]
struct ProxyState {
    open: bool,
    links: Vec<JoinHandle<()>>,
}

impl FaultProxy {
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let state = Arc::new(Mutex::new(ProxyState {
            open: true,
            links: Vec::new(),
        }));
        let accept_state = state.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let mut state = accept_state.lock().expect("proxy state");
                if !state.open {
                    continue; // dropping the socket refuses the connection
                }
                state.links.push(tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                }));
            }
        });
        Self { port, state, accept }
    }

    /// The AMQP URL through this proxy.
    pub fn amqp_url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    /// Closes every open connection and refuses new ones: the broker is gone, as far as clients can tell.
    pub fn cut(&self) {
        let mut state = self.state.lock().expect("proxy state");
        state.open = false;
        for link in state.links.drain(..) {
            link.abort();
        }
    }

    pub fn restore(&self) {
        self.state.lock().expect("proxy state").open = true;
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}
