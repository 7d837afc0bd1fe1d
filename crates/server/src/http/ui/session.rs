//! Who is using the browser: passwords (argon2), sessions (a random token in an HttpOnly
//! cookie, its SHA-256 in the database), CSRF checks, and the lockout after repeated failures.

use crate::app::AppState;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::http::{header, HeaderMap, Method};
use klaxon_store::{UiSession, UiUser, Visibility};
use rand::RngCore;

pub const COOKIE: &str = "klaxon_session";
/// The pre-session CSRF cookie of the sign-in form (double submit: cookie == form field).
pub const LOGIN_COOKIE: &str = "klaxon_login";
/// A session lasts a week: a responder's phone should not ask for a password at 3 a.m.
pub const SESSION_TTL_MS: i64 = 7 * 24 * 3_600_000;
/// The form field and header that carry the CSRF token.
pub const CSRF_FIELD: &str = "_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The signed-in person behind a request.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user: UiUser,
    pub csrf: String,
    pub token_hash: String,
}

impl Viewer {
    pub fn is_admin(&self) -> bool {
        self.user.role == "admin"
    }

    /// Stakeholders follow alerts but do not act on them.
    pub fn can_act(&self) -> bool {
        self.user.role != "stakeholder"
    }

    pub fn visibility(&self) -> Visibility {
        if self.is_admin() {
            Visibility::All
        } else {
            Visibility::Member {
                user_id: self.user.id.clone(),
                team_ids: self.user.team_ids.clone(),
            }
        }
    }
}

/// A fresh random token (256 bits, URL-safe).
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

pub fn token_hash(token: &str) -> String {
    crate::keys::hash_key(token)
}

/// An argon2id PHC string for `password` (default parameters: 19 MiB, 2 passes).
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Checks that `hash` is a PHC string argon2 can verify against (for hashes from the config).
pub fn check_hash_format(hash: &str) -> Result<(), String> {
    PasswordHash::new(hash)
        .map(|_| ())
        .map_err(|e| format!("not an argon2 PHC string ($argon2id$v=19$...): {e}"))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(h) => Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    }
}

/// How long a username is locked after `failures` failures in a row: nothing for the first
/// four, then 30 s doubling per failure, at most 15 minutes.
pub fn lock_for(failures: i64) -> i64 {
    if failures < 5 {
        return 0;
    }
    let doubled = 30_000i64.saturating_mul(1i64 << (failures - 5).min(10));
    doubled.min(15 * 60_000)
}

/// A named cookie's value.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}

/// `Set-Cookie` for a cookie of this app: HttpOnly, SameSite=Lax, Secure when served over
/// https (`public_url`). `max_age` 0 deletes it.
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age_s: i64) -> String {
    let secure = if is_https(state) { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_s}{secure}")
}

fn is_https(state: &AppState) -> bool {
    state
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"))
}

/// The session a request's cookie names, if it is live.
pub async fn session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(UiSession, String)>, klaxon_store::StoreError> {
    let Some(token) = cookie(headers, COOKIE) else {
        return Ok(None);
    };
    let hash = token_hash(&token);
    Ok(state
        .store
        .ui_session(&hash, state.clock.now_ms())
        .await?
        .map(|s| (s, hash)))
}

/// Why a state-changing request from a browser was refused.
#[derive(Debug, PartialEq, Eq)]
pub struct CrossSite(pub &'static str);

/// Refuses a cross-site request: `Sec-Fetch-Site` (sent by every current browser) must be
/// `same-origin` or `none` (typed or bookmarked), and an `Origin` header must name this
/// server (its `public_url`, else the `Host` it was reached at).
pub fn check_same_origin(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
) -> Result<(), CrossSite> {
    if method == Method::GET || method == Method::HEAD {
        return Ok(());
    }
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site != "same-origin" && site != "none" {
            return Err(CrossSite(
                "the request came from another site (Sec-Fetch-Site)",
            ));
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        let ok = match &state.public_url {
            Some(public) => origin_of(public) == Some(origin),
            None => {
                let host = headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("");
                origin
                    .split_once("://")
                    .is_some_and(|(_, rest)| !host.is_empty() && rest == host)
            }
        };
        if !ok {
            return Err(CrossSite("the request came from another origin (Origin)"));
        }
    }
    Ok(())
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let end = rest
        .find('/')
        .map_or(url.len(), |i| url.len() - rest.len() + i);
    Some(&url[..end])
}

/// Constant-time string comparison for tokens.
pub fn same_token(a: &str, b: &str) -> bool {
    if a.len() != b.len() || a.is_empty() {
        return false;
    }
    a.bytes()
        .zip(b.bytes())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockout_starts_at_the_fifth_failure_and_is_capped() {
        assert_eq!(lock_for(4), 0);
        assert_eq!(lock_for(5), 30_000);
        assert_eq!(lock_for(6), 60_000);
        assert_eq!(lock_for(40), 15 * 60_000);
    }

    #[test]
    fn password_round_trip() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn origin_of_strips_the_path() {
        assert_eq!(
            origin_of("https://k.example.com/x/y"),
            Some("https://k.example.com")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:8080"),
            Some("http://127.0.0.1:8080")
        );
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; klaxon_session=tok; b=2".parse().unwrap(),
        );
        assert_eq!(cookie(&h, COOKIE).as_deref(), Some("tok"));
        assert_eq!(cookie(&h, "zzz"), None);
    }
}
