//! Task claims: one session at a time works on a task (seed Phase 6, "prevent race conditions
//! when multiple agents claim the same task"), on a fenced lease of the [`Lock`] port.
//!
//! - A claim is a fenced lease `task-claim:<taskId>` owned by the session id, with a TTL;
//!   claiming again renews it (same fencing token). The task records the holder
//!   (`claimedBy`, `claimExpiresAt`, `claimFencingToken`), so clients see it and task writes
//!   can be fenced atomically by the task repository (a patch carrying another token is
//!   refused, see [`super::TaskService::update`]).
//! - The holder releases it (`DELETE /api/tasks/:id/claim`); when its session ends (completed,
//!   failed — which is what a lapsed presence does —, stopped, deleted) [`ClaimService::on_event`]
//!   releases every claim it held. Each release clears the task's claim fields in one atomic
//!   update and emits `task:claim_released` exactly once, whichever instance gets there.
//! - Guarantees and their limits are those of [`Lock`]'s fenced leases: the TTL runs on the
//!   lock's clock, so a stalled holder may outlive its claim; the fencing token is what keeps
//!   its late writes out.

use std::sync::Arc;
use std::time::Duration;

use super::{Context, Seen, Services};
use crate::access::Need;
use crate::error::{DomainError, Result};
use crate::events::{ClaimReleased, DomainEvent, TaskClaimed};
use crate::model::{Millis, Task};
use crate::ports::{Fenced, Lock, TaskFilter};

/// TTL of a claim when the request names none.
pub const DEFAULT_CLAIM_TTL: Duration = Duration::from_secs(30);
/// Accepted claim TTLs.
pub const CLAIM_TTL_RANGE: std::ops::RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(600);

/// A held claim, as `POST /api/tasks/:id/claim` answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub task_id: String,
    pub session_id: String,
    pub fencing_token: u64,
    pub expires_at: Millis,
    pub renewed: bool,
}

/// Claim, renew and release tasks.
#[derive(Clone)]
pub struct ClaimService {
    ctx: Arc<Context>,
    lock: Arc<dyn Lock>,
}

fn resource(task_id: &str) -> String {
    format!("task-claim:{task_id}")
}

impl ClaimService {
    pub fn new(services: &Services, lock: Arc<dyn Lock>) -> Self {
        Self {
            ctx: services.context().clone(),
            lock,
        }
    }

    /// How many claims are held now, on every instance sharing the lock (claims are the
    /// lock's only fenced leases).
    pub async fn held(&self) -> Result<usize> {
        self.lock.live_fenced().await
    }

    /// The same use cases on other (e.g. user-scoped) services.
    pub fn scoped(&self, services: &Services<super::Caller>) -> Self {
        Self {
            ctx: services.context().clone(),
            lock: self.lock.clone(),
        }
    }

    async fn task(&self, id: &str) -> Result<Task> {
        self.ctx
            .ports
            .tasks
            .get(id)
            .await?
            .ok_or_else(|| DomainError::not_found("Task", id))
    }

    /// `POST /api/tasks/:id/claim`: `session_id` claims the task for `ttl` (or renews its
    /// claim). Another holder is [`DomainError::Claimed`].
    pub async fn claim(
        &self,
        task_id: &str,
        session_id: Option<&str>,
        ttl: Option<Duration>,
    ) -> Result<Claim> {
        let session_id = session_id
            .filter(|s| !s.is_empty())
            .ok_or_else(|| DomainError::invalid_field("sessionId", "sessionId is required"))?;
        let ttl = ttl.unwrap_or(DEFAULT_CLAIM_TTL);
        if !CLAIM_TTL_RANGE.contains(&ttl) {
            return Err(DomainError::invalid_field(
                "ttlMs",
                "ttlMs must be between 1000 and 600000",
            ));
        }
        let task = self.task(task_id).await?;
        self.ctx.authorize(&task.project_id, Need::Write).await?;
        let session = self
            .ctx
            .ports
            .sessions
            .get(session_id)
            .await?
            .ok_or_else(|| DomainError::not_found("Session", session_id))?;
        if session.project_id != task.project_id {
            return Err(DomainError::invalid_field(
                "sessionId",
                "the session belongs to another project",
            ));
        }
        if session.status.is_terminal() {
            return Err(DomainError::BusinessRule(format!(
                "Session '{session_id}' has ended ({}); it cannot claim tasks",
                session.status
            )));
        }
        let now = self.ctx.now();
        let (lease, renewed) = match self
            .lock
            .acquire_fenced(&resource(task_id), session_id, ttl)
            .await?
        {
            Fenced::Granted { lease, renewed } => (lease, renewed),
            Fenced::Held(other) => {
                return Err(DomainError::Claimed {
                    task_id: task_id.to_string(),
                    held_by: other.owner,
                    expires_at: now + other.ttl_left.as_millis() as Millis,
                });
            }
        };
        let expires_at = now + lease.ttl_left.as_millis() as Millis;
        let recorded = self
            .ctx
            .ports
            .tasks
            .update(task_id, &|t: &mut Task| {
                t.claimed_by = Some(session_id.to_string());
                t.claim_expires_at = Some(expires_at);
                t.claim_fencing_token = Some(lease.fence);
                t.updated_at = now;
                Ok(())
            })
            .await;
        let task = match recorded {
            Ok(t) => t,
            Err(e) => {
                // Not recorded, so not held: give the lease back.
                if let Err(le) = self
                    .lock
                    .release_fenced(&resource(task_id), session_id)
                    .await
                {
                    tracing::warn!(task = %task_id, error = %le, "could not release an unrecorded claim");
                }
                return Err(e);
            }
        };
        self.ctx.emit(DomainEvent::TaskUpdated(task.clone())).await;
        self.ctx
            .emit(DomainEvent::TaskClaimed(TaskClaimed {
                task_id: task.id.clone(),
                project_id: task.project_id.clone(),
                session_id: session_id.to_string(),
                fencing_token: lease.fence,
                expires_at,
                renewed,
            }))
            .await;
        Ok(Claim {
            task_id: task.id,
            session_id: session_id.to_string(),
            fencing_token: lease.fence,
            expires_at,
            renewed,
        })
    }

