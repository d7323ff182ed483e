//! Who may do what on a shared project, for every backend (seed 000 "Multi-User Data Model").
//!
//! One rule set, applied as decorators over the repositories a caller's services use
//! ([`guard`], via [`Services::restricted`](crate::services::Services::restricted)), so every
//! use case — over REST, Socket.IO or anything else — obeys it without checking roles itself;
//! the few writes that bypass repositories (presence, modals) ask [`Access::require`]:
//!
//! | caller | reads a project's data | writes tasks, sessions, mail, team members, the project | deletes the project, manages members |
//! |---|---|---|---|
//! | viewer | yes | `403` | `403` |
//! | editor | yes | yes | `403` |
//! | owner | yes | yes | yes |
//! | session token or API key of the project | yes | yes, but not the project record | `403` |
//! | anybody else | `404` (no existence leak) | `404` | `404` |
//!
//! Any signed-in user may create a project and becomes its owner; an agent's credential may not.
//! The local user and server credentials are unrestricted and are never guarded. On Supabase,
//! row-level security enforces the same table as defence in depth.

mod repos;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::{DomainError, Result};
use crate::model::{ProjectMember, ProjectRole};
use crate::ports::{MemberRepo, Principal};

pub use repos::guard;

/// A restricted caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grantee {
    /// A signed-in user, by id: their role on each project decides.
    User(String),
    /// An agent's session token: editor-like on its own project, nothing elsewhere.
    Session {
        session_id: String,
        project_id: String,
    },
    /// A project API key: the same rights as a session token.
    ApiKey { key_id: String, project_id: String },
}

impl Grantee {
    /// The one project an agent's credential (session token, API key) is bound to; `None` for
    /// users.
    pub fn agent_project(&self) -> Option<&str> {
        match self {
            Self::User(_) => None,
            Self::Session { project_id, .. } | Self::ApiKey { project_id, .. } => Some(project_id),
        }
    }

    /// The grantee of a principal; `None` for unrestricted ones (local user, server
    /// credentials).
    pub fn of(principal: &Principal) -> Option<Self> {
        match principal {
            Principal::Local | Principal::Service => None,
            Principal::User { id, .. } => Some(Self::User(id.clone())),
            Principal::Session {
                session_id,
                project_id,
            } => Some(Self::Session {
                session_id: session_id.clone(),
                project_id: project_id.clone(),
            }),
            Principal::ApiKey {
                key_id, project_id, ..
            } => Some(Self::ApiKey {
                key_id: key_id.clone(),
                project_id: project_id.clone(),
            }),
        }
    }
}

/// What an operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// See the project and its data.
    Read,
    /// Change its tasks, sessions, mail, team members, orderings.
    Write,
    /// Change the project record itself (name, settings).
    EditProject,
    /// Delete the project.
    Own,
    /// Read the project's member list: users on the project; never an agent's credential.
    ReadMembers,
    /// Add, re-role or remove members: owners; never an agent's credential.
    ManageMembers,
}

/// The one rule of the table in the module documentation, for every refusal with `403` (and
/// the `404` of a project the caller is not on): `grantee`, whose role on `project_id` is
/// `role` (`None`: not on it), against `need`. [`Access`] and the membership use cases both
/// ask it.
pub fn decide(
    grantee: &Grantee,
    project_id: &str,
    role: Option<ProjectRole>,
    need: Need,
) -> Result<()> {
    let agent = match grantee {
        Grantee::User(_) => None,
        Grantee::ApiKey { .. } => Some("an API key"),
        Grantee::Session { .. } => Some("a session token"),
    };
    if let (Some(what), Need::ReadMembers | Need::ManageMembers) = (agent, need) {
        // Members are people: an agent's credential neither reads nor changes them, on any
        // project (so this says nothing about whether one exists).
        return Err(DomainError::Forbidden(format!(
            "{what} may not read or change project members"
        )));
    }
    let Some(role) = role else {
        return Err(DomainError::not_found("Project", project_id));
    };
    let allowed = match need {
        Need::Read | Need::ReadMembers => true,
        Need::Write => role >= ProjectRole::Editor,
        Need::EditProject => agent.is_none() && role >= ProjectRole::Editor,
        Need::Own | Need::ManageMembers => agent.is_none() && role == ProjectRole::Owner,
    };
    if allowed {
        return Ok(());
    }
    Err(DomainError::Forbidden(match agent {
        Some(what) => format!("{what} may not do this on project '{project_id}'"),
        None => {
            let needed = match need {
                Need::Own | Need::ManageMembers => ProjectRole::Owner,
                _ => ProjectRole::Editor,
            };
            format!("your role on project '{project_id}' is {role}; this needs {needed}")
        }
    }))
}

/// One restricted caller's access, with the roles it looked up remembered for its lifetime
/// (one request), so a use case touching many records of a project asks the member store once.
pub struct Access {
    grantee: Grantee,
    members: Arc<dyn MemberRepo>,
    roles: Mutex<HashMap<String, Option<ProjectRole>>>,
}

impl Access {
    pub fn new(grantee: Grantee, members: Arc<dyn MemberRepo>) -> Arc<Self> {
        Arc::new(Self {
            grantee,
            members,
            roles: Mutex::new(HashMap::new()),
        })
    }

