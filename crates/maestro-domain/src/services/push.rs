//! Web Push to the person's devices (issue 27): what is pushed, to whom, and how a storm of
//! events becomes one notification.
//!
//! - **What:** an agent that needs input, an approval (modal) request, a failed session, and
//!   mail to the person ([`PHONE_SENDER`]) or to everyone. Nothing else.
//! - **To whom:** every subscription whose owner may read the event's project *at the time
//!   of the push*: a removed member, a revoked API key or an ended session's token gets
//!   nothing more. A device's muted projects and quiet hours are respected.
//! - **Once:** events are offered by [`PushingBus`] where they are published, which is one
//!   server process per event, so N instances sharing a bus still push each event once.
//! - **Coalescing:** each notification has a tag (one per session); notes queued while the
//!   sender is busy collapse to the newest per tag, the push service is given the same tag as
//!   its `Topic` (it replaces an undelivered one), and the service worker replaces a shown
//!   notification with the same tag.
//! - **Retries:** `429`, `5xx` and network failures are retried with exponential backoff
//!   (honouring `Retry-After`), unless a newer note for the same tag went out meanwhile;
//!   `404`/`410` drop the subscription.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::{Semaphore, mpsc};

use super::mail::PHONE_SENDER;
use crate::error::{DomainError, Result};
use crate::events::DomainEvent;
use crate::model::{PushKeys, PushOwner, PushSubscription, QuietHours};
use crate::ports::{
    ApiKeyRepo, BoxStream, BusEvent, BusMessage, Clock, EventBus, MemberRepo, Principal,
    PushDelivery, PushMessage, PushSender, PushSubscriptionRepo, SessionRepo, Urgency,
};

/// Longest accepted endpoint URL.
pub const MAX_ENDPOINT_CHARS: usize = 2048;
/// Most projects one device may mute.
pub const MAX_MUTED_PROJECTS: usize = 500;
/// Notes waiting for the sender; beyond this, new ones are dropped (and counted).
const QUEUE: usize = 4096;
/// Pushes in flight at once, over every subscription.
const IN_FLIGHT: usize = 32;
/// How long a push service keeps a note for an unreachable device.
const TTL_SECONDS: u32 = 24 * 3600;
/// Longest notification body, in characters.
const MAX_BODY_CHARS: usize = 280;

/// `POST /api/push/subscriptions`: the browser's `PushSubscription` JSON, plus this device's
/// settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewPushSubscription {
    pub endpoint: Option<String>,
    pub keys: Option<PushKeys>,
    pub muted_projects: Option<Vec<String>>,
    pub quiet_hours: Option<QuietHours>,
}

/// How often and how patiently a failed push is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// Wait before the second try; doubled for each next one.
    pub first_backoff: Duration,
    /// Longest wait, `Retry-After` included.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            first_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
        }
    }
}

/// Counters of what the sender did, since start.
#[derive(Debug, Default)]
pub struct PushStats {
    /// Pushes a push service accepted.
    pub delivered: AtomicU64,
    /// Subscriptions dropped on `404`/`410`.
    pub gone: AtomicU64,
    /// Pushes given up (refused, or out of retries).
    pub failed: AtomicU64,
    /// Second and later tries.
    pub retried: AtomicU64,
    /// Notes not queued because the queue was full.
    pub dropped: AtomicU64,
    /// Notes taken off the queue and fully handled (every push of it sent, given up, or
    /// left to a retry).
    pub handled: AtomicU64,
    /// Notes offered (queued).
    pub offered: AtomicU64,
}

/// What the service needs around it.
#[derive(Clone)]
pub struct PushPorts {
    pub subscriptions: Arc<dyn PushSubscriptionRepo>,
    pub sender: Arc<dyn PushSender>,
    /// Unrestricted: names, answer options, and whether a session token still counts.
    pub sessions: Arc<dyn SessionRepo>,
    /// Where a user's roles are; `None` on a server without user accounts.
    pub members: Option<Arc<dyn MemberRepo>>,
    /// Where API keys are; `None`: no key is valid.
    pub api_keys: Option<Arc<dyn ApiKeyRepo>>,
    pub clock: Arc<dyn Clock>,
}

