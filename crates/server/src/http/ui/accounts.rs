//! Where web UI passwords come from: the config file (`password_hash` or `password_file` on a
//! user), `KLAXON_ADMIN_PASSWORD` (the first password of user `admin`), and the CLI
//! (`klaxon user set-password`).

use super::session;
use klaxon_core::config::{Config, ConfigError};
use klaxon_store::Store;
use std::path::Path;

/// The user name `KLAXON_ADMIN_PASSWORD` applies to (created as an admin when missing).
pub const ADMIN_USER: &str = "admin";
/// Shorter passwords are refused where Klaxon hashes them itself.
pub const MIN_PASSWORD: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// An argon2 PHC string, stored as given.
    Hash(String),
    /// The password itself (from `password_file`), hashed by Klaxon.
    Plain(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPassword {
    pub username: String,
    pub source: PasswordSource,
}

/// The passwords the config declares, checked: a hash must be an argon2 PHC string, a file
/// must be readable and hold at least [`MIN_PASSWORD`] characters.
pub fn from_config(
    c: &Config,
    text: &str,
    base_dir: &Path,
) -> Result<Vec<UserPassword>, Vec<ConfigError>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let at = crate::settings::err_at;
    for u in &c.users {
        let source = match (&u.password_hash, &u.password_file) {
            (Some(_), Some(_)) => {
                errors.push(at(
                    text,
                    "password_file",
                    format!(
                        "user {:?}: give password_hash or password_file, not both",
                        u.username
                    ),
                ));
                continue;
            }
            (Some(h), None) => match session::check_hash_format(h.trim()) {
                Ok(()) => PasswordSource::Hash(h.trim().to_string()),
                Err(e) => {
                    errors.push(at(
                        text,
                        "password_hash",
                        format!("user {:?}: password_hash is {e}", u.username),
                    ));
                    continue;
                }
            },
            (None, Some(f)) => {
                let p = base_dir.join(f);
                match std::fs::read_to_string(&p) {
                    Ok(pw) if pw.trim_end_matches(['\r', '\n']).chars().count() >= MIN_PASSWORD => {
                        PasswordSource::Plain(pw.trim_end_matches(['\r', '\n']).to_string())
                    }
                    Ok(_) => {
                        errors.push(at(
                            text,
                            f,
                            format!(
                                "user {:?}: password file {} holds fewer than {MIN_PASSWORD} characters",
                                u.username,
                                p.display()
                            ),
                        ));
                        continue;
                    }
                    Err(e) => {
                        errors.push(at(
                            text,
                            f,
                            format!(
                                "user {:?}: cannot read password_file {}: {e}",
                                u.username,
                                p.display()
                            ),
                        ));
                        continue;
                    }
                }
            }
            (None, None) => continue,
        };
        out.push(UserPassword {
            username: u.username.clone(),
            source,
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || session::hash_password(&password))
        .await?
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

/// Applies the config's passwords and `KLAXON_ADMIN_PASSWORD` at start. A password that is
/// already in place is left alone, so a restart does not sign everyone out.
pub async fn apply(
    store: &Store,
    passwords: &[UserPassword],
    admin_password: Option<&str>,
    now: i64,
) -> anyhow::Result<()> {
    for p in passwords {
        let Some(user) = store.ui_user(&p.username).await? else {
            continue;
        };
        let new = match &p.source {
            PasswordSource::Hash(h) if user.password_hash.as_deref() != Some(h) => Some(h.clone()),
            PasswordSource::Plain(pw) => {
                let (pw2, stored) = (pw.clone(), user.password_hash.clone());
                let same = tokio::task::spawn_blocking(move || {
                    stored.is_some_and(|s| session::verify_password(&pw2, &s))
                })
                .await?;
                if same {
                    None
                } else {
                    Some(hash(pw.clone()).await?)
                }
            }
            _ => None,
        };
        if let Some(h) = new {
            store.set_user_password(&p.username, &h, now).await?;
        }
    }
    if let Some(pw) = admin_password {
        if pw.chars().count() < MIN_PASSWORD {
            anyhow::bail!("KLAXON_ADMIN_PASSWORD must have at least {MIN_PASSWORD} characters");
        }
        if store.ensure_user(ADMIN_USER, "admin", now).await? {
            tracing::info!("created web UI user {ADMIN_USER:?} (role admin)");
        }
        let has_password = store
            .ui_user(ADMIN_USER)
            .await?
            .is_some_and(|u| u.password_hash.is_some());
        if !has_password {
            let h = hash(pw.to_string()).await?;
            store.set_user_password(ADMIN_USER, &h, now).await?;
            tracing::info!("set the web UI password of {ADMIN_USER:?} from KLAXON_ADMIN_PASSWORD");
        }
    }
    Ok(())
}

/// `klaxon user set-password USERNAME`: the password comes from standard input (one line).
pub async fn set_password_cli(
    store: &Store,
    username: &str,
    role_if_new: Option<&str>,
    password: &str,
    now: i64,
) -> anyhow::Result<()> {
    let password = password.trim_end_matches(['\r', '\n']);
    if password.chars().count() < MIN_PASSWORD {
        anyhow::bail!("the password must have at least {MIN_PASSWORD} characters");
    }
    if let Some(role) = role_if_new {
        if !["admin", "user", "stakeholder"].contains(&role) {
            anyhow::bail!("--role must be admin, user or stakeholder");
        }
        store.ensure_user(username, role, now).await?;
    }
    let h = hash(password.to_string()).await?;
    if !store.set_user_password(username, &h, now).await? {
        anyhow::bail!(
            "no user {username:?}: declare it in the config file, or pass --role to create it"
        );
    }
    Ok(())
}
