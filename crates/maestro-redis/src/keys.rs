//! Key and channel names (EVENTS.md §6), all under one configurable prefix.
//!
//! | What | Key | Type |
//! |---|---|---|
//! | events | `<p>events:<event name>` | pub/sub channel |
//! | presence of a session | `<p>presence:<sessionId>` | string (JSON `PresenceEntry`), `PX` = TTL |
//! | presence index | `<p>presence:index:expiry` | sorted set session → expiry (Redis ms) |
//! | a lock | `<p>lock:<resource>` | string (owner token), `PX` = TTL |
//! | an idempotency key | `<p>idem:<key>` | string (JSON claim or response), `PX` = TTL |
//! | a fenced lease (task claim) | `<p>lock:<resource>` | string `<fence>:<owner>`, `PX` = TTL |
//! | fencing counter | `<p>fence:<resource>` | integer, no TTL |
//! | live fenced leases | `<p>fence-index` | sorted set resource → expiry (Redis ms) |
//! | event log of a project | `<p>eventlog:<projectId>` | stream (`e` = event JSON), `PX` = max age |
//! | a mail | `<p>mail:<id>` | hash |
//! | addressed mail of a session | `<p>mail:inbox:<sessionId>` | stream (`id`, `createdAt`) |
//! | broadcast mail of a project | `<p>mail:broadcast:<projectId>` | stream (`id`, `createdAt`) |
//! | mail of a project | `<p>mail:project:<projectId>` | sorted set id → `createdAt` |
//! | all mail | `<p>mail:index:all` | sorted set id → `createdAt` |
//! | mail clock of a project | `<p>mail:clock:<projectId>` | string: highest `createdAt` stored |
//!
//! Ids are safe ids (`[A-Za-z0-9_-]`, no `:`), so a two-segment index name never collides with
//! a one-segment record key.

/// Builds every key of one prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn event_channel(&self, event: &str) -> String {
        format!("{}events:{event}", self.prefix)
    }

    /// The `PSUBSCRIBE` pattern of every event channel (glob characters of the prefix escaped).
    pub fn event_pattern(&self) -> String {
        format!("{}events:*", glob_escape(&self.prefix))
    }

    pub fn presence_prefix(&self) -> String {
        format!("{}presence:", self.prefix)
    }

    pub fn presence(&self, session_id: &str) -> String {
        format!("{}presence:{session_id}", self.prefix)
    }

    pub fn presence_index(&self) -> String {
        format!("{}presence:index:expiry", self.prefix)
    }

    /// An idempotency key (already scoped and hashed by the caller).
    pub fn idempotency(&self, key: &str) -> String {
        format!("{}idem:{key}", self.prefix)
    }

    pub fn lock(&self, resource: &str) -> String {
        format!("{}lock:{resource}", self.prefix)
    }

    /// A project's event log (a Stream).
    pub fn event_log(&self, project_id: &str) -> String {
        format!("{}eventlog:{project_id}", self.prefix)
    }

    /// The fencing-token counter of a fenced lock (no TTL: fences never repeat).
    pub fn fence(&self, resource: &str) -> String {
        format!("{}fence:{resource}", self.prefix)
    }

    /// Every live fenced lease's resource, scored by its expiry (Redis clock, ms).
    pub fn fenced_index(&self) -> String {
        format!("{}fence-index", self.prefix)
    }

    pub fn mail_prefix(&self) -> String {
        format!("{}mail:", self.prefix)
    }

    pub fn mail(&self, id: &str) -> String {
        format!("{}mail:{id}", self.prefix)
    }

    pub fn mail_inbox(&self, session_id: &str) -> String {
        format!("{}mail:inbox:{session_id}", self.prefix)
    }

    pub fn mail_broadcast(&self, project_id: &str) -> String {
        format!("{}mail:broadcast:{project_id}", self.prefix)
    }

    pub fn mail_project(&self, project_id: &str) -> String {
        format!("{}mail:project:{project_id}", self.prefix)
    }

    pub fn mail_all(&self) -> String {
        format!("{}mail:index:all", self.prefix)
    }

    pub fn mail_clock(&self, project_id: &str) -> String {
        format!("{}mail:clock:{project_id}", self.prefix)
    }
}

/// Escapes Redis glob metacharacters (`* ? [ ] \`).
fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_events_md() {
        let k = Keys::new("maestro:");
        assert_eq!(
            k.event_channel("task:created"),
            "maestro:events:task:created"
        );
        assert_eq!(k.presence("sess_1"), "maestro:presence:sess_1");
        assert_eq!(k.mail("mail_1"), "maestro:mail:mail_1");
        assert_eq!(k.mail_inbox("sess_1"), "maestro:mail:inbox:sess_1");
        assert_eq!(k.mail_broadcast("proj_1"), "maestro:mail:broadcast:proj_1");
        assert_eq!(k.mail_project("proj_1"), "maestro:mail:project:proj_1");
        assert_eq!(k.lock("task:1"), "maestro:lock:task:1");
        assert_eq!(k.event_pattern(), "maestro:events:*");
    }

    #[test]
    fn glob_characters_of_the_prefix_are_escaped() {
        assert_eq!(
            Keys::new("a*b?[c]:").event_pattern(),
            r"a\*b\?\[c\]:events:*"
        );
    }
}
