//! The ports: what the domain needs from the outside world, one trait each.
//!
//! Adapters (`maestro-memory`, `maestro-fs`, `maestro-redis`, `maestro-supabase`) implement
//! them; `maestro-testkit` holds the one contract suite every adapter must pass. Each doc
//! comment states the guarantees an adapter must give (ordering, delivery, atomicity).

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::Stream;
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, Result};
use crate::events::DomainEvent;
use crate::model::{
    EntityType, JsonObject, MailMessage, MailMessageType, Millis, Ordering, Project, Session,
    SessionStatus, Task, TaskStatus, TeamMember,
};

/// A boxed, owned stream.
pub type BoxStream<T> = Pin<Box<dyn Stream<Item = T> + Send + 'static>>;

/// A change applied to one record inside a repository's atomic read-modify-write.
///
/// It may be called more than once (adapters with optimistic concurrency retry it on a
/// conflicting write), so it must only depend on the record it is given. Returning an error
/// aborts the update and leaves the record unchanged.
/// A mutator must not change the record's id (nor a team member's `projectId`); adapters
/// refuse such an update.
pub type Mutator<'a, T> = &'a (dyn Fn(&mut T) -> Result<()> + Send + Sync);

// ---------------------------------------------------------------------------------------------
// Event bus
// ---------------------------------------------------------------------------------------------

/// An event as the bus carries it: the event and, when its project's [`EventLog`] recorded
/// it, its id there (which clients resume from).
#[derive(Debug, Clone, PartialEq)]
pub struct BusEvent {
    pub event: DomainEvent,
    pub id: Option<EventId>,
}

impl BusEvent {
    /// An event the log did not record.
    pub fn unlogged(event: DomainEvent) -> Self {
        Self { event, id: None }
    }
}

impl std::ops::Deref for BusEvent {
    type Target = DomainEvent;

    fn deref(&self) -> &DomainEvent {
        &self.event
    }
}

/// What a subscriber receives.
#[derive(Debug, Clone, PartialEq)]
pub enum BusMessage {
    /// The next event.
    Event(Arc<BusEvent>),
    /// This subscriber fell behind and `n` events were dropped for it (never hidden).
    Lagged(u64),
}

/// Publish/subscribe of domain events.
///
/// Guarantees:
/// - **Delivery**: an event published on this process reaches every subscriber that existed
///   when `publish` was called, and is already queued for each of them when `publish` returns
///   (so a subscriber that forwards to a socket sees it before the HTTP response is written).
///   Distributed adapters also deliver events published by other processes, never twice.
/// - **Ordering**: each subscriber sees the events of one publisher in publish order.
/// - **Slow subscribers**: buffers are bounded; a subscriber that falls behind loses the oldest
///   events and receives [`BusMessage::Lagged`] with the count instead. `publish` never waits
///   for a subscriber.
/// - **Failure**: local delivery never depends on a backend. A distributed bus that cannot
///   reach its backend still delivers locally, returns `Ok`, and counts and logs the failure;
///   events of other processes published meanwhile are lost to this process.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EventBus: Send + Sync {
    /// Publishes one event (with its log id, if any) to all current subscribers; the id
    /// reaches every subscriber, in this process and others, unchanged.
    async fn publish_event(&self, event: BusEvent) -> Result<()>;

    /// Publishes an event that has no log id yet ([`EventBus::publish_event`]); a logging
    /// decorator ([`crate::services::LoggedBus`]) records it first.
    async fn publish(&self, event: DomainEvent) -> Result<()> {
        self.publish_event(BusEvent::unlogged(event)).await
    }

    /// Subscribes to every event published from now on. Dropping the stream unsubscribes.
    fn subscribe(&self) -> BoxStream<BusMessage>;
}

// ---------------------------------------------------------------------------------------------
// Repositories
// ---------------------------------------------------------------------------------------------

