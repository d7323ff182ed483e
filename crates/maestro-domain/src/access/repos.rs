//! The repository decorators that apply [`Access`] to every read and write.
//!
//! Reads of what the caller may not see answer "absent" (`None`, filtered out of listings),
//! so the use cases answer `404` exactly as for a record that does not exist; writes check the
//! role first and fail with `404` or `403` before anything is stored.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

use super::{Access, Need};
use crate::error::{DomainError, Result};
use crate::model::{
    EntityType, JsonObject, MailMessage, Ordering, Project, Session, Task, TeamMember,
};
use crate::ports::{
    InboxQuery, MailRepo, Mutator, OrderingRepo, ProjectRepo, SessionFilter, SessionRepo,
    TaskFilter, TaskRepo, TeamMemberRepo,
};
use crate::services::Repositories;

/// `repos`, each wrapped so it only does what `access` allows.
pub fn guard(repos: Repositories, access: Arc<Access>) -> Repositories {
    Repositories {
        projects: Arc::new(Projects {
            inner: repos.projects,
            access: access.clone(),
        }),
        tasks: Arc::new(Guarded {
            inner: repos.tasks,
            access: access.clone(),
        }),
        sessions: Arc::new(Guarded {
            inner: repos.sessions,
            access: access.clone(),
        }),
        mail: Arc::new(Guarded {
            inner: repos.mail,
            access: access.clone(),
        }),
        team_members: Arc::new(Guarded {
            inner: repos.team_members,
            access: access.clone(),
        }),
        orderings: Arc::new(Guarded {
            inner: repos.orderings,
            access,
        }),
    }
}

struct Projects {
    inner: Arc<dyn ProjectRepo>,
    access: Arc<Access>,
}

/// A repository of project-owned records, restricted by `access`.
struct Guarded<R: ?Sized> {
    inner: Arc<R>,
    access: Arc<Access>,
}

impl<R: ?Sized> Guarded<R> {
    /// `items` without those of projects the caller does not see.
    async fn visible<T>(&self, items: Vec<T>, project: impl Fn(&T) -> &str) -> Result<Vec<T>> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            if self.access.can_read(project(&item)).await? {
                out.push(item);
            }
        }
        Ok(out)
    }

    async fn readable<T>(
        &self,
        item: Option<T>,
        project: impl Fn(&T) -> &str,
    ) -> Result<Option<T>> {
        match item {
            Some(t) if self.access.can_read(project(&t)).await? => Ok(Some(t)),
            _ => Ok(None),
        }
    }
}

#[async_trait]
impl ProjectRepo for Projects {
    async fn create(&self, project: Project) -> Result<Project> {
        self.access.require_create_project()?;
        let created = self.inner.create(project).await?;
        self.access
            .record_owner(&created.id, created.created_at)
            .await?;
        Ok(created)
    }

    async fn get(&self, id: &str) -> Result<Option<Project>> {
        match self.inner.get(id).await? {
            Some(p) if self.access.can_read(&p.id).await? => Ok(Some(p)),
            _ => Ok(None),
        }
    }

    async fn list(&self) -> Result<Vec<Project>> {
        let mut out = Vec::new();
        for p in self.inner.list().await? {
            if self.access.can_read(&p.id).await? {
                out.push(p);
            }
        }
        Ok(out)
    }

    async fn update<'a>(&self, id: &str, change: Mutator<'a, Project>) -> Result<Project> {
        self.access.require(id, Need::EditProject).await?;
        self.inner.update(id, change).await
    }

    async fn delete(&self, id: &str) -> Result<bool> {
        self.access.require(id, Need::Own).await?;
        self.inner.delete(id).await
    }
}

/// The write decision for a record of `project`, when [`Access::decide_now`] can make it: a
/// record the caller cannot see is `404 <resource>` (no existence leak), one it may not change
/// `403`. `None`: the caller's role must be looked up first.
fn decide_write(
    access: &Access,
    project: &str,
    resource: &'static str,
    id: &str,
) -> Option<Result<()>> {
    match access.decide_now(project, Need::Read)? {
        Err(_) => Some(Err(DomainError::not_found(resource, id))),
        Ok(()) => access.decide_now(project, Need::Write),
    }
}

