//! The engine: workers over durable due-time rows, and the group-commit writer every alert
//! change goes through.

pub mod heartbeats;
pub mod snooze;
pub mod writer;