/// Projects.
///
/// Guarantees shared by every repository trait:
/// - `create` fails with [`DomainError::Conflict`] when the id exists, and stores nothing then.
/// - `update` is an atomic read-modify-write of one record: concurrent updates of the same
///   record are serialised (or retried), so none is lost; a mutator error or a failed write
///   leaves the stored record as it was; a missing record is [`DomainError::NotFound`]. When
///   the mutator leaves the record equal to what it was, nothing is written.
/// - Reads return owned snapshots; nothing a caller does to them changes the store.
/// - Listings are sorted by creation time ascending, ties by id.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ProjectRepo: Send + Sync {
    async fn create(&self, project: Project) -> Result<Project>;
    async fn get(&self, id: &str) -> Result<Option<Project>>;
    async fn list(&self) -> Result<Vec<Project>>;
    async fn update<'a>(&self, id: &str, change: Mutator<'a, Project>) -> Result<Project>;
    /// Returns whether a record was deleted.
    async fn delete(&self, id: &str) -> Result<bool>;
}

/// Filter of [`TaskRepo::list`]; every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskFilter {
    pub project_id: Option<String>,
    pub status: Option<TaskStatus>,
    /// `Some(None)` = root tasks only; `Some(Some(id))` = children of `id`.
    pub parent_id: Option<Option<String>>,
    /// Tasks whose `sessionIds` contains this id.
    pub session_id: Option<String>,
}

/// Tasks. Same guarantees as [`ProjectRepo`]; listing by `project_id` costs work proportional
/// to that project, not to the whole store.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait TaskRepo: Send + Sync {
    async fn create(&self, task: Task) -> Result<Task>;
    async fn get(&self, id: &str) -> Result<Option<Task>>;
    async fn list(&self, filter: &TaskFilter) -> Result<Vec<Task>>;
    async fn update<'a>(&self, id: &str, change: Mutator<'a, Task>) -> Result<Task>;
    async fn delete(&self, id: &str) -> Result<bool>;
}

/// Filter of [`SessionRepo::list`]; every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionFilter {
    pub project_id: Option<String>,
    /// Sessions whose `taskIds` contains this id.
    pub task_id: Option<String>,
    /// Sessions whose status is one of these (`Some(vec![])` matches nothing).
    pub statuses: Option<Vec<SessionStatus>>,
}

/// Sessions. Same guarantees as [`ProjectRepo`]; listings sorted by `startedAt`.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SessionRepo: Send + Sync {
    async fn create(&self, session: Session) -> Result<Session>;
    async fn get(&self, id: &str) -> Result<Option<Session>>;
    async fn list(&self, filter: &SessionFilter) -> Result<Vec<Session>>;
    async fn update<'a>(&self, id: &str, change: Mutator<'a, Session>) -> Result<Session>;
    async fn delete(&self, id: &str) -> Result<bool>;
}

/// Inbox query of [`MailRepo::inbox`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxQuery {
    pub project_id: String,
    /// The recipient: mails addressed to it, and broadcasts of the project not sent by it.
    pub session_id: String,
    pub kind: Option<MailMessageType>,
    /// Only mails with `createdAt > since`.
    pub since: Option<Millis>,
}

impl InboxQuery {
    /// Whether `mail` belongs to this inbox (the same rule every adapter applies).
    pub fn matches(&self, mail: &MailMessage) -> bool {
        mail.project_id == self.project_id
            && match &mail.to_session_id {
                Some(to) => *to == self.session_id,
                None => mail.from_session_id != self.session_id,
            }
            && self.kind.is_none_or(|k| k == mail.kind)
            && self.since.is_none_or(|s| mail.created_at > s)
    }
}

