//! Contract of [`TeamMemberRepo`]: custom members keyed by (project, id), sorted by the
//! `createdAt` string; override objects with an atomic read-modify-write from `{}`.
//!
//! Each case works in its own unique project(s).

use std::sync::{Arc, Mutex};

use maestro_domain::model::{JsonObject, TeamMember, TeamMemberStatus};
use maestro_domain::ports::TeamMemberRepo;
use serde_json::json;

use crate::fixtures::{now_ms, team_member, unique_id};
use crate::support::{assert_conflict, assert_not_found, assert_refused, ids, refusal};

/// Every case.
pub const ALL_CASES: &[&str] = crate::__team_member_repo_cases!(names);

/// The id of a built-in member of `project` (`tm_<projectId>_<type>`).
fn builtin_id(project: &str, kind: &str) -> String {
    format!("tm_{project}_{kind}")
}

pub async fn create_then_get_round_trips(repo: Arc<dyn TeamMemberRepo>) {
    let project = unique_id("proj");
    let mut m = team_member(&unique_id("tm"), &project, now_ms());
    m.extra
        .insert("unknownKey".into(), json!({"deep": [true, 2]}));
    assert_eq!(repo.create(m.clone()).await.unwrap(), m);
    let mut got = repo.get(&project, &m.id).await.unwrap().expect("created");
    assert_eq!(got, m);
    got.name = "changed by the caller".into();
    assert_eq!(repo.get(&project, &m.id).await.unwrap().as_ref(), Some(&m));
    assert_eq!(repo.list(&project).await.unwrap(), vec![m]);
}

pub async fn get_is_scoped_by_project(repo: Arc<dyn TeamMemberRepo>) {
    let (project, other) = (unique_id("proj"), unique_id("proj"));
    let id = unique_id("tm");
    assert_eq!(repo.get(&project, &id).await.unwrap(), None);
    let here = team_member(&id, &project, now_ms());
    repo.create(here.clone()).await.unwrap();
    assert_eq!(repo.get(&other, &id).await.unwrap(), None);
    // The same id may exist in another project, independently.
    let mut there = team_member(&id, &other, now_ms());
    there.name = "Elsewhere".into();
    repo.create(there.clone()).await.unwrap();
    assert_eq!(repo.get(&project, &id).await.unwrap(), Some(here.clone()));
    assert_eq!(repo.get(&other, &id).await.unwrap(), Some(there.clone()));
    assert!(repo.delete(&other, &id).await.unwrap());
    assert_eq!(repo.get(&project, &id).await.unwrap(), Some(here));
}

pub async fn duplicate_create_conflicts(repo: Arc<dyn TeamMemberRepo>) {
    let project = unique_id("proj");
    let m = team_member(&unique_id("tm"), &project, now_ms());
    repo.create(m.clone()).await.unwrap();
    let mut other = m.clone();
    other.name = "Second".into();
    assert_conflict(repo.create(other).await);
    assert_eq!(repo.get(&project, &m.id).await.unwrap(), Some(m.clone()));
    assert_eq!(repo.list(&project).await.unwrap(), vec![m]);
}

pub async fn update_applies_and_returns_the_record(repo: Arc<dyn TeamMemberRepo>) {
    let project = unique_id("proj");
    let m = team_member(&unique_id("tm"), &project, now_ms());
    repo.create(m.clone()).await.unwrap();
    let updated = repo
        .update(&project, &m.id, &|x: &mut TeamMember| {
            x.status = TeamMemberStatus::Archived;
            x.name = "Renamed".into();
            x.updated_at = "2030-01-01T00:00:00.000Z".into();
            Ok(())
        })
        .await
        .unwrap();
    let mut expected = m.clone();
    expected.status = TeamMemberStatus::Archived;
    expected.name = "Renamed".into();
    expected.updated_at = "2030-01-01T00:00:00.000Z".into();
    assert_eq!(updated, expected);
    assert_eq!(repo.get(&project, &m.id).await.unwrap(), Some(expected));
}