/// Tasks and sessions: records with their own id and a `project_id`, listed by a filter
/// that may name the project.
macro_rules! guarded_project_records {
    ($repo:ident, $record:ty, $filter:ty, $resource:literal) => {
        #[async_trait]
        impl $repo for Guarded<dyn $repo> {
            async fn create(&self, record: $record) -> Result<$record> {
                self.access.require(&record.project_id, Need::Write).await?;
                self.inner.create(record).await
            }

            async fn get(&self, id: &str) -> Result<Option<$record>> {
                let found = self.inner.get(id).await?;
                self.readable(found, |r| &r.project_id).await
            }

            async fn list(&self, filter: &$filter) -> Result<Vec<$record>> {
                if let Some(p) = &filter.project_id
                    && !self.access.can_read(p).await?
                {
                    return Ok(Vec::new());
                }
                let all = self.inner.list(filter).await?;
                self.visible(all, |r| &r.project_id).await
            }

            /// Decided inside the store's own read-modify-write ([`decide_write`]): a caller
            /// whose rights are known costs the store exactly its update (one read and one
            /// write on a remote store). When a user's role is not known yet, the first
            /// attempt stops before changing anything, the role is looked up once, and the
            /// update runs again.
            async fn update<'a>(&self, id: &str, change: Mutator<'a, $record>) -> Result<$record> {
                let unknown: Mutex<Option<String>> = Mutex::new(None);
                let decided = |r: &mut $record| -> Result<()> {
                    match decide_write(&self.access, &r.project_id, $resource, id) {
                        Some(Ok(())) => change(r),
                        Some(Err(e)) => Err(e),
                        None => {
                            *unknown.lock().unwrap_or_else(PoisonError::into_inner) =
                                Some(r.project_id.clone());
                            Err(DomainError::Internal(
                                "the caller's role is not known yet".into(),
                            ))
                        }
                    }
                };
                let first = self.inner.update(id, &decided).await;
                let pending = unknown
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take();
                match pending {
                    Some(project) => {
                        self.access.role(&project).await?;
                        self.inner.update(id, &decided).await
                    }
                    None => first,
                }
            }

            async fn delete(&self, id: &str) -> Result<bool> {
                let Some(found) = self.get(id).await? else {
                    return Ok(false);
                };
                self.access.require(&found.project_id, Need::Write).await?;
                self.inner.delete(id).await
            }
        }
    };
}

guarded_project_records!(TaskRepo, Task, TaskFilter, "Task");
guarded_project_records!(SessionRepo, Session, SessionFilter, "Session");

#[async_trait]
impl MailRepo for Guarded<dyn MailRepo> {
    async fn create(&self, mail: MailMessage) -> Result<MailMessage> {
        self.access.require(&mail.project_id, Need::Write).await?;
        self.inner.create(mail).await
    }

    async fn create_stamped(&self, mail: MailMessage) -> Result<MailMessage> {
        self.access.require(&mail.project_id, Need::Write).await?;
        self.inner.create_stamped(mail).await
    }

    async fn create_stamped_many(
        &self,
        mails: Vec<MailMessage>,
    ) -> Result<Vec<Result<MailMessage>>> {
        // Refused mails get their error in place; the others are stored in one call.
        let mut slots: Vec<Option<Result<MailMessage>>> = Vec::with_capacity(mails.len());
        let mut allowed = Vec::new();
        for m in mails {
            match self.access.require(&m.project_id, Need::Write).await {
                Ok(()) => {
                    slots.push(None);
                    allowed.push(m);
                }
                Err(e) => slots.push(Some(Err(e))),
            }
        }
        let mut stored = if allowed.is_empty() {
            Vec::new()
        } else {
            self.inner.create_stamped_many(allowed).await?
        }
        .into_iter();
        Ok(slots
            .into_iter()
            .map(|slot| {
                slot.unwrap_or_else(|| {
                    stored.next().unwrap_or_else(|| {
                        Err(DomainError::Internal(
                            "mail store answered too few results".into(),
                        ))
                    })
                })
            })
            .collect())
    }