/// A notification before it is addressed: the project it is about and what the service
/// worker is told.
#[derive(Debug, Clone, PartialEq)]
struct Note {
    project_id: String,
    tag: String,
    urgency: Urgency,
    payload: Value,
}

/// One action button of a notification.
#[derive(Debug, Clone, Serialize, PartialEq)]
struct Action {
    action: String,
    title: String,
}

struct Inner {
    ports: PushPorts,
    retry: RetryPolicy,
    queue: mpsc::Sender<DomainEvent>,
    stats: PushStats,
    /// Per (subscription, tag): how many pushes started, so a retry yields to a newer note.
    generations: Mutex<HashMap<(String, String), u64>>,
    slots: Arc<Semaphore>,
}

/// The Web Push use cases: subscriptions of the caller's devices, and the sender.
#[derive(Clone)]
pub struct PushService {
    inner: Arc<Inner>,
}

/// The sender's loop; run it once ([`PushDispatcher::run`]) on the runtime.
pub struct PushDispatcher {
    service: PushService,
    rx: mpsc::Receiver<DomainEvent>,
}

impl PushService {
    /// The service and its sender loop.
    pub fn new(ports: PushPorts, retry: RetryPolicy) -> (Self, PushDispatcher) {
        let (queue, rx) = mpsc::channel(QUEUE);
        let service = Self {
            inner: Arc::new(Inner {
                ports,
                retry,
                queue,
                stats: PushStats::default(),
                generations: Mutex::new(HashMap::new()),
                slots: Arc::new(Semaphore::new(IN_FLIGHT)),
            }),
        };
        (
            service.clone(),
            PushDispatcher {
                service: service.clone(),
                rx,
            },
        )
    }

    /// The VAPID public key browsers subscribe with.
    pub fn public_key(&self) -> String {
        self.inner.ports.sender.public_key()
    }

    pub fn stats(&self) -> &PushStats {
        &self.inner.stats
    }

    /// Registers (or updates) the caller's device. Answers the stored subscription and
    /// whether it is new.
    pub async fn subscribe(
        &self,
        caller: &Principal,
        input: NewPushSubscription,
    ) -> Result<(PushSubscription, bool)> {
        let endpoint = input
            .endpoint
            .map(|e| e.trim().to_string())
            .filter(|e| !e.is_empty())
            .ok_or_else(|| DomainError::invalid_field("endpoint", "endpoint is required"))?;
        if endpoint.chars().count() > MAX_ENDPOINT_CHARS {
            return Err(DomainError::invalid_field(
                "endpoint",
                format!("endpoint must be at most {MAX_ENDPOINT_CHARS} characters"),
            ));
        }
        self.inner.ports.sender.check_endpoint(&endpoint)?;
        let keys = input.keys.ok_or_else(|| {
            DomainError::invalid_field("keys", "keys.p256dh and keys.auth are required")
        })?;
        check_key(&keys.p256dh, "keys.p256dh", 65, Some(0x04))?;
        check_key(&keys.auth, "keys.auth", 16, None)?;
        let muted = input.muted_projects.unwrap_or_default();
        if muted.len() > MAX_MUTED_PROJECTS
            || muted
                .iter()
                .any(|p| p.is_empty() || p.chars().count() > 200)
        {
            return Err(DomainError::invalid_field(
                "mutedProjects",
                format!("mutedProjects must be at most {MAX_MUTED_PROJECTS} project ids"),
            ));
        }
        if let Some(q) = &input.quiet_hours {
            let valid = QuietHours::minute_of_day(&q.start).is_some()
                && QuietHours::minute_of_day(&q.end).is_some()
                && (-14 * 60..=14 * 60).contains(&q.utc_offset_minutes);
            if !valid {
                return Err(DomainError::invalid_field(
                    "quietHours",
                    "quietHours needs start and end as HH:MM and utcOffsetMinutes within ±840",
                ));
            }
        }
        let now = self.inner.ports.clock.now_ms();
        let id = PushSubscription::id_for(&endpoint);
        let existing = self.inner.ports.subscriptions.get(&id).await?;
        let mut muted_projects = muted;
        muted_projects.sort();
        muted_projects.dedup();
        let sub = PushSubscription {
            id,
            endpoint,
            keys,
            owner: owner_of(caller),
            muted_projects,
            quiet_hours: input.quiet_hours,
            created_at: existing.as_ref().map_or(now, |e| e.created_at),
            updated_at: now,
        };
        let stored = self.inner.ports.subscriptions.put(sub).await?;
        Ok((stored, existing.is_none()))
    }

