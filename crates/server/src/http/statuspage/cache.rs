//! The rendered public page, kept for a few seconds. An entry serves while the store's
//! status-page write counter ([`klaxon_store::Store::status_generation`]) has not moved, its
//! age on the injectable clock is under [`PAGE_TTL_MS`] (today's bar counts up to "now"), and
//! the UTC day has not changed. Keyed by page and base URL (the links in the page use the
//! request's host). Misses render one at a time, so a burst after a write renders once.

use axum::body::Bytes;
use std::collections::HashMap;
use std::sync::Mutex;

/// How long a rendered page serves without a write (milliseconds).
pub const PAGE_TTL_MS: i64 = 5_000;
/// Entries kept at most (pages × hosts); past it, stale entries go, then all.
const MAX_ENTRIES: usize = 256;

struct Entry {
    generation: u64,
    rendered_at: i64,
    body: Bytes,
}

#[derive(Default)]
pub struct PageCache {
    entries: Mutex<HashMap<(String, String), Entry>>,
    /// Held while rendering a missing page.
    pub render: tokio::sync::Mutex<()>,
}

fn fresh(e: &Entry, generation: u64, now: i64) -> bool {
    e.generation == generation
        && now >= e.rendered_at
        && now - e.rendered_at < PAGE_TTL_MS
        && klaxon_core::status::uptime::day_start(now)
            == klaxon_core::status::uptime::day_start(e.rendered_at)
}

impl PageCache {
    /// The page rendered for `base`, when still current.
    pub fn get(&self, page: &str, base: &str, generation: u64, now: i64) -> Option<Bytes> {
        let m = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        m.get(&(page.to_string(), base.to_string()))
            .filter(|e| fresh(e, generation, now))
            .map(|e| e.body.clone())
    }

    /// Keeps `body`, rendered from what the store held at `generation`, at `now`.
    pub fn put(&self, page: &str, base: &str, generation: u64, now: i64, body: Bytes) {
        let mut m = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if m.len() >= MAX_ENTRIES {
            m.retain(|_, e| fresh(e, generation, now));
            if m.len() >= MAX_ENTRIES {
                m.clear();
            }
        }
        m.insert(
            (page.to_string(), base.to_string()),
            Entry {
                generation,
                rendered_at: now,
                body,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_until_a_write_the_ttl_or_midnight() {
        let c = PageCache::default();
        let t = 1_700_000_000_000 - 1_700_000_000_000 % 86_400_000 + 3_600_000;
        c.put("acme", "http://a", 7, t, Bytes::from_static(b"page"));
        assert_eq!(
            c.get("acme", "http://a", 7, t + 4_999).as_deref(),
            Some(&b"page"[..])
        );
        assert!(c.get("acme", "http://b", 7, t).is_none(), "another host");
        assert!(c.get("other", "http://a", 7, t).is_none(), "another page");
        assert!(c.get("acme", "http://a", 8, t + 1).is_none(), "a write");
        assert!(c.get("acme", "http://a", 7, t + 5_000).is_none(), "too old");
        assert!(
            c.get("acme", "http://a", 7, t - 1).is_none(),
            "clock went back"
        );
        let midnight = t - 3_600_000 + 86_400_000;
        c.put(
            "acme",
            "http://a",
            7,
            midnight - 1_000,
            Bytes::from_static(b"late"),
        );
        assert_eq!(
            c.get("acme", "http://a", 7, midnight - 1).as_deref(),
            Some(&b"late"[..])
        );
        assert!(
            c.get("acme", "http://a", 7, midnight).is_none(),
            "the next day"
        );
    }

    #[test]
    fn bounded() {
        let c = PageCache::default();
        for i in 0..(MAX_ENTRIES * 2) {
            c.put(
                "acme",
                &format!("http://h{i}"),
                1,
                0,
                Bytes::from_static(b"x"),
            );
        }
        assert!(c.entries.lock().unwrap().len() <= MAX_ENTRIES);
    }
}
