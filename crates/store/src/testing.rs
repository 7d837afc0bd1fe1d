//! Test support shared by the storage and API suites: which backends to run against, and a
//! fresh empty database on each.
//!
//! SQLite always runs. PostgreSQL runs when `KLAXON_TEST_POSTGRES` names a server
//! (`postgres://postgres@127.0.0.1:54329/postgres`); under CI (`CI=true`) its absence is an
//! error, so a suite can never pass by silently skipping a backend.

use crate::Dialect;

pub fn backends() -> Vec<Dialect> {
    let mut v = vec![Dialect::Sqlite];
    match std::env::var("KLAXON_TEST_POSTGRES") {
        Ok(u) if !u.is_empty() => v.push(Dialect::Postgres),
        _ => {
            if std::env::var("CI").is_ok_and(|c| c == "true" || c == "1") {
                panic!("KLAXON_TEST_POSTGRES is not set under CI: the PostgreSQL half of the suite would be skipped. Run scripts/test.");
            }
            eprintln!(
                "note: KLAXON_TEST_POSTGRES not set; running SQLite only (scripts/test sets it)"
            );
        }
    }
    v
}

/// A URL of a new, empty database on `backend`.
pub async fn fresh_database(backend: Dialect) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    match backend {
        Dialect::Sqlite => {
            let dir = std::env::temp_dir().join("klaxon-tests");
            std::fs::create_dir_all(&dir).expect("temp dir");
            format!("sqlite://{}", dir.join(format!("t_{id}.db")).display())
        }
        Dialect::Postgres => {
            use sqlx::Connection;
            let admin = std::env::var("KLAXON_TEST_POSTGRES").expect("KLAXON_TEST_POSTGRES");
            let mut c = sqlx::PgConnection::connect(&admin)
                .await
                .expect("connect to test PostgreSQL");
            let name = format!("t_{id}");
            sqlx::Executor::execute(&mut c, format!("CREATE DATABASE {name}").as_str())
                .await
                .expect("create test database");
            let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
            format!("{base}/{name}")
        }
    }
}
