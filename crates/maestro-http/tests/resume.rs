//! Resumable event streams on `/mobile`, with the official JavaScript client: every event
//! carries its id (second argument; the envelope is the spec's); a client that reconnects with the last id it saw (`auth.offset`) gets
//! exactly the events it missed, in order, then live ones; `state:sync {since}` answers the
//! same; a trimmed or unknown offset is told to resync.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;

use common::mobile::MobileClient;
use common::{Adapters, Builder, TestServer};
use maestro_domain::ports::{EventId, Retention};
use maestro_http::realtime::RESUMED;
use reqwest::Method;
use serde_json::{Value, json};

const TOKEN: &str = "resume-test-token";

async fn server(retention: Retention) -> TestServer {
    Builder::new(Adapters::Memory)
        .token(TOKEN)
        .event_log(retention)
        .start()
        .await
}

fn id_of(event: &Value) -> String {
    event["offset"]
        .as_str()
        .unwrap_or_else(|| panic!("event without an id: {event}"))
        .to_string()
}

fn title(event: &Value) -> Option<&str> {
    event["data"]["data"]["title"].as_str()
}

/// Events up to (and including) the first `stop` event; `connected` lines are skipped.
async fn until(phone: &mut MobileClient, stop: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let v = phone.next(&["event", "disconnect"]).await;
        assert_eq!(v["kind"], "event", "disconnected: {v}");
        let done = v["name"] == stop;
        seen.push(v);
        if done {
            return seen;
        }
    }
}

/// A project, and the id of its first task's `task:created` as a phone saw it (then gone).
async fn seen_one_event(srv: &TestServer, name: &str) -> Option<(String, String)> {
    let p = srv.project(name).await["id"].as_str().unwrap().to_string();
    let mut phone = MobileClient::connect(srv, TOKEN, &p).await?;
    phone.next(&["connected"]).await;
    srv.task(&p, "first").await;
    Some((p, id_of(&phone.event("task:created").await)))
}

#[tokio::test]
async fn a_reconnecting_phone_gets_exactly_what_it_missed_then_live_events() {
    let srv = server(Retention::default()).await;
    let p = srv.project("resume").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let Some(mut phone) = MobileClient::connect(&srv, TOKEN, &p).await else {
        return;
    };
    assert_eq!(phone.next(&["connected"]).await["kind"], "connected");
    srv.task(&p, "seen").await;
    let seen = phone.event("task:created").await;
    assert_eq!(title(&seen), Some("seen"));
    let keys: Vec<&String> = seen["data"].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["type", "event", "data", "timestamp"],
        "the envelope is unchanged"
    );
    let offset = id_of(&seen);
    offset.parse::<EventId>().expect("ids are <ms>-<seq>");
    drop(phone);

    let t1 = srv.task(&p, "missed 1").await;
    srv.patch(
        &format!("/api/tasks/{}", t1["id"].as_str().unwrap()),
        json!({"status": "in_progress"}),
    )
    .await
    .ok(200);
    srv.task(&p, "missed 2").await;

    let Some(mut phone) = MobileClient::resume(&srv, TOKEN, &p, &offset).await else {
        return;
    };
    let replay = until(&mut phone, "state:resumed").await;
    let (done, missed) = replay.split_last().unwrap();
    let names: Vec<&str> = missed.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["task:created", "task:updated", "task:created"],
        "{missed:?}"
    );
    assert_eq!(title(&missed[0]), Some("missed 1"));
    assert_eq!(missed[1]["data"]["data"]["status"], "in_progress");
    assert_eq!(title(&missed[2]), Some("missed 2"));
    let ids: Vec<EventId> = missed.iter().map(|e| id_of(e).parse().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in order: {ids:?}");
    assert!(ids[0] > offset.parse().unwrap());
    assert_eq!(done["data"]["replayed"], 3);
    assert_eq!(done["data"]["lastEventId"], json!(ids[2]));

    srv.task(&p, "live").await;
    let live = phone.event("task:created").await;
    assert_eq!(title(&live), Some("live"));
    assert!(id_of(&live).parse::<EventId>().unwrap() > ids[2]);
}

