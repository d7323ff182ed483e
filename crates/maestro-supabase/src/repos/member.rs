//! [`SupabaseMemberRepo`]: `public.project_members`, plus the owner recorded in
//! `projects.owner_id` (the user who created the project), and accounts from `public.profiles`.
//! Meant for the service-role client: the membership service checks who may change what.

use std::collections::HashMap;

use async_trait::async_trait;
use maestro_domain::model::{ProjectMember, ProjectRole, UserRef};
use maestro_domain::ports::MemberRepo;
use maestro_domain::{DomainError, Result};
use serde_json::{Value, json};

use crate::client::PostgrestClient;
use crate::query::Query;

const MEMBERS: &str = "project_members";
const PROJECTS: &str = "projects";
const PROFILES: &str = "profiles";

pub struct SupabaseMemberRepo {
    client: PostgrestClient,
}

impl SupabaseMemberRepo {
    pub fn new(client: PostgrestClient) -> Self {
        Self { client }
    }

    /// `(owner_id, created_at)` of the project, if it exists.
    async fn owner(&self, project_id: &str) -> Result<Option<(Option<String>, i64)>> {
        let q = Query::new()
            .eq("id", project_id)
            .select("owner_id,created_at");
        let rows = self.client.select(PROJECTS, &q).await?;
        Ok(rows.first().map(|r| {
            (
                r.get("owner_id")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                r.get("created_at").and_then(Value::as_i64).unwrap_or(0),
            )
        }))
    }

    async fn emails(&self, ids: &[String]) -> Result<HashMap<String, String>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let q = Query::new().in_list("id", ids).select("id,email");
        Ok(self
            .client
            .select(PROFILES, &q)
            .await?
            .into_iter()
            .filter_map(|r| {
                Some((
                    r.get("id")?.as_str()?.to_string(),
                    r.get("email")?.as_str()?.to_string(),
                ))
            })
            .collect())
    }

    async fn set_owner(&self, project_id: &str, owner: Option<&str>) -> Result<()> {
        self.client
            .update(
                PROJECTS,
                &Query::new().eq("id", project_id),
                &json!({ "owner_id": owner }),
            )
            .await?;
        Ok(())
    }

    async fn profile(&self, q: Query) -> Result<Option<UserRef>> {
        let rows = self.client.select(PROFILES, &q.select("id,email")).await?;
        Ok(rows.first().and_then(|r| {
            Some(UserRef {
                id: r.get("id")?.as_str()?.to_string(),
                email: r.get("email").and_then(Value::as_str).map(str::to_string),
            })
        }))
    }
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

#[async_trait]
impl MemberRepo for SupabaseMemberRepo {
    async fn list(&self, project_id: &str) -> Result<Vec<ProjectMember>> {
        let Some((owner, created_at)) = self.owner(project_id).await? else {
            return Ok(Vec::new());
        };
        let q = Query::new()
            .eq("project_id", project_id)
            .select("user_id,role,added_at");
        let mut members: Vec<ProjectMember> = Vec::new();
        for r in self.client.select(MEMBERS, &q).await? {
            let (Some(user_id), Some(role)) = (
                r.get("user_id").and_then(Value::as_str),
                r.get("role")
                    .and_then(Value::as_str)
                    .and_then(ProjectRole::parse),
            ) else {
                return Err(DomainError::Internal(format!(
                    "unreadable project_members row of '{project_id}': {r}"
                )));
            };
            members.push(ProjectMember {
                project_id: project_id.to_string(),
                user_id: user_id.to_string(),
                role,
                email: None,
                added_at: r.get("added_at").and_then(Value::as_i64).unwrap_or(0),
            });
        }
        // The creator is an owner whether or not they also have a row.
        if let Some(owner) = owner {
            match members.iter_mut().find(|m| m.user_id == owner) {
                Some(m) => m.role = ProjectRole::Owner,
                None => members.push(ProjectMember {
                    project_id: project_id.to_string(),
                    user_id: owner,
                    role: ProjectRole::Owner,
                    email: None,
                    added_at: created_at,
                }),
            }
        }
        let ids: Vec<String> = members.iter().map(|m| m.user_id.clone()).collect();
        let emails = self.emails(&ids).await?;
        for m in &mut members {
            m.email = emails.get(&m.user_id).cloned();
        }
        members.sort_by(|a, b| (a.added_at, &a.user_id).cmp(&(b.added_at, &b.user_id)));
        Ok(members)
    }

    async fn get(&self, project_id: &str, user_id: &str) -> Result<Option<ProjectMember>> {
        Ok(self
            .list(project_id)
            .await?
            .into_iter()
            .find(|m| m.user_id == user_id))
    }

    async fn put(&self, member: ProjectMember) -> Result<ProjectMember> {
        let (owner, _) = self
            .owner(&member.project_id)
            .await?
            .ok_or_else(|| DomainError::not_found("Project", &member.project_id))?;
        let existing = self.get(&member.project_id, &member.user_id).await?;
        // The creator's implicit ownership gives way to the row when the role changes.
        if owner.as_deref() == Some(member.user_id.as_str()) && member.role != ProjectRole::Owner {
            self.set_owner(&member.project_id, None).await?;
        }
        let (added_at, email) = match existing {
            Some(m) => (m.added_at, m.email.or(member.email)),
            None => (member.added_at, member.email),
        };
        self.client
            .upsert(
                MEMBERS,
                &json!({
                    "project_id": member.project_id,
                    "user_id": member.user_id,
                    "role": member.role.as_str(),
                    "added_at": added_at,
                }),
                "project_id,user_id",
                &Query::new(),
            )
            .await?;
        Ok(ProjectMember {
            added_at,
            email,
            ..member
        })
    }

    async fn remove(&self, project_id: &str, user_id: &str) -> Result<bool> {
        if !is_uuid(user_id) {
            return Ok(false);
        }
        let Some((owner, _)) = self.owner(project_id).await? else {
            return Ok(false);
        };
        let deleted = self
            .client
            .delete(
                MEMBERS,
                &Query::new()
                    .eq("project_id", project_id)
                    .eq("user_id", user_id),
            )
            .await?;
        let was_owner = owner.as_deref() == Some(user_id);
        if was_owner {
            self.set_owner(project_id, None).await?;
        }
        Ok(!deleted.is_empty() || was_owner)
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<UserRef>> {
        self.profile(Query::new().eq("email", email)).await
    }

    async fn user_by_id(&self, user_id: &str) -> Result<Option<UserRef>> {
        if !is_uuid(user_id) {
            return Ok(None);
        }
        self.profile(Query::new().eq("id", user_id)).await
    }
}