/// Mail messages. `create` fails with Conflict on a duplicate id. `inbox` and `list` are sorted
/// by `createdAt` ascending (ties by id). A mail is visible to `inbox` as soon as `create`
/// returns.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait MailRepo: Send + Sync {
    async fn create(&self, mail: MailMessage) -> Result<MailMessage>;

    /// Stores `mail` with a `createdAt` of at least its own that is also greater than every
    /// `createdAt` stored in its project, assigned atomically with the store (Redis: one
    /// script), and returns the stored mail. Shared stores need this so mail from several
    /// server processes still appears in `createdAt` order and `since`-polling never skips
    /// one. The default is `create`: enough for a store only one process writes, where the
    /// mail service already stamps in store order.
    async fn create_stamped(&self, mail: MailMessage) -> Result<MailMessage> {
        self.create(mail).await
    }

    /// [`MailRepo::create_stamped`] for several mails, in order, with one result each (one
    /// failing does not fail the others). `Err` only when nothing could be tried. Remote
    /// stores implement it with one round trip; the default stores them one by one.
    async fn create_stamped_many(
        &self,
        mails: Vec<MailMessage>,
    ) -> Result<Vec<Result<MailMessage>>> {
        let mut out = Vec::with_capacity(mails.len());
        for m in mails {
            out.push(self.create_stamped(m).await);
        }
        Ok(out)
    }

    async fn get(&self, id: &str) -> Result<Option<MailMessage>>;
    async fn delete(&self, id: &str) -> Result<bool>;
    async fn inbox(&self, query: &InboxQuery) -> Result<Vec<MailMessage>>;
    /// All mail, or all mail of one project.
    async fn list<'a>(&self, project_id: Option<&'a str>) -> Result<Vec<MailMessage>>;

    /// Whether [`MailRepo::wait_inbox`] blocks natively (e.g. Redis `XREAD BLOCK`), so that a
    /// mail stored by another server process wakes a waiter here. When `false`, the mail
    /// service waits on the event bus instead.
    fn supports_blocking_wait(&self) -> bool {
        false
    }

    /// Blocks until `query` matches at least one mail or `timeout` passes, then returns the
    /// matching mails (possibly none). Only called when `supports_blocking_wait` is `true`.
    async fn wait_inbox(&self, query: &InboxQuery, timeout: Duration) -> Result<Vec<MailMessage>> {
        let _ = timeout;
        self.inbox(query).await
    }
}

/// Custom team members and the override records of the built-in ones, per project.
///
/// Same guarantees as [`ProjectRepo`] for custom members. Overrides are partial JSON objects
/// laid over a built-in member; `update_override` is an atomic read-modify-write that starts
/// from `{}` when there is none yet.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait TeamMemberRepo: Send + Sync {
    async fn create(&self, member: TeamMember) -> Result<TeamMember>;
    async fn get(&self, project_id: &str, id: &str) -> Result<Option<TeamMember>>;
    /// Custom members of a project, sorted by `createdAt` then id.
    async fn list(&self, project_id: &str) -> Result<Vec<TeamMember>>;
    async fn update<'a>(
        &self,
        project_id: &str,
        id: &str,
        change: Mutator<'a, TeamMember>,
    ) -> Result<TeamMember>;
    async fn delete(&self, project_id: &str, id: &str) -> Result<bool>;

    async fn get_override(&self, project_id: &str, id: &str) -> Result<Option<JsonObject>>;
    async fn update_override<'a>(
        &self,
        project_id: &str,
        id: &str,
        change: Mutator<'a, JsonObject>,
    ) -> Result<JsonObject>;
    async fn delete_override(&self, project_id: &str, id: &str) -> Result<bool>;

    /// Removes every custom member and override of a project (project deletion).
    async fn delete_project(&self, project_id: &str) -> Result<()>;
}

/// UI orderings. `save` replaces the stored ordering of its (project, entity type).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait OrderingRepo: Send + Sync {
    async fn get(&self, project_id: &str, entity_type: EntityType) -> Result<Option<Ordering>>;
    async fn save(&self, ordering: Ordering) -> Result<Ordering>;
    /// Removes both orderings of a project (project deletion).
    async fn delete_project(&self, project_id: &str) -> Result<()>;
}

/// Who a project is shared with, and the user accounts one may share it with.
///
/// Guarantees: `list` returns every member of a project once (its owner included), sorted by
/// `added_at`; `put` inserts a member or replaces the role of an existing one (`added_at`
/// kept) and returns the stored member; `remove` answers whether the user was a member;
/// `user_by_email` (exact email) and `user_by_id` find an account, `None` when there is none
/// or the store has no user accounts. Writes are not conditional: rules such as "a project
/// keeps an owner" are the caller's (the membership service checks them).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait MemberRepo: Send + Sync {
    async fn list(&self, project_id: &str) -> Result<Vec<crate::model::ProjectMember>>;
    async fn get(
        &self,
        project_id: &str,
        user_id: &str,
    ) -> Result<Option<crate::model::ProjectMember>>;
    async fn put(&self, member: crate::model::ProjectMember)
    -> Result<crate::model::ProjectMember>;
    async fn remove(&self, project_id: &str, user_id: &str) -> Result<bool>;
    async fn user_by_email(&self, email: &str) -> Result<Option<crate::model::UserRef>>;
    async fn user_by_id(&self, user_id: &str) -> Result<Option<crate::model::UserRef>>;
}