pub async fn update_missing_is_not_found(repo: Arc<dyn TeamMemberRepo>) {
    let (project, other) = (unique_id("proj"), unique_id("proj"));
    let m = team_member(&unique_id("tm"), &project, now_ms());
    repo.create(m.clone()).await.unwrap();
    let id = unique_id("tm");
    assert_not_found(
        repo.update(&project, &id, &|_: &mut TeamMember| Ok(()))
            .await,
    );
    // Known id, wrong project.
    assert_not_found(
        repo.update(&other, &m.id, &|_: &mut TeamMember| Ok(()))
            .await,
    );
    assert_eq!(repo.get(&other, &m.id).await.unwrap(), None);
    assert_eq!(repo.get(&project, &m.id).await.unwrap(), Some(m));
}

pub async fn update_error_leaves_record_unchanged(repo: Arc<dyn TeamMemberRepo>) {
    let project = unique_id("proj");
    let m = team_member(&unique_id("tm"), &project, now_ms());
    repo.create(m.clone()).await.unwrap();
    let result = repo
        .update(&project, &m.id, &|x: &mut TeamMember| {
            x.status = TeamMemberStatus::Archived;
            x.capabilities = None;
            Err(refusal())
        })
        .await;
    assert_refused(result);
    assert_eq!(repo.get(&project, &m.id).await.unwrap(), Some(m.clone()));
    assert_eq!(
        repo.update(&project, &m.id, &|_: &mut TeamMember| Ok(()))
            .await
            .unwrap(),
        m
    );
}

pub async fn delete_returns_true_then_false(repo: Arc<dyn TeamMemberRepo>) {
    let project = unique_id("proj");
    let m = team_member(&unique_id("tm"), &project, now_ms());
    repo.create(m.clone()).await.unwrap();
    assert!(!repo.delete(&unique_id("proj"), &m.id).await.unwrap());
    assert!(repo.delete(&project, &m.id).await.unwrap());
    assert_eq!(repo.get(&project, &m.id).await.unwrap(), None);
    assert!(!repo.delete(&project, &m.id).await.unwrap());
    assert!(repo.list(&project).await.unwrap().is_empty());
    repo.create(m.clone()).await.unwrap();
    assert_eq!(repo.list(&project).await.unwrap(), vec![m]);
}

pub async fn list_is_sorted_and_scoped(repo: Arc<dyn TeamMemberRepo>) {
    let (project, other) = (unique_id("proj"), unique_id("proj"));
    let base = unique_id("tm");
    let t = now_ms();
    let specs = [
        ("d", t + 30),
        ("b", t + 10),
        ("c2", t + 20),
        ("c1", t + 20),
        ("a", t),
    ];
    for (suffix, at) in specs {
        repo.create(team_member(&format!("{base}_{suffix}"), &project, at))
            .await
            .unwrap();
    }
    repo.create(team_member(&format!("{base}_z"), &other, t))
        .await
        .unwrap();
    // Sorted by the createdAt *string*: an ISO string that sorts first wins over a later
    // epoch, whatever the numeric order of anything else.
    let mut early = team_member(&format!("{base}_e"), &project, t + 40);
    early.created_at = "2000-01-01T00:00:00.000Z".into();
    repo.create(early).await.unwrap();
    let expected: Vec<String> = ["e", "a", "b", "c1", "c2", "d"]
        .iter()
        .map(|s| format!("{base}_{s}"))
        .collect();
    assert_eq!(
        ids(&repo.list(&project).await.unwrap(), |m| &m.id),
        expected
    );
    assert_eq!(
        ids(&repo.list(&other).await.unwrap(), |m| &m.id),
        vec![format!("{base}_z")]
    );
    assert!(repo.list(&unique_id("proj")).await.unwrap().is_empty());
}