    /// The caller's devices.
    pub async fn list(&self, caller: &Principal) -> Result<Vec<PushSubscription>> {
        let owner = owner_of(caller);
        let mut all = self.inner.ports.subscriptions.list().await?;
        all.retain(|s| s.owner == owner);
        Ok(all)
    }

    /// Removes the subscription of `endpoint` when it is the caller's (any, for an
    /// unrestricted caller); answers whether one was removed. Another principal's device is
    /// left alone and not disclosed: the answer is the same as for no device at all.
    pub async fn unsubscribe(&self, caller: &Principal, endpoint: &str) -> Result<bool> {
        let id = PushSubscription::id_for(endpoint.trim());
        let owner = owner_of(caller);
        match self.inner.ports.subscriptions.get(&id).await? {
            Some(s) if s.owner == owner || owner == PushOwner::Unrestricted => {
                self.inner.ports.subscriptions.delete(&id).await
            }
            _ => Ok(false),
        }
    }

    /// Queues `event` for pushing when it is one the person is told about; never waits.
    pub fn offer(&self, event: &DomainEvent) {
        if !is_pushed(event) {
            return;
        }
        match self.inner.queue.try_send(event.clone()) {
            Ok(()) => {
                self.inner.stats.offered.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                self.inner.stats.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    event = event.name(),
                    "push queue full; notification dropped"
                );
            }
        }
    }

    /// The note of an event, with names and answer options looked up.
    async fn note(&self, event: &DomainEvent) -> Option<Note> {
        let sessions = &self.inner.ports.sessions;
        let session_name = |id: String| async move {
            match sessions.get(&id).await {
                Ok(Some(s)) => s.name,
                _ => id,
            }
        };
        let base = |kind: &str, project: &str, session: &str| {
            json!({
                "v": 1,
                "kind": kind,
                "projectId": project,
                "sessionId": session,
            })
        };
        let (project_id, tag, urgency, mut payload, title, body, actions) = match event {
            DomainEvent::NotifyNeedsInput(n) => {
                let options = match sessions.get(&n.session_id).await {
                    Ok(Some(s)) => s.needs_input.and_then(|ni| ni.options).unwrap_or_default(),
                    _ => Vec::new(),
                };
                let first = options
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "Go ahead".into());
                let mut p = base("needs_input", &n.project_id, &n.session_id);
                p["options"] = json!(options);
                (
                    n.project_id.clone(),
                    format!("session:{}", n.session_id),
                    Urgency::High,
                    p,
                    format!("{} needs input", n.name),
                    n.message
                        .clone()
                        .unwrap_or_else(|| "Waiting for your answer".into()),
                    vec![
                        Action {
                            action: "answer:0".into(),
                            title: first,
                        },
                        Action {
                            action: "reply".into(),
                            title: "Reply".into(),
                        },
                    ],
                )
            }
            DomainEvent::SessionModal(m) => {
                let name = session_name(m.session_id.clone()).await;
                let mut p = base("modal", &m.project_id, &m.session_id);
                p["modalId"] = json!(m.modal_id);
                (
                    m.project_id.clone(),
                    format!("session:{}", m.session_id),
                    Urgency::High,
                    p,
                    format!("{name} asks for approval"),
                    m.title.clone(),
                    vec![
                        Action {
                            action: "approve".into(),
                            title: "Approve".into(),
                        },
                        Action {
                            action: "deny".into(),
                            title: "Deny".into(),
                        },
                    ],
                )
            }
            DomainEvent::NotifySessionFailed(n) => (
                n.project_id.clone(),
                format!("session:{}", n.session_id),
                Urgency::Normal,
                base("failed", &n.project_id, &n.session_id),
                format!("{} failed", n.name),
                "The session ended with a failure".to_string(),
                Vec::new(),
            ),
            DomainEvent::MailReceived(m) => {
                let from = if m.from_session_id == PHONE_SENDER {
                    "You".to_string()
                } else {
                    session_name(m.from_session_id.clone()).await
                };
                let mut p = base("mail", &m.project_id, &m.from_session_id);
                p["mailId"] = json!(m.id);
                let title = if m.to_session_id.is_none() {
                    format!("{from} to everyone")
                } else {
                    format!("Mail from {from}")
                };
                (
                    m.project_id.clone(),
                    format!("mail:{}", m.id),
                    Urgency::Normal,
                    p,
                    title,
                    m.subject.clone(),
                    vec![Action {
                        action: "reply".into(),
                        title: "Reply".into(),
                    }],
                )
            }
            _ => return None,
        };
        payload["tag"] = json!(tag);
        payload["title"] = json!(truncate(&title, 120));
        payload["body"] = json!(truncate(&body, MAX_BODY_CHARS));
        payload["actions"] = json!(actions);
        payload["sentAt"] = json!(self.inner.ports.clock.now_ms());
        Some(Note {
            project_id,
            tag,
            urgency,
            payload,
        })
    }

    /// Whether `owner` may read `project_id` now. Fails closed: a store error is a no.
    async fn may_read(&self, owner: &PushOwner, project_id: &str) -> bool {
        let ports = &self.inner.ports;
        let answer = match owner {
            PushOwner::Unrestricted => Ok(true),
            PushOwner::User { user_id } => match &ports.members {
                Some(m) => m.get(project_id, user_id).await.map(|m| m.is_some()),
                None => Ok(false),
            },
            PushOwner::Session {
                session_id,
                project_id: own,
            } => {
                if own != project_id {
                    Ok(false)
                } else {
                    ports
                        .sessions
                        .get(session_id)
                        .await
                        .map(|s| s.is_some_and(|s| s.status.is_active()))
                }
            }
            PushOwner::ApiKey {
                key_id,
                project_id: own,
            } => match (&ports.api_keys, own == project_id) {
                (Some(keys), true) => keys.get(project_id, key_id).await.map(|k| k.is_some()),
                _ => Ok(false),
            },
        };
        answer.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "push: cannot tell whether a device may see a project; skipped");
            false
        })
    }

    /// Pushes one note to every device of `subs` that should get it; returns once each push
    /// has been answered or handed to its retry loop. `rights` holds what each owner may read,
    /// looked up once per batch of notes.
    async fn deliver(
        &self,
        note: Note,
        subs: &[PushSubscription],
        rights: &mut HashMap<(PushOwner, String), bool>,
    ) {
        let payload = match serde_json::to_vec(&note.payload) {
            Ok(p) if p.len() <= PushMessage::MAX_PAYLOAD => p,
            _ => return,
        };
        let now = self.inner.ports.clock.now_ms();
        let mut tries = Vec::new();
        for sub in subs {
            if sub.muted_projects.contains(&note.project_id)
                || sub.quiet_hours.as_ref().is_some_and(|q| q.contains(now))
            {
                continue;
            }
            let key = (sub.owner.clone(), note.project_id.clone());
            let may = match rights.get(&key) {
                Some(may) => *may,
                None => {
                    let may = self.may_read(&sub.owner, &note.project_id).await;
                    rights.insert(key, may);
                    may
                }
            };
            if !may {
                continue;
            }
            let msg = PushMessage {
                payload: payload.clone(),
                ttl: TTL_SECONDS,
                urgency: note.urgency,
                topic: Some(topic_of(&note.tag)),
            };
            let generation = self.next_generation(&sub.id, &note.tag);
            tries.push(self.first_try(sub.clone(), msg, note.tag.clone(), generation));
        }
        // The first try of each push is awaited (so notes queued meanwhile coalesce);
        // retries run on in the background.
        futures_util::future::join_all(tries).await;
    }

    async fn first_try(
        &self,
        sub: PushSubscription,
        msg: PushMessage,
        tag: String,
        generation: u64,
    ) {
        let Ok(permit) = self.inner.slots.clone().acquire_owned().await else {
            return;
        };
        let failed = self.attempt(&sub, &msg).await;
        drop(permit);
        if let Some(failed) = failed {
            // The sanctioned exception to the domain's no-spawn rule (services/hub.rs): a
            // retry holds only the push service's ports, which are the server's own
            // (`PushPorts`, built at start-up), never a caller's.
            #[allow(clippy::disallowed_methods)]
            tokio::spawn(self.clone().retry(sub, msg, tag, generation, failed));
        }
    }

    fn next_generation(&self, sub: &str, tag: &str) -> u64 {
        let mut g = self
            .inner
            .generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let n = g.entry((sub.to_string(), tag.to_string())).or_insert(0);
        *n += 1;
        *n
    }

    fn is_current(&self, sub: &str, tag: &str, generation: u64) -> bool {
        self.inner
            .generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(sub.to_string(), tag.to_string()))
            == Some(&generation)
    }

    /// One try. `Some((after, reason))` when it is worth trying again.
    async fn attempt(
        &self,
        sub: &PushSubscription,
        msg: &PushMessage,
    ) -> Option<(Option<Duration>, String)> {
        let stats = &self.inner.stats;
        match self.inner.ports.sender.send(sub, msg).await {
            PushDelivery::Delivered => {
                stats.delivered.fetch_add(1, Ordering::Relaxed);
                None
            }
            PushDelivery::Gone => {
                stats.gone.fetch_add(1, Ordering::Relaxed);
                tracing::info!(subscription = %sub.id, "push subscription gone; dropped");
                if let Err(e) = self.inner.ports.subscriptions.delete(&sub.id).await {
                    tracing::warn!(subscription = %sub.id, error = %e, "push: could not drop a gone subscription");
                }
                None
            }
            PushDelivery::Failed(reason) => {
                stats.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(subscription = %sub.id, %reason, "push refused");
                None
            }
            PushDelivery::Retry { after, reason } => Some((after, reason)),
        }
    }

    /// Tries again after a failed first try, with backoff, until it is answered, the tries
    /// run out, or a newer note for the same tag makes this one stale.
    async fn retry(
        self,
        sub: PushSubscription,
        msg: PushMessage,
        tag: String,
        generation: u64,
        mut failed: (Option<Duration>, String),
    ) {
        let retry = self.inner.retry;
        let stats = &self.inner.stats;
        let mut backoff = retry.first_backoff;
        for _ in 2..=retry.attempts.max(1) {
            let wait = failed.0.unwrap_or(backoff).min(retry.max_backoff);
            tracing::debug!(subscription = %sub.id, reason = %failed.1, ?wait, "push failed; retrying");
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(retry.max_backoff);
            if !self.is_current(&sub.id, &tag, generation) {
                return;
            }
            stats.retried.fetch_add(1, Ordering::Relaxed);
            let Ok(_permit) = self.inner.slots.clone().acquire_owned().await else {
                return;
            };
            match self.attempt(&sub, &msg).await {
                Some(again) => failed = (again.0, again.1),
                None => return,
            }
        }
        stats.failed.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(subscription = %sub.id, reason = %failed.1, attempts = retry.attempts, "push failed; giving up");
    }
}

