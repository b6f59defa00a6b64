//! Integration tests of the score service: the real HTTP server on a random port (and the action service
//! beside it for the full path), against a real PostgreSQL database of each test's own.

#![expect(clippy::expect_used, reason = "tests fail loudly when set-up breaks")]

mod concurrency;
mod full_path;
mod helpers;
mod leaderboard;
mod redeem;
mod relay;
mod service;