pub async fn concurrent_updates_are_not_lost(repo: Arc<dyn TeamMemberRepo>) {
    let project = unique_id("proj");
    let m = team_member(&unique_id("tm"), &project, now_ms());
    repo.create(m.clone()).await.unwrap();
    let writers: Vec<_> = (0..50)
        .map(|i| {
            let repo = Arc::clone(&repo);
            let (project, id) = (project.clone(), m.id.clone());
            tokio::spawn(async move {
                let skill = format!("skill-{i}");
                repo.update(&project, &id, &|x: &mut TeamMember| {
                    x.skill_ids.push(skill.clone());
                    Ok(())
                })
                .await
                .unwrap();
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let got = repo.get(&project, &m.id).await.unwrap().unwrap();
    assert_eq!(got.skill_ids.len(), m.skill_ids.len() + 50);
    for i in 0..50 {
        assert!(
            got.skill_ids.contains(&format!("skill-{i}")),
            "update {i} lost"
        );
    }
}

pub async fn override_starts_empty_and_merges(repo: Arc<dyn TeamMemberRepo>) {
    let project = unique_id("proj");
    let id = builtin_id(&project, "coordinator");
    assert_eq!(repo.get_override(&project, &id).await.unwrap(), None);
    let first_seen = Mutex::new(None::<JsonObject>);
    let first = repo
        .update_override(&project, &id, &|o: &mut JsonObject| {
            *first_seen.lock().unwrap() = Some(o.clone());
            o.insert("name".into(), json!("Boss"));
            o.insert("projectId".into(), json!(project));
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(
        first_seen.into_inner().unwrap(),
        Some(JsonObject::new()),
        "the first override update starts from {{}}"
    );
    assert_eq!(
        serde_json::Value::Object(first.clone()),
        json!({"name": "Boss", "projectId": project})
    );
    let second = repo
        .update_override(&project, &id, &|o: &mut JsonObject| {
            o.insert("model".into(), json!("opus"));
            o.insert("name".into(), json!("Chief"));
            Ok(())
        })
        .await
        .unwrap();
    let expected = json!({"name": "Chief", "projectId": project, "model": "opus"});
    assert_eq!(serde_json::Value::Object(second), expected);
    let stored = repo.get_override(&project, &id).await.unwrap().unwrap();
    assert_eq!(serde_json::Value::Object(stored), expected);
    // Scoped by project and by id.
    assert_eq!(
        repo.get_override(&unique_id("proj"), &id).await.unwrap(),
        None
    );
    assert_eq!(
        repo.get_override(&project, &builtin_id(&project, "recruiter"))
            .await
            .unwrap(),
        None
    );
}

pub async fn override_error_leaves_it_unchanged(repo: Arc<dyn TeamMemberRepo>) {
    let project = unique_id("proj");
    let id = builtin_id(&project, "simple_worker");
    assert_refused(
        repo.update_override(&project, &id, &|o: &mut JsonObject| {
            o.insert("name".into(), json!("never"));
            Err(refusal())
        })
        .await,
    );
    assert_eq!(
        repo.get_override(&project, &id).await.unwrap(),
        None,
        "a failed first update stores nothing"
    );
    repo.update_override(&project, &id, &|o: &mut JsonObject| {
        o.insert("name".into(), json!("Kept"));
        Ok(())
    })
    .await
    .unwrap();
    assert_refused(
        repo.update_override(&project, &id, &|o: &mut JsonObject| {
            o.clear();
            Err(refusal())
        })
        .await,
    );
    let stored = repo.get_override(&project, &id).await.unwrap().unwrap();
    assert_eq!(serde_json::Value::Object(stored), json!({"name": "Kept"}));
}

pub async fn delete_override_returns_true_then_false(repo: Arc<dyn TeamMemberRepo>) {
    let project = unique_id("proj");
    let id = builtin_id(&project, "dag_coordinator");
    assert!(!repo.delete_override(&project, &id).await.unwrap());
    repo.update_override(&project, &id, &|o: &mut JsonObject| {
        o.insert("avatar".into(), json!("🦀"));
        Ok(())
    })
    .await
    .unwrap();
    assert!(repo.delete_override(&project, &id).await.unwrap());
    assert_eq!(repo.get_override(&project, &id).await.unwrap(), None);
    assert!(!repo.delete_override(&project, &id).await.unwrap());
    // After a reset, the next update starts from {} again.
    let again = repo
        .update_override(&project, &id, &|o: &mut JsonObject| {
            o.insert("role".into(), json!("Fresh"));
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(serde_json::Value::Object(again), json!({"role": "Fresh"}));
}

pub async fn list_excludes_overrides(repo: Arc<dyn TeamMemberRepo>) {
    let project = unique_id("proj");
    let custom = team_member(&unique_id("tm"), &project, now_ms());
    repo.create(custom.clone()).await.unwrap();
    let builtin = builtin_id(&project, "batch_coordinator");
    repo.update_override(&project, &builtin, &|o: &mut JsonObject| {
        o.insert("name".into(), json!("Batcher"));
        Ok(())
    })
    .await
    .unwrap();
    assert_eq!(repo.list(&project).await.unwrap(), vec![custom.clone()]);
    assert_eq!(repo.get(&project, &builtin).await.unwrap(), None);
    // Deleting the custom member leaves the override, and the other way round.
    assert!(!repo.delete(&project, &builtin).await.unwrap());
    assert!(
        repo.get_override(&project, &builtin)
            .await
            .unwrap()
            .is_some()
    );
    assert!(!repo.delete_override(&project, &custom.id).await.unwrap());
    assert_eq!(repo.list(&project).await.unwrap(), vec![custom]);
}

pub async fn concurrent_override_updates_are_not_lost(repo: Arc<dyn TeamMemberRepo>) {
    let project = unique_id("proj");
    let id = builtin_id(&project, "coordinator");
    let writers: Vec<_> = (0..50)
        .map(|i| {
            let repo = Arc::clone(&repo);
            let (project, id) = (project.clone(), id.clone());
            tokio::spawn(async move {
                let key = format!("k{i}");
                repo.update_override(&project, &id, &|o: &mut JsonObject| {
                    o.insert(key.clone(), json!(i));
                    Ok(())
                })
                .await
                .unwrap();
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let stored = repo.get_override(&project, &id).await.unwrap().unwrap();
    assert_eq!(stored.len(), 50);
    for i in 0..50 {
        assert_eq!(
            stored.get(&format!("k{i}")),
            Some(&json!(i)),
            "update {i} lost"
        );
    }
}

pub async fn delete_project_removes_members_and_overrides(repo: Arc<dyn TeamMemberRepo>) {
    let (project, other) = (unique_id("proj"), unique_id("proj"));
    let t = now_ms();
    let mut kept = Vec::new();
    for (p, list) in [(&project, &mut Vec::new()), (&other, &mut kept)] {
        for i in 0..3 {
            let m = team_member(&format!("tm_{t}_{i}"), p, t + i);
            repo.create(m.clone()).await.unwrap();
            list.push(m);
        }
        repo.update_override(p, &builtin_id(p, "recruiter"), &|o: &mut JsonObject| {
            o.insert("name".into(), json!("Hiring"));
            Ok(())
        })
        .await
        .unwrap();
    }
    repo.delete_project(&project).await.unwrap();
    assert!(repo.list(&project).await.unwrap().is_empty());
    assert_eq!(
        repo.get(&project, &format!("tm_{t}_0")).await.unwrap(),
        None
    );
    assert_eq!(
        repo.get_override(&project, &builtin_id(&project, "recruiter"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(repo.list(&other).await.unwrap(), kept);
    assert!(
        repo.get_override(&other, &builtin_id(&other, "recruiter"))
            .await
            .unwrap()
            .is_some()
    );
    // Deleting an empty or unknown project is fine, and the project can be used again.
    repo.delete_project(&project).await.unwrap();
    repo.delete_project(&unique_id("proj")).await.unwrap();
    let fresh = team_member(&format!("tm_{t}_0"), &project, t);
    repo.create(fresh.clone()).await.unwrap();
    assert_eq!(repo.list(&project).await.unwrap(), vec![fresh]);
}
