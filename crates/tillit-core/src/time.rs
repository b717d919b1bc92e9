//! Time as the domain sees it: Unix seconds from a clock that tests can set.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// A source of "now" in Unix seconds. The system clock in production; a settable one in tests.
#[derive(Clone, Debug)]
pub struct Clock(Option<Arc<AtomicI64>>);

impl Clock {
    pub fn system() -> Clock {
        Clock(None)
    }

    /// A clock that stays at `now` until moved with [`Clock::set`].
    pub fn fixed(now: i64) -> Clock {
        Clock(Some(Arc::new(AtomicI64::new(now))))
    }

    pub fn now(&self) -> i64 {
        match &self.0 {
            Some(t) => t.load(Ordering::Relaxed),
            None => jiff::Timestamp::now().as_second(),
        }
    }

    /// Moves a fixed clock; a no-op on the system clock.
    pub fn set(&self, now: i64) {
        if let Some(t) = &self.0 {
            t.store(now, Ordering::Relaxed);
        }
    }
}
