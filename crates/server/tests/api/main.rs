//! The API suite: a real server over HTTP, on every backend. One test binary (each extra one
//! is another slow link on 2 cores); modules by surface.

mod helpers;

mod alertmanager_api;
mod alertmanager_webhook;
mod alerts;
mod config_heartbeats;
mod config_reload;
mod directory;
mod engine;
mod errors;
mod heartbeats;
mod lifecycle;
mod pagerduty;
mod schedules;
mod statuspage;
mod ui;
mod ui_pages;
mod webhook_integration;