#[tokio::test]
async fn state_sync_since_answers_the_missed_events_or_resync_required() {
    let srv = server(Retention::default()).await;
    let p = srv.project("sync").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    srv.task(&p, "before").await;
    let Some(mut phone) = MobileClient::connect(&srv, TOKEN, &p).await else {
        return;
    };
    let full = phone.emit("state:sync", json!({})).await["reply"].clone();
    assert_eq!(full["success"], true, "{full}");
    assert_eq!(full["tasks"].as_array().unwrap().len(), 1);
    let last = full["lastEventId"]
        .as_str()
        .expect("lastEventId")
        .to_string();

    srv.task(&p, "after 1").await;
    srv.task(&p, "after 2").await;
    let since = phone.emit("state:sync", json!({"since": last})).await["reply"].clone();
    assert_eq!(since["success"], true, "{since}");
    let events = since["events"].as_array().unwrap();
    let titles: Vec<_> = events.iter().map(|e| e["data"]["title"].clone()).collect();
    assert_eq!(titles, [json!("after 1"), json!("after 2")]);
    assert_eq!(since["lastEventId"], events[1]["id"]);

    let again = phone
        .emit("state:sync", json!({"since": since["lastEventId"]}))
        .await["reply"]
        .clone();
    assert_eq!(again["events"], json!([]), "nothing new: {again}");

    for bad in ["1-0", "garbage", ""] {
        let r = phone.emit("state:sync", json!({"since": bad})).await["reply"].clone();
        if bad.is_empty() {
            // An empty `since` is no `since`: a full snapshot.
            assert_eq!(r["success"], true, "{r}");
            continue;
        }
        assert_eq!(r["success"], false, "{bad}: {r}");
        assert_eq!(r["error"], "resync_required", "{bad}: {r}");
        assert_eq!(r["reason"], "unknown", "{bad}: {r}");
        // An id is echoed; anything else (however large) is not.
        let echoed = if bad == "1-0" {
            json!(bad)
        } else {
            Value::Null
        };
        assert_eq!(r["since"], echoed, "{bad}: {r}");
    }
    let huge = "x".repeat(1 << 20);
    let r = phone.emit("state:sync", json!({"since": huge})).await["reply"].clone();
    assert_eq!(r["error"], "resync_required", "{r}");
    assert_eq!(r["since"], Value::Null);
}

#[tokio::test]
async fn a_trimmed_offset_is_told_to_resync_and_still_gets_live_events() {
    let srv = server(Retention {
        max_len: 3,
        max_age: std::time::Duration::from_secs(3600),
    })
    .await;
    let Some((p, offset)) = seen_one_event(&srv, "trim").await else {
        return;
    };
    for i in 0..6 {
        srv.task(&p, &format!("more {i}")).await;
    }
    let Some(mut phone) = MobileClient::resume(&srv, TOKEN, &p, &offset).await else {
        return;
    };
    let told = phone.event("resync_required").await;
    assert_eq!(told["data"]["reason"], "unknown", "{told}");
    assert_eq!(told["data"]["since"], offset.as_str());
    let full = phone.emit("state:sync", json!({})).await["reply"].clone();
    assert_eq!(full["tasks"].as_array().unwrap().len(), 7);
    srv.task(&p, "live").await;
    assert_eq!(title(&phone.event("task:created").await), Some("live"));
}

