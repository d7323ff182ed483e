//! `presence` and `events`: who is alive, and what happens, now.

use maestro_domain::ports::EventId;
use std::time::Duration;

use serde_json::{Value, json};

use crate::cli::EventsArgs;
use crate::context::Ctx;
use crate::error::Result;
use crate::output::{ago, clip, table};
use crate::signals;

pub async fn presence(ctx: &Ctx) -> Result<()> {
    let live = ctx.client.presence().await?;
    ctx.out.show(&live, || {
        table(
            ["SESSION", "PROJECT", "LAST SEEN", "EXPIRES IN"],
            live.iter()
                .map(|p| {
                    [
                        p.session_id.clone(),
                        p.project_id.clone(),
                        ago(p.last_seen),
                        format!("{}s", ((p.expires_at - p.last_seen) / 1000).max(0)),
                    ]
                })
                .collect(),
            "No live sessions",
        )
    })
}

/// Follows the project's events over Socket.IO `/mobile` until interrupted (or `--count`),
/// reconnecting with backoff when the connection drops. A reconnect resumes after the last
/// event id seen, so the events emitted meanwhile are printed (in order, once); when the
/// server no longer has them, `resync_required` is printed and following goes on.
pub async fn events(ctx: &Ctx, a: EventsArgs) -> Result<()> {
    let project = ctx.project()?;
    let stop = signals::shutdown();
    tokio::pin!(stop);
    let mut seen = 0usize;
    let mut first = true;
    let mut backoff = Duration::from_millis(250);
    let mut ids = RecentIds::default();
    loop {
        let mut sub = match ctx.client.subscribe_from(project, ids.last()).await {
            Ok(s) => s,
            Err(e) if first => return Err(e.into()),
            Err(e) => {
                ctx.out
                    .notice(&format!("reconnecting in {}ms: {e}", backoff.as_millis()));
                tokio::select! {
                    _ = &mut stop => return Ok(()),
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
                continue;
            }
        };
        if first {
            ctx.out
                .hint(&format!("following events of {project}; Ctrl-C to stop"));
        } else if ids.last().is_none() {
            ctx.out
                .notice("reconnected (no event seen yet, so none to replay)");
        }
        first = false;
        backoff = Duration::from_millis(250);
        loop {
            let ev = tokio::select! {
                _ = &mut stop => return Ok(()),
                ev = sub.next() => ev,
            };
            let Some(ev) = ev else {
                ctx.out.notice("connection lost");
                break;
            };
            if ev.name == maestro_client::RESUMED {
                let n = ev.data["replayed"].as_u64().unwrap_or(0);
                ctx.out
                    .notice(&format!("reconnected; {n} missed event(s) replayed"));
                continue;
            }
            if let Some(id) = &ev.id
                && !ids.insert(id)
            {
                continue; // replayed, then routed live once more
            }
            if ev.name == maestro_client::RESYNC_REQUIRED {
                ctx.out.notice(
                    "events emitted while disconnected are no longer kept by the server; \
                     re-read what you need (e.g. `maestroctl task list`)",
                );
            }
            if !a.filters.is_empty() && !a.filters.iter().any(|f| ev.name.starts_with(f.as_str())) {
                continue;
            }
            if ctx.out.json {
                ctx.out
                    .json_line(&json!({"event": ev.name, "data": ev.data, "id": ev.id}))?;
            } else {
                println!("{}", describe(&ev.name, &ev.data));
            }
            seen += 1;
            if a.count.is_some_and(|n| seen >= n) {
                return Ok(());
            }
        }
    }
}

/// The ids of the latest events seen (bounded), and the greatest one to resume after.
#[derive(Default)]
struct RecentIds {
    order: std::collections::VecDeque<String>,
    set: std::collections::HashSet<String>,
    newest: Option<String>,
}

impl RecentIds {
    const KEEP: usize = 4096;

    /// Records `id`; `false` when it was seen already.
    fn insert(&mut self, id: &str) -> bool {
        if !self.set.insert(id.to_string()) {
            return false;
        }
        self.order.push_back(id.to_string());
        if self.order.len() > Self::KEEP
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        let newer = match (&self.newest, id.parse::<EventId>()) {
            (_, Err(_)) => false,
            (None, Ok(_)) => true,
            (Some(n), Ok(id)) => n.parse::<EventId>().map_or(true, |n| id > n),
        };
        if newer {
            self.newest = Some(id.to_string());
        }
        true
    }

    fn last(&self) -> Option<&str> {
        self.newest.as_deref()
    }
}

/// `HH:MM:SS  task:updated  task_1  "Title"  status=in_progress`.
fn describe(name: &str, frame: &Value) -> String {
    // /mobile frames are `{type, event, data, timestamp}`; older ones the payload itself.
    let data = frame.get("data").unwrap_or(frame);
    let ts = frame
        .get("timestamp")
        .and_then(Value::as_i64)
        .map(clock)
        .unwrap_or_default();
    let mut parts = vec![ts, name.to_string()];
    for key in ["id", "sessionId", "taskId"] {
        if let Some(v) = data.get(key).and_then(Value::as_str) {
            parts.push(v.to_string());
            break;
        }
    }
    for key in ["title", "name", "subject", "message"] {
        if let Some(v) = data.get(key).and_then(Value::as_str) {
            parts.push(format!("\"{}\"", clip(v, 60)));
            break;
        }
    }
    if let Some(v) = data.get("status").and_then(Value::as_str) {
        parts.push(format!("status={v}"));
    }
    parts.retain(|p| !p.is_empty());
    parts.join("  ")
}

/// `HH:MM:SS` (UTC) of epoch milliseconds.
fn clock(ms: i64) -> String {
    let s = ms.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_ids_drop_repeats_and_remember_the_newest() {
        let mut ids = RecentIds::default();
        assert_eq!(ids.last(), None);
        assert!(ids.insert("1-0"));
        assert!(ids.insert("1-1"));
        assert!(!ids.insert("1-0"));
        assert_eq!(ids.last(), Some("1-1"));
        assert!(ids.insert("0-9"), "an older id arriving late is new");
        assert_eq!(ids.last(), Some("1-1"), "the greatest id is kept");
        for i in 0..RecentIds::KEEP + 10 {
            ids.insert(&format!("2-{i}"));
        }
        assert!(ids.set.len() <= RecentIds::KEEP);
        assert!(ids.insert("1-0"), "forgotten after KEEP newer ids");
    }

    #[test]
    fn events_are_one_readable_line() {
        let line = describe(
            "task:updated",
            &json!({"type": "task:updated", "timestamp": 3_723_000,
                    "data": {"id": "task_1", "title": "Write docs", "status": "in_progress"}}),
        );
        assert_eq!(
            line,
            "01:02:03  task:updated  task_1  \"Write docs\"  status=in_progress"
        );
        assert_eq!(
            describe("mail:deleted", &json!({"id": "m1"})),
            "mail:deleted  m1"
        );
    }
}