    pub fn grantee(&self) -> &Grantee {
        &self.grantee
    }

    /// The caller's role on `project_id` (`None`: not on it). An agent's credential counts as
    /// an editor of its own project.
    pub async fn role(&self, project_id: &str) -> Result<Option<ProjectRole>> {
        let user = match &self.grantee {
            Grantee::User(user) => user,
            agent => {
                let own = agent.agent_project();
                return Ok((own == Some(project_id)).then_some(ProjectRole::Editor));
            }
        };
        if let Some(known) = self.cached(project_id) {
            return Ok(known);
        }
        let role = self
            .members
            .get(project_id, user)
            .await?
            .map(|m: ProjectMember| m.role);
        self.remember(project_id, role);
        Ok(role)
    }

    fn cached(&self, project_id: &str) -> Option<Option<ProjectRole>> {
        self.roles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(project_id)
            .copied()
    }

    fn remember(&self, project_id: &str, role: Option<ProjectRole>) {
        self.roles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(project_id.to_string(), role);
    }

    /// Whether the caller sees `project_id`.
    pub async fn can_read(&self, project_id: &str) -> Result<bool> {
        Ok(self.role(project_id).await?.is_some())
    }

    /// `Ok` when the caller may do `need` on `project_id`; else `404 Project … not found` for
    /// a project they do not see, `403` for one they see but may not change this way.
    pub async fn require(&self, project_id: &str, need: Need) -> Result<()> {
        let role = self.role(project_id).await?;
        self.decide(project_id, role, need)
    }

    /// [`Access::require`] when it can be answered without a lookup — always for an agent's
    /// credential, for a user once their role on `project_id` is known in this request;
    /// `None` when the member store must be asked first. Lets a repository decide inside its
    /// own read-modify-write, without reading the record beforehand.
    pub fn decide_now(&self, project_id: &str, need: Need) -> Option<Result<()>> {
        let role = match &self.grantee {
            Grantee::User(_) => self.cached(project_id)?,
            agent => (agent.agent_project() == Some(project_id)).then_some(ProjectRole::Editor),
        };
        Some(self.decide(project_id, role, need))
    }

    fn decide(&self, project_id: &str, role: Option<ProjectRole>, need: Need) -> Result<()> {
        decide(&self.grantee, project_id, role, need)
    }

    /// May the caller create projects? Users may (they become the owner); agents' credentials
    /// may not.
    pub fn require_create_project(&self) -> Result<()> {
        match &self.grantee {
            Grantee::User(_) => Ok(()),
            _ => Err(DomainError::Forbidden(
                "an agent's credential may not create projects".into(),
            )),
        }
    }

    /// Records the creator of a new project as its owner, unless the store already did
    /// (Supabase sets `owner_id` from the caller's token).
    async fn record_owner(&self, project_id: &str, now: crate::model::Millis) -> Result<()> {
        let Grantee::User(user) = &self.grantee else {
            return Ok(());
        };
        if self.members.get(project_id, user).await?.is_none() {
            self.members
                .put(ProjectMember {
                    project_id: project_id.to_string(),
                    user_id: user.clone(),
                    role: ProjectRole::Owner,
                    email: None,
                    added_at: now,
                })
                .await?;
        }
        self.remember(project_id, Some(ProjectRole::Owner));
        Ok(())
    }
}

/// The access of `principal`; `None` for unrestricted principals. `members` is where roles
/// are looked up; a user without one is refused (sharing needs user accounts).
pub fn access_for(
    principal: &Principal,
    members: Option<&Arc<dyn MemberRepo>>,
) -> Result<Option<Arc<Access>>> {
    let Some(grantee) = Grantee::of(principal) else {
        return Ok(None);
    };
    let members = match (members, &grantee) {
        (Some(m), _) => m.clone(),
        // An agent's credential never looks up members.
        (None, Grantee::Session { .. } | Grantee::ApiKey { .. }) => {
            Arc::new(NoMembers) as Arc<dyn MemberRepo>
        }
        (None, Grantee::User(_)) => {
            return Err(DomainError::Forbidden(
                "signed-in users need a member store (AUTH_MODE=supabase)".into(),
            ));
        }
    };
    Ok(Some(Access::new(grantee, members)))
}

/// The member store of a server without one: nobody is on any project.
struct NoMembers;

#[async_trait::async_trait]
impl MemberRepo for NoMembers {
    async fn list(&self, _: &str) -> Result<Vec<ProjectMember>> {
        Ok(Vec::new())
    }
    async fn get(&self, _: &str, _: &str) -> Result<Option<ProjectMember>> {
        Ok(None)
    }
    async fn put(&self, _: ProjectMember) -> Result<ProjectMember> {
        Err(DomainError::Forbidden(
            "this server has no member store".into(),
        ))
    }
    async fn remove(&self, _: &str, _: &str) -> Result<bool> {
        Ok(false)
    }
    async fn user_by_email(&self, _: &str) -> Result<Option<crate::model::UserRef>> {
        Ok(None)
    }
    async fn user_by_id(&self, _: &str) -> Result<Option<crate::model::UserRef>> {
        Ok(None)
    }
}
