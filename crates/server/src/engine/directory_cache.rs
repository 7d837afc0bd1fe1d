//! What the engine's rounds load from the directory (users' notification profiles, users by
//! id or name, escalation policies), kept between rounds while the directory's version
//! (`Store::directory_version`, counted up by database triggers on every change by any
//! process) stays the same. A round reads the version with its other reads, so a warm round
//! asks the database nothing about the directory.
//!
//! An entry is kept only under the version its round started with: a load that raced with a
//! change (another round already saw the new version) is used by its round and then dropped.

use klaxon_store::{PolicyRecord, UserProfile, UserRef};
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct DirectoryCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
pub(super) struct Inner {
    version: Option<i64>,
    profiles: HashMap<String, Option<UserProfile>>,
    users: HashMap<String, Option<UserRef>>,
    policies: HashMap<String, Option<PolicyRecord>>,
}

/// One kind of entry.
pub(super) trait Entry: Clone {
    fn map(inner: &mut Inner) -> &mut HashMap<String, Option<Self>>;
}

impl Entry for UserProfile {
    fn map(inner: &mut Inner) -> &mut HashMap<String, Option<Self>> {
        &mut inner.profiles
    }
}

impl Entry for UserRef {
    fn map(inner: &mut Inner) -> &mut HashMap<String, Option<Self>> {
        &mut inner.users
    }
}

impl Entry for PolicyRecord {
    fn map(inner: &mut Inner) -> &mut HashMap<String, Option<Self>> {
        &mut inner.policies
    }
}

impl DirectoryCache {
    /// A round read `version`: entries of any other version are dropped.
    pub fn observe(&self, version: i64) {
        let mut inner = self.lock();
        if inner.version != Some(version) {
            *inner = Inner {
                version: Some(version),
                ..Default::default()
            };
        }
    }

    /// The entry for `key` if it was loaded under `version` (`Some(None)`: known not to exist).
    pub(super) fn get<T: Entry>(&self, version: i64, key: &str) -> Option<Option<T>> {
        let mut inner = self.lock();
        if inner.version != Some(version) {
            return None;
        }
        T::map(&mut inner).get(key).cloned()
    }

    /// Keeps what a round that started under `version` loaded, unless the version has moved on.
    pub(super) fn put<T: Entry>(&self, version: i64, key: &str, value: Option<T>) {
        let mut inner = self.lock();
        if inner.version == Some(version) {
            T::map(&mut inner).insert(key.to_string(), value);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Nothing panics while holding it; a poisoned lock still holds consistent maps.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Looks `key` up in the cache, or loads it with `load` and keeps it; a round that did not
/// read the version (`None`) always loads.
pub(super) async fn cached<T, F, Fut>(
    cache: &DirectoryCache,
    version: Option<i64>,
    key: &str,
    load: F,
) -> anyhow::Result<Option<T>>
where
    T: Entry,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, klaxon_store::StoreError>>,
{
    let Some(version) = version else {
        return Ok(load().await?);
    };
    if let Some(v) = cache.get::<T>(version, key) {
        return Ok(v);
    }
    let v = load().await?;
    cache.put(version, key, v.clone());
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str) -> UserRef {
        UserRef {
            id: id.into(),
            username: format!("{id}@example.com"),
        }
    }

    #[test]
    fn entries_live_as_long_as_their_version() {
        let c = DirectoryCache::default();
        c.observe(1);
        c.put(1, "u", Some(user("u")));
        c.put(1, "gone", None::<UserRef>);
        assert_eq!(c.get::<UserRef>(1, "u"), Some(Some(user("u"))));
        assert_eq!(c.get::<UserRef>(1, "gone"), Some(None));
        assert_eq!(c.get::<UserRef>(1, "other"), None);
        // A change anywhere: everything is loaded again.
        c.observe(2);
        assert_eq!(c.get::<UserRef>(2, "u"), None);
    }

    #[test]
    fn a_load_that_raced_with_a_change_is_not_kept() {
        let c = DirectoryCache::default();
        c.observe(1);
        // Another round saw the change while this one (version 1) was loading.
        c.observe(2);
        c.put(1, "u", Some(user("u")));
        assert_eq!(c.get::<UserRef>(2, "u"), None);
        assert_eq!(c.get::<UserRef>(1, "u"), None);
    }
}
