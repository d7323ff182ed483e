//! The agent side of a session, beyond tasks and mail: its liveness heartbeat, the modal pages
//! it shows in the UI, the skills it loads, and the clean-up of what it left behind when its
//! session is deleted.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::{Context, Services, SessionService};
use crate::access::Need;
use crate::error::{DomainError, Result};
use crate::events::{DomainEvent, ModalAction, ModalClosed, ModalShown};
use crate::model::{AgentMode, Millis, Session, Skill};
use crate::ports::{
    Heartbeat, ManifestGenerator, ModalPage, ModalPages, PendingModal, Presence, SkillCatalog,
};
use crate::validate;

/// Presence time-to-live of one heartbeat (agents beat every 10 s).
pub const HEARTBEAT_TTL: Duration = Duration::from_secs(15);

/// Title of a modal shown without one.
pub const DEFAULT_MODAL_TITLE: &str = "Agent Modal";

/// The host-side adapters an [`AgentService`] runs on.
#[derive(Clone)]
pub struct AgentPorts {
    pub presence: Arc<dyn Presence>,
    pub manifests: Arc<dyn ManifestGenerator>,
    pub modals: Arc<dyn ModalPages>,
    pub skills: Arc<dyn SkillCatalog>,
}

/// `POST /api/sessions/:id/modal`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShowModal {
    pub modal_id: Option<String>,
    pub html: Option<String>,
    pub title: Option<String>,
    pub file_path: Option<String>,
}

/// An accepted heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Beat {
    pub ttl: Duration,
    pub expires_at: Millis,
}

/// Heartbeats, modals, skills and session clean-up.
#[derive(Clone)]
pub struct AgentService {
    ctx: Arc<Context>,
    sessions: SessionService,
    ports: AgentPorts,
}

impl AgentService {
    pub fn new(services: &Services, ports: AgentPorts) -> Self {
        Self {
            ctx: services.context().clone(),
            sessions: services.sessions.clone(),
            ports,
        }
    }

    /// The same use cases on other (e.g. user-scoped) services.
    pub fn scoped(&self, services: &Services<super::Caller>) -> Self {
        Self {
            ctx: services.context().clone(),
            sessions: services.sessions.clone(),
            ports: self.ports.clone(),
        }
    }

    pub fn presence(&self) -> &Arc<dyn Presence> {
        &self.ports.presence
    }

    /// `POST /api/sessions/:id/heartbeat`: the session is alive for [`HEARTBEAT_TTL`] more.
    pub async fn heartbeat(&self, session_id: &str) -> Result<Beat> {
        let session = self.sessions.get(session_id).await?;
        self.ctx.authorize(&session.project_id, Need::Write).await?;
        let now = self.ctx.now();
        self.ports
            .presence
            .heartbeat(
                &Heartbeat {
                    session_id: session.id,
                    project_id: session.project_id,
                    last_seen: now,
                },
                HEARTBEAT_TTL,
            )
            .await?;
        Ok(Beat {
            ttl: HEARTBEAT_TTL,
            expires_at: now + HEARTBEAT_TTL.as_millis() as Millis,
        })
    }

    /// `DELETE /api/sessions/:id`: the session delete of [`SessionService::delete`], then what
    /// the session left behind (DEFECTS O8): its presence, manifest directory and modal pages.
    /// A clean-up failure is logged, never fails the delete that already happened.
    pub async fn delete_session(&self, id: &str) -> Result<()> {
        self.sessions.delete(id).await?;
        if let Err(e) = self.ports.presence.remove(id).await {
            tracing::warn!(session = %id, error = %e, "could not clear presence of deleted session");
        }
        if let Err(e) = self.ports.manifests.discard(id).await {
            tracing::warn!(session = %id, error = %e, "could not remove manifest directory");
        }
        if let Err(e) = self.ports.modals.remove_session(id).await {
            tracing::warn!(session = %id, error = %e, "could not remove modal pages");
        }
        Ok(())
    }

    /// `POST /api/sessions/:id/modal`: stores the page and emits `session:modal`; returns the
    /// modal id.
    pub async fn show_modal(&self, session_id: &str, input: ShowModal) -> Result<String> {
        let modal_id = non_empty(input.modal_id)
            .ok_or_else(|| DomainError::invalid_field("modalId", "modalId is required"))?;
        let html = non_empty(input.html)
            .ok_or_else(|| DomainError::invalid_field("html", "html content is required"))?;
        validate::safe_id("modalId", &modal_id)?;
        let session = self.sessions.get(session_id).await?;
        self.ctx.authorize(&session.project_id, Need::Write).await?;
        let page = ModalPage {
            session_id: session_id.to_string(),
            modal_id: modal_id.clone(),
            title: non_empty(input.title).unwrap_or_else(|| DEFAULT_MODAL_TITLE.into()),
            html,
            shown_at: self.ctx.now(),
        };
        let path = self.ports.modals.save(&page).await?;
        self.ctx
            .emit(DomainEvent::SessionModal(ModalShown {
                session_id: page.session_id,
                modal_id: page.modal_id,
                title: page.title,
                html: page.html,
                file_path: non_empty(input.file_path).unwrap_or(path),
                timestamp: page.shown_at,
                project_id: session.project_id,
            }))
            .await;
        Ok(modal_id)
    }

