//! Per-request scoping: a signed-in user or an agent's session token acts through repositories
//! restricted by the domain's access rules, so a caller sees and changes only what their role
//! allows. The local user and server credentials use the server's services unchanged.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use maestro_domain::ports::Principal;
use maestro_domain::services::{
    AgentService, ApiKeyService, Caller, ClaimService, MemberService, Services, SpawnService,
};
use maestro_domain::{DomainError, Result};

use crate::state::AppState;

pub use crate::state::UserScope;

/// The services a request may use, chosen by its principal.
pub struct Scoped {
    state: AppState,
    services: Services<Caller>,
    principal: Principal,
}

impl Scoped {
    /// The use cases, acting as the caller.
    pub fn services(&self) -> &Services<Caller> {
        &self.services
    }

    /// The spawn use case, acting as the caller.
    pub fn spawn_service(&self) -> SpawnService {
        spawn_service_for(&self.state, &self.principal, &self.services)
    }

    /// The agent-side use cases, acting as the caller.
    pub fn agent_service(&self) -> AgentService {
        if self.principal.is_unrestricted() {
            self.state.agent_service().clone()
        } else {
            self.state.agent_service().scoped(&self.services)
        }
    }

    /// Task claims, acting as the caller; `503` when this server has no lock.
    pub fn claim_service(&self) -> Result<ClaimService> {
        let Some(claims) = self.state.claims() else {
            return Err(DomainError::Unavailable(
                "task claims need a lock: this server was built without one".into(),
            ));
        };
        Ok(if self.principal.is_unrestricted() {
            claims.clone()
        } else {
            claims.scoped(&self.services)
        })
    }

    /// The membership use cases, acting as the caller; `403` when this server has no member
    /// store (sharing needs user accounts: `AUTH_MODE=supabase`).
    pub fn member_service(&self) -> Result<MemberService> {
        let Some(repo) = self.state.members() else {
            return Err(DomainError::Forbidden(
                "sharing projects needs user accounts: run the server with AUTH_MODE=supabase"
                    .into(),
            ));
        };
        Ok(MemberService::new(&self.services, repo.clone()))
    }

    /// The API-key use cases, acting as the caller; `403` when this server keeps no keys.
    pub fn api_key_service(&self) -> Result<ApiKeyService> {
        let Some(keys) = self.state.api_keys() else {
            return Err(DomainError::Forbidden(
                "this server keeps no API keys".into(),
            ));
        };
        Ok(keys.scoped(&self.services))
    }

    /// Web Push (its use cases take the caller's principal); `503` when not configured.
    pub fn push_service(&self) -> Result<&maestro_domain::services::PushService> {
        self.state
            .push()
            .ok_or_else(|| DomainError::Unavailable("this server does not send Web Push".into()))
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

/// The services for `principal`: the server's own for unrestricted principals; for a user
/// or a session token, the same services on repositories restricted by the domain's access
/// rules ([`maestro_domain::access`]) — for a user, on top of their own token-bound
/// repositories when the storage has them (row-level security as defence in depth).
pub fn scoped_services(state: &AppState, principal: &Principal) -> Result<Services<Caller>> {
    let Some(access) = maestro_domain::access::access_for(principal, state.members())? else {
        return Ok(state.services().as_caller());
    };
    let repos = match (principal, &state.0.system.user_scope) {
        (Principal::User { access_token, .. }, Some(scope)) => scope(&access_token.0),
        _ => state.services().ports().repositories(),
    };
    Ok(state.services().restricted(repos, access))
}

/// The spawn use case for `principal`, on its `services` ([`scoped_services`]).
pub fn spawn_service_for(
    state: &AppState,
    principal: &Principal,
    services: &Services<Caller>,
) -> SpawnService {
    if principal.is_unrestricted() {
        state.spawn_service().clone()
    } else {
        state.spawn_service().scoped(services)
    }
}