    async fn get(&self, id: &str) -> Result<Option<MailMessage>> {
        let found = self.inner.get(id).await?;
        self.readable(found, |m| &m.project_id).await
    }

    async fn delete(&self, id: &str) -> Result<bool> {
        let Some(found) = self.get(id).await? else {
            return Ok(false);
        };
        self.access.require(&found.project_id, Need::Write).await?;
        self.inner.delete(id).await
    }

    async fn inbox(&self, query: &InboxQuery) -> Result<Vec<MailMessage>> {
        self.access.require(&query.project_id, Need::Read).await?;
        self.inner.inbox(query).await
    }

    async fn list<'a>(&self, project_id: Option<&'a str>) -> Result<Vec<MailMessage>> {
        if let Some(p) = project_id {
            self.access.require(p, Need::Read).await?;
        }
        let all = self.inner.list(project_id).await?;
        self.visible(all, |m| &m.project_id).await
    }

    fn supports_blocking_wait(&self) -> bool {
        self.inner.supports_blocking_wait()
    }

    async fn wait_inbox(&self, query: &InboxQuery, timeout: Duration) -> Result<Vec<MailMessage>> {
        self.access.require(&query.project_id, Need::Read).await?;
        self.inner.wait_inbox(query, timeout).await
    }
}

#[async_trait]
impl TeamMemberRepo for Guarded<dyn TeamMemberRepo> {
    async fn create(&self, member: TeamMember) -> Result<TeamMember> {
        self.access.require(&member.project_id, Need::Write).await?;
        self.inner.create(member).await
    }

    async fn get(&self, project_id: &str, id: &str) -> Result<Option<TeamMember>> {
        if !self.access.can_read(project_id).await? {
            return Ok(None);
        }
        self.inner.get(project_id, id).await
    }

    async fn list(&self, project_id: &str) -> Result<Vec<TeamMember>> {
        self.access.require(project_id, Need::Read).await?;
        self.inner.list(project_id).await
    }

    async fn update<'a>(
        &self,
        project_id: &str,
        id: &str,
        change: Mutator<'a, TeamMember>,
    ) -> Result<TeamMember> {
        self.access.require(project_id, Need::Write).await?;
        self.inner.update(project_id, id, change).await
    }

    async fn delete(&self, project_id: &str, id: &str) -> Result<bool> {
        self.access.require(project_id, Need::Write).await?;
        self.inner.delete(project_id, id).await
    }

    async fn get_override(&self, project_id: &str, id: &str) -> Result<Option<JsonObject>> {
        if !self.access.can_read(project_id).await? {
            return Ok(None);
        }
        self.inner.get_override(project_id, id).await
    }

    async fn update_override<'a>(
        &self,
        project_id: &str,
        id: &str,
        change: Mutator<'a, JsonObject>,
    ) -> Result<JsonObject> {
        self.access.require(project_id, Need::Write).await?;
        self.inner.update_override(project_id, id, change).await
    }

    async fn delete_override(&self, project_id: &str, id: &str) -> Result<bool> {
        self.access.require(project_id, Need::Write).await?;
        self.inner.delete_override(project_id, id).await
    }

    async fn delete_project(&self, project_id: &str) -> Result<()> {
        self.access.require(project_id, Need::Own).await?;
        self.inner.delete_project(project_id).await
    }
}

#[async_trait]
impl OrderingRepo for Guarded<dyn OrderingRepo> {
    async fn get(&self, project_id: &str, entity_type: EntityType) -> Result<Option<Ordering>> {
        if !self.access.can_read(project_id).await? {
            return Ok(None);
        }
        self.inner.get(project_id, entity_type).await
    }

    async fn save(&self, ordering: Ordering) -> Result<Ordering> {
        self.access
            .require(&ordering.project_id, Need::Write)
            .await?;
        self.inner.save(ordering).await
    }

    async fn delete_project(&self, project_id: &str) -> Result<()> {
        self.access.require(project_id, Need::Own).await?;
        self.inner.delete_project(project_id).await
    }
}
