//! The encoded answers of `GET /api/leaderboard`, kept for a short time per replica.
//!
//! The top N is the most read thing in the system and changes at most a few thousand times a second, so
//! re-reading Redis and re-encoding JSON for every request is wasted work. Each replica keeps the encoded
//! body per `limit` for `ttl`, and forgets everything the moment it applies a redeem itself: a player who
//! redeems and then reads the board through the same replica sees their own change. Changes made through
//! other replicas show within `ttl` (the live WebSocket board is the low-latency path).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use actix_web::web::Bytes;

/// Encoded top-N bodies, keyed by `limit`.
#[derive(Debug)]
pub struct TopResponses {
    ttl: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Bumped by every invalidation, so a read that began before one cannot store what it read.
    generation: u64,
    bodies: HashMap<usize, (Instant, Bytes)>,
}

/// Taken before reading the board; [`TopResponses::store`] keeps the body only if nothing changed since.
#[derive(Debug, Clone, Copy)]
pub struct Generation(u64);

impl TopResponses {
    /// Keeps bodies for `ttl`; a zero `ttl` turns the cache off.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            state: Mutex::default(),
        }
    }

    /// The cached body for `limit`, if it is younger than the time to live.
    pub fn get(&self, limit: usize) -> Option<Bytes> {
        let state = self.lock();
        let (stored_at, body) = state.bodies.get(&limit)?;
        (stored_at.elapsed() < self.ttl).then(|| body.clone())
    }

    /// Call before reading the board for a body to [`store`](Self::store).
    pub fn generation(&self) -> Generation {
        Generation(self.lock().generation)
    }

    /// Keeps `body` for `limit` unless the board changed since `read_began`.
    pub fn store(&self, limit: usize, read_began: Generation, body: Bytes) {
        if self.ttl.is_zero() {
            return;
        }
        let mut state = self.lock();
        if state.generation == read_began.0 {
            state.bodies.insert(limit, (Instant::now(), body));
        }
    }

    /// This replica changed the board: drop every body and refuse the ones being read now.
    pub fn invalidate(&self) {
        let mut state = self.lock();
        state.generation = state.generation.wrapping_add(1);
        state.bodies.clear();
    }

    /// The state is a plain map: a panic while it was held cannot leave it inconsistent.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_a_stored_body_until_invalidated() {
        let cache = TopResponses::new(Duration::from_secs(3600));
        let began = cache.generation();
        cache.store(10, began, Bytes::from_static(b"old"));
        assert_eq!(cache.get(10).as_deref(), Some(&b"old"[..]));
        assert_eq!(cache.get(5), None);

        cache.invalidate();
        assert_eq!(cache.get(10), None);
    }

    #[test]
    fn refuses_a_body_read_before_an_invalidation() {
        let cache = TopResponses::new(Duration::from_secs(3600));
        let began = cache.generation();
        cache.invalidate();
        cache.store(10, began, Bytes::from_static(b"read before the change"));
        assert_eq!(cache.get(10), None);
    }

    #[test]
    fn zero_ttl_keeps_nothing() {
        let cache = TopResponses::new(Duration::ZERO);
        cache.store(10, cache.generation(), Bytes::from_static(b"body"));
        assert_eq!(cache.get(10), None);
    }
}
