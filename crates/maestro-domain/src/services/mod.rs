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
mod hub;
mod inbox;
mod links;
mod mail;
mod member;
mod ordering;
mod project;
mod push;
mod session;
mod spawn;
mod stream;
mod task;
mod team_member;

use crate::error::{DomainError, Result as DomainResult};
use std::sync::{Arc, Mutex};

pub use agent::{AgentPorts, AgentService, Beat, DEFAULT_MODAL_TITLE, HEARTBEAT_TTL, ShowModal};
pub use api_key::{ApiKeyService, MAX_API_KEY_NAME, NewApiKey};
pub use claim::{CLAIM_TTL_RANGE, Claim, ClaimService, DEFAULT_CLAIM_TTL};
pub use flows::{ProjectSnapshot, Reply};
use hub::{AuthorizedMail, SystemPorts};
pub use hub::{DEFAULT_MAX_MAIL_WAITS, Hub};
pub use inbox::{
    FailedSession, INBOX_DEFAULT_WINDOW_MS, INBOX_MAX_MAIL, InboxQuery, InboxSource,
    PendingApproval, PersonInbox, PersonMail, WaitingAgent,
};
pub use mail::{
    DEFAULT_WAIT_TIMEOUT_MS, InboxParams, MAX_SUBJECT_CHARS, MAX_WAITS_PER_SESSION, MailService,
    PHONE_SENDER, SendMail, WAIT_TIMEOUT_RANGE, WaitParams,
};
pub use member::{Actor, AddMember, MemberService};
pub use ordering::OrderingService;

pub use project::{NewProject, ProjectPatch, ProjectService};
pub use push::{
    MAX_ENDPOINT_CHARS, MAX_MUTED_PROJECTS, NewPushSubscription, PushDispatcher, PushPorts,
    PushService, PushStats, PushingBus, RetryPolicy,
};
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

/// What one caller's use cases run on: that caller's ports (restricted repositories for a
/// restricted caller) and rights, next to the process-wide [`Hub`]. A context lives for one
/// request or socket event; nothing shared holds one ([`Hub`] explains how that is enforced).
pub struct Context {
    /// The caller's repositories, with the hub's bus, clock and ids.
    pub(crate) ports: Ports,
    /// The caller's restriction, for services restricted to one caller
    /// ([`Services::restricted`]); `None`: unrestricted.
    access: Option<Arc<crate::access::Access>>,
    /// Process-wide state shared by every restricted copy of the services.
    hub: Arc<Hub>,
}

impl Context {
    pub fn now(&self) -> Millis {
        self.ports.clock.now_ms()
    }

    pub fn new_id(&self, prefix: &str) -> String {
        self.ports.ids.generate(prefix, self.now())
    }

    /// Facts about this machine.
    pub fn host(&self) -> &HostInfo {
        self.hub.host()
    }

    /// The process-wide state (no caller's rights).
    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// Becomes `true` when the server starts shutting down.
    pub fn shutdown_signal(&self) -> tokio::sync::watch::Receiver<bool> {
        self.hub.shutdown_signal()
    }

    /// The rights decision for one mail, made for this caller: `Ok` when it may write mail to
    /// the draft's project. Only the result may enter the shared mail queue.
    pub(crate) async fn authorize_mail(
        &self,
        draft: crate::model::MailMessage,
    ) -> DomainResult<AuthorizedMail> {
        self.authorize(&draft.project_id, crate::access::Need::Write)
            .await?;
        Ok(AuthorizedMail::vouched(draft))
    }

