//! # maestro-domain
//!
//! The core of Maestro Server, free of I/O and frameworks:
//! - [`model`]: the entities of the wire contract;
//! - [`events`]: the domain events and their routing keys;
//! - [`error`]: the one error enum, mapped to HTTP once at the edge;
//! - [`ports`]: the traits adapters implement (event bus, repositories, presence, lock, auth,
//!   clock, ids), each documenting its guarantees;
//! - [`services`]: the use cases, which depend only on the ports;
//! - [`access`]: who may do what on a shared project, applied to every use case's repositories.

pub mod access;
pub mod builtin;
pub mod error;
pub mod events;
pub mod ids;
pub mod model;
pub mod ports;
pub mod secret;
pub mod services;
pub mod validate;

pub use error::{DomainError, FieldError, Result};
pub use events::DomainEvent;
