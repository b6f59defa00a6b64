//! Shared helpers: errors, locks and latency histograms in microseconds, printed in milliseconds.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::{json, Value};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type Res<T> = Result<T, BoxError>;

pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Microseconds, 1 us to 10 min, 3 significant digits.
pub fn hist() -> Res<Histogram<u64>> {
    Ok(Histogram::new_with_bounds(1, 600_000_000, 3)?)
}

pub fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

pub fn pct(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() {
        return f64::NAN;
    }
    h.value_at_quantile(q) as f64 / 1000.0
}

pub fn hist_json(h: &Histogram<u64>) -> Value {
    let num = |v: f64| if v.is_nan() { Value::Null } else { json!(v) };
    json!({"count": h.len(), "p50_ms": num(pct(h, 0.5)), "p95_ms": num(pct(h, 0.95)),
           "p99_ms": num(pct(h, 0.99)), "max_ms": num(if h.is_empty() { f64::NAN } else { h.max() as f64 / 1000.0 })})
}

pub fn hist_row(name: &str, h: &Histogram<u64>) -> String {
    let max = if h.is_empty() {
        f64::NAN
    } else {
        h.max() as f64 / 1000.0
    };
    format!(
        "{name:<38} {:>8} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
        h.len(),
        pct(h, 0.5),
        pct(h, 0.95),
        pct(h, 0.99),
        max
    )
}
