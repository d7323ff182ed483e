//! # maestro-supabase
//!
//! Supabase adapters of Maestro Server (issue 7):
//!
//! - [`PostgrestClient`]: a small typed PostgREST client on reqwest 0.12 — percent-encoded,
//!   grammar-quoted filter values ([`Query`]), typed errors ([`PostgrestError`] → `DomainError`),
//!   `apikey` + `Authorization` from the service-role key or a user's JWT (RLS).
//! - The six repositories ([`SupabaseRepos`]) over the schema in `migrations/` of the
//!   workspace: typed columns for everything a repository filters or sorts on, jsonb for nested
//!   parts, `extra` for unknown keys; `update` is an optimistic read-modify-write on a `version`
//!   column (retried on a lost race), and the RPC functions (`set_session_status`, `append_*`,
//!   `link_task_session`) change single entries atomically in the database.
//! - [`SupabaseStorage`], the Supabase adapter of the domain's [`BlobStore`] port,
//!   and [`BlobDocsSessionRepo`], which keeps large session doc contents in a blob store.
//! - [`schema`]: the migrations this build knows, and what a database reports it has
//!   (`maestro-server doctor`).
//! - [`migrate()`]: idempotent copy of one set of repositories (e.g. a FileSystem data
//!   directory's) into another (these).
//!
//! The schema and its RLS policies are in `migrations/*.sql` (applied by `supabase db push`);
//! `migrations/shim/` recreates the Supabase pieces (roles, `auth` schema) on plain PostgreSQL
//! for tests. See `docs/DECISIONS.md` (D7) for why this crate has its own PostgREST client.

pub mod auth;
pub mod client;
pub mod config;
pub mod docs;
pub mod error;
pub mod migrate;
pub mod query;
mod repos;
mod rows;
pub mod schema;
pub mod storage;

pub use auth::{SigningCheck, SupabaseAuth};
pub use client::PostgrestClient;
pub use config::{ConfigError, SupabaseConfig};
pub use docs::{BLOB_DOCS_KEY, BlobDocsSessionRepo, DEFAULT_DOC_THRESHOLD};
pub use error::PostgrestError;
pub use maestro_domain::ports::BlobStore;
pub use migrate::{Entity, EntityCounts, MigrationReport, Progress, migrate};
pub use query::{Cond, Query};
pub use repos::{
    SupabaseApiKeyRepo, SupabaseMailRepo, SupabaseMemberRepo, SupabaseOrderingRepo,
    SupabaseProjectRepo, SupabasePushSubscriptionRepo, SupabaseRepos, SupabaseSessionRepo,
    SupabaseTaskRepo, SupabaseTeamMemberRepo,
};
pub use storage::SupabaseStorage;
