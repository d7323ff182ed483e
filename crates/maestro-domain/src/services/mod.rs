//! Application services: the use cases of API.md, depending only on the ports.
//!
//! [`Services`] bundles one service per entity around a shared [`Context`] (the ports, host
//! facts and the mail clock). Every mutation goes through a repository's atomic `update`, so
//! concurrent requests never lose each other's changes, and every use case publishes its
//! events in the order of EVENTS.md §5 before it returns.

mod agent;
mod api_key;
mod claim;
mod flows;
mod links;
mod mail;
mod member;
mod ordering;
mod project;
mod session;
mod spawn;
mod stream;
mod task;
mod team_member;

use crate::error::{DomainError, Result as DomainResult};
use std::sync::atomic::{AtomicI64, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex};

pub use agent::{AgentPorts, AgentService, Beat, DEFAULT_MODAL_TITLE, HEARTBEAT_TTL, ShowModal};
pub use api_key::{ApiKeyService, MAX_API_KEY_NAME, NewApiKey};
pub use claim::{CLAIM_TTL_RANGE, Claim, ClaimService, DEFAULT_CLAIM_TTL};
pub use flows::{PHONE_SENDER, ProjectSnapshot, Reply};
pub use mail::{
    DEFAULT_WAIT_TIMEOUT_MS, InboxParams, MAX_SUBJECT_CHARS, MAX_WAITS_PER_SESSION, MailService,
    SendMail, WAIT_TIMEOUT_RANGE, WaitParams,
};
pub use member::{Actor, AddMember, MemberService};
pub use ordering::OrderingService;

pub use project::{NewProject, ProjectPatch, ProjectService};
pub use session::{
    DocInput, MAX_DOC_CONTENT, MAX_SESSION_EVENTS, MAX_TIMELINE_ENTRIES, MAX_TIMELINE_TYPE,
    NewSession, SessionPatch, SessionQuery, SessionService, TimelineInput,
};
pub use spawn::{
    FLAG_ENV_KEYS, SECRET_ENV_KEYS, SpawnInput, SpawnOutcome, SpawnService, SpawnSettings,
};
pub use stream::{EventStream, KeyedLocks, LoggedBus, MAX_REPLAY};
pub use task::{NewTask, TaskDoc, TaskPatch, TaskService};
pub use team_member::{NewTeamMember, TeamMemberPatch, TeamMemberService};

use crate::events::DomainEvent;
use crate::model::Millis;
use crate::ports::{
    Clock, EventBus, IdGenerator, MailRepo, OrderingRepo, ProjectRepo, SessionRepo, TaskRepo,
    TeamMemberRepo,
};

/// The adapters a [`Services`] runs on.
#[derive(Clone)]
pub struct Ports {
    pub projects: Arc<dyn ProjectRepo>,
    pub tasks: Arc<dyn TaskRepo>,
    pub sessions: Arc<dyn SessionRepo>,
    pub mail: Arc<dyn MailRepo>,
    pub team_members: Arc<dyn TeamMemberRepo>,
    pub orderings: Arc<dyn OrderingRepo>,
    pub bus: Arc<dyn EventBus>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdGenerator>,
}

impl Ports {
    /// The repositories among these ports.
    pub fn repositories(&self) -> Repositories {
        Repositories {
            projects: self.projects.clone(),
            tasks: self.tasks.clone(),
            sessions: self.sessions.clone(),
            mail: self.mail.clone(),
            team_members: self.team_members.clone(),
            orderings: self.orderings.clone(),
        }
    }

    /// Ports from a bundle of repositories plus the event bus, clock and id generator.
    pub fn new(
        repos: Repositories,
        bus: Arc<dyn EventBus>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
    ) -> Self {
        Self {
            projects: repos.projects,
            tasks: repos.tasks,
            sessions: repos.sessions,
            mail: repos.mail,
            team_members: repos.team_members,
            orderings: repos.orderings,
            bus,
            clock,
            ids,
        }
    }
}

