//! Per-request scoping: a signed-in user acts through repositories bound to their own token
//! (row-level security decides what they see), so a user sees only their projects over REST.
//! The local user and server credentials use the server's services unchanged.

use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use maestro_domain::model::MailMessage;
use maestro_domain::ports::{Auth, InboxQuery, MailRepo, Principal};
use maestro_domain::services::{AgentService, Services, SpawnService};
use maestro_domain::{DomainError, Result};

use crate::state::AppState;

pub use crate::state::UserScope;

/// The services a request may use, chosen by its principal.
pub struct Scoped {
    state: AppState,
    services: Services,
    principal: Principal,
}

impl Scoped {
    /// The use cases, acting as the caller.
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// The spawn use case, acting as the caller.
    pub fn spawn_service(&self) -> SpawnService {
        if self.principal.is_unrestricted() {
            self.state.spawn_service().clone()
        } else {
            self.state.spawn_service().scoped(&self.services)
        }
    }

    /// The agent-side use cases, acting as the caller.
    pub fn agent_service(&self) -> AgentService {
        if self.principal.is_unrestricted() {
            self.state.agent_service().clone()
        } else {
            self.state.agent_service().scoped(&self.services)
        }
    }

    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The server's state (configuration, stores, counters).
    pub fn state(&self) -> &AppState {
        &self.state
    }
}

impl FromRequestParts<AppState> for Scoped {
    type Rejection = crate::error::ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> std::result::Result<Self, Self::Rejection> {
        // The authentication middleware inserts a principal for every verified caller; none
        // means no access (never the unrestricted local user).
        let principal = parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| {
                crate::error::ApiError::Domain(DomainError::Unauthorized(
                    "authentication required".into(),
                ))
            })?;
        let services = scoped_services(state, &principal)?;
        Ok(Self {
            state: state.clone(),
            services,
            principal,
        })
    }
}

/// The services for `principal`: the server's own for unrestricted principals; for a user,
/// the same services on that user's repositories (mail guarded by project access when the
/// mail store has no row-level security of its own).
pub fn scoped_services(state: &AppState, principal: &Principal) -> Result<Services> {
    let Principal::User { access_token, .. } = principal else {
        return Ok(state.services().clone());
    };
    let Some(scope) = &state.0.user_scope else {
        return Err(DomainError::Forbidden(
            "signed-in users are not supported by this server's storage".into(),
        ));
    };
    let mut repos = scope(&access_token.0);
    if !state.0.mail_has_rls {
        repos.mail = Arc::new(GuardedMail {
            inner: repos.mail,
            auth: state.auth().clone(),
            principal: principal.clone(),
        });
    }
    Ok(state.services().scoped(repos))
}

/// A mail store without row-level security, restricted to the projects a user may access.
struct GuardedMail {
    inner: Arc<dyn MailRepo>,
    auth: Arc<dyn Auth>,
    principal: Principal,
}

impl GuardedMail {
    async fn check(&self, project_id: &str) -> Result<()> {
        if self
            .auth
            .can_access_project(&self.principal, project_id)
            .await?
        {
            Ok(())
        } else {
            Err(DomainError::Forbidden(format!(
                "no access to project '{project_id}'"
            )))
        }
    }
}

#[async_trait]
impl MailRepo for GuardedMail {
    async fn create(&self, mail: MailMessage) -> Result<MailMessage> {
        self.check(&mail.project_id).await?;
        self.inner.create(mail).await
    }

    async fn create_stamped(&self, mail: MailMessage) -> Result<MailMessage> {
        self.check(&mail.project_id).await?;
        self.inner.create_stamped(mail).await
    }

    async fn get(&self, id: &str) -> Result<Option<MailMessage>> {
        match self.inner.get(id).await? {
            Some(m)
                if self
                    .auth
                    .can_access_project(&self.principal, &m.project_id)
                    .await? =>
            {
                Ok(Some(m))
            }
            _ => Ok(None),
        }
    }

    async fn delete(&self, id: &str) -> Result<bool> {
        match self.get(id).await? {
            Some(_) => self.inner.delete(id).await,
            None => Ok(false),
        }
    }

    async fn inbox(&self, query: &InboxQuery) -> Result<Vec<MailMessage>> {
        self.check(&query.project_id).await?;
        self.inner.inbox(query).await
    }

    async fn list<'a>(&self, project_id: Option<&'a str>) -> Result<Vec<MailMessage>> {
        match project_id {
            Some(p) => {
                self.check(p).await?;
                self.inner.list(Some(p)).await
            }
            None => Err(DomainError::Forbidden(
                "listing all mail needs a project".into(),
            )),
        }
    }

    fn supports_blocking_wait(&self) -> bool {
        self.inner.supports_blocking_wait()
    }

    async fn wait_inbox(
        &self,
        query: &InboxQuery,
        timeout: std::time::Duration,
    ) -> Result<Vec<MailMessage>> {
        self.check(&query.project_id).await?;
        self.inner.wait_inbox(query, timeout).await
    }
}