/// Project API keys, by project and key id; keys are stored hashed ([`crate::model::ApiKey`]).
///
/// Guarantees: `create` stores a key whole or not at all and refuses an id already stored
/// (`Conflict`); `get` finds a key of a project by id; `list` returns a project's keys sorted
/// by `created_at`, then id; `delete` answers whether the key existed, after which `get` no
/// longer finds it on any instance sharing the store; `delete_project` removes every key of a
/// project. The store never sees a key in clear.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ApiKeyRepo: Send + Sync {
    async fn create(&self, key: crate::model::ApiKey) -> Result<crate::model::ApiKey>;
    async fn get(&self, project_id: &str, id: &str) -> Result<Option<crate::model::ApiKey>>;
    async fn list(&self, project_id: &str) -> Result<Vec<crate::model::ApiKey>>;
    async fn delete(&self, project_id: &str, id: &str) -> Result<bool>;
    async fn delete_project(&self, project_id: &str) -> Result<()>;
}

// ---------------------------------------------------------------------------------------------
// Presence
// ---------------------------------------------------------------------------------------------

/// One agent heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Heartbeat {
    pub session_id: String,
    pub project_id: String,
    pub last_seen: Millis,
}

/// A live session as presence sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PresenceEntry {
    pub session_id: String,
    pub project_id: String,
    pub last_seen: Millis,
    pub expires_at: Millis,
}

/// Agent liveness by heartbeats with a time-to-live.
///
/// Guarantees:
/// - A session is alive from a heartbeat until `ttl` after its latest heartbeat.
/// - `expirations` yields the id of every session whose TTL lapsed without a new heartbeat,
///   at least once per lapse, soon after it lapsed (adapters reconcile missed notifications,
///   so consumers must be idempotent). A `remove`d session produces no expiration.
/// - With several server processes each one may see the same expiration; consumers make
///   their reaction exactly-once through an atomic conditional update. An expiration may also
///   arrive for a session that heartbeated again just after its TTL lapsed; consumers must
///   tolerate that.
/// - `PresenceEntry::expires_at` is the last heartbeat's `last_seen` plus its `ttl`.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Presence: Send + Sync {
    async fn heartbeat(&self, beat: &Heartbeat, ttl: Duration) -> Result<()>;
    async fn is_alive(&self, session_id: &str) -> Result<bool>;
    /// Live sessions, sorted by session id.
    async fn alive(&self) -> Result<Vec<PresenceEntry>>;
    /// Forgets a session without reporting an expiration (clean shutdown, deletion).
    async fn remove(&self, session_id: &str) -> Result<()>;
    /// Session ids whose presence expired, from now on.
    fn expirations(&self) -> BoxStream<String>;
}

// ---------------------------------------------------------------------------------------------
// Locks
// ---------------------------------------------------------------------------------------------

/// Proof of holding a lock: the resource and the random owner token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub resource: String,
    pub token: String,
}

