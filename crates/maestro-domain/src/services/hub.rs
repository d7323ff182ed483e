//! What one server process shares between all its callers, kept apart from what belongs to
//! one caller.
//!
//! A [`Hub`] is built once per [`Services`](super::Services) and shared by every restricted
//! copy of them. It holds no caller's rights: its stores are the server's own
//! ([`SystemPorts`]), and everything a caller hands to it has been decided for that caller
//! first ([`AuthorizedMail`] can only be made by a caller's [`Context`](super::Context)).
//! Background work runs on the hub alone ([`Hub::spawn`]), so a task that outlives a
//! request never holds that request's ports: the domain crate's `clippy.toml` forbids
//! `tokio::spawn` everywhere else, but for the push sender's retries, which hold only the
//! server's own ports ([`super::PushPorts`]).

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::HostInfo;
use crate::error::{DomainError, Result};
use crate::model::{MailMessage, Millis};
use crate::ports::{Clock, EventBus, IdGenerator, MailRepo};

/// Default of the global mail-wait cap ([`Services::set_max_mail_waits`](super::Services::set_max_mail_waits)).
pub const DEFAULT_MAX_MAIL_WAITS: usize = 1024;

/// The server's own ports, unrestricted: what shared state may write through. Never a
/// caller's scoped repositories.
pub(crate) struct SystemPorts {
    /// The server's mail store (on Supabase, the service role): written only with mail a
    /// caller was allowed to send ([`AuthorizedMail`]).
    pub(crate) mail: Arc<dyn MailRepo>,
    pub(crate) bus: Arc<dyn EventBus>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) ids: Arc<dyn IdGenerator>,
}

/// Process-wide state of the services; see the module documentation.
pub struct Hub {
    system: SystemPorts,
    host: HostInfo,
    /// Last mail `createdAt` issued, to keep them strictly increasing (DEFECTS C2).
    mail_stamp: AtomicI64,
    /// Held from stamping a mail to storing it, so mails become visible in `createdAt` order
    /// and a reader polling with its last `createdAt` as `since` cannot skip one.
    mail_order: tokio::sync::Mutex<()>,
    /// Mail waiting to be stamped and stored; flushed in batches under `mail_order`.
    mail_queue: Mutex<Vec<PendingMail>>,
    /// Flips to `true` on shutdown; pending mail waits answer `[]` at once.
    shutdown: tokio::sync::watch::Sender<bool>,
    /// Pending mail waits per session (DEFECTS R6: capped).
    waits: Mutex<HashMap<String, usize>>,
    /// Most mail waits pending at once across all sessions.
    max_waits: AtomicUsize,
}

/// A mail its sender's caller may write to its project: made only by
/// [`Context::authorize_mail`](super::Context::authorize_mail), after the rights decision for
/// that caller, so the shared flusher never decides anybody's rights.
pub(crate) struct AuthorizedMail(MailMessage);

impl AuthorizedMail {
    /// Only the caller's context may vouch for a mail.
    pub(super) fn vouched(draft: MailMessage) -> Self {
        Self(draft)
    }
}

/// One mail waiting in the queue (`id` and `createdAt` are set when stamped).
struct PendingMail {
    draft: MailMessage,
    reply: tokio::sync::oneshot::Sender<Result<MailMessage>>,
}

impl Hub {
    pub(crate) fn new(system: SystemPorts, host: HostInfo) -> Self {
        let (shutdown, _) = tokio::sync::watch::channel(false);
        Self {
            system,
            host,
            mail_stamp: AtomicI64::new(0),
            mail_order: tokio::sync::Mutex::new(()),
            mail_queue: Mutex::new(Vec::new()),
            shutdown,
            waits: Mutex::new(HashMap::new()),
            max_waits: AtomicUsize::new(DEFAULT_MAX_MAIL_WAITS),
        }
    }

    pub fn host(&self) -> &HostInfo {
        &self.host
    }

    pub(crate) fn system(&self) -> &SystemPorts {
        &self.system
    }