    /// Decides this caller's right to send `draft`, then stores it through the hub's group
    /// commit ([`Hub::store_mail`]).
    pub(crate) async fn store_mail(
        &self,
        draft: crate::model::MailMessage,
    ) -> DomainResult<crate::model::MailMessage> {
        let mail = self.authorize_mail(draft).await?;
        self.hub.store_mail(mail).await
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

/// Marks the server's own services: what shared state (the HTTP edge's `AppState`, a
/// background task) may hold.
#[derive(Debug)]
pub enum System {}

/// Marks one caller's services: built per request or socket event, never held by anything
/// shared (the type keeps it out: a `Services<Caller>` is not a `Services<System>`, and only
/// the system services show their ports).
///
/// ```compile_fail,E0308
/// use maestro_domain::services::{Caller, Services};
/// fn keep(caller: Services<Caller>) -> Services {
///     caller // a caller's services cannot stand in for the server's
/// }
/// ```
///
/// ```compile_fail,E0599
/// use maestro_domain::services::{Caller, Services};
/// fn leak(caller: &Services<Caller>) {
///     let _ = caller.ports(); // nor hand out their ports
/// }
/// ```
#[derive(Debug)]
pub enum Caller {}

/// All use cases: the server's own ([`Services<System>`](System), the default) or one
/// caller's ([`Services<Caller>`](Caller), from [`Services::restricted`] or
/// [`Services::as_caller`]).
pub struct Services<S = System> {
    ctx: Arc<Context>,
    pub projects: ProjectService,
    pub tasks: TaskService,
    pub sessions: SessionService,
    pub mail: MailService,
    pub team_members: TeamMemberService,
    pub orderings: OrderingService,
    scope: std::marker::PhantomData<fn() -> S>,
}

impl<S> Clone for Services<S> {
    fn clone(&self) -> Self {
        // Every service is a handle on the context: wiring them again is a clone.
        with_context(self.ctx.clone())
    }
}

impl Services<System> {
    /// The server's own, unrestricted services on `ports`; their mail store is also the one
    /// the hub's group commit writes through for every caller.
    pub fn new(ports: Ports, host: HostInfo) -> Self {
        let hub = Arc::new(Hub::new(
            SystemPorts {
                mail: ports.mail.clone(),
                bus: ports.bus.clone(),
                clock: ports.clock.clone(),
                ids: ports.ids.clone(),
            },
            host,
        ));
        with_context(Arc::new(Context {
            ports,
            hub,
            access: None,
        }))
    }

    /// The same services for one restricted caller: `repos` guarded by `access`
    /// ([`crate::access::guard`]), so every use case obeys the caller's role. They share the
    /// hub of `self` (bus, clock, ids, mail ordering and group commit, waits, shutdown).
    pub fn restricted(
        &self,
        repos: Repositories,
        access: Arc<crate::access::Access>,
    ) -> Services<Caller> {
        let system = self.ctx.hub.system();
        with_context(Arc::new(Context {
            ports: Ports::new(
                crate::access::guard(repos, access.clone()),
                system.bus.clone(),
                system.clock.clone(),
                system.ids.clone(),
            ),
            hub: self.ctx.hub.clone(),
            access: Some(access),
        }))
    }

    /// These services for an unrestricted caller (the local user, a server credential).
    pub fn as_caller(&self) -> Services<Caller> {
        with_context(self.ctx.clone())
    }

    /// The server's own ports (never a caller's: only the system services show them).
    pub fn ports(&self) -> &Ports {
        &self.ctx.ports
    }

    /// Caps the mail waits pending at once across all sessions (`MAX_MAIL_WAITS`); shared by
    /// every restricted copy of these services.
    pub fn set_max_mail_waits(&self, max: usize) {
        self.ctx.hub.set_max_waits(max);
    }

    /// Mail waits (long-polls) pending on this process, across all sessions.
    pub fn pending_mail_waits(&self) -> usize {
        self.ctx.hub.pending_waits()
    }

    /// Starts shutting down: pending mail waits answer `[]` now (DEFECTS O5).
    pub fn begin_shutdown(&self) {
        self.ctx.hub.begin_shutdown();
    }
}

/// Wires every service once; services that need another get it here, so no service
/// constructs another.
fn with_context<S>(ctx: Arc<Context>) -> Services<S> {
    let sessions = SessionService::new(ctx.clone());
    Services {
        projects: ProjectService::new(ctx.clone()),
        tasks: TaskService::new(ctx.clone(), sessions.clone()),
        sessions,
        mail: MailService::new(ctx.clone()),
        team_members: TeamMemberService::new(ctx.clone()),
        orderings: OrderingService::new(ctx.clone()),
        ctx,
        scope: std::marker::PhantomData,
    }
}

impl<S> Services<S> {
    /// The context these services run in (the caller's, for a caller's services).
    pub fn context(&self) -> &Arc<Context> {
        &self.ctx
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
