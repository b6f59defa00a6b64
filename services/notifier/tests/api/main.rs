//! Integration tests of the notifier: the real service on a random port, consuming from the real
//! RabbitMQ, keeping the real Redis board, with PostgreSQL behind it; WebSocket clients as a browser or
//! game client would connect. Each test owns its database, exchange and queue names, and Redis keys.

#![expect(clippy::expect_used, reason = "tests fail loudly when set-up breaks")]

mod clients;
mod events;
mod helpers;
mod live;
mod service;
