//! The committed fixture data directory (original layout, written by hand from STORAGE.md) is
//! loaded, read back through the ports with every field intact, modified through the ports,
//! and re-read with plain serde_json to prove layout and keys are unchanged.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::{assert_contains, copy_tree, files_under, fixture_dir, read_json};
use maestro_domain::model::{
    EntityType, JsonObject, SessionEvent, SessionStatus, TaskSessionStatus, TaskStatus,
};
use maestro_domain::ports::{InboxQuery, SessionFilter, TaskFilter};
use maestro_fs::{FsConfig, FsStore};
use serde_json::{Value, json};

const P1: &str = "proj_1771322645123_k3j9x0a1b";
const P2: &str = "proj_1771322700456_m2n8q7r4s";
const TASK_A: &str = "task_1771322800001_a1b2c3d4e";
const TASK_B: &str = "task_1771322800002_b5b5b5b5b";
const TASK_C: &str = "task_1771322800003_c9c9c9c9c";
const TASK_D: &str = "task_1771322800004_d4d4d4d4d";
const TASK_LEGACY: &str = "task_1771322800005_l3g4cy0ld";
const TASK_TM: &str = "task_1771322800009_tmtmtmtmt";
const S1: &str = "sess_1771322900001_s1s1s1s1s";
const S2: &str = "sess_1771322900002_s2s2s2s2s";
const M1: &str = "mail_1771322970001_m1m1m1m1m";
const M2: &str = "mail_1771322970002_m2m2m2m2m";
const TM: &str = "tm_1771322800000_custom01x";

fn fixture(rel: &str) -> Value {
    read_json(&fixture_dir().join(rel))
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap()
}

fn without(mut v: Value, keys: &[&str]) -> Value {
    for k in keys {
        v.as_object_mut().unwrap().shift_remove(*k);
    }
    v
}

