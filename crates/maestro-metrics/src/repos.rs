//! [`MeteredRepo`]: any repository port, timed per operation.

use std::future::Future;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use maestro_domain::Result;
use maestro_domain::model::{
    ApiKey, EntityType, JsonObject, MailMessage, Ordering, Project, ProjectMember,
    PushSubscription, Session, Task, TeamMember, UserRef,
};
use maestro_domain::ports::{
    ApiKeyRepo, InboxQuery, MailRepo, MemberRepo, Mutator, OrderingRepo, ProjectRepo,
    PushSubscriptionRepo, SessionFilter, SessionRepo, TaskFilter, TaskRepo, TeamMemberRepo,
};
use maestro_domain::services::Repositories;
use metrics::Histogram;

use crate::names;

/// A repository that records `maestro_repo_operation_duration_seconds{adapter, repo, op,
/// result}` for every call it forwards to `inner`.
///
/// Implements each repository port for `MeteredRepo<dyn ThatPort>`; build one with
/// [`MeteredRepo::wrap`], or all of a [`Repositories`] with [`metered_repositories`].
pub struct MeteredRepo<R: ?Sized> {
    inner: Arc<R>,
    adapter: &'static str,
    repo: &'static str,
    /// The histogram of each (operation, success) seen so far: registering one with the
    /// recorder costs an allocation and a hashed lookup, recording into a held one does not.
    histograms: RwLock<Vec<(&'static str, bool, Histogram)>>,
}

impl<R: ?Sized> MeteredRepo<R> {
    /// `inner`, recorded as `adapter` (`filesystem`, `supabase`, `memory`, `redis`…) and
    /// `repo` (`project`, `task`, …).
    pub fn wrap(inner: Arc<R>, adapter: &'static str, repo: &'static str) -> Arc<Self> {
        Arc::new(Self {
            inner,
            adapter,
            repo,
            histograms: RwLock::new(Vec::new()),
        })
    }

    async fn timed<T>(&self, op: &'static str, call: impl Future<Output = Result<T>>) -> Result<T> {
        let started = Instant::now();
        let out = call.await;
        self.record(op, out.is_ok(), started.elapsed());
        out
    }

    fn record(&self, op: &'static str, ok: bool, took: Duration) {
        let seconds = took.as_secs_f64();
        let held = self
            .histograms
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((_, _, h)) = held.iter().find(|(o, k, _)| *o == op && *k == ok) {
            h.record(seconds);
            return;
        }
        drop(held);
        let h = metrics::histogram!(
            names::REPO_OPERATION_DURATION,
            "adapter" => self.adapter,
            "repo" => self.repo,
            "op" => op,
            "result" => if ok { "ok" } else { "err" }
        );
        h.record(seconds);
        self.histograms
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push((op, ok, h));
    }
}

/// Every repository of `repos`, metered as `adapter` (mail keeps its own adapter name, since
/// `MAIL_BACKEND` may put it elsewhere: pass it as `mail_adapter`).
pub fn metered_repositories(
    repos: Repositories,
    adapter: &'static str,
    mail_adapter: &'static str,
) -> Repositories {
    Repositories {
        projects: MeteredRepo::wrap(repos.projects, adapter, "project"),
        tasks: MeteredRepo::wrap(repos.tasks, adapter, "task"),
        sessions: MeteredRepo::wrap(repos.sessions, adapter, "session"),
        mail: MeteredRepo::wrap(repos.mail, mail_adapter, "mail"),
        team_members: MeteredRepo::wrap(repos.team_members, adapter, "team_member"),
        orderings: MeteredRepo::wrap(repos.orderings, adapter, "ordering"),
    }
}

#[async_trait]
impl ProjectRepo for MeteredRepo<dyn ProjectRepo> {
    async fn create(&self, project: Project) -> Result<Project> {
        self.timed("create", self.inner.create(project)).await
    }
    async fn get(&self, id: &str) -> Result<Option<Project>> {
        self.timed("get", self.inner.get(id)).await
    }
    async fn list(&self) -> Result<Vec<Project>> {
        self.timed("list", self.inner.list()).await
    }
    async fn update<'a>(&self, id: &str, change: Mutator<'a, Project>) -> Result<Project> {
        self.timed("update", self.inner.update(id, change)).await
    }
    async fn delete(&self, id: &str) -> Result<bool> {
        self.timed("delete", self.inner.delete(id)).await
    }
}

