//! Integration tests of the action service: the real HTTP server on a random port, against a real
//! PostgreSQL database of each test's own.

#![expect(clippy::expect_used, reason = "tests fail loudly when set-up breaks")]

mod auth;
mod complete;
mod helpers;
mod reported;
mod service;
