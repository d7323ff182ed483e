//! Ports of the agent side of a session that the host provides: the manifest a spawned agent
//! starts from, the modal pages it shows, and the skills it may load.

use async_trait::async_trait;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::model::{Millis, Skill};

/// Arguments of `maestro manifest generate` (API.md §6.1 step 7), already validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestRequest {
    pub session_id: String,
    pub mode: crate::model::AgentMode,
    pub project_id: String,
    pub task_ids: Vec<String>,
    pub skills: Vec<String>,
    pub model: Option<String>,
    pub agent_tool: crate::model::AgentTool,
    pub reference_task_ids: Vec<String>,
    /// Passed as `--team-member-ids` (more than one member, or delegates).
    pub team_member_ids: Vec<String>,
    /// Passed as `--team-member-id` (exactly one member).
    pub team_member_id: Option<String>,
}

/// A generated manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// Absolute path of `manifest.json`, handed to the agent as `MAESTRO_MANIFEST_PATH`.
    pub path: String,
    /// The parsed JSON.
    pub content: serde_json::Value,
}

/// Produces an agent manifest for a new session (by running the CLI, in production).
///
/// Guarantees: either returns a manifest whose file is complete at `path`, or fails with
/// [`DomainError::Spawn`](crate::DomainError::Spawn) (`manifest_generation_failed`) within the adapter's timeout, leaving
/// nothing behind. `discard` removes what `generate` wrote for a session (spawn rollback).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ManifestGenerator: Send + Sync {
    async fn generate(&self, request: &ManifestRequest) -> Result<Manifest>;
    async fn discard(&self, session_id: &str) -> Result<()>;
    /// Why `generate` cannot succeed right now (its program is not installed, say), for a
    /// person to read, or `None` when it can run. Cheap (no child process): clients ask it to
    /// offer spawning only where it can work. The default: always available.
    fn unavailable(&self) -> Option<String> {
        None
    }
}

/// A page an agent shows its person (`POST /api/sessions/:id/modal`), as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModalPage {
    pub session_id: String,
    pub modal_id: String,
    pub title: String,
    pub html: String,
    pub shown_at: Millis,
}

/// A page nobody has answered or closed yet, with where it lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingModal {
    pub page: ModalPage,
    pub location: String,
}

/// Modal pages a session shows in the UI (API.md #27), which session showed which page, so
/// an action or close callback for a page another session showed is refused (DEFECTS S7),
/// and which pages still wait for the person, so an approval outlives a reload of the app.
///
/// Guarantees: `save` replaces the page, then its owner, then marks it pending, each
/// atomically (a reader never sees a torn page; a crash between them leaves a page nobody may
/// answer for, or one not listed as pending — never one answered for by the wrong session)
/// and returns where the page lives. `settle` ends the wait of a page its session showed
/// (idempotent; the page and its owner stay, so a late second answer is still accepted, as
/// in the original). `pending` lists the unsettled pages of the given sessions, oldest
/// first. After `remove_session` no page of that session is left, `shown_by` answers `false`
/// and `pending` lists none. Ids are validated by the caller ([`crate::validate::safe_id`]);
/// an adapter still refuses an id that would leave its storage.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ModalPages: Send + Sync {
    /// Stores `page` as shown by its session and waiting for an answer; returns its location
    /// (a path).
    async fn save(&self, page: &ModalPage) -> Result<String>;
    /// Whether `session_id` showed `modal_id`.
    async fn shown_by(&self, session_id: &str, modal_id: &str) -> Result<bool>;
    /// The page `modal_id` of `session_id` no longer waits (it was answered or closed).
    async fn settle(&self, session_id: &str, modal_id: &str) -> Result<()>;
    /// The pages of `session_ids` that still wait, oldest first.
    async fn pending(&self, session_ids: &[String]) -> Result<Vec<PendingModal>>;
    /// Removes every page `session_id` showed (its session was deleted, DEFECTS O8).
    async fn remove_session(&self, session_id: &str) -> Result<()>;
}

/// The skills agents may load (API.md §8), read-only to the server.
///
/// Guarantees: `list` returns every valid skill sorted by id, skipping (and logging) invalid
/// ones; `get` returns `Ok(None)` for an absent or invalid skill and
/// [`DomainError::Validation`](crate::DomainError::Validation) for an id that is not one safe
/// path segment; a changed skill is seen by the next `get` or `list` (adapters may cache
/// until the source changes), and `reload` never answers from a cache.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SkillCatalog: Send + Sync {
    async fn list(&self) -> Result<Vec<Skill>>;
    async fn get(&self, id: &str) -> Result<Option<Skill>>;
    async fn reload(&self, id: &str) -> Result<Option<Skill>>;
}