#[async_trait]
impl TaskRepo for MeteredRepo<dyn TaskRepo> {
    async fn create(&self, task: Task) -> Result<Task> {
        self.timed("create", self.inner.create(task)).await
    }
    async fn get(&self, id: &str) -> Result<Option<Task>> {
        self.timed("get", self.inner.get(id)).await
    }
    async fn list(&self, filter: &TaskFilter) -> Result<Vec<Task>> {
        self.timed("list", self.inner.list(filter)).await
    }
    async fn update<'a>(&self, id: &str, change: Mutator<'a, Task>) -> Result<Task> {
        self.timed("update", self.inner.update(id, change)).await
    }
    async fn delete(&self, id: &str) -> Result<bool> {
        self.timed("delete", self.inner.delete(id)).await
    }
}

#[async_trait]
impl SessionRepo for MeteredRepo<dyn SessionRepo> {
    async fn create(&self, session: Session) -> Result<Session> {
        self.timed("create", self.inner.create(session)).await
    }
    async fn get(&self, id: &str) -> Result<Option<Session>> {
        self.timed("get", self.inner.get(id)).await
    }
    async fn list(&self, filter: &SessionFilter) -> Result<Vec<Session>> {
        self.timed("list", self.inner.list(filter)).await
    }
    async fn update<'a>(&self, id: &str, change: Mutator<'a, Session>) -> Result<Session> {
        self.timed("update", self.inner.update(id, change)).await
    }
    async fn delete(&self, id: &str) -> Result<bool> {
        self.timed("delete", self.inner.delete(id)).await
    }
}

#[async_trait]
impl MailRepo for MeteredRepo<dyn MailRepo> {
    async fn create(&self, mail: MailMessage) -> Result<MailMessage> {
        self.timed("create", self.inner.create(mail)).await
    }
    async fn create_stamped(&self, mail: MailMessage) -> Result<MailMessage> {
        self.timed("create_stamped", self.inner.create_stamped(mail))
            .await
    }
    async fn create_stamped_many(
        &self,
        mails: Vec<MailMessage>,
    ) -> Result<Vec<Result<MailMessage>>> {
        self.timed("create_stamped_many", self.inner.create_stamped_many(mails))
            .await
    }
    async fn get(&self, id: &str) -> Result<Option<MailMessage>> {
        self.timed("get", self.inner.get(id)).await
    }
    async fn delete(&self, id: &str) -> Result<bool> {
        self.timed("delete", self.inner.delete(id)).await
    }
    async fn inbox(&self, query: &InboxQuery) -> Result<Vec<MailMessage>> {
        self.timed("inbox", self.inner.inbox(query)).await
    }
    async fn list<'a>(&self, project_id: Option<&'a str>) -> Result<Vec<MailMessage>> {
        self.timed("list", self.inner.list(project_id)).await
    }
    fn supports_blocking_wait(&self) -> bool {
        self.inner.supports_blocking_wait()
    }
    async fn wait_inbox(
        &self,
        query: &InboxQuery,
        timeout: std::time::Duration,
    ) -> Result<Vec<MailMessage>> {
        self.timed("wait_inbox", self.inner.wait_inbox(query, timeout))
            .await
    }
}

