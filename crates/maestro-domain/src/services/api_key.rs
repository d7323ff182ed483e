//! Project API keys: long-lived, revocable credentials for agents started outside spawn.
//!
//! A key is `mak1.<projectId>.<keyId>.<secret>` (64 hex characters of OS randomness); it is
//! returned once, by [`ApiKeyService::create`], and only its SHA-256 is stored. Owners of a
//! project (and unrestricted callers) create, list and revoke its keys; a key acts on its
//! project with the rights of a session token ([`crate::access`]) until it is revoked or its
//! project is deleted.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::{Caller, Context, Services};
use crate::access::Need;
use crate::error::{DomainError, Result};
use crate::model::ApiKey;
use crate::ports::ApiKeyRepo;

const PREFIX: &str = "mak1.";
/// Longest accepted key name, in characters.
pub const MAX_API_KEY_NAME: usize = 200;

/// `POST /api/projects/:id/api-keys`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewApiKey {
    pub name: Option<String>,
    pub team_member_id: Option<String>,
}

/// API-key use cases.
#[derive(Clone)]
pub struct ApiKeyService {
    services: Services<Caller>,
    repo: Arc<dyn ApiKeyRepo>,
}

impl ApiKeyService {
    pub fn new(services: &Services, repo: Arc<dyn ApiKeyRepo>) -> Self {
        Self {
            services: services.as_caller(),
            repo,
        }
    }

    /// The same use cases acting as another caller (their services decide who may).
    pub fn scoped(&self, services: &Services<Caller>) -> Self {
        Self {
            services: services.clone(),
            repo: self.repo.clone(),
        }
    }

    /// Creates a key for `project_id`; returns it with the key in clear, which nothing can
    /// show again. `created_by` is the creating user's id, if a user created it.
    pub async fn create(
        &self,
        project_id: &str,
        input: NewApiKey,
        created_by: Option<String>,
    ) -> Result<(ApiKey, String)> {
        let name = input.name.as_deref().map(str::trim).unwrap_or_default();
        if name.is_empty() {
            return Err(DomainError::invalid_field("name", "name is required"));
        }
        if name.chars().count() > MAX_API_KEY_NAME {
            return Err(DomainError::invalid_field(
                "name",
                format!("name must be at most {MAX_API_KEY_NAME} characters"),
            ));
        }
        self.owner_of(project_id).await?;
        if let Some(tm) = &input.team_member_id {
            // 404 for a team member the project does not have (built-in ones included).
            self.services.team_members.get(project_id, tm).await?;
        }
        let id = self.ctx().new_id("ak");
        let secret = random_hex()?;
        let token = format!("{PREFIX}{project_id}.{id}.{secret}");
        let hint = format!("{PREFIX}{project_id}.{id}.{}…", &secret[..4]);
        let key = ApiKey {
            id,
            project_id: project_id.to_string(),
            name: name.to_string(),
            team_member_id: input.team_member_id,
            hint,
            created_by,
            created_at: self.ctx().now(),
            secret_hash: digest(&token),
        };
        let key = self.repo.create(key).await?;
        tracing::info!(project = %project_id, key = %key.id, "API key created");
        Ok((key, token))
    }

    /// `GET /api/projects/:id/api-keys`: the project's keys (never the keys themselves).
    pub async fn list(&self, project_id: &str) -> Result<Vec<ApiKey>> {
        self.owner_of(project_id).await?;
        self.repo.list(project_id).await
    }

    /// `DELETE /api/projects/:id/api-keys/:keyId`: revokes a key at once.
    pub async fn revoke(&self, project_id: &str, id: &str) -> Result<ApiKey> {
        self.owner_of(project_id).await?;
        let key = self
            .repo
            .get(project_id, id)
            .await?
            .ok_or_else(|| DomainError::not_found("API key", id))?;
        if !self.repo.delete(project_id, id).await? {
            return Err(DomainError::not_found("API key", id));
        }
        tracing::info!(project = %project_id, key = %id, "API key revoked");
        // Every instance closes the sockets this key opened (REST refuses it from now on).
        self.ctx()
            .emit(crate::events::DomainEvent::ProjectApiKeyRevoked(
                crate::events::ApiKeyRevoked {
                    project_id: project_id.to_string(),
                    key_id: id.to_string(),
                    timestamp: self.ctx().now(),
                },
            ))
            .await;
        Ok(key)
    }

    /// Removes every key of a deleted project.
    pub async fn forget_project(&self, project_id: &str) -> Result<()> {
        self.repo.delete_project(project_id).await
    }

    /// The stored key `token` is, if it is one: well formed, not revoked, its hash matching
    /// and its project still there. `None` for anything else.
    pub async fn verify(&self, token: &str) -> Result<Option<ApiKey>> {
        let Some((project_id, id)) = parse(token) else {
            return Ok(None);
        };
        let Some(key) = self.repo.get(project_id, id).await? else {
            return Ok(None);
        };
        if !crate::secret::constant_time_eq(key.secret_hash.as_bytes(), digest(token).as_bytes()) {
            return Ok(None);
        }
        if self.ctx().ports.projects.get(project_id).await?.is_none() {
            return Ok(None);
        }
        Ok(Some(key))
    }

    /// Whether `token` has the API-key shape (then no other verifier is asked).
    pub fn is_api_key(token: &str) -> bool {
        token.starts_with(PREFIX)
    }

    fn ctx(&self) -> &Context {
        self.services.context()
    }

    async fn owner_of(&self, project_id: &str) -> Result<()> {
        // Existence first: a project the caller cannot see is 404, one they see but do not
        // own 403.
        self.ctx().require_project(project_id).await?;
        self.ctx().authorize(project_id, Need::Own).await
    }
}

/// `(projectId, keyId)` of a key-shaped token.
fn parse(token: &str) -> Option<(&str, &str)> {
    let mut parts = token.strip_prefix(PREFIX)?.split('.');
    let (project, id, secret) = (parts.next()?, parts.next()?, parts.next()?);
    let ok = parts.next().is_none()
        && crate::validate::is_safe_id(project)
        && crate::validate::is_safe_id(id)
        && secret.len() == 64
        && secret.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then_some((project, id))
}

fn random_hex() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| DomainError::Internal(format!("no OS randomness for an API key: {e}")))?;
    Ok(crate::secret::hex(&bytes))
}

fn digest(token: &str) -> String {
    crate::secret::hex(&Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_well_formed_keys() {
        let secret = "ab".repeat(32);
        assert_eq!(
            parse(&format!("mak1.p_1.ak_2.{secret}")),
            Some(("p_1", "ak_2"))
        );
        for bad in [
            format!("mak1.p_1.ak_2.{secret}.x"),
            format!("mak1.p_1.ak_2.{}", &secret[1..]),
            format!("mak1.p 1.ak_2.{secret}"),
            format!("mak1.p_1.{secret}"),
            format!("mst1.p_1.ak_2.{secret}"),
            "mak1.".into(),
        ] {
            assert_eq!(parse(&bad), None, "{bad}");
        }
    }

    #[test]
    fn digests_are_hex_sha256() {
        let d = digest("mak1.p.k.00");
        assert_eq!(d.len(), 64);
        assert_ne!(d, digest("mak1.p.k.01"));
        assert_eq!(d, digest("mak1.p.k.00"));
    }
}