    /// `POST /api/sessions/:id/modal/:modalId/actions`: emits `session:modal_action`; returns
    /// the action.
    pub async fn modal_action(
        &self,
        session_id: &str,
        modal_id: &str,
        action: Option<String>,
        data: Option<Value>,
    ) -> Result<String> {
        let action = non_empty(action)
            .ok_or_else(|| DomainError::invalid_field("action", "action is required"))?;
        let session = self.shown_modal(session_id, modal_id).await?;
        self.ctx
            .emit(DomainEvent::SessionModalAction(ModalAction {
                session_id: session_id.to_string(),
                modal_id: modal_id.to_string(),
                action: action.clone(),
                data: data.unwrap_or_else(|| Value::Object(Default::default())),
                timestamp: self.ctx.now(),
                project_id: session.project_id,
            }))
            .await;
        self.settle(session_id, modal_id).await;
        Ok(action)
    }

    /// `POST /api/sessions/:id/modal/:modalId/close`: emits `session:modal_closed`.
    pub async fn close_modal(&self, session_id: &str, modal_id: &str) -> Result<()> {
        let session = self.shown_modal(session_id, modal_id).await?;
        self.ctx
            .emit(DomainEvent::SessionModalClosed(ModalClosed {
                session_id: session_id.to_string(),
                modal_id: modal_id.to_string(),
                timestamp: self.ctx.now(),
                project_id: session.project_id,
            }))
            .await;
        self.settle(session_id, modal_id).await;
        Ok(())
    }

    /// The page no longer waits. The answer was already delivered (the event), so a failure
    /// here only leaves the page listed as waiting: logged, not returned.
    async fn settle(&self, session_id: &str, modal_id: &str) {
        if let Err(e) = self.ports.modals.settle(session_id, modal_id).await {
            tracing::warn!(session = %session_id, modal = %modal_id, error = %e,
                "could not mark the modal answered");
        }
    }

    /// The modal pages of `sessions` still waiting for the person, as the `session:modal`
    /// event showed them, oldest first. A session that has ended has no agent left to read
    /// an answer, so its pages are not listed. `sessions` are ones the caller has read (so
    /// may see): this reads no rights itself.
    pub async fn pending_modals(&self, sessions: &[Session]) -> Result<Vec<ModalShown>> {
        let live: Vec<&Session> = sessions
            .iter()
            .filter(|s| !s.status.is_terminal())
            .collect();
        if live.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = live.iter().map(|s| s.id.clone()).collect();
        let pending = self.ports.modals.pending(&ids).await?;
        Ok(pending
            .into_iter()
            .filter_map(|PendingModal { page, location }| {
                let project_id = live
                    .iter()
                    .find(|s| s.id == page.session_id)?
                    .project_id
                    .clone();
                Some(ModalShown {
                    session_id: page.session_id,
                    modal_id: page.modal_id,
                    title: page.title,
                    html: page.html,
                    file_path: location,
                    timestamp: page.shown_at,
                    project_id,
                })
            })
            .collect())
    }

    /// The session, if it exists and showed this modal (DEFECTS S7).
    async fn shown_modal(&self, session_id: &str, modal_id: &str) -> Result<Session> {
        let session = self.sessions.get(session_id).await?;
        self.ctx.authorize(&session.project_id, Need::Write).await?;
        if !validate::is_safe_id(modal_id)
            || !self.ports.modals.shown_by(session_id, modal_id).await?
        {
            return Err(DomainError::not_found("Modal", modal_id));
        }
        Ok(session)
    }

    /// `GET /api/skills`.
    pub async fn skills(&self) -> Result<Vec<Skill>> {
        self.ports.skills.list().await
    }

    /// `GET /api/skills/:id`.
    pub async fn skill(&self, id: &str) -> Result<Skill> {
        self.ports
            .skills
            .get(id)
            .await?
            .ok_or_else(|| DomainError::not_found("Skill", id))
    }

    /// `GET /api/skills/mode/:mode`: the skills an agent of `mode` loads.
    pub async fn skills_for_mode(&self, mode: &str) -> Result<Vec<Skill>> {
        let mode = AgentMode::parse(mode).ok_or_else(|| {
            DomainError::invalid_field("mode", "mode must be \"execute\" or \"coordinate\"")
        })?;
        let mut all = self.ports.skills.list().await?;
        all.retain(|s| s.fits(mode));
        Ok(all)
    }

    /// `POST /api/skills/:id/reload`.
    pub async fn reload_skill(&self, id: &str) -> Result<Skill> {
        self.ports
            .skills
            .reload(id)
            .await?
            .ok_or_else(|| DomainError::not_found("Skill", id))
    }
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests;