/// Mutual exclusion with a time-to-live (distributed where the adapter is).
///
/// Guarantees:
/// - At most one live lease per resource at any time.
/// - A lease lapses `ttl` after acquisition or its last successful `extend`; then anybody may
///   acquire the resource.
/// - `release` and `extend` act only for the current owner (token compare-and-act); with a
///   lapsed or foreign lease they return `false` and change nothing.
///
/// Fenced leases (`acquire_fenced`, `fenced_holder`, `release_fenced`; what task claims are
/// built on) are named by their owner instead of a random token, and carry a **fencing
/// token**:
/// - At most one owner per resource at any time; the owner acquiring again renews its lease
///   (the TTL starts over) and keeps its fence.
/// - Every time the resource is acquired afresh (free, released, or lapsed), its fence is
///   strictly greater than every fence handed out for that resource before — across
///   instances on Redis (a counter that never expires), for the process's lifetime in memory.
/// - TTLs run on the lock's clock (the Redis server's, the process's): a holder that stalls
///   past its TTL may still believe it holds the resource. That is what the fence is for: a
///   store that refuses writes carrying a smaller fence than the current one stays correct
///   whatever the clocks do. Remaining times (`ttl_left`) are the lock's view, not a deadline
///   on the caller's clock.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Lock: Send + Sync {
    /// Tries once; `None` if somebody else holds the resource.
    async fn try_acquire(&self, resource: &str, ttl: Duration) -> Result<Option<Lease>>;
    async fn release(&self, lease: &Lease) -> Result<bool>;
    async fn extend(&self, lease: &Lease, ttl: Duration) -> Result<bool>;
    /// Acquires `resource` for `owner` (or renews `owner`'s lease), or reports who holds it.
    async fn acquire_fenced(&self, resource: &str, owner: &str, ttl: Duration) -> Result<Fenced>;
    /// The live fenced lease of `resource`, if any.
    async fn fenced_holder(&self, resource: &str) -> Result<Option<FencedLease>>;
    /// Releases `resource` if `owner` holds it; `false` (and no change) otherwise.
    async fn release_fenced(&self, resource: &str, owner: &str) -> Result<bool>;
    /// How many fenced leases are live now, on every process sharing the lock (a lapsed one
    /// is never counted, released or not).
    async fn live_fenced(&self) -> Result<usize>;
}

/// A live fenced lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FencedLease {
    pub owner: String,
    /// The fencing token: greater for every new acquisition of the resource.
    pub fence: u64,
    /// How long the lease still lives, as the lock sees it.
    pub ttl_left: Duration,
}

/// The outcome of [`Lock::acquire_fenced`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fenced {
    /// The caller holds the lease now (`renewed`: it already did, with the same fence).
    Granted { lease: FencedLease, renewed: bool },
    /// Somebody else does.
    Held(FencedLease),
}

/// Runs `work` while holding `resource`: retries acquisition for up to `wait` (then
/// [`DomainError::Unavailable`]), and releases on every exit path of `work`, error included.
/// If the caller's future is dropped mid-way, the lease lapses after `ttl`.
pub async fn with_lock<T, F, Fut>(
    lock: &dyn Lock,
    resource: &str,
    ttl: Duration,
    wait: Duration,
    work: F,
) -> Result<T>
where
    F: FnOnce() -> Fut + Send,
    Fut: std::future::Future<Output = Result<T>> + Send,
{
    let deadline = tokio::time::Instant::now() + wait;
    let mut pause = Duration::from_millis(2);
    let lease = loop {
        if let Some(lease) = lock.try_acquire(resource, ttl).await? {
            break lease;
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(DomainError::Unavailable(format!(
                "lock '{resource}' is busy; gave up after {} ms",
                wait.as_millis()
            )));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(50));
    };
    let outcome = work().await;
    match lock.release(&lease).await {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            resource,
            "lock lapsed before release; work ran past its ttl"
        ),
        Err(e) => tracing::warn!(resource, error = %e, "lock release failed; it will lapse"),
    }
    outcome
}

// ---------------------------------------------------------------------------------------------
// Blobs
// ---------------------------------------------------------------------------------------------

/// Opaque bytes under keys (large session documents).
///
/// Guarantees: `put` replaces the whole content of a key atomically (a concurrent `get` sees
/// the old or the new bytes, never a mix) and the content is durable when it returns; `get`
/// of a missing key is `None`; `delete` returns whether something was deleted.
#[async_trait]
pub trait BlobStore: Send + Sync {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<()>;
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;
    async fn delete(&self, key: &str) -> Result<bool>;
}