impl PushDispatcher {
    /// Takes queued events until the service is dropped: notes queued while a batch was
    /// being sent collapse to the newest per tag.
    pub async fn run(mut self) {
        let mut batch = Vec::new();
        loop {
            if self.rx.recv_many(&mut batch, QUEUE).await == 0 {
                return;
            }
            let taken = batch.len() as u64;
            let mut notes: Vec<Note> = Vec::new();
            for event in batch.drain(..) {
                if let Some(note) = self.service.note(&event).await {
                    notes.retain(|n| n.tag != note.tag);
                    notes.push(note);
                }
            }
            // The devices and their owners' rights are read once per batch (a revoked right
            // counts from the next batch).
            if !notes.is_empty() {
                match self.service.inner.ports.subscriptions.list().await {
                    Ok(subs) => {
                        let mut rights = HashMap::new();
                        for note in notes {
                            self.service.deliver(note, &subs, &mut rights).await;
                        }
                    }
                    Err(e) => tracing::warn!(
                        error = %e,
                        "push: subscriptions unreadable; notifications not sent"
                    ),
                }
            }
            self.service
                .inner
                .stats
                .handled
                .fetch_add(taken, Ordering::Relaxed);
        }
    }
}

/// Whether the person is told about `event`.
fn is_pushed(event: &DomainEvent) -> bool {
    match event {
        DomainEvent::NotifyNeedsInput(_)
        | DomainEvent::SessionModal(_)
        | DomainEvent::NotifySessionFailed(_) => true,
        DomainEvent::MailReceived(m) => {
            m.to_session_id.is_none() || m.to_session_id.as_deref() == Some(PHONE_SENDER)
        }
        _ => false,
    }
}

