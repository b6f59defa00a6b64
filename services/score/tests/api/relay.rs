//! The outbox relay against the real RabbitMQ: every committed change is published with confirms, also
//! after the broker was unreachable, and replicas never publish one row twice.

use std::collections::BTreeSet;
use std::time::Duration;

use futures_util::future::join_all;
use scoreboard_domain::ScoreUpdated;
use scoreboard_test_support::broker::{amqp_url, FaultProxy, TestBroker};
use scoreboard_test_support::TestDb;

use crate::helpers::{relay, spawn_on, spawn_with};

const WAIT: Duration = Duration::from_secs(20);

fn event_ids(db: &TestDb) -> BTreeSet<String> {
    use diesel::prelude::*;
    use scoreboard_db::schema::outbox;
    outbox::table
        .select(outbox::id)
        .load::<uuid::Uuid>(&mut db.connect())
        .expect("outbox ids")
        .into_iter()
        .map(|id| id.to_string())
        .collect()
}

/// Polls until every outbox row is marked published, or the wait runs out.
async fn wait_until_all_published(db: &TestDb) -> i64 {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let unpublished = db.count("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL");
        if unpublished == 0 || tokio::time::Instant::now() > deadline {
            return unpublished;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_redeem_is_published_with_its_id_schema_version_and_trace_context() {
    let broker = TestBroker::new();
    let mut probe = broker.probe().await;
    let topology = broker.topology.clone();
    let app = spawn_with(|s| s.relay = Some(relay(&amqp_url(), &topology))).await;
    let key = app.mint_key("alice", 10);

    let reply = app.redeem("alice", &key).await;
    let message = probe.next(WAIT).await.expect("ScoreUpdated published");

    assert_eq!(reply.status, 200);
    let event: ScoreUpdated = serde_json::from_slice(&message.data).expect("payload is a ScoreUpdated");
    assert_eq!((event.user_id.as_str(), event.score, event.version), ("alice", 10, 1));
    assert_eq!(
        message.properties.message_id().as_ref().map(ToString::to_string),
        Some(event.event_id.to_string())
    );
    assert_eq!(message.properties.delivery_mode(), &Some(2), "persistent");
    let traceparent = scoreboard_messaging::traceparent_of(&message.properties).expect("traceparent header");
    let request_id = reply.headers["x-request-id"]
        .to_str()
        .expect("request id")
        .replace('-', "");
    assert!(
        traceparent.starts_with(&format!("00-{request_id}-")),
        "{traceparent} continues request {request_id}"
    );
    assert_eq!(wait_until_all_published(&app.db).await, 0);
}

#[tokio::test]
async fn every_change_committed_while_the_broker_is_unreachable_is_published_when_it_is_back() {
    let broker = TestBroker::new();
    let mut probe = broker.probe().await;
    let proxy = FaultProxy::start("127.0.0.1:5672".parse().expect("address")).await;
    let (topology, url) = (broker.topology.clone(), proxy.amqp_url());
    let app = spawn_with(|s| s.relay = Some(relay(&url, &topology))).await;
    let warm_up = app.mint_key("warm-up", 1);
    assert_eq!(app.redeem("warm-up", &warm_up).await.status, 200);
    let warm_up_event = probe.next(WAIT).await.expect("relay connected through the proxy");

    proxy.cut();
    let keys: Vec<(String, String)> = (0..30)
        .map(|i| {
            let user = format!("player{i}");
            let key = app.mint_key(&user, 5);
            (user, key)
        })
        .collect();
    let replies = join_all(keys.iter().map(|(user, key)| app.redeem(user, key))).await;
    let ready_during_outage = app.api.get("/readyz", None).await;
    let stranded = app
        .db
        .count("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL");
    proxy.restore();
    let unpublished_after = wait_until_all_published(&app.db).await;
    let received = probe.collect(30, WAIT).await;

    assert!(
        replies.iter().all(|r| r.status == 200),
        "redeems succeed while the broker is away"
    );
    assert_eq!(
        ready_during_outage.status, 200,
        "the score service stays ready: the outbox holds the events"
    );
    assert_eq!(stranded, 30, "the outage held every event back");
    assert_eq!(
        unpublished_after, 0,
        "every outbox row was confirmed after the broker came back"
    );
    let mut expected = event_ids(&app.db);
    expected.remove(
        &warm_up_event
            .properties
            .message_id()
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
    );
    let received_ids: BTreeSet<String> = received
        .iter()
        .filter_map(|m| m.properties.message_id().as_ref().map(ToString::to_string))
        .collect();
    assert_eq!(
        received_ids, expected,
        "zero lost events: the 30 outbox rows are the 30 confirmed messages"
    );
}

#[tokio::test]
async fn two_relays_on_one_database_publish_each_row_once() {
    let broker = TestBroker::new();
    let mut probe = broker.probe().await;
    let topology = broker.topology.clone();
    let first = spawn_with(|s| s.relay = Some(relay(&amqp_url(), &topology))).await;
    let second_db = TestDb::attach(first.db.url());
    let second = spawn_on(second_db, |s| s.relay = Some(relay(&amqp_url(), &topology))).await;
    let keys: Vec<(String, String)> = (0..40)
        .map(|i| {
            let user = format!("p{i}");
            let key = first.mint_key(&user, 3);
            (user, key)
        })
        .collect();

    let replies = join_all(keys.iter().enumerate().map(|(i, (user, key))| {
        let app = if i % 2 == 0 { &first } else { &second };
        app.redeem(user, key)
    }))
    .await;
    assert!(replies.iter().all(|r| r.status == 200));
    assert_eq!(wait_until_all_published(&first.db).await, 0);
    let received = probe.collect(41, Duration::from_secs(3)).await;

    let ids: Vec<String> = received
        .iter()
        .filter_map(|m| m.properties.message_id().as_ref().map(ToString::to_string))
        .collect();
    let distinct: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(ids.len(), 40, "no row was published twice");
    assert_eq!(distinct, event_ids(&first.db));
}
