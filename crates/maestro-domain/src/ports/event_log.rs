//! The per-project event log behind resumable event streams: every event published for a
//! project gets an id in one order, and a client that reconnects asks for what came after the
//! last id it saw.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, Result};
use crate::events::DomainEvent;
use crate::model::Millis;

/// The id of an event in its project's [`EventLog`]: `<ms>-<seq>` (the shape of a Redis
/// Stream id), compared numerically, part by part. `ms` is the log's clock when the event was
/// appended, so an id also tells when the event happened.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventId {
    ms: u64,
    seq: u64,
}

impl EventId {
    pub fn new(ms: u64, seq: u64) -> Self {
        Self { ms, seq }
    }

    /// Milliseconds since the epoch at which the event was appended.
    pub fn millis(&self) -> Millis {
        i64::try_from(self.ms).unwrap_or(i64::MAX)
    }

    /// The `<ms>` part.
    pub fn ms(&self) -> u64 {
        self.ms
    }

    /// The `<seq>` part.
    pub fn seq(&self) -> u64 {
        self.seq
    }
}

impl Ord for EventId {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.ms, self.seq).cmp(&(other.ms, other.seq))
    }
}

impl PartialOrd for EventId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

impl FromStr for EventId {
    type Err = DomainError;

    /// Parses `<ms>-<seq>` (decimal digits only, each part fitting in 64 bits).
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            DomainError::invalid_field(
                "since",
                format!("'{s}' is not an event id (expected <ms>-<seq>, e.g. 1733313600000-0)"),
            )
        };
        let (ms, seq) = s.split_once('-').ok_or_else(bad)?;
        let digits =
            |p: &str| !p.is_empty() && p.len() <= 20 && p.bytes().all(|b| b.is_ascii_digit());
        if !digits(ms) || !digits(seq) {
            return Err(bad());
        }
        Ok(Self {
            ms: ms.parse().map_err(|_| bad())?,
            seq: seq.parse().map_err(|_| bad())?,
        })
    }
}

impl TryFrom<String> for EventId {
    type Error = DomainError;

    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<EventId> for String {
    fn from(id: EventId) -> Self {
        id.to_string()
    }
}

/// One entry of a project's log.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedEvent {
    pub id: EventId,
    pub event: DomainEvent,
}

/// Why a log cannot say what came after an id: the caller must take a full snapshot instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Gap {
    /// The id is no longer (or never was) in the log: events after it may have been trimmed by
    /// length or age, or the log was lost (an in-memory log after a restart, a Redis that
    /// lost its data, another server's id).
    Unknown,
    /// More events followed it than one replay carries.
    TooMany,
}

impl Gap {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::TooMany => "tooMany",
        }
    }
}

/// The answer of [`EventLog::read_after`].
#[derive(Debug, Clone, PartialEq)]
pub enum Replay {
    /// Exactly the events appended after the id, oldest first (empty when it is the newest).
    Events(Vec<LoggedEvent>),
    /// The history after the id is not complete in the log.
    Gap(Gap),
}

/// How much of each project's log is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// The newest `max_len` events of a project are kept (at least 1).
    pub max_len: usize,
    /// Events older than this are dropped (and a project's whole log once it has been quiet
    /// this long).
    pub max_age: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            max_len: 10_000,
            max_age: Duration::from_secs(24 * 3600),
        }
    }
}

/// One ordered log of events per project, shared by every server process on the same
/// backend (an in-memory ring on one process, a Redis Stream per project across processes).
///
/// Guarantees:
/// - **Order**: `append` returns an id greater than every id it returned before for that
///   project, to any process sharing the backend. Ids never repeat, also after trimming
///   (they start with the backend's clock in ms; a clock that steps back does not make them
///   go back, the sequence part grows instead).
/// - **Exact replay or none**: `read_after(project, since, max)` returns *exactly* the events
///   appended after `since`, in id order, or a [`Gap`] — never a partial history. It answers
///   a gap when `since` itself is not in the log any more (trimmed, lost with the backend, or
///   never appended to this project) and when more than `max` events follow it. A caller that
///   gets a gap takes a full snapshot.
/// - **Retention**: a project keeps at least its newest [`Retention::max_len`] events that
///   are younger than [`Retention::max_age`]; nothing older is promised.
/// - **Isolation**: projects' logs are independent. Ids are only meaningful within their
///   project (two projects' logs may hold the same id), so a client resumes per project.
///
/// Limits: ids order the appends as the backend saw them. Two processes publishing for the
/// same project at the same instant may deliver those two events live in the other order than
/// their ids (delivery is pub/sub, not the log), and age trimming trusts the backend's clock.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EventLog: Send + Sync {
    /// Appends `event` to the log of `project_id`; returns its id.
    async fn append(&self, project_id: &str, event: &DomainEvent) -> Result<EventId>;

    /// The events of `project_id` after `since`: all of them (at most `max`), or a gap.
    async fn read_after(&self, project_id: &str, since: &EventId, max: usize) -> Result<Replay>;

    /// The newest id of `project_id`'s log (`None` when it is empty).
    async fn latest(&self, project_id: &str) -> Result<Option<EventId>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_print_and_order_numerically() {
        let a: EventId = "1733313600000-9".parse().unwrap();
        let b: EventId = "1733313600000-10".parse().unwrap();
        let c: EventId = "1733313600001-0".parse().unwrap();
        assert!(a < b && b < c);
        assert_eq!(b.to_string(), "1733313600000-10");
        assert_eq!(c.millis(), 1_733_313_600_001);
        assert_eq!(serde_json::to_value(&a).unwrap(), "1733313600000-9");
        let back: EventId = serde_json::from_value(serde_json::json!("1-2")).unwrap();
        assert_eq!(back, EventId::new(1, 2));
    }

    #[test]
    fn anything_else_is_a_validation_error() {
        for bad in [
            "",
            "-",
            "1-",
            "-1",
            "1",
            "a-1",
            "1-b",
            "1-2-3",
            " 1-2",
            "+1-2",
            "1-2 ",
            "99999999999999999999999-0",
            "１-2",
        ] {
            let e = bad.parse::<EventId>().unwrap_err();
            assert!(
                matches!(e, DomainError::Validation { .. }),
                "{bad:?}: {e:?}"
            );
        }
    }
}