#[tokio::test]
async fn fixture_loads_with_every_field_and_migrations() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    copy_tree(&fixture_dir(), &dir);
    let store = FsStore::open(FsConfig::new(&dir)).await.unwrap();

    let r = store.load_report();
    assert!(r.corrupt.is_empty(), "{:?}", r.corrupt);
    assert_eq!(
        (r.projects, r.tasks, r.sessions, r.mail, r.orderings),
        (2, 5, 2, 2, 2)
    );
    assert_eq!((r.team_members, r.team_member_overrides), (1, 1));
    assert_eq!(r.migrated_legacy_tasks, vec![TASK_LEGACY.to_string()]);
    assert_eq!(r.backed_up_team_member_tasks, vec![TASK_TM.to_string()]);

    // Projects, with unknown keys.
    for (id, rel) in [
        (P1, format!("projects/{P1}.json")),
        (P2, format!("projects/{P2}.json")),
    ] {
        let p = store.projects().get(id).await.unwrap().unwrap();
        assert_eq!(to_value(&p), fixture(&rel), "project {id}");
    }

    // Tasks: every key of each file is served (defaults added for missing ones).
    let tasks = store.tasks();
    for (id, rel) in [
        (TASK_A, format!("tasks/{P1}/{TASK_A}.json")),
        (TASK_C, format!("tasks/{P1}/{TASK_C}.json")),
        (TASK_D, format!("tasks/{P2}/{TASK_D}.json")),
        (TASK_LEGACY, format!("tasks/{TASK_LEGACY}.json")),
    ] {
        let t = tasks.get(id).await.unwrap().unwrap();
        assert_contains(&to_value(&t), &fixture(&rel), id);
    }
    let a = tasks.get(TASK_A).await.unwrap().unwrap();
    assert_eq!(
        a.extra["metadata"],
        json!({"estimate": "2d", "labels": ["core"]})
    );
    let c = tasks.get(TASK_C).await.unwrap().unwrap();
    assert!(c.skill_ids.is_empty() && c.reference_task_ids.is_empty());
    assert!(c.task_session_statuses.is_empty());
    // Legacy sessionStatus → taskSessionStatuses[first session], key dropped.
    let b = tasks.get(TASK_B).await.unwrap().unwrap();
    assert_eq!(
        b.task_session_statuses.get(S1),
        Some(&TaskSessionStatus::Blocked)
    );
    assert_eq!(b.task_session_statuses.len(), 1);
    assert!(!b.extra.contains_key("sessionStatus"));
    assert_contains(
        &to_value(&b),
        &without(
            fixture(&format!("tasks/{P1}/{TASK_B}.json")),
            &["sessionStatus"],
        ),
        TASK_B,
    );
    assert!(tasks.get(TASK_TM).await.unwrap().is_none());

    let p1_tasks: Vec<String> = tasks
        .list(&TaskFilter {
            project_id: Some(P1.into()),
            ..TaskFilter::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(p1_tasks, vec![TASK_A, TASK_B, TASK_C]);
    let p2_tasks = tasks
        .list(&TaskFilter {
            project_id: Some(P2.into()),
            ..TaskFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(p2_tasks.len(), 2);

    // Sessions: the full one verbatim; the legacy one migrated.
    let sessions = store.sessions();
    let s1 = sessions.get(S1).await.unwrap().unwrap();
    assert_eq!(
        to_value(&s1),
        fixture(&format!("sessions/{S1}.json")),
        "session {S1}"
    );
    assert_eq!(
        s1.docs[0].content.as_deref().map(|c| c.contains("ünïcödé")),
        Some(true)
    );
    let s2 = sessions.get(S2).await.unwrap().unwrap();
    assert_eq!(s2.task_ids, vec![TASK_B.to_string()]);
    assert_eq!(s2.name, format!("Session {S2}"));
    assert!(s2.env.is_empty() && s2.events.is_empty() && s2.timeline.is_empty());
    assert!(!s2.extra.contains_key("strategy") && !s2.extra.contains_key("taskId"));
    assert_contains(
        &to_value(&s2),
        &without(
            fixture(&format!("sessions/{S2}.json")),
            &["taskId", "strategy"],
        ),
        S2,
    );
    let by_task = sessions
        .list(&SessionFilter {
            task_id: Some(TASK_B.into()),
            ..SessionFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(by_task.len(), 2);

    // Mail, including the broadcast.
    let mail = store.mail();
    for id in [M1, M2] {
        let m = mail.get(id).await.unwrap().unwrap();
        assert_eq!(
            to_value(&m),
            fixture(&format!("mail/{id}.json")),
            "mail {id}"
        );
    }
    let inbox = mail
        .inbox(&InboxQuery {
            project_id: P1.into(),
            session_id: S2.into(),
            kind: None,
            since: None,
        })
        .await
        .unwrap();
    assert_eq!(
        inbox.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
        [M2]
    );

    // Orderings (the unknown `uiVersion` key is not part of the port type).
    let orderings = store.orderings();
    let o = orderings.get(P1, EntityType::Task).await.unwrap().unwrap();
    assert_eq!(
        to_value(&o),
        without(fixture(&format!("ordering/task/{P1}.json")), &["uiVersion"])
    );
    let o = orderings
        .get(P1, EntityType::Session)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        to_value(&o),
        fixture(&format!("ordering/session/{P1}.json"))
    );
    assert!(orderings.get(P2, EntityType::Task).await.unwrap().is_none());

    // Team members: the custom one verbatim, the override object verbatim.
    let team = store.team_members();
    let m = team.get(P1, TM).await.unwrap().unwrap();
    assert_eq!(
        to_value(&m),
        fixture(&format!("team-members/{P1}/{TM}.json"))
    );
    assert_eq!(team.list(P1).await.unwrap(), vec![m]);
    let ov_id = format!("tm_{P1}_coordinator");
    let ov = team.get_override(P1, &ov_id).await.unwrap().unwrap();
    assert_eq!(
        Value::Object(ov),
        fixture(&format!("team-members/{P1}/{ov_id}.override.json"))
    );

    // On disk: legacy file moved into its project folder, team-member task backed up,
    // migrated files re-saved in the original format.
    assert!(!dir.join(format!("tasks/{TASK_LEGACY}.json")).exists());
    let migrated = read_json(&dir.join(format!("tasks/{P2}/{TASK_LEGACY}.json")));
    assert_contains(
        &migrated,
        &fixture(&format!("tasks/{TASK_LEGACY}.json")),
        "legacy",
    );
    assert!(!dir.join(format!("tasks/{P2}/{TASK_TM}.json")).exists());
    assert_eq!(
        read_json(&dir.join(format!(".backup/team-member-tasks/{P2}/{TASK_TM}.json"))),
        fixture(&format!("tasks/{P2}/{TASK_TM}.json"))
    );
    let s2_file = read_json(&dir.join(format!("sessions/{S2}.json")));
    assert_eq!(s2_file["taskIds"], json!([TASK_B]));
    assert!(s2_file.get("strategy").is_none());
    let b_file = read_json(&dir.join(format!("tasks/{P1}/{TASK_B}.json")));
    assert!(b_file.get("sessionStatus").is_none());
    assert_eq!(b_file["taskSessionStatuses"], json!({S1: "blocked"}));
    // Untouched files are byte-identical.
    for rel in [
        format!("projects/{P1}.json"),
        format!("tasks/{P1}/{TASK_A}.json"),
        format!("tasks/{P1}/{TASK_C}.json"),
        format!("sessions/{S1}.json"),
        format!("mail/{M2}.json"),
    ] {
        assert_eq!(
            std::fs::read(dir.join(&rel)).unwrap(),
            std::fs::read(fixture_dir().join(&rel)).unwrap(),
            "{rel} must not be rewritten at start-up"
        );
    }

    // A second start is a no-op: nothing left to migrate.
    drop((tasks, sessions, mail, orderings, team));
    drop(store);
    let again = FsStore::open(FsConfig::new(&dir)).await.unwrap();
    let r = again.load_report();
    assert!(r.resaved.is_empty() && r.migrated_legacy_tasks.is_empty());
    assert!(r.backed_up_team_member_tasks.is_empty() && r.corrupt.is_empty());
    assert_eq!(r.tasks, 5);
}

#[tokio::test]
async fn modifications_keep_layout_and_unknown_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    copy_tree(&fixture_dir(), &dir);
    let store = FsStore::open(FsConfig::new(&dir)).await.unwrap();
    let before = files_under(&dir);

    store
        .projects()
        .update(P1, &|p| {
            p.name = "Alpha 2".into();
            p.updated_at += 1;
            Ok(())
        })
        .await
        .unwrap();
    store
        .tasks()
        .update(TASK_A, &|t| {
            t.status = TaskStatus::Completed.into();
            t.completed_at = Some(1_771_323_000_000);
            Ok(())
        })
        .await
        .unwrap();
    store
        .tasks()
        .update(TASK_C, &|t| {
            t.pinned = Some(false);
            Ok(())
        })
        .await
        .unwrap();
    store
        .sessions()
        .update(S1, &|s| {
            s.status = SessionStatus::Completed;
            s.events.push(SessionEvent {
                id: "evt_1771323000000_n3n3n3n3n".into(),
                timestamp: 1_771_323_000_000,
                kind: "file_modified".into(),
                data: Some(json!({"path": "README.md"})),
            });
            Ok(())
        })
        .await
        .unwrap();
    let mut ordering = store
        .orderings()
        .get(P1, EntityType::Task)
        .await
        .unwrap()
        .unwrap();
    ordering.ordered_ids.reverse();
    ordering.updated_at += 1;
    store.orderings().save(ordering.clone()).await.unwrap();
    store
        .team_members()
        .update(P1, TM, &|m| {
            m.name = "Senior Rustacean".into();
            Ok(())
        })
        .await
        .unwrap();
    let ov_id = format!("tm_{P1}_coordinator");
    store
        .team_members()
        .update_override(P1, &ov_id, &|o: &mut JsonObject| {
            o.insert("model".into(), json!("opus"));
            o.insert("updatedAt".into(), json!("2026-02-18T00:00:00.000Z"));
            Ok(())
        })
        .await
        .unwrap();
    assert!(store.mail().delete(M1).await.unwrap());

    // Same files as before, minus the deleted mail: nothing renamed, added or left behind.
    let mut expected = before.clone();
    expected.retain(|p| p != Path::new(&format!("mail/{M1}.json")));
    assert_eq!(files_under(&dir), expected);

    // Re-read with plain serde_json: changed values in, every other key unchanged.
    let p = read_json(&dir.join(format!("projects/{P1}.json")));
    let mut want = fixture(&format!("projects/{P1}.json"));
    want["name"] = json!("Alpha 2");
    want["updatedAt"] = json!(1_771_322_990_001_i64);
    assert_eq!(p, want);

    let a = read_json(&dir.join(format!("tasks/{P1}/{TASK_A}.json")));
    let mut want = fixture(&format!("tasks/{P1}/{TASK_A}.json"));
    want["status"] = json!("completed");
    want["completedAt"] = json!(1_771_323_000_000_i64);
    assert_eq!(a, want);
    assert!(
        a["createdAt"].is_i64(),
        "createdAt stays an epoch-ms number"
    );

    let c = read_json(&dir.join(format!("tasks/{P1}/{TASK_C}.json")));
    let mut want = fixture(&format!("tasks/{P1}/{TASK_C}.json"));
    want["pinned"] = json!(false);
    assert_contains(&c, &want, TASK_C);
    for k in [
        "taskSessionStatuses",
        "skillIds",
        "agentIds",
        "referenceTaskIds",
    ] {
        assert!(c.get(k).is_some(), "{k} written with its default");
    }

    let s = read_json(&dir.join(format!("sessions/{S1}.json")));
    let mut want = fixture(&format!("sessions/{S1}.json"));
    want["status"] = json!("completed");
    want["events"].as_array_mut().unwrap().push(json!({
        "id": "evt_1771323000000_n3n3n3n3n", "timestamp": 1_771_323_000_000_i64,
        "type": "file_modified", "data": {"path": "README.md"}
    }));
    assert_eq!(s, want);

    let o = read_json(&dir.join(format!("ordering/task/{P1}.json")));
    let mut want = fixture(&format!("ordering/task/{P1}.json"));
    want["orderedIds"] = json!(ordering.ordered_ids);
    want["updatedAt"] = json!(ordering.updated_at);
    assert_eq!(o, want, "unknown ordering keys survive a save");

    let m = read_json(&dir.join(format!("team-members/{P1}/{TM}.json")));
    let mut want = fixture(&format!("team-members/{P1}/{TM}.json"));
    want["name"] = json!("Senior Rustacean");
    assert_eq!(m, want);

    let ov = read_json(&dir.join(format!("team-members/{P1}/{ov_id}.override.json")));
    assert_eq!(
        ov,
        json!({"name": "Lead", "avatar": "👑", "projectId": P1,
               "updatedAt": "2026-02-18T00:00:00.000Z", "model": "opus"})
    );

    // Unchanged records were not rewritten.
    assert_eq!(
        std::fs::read(dir.join(format!("mail/{M2}.json"))).unwrap(),
        std::fs::read(fixture_dir().join(format!("mail/{M2}.json"))).unwrap()
    );

    // And a restart reads back exactly what the ports hold now.
    let tasks_now = store.tasks().list(&TaskFilter::default()).await.unwrap();
    let sessions_now = store
        .sessions()
        .list(&SessionFilter::default())
        .await
        .unwrap();
    drop(store);
    let again = FsStore::open(FsConfig::new(&dir)).await.unwrap();
    assert_eq!(
        again.tasks().list(&TaskFilter::default()).await.unwrap(),
        tasks_now
    );
    assert_eq!(
        again
            .sessions()
            .list(&SessionFilter::default())
            .await
            .unwrap(),
        sessions_now
    );
}
