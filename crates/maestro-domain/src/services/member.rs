//! Sharing a project: its members and their roles (seed 000 "Multi-User Data Model").
//!
//! Rules: anybody on a project sees its member list; only owners add, re-role or remove
//! members (a member may also leave); a project always keeps an owner. A caller who is not on
//! the project gets `404` for it (no existence leak), one who is but may not change it `403`.

use std::sync::Arc;

use super::{Context, Services};
use crate::access::{Grantee, Need};
use crate::error::{DomainError, Result};
use crate::events::{DomainEvent, MembersChanged};
use crate::model::{ProjectMember, ProjectRole, UserRef};
use crate::ports::MemberRepo;

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The local user or a server credential: acts as an owner of every project.
    Unrestricted,
    /// A signed-in user, by id: acts with their role on each project.
    User(String),
}

impl Actor {
    /// The membership actor of `principal` on `project_id`; an agent's credential (session
    /// token, API key) is refused by the access rule ([`crate::access::decide`]).
    pub fn of(principal: &crate::ports::Principal, project_id: &str) -> Result<Self> {
        match crate::access::Grantee::of(principal) {
            None => Ok(Self::Unrestricted),
            Some(crate::access::Grantee::User(id)) => Ok(Self::User(id)),
            Some(agent) => {
                crate::access::decide(&agent, project_id, None, Need::ReadMembers)?;
                Err(DomainError::Internal(
                    "the access rule admitted an agent to the members".into(),
                ))
            }
        }
    }
}

/// `POST /api/projects/:id/members`: a user by id or by email, and a role.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AddMember {
    pub user_id: Option<String>,
    pub email: Option<String>,
    pub role: Option<String>,
}

/// Membership use cases.
#[derive(Clone)]
pub struct MemberService {
    ctx: Arc<Context>,
    repo: Arc<dyn MemberRepo>,
}

impl MemberService {
    pub fn new<S>(services: &Services<S>, repo: Arc<dyn MemberRepo>) -> Self {
        Self {
            ctx: services.context().clone(),
            repo,
        }
    }

    /// The same use cases on other (e.g. user-scoped) services: the project is looked up as
    /// the caller sees it; members are always read and written by the server.
    pub fn scoped(&self, services: &Services<super::Caller>) -> Self {
        Self::new(services, self.repo.clone())
    }

    /// `Ok` when `actor` may do `need` on `project_id`, by the one access rule
    /// ([`crate::access::decide`]); `404` for a project that does not exist or that the caller
    /// is not on.
    async fn require(&self, actor: &Actor, project_id: &str, need: Need) -> Result<()> {
        self.ctx.require_project(project_id).await?;
        match actor {
            Actor::Unrestricted => Ok(()),
            Actor::User(id) => {
                let role = self.repo.get(project_id, id).await?.map(|m| m.role);
                crate::access::decide(&Grantee::User(id.clone()), project_id, role, need)
            }
        }
    }

    /// `GET /api/projects/:id/members`.
    pub async fn list(&self, actor: &Actor, project_id: &str) -> Result<Vec<ProjectMember>> {
        self.require(actor, project_id, Need::ReadMembers).await?;
        self.repo.list(project_id).await
    }

    /// `POST /api/projects/:id/members`: adds a user (by id or email) with a role.
    pub async fn add(
        &self,
        actor: &Actor,
        project_id: &str,
        input: AddMember,
    ) -> Result<ProjectMember> {
        let role = parse_role(input.role.as_deref())?;
        self.require(actor, project_id, Need::ManageMembers).await?;
        let user = self.find_user(input.user_id, input.email).await?;
        if let Some(existing) = self.repo.get(project_id, &user.id).await? {
            return Err(DomainError::Conflict(format!(
                "user '{}' is already a member of project '{project_id}' ({}); change the role \
                 with PATCH",
                user.id, existing.role
            )));
        }
        let member = self
            .repo
            .put(ProjectMember {
                project_id: project_id.to_string(),
                user_id: user.id,
                role,
                email: user.email,
                added_at: self.ctx.now(),
            })
            .await?;
        self.changed(actor, &member, "added", Some(role)).await;
        Ok(member)
    }