/// The six repositories, e.g. acting as one signed-in user.
#[derive(Clone)]
pub struct Repositories {
    pub projects: Arc<dyn ProjectRepo>,
    pub tasks: Arc<dyn TaskRepo>,
    pub sessions: Arc<dyn SessionRepo>,
    pub mail: Arc<dyn MailRepo>,
    pub team_members: Arc<dyn TeamMemberRepo>,
    pub orderings: Arc<dyn OrderingRepo>,
}

/// Facts about the machine the server runs on, stamped into new sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostInfo {
    pub hostname: String,
    /// Node.js platform id: `darwin`, `linux`, `win32`, …
    pub platform: String,
}

impl HostInfo {
    /// Maps Rust's `std::env::consts::OS` to the Node.js platform id the clients expect.
    pub fn node_platform(rust_os: &str) -> String {
        match rust_os {
            "macos" => "darwin",
            "windows" => "win32",
            other => other,
        }
        .to_string()
    }
}

/// Shared state of all services.
pub struct Context {
    pub ports: Ports,
    pub host: HostInfo,
    /// The caller's restriction, for services restricted to one caller
    /// ([`Services::restricted`]); `None`: unrestricted.
    access: Option<Arc<crate::access::Access>>,
    /// Process-wide state shared by every scoped copy of the services.
    shared: Arc<Shared>,
}

/// State that must be one per process even when services are scoped per user.
struct Shared {
    /// Last mail `createdAt` issued, to keep them strictly increasing (DEFECTS C2).
    mail_stamp: AtomicI64,
    /// Held from stamping a mail to storing it, so mails become visible in `createdAt` order
    /// and a reader polling with its last `createdAt` as `since` cannot skip one.
    mail_order: tokio::sync::Mutex<()>,
    /// Flips to `true` on shutdown; pending mail waits answer `[]` at once.
    shutdown: tokio::sync::watch::Sender<bool>,
    /// Pending mail waits per session (DEFECTS R6: capped).
    waits: Mutex<std::collections::HashMap<String, usize>>,
    /// Most mail waits pending at once across all sessions.
    max_waits: std::sync::atomic::AtomicUsize,
    /// Mail waiting to be stamped and stored; flushed in batches under `mail_order`.
    mail_queue: Mutex<Vec<PendingMail>>,
}

/// One mail waiting in [`Shared::mail_queue`] (`id` and `createdAt` are set when stamped).
pub(crate) struct PendingMail {
    pub draft: crate::model::MailMessage,
    pub reply: tokio::sync::oneshot::Sender<DomainResult<crate::model::MailMessage>>,
}

/// Default of the global mail-wait cap ([`Services::set_max_mail_waits`]).
pub const DEFAULT_MAX_MAIL_WAITS: usize = 1024;

impl Context {
    pub fn now(&self) -> Millis {
        self.ports.clock.now_ms()
    }

    pub fn new_id(&self, prefix: &str) -> String {
        self.ports.ids.generate(prefix, self.now())
    }

    /// A timestamp for a new mail: now, or one more than the last one issued.
    fn next_mail_stamp(&self) -> Millis {
        let now = self.now();
        let mut last = self.shared.mail_stamp.load(AtomicOrdering::SeqCst);
        loop {
            let next = now.max(last + 1);
            match self.shared.mail_stamp.compare_exchange(
                last,
                next,
                AtomicOrdering::SeqCst,
                AtomicOrdering::SeqCst,
            ) {
                Ok(_) => return next,
                Err(actual) => last = actual,
            }
        }
    }

    /// Becomes `true` when the server starts shutting down.
    pub fn shutdown_signal(&self) -> tokio::sync::watch::Receiver<bool> {
        self.shared.shutdown.subscribe()
    }

    /// Registers one pending mail wait of `session_id`; `None` when it already has
    /// `limit`. The wait counts until the returned guard is dropped.
    /// `Err(TooManyRequests)` when the session already has `limit` or the server its global
    /// maximum.
    pub(crate) fn begin_wait(
        self: &Arc<Self>,
        session_id: &str,
        limit: usize,
    ) -> DomainResult<WaitSlot> {
        let mut waits = self.shared.waits.lock().unwrap_or_else(|p| p.into_inner());
        let total: usize = waits.values().sum();
        let max = self
            .shared
            .max_waits
            .load(std::sync::atomic::Ordering::Relaxed);
        if total >= max {
            return Err(DomainError::TooManyRequests(format!(
                "the server already has {max} mail waits pending; retry later"
            )));
        }
        let n = waits.entry(session_id.to_string()).or_insert(0);
        if *n >= limit {
            return Err(DomainError::TooManyRequests(format!(
                "session '{session_id}' already has {limit} mail waits pending"
            )));
        }
        *n += 1;
        Ok(WaitSlot {
            ctx: self.clone(),
            session_id: session_id.to_string(),
        })
    }