    /// `DELETE /api/tasks/:id/claim`: the holder `session_id` gives the task up. Another
    /// holder is [`DomainError::Claimed`]; no claim at all is `NOT_FOUND`.
    pub async fn release(&self, task_id: &str, session_id: Option<&str>) -> Result<Task> {
        let session_id = session_id
            .filter(|s| !s.is_empty())
            .ok_or_else(|| DomainError::invalid_field("sessionId", "sessionId is required"))?;
        let task = self.task(task_id).await?;
        self.ctx.authorize(&task.project_id, Need::Write).await?;
        let released = self
            .lock
            .release_fenced(&resource(task_id), session_id)
            .await?;
        if !released {
            if let Some(other) = self.lock.fenced_holder(&resource(task_id)).await? {
                return Err(DomainError::Claimed {
                    task_id: task_id.to_string(),
                    held_by: other.owner,
                    expires_at: self.ctx.now() + other.ttl_left.as_millis() as Millis,
                });
            }
            if task.claimed_by.as_deref() != Some(session_id) {
                return Err(DomainError::not_found("Claim", task_id));
            }
            // Lapsed but still recorded: clearing the record is the release.
        }
        match self.clear(task_id, session_id, "released").await? {
            Some(task) => Ok(task),
            None => self.task(task_id).await,
        }
    }

    /// Clears the task's claim fields if `session_id` still holds them, and then (only then)
    /// emits `task:updated` and `task:claim_released`.
    async fn clear(&self, task_id: &str, session_id: &str, reason: &str) -> Result<Option<Task>> {
        let now = self.ctx.now();
        let cleared = Seen::new();
        let task = self
            .ctx
            .ports
            .tasks
            .update(task_id, &|t: &mut Task| {
                // The repository may run this again after a concurrent write (another
                // instance clearing the same claim): only its last, committed run counts.
                let holds = t.claimed_by.as_deref() == Some(session_id);
                cleared.keep(&holds);
                if holds {
                    t.claimed_by = None;
                    t.claim_expires_at = None;
                    t.claim_fencing_token = None;
                    t.updated_at = now;
                }
                Ok(())
            })
            .await?;
        if cleared.take() != Some(true) {
            return Ok(None);
        }
        self.ctx.emit(DomainEvent::TaskUpdated(task.clone())).await;
        self.ctx
            .emit(DomainEvent::TaskClaimReleased(ClaimReleased {
                task_id: task.id.clone(),
                project_id: task.project_id.clone(),
                session_id: session_id.to_string(),
                reason: reason.to_string(),
            }))
            .await;
        Ok(Some(task))
    }

    /// Releases every claim `session_id` holds in `project_id` (its session ended).
    pub async fn release_session(&self, project_id: &str, session_id: &str) -> Result<usize> {
        let held = self
            .ctx
            .ports
            .tasks
            .list(&TaskFilter {
                project_id: Some(project_id.to_string()),
                ..Default::default()
            })
            .await?;
        let mut released = 0;
        for task in held
            .iter()
            .filter(|t| t.claimed_by.as_deref() == Some(session_id))
        {
            if let Err(e) = self
                .lock
                .release_fenced(&resource(&task.id), session_id)
                .await
            {
                tracing::warn!(task = %task.id, error = %e, "could not release a claim's lease");
            }
            match self.clear(&task.id, session_id, "session_ended").await {
                Ok(Some(_)) => released += 1,
                Ok(None) | Err(DomainError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(released)
    }

    /// Reacts to a bus event: a session that ended (or was deleted) loses its claims.
    pub async fn on_event(&self, event: &DomainEvent) -> Result<usize> {
        match event {
            DomainEvent::SessionUpdated(s) if s.status.is_terminal() => {
                self.release_session(&s.project_id, &s.id).await
            }
            DomainEvent::SessionDeleted(d) => match &d.project_id {
                Some(p) => self.release_session(p, &d.id).await,
                None => Ok(0),
            },
            _ => Ok(0),
        }
    }
}
