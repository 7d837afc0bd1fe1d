use crate::app::AppState;
use axum::http::request::Parts;
use base64::Engine;
use klaxon_store::Integration;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a key lookup is trusted before the store is asked again. Short, so that a key
/// disabled in another process stops working quickly.
const CACHE_TTL: Duration = Duration::from_secs(5);

/// Finds the API key in the places clients put it: `Authorization: GenieKey K`,
/// `Bearer K`, `Basic base64(K)` / `base64(user:K)` / `base64(K:)`, or `?apiKey=K`.
pub fn key_from_request(parts: &Parts) -> Option<String> {
    if let Some(h) = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, rest) = h.trim().split_once(' ').unwrap_or((h, ""));
        let rest = rest.trim();
        match scheme.to_ascii_lowercase().as_str() {
            "geniekey" | "bearer" | "oauth" if !rest.is_empty() => return Some(rest.to_string()),
            "basic" => {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(rest)
                    .ok()?;
                let s = String::from_utf8(raw).ok()?;
                let key = match s.split_once(':') {
                    Some((user, "")) => user.to_string(),
                    Some((_, pass)) => pass.to_string(),
                    None => s,
                };
                return (!key.is_empty()).then_some(key);
            }
            _ => {}
        }
    }
    let q = parts.uri.query()?;
    form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == "apiKey")
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

#[derive(Default)]
pub struct KeyCache {
    entries: Mutex<HashMap<String, (Option<Integration>, Instant)>>,
}

impl KeyCache {
    pub fn clear(&self) {
        if let Ok(mut m) = self.entries.lock() {
            m.clear();
        }
    }
}

/// The enabled integration that owns `key`, if any.
pub async fn authenticate(
    state: &AppState,
    key: &str,
) -> Result<Option<Integration>, klaxon_store::StoreError> {
    let hash = crate::keys::hash_key(key);
    if let Ok(m) = state.keys.entries.lock() {
        if let Some((hit, at)) = m.get(&hash) {
            if at.elapsed() < CACHE_TTL {
                return Ok(hit.clone());
            }
        }
    }
    let found = state
        .store
        .integration_by_key_hash(&hash)
        .await?
        .filter(|i| i.enabled);
    if let Ok(mut m) = state.keys.entries.lock() {
        if m.len() > 10_000 {
            m.clear();
        }
        m.insert(hash, (found.clone(), Instant::now()));
    }
    Ok(found)
}