/// The push owner a caller's devices get.
pub fn owner_of(caller: &Principal) -> PushOwner {
    match caller {
        Principal::Local | Principal::Service => PushOwner::Unrestricted,
        Principal::User { id, .. } => PushOwner::User {
            user_id: id.clone(),
        },
        Principal::Session {
            session_id,
            project_id,
        } => PushOwner::Session {
            session_id: session_id.clone(),
            project_id: project_id.clone(),
        },
        Principal::ApiKey {
            key_id, project_id, ..
        } => PushOwner::ApiKey {
            key_id: key_id.clone(),
            project_id: project_id.clone(),
        },
    }
}

/// A `Topic` header for a tag: 32 base64url characters of its SHA-256 (RFC 8030 §5.4).
fn topic_of(tag: &str) -> String {
    let digest = Sha256::digest(tag.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..24])
}

fn check_key(value: &str, field: &str, len: usize, first: Option<u8>) -> Result<()> {
    let bytes = URL_SAFE_NO_PAD
        .decode(value.trim_end_matches('='))
        .map_err(|_| DomainError::invalid_field(field, format!("{field} must be base64url")))?;
    if bytes.len() != len || first.is_some_and(|f| bytes.first() != Some(&f)) {
        return Err(DomainError::invalid_field(
            field,
            format!("{field} must be {len} bytes"),
        ));
    }
    Ok(())
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// An [`EventBus`] decorator: each event published through it is offered to the
/// [`PushService`] (which keeps only what the person is told about), then published. Only
/// the process that publishes an event sees it here, so each event is pushed once however
/// many instances share the bus.
pub struct PushingBus {
    inner: Arc<dyn EventBus>,
    push: PushService,
}

impl PushingBus {
    pub fn new(inner: Arc<dyn EventBus>, push: PushService) -> Self {
        Self { inner, push }
    }
}

#[async_trait]
impl EventBus for PushingBus {
    async fn publish_event(&self, event: BusEvent) -> Result<()> {
        self.push.offer(&event.event);
        self.inner.publish_event(event).await
    }

    async fn publish(&self, event: DomainEvent) -> Result<()> {
        self.push.offer(&event);
        self.inner.publish(event).await
    }

    fn subscribe(&self) -> BoxStream<BusMessage> {
        self.inner.subscribe()
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests run the dispatcher as the server does
mod tests;