    /// Stamps and stores `draft` (strictly increasing `createdAt`, DEFECTS C2; visible in
    /// `createdAt` order). Concurrent senders are group-committed: whoever takes the ordering
    /// lock stamps every queued mail and stores them with one
    /// [`MailRepo::create_stamped_many`](crate::ports::MailRepo::create_stamped_many) call,
    /// so a remote store costs one round trip per batch, not per mail. The flush runs in its
    /// own task, so a cancelled request never strands or half-stores anybody's mail.
    pub(crate) async fn store_mail(
        self: &Arc<Self>,
        draft: crate::model::MailMessage,
    ) -> DomainResult<crate::model::MailMessage> {
        let (reply, stored) = tokio::sync::oneshot::channel();
        self.shared
            .mail_queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(PendingMail { draft, reply });
        let ctx = self.clone();
        tokio::spawn(async move { ctx.flush_mail_queue().await });
        stored
            .await
            .unwrap_or_else(|_| Err(DomainError::Internal("mail store task ended".into())))
    }

    async fn flush_mail_queue(&self) {
        let _order = self.shared.mail_order.lock().await;
        let batch = std::mem::take(
            &mut *self
                .shared
                .mail_queue
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        if batch.is_empty() {
            return;
        }
        let (mut mails, replies): (Vec<_>, Vec<_>) =
            batch.into_iter().map(|p| (p.draft, p.reply)).unzip();
        for m in &mut mails {
            m.created_at = self.next_mail_stamp();
            m.id = self.ports.ids.generate("mail", m.created_at);
        }
        match self.ports.mail.create_stamped_many(mails).await {
            Ok(results) => {
                for (reply, r) in replies.into_iter().zip(results) {
                    let _ = reply.send(r);
                }
            }
            Err(e) => {
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }

    /// The project `id`, or `404 Project with id '<id>' not found`.
    pub(crate) async fn require_project(&self, id: &str) -> DomainResult<crate::model::Project> {
        self.ports
            .projects
            .get(id)
            .await?
            .ok_or_else(|| DomainError::not_found("Project", id))
    }

    /// The session `id` of project `project_id`, or `404 Session with id '<id>' not found`
    /// (also when it belongs to another project: no existence leak across projects).
    pub(crate) async fn require_session_in(
        &self,
        id: &str,
        project_id: &str,
    ) -> DomainResult<crate::model::Session> {
        match self.ports.sessions.get(id).await? {
            Some(s) if s.project_id == project_id => Ok(s),
            _ => Err(DomainError::not_found("Session", id)),
        }
    }

    /// For writes that bypass the repositories (presence, modal pages): `Ok` when the caller
    /// may do `need` on `project_id` (always, for unrestricted services).
    pub(crate) async fn authorize(
        &self,
        project_id: &str,
        need: crate::access::Need,
    ) -> DomainResult<()> {
        match &self.access {
            Some(access) => access.require(project_id, need).await,
            None => Ok(()),
        }
    }

    /// Publishes an event; a bus failure is logged, never fails the use case (EVENTS.md §1).
    pub async fn emit(&self, event: DomainEvent) {
        let name = event.name();
        if let Err(e) = self.ports.bus.publish(event).await {
            tracing::warn!(event = name, error = %e, "event publish failed");
        }
    }
}

/// All use cases.
#[derive(Clone)]
pub struct Services {
    ctx: Arc<Context>,
    pub projects: ProjectService,
    pub tasks: TaskService,
    pub sessions: SessionService,
    pub mail: MailService,
    pub team_members: TeamMemberService,
    pub orderings: OrderingService,
}

impl Services {
    pub fn new(ports: Ports, host: HostInfo) -> Self {
        let (shutdown, _) = tokio::sync::watch::channel(false);
        let shared = Arc::new(Shared {
            mail_stamp: AtomicI64::new(0),
            mail_order: tokio::sync::Mutex::new(()),
            max_waits: std::sync::atomic::AtomicUsize::new(DEFAULT_MAX_MAIL_WAITS),
            mail_queue: Mutex::new(Vec::new()),
            shutdown,
            waits: Mutex::new(std::collections::HashMap::new()),
        });
        Self::with_context(Arc::new(Context {
            ports,
            host,
            shared,
            access: None,
        }))
    }

    /// The same services on other repositories (e.g. acting as one signed-in user), sharing
    /// the event bus, clock, ids, mail ordering and shutdown signal of `self`.
    pub fn scoped(&self, repos: Repositories) -> Self {
        self.with_repos(repos, None)
    }

    /// The same services for one restricted caller: `repos` guarded by `access`
    /// ([`crate::access::guard`]), so every use case obeys the caller's role.
    pub fn restricted(&self, repos: Repositories, access: Arc<crate::access::Access>) -> Self {
        self.with_repos(crate::access::guard(repos, access.clone()), Some(access))
    }

    fn with_repos(&self, repos: Repositories, access: Option<Arc<crate::access::Access>>) -> Self {
        let base = &self.ctx.ports;
        Self::with_context(Arc::new(Context {
            ports: Ports::new(
                repos,
                base.bus.clone(),
                base.clock.clone(),
                base.ids.clone(),
            ),
            host: self.ctx.host.clone(),
            shared: self.ctx.shared.clone(),
            access,
        }))
    }

    /// Wires every service once; services that need another get it here, so no service
    /// constructs another.
    fn with_context(ctx: Arc<Context>) -> Self {
        let sessions = SessionService::new(ctx.clone());
        Self {
            projects: ProjectService::new(ctx.clone()),
            tasks: TaskService::new(ctx.clone(), sessions.clone()),
            sessions,
            mail: MailService::new(ctx.clone()),
            team_members: TeamMemberService::new(ctx.clone()),
            orderings: OrderingService::new(ctx.clone()),
            ctx,
        }
    }

    pub fn context(&self) -> &Arc<Context> {
        &self.ctx
    }

    pub fn ports(&self) -> &Ports {
        &self.ctx.ports
    }

    /// Caps the mail waits pending at once across all sessions (`MAX_MAIL_WAITS`); shared by
    /// every scoped copy of these services.
    pub fn set_max_mail_waits(&self, max: usize) {
        self.ctx
            .shared
            .max_waits
            .store(max.max(1), std::sync::atomic::Ordering::Relaxed);
    }

    /// Mail waits (long-polls) pending on this process, across all sessions.
    pub fn pending_mail_waits(&self) -> usize {
        let waits = self
            .ctx
            .shared
            .waits
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        waits.values().sum()
    }

    /// Starts shutting down: pending mail waits answer `[]` now (DEFECTS O5).
    pub fn begin_shutdown(&self) {
        self.ctx.shared.shutdown.send_replace(true);
    }
}

/// One pending mail wait; releases its place when dropped (also when the HTTP request is
/// cancelled).
pub(crate) struct WaitSlot {
    ctx: Arc<Context>,
    session_id: String,
}

impl Drop for WaitSlot {
    fn drop(&mut self) {
        let mut waits = self
            .ctx
            .shared
            .waits
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(n) = waits.get_mut(&self.session_id) {
            *n -= 1;
            if *n == 0 {
                waits.remove(&self.session_id);
            }
        }
    }
}

/// Remembers the record a mutator saw on its last (= committed) call, so a use case can
/// compare before and after of one atomic update.
pub(crate) struct Seen<T>(Mutex<Option<T>>);

impl<T: Clone> Seen<T> {
    pub(crate) fn new() -> Self {
        Self(Mutex::new(None))
    }

    pub(crate) fn keep(&self, value: &T) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(value.clone());
    }

    pub(crate) fn take(self) -> Option<T> {
        self.0.into_inner().unwrap_or_else(|p| p.into_inner())
    }
}

/// `s` trimmed, or `None` when blank or absent.
pub(crate) fn non_blank(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
pub(crate) mod testing;
