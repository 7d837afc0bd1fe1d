//! Time as a dependency. Everything that waits or compares against "now" asks a [`Clock`],
//! so tests drive time instead of sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

pub trait Clock: Send + Sync + 'static {
    fn now_ms(&self) -> Millis;
    /// Resolves once `now_ms() >= deadline` (or earlier, spuriously; callers re-check).
    fn sleep_until(
        &self,
        deadline: Millis,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>>;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> Millis {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        d.as_millis() as Millis
    }

    fn sleep_until(
        &self,
        deadline: Millis,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        let wait = (deadline - self.now_ms()).max(0) as u64;
        Box::pin(tokio::time::sleep(Duration::from_millis(wait)))
    }
}

/// A clock that only moves when a test says so.
#[derive(Debug, Clone)]
pub struct ManualClock {
    inner: Arc<ManualInner>,
}

#[derive(Debug)]
struct ManualInner {
    now: AtomicI64,
    moved: tokio::sync::Notify,
}

impl ManualClock {
    pub fn new(start: Millis) -> Self {
        ManualClock {
            inner: Arc::new(ManualInner {
                now: AtomicI64::new(start),
                moved: tokio::sync::Notify::new(),
            }),
        }
    }

    pub fn advance(&self, by: Duration) {
        self.inner
            .now
            .fetch_add(by.as_millis() as Millis, Ordering::SeqCst);
        self.inner.moved.notify_waiters();
    }

    pub fn set(&self, to: Millis) {
        self.inner.now.store(to, Ordering::SeqCst);
        self.inner.moved.notify_waiters();
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> Millis {
        self.inner.now.load(Ordering::SeqCst)
    }

    fn sleep_until(
        &self,
        deadline: Millis,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            loop {
                let moved = self.inner.moved.notified();
                if self.now_ms() >= deadline {
                    return;
                }
                moved.await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(1_000);
        assert_eq!(c.now_ms(), 1_000);
        c.advance(Duration::from_secs(5));
        assert_eq!(c.now_ms(), 6_000);
        c.set(42);
        assert_eq!(c.now_ms(), 42);
    }
}