/// Checks a blob key: `/`-separated relative path whose segments match `^[A-Za-z0-9._-]+$`
/// (not `.` or `..`), at most 1024 bytes; anything else is a `Validation` error before any I/O.
pub fn validate_blob_key(key: &str) -> Result<()> {
    let ok = !key.is_empty()
        && key.len() <= 1024
        && key.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        });
    if ok {
        Ok(())
    } else {
        Err(DomainError::invalid_field(
            "key",
            format!("invalid blob key '{key}'"),
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Auth
// ---------------------------------------------------------------------------------------------

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// No authentication configured and the caller is on loopback: the single local user.
    Local,
    /// A server-wide credential (the configured API token or the service-role key).
    Service,
    /// A signed-in user (Supabase Auth), by user id, with the verified access token so the
    /// server can act as that user (row-level security applies).
    User {
        id: String,
        email: Option<String>,
        access_token: AccessToken,
        /// When the token stops being valid (ms since the epoch); a socket opened with it is
        /// closed then. `None`: it does not expire.
        expires_at: Option<crate::model::Millis>,
    },
    /// An agent, by the session token the server minted when it spawned the session: acts on
    /// that session's project only, while the session has not ended.
    Session {
        session_id: String,
        project_id: String,
    },
    /// An agent started outside spawn, by a project API key: like a session token, on that
    /// project only, until the key is revoked.
    ApiKey {
        key_id: String,
        project_id: String,
        team_member_id: Option<String>,
    },
}

impl Principal {
    /// Whether this principal sees every project (the local user and server credentials).
    pub fn is_unrestricted(&self) -> bool {
        matches!(self, Self::Local | Self::Service)
    }
}

/// A verified bearer token; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(pub String);

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

/// Why a credential was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthRejection {
    /// A token is required and none was given.
    Missing,
    /// The token is malformed, has a bad signature or the wrong audience/issuer.
    Invalid(String),
    /// The token has expired.
    Expired,
}

impl AuthRejection {
    /// The message clients see.
    pub fn message(&self) -> String {
        match self {
            Self::Missing => "authentication required".to_string(),
            Self::Invalid(why) => format!("invalid token: {why}"),
            Self::Expired => "token expired".to_string(),
        }
    }
}

impl From<AuthRejection> for DomainError {
    fn from(r: AuthRejection) -> Self {
        DomainError::Unauthorized(r.message())
    }
}

/// Authentication: who a bearer token belongs to. What that principal may then do on a
/// project is the domain's rule ([`crate::access`]), the same for every adapter.
///
/// Guarantees: `authenticate` never accepts a token it cannot verify, and answers
/// [`Principal::Local`] only when the adapter has no credentials configured at all.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Auth: Send + Sync {
    /// Resolves a bearer token (without the `Bearer ` prefix) to a principal.
    async fn authenticate<'a>(
        &self,
        bearer: Option<&'a str>,
    ) -> std::result::Result<Principal, AuthRejection>;
}

// ---------------------------------------------------------------------------------------------
// Time and identifiers
// ---------------------------------------------------------------------------------------------

/// Wall-clock time in epoch milliseconds.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> Millis;
}

/// New ids of the shape `<prefix>_<ms>_<rand>` (MODEL.md §2).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait IdGenerator: Send + Sync {
    fn generate(&self, prefix: &str, now_ms: Millis) -> String;
}

mod event_log;
#[cfg(any(test, feature = "mocks"))]
pub use event_log::MockEventLog;
pub use event_log::{EventId, EventLog, Gap, LoggedEvent, Replay, Retention};

mod agent;
pub use agent::{
    Manifest, ManifestGenerator, ManifestRequest, ModalPage, ModalPages, PendingModal, SkillCatalog,
};
#[cfg(any(test, feature = "mocks"))]
pub use agent::{MockManifestGenerator, MockModalPages, MockSkillCatalog};

mod idempotency;
#[cfg(any(test, feature = "mocks"))]
pub use idempotency::MockIdempotencyStore;
pub use idempotency::{Claim, IdempotencyStore, RecordedResponse};

mod push;
#[cfg(any(test, feature = "mocks"))]
pub use push::{MockPushSender, MockPushSubscriptionRepo};
pub use push::{PushDelivery, PushMessage, PushSender, PushSubscriptionRepo, Urgency};
