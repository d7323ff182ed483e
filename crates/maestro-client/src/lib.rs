//! A typed async client for the Maestro Server REST API, plus a Socket.IO `/mobile`
//! subscription helper.
//!
//! - One method per route of the server's route table ([`ROUTES`] lists them; a test in
//!   `apps/maestro-server/tests/client.rs` fails when the server gains a route the client lacks,
//!   and calls every method against the real binary).
//! - Responses are the domain crate's types ([`maestro_domain::model`]); request bodies are the
//!   typed structs of [`requests`].
//! - Requests are retried on network errors and 5xx answers, with jittered exponential backoff
//!   ([`RetryPolicy`]); a write that is not idempotent by itself carries one `Idempotency-Key`
//!   for all its attempts, so the server applies it once.
//! - Every error of the server keeps its `code`, `message` and `details`
//!   ([`ClientError::Api`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), maestro_client::ClientError> {
//! use maestro_client::{Client, requests::NewTask};
//! let client = Client::builder("http://127.0.0.1:3000").token("secret").build()?;
//! let project = client.create_project(&Default::default()).await;
//! let task = client
//!     .create_task(&NewTask::new("proj_1", "Write the docs"))
//!     .await?;
//! println!("{} is {}", task.id, task.status);
//! # let _ = project; Ok(()) }
//! ```

mod api;
mod client;
mod error;
pub mod requests;
pub mod responses;
mod retry;
mod routes;
pub mod socket;

pub use client::{Client, ClientBuilder};
pub use error::{ApiFailure, ClientError};
pub use retry::RetryPolicy;
pub use routes::{ROUTES, Route, Verb};
pub use socket::{RESUMED, RESYNC_REQUIRED, Subscription, SubscriptionEvent};
