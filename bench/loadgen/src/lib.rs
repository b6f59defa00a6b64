//! Shared parts of the benchmark tools: `scoreboard-bench` (players and watchers through the gateway) and
//! `scoreboard-fanout` (many watchers on one server, broadcasts timed to the last of them).

pub mod net;
pub mod procs;
pub mod stats;
