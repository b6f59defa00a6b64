//! The current top-10 snapshot, encoded once and shared by every client.
//!
//! Events only mark the board dirty; a coalescing task re-reads the top 10 at once, then at most once per
//! window, and publishes a new snapshot only when the top 10 changed. Clients watch a `tokio::sync::watch`:
//! each sees the newest snapshot, and one that falls behind skips the ones it missed instead of queueing
//! them.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
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

/// What clients watch: the newest snapshot, once there is one.
pub type SnapshotWatch = watch::Receiver<Option<Arc<Snapshot>>>;

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
    sender: Arc<SnapshotSender>,
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

    /// Whether `user_id` reaching `score` can change the top 10 shown now: when the board shows fewer
    /// than 10, the user is on it, or the score reaches the 10th. Scores only grow, so the true 10th
    /// score is never below the shown one, and a lower score cannot enter; skipping those events spares
    /// a board read each and keeps the window free for the changes that matter.
    pub fn may_change_top(&self, user_id: &str, score: i64) -> bool {
        self.sender
            .borrow()
            .as_ref()
            .is_none_or(|snapshot| can_enter(&snapshot.entries, user_id, score))
    }

    /// A receiver of the snapshots, for a task on this thread's local task set (an HTTP worker).
    ///
    /// Waking a task that lives on another thread costs a system call, and a snapshot wakes every client.
    /// So each worker thread gets one forwarding task that receives snapshots from the hub and republishes
    /// them into a channel of its own: a snapshot then costs one cross-thread wake per worker, and the
    /// clients are woken on their own thread. Must be called inside a `LocalSet` (an actix worker).
    pub fn subscribe_local(&self) -> SnapshotWatch {
        WORKER_CHANNELS.with(|channels| {
            if let Some(local) = channels.borrow().get(&self.epoch) {
                return local.subscribe();
            }
            let local = Rc::new(watch::Sender::new(self.current()));
            let receiver = local.subscribe();
            channels.borrow_mut().insert(self.epoch, local.clone());
            let mut upstream = self.sender.subscribe();
            let epoch = self.epoch;
            tokio::task::spawn_local(async move {
                while upstream.changed().await.is_ok() {
                    let snapshot = upstream.borrow_and_update().clone();
                    local.send_replace(snapshot);
                }
                // The hub is gone: forget its channel, so its clients see it closed.
                WORKER_CHANNELS.with(|channels| channels.borrow_mut().remove(&epoch));
            });
            receiver
        })
    }

    pub fn current(&self) -> Option<Arc<Snapshot>> {
        self.sender.borrow().clone()
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

    /// Runs forever: refreshes as soon as a change is marked, and after each snapshot it publishes waits
    /// out `window` (marks that arrive meanwhile are coalesced into one refresh at the window's end); also
    /// refreshes every `refresh_every` so a missed event or a rebuilt Redis still converges. A lone change
    /// therefore goes out at once, and a burst costs one snapshot per window.
    pub async fn run(self, window: Duration, refresh_every: Duration) {
        loop {
            tokio::select! {
                () = self.dirty.notified() => {}
                () = tokio::time::sleep(refresh_every) => {}
            }
            if self.refresh().await {
                // `Notify` keeps one permit, so a mark made during this pause is not lost.
                tokio::time::sleep(window).await;
            }
        }
    }
}

type SnapshotSender = watch::Sender<Option<Arc<Snapshot>>>;

thread_local! {
    /// Per worker thread, the local snapshot channel of each hub (by epoch), fed by its forwarding task.
    static WORKER_CHANNELS: RefCell<HashMap<Uuid, Rc<SnapshotSender>>> =
        RefCell::new(HashMap::new());
}

/// Whether `user_id` at `score` can change a top 10 that shows `entries` (see
/// [`SnapshotHub::may_change_top`]).
fn can_enter(entries: &[BoardEntry], user_id: &str, score: i64) -> bool {
    entries.len() < SNAPSHOT_SIZE
        || entries.iter().any(|entry| entry.user_id == user_id)
        || entries.last().is_some_and(|tenth| score >= tenth.score)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn board(scores: &[i64]) -> Vec<BoardEntry> {
        scores
            .iter()
            .zip(1..)
            .map(|(&score, rank)| BoardEntry {
                rank,
                user_id: format!("user{rank}"),
                score,
                reached_at: DateTime::<Utc>::UNIX_EPOCH,
            })
            .collect()
    }

    #[test]
    fn a_score_below_a_full_top_10_cannot_change_it() {
        let full = board(&[100, 90, 80, 70, 60, 50, 40, 30, 20, 10]);
        assert!(!can_enter(&full, "newcomer", 9));
        assert!(
            can_enter(&full, "newcomer", 10),
            "a tie with the 10th may rank above it"
        );
        assert!(can_enter(&full, "user10", 11), "someone on the board moved");
        assert!(can_enter(&full, "user3", 85), "someone on the board moved");
    }

    #[test]
    fn any_score_can_enter_a_board_with_room() {
        assert!(can_enter(&board(&[100, 90]), "newcomer", 1));
        assert!(can_enter(&[], "newcomer", 1));
    }
}