    /// Runs `work` in the background with only this hub: the one way the services start a
    /// task, so no background task can hold a caller's ports.
    pub(crate) fn spawn<F, Fut>(self: &Arc<Self>, work: F)
    where
        F: FnOnce(Arc<Hub>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        #[allow(clippy::disallowed_methods)] // the one sanctioned spawn; see the module doc
        tokio::spawn(work(self.clone()));
    }

    /// A timestamp for a new mail: now, or one more than the last one issued.
    fn next_mail_stamp(&self) -> Millis {
        let now = self.system.clock.now_ms();
        let mut last = self.mail_stamp.load(Ordering::SeqCst);
        loop {
            let next = now.max(last + 1);
            match self
                .mail_stamp
                .compare_exchange(last, next, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return next,
                Err(actual) => last = actual,
            }
        }
    }

    /// Stamps and stores `mail` (strictly increasing `createdAt`, DEFECTS C2; visible in
    /// `createdAt` order). Concurrent senders are group-committed: whoever's flush takes the
    /// ordering lock stamps every queued mail and stores them with one
    /// [`MailRepo::create_stamped_many`] call on the server's mail store, so a remote store
    /// costs one round trip per batch, not per mail. Every mail in a batch was authorised for
    /// its own caller before it was queued. The flush runs in its own task, so a cancelled
    /// request never strands or half-stores anybody's mail.
    pub(crate) async fn store_mail(self: &Arc<Self>, mail: AuthorizedMail) -> Result<MailMessage> {
        let (reply, stored) = tokio::sync::oneshot::channel();
        self.mail_queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(PendingMail {
                draft: mail.0,
                reply,
            });
        self.spawn(|hub| async move { hub.flush_mail_queue().await });
        stored
            .await
            .unwrap_or_else(|_| Err(DomainError::Internal("mail store task ended".into())))
    }

    async fn flush_mail_queue(&self) {
        let _order = self.mail_order.lock().await;
        let batch = std::mem::take(
            &mut *self
                .mail_queue
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        if batch.is_empty() {
            return;
        }
        let (mut mails, replies): (Vec<_>, Vec<_>) =
            batch.into_iter().map(|p| (p.draft, p.reply)).unzip();
        for m in &mut mails {
            m.created_at = self.next_mail_stamp();
            m.id = self.system.ids.generate("mail", m.created_at);
        }
        match self.system.mail.create_stamped_many(mails).await {
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

    /// Becomes `true` when the server starts shutting down.
    pub fn shutdown_signal(&self) -> tokio::sync::watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    pub(crate) fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    pub(crate) fn set_max_waits(&self, max: usize) {
        self.max_waits.store(max.max(1), Ordering::Relaxed);
    }

    /// Mail waits pending on this process, across all sessions.
    pub(crate) fn pending_waits(&self) -> usize {
        let waits = self.waits.lock().unwrap_or_else(PoisonError::into_inner);
        waits.values().sum()
    }

    /// Registers one pending mail wait of `session_id`; it counts until the returned slot is
    /// dropped. `Err(TooManyRequests)` when the session already has `limit` or the server its
    /// global maximum.
    pub(crate) fn begin_wait(self: &Arc<Self>, session_id: &str, limit: usize) -> Result<WaitSlot> {
        let mut waits = self.waits.lock().unwrap_or_else(PoisonError::into_inner);
        let total: usize = waits.values().sum();
        let max = self.max_waits.load(Ordering::Relaxed);
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
            hub: self.clone(),
            session_id: session_id.to_string(),
        })
    }
}

/// One pending mail wait; releases its place when dropped (also when the HTTP request is
/// cancelled).
pub(crate) struct WaitSlot {
    hub: Arc<Hub>,
    session_id: String,
}

impl Drop for WaitSlot {
    fn drop(&mut self) {
        let mut waits = self
            .hub
            .waits
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = waits.get_mut(&self.session_id) {
            *n -= 1;
            if *n == 0 {
                waits.remove(&self.session_id);
            }
        }
    }
}
