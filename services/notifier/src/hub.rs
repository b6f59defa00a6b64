//! The current top-10 snapshot, encoded once and shared by every client.
//!
//! Events only mark the board dirty; a coalescing task re-reads the top 10 at once, then at most once per
//! window, and publishes a new snapshot only when the top 10 changed. Clients watch a `tokio::sync::watch`: each sees
//! the newest snapshot, and one that falls behind skips the ones it missed instead of queueing them.

use std::sync::Arc;
use std::time::Duration;

use bytestring::ByteString;
use chrono::{DateTime, Utc};
use scoreboard_cache::{Board, BoardEntry};
use serde::Serialize;
use tokio::sync::{watch, Notify};
use uuid::Uuid;

/// Entries in a snapshot.
pub const SNAPSHOT_SIZE: usize = 10;

/// One published snapshot: its entries and the frame every client is sent.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub version: u64,
    pub entries: Vec<BoardEntry>,
    /// The encoded JSON frame; clones share the bytes.
    pub frame: ByteString,
}

#[derive(Serialize)]
struct SnapshotMessage<'a> {
    r#type: &'static str,
    /// Changes when the notifier restarts, so a client knows versions started again.
    epoch: Uuid,
    /// Increases with every published snapshot of this epoch; clients drop older ones.
    version: u64,
    generated_at: DateTime<Utc>,
    entries: &'a [BoardEntry],
}

/// Publishes snapshots of the board to every watcher.
#[derive(Debug, Clone)]
pub struct SnapshotHub {
    board: Board,
    epoch: Uuid,
    dirty: Arc<Notify>,
    sender: Arc<watch::Sender<Option<Arc<Snapshot>>>>,
}

impl SnapshotHub {
    pub fn new(board: Board) -> Self {
        let (sender, _) = watch::channel(None);
        Self {
            board,
            epoch: Uuid::new_v4(),
            dirty: Arc::new(Notify::new()),
            sender: Arc::new(sender),
        }
    }

    pub fn board(&self) -> &Board {
        &self.board
    }

    /// The board may have changed: a snapshot follows within one window, if the top 10 did change.
    pub fn mark_dirty(&self) {
        self.dirty.notify_one();
    }

    pub fn subscribe(&self) -> watch::Receiver<Option<Arc<Snapshot>>> {
        self.sender.subscribe()
    }

    pub fn current(&self) -> Option<Arc<Snapshot>> {
        self.sender.borrow().clone()
    }

    pub fn watchers(&self) -> usize {
        self.sender.receiver_count()
    }

    /// Re-reads the top 10 and publishes it if it differs from the current snapshot. Returns whether a
    /// new snapshot went out.
    pub async fn refresh(&self) -> bool {
        let entries = match self.board.top(SNAPSHOT_SIZE).await {
            Ok(entries) => entries,
            Err(error) => {
                tracing::warn!(error = %error, "cannot read the board; keeping the current snapshot");
                return false;
            }
        };
        let current = self.current();
        if current.as_ref().is_some_and(|snapshot| snapshot.entries == entries) {
            return false;
        }
        let version = current.map_or(1, |snapshot| snapshot.version + 1);
        let message = SnapshotMessage {
            r#type: "snapshot",
            epoch: self.epoch,
            version,
            generated_at: Utc::now(),
            entries: &entries,
        };
        let frame = match serde_json::to_string(&message) {
            Ok(json) => ByteString::from(json),
            Err(error) => {
                tracing::error!(error = %error, "cannot encode a snapshot");
                return false;
            }
        };
        self.sender.send_replace(Some(Arc::new(Snapshot {
            version,
            entries,
            frame,
        })));
        tracing::debug!(version, "snapshot published");
        true
    }

    /// Runs forever: refreshes as soon as a change is marked, then at most once per `window` (marks that
    /// arrive meanwhile are coalesced into one refresh at the window's end); also refreshes every
    /// `refresh_every` so a missed event or a rebuilt Redis still converges. A lone change therefore goes
    /// out at once, and a burst costs one snapshot per window.
    pub async fn run(self, window: Duration, refresh_every: Duration) {
        loop {
            tokio::select! {
                () = self.dirty.notified() => {}
                () = tokio::time::sleep(refresh_every) => {}
            }
            self.refresh().await;
            // `Notify` keeps one permit, so a mark made during this pause is not lost.
            tokio::time::sleep(window).await;
        }
    }
}
