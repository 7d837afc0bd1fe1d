//! The `klaxon` server: HTTP surfaces, the engine's workers, config loading and the CLI.

pub mod app;
pub mod engine;
pub mod http;
pub mod keys;
pub mod metrics;
pub mod notify;
pub mod reload;
pub mod routes_cli;
pub mod settings;
pub mod status;

pub use app::{App, AppState};
