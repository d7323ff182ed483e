//! [`MemoryMemberRepo`].

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use async_trait::async_trait;
use maestro_domain::Result;
use maestro_domain::model::{ProjectMember, UserRef};
use maestro_domain::ports::MemberRepo;

/// Project members keyed by (projectId, userId), plus the user accounts registered with
/// [`MemoryMemberRepo::add_user`] (a memory store has no sign-up of its own).
#[derive(Default)]
pub struct MemoryMemberRepo {
    members: RwLock<HashMap<(String, String), ProjectMember>>,
    users: RwLock<Vec<UserRef>>,
}

impl MemoryMemberRepo {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a user account, so it can be found by id and email.
    pub fn add_user(&self, user: UserRef) {
        let mut users = self.users.write().unwrap_or_else(PoisonError::into_inner);
        users.retain(|u| u.id != user.id);
        users.push(user);
    }

    fn find_user(&self, pred: impl Fn(&UserRef) -> bool) -> Option<UserRef> {
        self.users
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|u| pred(u))
            .cloned()
    }
}

#[async_trait]
impl MemberRepo for MemoryMemberRepo {
    async fn list(&self, project_id: &str) -> Result<Vec<ProjectMember>> {
        let mut out: Vec<ProjectMember> = self
            .members
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter(|m| m.project_id == project_id)
            .cloned()
            .collect();
        out.sort_by(|a, b| (a.added_at, &a.user_id).cmp(&(b.added_at, &b.user_id)));
        Ok(out)
    }

    async fn get(&self, project_id: &str, user_id: &str) -> Result<Option<ProjectMember>> {
        Ok(self
            .members
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(project_id.to_owned(), user_id.to_owned()))
            .cloned())
    }

    async fn put(&self, mut member: ProjectMember) -> Result<ProjectMember> {
        let key = (member.project_id.clone(), member.user_id.clone());
        let mut members = self.members.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(existing) = members.get(&key) {
            member.added_at = existing.added_at;
        }
        members.insert(key, member.clone());
        Ok(member)
    }

    async fn remove(&self, project_id: &str, user_id: &str) -> Result<bool> {
        Ok(self
            .members
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(project_id.to_owned(), user_id.to_owned()))
            .is_some())
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<UserRef>> {
        Ok(self.find_user(|u| u.email.as_deref() == Some(email)))
    }

    async fn user_by_id(&self, user_id: &str) -> Result<Option<UserRef>> {
        Ok(self.find_user(|u| u.id == user_id))
    }
}
