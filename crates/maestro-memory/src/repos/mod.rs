//! In-memory repositories, one module per entity.
//!
//! The id-keyed ones (projects, tasks, sessions, mail) share [`table::Table`]; team members and
//! orderings have composite keys and their own small stores.

mod api_key;
mod mail;
mod member;
mod ordering;
mod project;
mod push_subscription;
mod session;
mod table;
mod task;
mod team_member;

pub use api_key::MemoryApiKeyRepo;
pub use mail::MemoryMailRepo;
pub use member::MemoryMemberRepo;
pub use ordering::MemoryOrderingRepo;
pub use project::MemoryProjectRepo;
pub use push_subscription::MemoryPushSubscriptionRepo;
pub use session::MemorySessionRepo;
pub use task::MemoryTaskRepo;
pub use team_member::MemoryTeamMemberRepo;
