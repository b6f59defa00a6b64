//! Per-user rate limits (GCRA via `governor`), kept in each replica's memory. The gateway adds a per-client
//! limit in front; a limit shared by every replica would need Redis.

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use scoreboard_domain::UserId;

use crate::ApiError;

/// A limit of `per_minute` requests per user, with bursts up to the same number.
#[derive(Debug, Clone)]
pub struct UserRateLimiter {
    limiter: Arc<DefaultKeyedRateLimiter<String>>,
}

impl UserRateLimiter {
    pub fn per_minute(per_minute: NonZeroU32) -> Self {
        Self {
            limiter: Arc::new(DefaultKeyedRateLimiter::keyed(Quota::per_minute(per_minute))),
        }
    }

    /// `rate_limited` with `Retry-After` when the user is over the limit.
    pub fn check(&self, user: &UserId) -> Result<(), ApiError> {
        self.limiter.check_key(&user.as_str().to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::rate_limited(wait.as_secs() + 1)
        })
    }

    /// Forgets users whose allowance is full again, so memory follows active users only.
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}