#[async_trait]
impl TeamMemberRepo for MeteredRepo<dyn TeamMemberRepo> {
    async fn create(&self, member: TeamMember) -> Result<TeamMember> {
        self.timed("create", self.inner.create(member)).await
    }
    async fn get(&self, project_id: &str, id: &str) -> Result<Option<TeamMember>> {
        self.timed("get", self.inner.get(project_id, id)).await
    }
    async fn list(&self, project_id: &str) -> Result<Vec<TeamMember>> {
        self.timed("list", self.inner.list(project_id)).await
    }
    async fn update<'a>(
        &self,
        project_id: &str,
        id: &str,
        change: Mutator<'a, TeamMember>,
    ) -> Result<TeamMember> {
        self.timed("update", self.inner.update(project_id, id, change))
            .await
    }
    async fn delete(&self, project_id: &str, id: &str) -> Result<bool> {
        self.timed("delete", self.inner.delete(project_id, id))
            .await
    }
    async fn get_override(&self, project_id: &str, id: &str) -> Result<Option<JsonObject>> {
        self.timed("get_override", self.inner.get_override(project_id, id))
            .await
    }
    async fn update_override<'a>(
        &self,
        project_id: &str,
        id: &str,
        change: Mutator<'a, JsonObject>,
    ) -> Result<JsonObject> {
        self.timed(
            "update_override",
            self.inner.update_override(project_id, id, change),
        )
        .await
    }
    async fn delete_override(&self, project_id: &str, id: &str) -> Result<bool> {
        self.timed(
            "delete_override",
            self.inner.delete_override(project_id, id),
        )
        .await
    }
    async fn delete_project(&self, project_id: &str) -> Result<()> {
        self.timed("delete_project", self.inner.delete_project(project_id))
            .await
    }
}

#[async_trait]
impl OrderingRepo for MeteredRepo<dyn OrderingRepo> {
    async fn get(&self, project_id: &str, entity_type: EntityType) -> Result<Option<Ordering>> {
        self.timed("get", self.inner.get(project_id, entity_type))
            .await
    }
    async fn save(&self, ordering: Ordering) -> Result<Ordering> {
        self.timed("save", self.inner.save(ordering)).await
    }
    async fn delete_project(&self, project_id: &str) -> Result<()> {
        self.timed("delete_project", self.inner.delete_project(project_id))
            .await
    }
}

#[async_trait]
impl MemberRepo for MeteredRepo<dyn MemberRepo> {
    async fn list(&self, project_id: &str) -> Result<Vec<ProjectMember>> {
        self.timed("list", self.inner.list(project_id)).await
    }
    async fn get(&self, project_id: &str, user_id: &str) -> Result<Option<ProjectMember>> {
        self.timed("get", self.inner.get(project_id, user_id)).await
    }
    async fn put(&self, member: ProjectMember) -> Result<ProjectMember> {
        self.timed("put", self.inner.put(member)).await
    }
    async fn remove(&self, project_id: &str, user_id: &str) -> Result<bool> {
        self.timed("remove", self.inner.remove(project_id, user_id))
            .await
    }
    async fn user_by_email(&self, email: &str) -> Result<Option<UserRef>> {
        self.timed("user_by_email", self.inner.user_by_email(email))
            .await
    }
    async fn user_by_id(&self, user_id: &str) -> Result<Option<UserRef>> {
        self.timed("user_by_id", self.inner.user_by_id(user_id))
            .await
    }
}

#[async_trait]
impl ApiKeyRepo for MeteredRepo<dyn ApiKeyRepo> {
    async fn create(&self, key: ApiKey) -> Result<ApiKey> {
        self.timed("create", self.inner.create(key)).await
    }
    async fn get(&self, project_id: &str, id: &str) -> Result<Option<ApiKey>> {
        self.timed("get", self.inner.get(project_id, id)).await
    }
    async fn list(&self, project_id: &str) -> Result<Vec<ApiKey>> {
        self.timed("list", self.inner.list(project_id)).await
    }
    async fn delete(&self, project_id: &str, id: &str) -> Result<bool> {
        self.timed("delete", self.inner.delete(project_id, id))
            .await
    }
    async fn delete_project(&self, project_id: &str) -> Result<()> {
        self.timed("delete_project", self.inner.delete_project(project_id))
            .await
    }
}

#[async_trait]
impl PushSubscriptionRepo for MeteredRepo<dyn PushSubscriptionRepo> {
    async fn put(&self, sub: PushSubscription) -> Result<PushSubscription> {
        self.timed("put", self.inner.put(sub)).await
    }
    async fn get(&self, id: &str) -> Result<Option<PushSubscription>> {
        self.timed("get", self.inner.get(id)).await
    }
    async fn list(&self) -> Result<Vec<PushSubscription>> {
        self.timed("list", self.inner.list()).await
    }
    async fn delete(&self, id: &str) -> Result<bool> {
        self.timed("delete", self.inner.delete(id)).await
    }
}
