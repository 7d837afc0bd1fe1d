//! Klaxon's domain rules. Pure: no I/O, no async runtime, no SQL.

pub mod alert;
pub mod alertmanager;
pub mod clock;
pub mod config;
pub mod duration;
pub mod escalation;
pub mod lifecycle;
pub mod mapping;
pub mod notification;
pub mod notify_config;
pub mod query;
pub mod routing;
pub mod schedule;
pub mod status;
pub mod time;
pub mod webhook;