    /// `PATCH /api/projects/:id/members/:userId {role}`.
    pub async fn set_role(
        &self,
        actor: &Actor,
        project_id: &str,
        user_id: &str,
        role: Option<&str>,
    ) -> Result<ProjectMember> {
        let role = parse_role(role)?;
        self.require(actor, project_id, Need::ManageMembers).await?;
        let mut member = self.member(project_id, user_id).await?;
        if member.role == ProjectRole::Owner && role != ProjectRole::Owner {
            self.keep_an_owner(project_id, user_id).await?;
        }
        member.role = role;
        let member = self.repo.put(member).await?;
        self.changed(actor, &member, "updated", Some(role)).await;
        Ok(member)
    }

    /// `DELETE /api/projects/:id/members/:userId`: by an owner, or a member leaving.
    pub async fn remove(&self, actor: &Actor, project_id: &str, user_id: &str) -> Result<()> {
        let leaving = matches!(actor, Actor::User(id) if id == user_id);
        if leaving {
            self.require(actor, project_id, Need::ReadMembers).await?;
        } else {
            self.require(actor, project_id, Need::ManageMembers).await?;
        }
        let member = self.member(project_id, user_id).await?;
        if member.role == ProjectRole::Owner {
            self.keep_an_owner(project_id, user_id).await?;
        }
        if !self.repo.remove(project_id, user_id).await? {
            return Err(DomainError::not_found("Member", user_id));
        }
        self.changed(actor, &member, "removed", None).await;
        Ok(())
    }

    async fn member(&self, project_id: &str, user_id: &str) -> Result<ProjectMember> {
        self.repo
            .get(project_id, user_id)
            .await?
            .ok_or_else(|| DomainError::not_found("Member", user_id))
    }

    /// Refuses to take the owner role from `user_id` when nobody else has it.
    async fn keep_an_owner(&self, project_id: &str, user_id: &str) -> Result<()> {
        let others = self
            .repo
            .list(project_id)
            .await?
            .into_iter()
            .filter(|m| m.role == ProjectRole::Owner && m.user_id != user_id)
            .count();
        if others == 0 {
            return Err(DomainError::Conflict(format!(
                "user '{user_id}' is the last owner of project '{project_id}'; make somebody \
                 else owner first"
            )));
        }
        Ok(())
    }

    async fn find_user(&self, user_id: Option<String>, email: Option<String>) -> Result<UserRef> {
        let user_id = user_id.filter(|u| !u.trim().is_empty());
        let email = email.filter(|e| !e.trim().is_empty());
        match (user_id, email) {
            (Some(id), None) => self
                .repo
                .user_by_id(&id)
                .await?
                .ok_or_else(|| DomainError::not_found("User", &id)),
            (None, Some(email)) => {
                // Supabase Auth keeps emails in lower case; people type them any way.
                let email = email.trim().to_lowercase();
                self.repo.user_by_email(&email).await?.ok_or_else(|| {
                    DomainError::Absent(format!(
                        "No user with email '{email}': they must sign up before a project is \
                         shared with them"
                    ))
                })
            }
            (Some(_), Some(_)) => Err(DomainError::invalid_field(
                "userId",
                "give userId or email, not both",
            )),
            (None, None) => Err(DomainError::invalid_field(
                "userId",
                "userId or email is required",
            )),
        }
    }

    async fn changed(
        &self,
        actor: &Actor,
        member: &ProjectMember,
        action: &str,
        role: Option<ProjectRole>,
    ) {
        tracing::info!(
            project = %member.project_id,
            user = %member.user_id,
            action,
            role = role.map(ProjectRole::as_str),
            by = ?actor,
            "project members changed"
        );
        self.ctx
            .emit(DomainEvent::ProjectMembersChanged(MembersChanged {
                project_id: member.project_id.clone(),
                user_id: member.user_id.clone(),
                action: action.to_string(),
                role,
                timestamp: self.ctx.now(),
            }))
            .await;
    }
}

fn parse_role(role: Option<&str>) -> Result<ProjectRole> {
    let allowed = || {
        ProjectRole::ALL
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match role {
        None | Some("") => Err(DomainError::invalid_field(
            "role",
            format!("role is required (one of {})", allowed()),
        )),
        Some(r) => ProjectRole::parse(r).ok_or_else(|| {
            DomainError::invalid_field("role", format!("role '{r}' is not one of {}", allowed()))
        }),
    }
}

#[cfg(test)]
mod tests;
