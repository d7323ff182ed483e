//! The domain error: everything a use case or a port can fail with.
//!
//! Each variant carries what the HTTP edge needs to produce the original's error bodies
//! (API.md §1.1); the mapping to status codes and JSON lives once, in the HTTP crate.

use serde::Serialize;
use serde_json::Value;

/// One invalid field: `{path: "dot.path", message}` (API.md E3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub path: String,
    pub message: String,
}

impl FieldError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Error codes of `POST /api/sessions/spawn` (API.md §6.1, E5; lowercase on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpawnErrorCode {
    MissingProjectId,
    InvalidTaskIds,
    InvalidSpawnSource,
    MissingSessionId,
    ParentSessionNotFound,
    InvalidMode,
    InvalidArgument,
    TaskNotFound,
    ProjectNotFound,
    ManifestGenerationFailed,
    SpawnError,
}

impl SpawnErrorCode {
    /// The lowercase wire code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingProjectId => "missing_project_id",
            Self::InvalidTaskIds => "invalid_task_ids",
            Self::InvalidSpawnSource => "invalid_spawn_source",
            Self::MissingSessionId => "missing_session_id",
            Self::ParentSessionNotFound => "parent_session_not_found",
            Self::InvalidMode => "invalid_mode",
            Self::InvalidArgument => "invalid_argument",
            Self::TaskNotFound => "task_not_found",
            Self::ProjectNotFound => "project_not_found",
            Self::ManifestGenerationFailed => "manifest_generation_failed",
            Self::SpawnError => "spawn_error",
        }
    }
}

/// Everything that can go wrong in the domain or behind a port.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    /// `<Resource> with id '<id>' not found`: code `NOT_FOUND`.
    #[error("{resource} with id '{id}' not found")]
    NotFound { resource: &'static str, id: String },

    /// Something looked up by another key than an id is absent (e.g. a user by email): code
    /// `NOT_FOUND`, with a message saying what was looked for.
    #[error("{0}")]
    Absent(String),

    /// Bad input: code `VALIDATION_ERROR`; `details` lists the offending fields (may be empty).
    #[error("{message}")]
    Validation {
        message: String,
        details: Vec<FieldError>,
    },

    /// Another session holds the task's claim: 409, code `TASK_CLAIMED`, with `heldBy` and
    /// `expiresAt` in the details.
    #[error("Task '{task_id}' is claimed by session '{held_by}'")]
    Claimed {
        task_id: String,
        held_by: String,
        expires_at: i64,
    },

    /// A write carried a fencing token that is not the task's current claim's: 409, code
    /// `STALE_FENCING_TOKEN`.
    #[error("Fencing token {given} is stale for task '{task_id}' (current: {current})")]
    StaleFence {
        task_id: String,
        given: u64,
        /// `none` when the task has no claim any more.
        current: String,
    },

    /// Not allowed for anybody (e.g. deleting a built-in team member): code `FORBIDDEN`.
    #[error("{0}")]
    Forbidden(String),

    /// The caller is not authenticated: code `UNAUTHORIZED`.
    #[error("{0}")]
    Unauthorized(String),

    /// A business rule refuses the change: code `BUSINESS_RULE_ERROR`.
    #[error("{0}")]
    BusinessRule(String),

    /// The record already exists or changed underneath: code `CONFLICT`.
    #[error("{0}")]
    Conflict(String),

    /// A spawn request failed (E5 body with a lowercase code).
    #[error("{message}")]
    Spawn {
        code: SpawnErrorCode,
        message: String,
        details: Option<Value>,
    },

    /// The caller has too many requests of this kind in flight: code `TOO_MANY_REQUESTS`.
    #[error("{0}")]
    TooManyRequests(String),

    /// A backend (disk, Redis, PostgREST) cannot serve the request now (code `SERVICE_UNAVAILABLE`).
    #[error("{0}")]
    Unavailable(String),

    /// A bug or an unexpected backend answer: code `INTERNAL_ERROR`.
    #[error("{0}")]
    Internal(String),
}

impl DomainError {
    pub fn not_found(resource: &'static str, id: impl Into<String>) -> Self {
        Self::NotFound {
            resource,
            id: id.into(),
        }
    }

    /// A validation error with no field details.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::Validation {
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// A validation error naming one field.
    pub fn invalid_field(path: impl Into<String>, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::Validation {
            details: vec![FieldError::new(path, message.clone())],
            message,
        }
    }

    pub fn spawn(code: SpawnErrorCode, message: impl Into<String>) -> Self {
        Self::Spawn {
            code,
            message: message.into(),
            details: None,
        }
    }

    /// The upper-case code of the E1 body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound { .. } | Self::Absent(_) => "NOT_FOUND",
            Self::Validation { .. } => "VALIDATION_ERROR",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::Unauthorized(_) => "UNAUTHORIZED",
            Self::BusinessRule(_) => "BUSINESS_RULE_ERROR",
            Self::Conflict(_) => "CONFLICT",
            Self::Claimed { .. } => "TASK_CLAIMED",
            Self::StaleFence { .. } => "STALE_FENCING_TOKEN",
            Self::Spawn { code, .. } => code.as_str(),
            Self::TooManyRequests(_) => "TOO_MANY_REQUESTS",
            Self::Unavailable(_) => "SERVICE_UNAVAILABLE",
            Self::Internal(_) => "INTERNAL_ERROR",
        }
    }
}

/// Repositories report a missing record by the entity they store; use cases name it the way
/// the original's messages do (`Session with id '…' not found`).
pub(crate) fn rename_not_found(e: DomainError, resource: &'static str, id: &str) -> DomainError {
    match e {
        DomainError::NotFound { .. } => DomainError::not_found(resource, id),
        other => other,
    }
}

/// Shorthand used across the domain and its adapters.
pub type Result<T, E = DomainError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_message_matches_original() {
        let e = DomainError::not_found("Task", "task_1");
        assert_eq!(e.to_string(), "Task with id 'task_1' not found");
        assert_eq!(e.code(), "NOT_FOUND");
    }

    #[test]
    fn spawn_codes_are_lowercase() {
        let e = DomainError::spawn(SpawnErrorCode::TaskNotFound, "x");
        assert_eq!(e.code(), "task_not_found");
        assert_eq!(
            SpawnErrorCode::ManifestGenerationFailed.as_str(),
            "manifest_generation_failed"
        );
    }
}