/// Writes keep coming while the phone resumes: after dropping repeated ids (as clients do),
/// the phone sees every task exactly once, in id order — none lost between the replay and the
/// live stream. The only repeats are events of the replay that were also routed live right
/// after it, each at most once. The writer starts before the resume and stops only after the
/// phone has seen the replay end, so both the replay and the live stream carry writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_resume_during_writes_loses_nothing_and_keeps_order() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let srv = server(Retention::default()).await;
    let Some((p, offset)) = seen_one_event(&srv, "busy").await else {
        return;
    };
    /// Writes made before the resume starts, and after the phone has seen it end.
    const BEFORE: usize = 20;
    const AFTER: usize = 20;
    let written = Arc::new(AtomicUsize::new(0));
    let replay_seen = Arc::new(AtomicBool::new(false));
    let mut writer = {
        let client = srv.client().clone();
        let url = srv.url("/api/tasks");
        let (p, written, replay_seen) = (p.clone(), written.clone(), replay_seen.clone());
        tokio::spawn(async move {
            let mut after = 0;
            let mut i = 0;
            while after < AFTER {
                if replay_seen.load(Ordering::SeqCst) {
                    after += 1;
                }
                let r = client
                    .request(Method::POST, &url)
                    .bearer_auth(TOKEN)
                    .json(&json!({"projectId": p, "title": format!("w{i}")}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201);
                i += 1;
                written.store(i, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            i
        })
    };
    maestro_testkit::poll::until("writing", || written.load(Ordering::SeqCst) >= BEFORE).await;
    let Some(mut phone) = MobileClient::resume(&srv, TOKEN, &p, &offset).await else {
        writer.abort();
        return;
    };
    let mut ids = HashSet::new();
    let (mut replayed, mut resumed) = (HashSet::new(), false);
    let mut live = 0;
    let mut repeated = HashSet::new();
    let mut order: Vec<EventId> = Vec::new();
    let mut titles = Vec::new();
    let mut total = None;
    while total.is_none_or(|n| titles.len() < n) {
        if total.is_none() && writer.is_finished() {
            total = Some((&mut writer).await.unwrap());
            continue;
        }
        let Ok(v) = tokio::time::timeout(
            std::time::Duration::from_millis(200),
            phone.next(&["event", "disconnect"]),
        )
        .await
        else {
            continue;
        };
        assert_eq!(v["kind"], "event", "{v}");
        if v["name"] == RESUMED {
            resumed = true;
            replay_seen.store(true, Ordering::SeqCst);
            continue;
        }
        if v["name"] != "task:created" {
            continue;
        }
        let id = id_of(&v);
        if !resumed {
            replayed.insert(id.clone());
        }
        if !ids.insert(id.clone()) {
            // In the replay and routed live right after it: allowed once, nothing else.
            assert!(
                replayed.contains(&id),
                "{id} came twice but was not replayed"
            );
            assert!(repeated.insert(id.clone()), "{id} came more than twice");
            continue;
        }
        if resumed {
            live += 1;
        }
        order.push(id.parse().unwrap());
        titles.push(title(&v).unwrap().to_string());
    }
    let n = total.unwrap_or_default();
    assert!(!replayed.is_empty(), "the replay carried writes");
    assert!(live >= AFTER, "the live stream carried writes ({live})");
    let want: Vec<String> = (0..n).map(|i| format!("w{i}")).collect();
    assert_eq!(titles, want, "every task once, in order");
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "ids increase: {order:?}"
    );
}

/// `/ui` (the desktop's, every project) gets the same id as the second argument; its
/// envelope is the spec's too.
#[tokio::test]
async fn ui_events_carry_the_same_id() {
    let srv = server(Retention::default()).await;
    let p = srv.project("ui").await["id"].as_str().unwrap().to_string();
    let Some(mut phone) = MobileClient::connect(&srv, TOKEN, &p).await else {
        return;
    };
    let Some(mut desktop) = MobileClient::connect_to(&srv, "/ui", TOKEN, "").await else {
        return;
    };
    phone.next(&["connected"]).await;
    desktop.next(&["connected"]).await;
    srv.task(&p, "both").await;
    let on_phone = phone.event("task:created").await;
    let on_desktop = desktop.event("task:created").await;
    assert_eq!(id_of(&on_desktop), id_of(&on_phone));
    let keys: Vec<&String> = on_desktop["data"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["type", "event", "data", "timestamp"]);
}
