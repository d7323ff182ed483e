//! # maestro-metrics
//!
//! What the server measures, in one place:
//! - [`names`]: the catalogue of every metric (name, type, labels, meaning);
//! - [`recorder`]: the process-wide Prometheus recorder the HTTP edge renders at `GET /metrics`;
//! - decorators of the domain ports that record as they forward, so every adapter is measured
//!   the same way: [`metered_repositories`] (and [`MeteredRepo`] for the membership and API-key stores) time
//!   every repository operation by adapter, [`MeteredBus`] counts events published,
//!   [`MeteredPresence`] counts heartbeats and expirations, [`MeteredLock`] counts task-claim
//!   outcomes.
//!
//! A decorator changes nothing about the port it wraps: every method, default ones included,
//! is forwarded, and results are returned untouched. Recording goes through the `metrics`
//! facade, so without an installed recorder it costs next to nothing.

pub mod names;
pub mod recorder;

mod bus;
mod lock;
mod presence;
mod repos;

pub use bus::MeteredBus;
pub use lock::MeteredLock;
pub use presence::MeteredPresence;
pub use repos::{MeteredRepo, metered_repositories};
